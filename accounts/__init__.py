"""Who is signed in, what their role lets them do, and how their password is kept."""

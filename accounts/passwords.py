"""Password hashing with werkzeug's scrypt (a memory-hard algorithm), never stored in clear."""

from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 12
# werkzeug's scrypt with its default cost (N=32768); tests lower the cost to stay quick
METHOD = "scrypt"

# compared against when the email is unknown, so a wrong email costs as long as a wrong password
_DUMMY = generate_password_hash("not-a-real-password-at-all", method="scrypt")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=METHOD)


def check_password(stored_hash: str | None, password: str) -> bool:
    return check_password_hash(stored_hash or _DUMMY, password) and stored_hash is not None


def password_problem(password: str) -> str | None:
    """Why a new password is refused, in words, or None. Length over rules (NCSC guidance)."""
    if len(password) < MIN_LENGTH:
        return f"Password must be {MIN_LENGTH} characters or more"
    if len(password) > 200:
        return "Password must be 200 characters or fewer"
    return None

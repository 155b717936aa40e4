"""Results for people: the dashboards' tables and the analysts' files, from stored scores.

Views and `flask --app app export` both come here, so a page and a download of the same thing
are the same figures through the same suppression. This package joins `store.results`
(stored scores as frames) with `scoring` (pure tables and writers); it knows nothing of
Flask requests.
"""

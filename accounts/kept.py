"""Forms posted after the session expired are kept, so signing in again loses nothing.

`signed_in` (accounts.session) keeps the posted form here and sends the person to sign in;
after signing in they come back to the same page, whose view calls `take(path)` to show what
they had typed. The key to the kept form lives only in their session cookie, and the kept form
is deleted once taken or after a day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import session
from werkzeug.datastructures import MultiDict

from store.models import KeptPost, utcnow

MAX_AGE = dt.timedelta(days=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def keep(path: str, form: MultiDict) -> None:
    token = secrets.token_urlsafe(24)
    # never keep a password or a token at rest: the person types those again
    items = [[key, value] for key, value in form.items(multi=True) if key != "csrf_token" and "password" not in key]
    KeptPost.create(token_hash=_hash(token), path=path, form=items)
    session["kept"] = token


def take(path: str) -> MultiDict | None:
    """The form kept for this page, once; None when there is none."""
    token = session.get("kept")
    if not token:
        return None
    KeptPost.delete().where(KeptPost.created_at < utcnow() - MAX_AGE).execute()
    row = KeptPost.get_or_none(KeptPost.token_hash == _hash(token))
    if row is None or row.path != path:
        return None
    session.pop("kept", None)
    row.delete_instance()
    return MultiDict([tuple(item) for item in row.form])

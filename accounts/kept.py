"""Forms posted after the session expired are kept, so signing in again loses nothing.

`signed_in` (accounts.session) keeps the posted form here and sends the person to sign in;
after signing in they come back to the same page, whose view calls `take(path)` to show what
they had typed. The key to the kept form lives only in their session cookie, and the kept form
is deleted once taken or after a day. Someone else signing in on that browser does not get it
(accounts.session.sign_in).

A form posted while the database is unavailable cannot be kept there: `keep_in_session` keeps it
in the signed session cookie instead (views.unavailable calls it), when it fits, and `take`
gives it back the same way once the service is back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app, session
from werkzeug.datastructures import MultiDict

from store.models import KeptPost, utcnow

MAX_AGE = dt.timedelta(days=1)
# Browsers drop cookies over 4096 bytes (name, value and attributes); leave room for the rest.
MAX_SESSION_COOKIE = 3600


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def worth_keeping(form: MultiDict) -> list[list[str]]:
    """What was typed: never a password or the CSRF token (the person types or gets those again)."""
    return [[key, value] for key, value in form.items(multi=True) if key != "csrf_token" and "password" not in key]


def keep(path: str, form: MultiDict) -> None:
    token = secrets.token_urlsafe(24)
    KeptPost.create(token_hash=_hash(token), path=path, form=worth_keeping(form))
    session["kept"] = token


def keep_in_session(path: str, form: MultiDict) -> bool:
    """Keep the form in the session cookie (no database needed); False when it would not fit.

    One form per page, the newest last; older pages' forms make room for a newer one if the
    cookie would be too large otherwise.
    """
    items = worth_keeping(form)
    if not items:
        return False
    unsent = {k: v for k, v in _unsent().items() if k != path} | {path: items}
    serializer = current_app.session_interface.get_signing_serializer(current_app)
    while serializer is not None:
        if len(serializer.dumps({**session, "unsent": unsent})) <= MAX_SESSION_COOKIE:
            session["unsent"] = unsent
            return True
        if len(unsent) == 1:
            break
        unsent.pop(next(iter(unsent)))
    return False


def forget_unsent(path: str) -> None:
    """The page was sent again and went through: what was kept for it is out of date."""
    unsent = _unsent()
    if path in unsent:
        unsent.pop(path)
        if unsent:
            session["unsent"] = unsent
        else:
            session.pop("unsent")


def _unsent() -> dict[str, list[list[str]]]:
    unsent = session.get("unsent")
    return dict(unsent) if isinstance(unsent, dict) else {}


def take(path: str) -> MultiDict | None:
    """The form kept for this page, once; None when there is none."""
    items = _unsent().get(path)
    if isinstance(items, list):
        forget_unsent(path)
        return MultiDict([tuple(item) for item in items if isinstance(item, list) and len(item) == 2])
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

"""The signed-in user, an idle timeout, and decorators that guard views by role.

A session ends after IDLE_MINUTES without a request (SESSION_IDLE_MINUTES in config). Pages
warn before that (static/timeout.js) and can extend it. Refusals never say whether the thing
asked for exists: a user without access gets the same 404 as for something that is not there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from accounts.cookie import CookieSerializer, TaggedSessionJSON
from accounts.kept import keep
from security import csrf_token, posted_from_own_pages
from store.models import User
from store.prepared import Prepared

F = TypeVar("F", bound=Callable[..., Any])


def idle_seconds() -> int:
    """SESSION_IDLE_SECONDS when set (a browser test waits seconds, not minutes), else the minutes."""
    seconds = current_app.config.get("SESSION_IDLE_SECONDS")
    if seconds:
        return int(seconds)
    return int(current_app.config.get("SESSION_IDLE_MINUTES", 30)) * 60


def seen_every() -> int:
    """How stale the session's last-seen time may be before a request rewrites it: a thirtieth of
    the idle limit (a minute of 30), at least a second. The session cookie is written only when
    something in it changes (SESSION_REFRESH_EACH_REQUEST is off), so most requests, saves among
    them, neither sign a new cookie nor overwrite what another tab has just put in the session;
    the timeout warning asks the server for the time left (GET /session) before it acts."""
    return max(1, idle_seconds() // 30)


def seconds_left() -> int:
    """Seconds before the signed-in session ends if nothing else is asked for."""
    return max(0, idle_seconds() - (int(time.time()) - int(session.get("seen", 0))))


def sign_in(user: User) -> None:
    """A new session. A form kept as the last one ended (accounts.kept) comes along only for the
    person whose session it was: on a shared computer, someone else's unsaved words are theirs."""
    kept = session.get("kept")
    ended = session.get("ended_user_id")
    session.clear()
    if kept and ended in (None, user.id):
        session["kept"] = kept
    session["user_id"] = user.id
    session["seen"] = int(time.time())
    session.permanent = True


def sign_out() -> None:
    session.clear()


#: Session keys that hold what only the signed-in person may have (the seed of single-use codes
#: just made, say): they go when the session ends by itself, as they would on signing out.
_SIGNED_IN_ONLY: set[str] = set()


def only_while_signed_in(key: str) -> str:
    """Register a session key to be dropped when the session ends (idle or the account
    deactivated); returns the key, so a view can name its constant with it."""
    _SIGNED_IN_ONLY.add(key)
    return key


def _end_session() -> None:
    """The signed-in part of the session goes; whose it was stays until someone signs in (a form
    kept for after signing in goes back only to them: sign_in)."""
    session["ended_user_id"] = session.pop("user_id")
    for key in _SIGNED_IN_ONLY & session.keys():
        session.pop(key)


def current_user() -> User | None:
    return g.get("user")


# every signed-in request runs it: compiled once (store.prepared), not built by peewee each time
_ACTIVE_USER = Prepared(lambda user_id: User.select().where((User.id == user_id) & (User.active == True)), int)  # noqa: E712


def _active_user(user_id: Any) -> User | None:
    """The signed-in user, if their account still exists and is active (deactivating ends sessions)."""
    if type(user_id) is int:  # what sign_in stores; any other value is looked up as it always was
        loader = _LOADERS.get(request.endpoint or "")
        if loader is not None:
            found = loader(user_id, **(request.view_args or {}))
            if found is not NOT_READ:
                return found
        return _ACTIVE_USER.first(user_id)
    return User.get_or_none((User.id == user_id) & (User.active == True))  # noqa: E712


def read_user_again() -> Any:
    """For a view that went on with the user its loader knew without reading them (a standard's
    save, views.audits) and needs them read after all: read as load_user reads them. When they
    are gone or inactive, the session ends and the way to sign in is returned (the post kept),
    as signed_in would have done; None otherwise."""
    user = _active_user(session.get("user_id"))
    g.user = user
    if user is None:
        _end_session()
        return _to_sign_in()
    return None


NOT_READ = object()  # what a user loader returns when its query could not say
_LOADERS: dict[str, Callable[..., Any]] = {}


def load_user_with(endpoint: str, loader: Callable[..., Any]) -> None:
    """Read the signed-in user with the first query of `endpoint`'s view, not in one of its own.

    `loader(user_id, **view_args)` runs where the user would be read (before the view, after
    the idle check) and returns what `_active_user` would (the active user with that id, or
    None), or NOT_READ to have it read as usual; it keeps what else it read for its view (in g).
    A signed-in page of a standard reads the audit, its state and answers and the user in one
    statement: one round trip fewer on every save.
    """
    _LOADERS[endpoint] = loader


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, with the signing serializer made once per set of keys.

    Flask makes a new serializer (and tries its JSON serializer out) each time it reads or writes
    the cookie, a measurable part of a short page; it depends only on the secret key and its
    fallbacks (the salt and methods are fixed), so it is kept per keys. The serializer writes
    the cookie Flask's would and reads Flask's, more cheaply (accounts.cookie).
    """

    serializer = TaggedSessionJSON()

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = CookieSerializer(
                list(keys),
                salt=self.salt,
                serializer=self.serializer,
                signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method},
            )
            if len(self._serializers) >= 8:  # keys change rarely: never let it grow
                self._serializers.clear()
            self._serializers[keys] = serializer  # type: ignore[assignment]
        return serializer


def init_app(app: Flask) -> None:
    app.session_interface = CookieSessions()
    # what CSRFProtect would register: the timeout warning's form posts the token (templates/_timeout.html);
    # flask_wtf's generate_csrf, made more cheaply (security.csrf_token)
    app.jinja_env.globals.setdefault("csrf_token", csrf_token)

    @app.before_request
    def load_user() -> None:
        g.user = None
        g.session_expired = False
        user_id = session.get("user_id")
        if user_id is None:
            return
        now = int(time.time())
        idle_for = now - int(session.get("seen", 0))
        if idle_for > idle_seconds():
            _end_session()
            g.session_expired = True
            return
        user = _active_user(user_id)
        if user is None:
            _end_session()
            return
        g.user = user
        if request.endpoint != "auth.session_status" and idle_for >= seen_every():
            session["seen"] = now

    @app.context_processor
    def user_context() -> dict[str, Any]:
        user = g.get("user")
        return {
            "current_user": user,
            "session_idle_seconds": idle_seconds() if user else 0,
            "session_seconds_left": seconds_left() if user else 0,
            "service_navigation_items": navigation(app, user),
        }


def _to_sign_in() -> Any:
    """Keep a posted form (nothing typed is lost), then ask the person to sign in again.

    Only a form from the app's own pages: another site's form, posted in the person's browser,
    would otherwise come back after signing in as "what you typed", ready to be sent."""
    if request.method == "POST" and request.form and posted_from_own_pages():
        keep(request.path, request.form)
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.sign_in", next=target, expired=1 if g.get("session_expired") else None))


# (endpoint, link text, roles that see it); an endpoint not (yet) in the app is left out
NAVIGATION = (
    ("audits.index", "Your self-audit", ("agency",)),
    ("review.index", "Audits to review", ("reviewer",)),
    ("results.index", "Results", ("reviewer", "analyst", "admin")),
    ("admin.index", "Administration", ("admin",)),
)


def navigation(app: Flask, user: User | None) -> list[dict[str, Any]]:
    if user is None:
        # every visitor's page has this link: its address is worked out once per app
        href = app.extensions.get("sign_in_href") or app.extensions.setdefault("sign_in_href", url_for("auth.sign_in"))
        return [{"href": href, "text": "Sign in", "active": request.endpoint == "auth.sign_in"}]
    items = [
        {
            "href": url_for(endpoint),
            "text": text,
            "active": (request.endpoint or "").startswith(endpoint.split(".")[0] + "."),
        }
        for endpoint, text, roles in NAVIGATION
        if user.role in roles and endpoint in app.view_functions
    ]
    items.append({"href": url_for("auth.sign_out"), "text": "Sign out"})
    return items


def signed_in(view: F) -> F:
    """Send people who are not signed in to the sign-in page, then back here."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            return _to_sign_in()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def role(*roles: str) -> Callable[[F], F]:
    """Only these roles; anyone else signed in gets 404, as if the page did not exist."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = g.get("user")
            if user is None:
                return _to_sign_in()
            if user.role not in roles:
                abort(404)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate

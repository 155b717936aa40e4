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

from store.models import User

F = TypeVar("F", bound=Callable[..., Any])


def idle_seconds() -> int:
    return int(current_app.config.get("SESSION_IDLE_MINUTES", 30)) * 60


def sign_in(user: User) -> None:
    session.clear()
    session["user_id"] = user.id
    session["seen"] = int(time.time())
    session.permanent = True


def sign_out() -> None:
    session.clear()


def current_user() -> User | None:
    return g.get("user")


def init_app(app: Flask) -> None:
    @app.before_request
    def load_user() -> None:
        g.user = None
        g.session_expired = False
        user_id = session.get("user_id")
        if user_id is None:
            return
        now = int(time.time())
        if now - int(session.get("seen", 0)) > idle_seconds():
            session.pop("user_id", None)
            g.session_expired = True
            return
        user = User.get_or_none((User.id == user_id) & (User.active == True))  # noqa: E712
        if user is None:
            session.pop("user_id", None)
            return
        g.user = user
        if request.endpoint != "auth.session_status":
            session["seen"] = now

    @app.context_processor
    def user_context() -> dict[str, Any]:
        user = g.get("user")
        return {"current_user": user, "session_idle_seconds": idle_seconds() if user else 0}


def signed_in(view: F) -> F:
    """Send people who are not signed in to the sign-in page, then back here."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            return redirect(url_for("auth.sign_in", next=request.full_path if request.query_string else request.path))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def role(*roles: str) -> Callable[[F], F]:
    """Only these roles; anyone else signed in gets 404, as if the page did not exist."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = g.get("user")
            if user is None:
                return redirect(url_for("auth.sign_in", next=request.path))
            if user.role not in roles:
                abort(404)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate

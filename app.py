"""Application factory: configuration, extensions, blueprints and commands. Nothing else."""

from __future__ import annotations

import gc
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, request

import catalogue
import commands
import request_limits
import security
import views
from accounts import session as accounts_session
from store import db as store_db

ROOT = Path(__file__).resolve().parent


def _secret_key(instance_path: str) -> str:
    """A random key kept in the instance folder, made on first run, so demo sessions survive restarts."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, static_folder="static", template_folder="templates")
    app.config.from_mapping(
        DEMO_MODE=False,
        DEFINITIONS_DIR=str(ROOT / "questionnaires" / "definitions"),
        GOVUK_FRONTEND_DIR=str(ROOT / "node_modules" / "govuk-frontend" / "dist" / "govuk"),
        MAX_CONTENT_LENGTH=1024 * 1024,
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_IDLE_MINUTES=30,
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        # the cookie is written when the session changes, not on every request (accounts.session.seen_every)
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    app.config.from_prefixed_env()
    if os.environ.get("DATABASE_URL") and not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = os.environ["DATABASE_URL"]
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app.instance_path)

    security.init_app(app)
    # before-request hooks run in the order these register them: the database and the signed-in
    # user (from the session cookie, a header) first, so an error page the size check or the rate
    # limits raise shows the person's own navigation; then the size check, before anything reads
    # the body, and the rate limits, which read the sign-in form
    store_db.init_app(app)
    accounts_session.init_app(app)
    request_limits.init_app(app)
    catalogue.init_app(app)
    views.init_app(app)
    commands.init_app(app)
    if not app.testing:
        _settle_after_first_request(app)
    return app


def _settle_after_first_request(app: Flask) -> None:
    """In a gunicorn worker, after its first request: move everything then alive out of the
    collector's way.

    The first request builds what every later one shares: decoded definitions and the objects made
    from them, compiled queries, templates. A full collection walks all of it every time, about
    every 400 saves in a worker (0.3 ms a save); frozen (gc.freeze), it is never walked again. It
    runs once, after the response has gone, with a collection first, so no garbage is frozen.
    Only in a process gunicorn serves (SERVER_SOFTWARE): `flask run` and the tests' processes,
    which make apps of their own, keep Python's collector as it is.
    """
    pending = [True]

    @app.teardown_request
    def settle(_error: BaseException | None) -> None:
        if pending:
            pending.clear()
            if request.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn/"):
                gc.collect()
                gc.freeze()

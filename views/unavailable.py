"""The database cannot be reached: a clear "service unavailable" page, and nothing typed is lost.

PostgreSQL down or cut off, a SQLite file locked past the busy timeout, a disk that is full or
read-only: peewee raises OperationalError or InterfaceError. Instead of a 500, the person gets a
503 in words, with Retry-After. What they had just sent is not thrown away:

- the page carries it back to them in hidden fields with a "Try again" button that sends it again
  (with its original CSRF token, so it goes through once the service is back; a survey's
  submission key makes a second send of the same answers count once);
- for a signed-in person, it is also kept in the session cookie (accounts.kept.keep_in_session),
  so the page they were on shows it again, unsaved, when they next open it (unless they sent it
  again with the button first: then what was kept is forgotten).

Nothing here touches the database: the error may be that it is gone. Service comes back by
itself with the database: a connection that failed is not given back to the pool (store.db keeps
one per worker) but closed, so the next request connects afresh; and so is a SQLite connection
used while its file could not be written, since SQLite opens a file it cannot write read-only
and it stays so: pooled, it would refuse every write long after the disk was writable again.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, g, jsonify, render_template, request, session
from peewee import Database, InterfaceError, OperationalError, SqliteDatabase
from playhouse.pool import PooledDatabase
from werkzeug.wrappers import Response

from accounts.kept import forget_unsent, keep_in_session, worth_keeping

RETRY_AFTER_SECONDS = 30
MAX_RESENT_FIELDS = 1000


def causes(error: BaseException) -> str:
    """The error and what led to it: when SQLite rolls a failed write back itself (a full disk),
    peewee's own rollback then fails too, and only the first error says what happened."""
    messages: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(messages) < 5:
        seen.add(id(current))
        if not messages or messages[-1] != str(current):
            messages.append(str(current))
        current = current.__cause__ or current.__context__
    return ", after: ".join(messages)


def wants_json() -> bool:
    """Background requests (autosave) ask for JSON and get JSON back, not a page."""
    accept = request.accept_mimetypes
    return accept.best == "application/json" or (accept.accept_json and not accept.accept_html)


def resendable() -> list[tuple[str, str]]:
    """The posted fields to send again from the error page: everything but passwords and files.

    The CSRF token is sent back as it came: it belongs to this person's session, so the second
    send passes the same check the first one did. A sign-in form is not offered again (its
    password is never written into a page): the person signs in again.
    """
    if request.method != "POST" or request.files or any("password" in key for key in request.form):
        return []
    if len(request.form) > MAX_RESENT_FIELDS:
        return []
    return [(key, value) for key, value in request.form.items(multi=True)]


def unavailable_page() -> Response:
    resend = resendable()
    typed = bool(request.method == "POST" and worth_keeping(request.form))
    kept = bool(typed and session.get("user_id") is not None and keep_in_session(request.path, request.form))
    page = render_template(
        "errors/unavailable.html",
        resend=resend,
        typed=typed,
        kept=kept,
        has_errors=False,
    )
    response = Response(page, status=503, mimetype="text/html")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def read_only_file(database: Database) -> bool:
    """Whether a SQLite database's file cannot be written now (a read-only file system; a file
    the server's user may not write)."""
    return isinstance(database, SqliteDatabase) and not os.access(database.database, os.W_OK)


def discard_connection(database: Database) -> None:
    """Close this request's connection for good instead of giving it back to the pool."""
    if database.is_closed():
        return
    try:
        if isinstance(database, PooledDatabase):
            database.manual_close()
        else:
            database.close()
    except (OperationalError, InterfaceError):
        database.dispose()  # a connection that cannot even be closed: forget it


def init_app(app: Flask) -> None:
    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(error: Exception) -> Any:
        g.database_failed = True
        # one line, not a traceback per request: an outage fails every request the same way
        app.logger.warning("database unavailable (%s %s): %s", request.method, request.path, causes(error))
        if wants_json():
            response = jsonify(kept=False, reason="unavailable")
            response.status_code = 503
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        return unavailable_page()

    @app.before_request
    def distrust_connections_to_a_read_only_file() -> None:
        """Connections pooled before the file turned read-only hold it open for writing from
        before; they are closed too, so that this request sees the file as it is now (the one
        an earlier hook of this request may have taken already as well)."""
        database = app.extensions["database"]
        if isinstance(database, PooledDatabase) and read_only_file(database):
            database.close_idle()
            if not g.get("connection_was_open", True):
                discard_connection(database)

    @app.teardown_request
    def drop_failed_connection(exc: BaseException | None) -> None:
        # runs before store.db's teardown (registered later): what is closed here is not pooled
        database = app.extensions["database"]
        if g.get("connection_was_open", True) or database.is_closed():
            return  # not this request's connection (a command's or a test's)
        if g.pop("database_failed", False) or read_only_file(database):
            discard_connection(database)

    @app.after_request
    def sent_again(response: Response) -> Response:
        """A page kept during an outage, then sent and answered: what was kept for it is old."""
        if request.method == "POST" and response.status_code < 400 and "unsent" in session:
            forget_unsent(request.path)
        return response

"""Error pages that say what happened and what to do, never a stack trace."""

from __future__ import annotations

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

from views import unavailable

MESSAGES = {
    400: ("Sorry, there is a problem with what was sent", "Go back, check what you entered and try again."),
    403: ("You cannot see this page", "If you think you should, contact your partnership's administrator."),
    404: (
        "Page not found",
        "If you typed the web address, check it is correct. If you pasted it, check you copied all of it.",
    ),
    405: ("Sorry, there is a problem with what was sent", "Go back and use the buttons on the page."),
    413: (
        "What you sent is too large",
        "Shorten your longest answers, or send fewer pieces of evidence at once, and try again.",
    ),
    429: ("Too many attempts", "Wait a minute, then try again."),
    503: (
        "Sorry, the service is unavailable",
        "It is being set up or repaired. Try again later. Your saved answers are safe.",
    ),
    500: ("Sorry, there is a problem with the service", "Try again later. Your saved answers are safe."),
}


def render_error(code: int) -> tuple[str, int]:
    title, advice = MESSAGES.get(code, MESSAGES[500])
    return render_template("errors/error.html", title=title, advice=advice, code=code), code


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        return render_error(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int]:
        app.logger.exception("unhandled error")
        return render_error(500)

    unavailable.init_app(app)  # the database cannot be reached: 503, with what was typed kept

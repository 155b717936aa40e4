"""Words of concern, for the safeguarding lead: the flags to read, and marking each seen or handled.

Reviewers and administrators only (accounts/access.py); everyone else gets the app's 404. The
answer is shown escaped, with the matched words marked. This module also wires the feature
into the app: the word list (CONCERN_WORDS_FILE) is read when the app starts, and a list that
cannot be used stops the app starting, since flags would silently stop; the mail settings are
checked then too, and the email after a child's submission is sent from here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import StringField

import notify
from accounts import access
from accounts.session import current_user, signed_in
from scoring.concerns import DEFAULT_WORDS_FILE, ConcernWords, WordListError, highlight, load_words
from store import concerns
from views.audits import day, moment

bp = Blueprint("concerns", __name__, url_prefix="/review/concerns")

PER_PAGE = 50
STATUS_TAGS = {
    "new": {"text": "New", "classes": "govuk-tag--red"},
    "seen": {"text": "Seen", "classes": "govuk-tag--yellow"},
    "handled": {"text": "Handled", "classes": "govuk-tag--green"},
}
CHOOSE_STATUS = "Select whether you have read this flag or handled it"
NEEDS_NOTE = "Say what was done, so that others can see it has been handled"
NOTE_TOO_LONG = f"The note must be {concerns.MAX_NOTE:,} characters or fewer"
EXPIRED = "This page was open too long, so nothing was changed. Try again."


def init_app(app: Flask) -> None:
    """Read the word list and the mail settings once; refuse to start with a broken list."""
    path = app.config.get("CONCERN_WORDS_FILE") or DEFAULT_WORDS_FILE
    try:
        words = load_words(path)
    except WordListError as error:
        raise RuntimeError(f"CONCERN_WORDS_FILE cannot be used, so no answer could be flagged: {error}") from error
    app.extensions["concern_words"] = words
    concerns.use_words(words)
    try:
        app.extensions["mail"], app.extensions["mail_problem"] = notify.settings_from(app.config), None
    except notify.MailSettingsError as error:
        app.logger.error("emails to the safeguarding lead are off: %s", error)
        app.extensions["mail"], app.extensions["mail_problem"] = None, str(error)

    @app.before_request
    def use_this_apps_words() -> None:
        if concerns.words() is not words:  # several apps in one process (the tests): ours
            concerns.use_words(words)


def notify_lead(response_id: int) -> None:
    """After a child or family response is committed: email the lead about its new flags, if any.

    One indexed query when there are none; the email itself goes from a background thread.
    """
    settings = current_app.extensions.get("mail")
    if settings is None:
        return
    try:
        flag_ids = concerns.unsent_for(response_id)
        if flag_ids:
            base = current_app.config.get("BASE_URL") or request.host_url
            url = notify.flags_url(base, flag_ids)
            notify.send_in_background(current_app._get_current_object(), settings, flag_ids, url)
    except Exception:  # the answers are in: the child gets their thank-you, the flag waits for the command
        current_app.logger.exception("could not start the email about the flags of response %s", response_id)


class HandleForm(FlaskForm):
    status = StringField()
    note = StringField()


def _allowed() -> None:
    if not access.can_read_concerns(current_user()):
        abort(404)


def _marked(view: concerns.FlagView) -> list[tuple[str, bool]] | None:
    """The answer in pieces, the words that made the flag marked (the list may have changed since)."""
    if view.answer is None:
        return None
    return highlight(view.answer, ConcernWords(tuple(str(w) for w in view.flag.words or ())))


def _mail_state() -> dict[str, Any]:
    return {
        "emails_on": current_app.extensions.get("mail") is not None,
        "mail_problem": current_app.extensions.get("mail_problem"),
    }


@bp.get("/")
@signed_in
def index() -> str:
    _allowed()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    flags, total = concerns.list_flags(page, PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    if page > pages:
        abort(404)
    unsent_errors = sum(1 for v in flags if v.flag.notified_at is None and v.flag.notify_error)
    return render_template(
        "review/concerns.html",
        flags=[(v, _marked(v)) for v in flags],
        total=total,
        page=page,
        pages=pages,
        new=concerns.new_count(),
        unsent_errors=unsent_errors,
        status_tags=STATUS_TAGS,
        moment=moment,
        day=day,
        **_mail_state(),
    )


@bp.route("/<int:flag_id>", methods=["GET", "POST"])
@signed_in
def flag(flag_id: int) -> Any:
    _allowed()
    view = concerns.get_flag(flag_id)
    if view is None:
        abort(404)
    form = HandleForm(data={"status": None, "note": view.flag.note})
    problems: dict[str, str] = {}
    if request.method == "POST":
        status = (form.status.data or "").strip()
        note = (form.note.data or "").strip()
        if not form.validate():
            problems["status"] = EXPIRED
        elif status not in ("seen", "handled"):
            problems["status"] = CHOOSE_STATUS
        elif len(note) > concerns.MAX_NOTE:
            problems["note"] = NOTE_TOO_LONG
        elif status == "handled" and not note:
            problems["note"] = NEEDS_NOTE
        else:
            if concerns.set_status(view.flag, status, note, current_user()):
                flash(f"Flag {view.flag.id} is marked {concerns.STATUS_NAMES[status].lower()}")
            return redirect(url_for(".index"), code=303)
    errors = (
        {"titleText": "There is a problem", "errorList": [{"href": f"#{k}", "text": v} for k, v in problems.items()]}
        if problems
        else None
    )
    return render_template(
        "review/concern.html",
        view=view,
        marked=_marked(view),
        form=form,
        problems=problems,
        errors=errors,
        has_errors=bool(problems),
        status_tags=STATUS_TAGS,
        moment=moment,
        day=day,
        **_mail_state(),
    )

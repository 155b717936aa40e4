"""The reason given for reopening a submitted audit, asked on the reviewer's reopen page
(views.review.reopen) and the administrator's (views.admin.reopen).

Both pages read and check it here, so the agency gets the same reason, cut to the same limit, with
the same error, whoever reopened its audit; the box itself is the macro in
templates/_reopen_reason_box.html, whose character count takes its limit from this field. The
reason is kept in the trail entry of the reopening (store.admin.reopen_audit).
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length

REASON_LIMIT = 1000
REASON_TOO_LONG = f"Why you are reopening the audit must be {REASON_LIMIT:,} characters or fewer"


def _as_kept(typed: str | None) -> str:
    """What was typed, as it is kept and counted: one kind of line break (browsers send CRLF),
    no NUL (PostgreSQL's text refuses it; browsers never send one, scripts can), no blank ends."""
    return (typed or "").replace("\r\n", "\n").replace("\x00", "").strip()


class ReopenForm(FlaskForm):
    """The reopen button's form: its CSRF token, and the optional reason for the agency."""

    reason = TextAreaField(filters=[_as_kept], validators=[Length(max=REASON_LIMIT, message=REASON_TOO_LONG)])

    @property
    def given_reason(self) -> str | None:
        """The reason to keep, or None when the box was left empty."""
        return self.reason.data or None

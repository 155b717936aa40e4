"""The sub-group reviewer's pages: the submitted audits, and reopening one for its agency.

Moderation (ratings and challenge notes per standard) comes with the scoring issue; reopening
is here because an audit, once submitted, stays read-only until a reviewer reopens it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for

from accounts import access
from accounts.session import current_user, role
from store import concerns
from store.admin import reopen_audit
from store.models import Agency, Audit, AuditCycle
from views.moderation import doing_on
from views.reopening import ReopenForm

bp = Blueprint("review", __name__, url_prefix="/review")


@bp.get("/")
@role("reviewer", "admin")
def index() -> str:
    audits = (
        Audit.select(Audit, Agency, AuditCycle)
        .join(Agency)
        .switch(Audit)
        .join(AuditCycle)
        .where(Audit.status.in_(("submitted", "reopened")))
        .order_by(AuditCycle.opens_on.desc(), Agency.name)
    )
    return render_template("review/index.html", audits=list(audits), new_flags=concerns.new_count(), doing=doing_on)


@bp.route("/audits/<int:audit_id>/reopen", methods=["GET", "POST"])
@role("reviewer", "admin")
def reopen(audit_id: int) -> Any:
    """Confirm reopening, with an optional reason the agency reads on its task list and result.

    A reason too long is refused with its error and reopens nothing; what was typed is shown
    again, as it is when the page was open too long (a stale token), so nothing is lost."""
    audit = Audit.get_or_none(Audit.id == audit_id)
    if audit is None or not access.can_read_audit(current_user(), audit):
        abort(404)
    form = ReopenForm()
    allowed = access.can_reopen(current_user(), audit)
    if form.validate_on_submit() and allowed:
        if reopen_audit(audit, current_user(), form.given_reason):
            flash(f"The audit by {audit.agency.name} is reopened: they can change it and submit it again")
        return redirect(url_for(".index"))
    errors = []
    if "csrf_token" in form.errors:  # a forged or stale token: say why nothing happened
        text = "This page was open too long, so nothing was changed. Select the button again to reopen the audit."
        errors.append({"href": "#main-content", "text": text})
    refused = allowed and bool(form.reason.errors)
    if refused:
        errors.append({"href": f"#{form.reason.id}", "text": form.reason.errors[0]})
    page = render_template(
        "review/reopen.html", audit=audit, form=form, allowed=allowed, errors=errors, has_errors=bool(errors)
    )
    return page, 400 if refused else 200

"""The sub-group reviewer's pages: the submitted audits, and reopening one for its agency.

Moderation (ratings and challenge notes per standard) comes with the scoring issue; reopening
is here because an audit, once submitted, stays read-only until a reviewer reopens it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from accounts import access
from accounts.session import current_user, role
from store import concerns
from store.admin import reopen_audit
from store.models import Agency, Audit, AuditCycle
from views.moderation import doing_on

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
    audit = Audit.get_or_none(Audit.id == audit_id)
    if audit is None or not access.can_read_audit(current_user(), audit):
        abort(404)
    form = FlaskForm()
    if request.method == "POST" and form.validate_on_submit() and access.can_reopen(current_user(), audit):
        if reopen_audit(audit, current_user()):
            flash(f"The audit by {audit.agency.name} is reopened: they can change it and submit it again")
        return redirect(url_for(".index"))
    expired = "csrf_token" in form.errors  # a forged or stale token: say why nothing happened
    return render_template(
        "review/reopen.html",
        audit=audit,
        form=form,
        allowed=access.can_reopen(current_user(), audit),
        expired=expired,
        has_errors=expired,
    )

"""The reviewer's moderation: an audit's standards with the agency's rating and the reviewer's.

A reviewer reads a submitted audit standard by standard (its answers, the items' outcomes and
how the rating was worked out), records a moderated rating and a challenge note, and sees
self and moderated side by side. The work is in `store.scores.moderate`, which re-scores the
audit in the same transaction, so reports never show a moderation without its effect (R6).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from accounts import access
from accounts.session import current_user, role
from forms.summary import summary_rows
from questionnaires.completeness import asked
from questionnaires.model import Questionnaire, Section
from store import audits as audit_store
from store import scores
from store.answers import load_answers
from store.models import Audit
from views.score_display import item_rows, rating_label, rating_options, standard_rows

bp = Blueprint("moderation", __name__, url_prefix="/review/audits")

NOTE_LIMIT = 5000
NO_RATING = "none"


def _audit(audit_id: int) -> Audit:
    audit = Audit.get_or_none(Audit.id == audit_id)
    if audit is None or not access.can_read_audit(current_user(), audit) or audit.status not in scores.SCORED_STATUSES:
        abort(404)
    if not audit.response.get().scored:  # scoring failed at submission: catch it up now
        scores.score_pending()
    return audit


@bp.get("/<int:audit_id>")
@role("reviewer", "admin")
def audit(audit_id: int) -> str:
    audit = _audit(audit_id)
    questionnaire = audit_store.questionnaire_of(audit)
    rows = standard_rows(questionnaire, scores.standard_scores(audit), scores.moderations(audit))
    can_moderate = access.can_moderate(current_user(), audit)
    return render_template(
        "review/audit.html",
        audit=audit,
        heading=f"{_doing(can_moderate)} the self-audit by {audit.agency.name}",
        rows=rows,
        moderated=sum(1 for r in rows if r["moderated"] or r["note"]),
        can_moderate=can_moderate,
        moderate_link=lambda row: url_for(".standard", audit_id=audit.id, section_id=row["section"].id),
    )


@bp.route("/<int:audit_id>/<section_id>", methods=["GET", "POST"])
@role("reviewer", "admin")
def standard(audit_id: int, section_id: str) -> Any:
    audit = _audit(audit_id)
    questionnaire = audit_store.questionnaire_of(audit)
    section = questionnaire.section(section_id) or abort(404)
    if request.method == "GET":
        current = scores.moderations(audit).get(section.id)
        rating = (current.rating or NO_RATING) if current else ""
        return _standard_page(audit, questionnaire, section, rating, current.note or "" if current else "")
    if not access.can_moderate(current_user(), audit):
        abort(409 if current_user().role == "reviewer" else 404)
    rating, note = request.form.get("rating", ""), request.form.get("note", "")
    errors = _problems(section, rating, note)
    if errors:
        return _standard_page(audit, questionnaire, section, rating, note, errors)
    changed = scores.moderate(audit, section.id, None if rating == NO_RATING else rating, note, current_user())
    flash(_done_message(section, rating) if changed else "Nothing changed: the moderation was already as you sent it")
    return redirect(url_for(".audit", audit_id=audit.id) + f"#standard-{section.id}")


def _standard_page(
    audit: Audit,
    questionnaire: Questionnaire,
    section: Section,
    rating: str,
    note: str,
    errors: list[dict[str, str]] | None = None,
) -> tuple[str, int]:
    mine = [s for s in scores.standard_scores(audit) if s.section_id == section.id]
    rows = standard_rows(questionnaire, mine, scores.moderations(audit))
    can_moderate = access.can_moderate(current_user(), audit)
    number = [s.id for s in questionnaire.sections].index(section.id) + 1
    page = render_template(
        "review/standard.html",
        audit=audit,
        section=section,
        heading=f"{_doing(can_moderate)} standard {number}: {section.title}",
        answers=_answer_rows(questionnaire, section, audit),
        row=rows[0] if rows else None,
        items=item_rows(section, scores.item_scores(audit)),
        options=list(rating_options(section)),
        rating=rating,
        note=note,
        errors=errors or [],
        form=FlaskForm(),
        can_moderate=can_moderate,
        no_rating=NO_RATING,
    )
    return page, 400 if errors else 200


def _doing(can_moderate: bool) -> str:
    """What the reviewer is doing on the page, for its title and heading: moderating a submitted
    audit, or reading one that is reopened (back with the agency) or as an administrator. The
    word matches the link that led there ("Moderate" or "Read": `doing_on`)."""
    return "Moderate" if can_moderate else "Read"


def doing_on(audit: Audit) -> str:
    """The word for the link to an audit's review page, as the page's own heading says it."""
    return _doing(access.can_moderate(current_user(), audit))


def _problems(section: Section, rating: str, note: str) -> list[dict[str, str]]:
    """What stops the moderation being saved, as error summary items."""
    errors = []
    if not FlaskForm().validate_on_submit():
        errors.append({"href": "#rating", "text": "This page was open too long, so nothing was changed. Try again."})
    allowed = {o.value for o in rating_options(section)} | {NO_RATING}
    if rating not in allowed:
        errors.append({"href": "#rating", "text": "Select a moderated rating, or that the agency's rating stands"})
    if len(note) > NOTE_LIMIT:
        errors.append({"href": "#note", "text": f"The challenge note must be {NOTE_LIMIT:,} characters or fewer"})
    elif rating not in (NO_RATING, "") and not note.strip():
        errors.append({"href": "#note", "text": "Say why you moderated the rating, so the agency can respond"})
    return errors


def _done_message(section: Section, rating: str) -> str:
    if rating == NO_RATING:
        return f"Saved: the agency's own rating stands for ‘{section.title}’"
    return f"Saved: ‘{section.title}’ is moderated to {rating_label(section, rating)}"


def _answer_rows(questionnaire: Questionnaire, section: Section, audit: Audit) -> list[dict[str, Any]]:
    stored = load_answers(audit_store.response_of(audit))
    asked_ids = {q.id for q in asked(questionnaire, stored)}
    return summary_rows(section, audit_store.decoded(questionnaire, stored), asked_ids)

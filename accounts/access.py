"""Who may read or change what: one place for every rule, used by every view.

An agency user sees only their own agency's audits; reviewers read every submitted audit and
moderate it; analysts read results; administrators manage everything but do not fill in
audits. Each function answers yes or no; views turn a no into the same 404 as a missing object.
"""

from __future__ import annotations

from store.models import Audit, User

EDITABLE = ("not-started", "in-progress", "reopened")


def can_read_audit(user: User | None, audit: Audit) -> bool:
    if user is None:
        return False
    if user.role == "agency":
        return user.agency_id is not None and audit.agency_id == user.agency_id
    if user.role in ("reviewer", "analyst"):
        return audit.status == "submitted" or user.role == "reviewer" and audit.status == "reopened"
    return user.role == "admin"


def can_edit_audit(user: User | None, audit: Audit) -> bool:
    """Answers can be changed by the agency's own users until it is submitted (or reopened),
    while its cycle is open: a closed cycle is over (action progress can still be updated)."""
    return bool(
        user
        and user.role == "agency"
        and can_read_audit(user, audit)
        and audit.status in EDITABLE
        and audit.cycle.is_open
    )


def can_update_actions(user: User | None, audit: Audit) -> bool:
    """Action progress can be updated by the agency after submission too."""
    return bool(user and user.role == "agency" and can_read_audit(user, audit))


def can_moderate(user: User | None, audit: Audit) -> bool:
    return bool(user and user.role == "reviewer" and audit.status == "submitted")


def can_reopen(user: User | None, audit: Audit) -> bool:
    return bool(user and user.role in ("reviewer", "admin") and audit.status == "submitted")


def can_see_results(user: User | None) -> bool:
    return bool(user and user.role in ("reviewer", "analyst", "admin"))


def can_administer(user: User | None) -> bool:
    return bool(user and user.role == "admin")


def can_read_concerns(user: User | None) -> bool:
    """Flags of words of concern hold a child's own words: reviewers (the safeguarding lead sits
    on the sub-group) and administrators only; never agencies or analysts."""
    return bool(user and user.role in ("reviewer", "admin"))

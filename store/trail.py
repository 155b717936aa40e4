"""The audit trail: every change to an audit, a rating or an action, with who, when, before, after."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, NamedTuple

from store.models import Audit, AuditEvent, User

SAVE_KIND = "section"  # the kind of a section save's one entry (store.audits.save_section)


def record(
    user: User | None, kind: str, target: str, before: Any = None, after: Any = None, audit: Audit | None = None
) -> AuditEvent:
    """Add one entry. Call inside the transaction that makes the change, so both or neither land."""
    return AuditEvent.create(user=user, audit=audit, kind=kind, target=target, before=before, after=after)


def history(audit: Audit) -> list[AuditEvent]:
    return list(AuditEvent.select().where(AuditEvent.audit == audit).order_by(AuditEvent.at, AuditEvent.id))


class Change(NamedTuple):
    """One change as the trail holds it: an answer ("answer", its key), a section's status
    ("status", "section:<id>"), or any other entry as it was recorded."""

    at: dt.datetime
    user_id: int | None
    audit_id: int | None
    kind: str
    target: str
    before: Any
    after: Any


def changes(events: Iterable[AuditEvent]) -> list[Change]:
    """The entries' changes one by one, in the entries' order.

    A section save records one entry whatever it changes (kind SAVE_KIND, target
    "section:<id>"; before and after each {"answers": {key: value or null}} with the answers it
    changed, and "status" when it changed the section's status), so its trail costs one row, not
    a dozen. Here it opens out into an "answer" change per answer, in key order, then the
    section's "status" change: the shape in which saves were recorded before, one row a change,
    and which rows of that shape (kept from then) still have. Every other entry is one change.
    """
    found: list[Change] = []
    for e in events:
        if e.kind != SAVE_KIND:
            found.append(Change(e.at, e.user_id, e.audit_id, e.kind, e.target, e.before, e.after))
            continue
        before, after = e.before or {}, e.after or {}
        answers_before = before.get("answers") or {}
        for key, value in (after.get("answers") or {}).items():
            found.append(Change(e.at, e.user_id, e.audit_id, "answer", key, answers_before.get(key), value))
        if "status" in after:
            found.append(Change(e.at, e.user_id, e.audit_id, "status", e.target, before.get("status"), after["status"]))
    return found

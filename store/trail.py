"""The audit trail: every change to an audit, a rating or an action, with who, when, before, after."""

from __future__ import annotations

from typing import Any

from store.models import Audit, AuditEvent, User


def record(
    user: User | None, kind: str, target: str, before: Any = None, after: Any = None, audit: Audit | None = None
) -> AuditEvent:
    """Add one entry. Call inside the transaction that makes the change, so both or neither land."""
    return AuditEvent.create(user=user, audit=audit, kind=kind, target=target, before=before, after=after)


def history(audit: Audit) -> list[AuditEvent]:
    return list(AuditEvent.select().where(AuditEvent.audit == audit).order_by(AuditEvent.at, AuditEvent.id))

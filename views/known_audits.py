"""What this server process last read of the audits and users a standard's page was read for.

A save of a standard posts the page as it was shown, almost always by someone who read it (or
saved it) a moment before. Reading the audit, the page and the user again before saving took
about a fifth of a save's time in the worker under load, and on PostgreSQL a round trip
(docs/benchmarks.md). With what is kept here, a save goes straight to store.save_unread, which
checks as it writes everything this memory could have wrong (the user's account, role and
agency, the audit's status and cycle, the questionnaire version, the section's revision) and
writes nothing when any of it is not so; the view then reads everything, as it always did.

Kept per app (tests make a new app for each test, with a new database), bounded, and only for
a person who could change the audit when it was read. Nothing here is trusted for access: it
only says which save to try first.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from accounts.access import can_edit_audit
from store import audits as store
from store.models import User

LIMIT = 1000  # audits, and users, kept by a process: never let either grow


class KnownAudits:
    def __init__(self) -> None:
        self.audits: dict[int, store.AuditFacts] = {}
        self.users: dict[int, dict[str, Any]] = {}

    def remember(self, found: store.PageRead) -> None:
        """Keep what a page read found, when its user could change its audit then; otherwise
        forget what was kept of the audit (its saves would only be tried, to write nothing)."""
        facts = found.facts() if found.user is not None and can_edit_audit(found.user, found.audit) else None
        if facts is None:
            self.audits.pop(found.audit.id, None)
            return
        for kept in (self.audits, self.users):
            if len(kept) >= LIMIT:
                kept.clear()
        self.audits[facts.audit_id] = facts
        # what a request may use of its user, without the password's hash (never needed there)
        self.users[found.user.id] = {k: v for k, v in found.user.__data__.items() if k != "password_hash"}

    def for_save(self, user_id: int, audit_id: int) -> tuple[User, store.AuditFacts] | None:
        """The user (a copy of their row as last read, for this request alone) and the audit's
        facts, when both are kept; None otherwise."""
        facts = self.audits.get(audit_id)
        data = self.users.get(user_id)
        if facts is None or data is None:
            return None
        return User(**data), facts


def known_audits() -> KnownAudits:
    """The app's memory (made with its first page read)."""
    known = current_app.extensions.get("known_audits")
    if known is None:
        known = current_app.extensions["known_audits"] = KnownAudits()
    return known

"""store/admin.py's history of administrators' changes: what it lists, and that it reads the trail's
partial index (store.models.AuditEvent), so it stays quick however many answer rows the trail holds;
and the reason an audit was reopened, kept in its trail entry."""

from __future__ import annotations

import datetime as dt

from peewee import Database, PostgresqlDatabase

from store.admin import admin_history, history_query, reopen_audit, reopen_reason
from store.models import Audit, AuditEvent, User
from store.trail import SAVE_KIND, record


def test_it_lists_administrators_changes_newest_first_and_nothing_else(db: Database, users: dict[str, User]) -> None:
    admin, agency, reviewer = users["admin"], users["agency"], users["reviewer"]
    start = dt.datetime(2026, 1, 1, 9, 0)
    entries = [
        (admin, "admin", "user:1"),  # listed
        (agency, "answer", "s1.1"),  # an answer: never
        (reviewer, "audit", "audit:1"),  # an audit reopened, by a reviewer: not an administrator's
        (admin, "audit", "audit:2"),  # an audit reopened by an administrator: listed
        (agency, "status", "section:s1"),
        (agency, SAVE_KIND, "section:s1"),  # a section's save: never
        (None, "admin", "agency:3"),  # by an account since gone from the row: still listed
    ]
    for minutes, (user, kind, target) in enumerate(entries):
        event = record(user, kind, target, None, {"n": minutes})
        AuditEvent.update(at=start + dt.timedelta(minutes=minutes)).where(AuditEvent.id == event.id).execute()
    listed = [(event.kind, event.target) for event in admin_history()]
    assert listed == [("admin", "agency:3"), ("audit", "audit:2"), ("admin", "user:1")]
    assert [e.target for e in admin_history(limit=1)] == ["agency:3"]


def test_it_reads_the_partial_index_not_the_whole_trail(db: Database, users: dict[str, User]) -> None:
    sql, params = history_query(200).sql()
    if isinstance(db, PostgresqlDatabase):  # its planner scans a small table: ask what it would do otherwise
        with db.atomic():
            db.execute_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(row[0] for row in db.execute_sql("EXPLAIN " + sql, params).fetchall())
    else:
        plan = " ".join(str(row[-1]) for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall())
    assert "auditevent_admin_at" in plan, plan


def test_the_reason_for_reopening_is_the_newest_reopenings(db: Database, audit: Audit, users: dict[str, User]) -> None:
    """An audit reopened, submitted again and reopened again: the agency is asked about the newest
    reopening, and one without a reason does not bring back an older reason."""
    reviewer = users["reviewer"]
    assert reopen_reason(audit) is None, "never reopened"

    def submitted_then_reopened(reason: str | None) -> None:
        Audit.update(status="submitted").where(Audit.id == audit.id).execute()
        audit.status = "submitted"
        assert reopen_audit(audit, reviewer, reason)

    submitted_then_reopened("Standard 2 lacks its training log")
    event = AuditEvent.get((AuditEvent.audit == audit) & (AuditEvent.kind == "audit"))
    assert event.after == {"status": "reopened", "reason": "Standard 2 lacks its training log"}
    assert reopen_reason(audit) == "Standard 2 lacks its training log"
    assert not reopen_audit(audit, reviewer, "A second click"), "already reopened: nothing recorded"
    assert reopen_reason(audit) == "Standard 2 lacks its training log"
    submitted_then_reopened("Now standard 5 as well")
    assert reopen_reason(audit) == "Now standard 5 as well"
    submitted_then_reopened(None)
    assert reopen_reason(audit) is None

"""store/admin.py's history of administrators' changes: what it lists, and that it reads the trail's
partial index (store.models.AuditEvent), so it stays quick however many answer rows the trail holds."""

from __future__ import annotations

import datetime as dt

from peewee import Database, PostgresqlDatabase

from store.admin import admin_history, history_query
from store.models import AuditEvent, User
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

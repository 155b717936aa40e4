"""store/trail.py: a section save's one trail entry read as one change an answer, entries kept
from when a save wrote a row an answer read alike, and every other entry as it was recorded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from peewee import Database, PostgresqlDatabase

from questionnaires.model import Questionnaire
from store import audits
from store.models import Audit, AuditEvent, User
from store.trail import SAVE_KIND, changes, record

UNUSUAL = 'It\'s "quoted"; {braces}, a back\\slash, NULL and ünïcode'


@pytest.fixture
def save(audit: Audit, users: dict[str, User], s11: Questionnaire) -> Callable[[dict[str, Any], int, str], None]:
    """Save the first standard of the audit as its agency user: answers, at a revision, with a status."""
    section = s11.section("s1")

    def saving(answers: dict[str, Any], revision: int, status: str) -> None:
        audits.save_section(audit, section, answers, audits.section_keys(section), revision, users["agency"], status)

    return saving


def test_a_save_is_one_row_whose_changes_read_as_one_an_answer_then_the_status(
    save: Callable[..., None], audit: Audit, users: dict[str, User]
) -> None:
    user = users["agency"]
    save({"s1.1": "met", "s1.1-narrative": "One"}, 0, "in-progress")
    last = max(e.id for e in AuditEvent.select())
    answers = {"s1.1": "not-met", "s1.1-narrative": UNUSUAL, "s1.2": "met"}
    save(answers, 1, "completed")
    rows = list(AuditEvent.select().where(AuditEvent.id > last))
    assert [(e.kind, e.target, e.user_id, e.audit_id) for e in rows] == [(SAVE_KIND, "section:s1", user.id, audit.id)]
    assert rows[0].before == {
        "answers": {"s1.1": "met", "s1.1-narrative": "One", "s1.2": None},
        "status": "in-progress",
    }
    assert rows[0].after == {"answers": answers, "status": "completed"}
    assert [(c.kind, c.target, c.before, c.after, c.user_id, c.at) for c in changes(rows)] == [
        ("answer", "s1.1", "met", "not-met", user.id, rows[0].at),
        ("answer", "s1.1-narrative", "One", UNUSUAL, user.id, rows[0].at),
        ("answer", "s1.2", None, "met", user.id, rows[0].at),
        ("status", "section:s1", "in-progress", "completed", user.id, rows[0].at),
    ]


def test_a_saves_entry_is_stored_as_any_json_value_is(
    db: Database,
    audit: Audit,
    users: dict[str, User],
    s11: Questionnaire,
) -> None:
    """The save puts its entry's JSON together from the values as already encoded (store.audits.
    _save_trail): the text stored is what JSONField writes for the same value, so whatever
    reads the table (a query on the text, an export) finds one spelling."""
    section = s11.section("s1")
    answers = {"s1.1-narrative": UNUSUAL, "s1.1-evidence": [{"title": "Pólicy", "type": "policy", "date": None}]}
    audits.save_section(audit, section, answers, answers.keys(), 0, users["agency"], "in-progress")
    row = AuditEvent.get(AuditEvent.kind == SAVE_KIND)
    mark = "%s" if isinstance(db, PostgresqlDatabase) else "?"
    stored = db.execute_sql(f'SELECT "before", "after" FROM "audit_event" WHERE "id" = {mark}', [row.id]).fetchone()
    assert list(stored) == [AuditEvent.before.db_value(row.before), AuditEvent.after.db_value(row.after)]
    assert row.after == {"answers": dict(sorted(answers.items())), "status": "in-progress"}


def test_only_what_a_save_changed_is_in_its_entry_and_a_save_of_nothing_new_writes_none(
    save: Callable[..., None],
) -> None:
    save({"s1.1": "met", "s1.2": "met"}, 0, "in-progress")
    count = AuditEvent.select().count()
    save({"s1.1": "met", "s1.2": "met"}, 1, "in-progress")
    assert AuditEvent.select().count() == count  # nothing changed: no entry
    save({"s1.1": "met", "s1.2": "met"}, 2, "completed")
    status_only = AuditEvent.select().order_by(AuditEvent.id.desc()).first()
    assert (status_only.before, status_only.after) == (
        {"answers": {}, "status": "in-progress"},
        {"answers": {}, "status": "completed"},
    )
    save({"s1.1": "not-met", "s1.2": "met"}, 3, "completed")
    answer_only = AuditEvent.select().order_by(AuditEvent.id.desc()).first()
    assert (answer_only.before, answer_only.after) == ({"answers": {"s1.1": "met"}}, {"answers": {"s1.1": "not-met"}})
    assert [(c.kind, c.before, c.after) for c in changes([answer_only])] == [("answer", "met", "not-met")]


def test_entries_kept_from_a_row_an_answer_and_every_other_entry_read_as_recorded(
    db: Database, audit: Audit, users: dict[str, User]
) -> None:
    """Saves before the one-entry trail wrote a row an answer and one for the section's status:
    databases keep them, and they read as the changes they always were, beside a new save's."""
    user = users["colleague"]
    with db.atomic():
        old = [
            record(user, "answer", "s1.1", None, "met", audit=audit),
            record(user, "status", "section:s1", "not-started", "in-progress", audit=audit),
            record(user, "action-progress", "s1.1-action", {"progress": 0}, {"progress": 50}, audit=audit),
            record(users["admin"], "admin", "agency:1", None, {"name": "Shire Police"}),
        ]
    read = changes(old)
    assert [(c.kind, c.target, c.before, c.after, c.user_id) for c in read] == [
        ("answer", "s1.1", None, "met", user.id),
        ("status", "section:s1", "not-started", "in-progress", user.id),
        ("action-progress", "s1.1-action", {"progress": 0}, {"progress": 50}, user.id),
        ("admin", "agency:1", None, {"name": "Shire Police"}, users["admin"].id),
    ]
    assert all(isinstance(c.at, dt.datetime) for c in read) and read[0].audit_id == audit.id
    assert read[3].audit_id is None

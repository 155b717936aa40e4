"""The self-audit's domain functions, below the pages: conflicts, drafts, carry forward, submission."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import threading
from typing import Any

import pytest
from peewee import Database, PostgresqlDatabase, Value
from werkzeug.datastructures import MultiDict

from questionnaires import load_definition
from questionnaires.model import Questionnaire
from store import audits
from store.answers import answers_as_stored, load_answers, save_answers
from store.db import db as proxy
from store.models import (
    Action,
    Agency,
    Answer,
    Audit,
    AuditCycle,
    AuditEvent,
    Draft,
    QuestionnaireVersion,
    Response,
    SectionState,
    User,
    utcnow,
)
from store.prepared import _numbered, sql_of
from store.questionnaires import definition
from store.trail import SAVE_KIND, changes

TODAY = dt.date.today()


def met_answers(s11: Questionnaire, shortfalls: dict[str, str] | None = None) -> dict[str, Any]:
    """Every item answered Met with evidence, except the `shortfalls` given, which get actions."""
    shortfalls = shortfalls or {}
    out: dict[str, Any] = {}
    for question in s11.questions:
        if question.type == "rating":
            out[question.id] = shortfalls.get(question.id, "met")
            if question.id in shortfalls and question.action:
                out[question.action] = {"what": f"Fix {question.id}", "owner": "Lead", "due": TODAY.isoformat()}
        elif question.type == "long_text":
            out[question.id] = "Words"
    return out


def complete_everything(audit: Audit, s11: Questionnaire, answers: dict[str, Any], user: User) -> None:
    save_answers(audits.response_of(audit), answers)
    SectionState.update(status="completed").where(SectionState.audit == audit).execute()


def section_state(audit: Audit, section_id: str) -> SectionState:
    return SectionState.get((SectionState.audit == audit) & (SectionState.section_id == section_id))


# ---------------------------------------------------------------------------------------------


def test_one_audit_per_agency_and_cycle_with_its_response_and_states(
    cycle: AuditCycle, users: dict[str, User], s11: Questionnaire
) -> None:
    first = audits.audit_for(users["agency"].agency, cycle, users["agency"])
    again = audits.audit_for(users["colleague"].agency_id, cycle, users["colleague"])
    assert first.id == again.id and Audit.select().count() == 1
    assert audits.response_of(first).questionnaire_id == cycle.questionnaire_id
    states = audits.section_states(first, s11)
    assert list(states) == [s.id for s in s11.sections]
    assert {s.status for s in states.values()} == {"not-started"}
    assert audits.open_cycle().id == cycle.id


def test_one_standards_state_is_its_row_made_with_the_others_when_missing(
    cycle: AuditCycle, users: dict[str, User], s11: Questionnaire
) -> None:
    audit = audits.audit_for(users["agency"].agency, cycle, users["agency"])
    assert SectionState.select().count() == 0
    made = audits.section_state(audit, s11, "s3")  # none yet: every standard's row is made
    assert (made.section_id, made.status, made.revision) == ("s3", "not-started", 0)
    assert sorted(s.section_id for s in SectionState.select()) == sorted(s.id for s in s11.sections)
    SectionState.update(status="completed", revision=4).where(SectionState.id == made.id).execute()
    again = audits.section_state(audit, s11, "s3")
    assert (again.id, again.status, again.revision) == (made.id, "completed", 4)
    assert again.id == audits.section_states(audit, s11)["s3"].id and SectionState.select().count() == len(s11.sections)


def test_the_open_cycle_is_the_latest_one_open(db: Database, cycle: AuditCycle) -> None:
    later = AuditCycle.create(
        name="Next", questionnaire=cycle.questionnaire, opens_on=TODAY, closes_on=TODAY + dt.timedelta(days=5)
    )
    assert audits.open_cycle().id == later.id
    AuditCycle.update(is_open=False).execute()
    assert audits.open_cycle() is None


def test_a_section_save_records_each_change_and_bumps_the_revisions(
    audit: Audit, users: dict[str, User], s11: Questionnaire
) -> None:
    section = s11.section("s1")
    user = users["agency"]
    scope = audits.section_keys(section)
    state = audits.save_section(audit, section, {"s1.1": "met", "s1.1-narrative": "One"}, scope, 0, user, "in-progress")
    assert state.revision == 1 and state.updated_by_id == user.id and state.status == "in-progress"
    assert Audit.get_by_id(audit.id).revision == 1 and Audit.get_by_id(audit.id).status == "in-progress"
    state = audits.save_section(audit, section, {"s1.1": "met"}, scope, 1, user, "completed")
    assert load_answers(audits.response_of(audit)) == {"s1.1": "met"}  # the narrative was cleared
    trail = [(c.kind, c.target, c.before, c.after) for c in changes(AuditEvent.select().order_by(AuditEvent.id))]
    assert ("answer", "s1.1-narrative", "One", None) in trail
    assert ("status", "section:s1", "in-progress", "completed") in trail
    assert trail.count(("answer", "s1.1", None, "met")) == 1


def test_a_save_on_an_older_revision_raises_a_conflict_and_writes_nothing(
    audit: Audit, users: dict[str, User], s11: Questionnaire
) -> None:
    section = s11.section("s1")
    scope = audits.section_keys(section)
    audits.save_section(audit, section, {"s1.1": "met"}, scope, 0, users["colleague"], "completed")
    events = AuditEvent.select().count()
    with pytest.raises(audits.Conflict) as raised:
        audits.save_section(audit, section, {"s1.1": "not-met"}, scope, 0, users["agency"], "in-progress")
    assert raised.value.state.updated_by_id == users["colleague"].id and raised.value.theirs == {"s1.1": "met"}
    assert load_answers(audits.response_of(audit)) == {"s1.1": "met"}
    assert section_state(audit, "s1").revision == 1 and Audit.get_by_id(audit.id).revision == 1
    assert AuditEvent.select().count() == events


def test_a_save_that_matches_what_a_colleague_saved_is_not_a_conflict(
    audit: Audit, users: dict[str, User], s11: Questionnaire
) -> None:
    section = s11.section("s1")
    scope = audits.section_keys(section)
    audits.save_section(audit, section, {"s1.1": "met"}, scope, 0, users["colleague"], "in-progress")
    state = audits.save_section(audit, section, {"s1.1": "met"}, scope, 0, users["agency"], "completed")
    assert state.revision == 2 and state.status == "completed"


def test_a_submitted_audit_refuses_a_save(audit: Audit, users: dict[str, User], s11: Questionnaire) -> None:
    Audit.update(status="submitted").where(Audit.id == audit.id).execute()
    with pytest.raises(audits.NotEditable):
        audits.save_section(audit, s11.section("s1"), {"s1.1": "met"}, {"s1.1"}, 0, users["agency"], "completed")
    assert load_answers(audits.response_of(audit)) == {} and Audit.get_by_id(audit.id).revision == 0


def test_a_save_can_leave_a_draft_of_what_it_could_not_store(
    audit: Audit, users: dict[str, User], s11: Questionnaire
) -> None:
    user = users["agency"]
    audits.keep_draft(user, "/audit/x/s1", [["s1.1", "met"]], 0)
    audits.save_section(audit, s11.section("s1"), {}, set(), 0, user, "in-progress", "/audit/x/s1", [["a", "b"]])
    draft = audits.draft_of(user, "/audit/x/s1")
    assert draft.form == [["a", "b"]] and draft.base_revision == 1
    audits.save_section(audit, s11.section("s1"), {}, set(), 1, user, "in-progress", "/audit/x/s1")
    assert audits.draft_of(user, "/audit/x/s1") is None


def test_drafts_are_one_per_person_and_page_and_know_when_they_are_newer(
    audit: Audit, users: dict[str, User], s11: Questionnaire
) -> None:
    agency, colleague = users["agency"], users["colleague"]
    audits.keep_draft(agency, "/p", [["q", "1"]], 0)
    audits.keep_draft(agency, "/p", [["q", "2"]], 0)
    audits.keep_draft(colleague, "/p", [["q", "3"]], 0)
    assert Draft.select().count() == 2 and audits.draft_of(agency, "/p").form == [["q", "2"]]
    state = section_state(audit, "s1")
    draft = audits.draft_of(agency, "/p")
    assert audits.draft_is_newer(draft, state)  # made on the page as it is
    state.revision, state.updated_at = 1, utcnow() + dt.timedelta(minutes=1)
    assert not audits.draft_is_newer(draft, state)  # a colleague saved after it
    state.updated_at = utcnow() - dt.timedelta(minutes=1)
    assert audits.draft_is_newer(draft, state)  # typed after their save, on the older page
    with pytest.raises(ValueError):
        audits.keep_draft(agency, "/p", [["q", "x"]] * (audits.MAX_DRAFT_ITEMS + 1), 0)
    assert audits.typed_items(MultiDict([("csrf_token", "t"), ("save", "later"), ("q", "v"), ("q", "w")])) == [
        ["q", "v"],
        ["q", "w"],
    ]


def test_differences_are_found_per_question_with_dates_as_text(s11: Questionnaire) -> None:
    section = s11.section("s1")
    theirs = {"s1.1": "not-applicable", "s1.1__reason": "Old reason", "s1.1-action": {"due": "2025-01-02"}}
    mine = {"s1.1": "not-applicable", "s1.1__reason": "New reason", "s1.1-action": {"due": dt.date(2025, 1, 2)}}
    assert [q.id for q in audits.differing(section, theirs, mine)] == ["s1.1"]
    assert audits.merged(theirs, {"s1.1": "met"}, {"s1.1", "s1.1__reason"}) == {
        "s1.1": "met",
        "s1.1-action": {"due": "2025-01-02"},
    }
    typed = audits.decoded(
        s11, {"s1.1-evidence": [{"title": "P", "date": "2024-05-06"}], "s1.1-action": {"due": "bad"}}
    )
    assert typed["s1.1-evidence"][0]["date"] == dt.date(2024, 5, 6) and typed["s1.1-action"]["due"] is None


# ---------------------------------------------------------------------------------------------
# Carry forward
# ---------------------------------------------------------------------------------------------


def next_version(s11: Questionnaire) -> Questionnaire:
    """Version 2 of the S11 questionnaire, asking s1.1's narrative under a new id."""
    data = copy.deepcopy(QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "s11-self-audit").definition)
    data["version"] = 2
    for question in data["sections"][0]["questions"]:
        if question["id"] == "s1.1-narrative":
            question["id"] = "s1.1-story"
            question["same_as"] = {"version": 1, "question": "s1.1-narrative"}
    return load_definition(json.loads(json.dumps(data)), source="s11-self-audit@2")


def test_carried_answers_follow_same_as_and_leave_out_what_no_longer_fits(s11: Questionnaire) -> None:
    previous = {
        "s1.1": "not-applicable",  # s1.1 is mandatory: not applicable is no longer allowed
        "s1.1__reason": "Not ours",
        "s1.1-narrative": "Told last year",
        "s1.2": "partially-met",
        "s1.2-action": {"what": "Report", "owner": "Lead", "due": "2024-01-01"},
        "s1.3": "not-met",
        "s1.3-action": {"what": "Train", "owner": "Lead", "due": "2024-01-02"},
        "s2.2": "not-applicable",
        "s2.2__reason": "No longer relevant",
        "retired": "x",
        "s2.3": "",
    }
    carried = audits.carried_answers(s11, previous, next_version(s11), dt.date(2024, 1, 2))
    assert carried == {
        "s1.1-story": "Told last year",
        "s1.2": "partially-met",
        # last cycle's date has passed: the agency gives a new one rather than start overdue
        "s1.2-action": {"what": "Report", "owner": "Lead", "due": None},
        "s1.3": "not-met",
        "s1.3-action": {"what": "Train", "owner": "Lead", "due": "2024-01-02"},  # due today: kept
        "s2.2": "not-applicable",
        "s2.2__reason": "No longer relevant",
    }


def test_carry_forward_copies_once_and_only_into_an_empty_audit(
    audit: Audit, cycle: AuditCycle, users: dict[str, User], s11: Questionnaire
) -> None:
    assert audits.can_carry_forward(audit) is None
    old_cycle = AuditCycle.create(
        name="Last year",
        questionnaire=cycle.questionnaire,
        opens_on=cycle.opens_on - dt.timedelta(days=365),
        closes_on=cycle.opens_on - dt.timedelta(days=200),
        is_open=False,
    )
    older = Audit.create(cycle=old_cycle, agency=audit.agency, status="in-progress")
    assert audits.can_carry_forward(audit) is None  # never submitted: nothing to start from
    Audit.update(status="submitted").where(Audit.id == older.id).execute()
    save_answers(audits.response_of(older), {"s3.1": "met", "s3.1-narrative": "Carried"})
    assert audits.can_carry_forward(audit).id == older.id
    assert audits.carry_forward(audit, users["agency"]) == 2
    assert load_answers(audits.response_of(audit)) == {"s3.1": "met", "s3.1-narrative": "Carried"}
    assert section_state(audit, "s3").status == "in-progress" and section_state(audit, "s3").revision == 1
    assert Audit.get_by_id(audit.id).status == "in-progress"
    assert audits.can_carry_forward(Audit.get_by_id(audit.id)) is None
    with pytest.raises(audits.NotEditable):
        audits.carry_forward(audit, users["agency"])
    assert AuditEvent.select().where(AuditEvent.kind == "carry-forward").count() == 1


# ---------------------------------------------------------------------------------------------
# Submission
# ---------------------------------------------------------------------------------------------


def test_blockers_come_in_the_order_of_the_standards(audit: Audit, users: dict[str, User], s11: Questionnaire) -> None:
    answers = met_answers(s11)
    answers["s2.1"] = "not-met"  # a shortfall with no action
    states = audits.section_states(audit, s11)
    for state in states.values():
        state.status = "completed"
    states["s1"].status = "in-progress"
    problems = audits.blockers(s11, answers, states)
    assert [(p.section_id, p.question_id) for p in problems] == [("s1", ""), ("s2", "s2.1-action")]
    assert problems[0].message == "Mark ‘Senior leadership and a board-level lead’ as completed"


def test_submitting_is_refused_while_rules_fail_and_changes_nothing(
    audit: Audit, users: dict[str, User], s11: Questionnaire
) -> None:
    answers = met_answers(s11)
    del answers["s4.2"]
    complete_everything(audit, s11, answers, users["agency"])
    with pytest.raises(audits.Blocked) as blocked:
        audits.submit(audit, users["agency"], "I confirm")
    assert [p.question_id for p in blocked.value.problems] == ["s4.2"]
    audit = Audit.get_by_id(audit.id)
    assert audit.status == "not-started" and audit.submitted_at is None and audit.revision == 0


def test_submitting_twice_submits_once(audit: Audit, users: dict[str, User], s11: Questionnaire) -> None:
    complete_everything(audit, s11, met_answers(s11, {"s1.2": "not-met"}), users["agency"])
    assert audits.submit(audit, users["agency"], "I confirm") is True
    assert audits.submit(audit, users["colleague"], "I confirm") is False
    stored = Audit.get_by_id(audit.id)
    assert (stored.status, stored.submitted_by_id, stored.declaration) == ("submitted", users["agency"].id, "I confirm")
    assert [a.question_id for a in Action.select()] == ["s1.2-action"]
    assert AuditEvent.select().where(AuditEvent.after == "submitted").count() == 1


def test_concurrent_submissions_submit_once(app: Any, audit: Audit, users: dict[str, User], s11: Questionnaire) -> None:
    complete_everything(audit, s11, met_answers(s11, {"s1.2": "not-met"}), users["agency"])
    database = app.extensions["database"]
    results: list[bool] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def attempt(user: User) -> None:
        try:
            with database.connection_context():
                start.wait()
                results.append(audits.submit(Audit.get_by_id(audit.id), user, "I confirm"))
        except BaseException as error:  # reported below, with the thread's own traceback
            errors.append(error)

    threads = [threading.Thread(target=attempt, args=(users["agency" if i % 2 else "colleague"],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert sorted(results) == [False, False, False, True]
    assert Action.select().count() == 1
    assert AuditEvent.select().where(AuditEvent.after == "submitted").count() == 1
    assert proxy.obj is database


def test_resubmitting_after_a_reopen_updates_actions_and_keeps_their_progress(
    audit: Audit, users: dict[str, User], s11: Questionnaire
) -> None:
    user = users["agency"]
    complete_everything(audit, s11, met_answers(s11, {"s1.2": "not-met", "s2.2": "partially-met"}), user)
    audits.submit(audit, user, "I confirm")
    Action.update(progress=30).execute()
    Audit.update(status="reopened").where(Audit.id == audit.id).execute()
    response = audits.response_of(audit)
    save_answers(response, {"s1.2-action": {"what": "Report twice a year", "owner": "Lead", "due": TODAY.isoformat()}})
    save_answers(response, {"s2.2": "met"}, replace=["s2.2-action"])
    assert audits.submit(Audit.get_by_id(audit.id), user, "I confirm") is True
    (action,) = Action.select()
    assert (action.question_id, action.what, action.progress) == ("s1.2-action", "Report twice a year", 30)
    trail = [
        (e.target, e.before is None, e.after is None) for e in AuditEvent.select().where(AuditEvent.kind == "action")
    ]
    assert trail == [
        ("s1.2-action", True, False),
        ("s2.2-action", True, False),
        ("s1.2-action", False, False),
        ("s2.2-action", False, True),
    ]


def test_progress_updates_are_all_or_nothing(audit: Audit, users: dict[str, User], s11: Questionnaire) -> None:
    complete_everything(audit, s11, met_answers(s11, {"s1.2": "not-met", "s2.2": "not-met"}), users["agency"])
    audits.submit(audit, users["agency"], "I confirm")
    one, two = audits.actions_of(audit)
    updates = [
        audits.ProgressUpdate(one.id, 50, "Half", audits.progress_stamp(one)),
        audits.ProgressUpdate(two.id, 20, None, "2000-01-01T00:00:00"),  # the page saw an older version
    ]
    with pytest.raises(audits.StaleProgress) as stale:
        audits.update_progress(audit, updates, users["agency"])
    assert [a.id for a in stale.value.actions] == [two.id]
    assert [a.progress for a in audits.actions_of(audit)] == [0, 0]
    assert audits.update_progress(audit, updates[:1], users["agency"]) == 1
    assert Action.get_by_id(one.id).progress_note == "Half"
    other = Agency.create(name="Elsewhere", sector="health")
    assert audits.update_progress(Audit.create(cycle=audit.cycle, agency=other), updates[:1], users["agency"]) == 0
    assert audits.is_overdue(Action.get_by_id(one.id), TODAY + dt.timedelta(days=1))
    assert not audits.is_overdue(Action.get_by_id(one.id), TODAY)


def test_earlier_audits_are_listed_newest_first(audit: Audit, cycle: AuditCycle) -> None:
    made = []
    for years in (2, 1):
        old = AuditCycle.create(
            name=f"{years} years ago",
            questionnaire=cycle.questionnaire,
            opens_on=cycle.opens_on - dt.timedelta(days=365 * years),
            closes_on=cycle.opens_on - dt.timedelta(days=365 * years - 100),
            is_open=False,
        )
        made.append(Audit.create(cycle=old, agency=audit.agency, status="submitted"))
    assert [a.cycle.name for a in audits.earlier_audits(audit.agency_id, audit)] == ["1 years ago", "2 years ago"]
    assert Response.select().where(Response.audit << made).count() == 0


# ---------------------------------------------------------------------------------------------
# The audit trail of a save, written in one statement


def trail_rows(audit: Audit) -> list[tuple[Any, ...]]:
    """The audit's trail, a change a row (store.trail.changes)."""
    query = AuditEvent.select().where(AuditEvent.audit == audit).order_by(AuditEvent.at, AuditEvent.id)
    return [(c.user_id, c.kind, c.target, c.before, c.after) for c in changes(query)]


def answer_changes() -> list[tuple[str, Any, Any]]:
    """Every answer change in the trail, in order: (key, before, after)."""
    query = AuditEvent.select().order_by(AuditEvent.id)
    return [(c.target, c.before, c.after) for c in changes(query) if c.kind == "answer"]


def test_every_answer_a_save_changes_is_in_its_one_trail_entry_with_who_when_before_and_after(
    audit: Audit, users: dict[str, User], s11: Questionnaire
) -> None:
    section = s11.section("s1")
    scope = audits.section_keys(section)
    last_year = TODAY - dt.timedelta(days=365)
    first = {
        "s1.1": "met",
        "s1.1-narrative": "One",
        "s1.1-evidence": [{"title": "Policy", "type": "policy", "date": last_year, "link": None}],
        "s1.2": "met",
    }
    audits.save_section(audit, section, first, scope, 0, users["colleague"], "in-progress")
    assert trail_rows(audit)[1:] == [  # after the audit's creation
        (users["colleague"].id, "answer", "s1.1", None, "met"),
        (users["colleague"].id, "answer", "s1.1-evidence", None, [
            {"title": "Policy", "type": "policy", "date": last_year.isoformat(), "link": None}
        ]),
        (users["colleague"].id, "answer", "s1.1-narrative", None, "One"),
        (users["colleague"].id, "answer", "s1.2", None, "met"),
        (users["colleague"].id, "status", "section:s1", "not-started", "in-progress"),
        (users["colleague"].id, "status", "audit", "not-started", "in-progress"),
    ]  # fmt: skip
    last = max(e.id for e in AuditEvent.select())
    started = utcnow()
    second = {
        "s1.1": "not-met",  # changed
        "s1.1-action": {"what": "Name a lead", "owner": "Chief executive", "due": TODAY},  # new
        "s1.1-evidence": first["s1.1-evidence"],  # the same
        "s1.2": "met",  # the same; the narrative is left blank, so it goes
    }
    audits.save_section(audit, section, second, scope, 1, users["agency"], "completed")
    rows = list(AuditEvent.select().where(AuditEvent.id > last).order_by(AuditEvent.id))
    assert [(e.kind, e.target) for e in rows] == [(SAVE_KIND, "section:s1")]  # one row for the save
    added = changes(rows)
    assert [(e.user_id, e.audit_id, e.kind, e.target, e.before, e.after) for e in added] == [
        (users["agency"].id, audit.id, "answer", "s1.1", "met", "not-met"),
        (users["agency"].id, audit.id, "answer", "s1.1-action", None,
         {"what": "Name a lead", "owner": "Chief executive", "due": TODAY.isoformat()}),
        (users["agency"].id, audit.id, "answer", "s1.1-narrative", "One", None),
        (users["agency"].id, audit.id, "status", "section:s1", "in-progress", "completed"),
    ]  # fmt: skip
    assert all(started <= e.at <= utcnow() for e in added)


def test_a_trail_longer_than_one_insert_lands_whole_in_order_as_record_stores_it(
    audit: Audit, users: dict[str, User]
) -> None:
    from store.trail import record

    count = audits.TRAIL_ROWS_PER_INSERT * 2 + 7
    entries = [("answer", f"q{i}", {"due": TODAY, "n": i} if i % 3 else None, [i, "é"]) for i in range(count)]
    before = AuditEvent.select().count()
    with proxy.atomic():
        audits.record_all(users["agency"], audit, entries)
        record(users["agency"], "answer", "single", entries[1][2], entries[1][3], audit=audit)
    rows = list(AuditEvent.select().order_by(AuditEvent.id).offset(before))
    assert [(e.kind, e.target, e.before, e.after) for e in rows[:-1]] == [
        (kind, target, json.loads(json.dumps(old, default=str)), new) for kind, target, old, new in entries
    ]
    single, bulk = rows[-1], rows[1]
    assert (bulk.user_id, bulk.audit_id, bulk.before, bulk.after) == (
        single.user_id,
        single.audit_id,
        single.before,
        single.after,
    )
    assert type(bulk.at) is type(single.at) is dt.datetime and len({e.at for e in rows[:-1]}) == 1
    audits.record_all(users["agency"], audit, [])  # nothing to record: nothing written
    assert AuditEvent.select().count() == before + count + 1


def test_a_colleague_saving_between_the_read_and_the_update_is_a_conflict_and_nothing_is_written(
    audit: Audit, users: dict[str, User], s11: Questionnaire, monkeypatch: pytest.MonkeyPatch
) -> None:
    section = s11.section("s1")
    scope = audits.section_keys(section)
    read = audits._SECTION_STATE.first

    def read_then_colleague_saves(*values: Any) -> SectionState:
        state = read(*values)  # what this save saw; then another server process commits its save
        SectionState.update(revision=SectionState.revision + 1).where(SectionState.id == state.id).execute()
        return state

    monkeypatch.setattr(audits._SECTION_STATE, "first", read_then_colleague_saves)
    events = AuditEvent.select().count()
    with pytest.raises(audits.Conflict) as raised:
        audits.save_section(audit, section, {"s1.1": "met"}, scope, 0, users["agency"], "completed")
    assert raised.value.state.revision == 1
    # the whole transaction is rolled back, the colleague's stand-in save with it
    assert section_state(audit, "s1").revision == 0 and Audit.get_by_id(audit.id).revision == 0
    assert load_answers(audits.response_of(audit)) == {} and AuditEvent.select().count() == events


@pytest.mark.parametrize("from_page_read", [False, True], ids=["reading-in-the-save", "from-the-page-read"])
def test_colleagues_saving_a_section_at_once_from_the_same_page_save_once(
    app: Any, audit: Audit, users: dict[str, User], s11: Questionnaire, from_page_read: bool
) -> None:
    """Four saves of one page at once, each reading in its transaction or each from what its page
    read (the audit with the standard's state, then its answers): one saves, three conflict."""
    database = app.extensions["database"]
    section = s11.section("s1")
    scope = audits.section_keys(section)
    outcomes: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def attempt(n: int) -> None:
        try:
            with database.connection_context():
                found, read = page_read(audit.id, "s1") if from_page_read else (Audit.get_by_id(audit.id), {})
                start.wait()
                user = users["agency" if n % 2 else "colleague"]
                audits.save_section(
                    found, section, {"s1.1-narrative": f"Text {n}"}, scope, 0, user, "in-progress", **read
                )
                outcomes.append("saved")
        except audits.Conflict:
            outcomes.append("conflict")
        except BaseException as error:  # reported below, with the thread's own traceback
            errors.append(error)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "saved"]
    assert section_state(audit, "s1").revision == 1 and Audit.get_by_id(audit.id).revision == 1
    narrative = [c for c in changes(AuditEvent.select()) if c.target == "s1.1-narrative"]
    assert len(narrative) == 1 and load_answers(audits.response_of(audit)) == {"s1.1-narrative": narrative[0].after}


def test_an_audit_by_id_comes_with_its_cycle_and_questionnaire_version_in_one_query(
    audit: Audit, cycle: AuditCycle, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert audits.audit_by_id(audit.id + 1000) is None
    audits.audit_by_id(audit.id)  # the definition, read once in this process
    queries = counting_statements(monkeypatch)
    found = audits.audit_by_id(audit.id)
    assert (found.id, found.agency_id, found.status, found.revision) == (audit.id, audit.agency_id, "not-started", 0)
    assert audits.questionnaire_of(found).id == "s11-self-audit" and found.cycle.name == cycle.name
    assert len(queries) == 1


def test_an_audit_by_id_sees_an_edited_stored_definition_at_once(audit: Audit, cycle: AuditCycle) -> None:
    assert audits.questionnaire_of(audits.audit_by_id(audit.id)).title == definition(cycle.questionnaire).title
    content = copy.deepcopy(QuestionnaireVersion.get_by_id(cycle.questionnaire_id).definition)
    content["title"] = "Edited in the database"
    QuestionnaireVersion.update(definition=content).where(QuestionnaireVersion.id == cycle.questionnaire_id).execute()
    found = audits.audit_by_id(audit.id)
    assert audits.questionnaire_of(found).title == "Edited in the database"
    with pytest.raises(TypeError):  # shared by every request that reads it: never changed in place
        found.cycle.questionnaire.definition["title"] = "Changed by a caller"
    assert audits.questionnaire_of(audits.audit_by_id(audit.id)).title == "Edited in the database"
    mine = copy.deepcopy(found.cycle.questionnaire.definition)  # a copy can be changed
    mine["sections"].append({"id": "new"})
    assert len(mine["sections"]) == len(content["sections"]) + 1


def test_a_section_save_stores_and_reports_the_same_changes_as_save_answers(
    audit: Audit, cycle: AuditCycle, agencies: dict[str, Agency], users: dict[str, User], s11: Questionnaire
) -> None:
    import random

    other = audits.audit_for(agencies["health"], cycle, users["other-agency"])
    mine, theirs = audits.response_of(audit), audits.response_of(other)
    rng = random.Random(11)
    keys = ["s1.1", "s1.1-narrative", "s1.1-evidence", "s1.1-action", "s1.2", "s1.2__reason", "s2.1"]
    values = [
        "met",
        "not-met",
        "Words",
        "",
        [{"title": "Policy", "type": "policy", "date": TODAY, "link": None}],
        {"what": "Fix", "owner": "Lead", "due": TODAY},
    ]
    for _ in range(40):
        answers = {k: rng.choice(values) for k in rng.sample(keys, rng.randint(0, len(keys)))}
        scope = set(rng.sample(keys, rng.randint(0, len(keys))))
        with proxy.atomic():
            expected = save_answers(theirs, answers, replace=scope)
            changes = audits._save_changes(mine, answers, scope)
        # the same changes, in key order, before and after as the audit trail stores them
        assert [key for key, _ in changes] == sorted(expected)
        assert dict(changes) == {
            k: (Answer.value.db_value(b), Answer.value.db_value(a)) for k, (b, a) in expected.items()
        }
        assert load_answers(mine) == load_answers(theirs)


def test_a_section_save_compares_stored_answers_by_value_not_by_spelling(
    audit: Audit, s11: Questionnaire, users: dict[str, User]
) -> None:
    """An answer stored as other JSON text for the same value (spaces, as another writer may have
    left it) is unchanged when saved again: no write and no audit trail row; a different one is."""
    response = audits.response_of(audit)
    action = {"what": "Fix", "owner": "Lead", "due": "2025-01-02"}
    for key, text in (("s1.1", '"met"'), ("s1.1-action", '{"what": "Fix", "owner": "Lead", "due": "2025-01-02"}')):
        Answer.insert(response=response, question_id=key, value=Value(text, converter=False)).execute()
    scope = audits.section_keys(s11.section("s1"))
    audits.save_section(
        audit, s11.section("s1"), {"s1.1": "met", "s1.1-action": action}, scope, 0, users["agency"], "in-progress"
    )
    assert answer_changes() == []
    audits.save_section(
        audit, s11.section("s1"), {"s1.1": "not-met", "s1.1-action": action}, scope, 1, users["agency"], "in-progress"
    )
    assert answer_changes() == [("s1.1", "met", "not-met")]
    assert load_answers(response) == {"s1.1": "not-met", "s1.1-action": action}


# ---------------------------------------------------------------------------------------------
# A save from what its page read: nothing read again while the audit is as the page read it
# ---------------------------------------------------------------------------------------------


def page_read(audit_id: int, section_id: str) -> tuple[Audit, dict[str, Any]]:
    """What the standard's page reads before a save: the audit with the standard's state and the
    response, then the standard's answers as stored; as save_section takes them."""
    read = audits.audit_with_section(audit_id, section_id)
    found, state, response = read.audit, read.state, read.response
    section = audits.questionnaire_of(found).section(section_id)
    stored = {
        a.question_id: Answer.value.db_value(a.value)
        for a in Answer.select().where(Answer.response == response)
        if a.question_id in audits.section_keys(section)
    }
    return found, {"state": state, "response": response, "stored": stored}


def counting_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements run from now on (a PREPARE, sent once a connection for a compiled query on
    PostgreSQL, store.prepared, is not counted: it is not a read or a write)."""
    statements: list[str] = []
    run = proxy.obj.execute_sql

    def counted(sql: str, *rest: Any, **kw: Any) -> Any:
        if not sql.startswith("PREPARE "):
            statements.append(sql)
        return run(sql, *rest, **kw)

    monkeypatch.setattr(proxy.obj, "execute_sql", counted)
    return statements


def test_the_page_reads_the_audit_the_standards_state_the_response_answers_and_user_in_one_query(
    audit: Audit, cycle: AuditCycle, users: dict[str, User], s11: Questionnaire, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = users["agency"]
    audits.save_section(audit, s11.section("s2"), {"s2.1": "met", "s2.1-narrative": "Two"}, [], 0, user, "in-progress")
    audits.save_section(audit, s11.section("s3"), {"s3.1": "not-met"}, [], 0, user, "in-progress")
    assert audits.audit_with_section(audit.id + 1000, "s1", user.id) is None
    monkeypatch.setattr(audits, "_asked_keys", {})  # as in a new process (another test read audit 1 too)
    first = audits.audit_with_section(audit.id, "s2")  # the definition, read once in this process
    assert first.as_stored is None, "the page's keys are known only from its definition: not read the first time"
    statements = counting_statements(monkeypatch)
    read = audits.audit_with_section(audit.id, "s2", user.id)
    assert len(statements) == 1
    if isinstance(proxy.obj, PostgresqlDatabase):  # its row version's stamp, not its 150 KB text
        assert '"definition"' not in str(audits._AUDIT_PAGE._compile(True)[1])
    found, state, response = read.audit, read.state, read.response
    assert (found.id, found.revision, found.cycle.name) == (audit.id, 2, cycle.name)
    assert audits.questionnaire_of(found).id == "s11-self-audit"
    assert (state.audit_id, state.section_id, state.revision) == (audit.id, "s2", 1)
    assert response.id == audits.response_of(audit).id
    # the standard's own answers as stored, and no other standard's, exactly as a read by key gives
    keys = audits.page_keys(s11.section("s2"))
    assert read.as_stored == {"s2.1": '"met"', "s2.1-narrative": '"Two"'}
    assert read.as_stored == answers_as_stored(response, keys.own | keys.named)
    assert (read.user.id, read.user.email) == (user.id, user.email)
    assert audits.audit_with_section(audit.id, "s2").user is None  # no user asked for
    User.update(active=False).where(User.id == user.id).execute()
    assert audits.audit_with_section(audit.id, "s2", user.id).user is None  # deactivated: not signed in
    # a standard the questionnaire does not have, or whose state is not made yet: no state
    assert audits.audit_with_section(audit.id, "s99").state is None
    SectionState.delete().where((SectionState.audit == audit) & (SectionState.section_id == "s2")).execute()
    Response.delete().where(Response.audit == audit).execute()
    emptied = audits.audit_with_section(audit.id, "s2")
    assert (emptied.state, emptied.response, emptied.as_stored) == (None, None, {})


def test_a_page_read_asks_again_for_the_keys_an_edited_definition_needs(
    audit: Audit, users: dict[str, User], s11: Questionnaire, monkeypatch: pytest.MonkeyPatch
) -> None:
    audits.save_section(audit, s11.section("s1"), {"s1.1": "met"}, [], 0, users["agency"], "in-progress")
    audits.audit_with_section(audit.id, "s1")
    assert audits.audit_with_section(audit.id, "s1").as_stored == {"s1.1": '"met"'}
    # the keys this process asked for last are not the ones the definition needs now (as after
    # an administrator edits the definition in place): the answers are not given, not guessed
    monkeypatch.setitem(audits._asked_keys, (type(proxy.obj), audit.id, "s1"), audits.key_list(["s1.2"]))
    assert audits.audit_with_section(audit.id, "s1").as_stored is None
    assert audits.audit_with_section(audit.id, "s1").as_stored == {"s1.1": '"met"'}


def test_the_page_reads_answers_as_stored_whatever_their_text_and_gives_up_on_text_it_cannot_split(
    audit: Audit, users: dict[str, User], s11: Questionnaire
) -> None:
    """The answers come back as key and value pairs between control characters, which JSON text
    always escapes: values holding them, quotes, backslashes or other scripts read back as
    stored. A value not written as JSON text that holds them (no save writes one) is not
    guessed at: the read gives no answers and the caller reads them by key."""
    awkward = 'He said "no" \\ \x1e\x1f \u00e9\u4e2d\n'
    audits.save_section(
        audit, s11.section("s1"), {"s1.1": "met", "s1.1-narrative": awkward}, [], 0, users["agency"], "in-progress"
    )
    audits.audit_with_section(audit.id, "s1")  # the keys, known from the definition
    read = audits.audit_with_section(audit.id, "s1")
    assert read.as_stored == {"s1.1": '"met"', "s1.1-narrative": Answer.value.db_value(awkward)}
    assert json.loads(read.as_stored["s1.1-narrative"]) == awkward
    not_json = 'x\x1es1.2\x1f"met"'  # as if "s1.2" were answered too
    Answer.update({Answer.value: Value(not_json, converter=False)}).where(Answer.question_id == "s1.1").execute()
    assert audits.audit_with_section(audit.id, "s1").as_stored is None


def test_a_page_looks_up_each_of_its_keys_however_many_answers_the_audit_and_the_surveys_hold(
    audit: Audit, users: dict[str, User], s11: Questionnaire
) -> None:
    """PostgreSQL plans the page read once for every audit, guessing a response's answers from
    the average: with many survey responses of a handful of answers, it read all of an audit's
    answers and filtered them. The read it runs (its generic plan) finds the page's answers by
    response and key, and reads no other answer."""
    if not isinstance(proxy.obj, PostgresqlDatabase):
        pytest.skip("SQLite plans each statement as it runs it")
    user = users["agency"]
    audits.save_section(audit, s11.section("s2"), {"s2.1": "met", "s2.1-narrative": "Two"}, [], 0, user, "in-progress")
    response = audits.response_of(audit)
    run = proxy.obj.execute_sql
    run(
        "INSERT INTO answer (response_id, question_id, value) SELECT %s, 'other-' || n, '\"x\"'"
        " FROM generate_series(1, 150) AS n",
        [response.id],
    )
    run(
        "INSERT INTO response (questionnaire_id, status, scored) SELECT questionnaire_id, 'submitted', false"
        " FROM response, generate_series(1, 300) WHERE id = %s",
        [response.id],
    )
    run(
        "INSERT INTO answer (response_id, question_id, value) SELECT r.id, 'q' || n, '1' FROM response AS r,"
        " generate_series(1, 5) AS n WHERE r.id <> %s",
        [response.id],
    )
    run("ANALYZE answer")
    audits.audit_with_section(audit.id, "s2", user.id)  # the page's keys, known from the definition
    _, statement, params, slots = audits._AUDIT_PAGE._compile(True)
    asked = audits._asked_keys[(type(proxy.obj), audit.id, "s2")]
    for slot, value in zip(slots, (audit.id, "s2", user.id, asked, f"/audit/{audit.id}/s2"), strict=True):
        params[slot] = value
    run("SET plan_cache_mode = force_generic_plan")
    run(f"PREPARE page_read_planned AS {_numbered(statement.sql)}")
    try:
        values = ", ".join(["%s"] * len(params))
        (plan,) = run(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE page_read_planned({values})", params).fetchone()
    finally:
        run("DEALLOCATE page_read_planned")
        run("RESET plan_cache_mode")

    def nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
        return [node, *(n for child in node.get("Plans", []) for n in nodes(child))]

    reads = [n for n in nodes(plan[0]["Plan"]) if n.get("Relation Name") == "answer"]
    assert reads, plan
    for read in reads:
        assert "question_id" in read.get("Index Cond", ""), read
        assert read.get("Rows Removed by Filter", 0) == read.get("Rows Removed by Index Recheck", 0) == 0, read
    # one lookup a key the page asks for (its own and those its conditions name), no more
    assert sum(n["Actual Loops"] for n in reads) == len(audits.page_keys(s11.section("s2")).all)
    assert audits.audit_with_section(audit.id, "s2", user.id).as_stored == {"s2.1": '"met"', "s2.1-narrative": '"Two"'}


@pytest.mark.parametrize(
    ("collected", "expected"),
    [
        (None, {}),
        ('1\x1da\x1f"1"', {"a": '"1"'}),
        ('2\x1da\x1f"1"\x1eb\x1f[]', {"a": '"1"', "b": "[]"}),
        ('1\x1da\x1f"1\x1eb\x1f[]"', None),  # one answer whose value holds the separator of pairs
        ('a\x1f"1"', None),  # no number
        ('2\x1da\x1f"1"\x1e', None),  # an item with no pair
        ('1\x1da\x1f"1\x1f2"', None),  # a value holding the pair's separator
        ('1\x1dc\x1f"1"', None),  # a key not asked for
        ('2\x1da\x1f"1"\x1ea\x1f"2"', None),  # a key twice
    ],
)
def test_page_pairs(collected: str | None, expected: dict[str, str] | None) -> None:
    assert audits.page_pairs(collected, frozenset({"a", "b"})) == expected


def test_the_keys_a_page_asks_for_go_in_one_parameter_the_database_reads_as_a_list() -> None:
    keys = ["s1.2", "s1.1__reason", 'odd"key\\']
    listed = audits.key_list(keys)
    if isinstance(proxy.obj, PostgresqlDatabase):
        assert proxy.obj.execute_sql("SELECT %s::text[]", [listed]).fetchone()[0] == sorted(keys)
    else:
        assert [row[0] for row in proxy.obj.execute_sql("SELECT value FROM json_each(?)", [listed])] == sorted(keys)
    assert audits.key_list([]) in ("{}", "[]")


def test_a_save_from_a_current_page_read_reads_nothing_again_and_stores_the_same(
    audit: Audit, users: dict[str, User], s11: Questionnaire, monkeypatch: pytest.MonkeyPatch
) -> None:
    section = s11.section("s1")
    scope = audits.section_keys(section)
    user = users["agency"]
    audits.save_section(audit, section, {"s1.1": "met", "s1.1-narrative": "One"}, scope, 0, user, "in-progress")
    found, read = page_read(audit.id, "s1")
    assert read["stored"] == {"s1.1": '"met"', "s1.1-narrative": '"One"'}
    statements = counting_statements(monkeypatch)
    saved = audits.save_section(found, section, {"s1.1": "not-met", "s1.2": "met"}, scope, 1, user, "completed", **read)
    monkeypatch.undo()
    assert not [s for s in statements if s.lstrip().upper().startswith("SELECT")], statements
    if isinstance(proxy.obj, PostgresqlDatabase):  # one statement, atomic by itself: no BEGIN, no COMMIT
        assert len(statements) == 1 and statements[0].startswith("WITH"), statements
    assert (saved.revision, saved.status) == (2, "completed")
    assert load_answers(audits.response_of(audit)) == {"s1.1": "not-met", "s1.2": "met"}
    assert section_state(audit, "s1").revision == 2 and Audit.get_by_id(audit.id).revision == 2
    trail = [(c.kind, c.target, c.before, c.after) for c in changes(AuditEvent.select().order_by(AuditEvent.id))][-4:]
    assert trail == [
        ("answer", "s1.1", "met", "not-met"),
        ("answer", "s1.1-narrative", "One", None),
        ("answer", "s1.2", None, "met"),
        ("status", "section:s1", "in-progress", "completed"),
    ]


def test_a_save_from_a_page_read_that_a_colleague_overtook_reads_again(
    audit: Audit, users: dict[str, User], s11: Questionnaire
) -> None:
    """Between the page's read and its save, a colleague saves: the same standard (a conflict,
    with their answers) or another one (the audit moved on: what the page read of this standard
    is checked again, so the trail's before values are what was stored when the save landed)."""
    s1, s2 = s11.section("s1"), s11.section("s2")
    agency, colleague = users["agency"], users["colleague"]
    found, read = page_read(audit.id, "s1")
    audits.save_section(audit, s1, {"s1.1": "met"}, audits.section_keys(s1), 0, colleague, "in-progress")
    events = AuditEvent.select().count()
    with pytest.raises(audits.Conflict) as raised:
        audits.save_section(found, s1, {"s1.1": "not-met"}, audits.section_keys(s1), 0, agency, "completed", **read)
    assert raised.value.theirs == {"s1.1": "met"} and raised.value.state.revision == 1
    assert AuditEvent.select().count() == events and load_answers(audits.response_of(audit)) == {"s1.1": "met"}

    found, read = page_read(audit.id, "s1")
    # what the page read is wrong for this standard too: stored by something that bumped the audit
    Answer.update(value="not-started").where(Answer.question_id == "s1.1").execute()
    audits.save_section(audit, s2, {"s2.1": "met"}, audits.section_keys(s2), 0, colleague, "in-progress")
    audits.save_section(found, s1, {"s1.1": "partly-met"}, audits.section_keys(s1), 1, agency, "in-progress", **read)
    last = [c for c in changes(AuditEvent.select().order_by(AuditEvent.id)) if c.target == "s1.1"][-1]
    assert (last.before, last.after) == ("not-started", "partly-met")
    assert section_state(audit, "s1").revision == 2 and Audit.get_by_id(audit.id).revision == 3


def test_a_page_reads_its_standards_answers_and_those_its_conditions_name(
    audit: Audit, s11: Questionnaire, users: dict[str, User]
) -> None:
    from tests.forms.test_builder import with_question

    narrative = s11.section("s2").questions[1]
    edited = with_question(s11, narrative.id, show_if={"question": "s1.1", "equals": "not-met"})
    keys = audits.page_keys(edited.section("s2"))
    assert keys.own == frozenset(audits.section_keys(edited.section("s2"))) and keys.named == {"s1.1"}
    assert audits.page_keys(edited.section("s2")) is keys  # kept for the same section object
    assert audits.page_keys(s11.section("s2")).named == frozenset()
    response = audits.response_of(audit)
    save_answers(response, {"s1.1": "not-met", "s1.2": "met", "s2.1": "met"})
    assert answers_as_stored(response, keys.own | keys.named) == {"s1.1": '"not-met"', "s2.1": '"met"'}
    assert answers_as_stored(response, []) == {}


def test_the_first_save_from_a_page_read_starts_the_audit_and_drops_the_pages_draft(
    audit: Audit, users: dict[str, User], s11: Questionnaire
) -> None:
    user = users["agency"]
    section = s11.section("s1")
    audits.keep_draft(user, "/audit/x/s1", [["s1.1", "met"]], 0)
    found, read = page_read(audit.id, "s1")
    state = audits.save_section(
        found, section, {"s1.1": "met"}, audits.section_keys(section), 0, user, "in-progress", "/audit/x/s1", **read
    )
    assert (state.revision, state.status, state.updated_by) == (1, "in-progress", user)
    assert (Audit.get_by_id(audit.id).status, Audit.get_by_id(audit.id).revision) == ("in-progress", 1)
    rows = [
        (e.user_id, e.audit_id, e.kind, e.target, e.before, e.after)
        for e in changes(AuditEvent.select().order_by(AuditEvent.id))
    ]
    assert rows[-3:] == [
        (user.id, audit.id, "answer", "s1.1", None, "met"),
        (user.id, audit.id, "status", "section:s1", "not-started", "in-progress"),
        (user.id, audit.id, "status", "audit", "not-started", "in-progress"),
    ]
    assert audits.draft_of(user, "/audit/x/s1") is None
    assert section_state(audit, "s1").updated_at == state.updated_at


def test_a_save_whose_page_read_found_no_draft_does_not_look_for_one(
    audit: Audit, users: dict[str, User], s11: Questionnaire, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page read brings the person's draft of the page; when it found none, the save leaves
    the drafts alone, in one statement or in a transaction (answers that could not be saved
    yet, which become the draft, always take the transaction). A draft kept after that read
    (another tab, an autosave) stays, at the revision this save replaces."""
    section = s11.section("s1")
    scope = audits.section_keys(section)
    user = users["agency"]
    path = f"/audit/{audit.id}/s1"
    read = audits.audit_with_section(audit.id, "s1", user.id, path)
    assert read.draft is None and read.user == user
    audits.keep_draft(user, path, [["s1.1", "met"]], 0)
    audits.keep_draft(user, "/audit/x/s2", [["s2.1", "met"]], 0)  # another page's: never touched
    found, stored = page_read(audit.id, "s1")
    statements = counting_statements(monkeypatch)
    audits.save_section(found, section, {"s1.1": "met"}, scope, 0, user, "in-progress", path, **stored, no_draft=True)
    assert statements and not any('"draft"' in sql_of(s) for s in statements), statements
    assert audits.draft_of(user, path).base_revision == 0
    # in a transaction: the audit moved on since the read, so the save reads again and writes
    found, stored = page_read(audit.id, "s1")
    Audit.update(revision=Audit.revision + 1).where(Audit.id == audit.id).execute()
    statements.clear()
    audits.save_section(
        found, section, {"s1.1": "not-met"}, scope, 1, user, "in-progress", path, **stored, no_draft=True
    )
    assert not any('"draft"' in sql_of(s) for s in statements), statements
    assert load_answers(audits.response_of(audit)) == {"s1.1": "not-met"}
    # and as the page read it: with a draft there, the save drops it
    read = audits.audit_with_section(audit.id, "s1", user.id, path)
    assert read.draft is not None and read.draft.form == [["s1.1", "met"]]
    found, stored = page_read(audit.id, "s1")
    audits.save_section(found, section, {"s1.1": "met"}, scope, 2, user, "in-progress", path, **stored)
    assert audits.draft_of(user, path) is None and audits.draft_of(user, "/audit/x/s2") is not None


def test_saves_from_page_reads_one_after_another_store_each_change_whatever_their_shape(
    audit: Audit, users: dict[str, User], s11: Questionnaire, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the one-statement save is one text for each of its shapes (a draft to drop
    or not), whatever it changes, prepared on the server from its second run on this
    connection: every run stores what it should."""
    section = s11.section("s1")
    scope = audits.section_keys(section)
    user = users["agency"]
    saves = [
        {"s1.1": "met", "s1.1-narrative": "One"},
        {"s1.1": "met", "s1.1-narrative": "One"},  # nothing changes but the status
        {"s1.1": "not-met", "s1.2": "met"},  # one changed, one removed, one new
        {},  # everything removed
        {"s1.1-narrative": 'It\'s "quoted"; {braces}, NULL and ünïcode'},
    ]
    statements = counting_statements(monkeypatch)
    for revision, answers in enumerate(saves):
        found, read = page_read(audit.id, "s1")
        status = "completed" if revision % 2 else "in-progress"
        state = audits.save_section(found, section, answers, scope, revision, user, status, "/audit/x/s1", **read)
        assert state.revision == revision + 1
        assert load_answers(audits.response_of(audit)) == answers
        assert section_state(audit, "s1").status == status
    if isinstance(proxy.obj, PostgresqlDatabase):  # the first as text, then by name
        assert len([s for s in statements if s.startswith("EXECUTE")]) >= len(saves) - 1
    assert Audit.get_by_id(audit.id).revision == len(saves)
    assert answer_changes() == [
        ("s1.1", None, "met"),
        ("s1.1-narrative", None, "One"),
        ("s1.1", "met", "not-met"),
        ("s1.1-narrative", "One", None),
        ("s1.2", None, "met"),
        ("s1.1", "not-met", None),
        ("s1.2", "met", None),
        ("s1.1-narrative", None, 'It\'s "quoted"; {braces}, NULL and ünïcode'),
    ]


def test_a_saves_trail_rows_store_their_time_as_every_other_trail_row_does(
    audit: Audit, users: dict[str, User], s11: Questionnaire
) -> None:
    """The save's trail insert formats its one time once (store.audits._record_encoded); the
    stored value is the one the database driver stores for any trail row's time, read back alike."""
    from store.trail import record

    section = s11.section("s1")
    # the audit's fixture wrote its start to the trail, maybe in the second before this one
    written_before = max((e.id for e in AuditEvent.select().where(AuditEvent.audit == audit)), default=0)
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    audits.save_section(audit, section, {"s1.1": "met", "s1.1-narrative": "A"}, [], 0, users["agency"], "in-progress")
    record(users["agency"], "status", "audit", "a", "b", audit=audit)
    mark = "%s" if isinstance(proxy.obj, PostgresqlDatabase) else "?"
    raw = proxy.obj.execute_sql(
        f'SELECT "at", "kind" FROM "audit_event" WHERE "audit_id" = {mark} ORDER BY "id"', [audit.id]
    )
    raw = raw.fetchall()
    kinds = {kind for _, kind in raw}
    assert {SAVE_KIND, "status"} <= kinds
    assert {type(at) for at, _ in raw} == {type(raw[-1][0])}  # one way of storing, whoever wrote it
    if isinstance(raw[0][0], str):  # SQLite: text, as sqlite3's adapter writes a datetime
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?", at) for at, _ in raw), raw
    times = [e.at for e in AuditEvent.select().where((AuditEvent.audit == audit) & (AuditEvent.id > written_before))]
    assert len(times) == 3  # the save's entry, the audit's start it made, and the one recorded after
    assert all(isinstance(t, dt.datetime) and t >= before for t in times)


# ---------------------------------------------------------------------------------------------
# A save without the page read: what it checks and writes (on PostgreSQL, in one statement)
# ---------------------------------------------------------------------------------------------


def unread_facts(audit: Audit, user: User, postgresql_only: bool = False) -> audits.AuditFacts:
    """What a server process keeps of the audit after reading one of its pages (views.known_audits)."""
    if postgresql_only and not isinstance(proxy.obj, PostgresqlDatabase):
        pytest.skip("PostgreSQL's one-statement save without the page read")
    facts = audits.audit_with_section(audit.id, "s1", user.id, "/p").facts()
    assert facts is not None
    return facts


def raw_trail(audit: Audit) -> list[tuple[Any, ...]]:
    """The audit's trail rows as stored: kind, target and the JSON texts, in order."""
    mark = "%s" if isinstance(proxy.obj, PostgresqlDatabase) else "?"
    sql = f'SELECT "kind", "target", "before", "after" FROM "audit_event" WHERE "audit_id" = {mark} ORDER BY "id"'
    cursor = proxy.obj.execute_sql(sql, [audit.id])
    return [tuple(row) for row in cursor.fetchall()]


def test_a_save_without_the_page_read_writes_what_save_section_writes(
    audit: Audit, cycle: AuditCycle, agencies: dict[str, Agency], users: dict[str, User], s11: Questionnaire
) -> None:
    """The same saves, one audit saved by save_section and another by save_unread: the same
    answers, states, statuses and audit trail, text for text."""
    other = audits.audit_for(agencies["health"], cycle, users["other-agency"])
    audits.section_states(other, s11)
    facts = unread_facts(other, users["other-agency"])
    section = s11.section("s1")
    scope = audits.section_keys(section)
    action = {"what": "Fix the policy", "owner": "Lead", "due": TODAY + dt.timedelta(days=30)}
    saves: list[tuple[dict[str, Any], str]] = [
        ({"s1.1": "met", "s1.1-narrative": "One"}, "in-progress"),  # the audit's start, too
        ({"s1.1": "met", "s1.1-narrative": "One"}, "in-progress"),  # nothing changes: no trail row
        ({"s1.1": "met", "s1.1-narrative": "One"}, "completed"),  # the status alone
        ({"s1.1": "not-met", "s1.1-action": action, "s1.2": "met"}, "completed"),  # changed, removed, new
        ({"s1.1-narrative": 'It\'s "quoted"; {braces}, NULL, \\ and ünïcode\n'}, "in-progress"),
        ({}, "in-progress"),  # everything removed
    ]
    for revision, (answers, status) in enumerate(saves):
        audits.save_section(audit, section, answers, scope, revision, users["agency"], status)
        saved = audits.save_unread(facts, section, answers, scope, revision, users["other-agency"], status, "/p")
        assert saved == revision + 1
        assert load_answers(audits.response_of(other)) == load_answers(audits.response_of(audit))
        assert load_answers(audits.response_of(other)).keys() == answers.keys()
        for state in (section_state(audit, "s1"), section_state(other, "s1")):
            assert (state.revision, state.status) == (revision + 1, status)
    # the audit made, started, and an entry for each save but the second (it changed nothing)
    assert raw_trail(other) == raw_trail(audit) and len(raw_trail(audit)) == 1 + 1 + 5
    mine, theirs = Audit.get_by_id(audit.id), Audit.get_by_id(other.id)
    assert (theirs.status, theirs.revision) == (mine.status, mine.revision) == ("in-progress", len(saves))
    assert section_state(other, "s1").updated_by_id == users["other-agency"].id


def test_a_save_without_the_page_read_drops_the_persons_draft_of_the_page(
    audit: Audit, users: dict[str, User], s11: Questionnaire
) -> None:
    facts = unread_facts(audit, users["agency"])
    audits.keep_draft(users["agency"], "/p", [["s1.1", "met"]], 0)
    audits.keep_draft(users["colleague"], "/p", [["s1.1", "not-met"]], 0)
    audits.save_unread(facts, s11.section("s1"), {"s1.1": "met"}, set(), 0, users["agency"], "in-progress", "/p")
    assert [d.user_id for d in Draft.select()] == [users["colleague"].id]


def test_a_save_without_the_page_read_writes_nothing_unless_what_the_read_would_tell_is_so(
    audit: Audit, users: dict[str, User], s11: Questionnaire
) -> None:
    """Each check the page read stood for, made false after the process read the page (and then
    true again): the statement writes nothing (the view then reads and saves as ever, and says
    why). Each is undone (or left, where the save can go on from it) before the next."""
    facts = unread_facts(audit, users["agency"])
    section = s11.section("s1")
    action = {"what": "Fix", "owner": "Lead", "due": "2030-01-02"}
    first = {"s1.1": "not-met", "s1.1-action": action}
    assert audits.save_unread(facts, section, first, set(), 0, users["agency"], "in-progress", "/p") == 1
    me = User.id == users["agency"].id
    spaced = '{"what": "Fix", "owner": "Lead", "due": "2030-01-02"}'  # equal by value, as another writer left it
    elsewhere = {
        "deactivated": (User.update(active=False).where(me), User.update(active=True).where(me)),
        "submitted": (Audit.update(status="submitted"), Audit.update(status="in-progress")),
        "cycle closed": (AuditCycle.update(is_open=False), AuditCycle.update(is_open=True)),
        "moved agency": (
            User.update(agency=users["other-agency"].agency_id).where(me),
            User.update(agency=users["agency"].agency_id).where(me),
        ),
        "made a reviewer": (User.update(role="reviewer").where(me), User.update(role="agency").where(me)),
        # the definition written (the same text): a new stamp, for all the save can tell another
        "definition written": (QuestionnaireVersion.update(definition=QuestionnaireVersion.definition), None),
        "colleague saved": (SectionState.update(revision=2).where(SectionState.section_id == "s1"), None),
    }
    if isinstance(proxy.obj, PostgresqlDatabase):  # on SQLite the save compares in Python, as save_section
        spelt = Answer.update(value=Value(spaced, converter=False)).where(Answer.question_id == "s1.1-action")
        elsewhere["spelt otherwise"] = (spelt, None)
    changed = {**first, "s1.1-narrative": "More"}
    for why, (change, undo) in elsewhere.items():
        facts = audits.audit_with_section(audit.id, "s1", users["agency"].id, "/p").facts()
        revision = section_state(audit, "s1").revision
        change.execute()
        before = (Audit.get_by_id(audit.id).revision, raw_trail(audit), load_answers(audits.response_of(audit)))
        assert (
            audits.save_unread(facts, section, changed, set(), revision, users["agency"], "completed", "/p") is None
        ), why
        after = (Audit.get_by_id(audit.id).revision, raw_trail(audit), load_answers(audits.response_of(audit)))
        assert after == before, why
        if undo is not None:
            undo.execute()
    # and with all of them true again (the action, spelt otherwise, now changed), it saves
    facts = audits.audit_with_section(audit.id, "s1", users["agency"].id, "/p").facts()
    again = {**changed, "s1.1-action": {**action, "owner": "Board lead"}}
    assert audits.save_unread(facts, section, again, set(), 2, users["agency"], "completed", "/p") == 3
    assert load_answers(audits.response_of(audit))["s1.1-action"]["owner"] == "Board lead"


def test_a_save_without_the_page_read_checks_the_facts_it_was_given(
    audit: Audit, cycle: AuditCycle, agencies: dict[str, Agency], users: dict[str, User], s11: Questionnaire
) -> None:
    """A version or a response that is not the audit's, or a revision the section is not at: nothing written."""
    import dataclasses

    other = audits.audit_for(agencies["health"], cycle, users["other-agency"])
    audits.section_states(other, s11)
    facts = unread_facts(audit, users["agency"])
    section = s11.section("s1")
    theirs = audits.response_of(other).id
    wrong = [
        (dataclasses.replace(facts, version_id=facts.version_id + 1), 0),
        (dataclasses.replace(facts, response_id=theirs), 0),
        (dataclasses.replace(facts, audit_id=other.id, response_id=theirs), 0),  # the other agency's audit
        (facts, 1),
    ]
    for given, revision in wrong:
        assert (
            audits.save_unread(given, section, {"s1.1": "met"}, set(), revision, users["agency"], "completed", "/p")
            is None
        )
    assert AuditEvent.select().where(AuditEvent.kind == SAVE_KIND).count() == 0
    assert load_answers(audits.response_of(audit)) == load_answers(audits.response_of(other)) == {}


def test_a_save_without_the_page_read_writes_nothing_when_the_audit_changes_as_it_runs(
    app: Any, audit: Audit, users: dict[str, User], s11: Questionnaire
) -> None:
    """Another server process changes one of the standard's answers (as every change to an
    audit's answers does, it bumps the audit's revision) and commits while the save waits for
    the audit's row: the answers the save's snapshot read are not current, so it writes nothing,
    rather than overwrite that change with a trail that never saw it."""
    import time

    facts = unread_facts(audit, users["agency"], postgresql_only=True)
    database = app.extensions["database"]
    response = audits.response_of(audit)
    errors: list[BaseException] = []
    changing = threading.Event()

    def other_process() -> None:
        try:
            with database.connection_context(), database.atomic():
                Audit.update(revision=Audit.revision + 1).where(Audit.id == audit.id).execute()
                Answer.create(response=response, question_id="s1.1", value="not-met")
                changing.set()
                waited = time.monotonic()
                while time.monotonic() - waited < 20:  # until the save waits for the audit's row
                    database.execute_sql("SELECT pg_stat_clear_snapshot()")
                    sql = "SELECT count(*) FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
                    if database.execute_sql(sql).fetchone()[0]:
                        break
        except BaseException as error:  # reported below
            errors.append(error)
            changing.set()

    thread = threading.Thread(target=other_process)
    thread.start()
    changing.wait(30)
    saved = audits.save_unread(facts, s11.section("s1"), {"s1.1": "met"}, set(), 0, users["agency"], "completed", "/p")
    thread.join(30)
    assert not errors, errors
    assert saved is None
    assert load_answers(response) == {"s1.1": "not-met"} and section_state(audit, "s1").revision == 0
    assert AuditEvent.select().where(AuditEvent.kind == SAVE_KIND).count() == 0


def test_a_save_without_the_page_read_leaves_text_jsonb_cannot_hold_to_save_section(
    audit: Audit, users: dict[str, User], s11: Questionnaire
) -> None:
    """A stored answer holding an escaped NUL (JSON that PostgreSQL's jsonb refuses, left by
    another writer; the app strips NULs from what people type): the statement neither fails nor
    guesses, it writes nothing, and save_section, which compares in Python, saves."""
    facts = unread_facts(audit, users["agency"], postgresql_only=True)
    response = audits.response_of(audit)
    Answer.insert(
        response=response, question_id="s1.1-narrative", value=Value('"a\\u0000b"', converter=False)
    ).execute()
    section = s11.section("s1")
    scope = audits.section_keys(section)
    for answers in ({"s1.1-narrative": "New words"}, {}):  # changed, then removed
        revision = section_state(audit, "s1").revision
        assert (
            audits.save_unread(facts, section, answers, scope, revision, users["agency"], "in-progress", "/p") is None
        )
        assert load_answers(response) == {"s1.1-narrative": "a\x00b"}
    audits.save_section(audit, section, {"s1.1-narrative": "New words"}, scope, 0, users["agency"], "in-progress")
    assert load_answers(response) == {"s1.1-narrative": "New words"}

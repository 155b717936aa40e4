"""Concern flags in the store: made with the submission, listed, handled, and their email state."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from peewee import Database

from scoring.concerns import ConcernWords
from store import concerns
from store.models import AuditEvent, ConcernFlag, QuestionnaireVersion, Response, SurveyRound, User
from store.surveys import Outcome, create_link, new_submission_key, save_page, submit

TODAY = dt.date.today()
WORRY = "My step dad hits me and I am scared to go home"


def respond(
    questionnaire_id: str, answers: dict[str, Any], band: str | None = None, key: str | None = None
) -> tuple[Response, Outcome]:
    version = QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == questionnaire_id)
    survey_round = SurveyRound.create(name="Spring round", questionnaire=version, opens_on=TODAY, closes_on=TODAY)
    link = create_link(survey_round, "Class 6 at Hill School", "device")
    draft = save_page(link, None, band, answers, (), TODAY)
    outcome = submit(link, draft.id, key or new_submission_key(), None, TODAY)
    return Response.get_by_id(draft.id), outcome


def child(text: str, band: str = "age-12-17") -> dict[str, Any]:
    return {f"safe-home.{band}": "yes", f"anything-else.{band}": text}


@pytest.fixture(autouse=True)
def shipped_words() -> None:
    concerns.use_words(concerns.default_words())


def test_a_childs_worrying_answer_is_flagged_when_it_is_submitted(db: Database) -> None:
    response, outcome = respond("child-experience", child(WORRY))
    assert outcome is Outcome.SUBMITTED
    [flag] = ConcernFlag.select()
    assert (flag.response_id, flag.question_id) == (response.id, "anything-else.age-12-17")
    assert flag.words == ["hits me", "scared to go home"]
    assert (flag.status, flag.notified_at, flag.notify_error, flag.handled_by_id) == ("new", None, None, None)


def test_a_flag_keeps_only_the_week_it_was_made_and_emailed_as_its_response_does(db: Database) -> None:
    """A flag is made in the submitting transaction: its time to the minute would be the child's."""
    response, _ = respond("child-experience", child(WORRY))
    [flag] = ConcernFlag.select()
    monday = dt.datetime.combine(response.week, dt.time())
    assert response.week.weekday() == 0 and flag.created_at == monday
    concerns.mark_notified([flag.id], at=dt.datetime(2026, 3, 5, 10, 42))
    assert ConcernFlag.get_by_id(flag.id).notified_at == dt.datetime(2026, 3, 2)


def test_family_answers_are_checked_and_practitioners_and_harmless_answers_are_not(db: Database) -> None:
    respond("family-experience", {"anything-else": "There is no food at home for the children"})
    respond("child-experience", child("I like my youth club"))
    respond("practitioner-workshop", {"do-differently": "Ask the child if anyone hits me... hurts them"})
    [flag] = ConcernFlag.select()
    assert flag.question_id == "anything-else" and flag.words == ["no food"]


def test_a_draft_is_never_flagged_only_a_submitted_response(db: Database) -> None:
    version = QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "child-experience")
    survey_round = SurveyRound.create(name="R", questionnaire=version, opens_on=TODAY, closes_on=TODAY)
    save_page(create_link(survey_round, "L", "device"), None, "age-8-11", child(WORRY, "age-8-11"), (), TODAY)
    assert ConcernFlag.select().count() == 0


def test_submitting_twice_makes_one_flag(db: Database) -> None:
    key = new_submission_key()
    response, _ = respond("child-experience", child(WORRY), key=key)
    assert submit(response.link, response.id, key, None, TODAY) is Outcome.ALREADY
    assert ConcernFlag.select().count() == 1


def test_a_flag_and_its_response_are_stored_together_or_not_at_all(db: Database, monkeypatch) -> None:
    """The flag is made inside the submitting transaction: if it cannot be stored, neither is the
    submission, so no answer is ever kept without the flag it should have had."""

    def broken(*_: Any) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr("store.surveys.flag_submitted", broken)
    with pytest.raises(RuntimeError):
        respond("child-experience", child(WORRY))
    assert Response.get().status == "draft"
    assert ConcernFlag.select().count() == 0


def test_the_check_costs_no_query_for_practitioners_and_one_without_free_text(db: Database, monkeypatch) -> None:
    """Submitting is the hot path of a survey: the check must add next to nothing to it."""
    response, _ = respond("child-experience", {"safe-home.age-12-17": "yes"}, band="age-12-17")
    workshop, _ = respond("practitioner-workshop", {"do-differently": WORRY})
    ConcernFlag.delete().execute()
    versions = (workshop.questionnaire, response.questionnaire)  # the survey pages have them already
    statements: list[str] = []
    real = type(db).execute_sql

    def counting(self: Database, sql: str, *args: Any, **kwargs: Any) -> Any:
        statements.append(sql)
        return real(self, sql, *args, **kwargs)

    monkeypatch.setattr(type(db), "execute_sql", counting)
    assert concerns.flag_submitted(workshop.id, versions[0]) == 0
    assert statements == []
    assert concerns.flag_submitted(response.id, versions[1]) == 0
    assert len(statements) == 1 and statements[0].startswith("SELECT")


def test_the_configured_list_is_the_one_used(db: Database) -> None:
    concerns.use_words(ConcernWords.from_lines(["petrified"]))
    respond("child-experience", child("I am petrified of the dark"))
    respond("child-experience", child(WORRY))
    assert [f.words for f in ConcernFlag.select()] == [["petrified"]]


def test_checking_in_bulk_finds_what_submitting_would_and_makes_no_duplicates(db: Database) -> None:
    concerns.use_words(ConcernWords.from_lines(["scared", "hits me", "no food"]))
    texts = [WORRY, "All fine", "no FOOD today", "scared"]
    responses = [respond("child-experience", child(t))[0] for t in texts]
    responses.append(respond("family-experience", {"anything-else": "scared"})[0])
    at_submission = {(f.response_id, f.question_id): f.words for f in ConcernFlag.select()}
    ConcernFlag.delete().execute()

    when = dt.datetime(2026, 3, 2, 10, 30)
    assert concerns.flag_responses([r.id for r in responses], created_at=when) == 4
    in_bulk = {(f.response_id, f.question_id): f.words for f in ConcernFlag.select()}
    assert in_bulk == at_submission and len(in_bulk) == 4
    assert {f.created_at for f in ConcernFlag.select()} == {dt.datetime(2026, 3, 2)}, "the week of `when`"
    ConcernFlag.delete().execute()
    assert concerns.flag_responses([r.id for r in responses]) == 4
    assert {f.created_at for f in ConcernFlag.select()} == {dt.datetime.combine(responses[0].week, dt.time())}
    assert concerns.flag_responses([r.id for r in responses]) == 0
    assert concerns.flag_responses([]) == 0


def test_flags_are_listed_new_first_then_newest_with_where_they_came_from(db: Database, agencies) -> None:
    made = []
    for i, text in enumerate(["scared one", "scared two", "scared three"]):
        response, _ = respond("child-experience", child(text, "age-8-11"), band="age-8-11")
        flag = ConcernFlag.get(ConcernFlag.response == response)
        flag.created_at = dt.datetime(2026, 3, 1 + i, 9)
        flag.save()
        made.append(flag)
    made[0].response.link.agency = agencies["police"]
    made[0].response.link.save()
    reviewer = User.create(email="r@example.org", name="R", password_hash="x", role="reviewer")
    concerns.set_status(made[2], "seen", "", reviewer)

    views, total = concerns.list_flags()
    assert total == 3
    assert [v.flag.id for v in views] == [made[1].id, made[0].id, made[2].id]
    first = views[1]
    assert first.answer == "scared one"
    assert first.question_text == "Is there anything else you want to tell us?"
    assert first.age_band and "8" in first.age_band
    assert first.link.label == "Class 6 at Hill School" and first.link.agency.name == "Shire Police"
    assert first.link.round.name == "Spring round"
    assert views[2].flag.handled_by.name == "R"
    assert concerns.new_count() == 2
    assert [v.flag.id for v in concerns.list_flags(page=2, per_page=2)[0]] == [made[2].id]
    assert concerns.get_flag(made[0].id).answer == "scared one"
    assert concerns.get_flag(10**9) is None


def test_marking_a_flag_is_kept_in_the_audit_trail(db: Database) -> None:
    response, _ = respond("child-experience", child(WORRY))
    flag = ConcernFlag.get()
    reviewer = User.create(email="r@example.org", name="R", password_hash="x", role="reviewer")
    assert concerns.set_status(flag, "seen", "  Read it.  ", reviewer)
    assert concerns.set_status(flag, "handled", "Passed to the school's DSL, ref 123", reviewer)
    assert not concerns.set_status(flag, "handled", "Passed to the school's DSL, ref 123", reviewer)
    with pytest.raises(ValueError):
        concerns.set_status(flag, "new", None, reviewer)
    stored = ConcernFlag.get_by_id(flag.id)
    assert (stored.status, stored.note, stored.handled_by_id) == (
        "handled",
        "Passed to the school's DSL, ref 123",
        reviewer.id,
    )
    assert stored.handled_at is not None
    events = list(AuditEvent.select().order_by(AuditEvent.id))
    assert [(e.kind, e.target, e.user_id) for e in events] == [
        ("concern-flag", f"concern-flag:{flag.id}", reviewer.id)
    ] * 2
    assert events[0].before == {"status": "new", "note": None}
    assert events[0].after == {"status": "seen", "note": "Read it."}
    assert events[1].after == {"status": "handled", "note": "Passed to the school's DSL, ref 123"}


def test_email_state_unsent_sent_and_failed(db: Database) -> None:
    first, _ = respond("child-experience", child(WORRY))
    second, _ = respond("family-experience", {"anything-else": "no food"})
    one, two = (ConcernFlag.get(ConcernFlag.response == r).id for r in (first, second))
    assert [f.id for f in concerns.unsent()] == [one, two]
    assert concerns.unsent_for(first.id) == [one]
    concerns.mark_failed([one, two], "the mail server refused the connection")
    assert [f.notify_error for f in concerns.unsent()] == ["the mail server refused the connection"] * 2
    concerns.mark_notified([one])
    assert [f.id for f in concerns.unsent()] == [two]
    assert ConcernFlag.get_by_id(one).notify_error is None
    concerns.mark_failed([one], "late failure of another attempt")
    assert ConcernFlag.get_by_id(one).notify_error is None  # sent stays sent
    assert concerns.unsent_for(first.id) == []

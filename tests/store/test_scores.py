"""Stored scores: made at submission and moderation, caught up before reading, rebuilt on demand."""

from __future__ import annotations

import pytest
from flask.testing import FlaskCliRunner
from peewee import Database

from store import scores
from store.models import (
    AnswerScore,
    Audit,
    AuditEvent,
    ItemScore,
    Moderation,
    Response,
    StandardScore,
    ThemeScore,
    User,
)
from tests import builders


@pytest.fixture
def cycle(db: Database):
    return builders.audit_cycle()


def test_submitting_an_audit_stores_its_standards_items_and_theme_sums(cycle, users: dict[str, User]) -> None:
    audit = builders.submitted_audit(users["agency"].agency, cycle, users["agency"], {"s1.2": "not-met"})
    response = Response.get(Response.audit == audit)
    assert response.scored
    standards = scores.standard_scores(audit)
    assert [s.section_id for s in standards][:2] == ["s1", "s2"]
    s1, s2 = standards[0], standards[1]
    assert s1.self_rating == "partially-met" and s1.reported_rating == "partially-met"
    assert "‘Does your board or senior team get a safeguarding report…’ is rated Not met" in s1.explanation
    assert s2.self_rating == "met" and s2.score_100 == 100.0
    items = scores.item_scores(audit)
    assert (items["s1.2"].answered, items["s1.2"].rating) == ("not-met", "not-met")
    assert items["s1.1"].evidence_count == 1
    sources = {t.source for t in ThemeScore.select().where(ThemeScore.response == response)}
    assert sources == {"self-rating"}, "no moderated rows until a reviewer moderates"


def test_a_moderation_changes_the_reported_rating_and_keeps_both(cycle, users: dict[str, User]) -> None:
    audit = builders.submitted_audit(users["agency"].agency, cycle, users["agency"])
    reviewer = users["reviewer"]
    assert scores.moderate(audit, "s2", "partially-met", "  Evidence is thin for 2.3 ", reviewer)
    s2 = next(s for s in scores.standard_scores(audit) if s.section_id == "s2")
    assert (s2.self_rating, s2.moderated_rating, s2.reported_rating, s2.rating_source) == (
        "met",
        "partially-met",
        "partially-met",
        "moderated",
    )
    row = Moderation.get((Moderation.audit == audit) & (Moderation.section_id == "s2"))
    assert (row.rating, row.note, row.by_id) == ("partially-met", "Evidence is thin for 2.3", reviewer.id)
    event = AuditEvent.get((AuditEvent.audit == audit) & (AuditEvent.kind == "moderation"))
    assert (event.target, event.before, event.after) == (
        "s2",
        None,
        {"rating": "partially-met", "note": "Evidence is thin for 2.3"},
    )
    response = Response.get(Response.audit == audit)
    assert ThemeScore.select().where((ThemeScore.response == response) & (ThemeScore.source == "moderated")).exists()
    # the same again changes nothing and adds no trail entry
    assert not scores.moderate(audit, "s2", "partially-met", "Evidence is thin for 2.3", reviewer)
    assert AuditEvent.select().where(AuditEvent.kind == "moderation").count() == 1
    # taking the rating away (a note alone) reports the agency's own rating again
    assert scores.moderate(audit, "s2", None, "Agreed after discussion", reviewer)
    s2 = next(s for s in scores.standard_scores(audit) if s.section_id == "s2")
    assert (s2.moderated_rating, s2.reported_rating) == (None, "met")


def test_a_scoring_failure_never_undoes_a_submission_and_is_caught_up_later(
    cycle, users: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("a bug in a rule")

    monkeypatch.setattr(scores, "score_audits", broken)
    audit = builders.submitted_audit(users["agency"].agency, cycle, users["agency"])
    assert Audit.get_by_id(audit.id).status == "submitted"
    assert not Response.get(Response.audit == audit).scored
    assert scores.pending_count() == 1
    monkeypatch.undo()
    assert scores.score_pending() == 1
    assert scores.pending_count() == 0
    assert len(scores.standard_scores(audit)) == 11


def test_survey_responses_are_scored_in_a_batch_when_results_are_read(db: Database, agencies) -> None:
    link = builders.survey_link(builders.survey_round("family-experience"), "Family hub", agencies["health"])
    made = builders.submitted_responses(
        link, 3, lambda i: {"told-what": ["agree", "disagree", "dont-know"][i], "told-why": "agree"}
    )
    draft_only = builders.surveys.save_page(link, None, None, {"told-what": "agree"}, (), builders.TODAY)
    assert scores.pending_count() == 3, "drafts are never scored"
    assert scores.score_pending() == 3
    assert scores.score_pending() == 0, "nothing is scored twice"
    rows = {(a.response_id, a.question_id): a for a in AnswerScore.select()}
    assert rows[(made[0].id, "told-what")].positive is True
    assert rows[(made[1].id, "told-what")].positive is False
    assert rows[(made[2].id, "told-what")].in_base is False, "don't know is out of the base"
    assert not AnswerScore.select().where(AnswerScore.response == draft_only).exists()
    themes = ThemeScore.select().where(ThemeScore.response == made[0])
    assert {t.source for t in themes} == {"family"}


def test_rebuilding_replaces_scores_rather_than_adding_to_them(cycle, users: dict[str, User], agencies) -> None:
    builders.submitted_audit(users["agency"].agency, cycle, users["agency"])
    link = builders.survey_link(builders.survey_round("family-experience"))
    builders.submitted_responses(link, 2, lambda i: {"told-what": "agree"})
    scores.score_pending()
    counts = (StandardScore.select().count(), ItemScore.select().count(), ThemeScore.select().count())
    assert scores.rescore(everything=True) == (1, 2)
    assert (StandardScore.select().count(), ItemScore.select().count(), ThemeScore.select().count()) == counts


def test_the_scores_commands(runner: FlaskCliRunner, cycle, users: dict[str, User]) -> None:
    link = builders.survey_link(builders.survey_round("family-experience"))
    builders.submitted_responses(link, 2, lambda i: {"told-what": "agree"})
    result = runner.invoke(args=["scores", "update"])
    assert result.exit_code == 0 and "Scored 2 of 2 waiting responses" in result.output
    builders.submitted_audit(users["agency"].agency, cycle, users["agency"])
    result = runner.invoke(args=["scores", "rebuild", "--cycle", cycle.name])
    assert result.exit_code == 0 and "Scored 1 audits and 0 survey responses" in result.output
    result = runner.invoke(args=["scores", "rebuild", "--cycle", "No such cycle"])
    assert result.exit_code == 1 and "There is no audit cycle called 'No such cycle'" in result.output
    assert cycle.name in result.output


def test_a_response_with_nothing_to_score_is_still_marked_scored(db) -> None:
    """A child may answer only the free-text box (every child question is optional)."""
    link = builders.survey_link(builders.survey_round("child-experience"))
    [made] = builders.submitted_responses(link, 1, lambda i: {"anything-else.age-8-11": "Nothing"}, band="age-8-11")
    assert scores.score_pending() == 1
    assert Response.get_by_id(made.id).scored and not AnswerScore.select().exists()

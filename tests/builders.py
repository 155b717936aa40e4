"""Rows the results tests need, made through the store's own functions (not by writing tables).

A submitted audit is answered, completed and submitted as an agency would; survey responses
are saved page by page and submitted with a key, as a respondent's browser would. So a test
of scores, dashboards or downloads reads what the platform really stores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any

import pytest

from questionnaires.model import Questionnaire
from store import audits, scores, surveys
from store.answers import save_answers
from store.models import (
    Agency,
    Audit,
    AuditCycle,
    QuestionnaireVersion,
    Response,
    SectionState,
    SurveyLink,
    SurveyRound,
    User,
)
from store.questionnaires import definition

TODAY = dt.date.today()


def version(questionnaire_id: str) -> QuestionnaireVersion:
    return QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == questionnaire_id)


def audit_cycle(name: str = "2026 to 2027", opens_on: dt.date | None = None, days: int = 60) -> AuditCycle:
    opens_on = opens_on or TODAY - dt.timedelta(days=10)
    return AuditCycle.create(
        name=name,
        questionnaire=version("s11-self-audit"),
        opens_on=opens_on,
        closes_on=opens_on + dt.timedelta(days=days),
    )


def met_answers(s11: Questionnaire, shortfalls: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every item answered Met with recent evidence, except the `shortfalls` given, which get actions."""
    shortfalls = shortfalls or {}
    out: dict[str, Any] = {}
    for question in s11.questions:
        if question.type == "rating":
            out[question.id] = shortfalls.get(question.id, "met")
            if question.id in shortfalls and question.action:
                out[question.action] = {"what": f"Fix {question.id}", "owner": "Lead", "due": TODAY.isoformat()}
            if question.evidence and out[question.id] == "met":
                out[question.evidence] = [
                    {"title": f"Policy for {question.id}", "type": "policy", "date": TODAY.isoformat()}
                ]
        elif question.type == "long_text":
            out[question.id] = "Words"
    return out


def complete_everything(audit: Audit, answers: Mapping[str, Any]) -> None:
    """Store the answers and mark every standard completed, as if each page had been saved."""
    save_answers(audits.response_of(audit), answers)
    SectionState.update(status="completed").where(SectionState.audit == audit).execute()


def submitted_audit(
    agency: Agency, cycle: AuditCycle, user: User, shortfalls: Mapping[str, str] | None = None
) -> Audit:
    """The agency's audit in the cycle, answered (Met unless a shortfall says otherwise) and submitted."""
    audit = audits.audit_for(agency, cycle, user)
    s11 = definition(cycle.questionnaire)
    audits.section_states(audit, s11)
    complete_everything(audit, met_answers(s11, shortfalls))
    assert audits.submit(audit, user, "I confirm")
    return Audit.get_by_id(audit.id)


def survey_round(questionnaire_id: str, name: str = "Autumn survey", opens_on: dt.date | None = None) -> SurveyRound:
    opens_on = opens_on or TODAY - dt.timedelta(days=7)
    return SurveyRound.create(
        name=name,
        questionnaire=version(questionnaire_id),
        opens_on=opens_on,
        closes_on=opens_on + dt.timedelta(days=30),
    )


def survey_link(survey: SurveyRound, label: str = "Link", agency: Agency | None = None) -> SurveyLink:
    return surveys.create_link(survey, label, "device", agency)


def submitted_responses(
    link: SurveyLink,
    n: int,
    answers: Callable[[int], Mapping[str, Any]],
    band: str | None = None,
    today: dt.date | None = None,
) -> list[Response]:
    """`n` responses through the link, the i-th with `answers(i)`, each saved and submitted once."""
    today = today or TODAY
    made = []
    for i in range(n):
        given = dict(answers(i))
        draft = surveys.save_page(link, None, band, given, given.keys(), today)
        assert surveys.submit(link, draft.id, surveys.new_submission_key(), None, today) is surveys.Outcome.SUBMITTED
        made.append(Response.get_by_id(draft.id))
    return made


@pytest.fixture
def partnership(db, agencies, users) -> SimpleNamespace:
    """Two agencies' audits (police short on s1.2, moderated down on s2), 12 police practitioners
    who do not know the safeguarding policy (R8 flags s2), 12 family and 3 child responses."""
    cycle = audit_cycle()
    police = submitted_audit(agencies["police"], cycle, users["agency"], {"s1.2": "not-met"})
    health = submitted_audit(agencies["health"], cycle, users["other-agency"])
    scores.moderate(police, "s3", "partially-met", '=HYPERLINK("http://x") <b>thin</b>', users["reviewer"])
    practitioners = survey_link(survey_round("practitioner-s11-survey"), "Police staff", agencies["police"])
    submitted_responses(practitioners, 12, lambda i: {"policy-known": "no", "dsl-known": "yes"})
    family = survey_link(survey_round("family-experience", "Families"), "Hub", agencies["health"])
    submitted_responses(
        family, 12, lambda i: {"told-what": "agree" if i % 3 else "disagree", "anything-else": "=1+1 was fine"}
    )
    child = survey_link(survey_round("child-experience", "Children"), "School")
    submitted_responses(
        child, 3, lambda i: {"safe-home.age-8-11": "always", "anything-else.age-8-11": "I like school"}, band="age-8-11"
    )
    scores.score_pending()
    return SimpleNamespace(
        cycle=cycle, police=police, health=health, practitioners=practitioners, family=family, child=child
    )

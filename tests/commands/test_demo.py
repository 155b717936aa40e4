"""`flask --app app demo`: a whole partnership, valid by the platform's own rules, made once.

The demo data is what people judge the platform by on first sight, and what the other pages
are tried on, so it is held to the rules the journeys enforce: submitted audits have nothing
left to fix, every stored answer is one the web forms would accept, every shortfall has its
action, and anonymous responses carry a week and nothing else.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import openpyxl
import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from peewee import Database

from app import create_app
from forms import build_form_class
from questionnaires import Questionnaire
from questionnaires.completeness import gaps, section_gaps
from store import demo, surveys
from store.answers import load_answers
from store.db import db as models_database
from store.models import (
    Action,
    Agency,
    Answer,
    Audit,
    AuditCycle,
    AuditEvent,
    ConcernFlag,
    QuestionnaireVersion,
    Response,
    SectionState,
    SurveyLink,
    SurveyRound,
    SurveyToken,
    User,
)
from store.questionnaires import definition
from tests.conftest import empty


def counts() -> dict[str, int]:
    models = (Agency, User, AuditCycle, Audit, SectionState, SurveyRound, SurveyLink, SurveyToken, Response)
    return {m.__name__: m.select().count() for m in (*models, Answer, Action, AuditEvent)}


def run_demo(runner: FlaskCliRunner, *args: str) -> str:
    result = runner.invoke(args=["demo", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def demo_app(database_url: str) -> Iterator[Flask]:
    """An app of this module's own, so that one demo run serves every test that only reads it
    (the `app` fixture empties the database before each test; a run takes a second or so)."""
    app = create_app(
        {
            "TESTING": True,
            "DEMO_MODE": True,
            "SECRET_KEY": "demo",
            "WTF_CSRF_ENABLED": False,
            "DATABASE_URL": database_url,
        }
    )
    app.extensions["demo_run"] = None
    yield app
    app.extensions["database"].close()


@pytest.fixture
def made(demo_app: Flask) -> Iterator[str]:
    """The output of the module's demo run, made again if another test has changed the database."""
    database = demo_app.extensions["database"]
    models_database.initialize(database)  # the models' proxy, bound to this module's app
    with database.connection_context():
        run = demo_app.extensions["demo_run"]
        if run is None or counts() != run[1]:
            empty(database)
            output = run_demo(demo_app.test_cli_runner())
            demo_app.extensions["demo_run"] = run = (output, counts())
        yield run[0]


@pytest.fixture
def demo_client(demo_app: Flask, made: str) -> FlaskClient:
    return demo_app.test_client()


def submitted_surveys(questionnaire_id: str) -> list[Response]:
    return list(
        Response.select()
        .join(QuestionnaireVersion)
        .where(
            (Response.status == "submitted")
            & Response.audit.is_null()
            & (QuestionnaireVersion.questionnaire_id == questionnaire_id)
        )
        .order_by(Response.id)
    )


def page_answers(section_ids: set[str], answers: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answers.items() if k.split("__")[0] in section_ids}


def form_problems(app: Flask, questionnaire: Questionnaire, answers: dict[str, Any], band: str | None = None) -> list:
    """What the web forms would say about the stored answers, page by page (nothing if valid),
    and any answer the forms would not give back exactly as stored."""
    encode = Answer.value.db_value
    problems: list = []
    with app.test_request_context():
        for section in questionnaire.sections_for(band):
            here = {q.id for q in section.questions}
            prior = {k: v for k, v in answers.items() if k.split("__")[0] not in here}
            # saved again as stored: an action that fell overdue keeps its date (stored_answer)
            form = build_form_class(questionnaire, section, band, prior=prior)(
                answers=answers, prior=prior, stored_answer=answers.get
            )
            if not form.validate():
                problems.append((section.id, form.error_list()))
            given = {k: encode(v) for k, v in form.answers().items()}
            stored = {k: encode(v) for k, v in page_answers(here, answers).items()}
            if given != stored:
                problems.append((section.id, "stored answers differ from what the form gives", stored, given))
    return problems


def test_prints_how_to_sign_in_as_every_user_and_the_links(made: str, demo_client: FlaskClient) -> None:
    assert f"password: {demo.PASSWORD}" in made
    assert "http://127.0.0.1:5000" in made
    for user in User.select():
        assert user.email in made
    roles = Counter(u.role for u in User.select())
    assert roles == {"agency": 2 * Agency.select().count(), "reviewer": 1, "analyst": 1, "admin": 1}
    for link in SurveyLink.select():
        assert f"http://127.0.0.1:5000/s/{link.slug}" in made

    # the printed password works for every role
    for role in ("agency", "reviewer", "analyst", "admin"):
        email = User.select().where(User.role == role).first().email
        response = demo_client.post("/sign-in", data={"email": email, "password": demo.PASSWORD})
        assert response.status_code == 302, (role, response.get_data(as_text=True))
        demo_client.post("/sign-out")


def test_agencies_in_several_sectors(made: str) -> None:
    agencies = list(Agency.select())
    assert 8 <= len(agencies) <= 12
    assert len({a.sector for a in agencies}) >= 6
    assert all(len(a.users) == 2 for a in agencies)


def test_audits_in_every_state_in_the_open_cycle_and_submitted_ones_last_year(made: str) -> None:
    current = AuditCycle.get(AuditCycle.is_open == True)  # noqa: E712
    previous = AuditCycle.get(AuditCycle.is_open == False)  # noqa: E712
    assert previous.closes_on < current.opens_on <= dt.date.today() <= current.closes_on
    assert {a.status for a in current.audits} == {"not-started", "in-progress", "submitted", "reopened"}
    assert Audit.select().where(Audit.cycle == current).count() == Agency.select().count()
    assert {a.status for a in previous.audits} == {"submitted"}
    assert previous.audits.count() >= Agency.select().count() - 1  # one agency joined this year

    for audit in Audit.select().where(Audit.status.in_(("submitted", "reopened"))):
        assert audit.submitted_at is not None and audit.submitted_by.agency_id == audit.agency_id
        assert audit.declaration
        assert {s.status for s in audit.sections} == {"completed"}
    for audit in Audit.select().where(Audit.status == "not-started"):
        assert Response.select().where(Response.audit == audit).count() == 0


def test_every_submitted_audit_has_nothing_left_to_fix_and_passes_the_forms(made: str, demo_app: Flask) -> None:
    submitted = list(Audit.select().where(Audit.status.in_(("submitted", "reopened"))))
    assert len(submitted) >= 10
    for audit in submitted:
        response = Response.get(Response.audit == audit)
        assert response.questionnaire_id == audit.cycle.questionnaire_id
        questionnaire = definition(response.questionnaire)
        answers = load_answers(response)
        assert gaps(questionnaire, answers) == [], audit.agency.name
        assert form_problems(demo_app, questionnaire, answers) == [], audit.agency.name


def test_in_progress_audits_have_completed_sections_that_are_whole_and_one_under_way(
    made: str, demo_app: Flask
) -> None:
    audits = list(Audit.select().where(Audit.status == "in-progress"))
    assert audits
    for audit in audits:
        response = Response.get(Response.audit == audit)
        questionnaire = definition(response.questionnaire)
        answers = load_answers(response)
        states = {s.section_id: s.status for s in audit.sections}
        completed = [s for s, status in states.items() if status == "completed"]
        assert completed and list(states.values()).count("in-progress") == 1
        assert len(states) < len(questionnaire.sections)
        for section_id in completed:
            assert section_gaps(questionnaire, answers, section_id) == []
        assert gaps(questionnaire, answers)  # not ready to submit yet
        assert audit.revision == sum(s.revision for s in audit.sections)
        assert len({s.updated_by_id for s in audit.sections}) == 2  # both colleagues have worked on it


def test_ratings_have_a_realistic_spread_with_evidence_not_applicable_and_old_policies(made: str) -> None:
    questionnaire = definition(AuditCycle.get(AuditCycle.is_open == True).questionnaire)  # noqa: E712
    ratings: Counter[str] = Counter()
    old_policies = reasons = 0
    three_years_ago = dt.date.today() - dt.timedelta(days=3 * 365)
    for answer in Answer.select().join(Response).where(Response.audit.is_null(False)):
        question = questionnaire.question(answer.question_id.split("__")[0])
        if answer.question_id.endswith("__reason"):
            reasons += 1
            assert len(answer.value) >= 10
        elif question.type == "rating":
            ratings[answer.value] += 1
        elif question.type == "evidence":
            old_policies += sum(
                1 for e in answer.value if e["type"] == "policy" and dt.date.fromisoformat(e["date"]) < three_years_ago
            )
    total = sum(ratings.values())
    assert 0.5 < ratings["met"] / total < 0.85
    assert ratings["partially-met"] > ratings["not-met"] > 0
    assert 0 < ratings["not-applicable"] == reasons
    assert old_policies > 0


def test_every_shortfall_in_a_submitted_audit_has_an_action_row_with_progress(made: str) -> None:
    today = dt.date.today()
    for audit in Audit.select().where(Audit.status.in_(("submitted", "reopened"))):
        answers = load_answers(Response.get(Response.audit == audit))
        planned = {k for k, v in answers.items() if k.endswith("-action")}
        shortfalls = {k for k, v in answers.items() if v in ("partially-met", "not-met")}
        assert planned == {f"{k}-action" for k in shortfalls}
        assert {a.question_id for a in audit.actions} == planned
    actions = list(Action.select())
    assert any(a.progress == 100 for a in actions)
    assert any(0 < a.progress < 100 for a in actions)
    assert any(a.due < today and a.progress < 50 for a in actions), "no overdue action to show in red"
    assert any(a.due >= today for a in actions)


def test_the_trail_records_submissions_reopenings_and_progress(made: str) -> None:
    events = Counter((e.kind, e.target if e.kind != "audit" else "audit:") for e in AuditEvent.select())
    submitted = Audit.select().where(Audit.status.in_(("submitted", "reopened"))).count()
    assert events[("status", "audit")] == submitted
    assert events[("audit", "audit:")] == Audit.select().where(Audit.status == "reopened").count()
    assert sum(n for (kind, _), n in events.items() if kind == "action") == Action.select().count()
    assert sum(n for (kind, _), n in events.items() if kind == "action-progress") > 0
    assert all(e.user_id is not None for e in AuditEvent.select())


def test_nothing_is_dated_after_now(made: str) -> None:
    """Whatever time of day the demo is made, nobody has done anything later than now."""
    now = min(dt.datetime.now(), dt.datetime.now(dt.UTC).replace(tzinfo=None))
    stamps = [
        *(e.at for e in AuditEvent.select()),
        *(s.updated_at for s in SectionState.select()),
        *(a.updated_at for a in Action.select()),
        *(a.submitted_at for a in Audit.select().where(Audit.submitted_at.is_null(False))),
    ]
    assert stamps and max(stamps) < now
    assert max(t.used_on for t in SurveyToken.select().where(SurveyToken.used_on.is_null(False))) <= now.date()


def test_a_few_hundred_anonymous_responses_valid_and_carrying_only_a_week(made: str, demo_app: Flask) -> None:
    today = dt.date.today()
    practitioner = submitted_surveys("practitioner-s11-survey")
    child = submitted_surveys("child-experience")
    family = submitted_surveys("family-experience")
    assert len(practitioner) >= 250 and len(child) >= 150 and len(family) >= 50
    assert set(Counter(r.age_band for r in child)) == {"age-4-7", "age-8-11", "age-12-17"}
    assert submitted_surveys("practitioner-workshop")

    for response in Response.select().where(Response.audit.is_null()):
        assert response.status == "submitted" and re.fullmatch(r"[0-9a-f]{32}", response.submission_key)
        assert response.week.weekday() == 0 and today - dt.timedelta(days=120) < response.week <= today
        assert response.link_id is not None
    weeks = {r.week for r in practitioner}
    assert len(weeks) >= 8  # spread over the last few months

    # a sample of each questionnaire passes the web forms and its completeness check
    for responses in (practitioner[:15], child[::20], family[:10], submitted_surveys("practitioner-workshop")[:10]):
        for response in responses:
            questionnaire = definition(response.questionnaire)
            answers = load_answers(response)
            assert gaps(questionnaire, answers, response.age_band) == []
            assert form_problems(demo_app, questionnaire, answers, response.age_band) == []


def test_some_agencies_practitioners_disagree_with_their_met_rating(made: str) -> None:
    """Triangulation (R8) has something to flag: a standard the agency rates Met (all its items
    Met) while fewer than 80% of at least 5 of its practitioners answer the matching question
    positively; and something not to flag."""
    survey = definition(QuestionnaireVersion.get(questionnaire_id="practitioner-s11-survey"))
    current = AuditCycle.get(AuditCycle.is_open == True)  # noqa: E712
    s11 = definition(current.questionnaire)
    matching = {q.matches.section: q for q in survey.questions if q.matches}
    flagged, agreed = set(), set()
    for audit in Audit.select().where((Audit.status == "submitted") & (Audit.cycle == current)):
        answers = load_answers(Response.get(Response.audit == audit))
        links = SurveyLink.select().where(SurveyLink.agency == audit.agency)
        staff = Response.select().where(Response.link.in_(links) & (Response.status == "submitted"))
        for section in s11.sections:
            ratings = [answers.get(q.id) for q in section.questions if q.type == "rating"]
            question = matching.get(section.id)
            if question is None or any(r != "met" for r in ratings):
                continue
            given = [
                a.value for a in Answer.select().where(Answer.response.in_(staff) & (Answer.question_id == question.id))
            ]
            based = [v for v in given if question.option(v) is not None and question.option(v).in_base]
            if len(based) < 5:
                continue
            share = sum(question.option(v).positive for v in based) / len(based)
            (flagged if share < 0.8 else agreed).add((audit.agency.name, section.id))
    assert len({agency for agency, _ in flagged}) >= 2, flagged
    assert agreed


def test_single_use_codes_are_stored_as_hashes_and_the_printed_ones_work(made: str) -> None:
    link = SurveyLink.get(SurveyLink.mode == "tokens")
    used = SurveyToken.select().where((SurveyToken.link == link) & SurveyToken.used_on.is_null(False)).count()
    assert used == Response.select().where(Response.link == link).count() > 0
    printed = re.findall(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b", made)
    assert len(printed) >= 3
    for code in printed:
        assert surveys.usable_code(link, code) == surveys.normalise_code(code)
        assert code not in {t.token_hash for t in SurveyToken.select()}


def test_a_second_run_adds_nothing(runner: FlaskCliRunner, db: Database) -> None:
    run_demo(runner)
    before = counts()
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert "The demo data is already there" in again.output
    assert counts() == before


def test_reset_with_yes_empties_and_recreates_the_same_data(runner: FlaskCliRunner, db: Database) -> None:
    run_demo(runner)
    before = counts()
    first_slugs = sorted(link.slug for link in SurveyLink.select())
    Agency.create(name="Not part of the demo", sector="other")
    again = runner.invoke(args=["demo", "--reset", "--yes"])
    assert again.exit_code == 0, again.output
    assert "Deleted everything in the database." in again.output
    assert counts() == before
    assert not Agency.select().where(Agency.name == "Not part of the demo").exists()
    assert sorted(link.slug for link in SurveyLink.select()) == first_slugs  # same seed, same data


def test_another_seed_gives_other_data(runner: FlaskCliRunner, db: Database) -> None:
    run_demo(runner)
    slugs = {link.slug for link in SurveyLink.select()}
    again = runner.invoke(args=["demo", "--reset", "--yes", "--seed", "12"])
    assert again.exit_code == 0, again.output
    assert not slugs & {link.slug for link in SurveyLink.select()}


def test_reset_asks_first_and_keeps_everything_when_the_answer_is_no(runner: FlaskCliRunner, db: Database) -> None:
    run_demo(runner)
    before = counts()
    refused = runner.invoke(args=["demo", "--reset"], input="n\n")
    assert refused.exit_code == 1
    assert "Continue?" in refused.output
    assert counts() == before


def test_an_empty_database_with_no_questionnaires_is_filled_too(runner: FlaskCliRunner, db: Database) -> None:
    """The command stores the shipped questionnaires itself: `demo` is the README's first command."""
    QuestionnaireVersion.delete().execute()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert QuestionnaireVersion.select().count() == 5
    assert Audit.select().count() > 0


def test_generated_answers_follow_the_agency_plan() -> None:
    """Pure generation: a plan with a standard that does not apply gives not applicable with a
    reason there, and never on a mandatory item."""
    import random

    from questionnaires import load_all

    questionnaire = load_all()["s11-self-audit"]
    plan = next(p for p in demo.AGENCIES if p.not_applicable)
    answers = demo.audit_answers(questionnaire, random.Random(1), plan, dt.date(2025, 5, 1))
    by_section: dict[str, set[str]] = defaultdict(set)
    for question in questionnaire.questions:
        if question.type == "rating":
            by_section[question.section_id].add(answers[question.id])
            if question.mandatory:
                assert answers[question.id] != "not-applicable"
    for section_id in plan.not_applicable:
        assert by_section[section_id] == {"not-applicable"}
    assert gaps(questionnaire, answers) == []


def test_a_few_worrying_answers_are_flagged_for_the_safeguarding_lead(made: str, demo_client: FlaskClient) -> None:
    """The lead's page of flags is not empty: children's and a parent's worrying answers, flagged
    as submitting them would, dated in the week they were given, one already read."""
    flags = list(ConcernFlag.select().order_by(ConcernFlag.id))
    assert len(flags) == 3 and "3 flags of words of concern" in made
    assert [f.status for f in flags] == ["seen", "new", "new"]
    audiences = [f.response.questionnaire.audience for f in flags]
    assert audiences == ["child", "child", "family"]
    now = min(dt.datetime.now(), dt.datetime.now(dt.UTC).replace(tzinfo=None))
    for flag in flags:
        assert flag.words and flag.response.week <= flag.created_at.date() < now.date()
    assert flags[0].handled_by.role == "reviewer" and flags[0].created_at < flags[0].handled_at < now
    assert AuditEvent.get(AuditEvent.target == f"concern-flag:{flags[0].id}").after["status"] == "seen"

    reviewer = User.get(User.role == "reviewer")
    demo_client.post("/sign-in", data={"email": reviewer.email, "password": demo.PASSWORD})
    assert "2 new flags" in demo_client.get("/review/").get_data(as_text=True)
    page = demo_client.get("/review/concerns/").get_data(as_text=True)
    assert page.count("<mark>") >= 3 and "<mark>hits me</mark>" in page
    demo_client.post("/sign-out")


def test_an_analyst_downloads_every_file_the_downloads_page_offers(made: str, demo_client: FlaskClient) -> None:
    """Every cycle's and round's files, in every format, as the analyst's downloads page links
    them: each a whole file that reads back with one header of distinct columns. (The workshop
    asks practitioners their sector, beside the response's agency's: its wide file once had two
    columns of that name and stopped after its header, a 200 with no rows.)"""
    analyst = User.get(User.role == "analyst")
    demo_client.post("/sign-in", data={"email": analyst.email, "password": demo.PASSWORD})
    page = demo_client.get("/results/downloads").get_data(as_text=True)
    links = sorted(set(re.findall(r'href="(/results/downloads/[^"]+)"', page)))
    rounds = [r.id for r in SurveyRound.select()]
    assert len(rounds) == 4 and all(f"round={r}" in " ".join(links) for r in rounds)
    assert len(links) > 40
    for link in links:
        response = demo_client.get(link.replace("&amp;", "&"))
        assert response.status_code == 200, link
        body = response.get_data()
        if ".xlsx" in link:
            book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
            header, *rows = book.worksheets[0].iter_rows(values_only=True)
        elif ".json" in link:
            parsed = json.loads(body)
            rows = parsed["rows"] if isinstance(parsed, dict) else parsed
            header = tuple(rows[0]) if rows else ()
        else:
            table = pd.read_csv(io.BytesIO(body), encoding="utf-8-sig")
            header, rows = tuple(table.columns), table.to_numpy().tolist()
        assert len(set(header)) == len(header), (link, header)
        assert rows, link
    demo_client.post("/sign-out")

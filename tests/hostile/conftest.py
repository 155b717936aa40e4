"""One app per test module for the hostile-input properties.

Hypothesis runs a test body many times; the suite's `app` fixture is per test, so each module
here builds its own app on the session's database once, empties it, and fills it with what the
forms need: agencies, users, an open audit cycle with the police agency's audit, a submitted
audit with actions, and a survey round with a link for every shipped survey.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from accounts.passwords import hash_password
from app import create_app
from store import surveys
from store.models import Action, Agency, Audit, AuditCycle, QuestionnaireVersion, SurveyLink, SurveyRound, User
from store.questionnaires import sync_shipped
from tests.conftest import PASSWORD, empty, sign_in_as

TODAY = dt.date.today()
SURVEYS = ("practitioner-s11-survey", "practitioner-workshop", "child-experience", "family-experience")


@dataclass
class World:
    app: Flask
    users: dict[str, User]
    agencies: dict[str, Agency]
    audit: Audit | None = None
    submitted: Audit | None = None
    links: dict[str, SurveyLink] = field(default_factory=dict)
    code_link: SurveyLink | None = None
    clients: dict[str, FlaskClient] = field(default_factory=dict)

    def signed_in(self, key: str) -> FlaskClient:
        """A client signed in as one of the users, kept for the module (sign-in is slow)."""
        if key not in self.clients:
            self.clients[key] = sign_in_as(self.app.test_client(), self.users[key])
        return self.clients[key]


def _version(questionnaire_id: str) -> QuestionnaireVersion:
    return QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == questionnaire_id)


@pytest.fixture(scope="module")
def world(database_url: str) -> Iterator[World]:
    app = create_app(
        {
            "TESTING": True,
            "DEMO_MODE": True,
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "DATABASE_URL": database_url,
            "RATELIMIT_ENABLED": False,  # hundreds of wrong codes on purpose; the rate limits have their own tests
        }
    )
    database = app.extensions["database"]
    empty(database)
    hashed = hash_password(PASSWORD)
    with database.connection_context():
        sync_shipped(app.extensions["questionnaires"])
        agencies = {
            "police": Agency.create(name="Shire Police", sector="police"),
            "health": Agency.create(name="Shire Community Health", sector="health"),
        }
        users = {
            key: User.create(
                email=f"{key}@example.org", name=key.title(), password_hash=hashed, role=role, agency=agency
            )
            for key, role, agency in [
                ("agency", "agency", agencies["police"]),
                ("health", "agency", agencies["health"]),
                ("admin", "admin", None),
            ]
        }
        cycle = AuditCycle.create(
            name="This year's self-audit",
            questionnaire=_version("s11-self-audit"),
            opens_on=TODAY - dt.timedelta(days=30),
            closes_on=TODAY + dt.timedelta(days=60),
        )
        submitted = Audit.create(cycle=cycle, agency=agencies["health"], status="submitted")
        for n, question_id in enumerate(["s1.1-action", "s2.1-action", "s3.1-action"]):
            Action.create(
                audit=submitted,
                question_id=question_id,
                what=f"Action {n + 1}",
                owner="Head of safeguarding",
                due=TODAY + dt.timedelta(days=30 * (n - 1)),
            )
        links = {}
        for questionnaire_id in SURVEYS:
            survey_round = SurveyRound.create(
                name=f"{questionnaire_id} round",
                questionnaire=_version(questionnaire_id),
                opens_on=TODAY - dt.timedelta(days=7),
                closes_on=TODAY + dt.timedelta(days=30),
            )
            links[questionnaire_id] = surveys.create_link(survey_round, f"{questionnaire_id} link", "device")
        code_link = surveys.create_link(links["child-experience"].round, "Class 4 codes", "tokens")
        surveys.create_codes(code_link, 3)
    world = World(app, users, agencies, submitted=submitted, links=links, code_link=code_link)
    with database.connection_context():
        assert world.signed_in("agency").get("/audit/").status_code == 200  # makes the audit
        world.audit = Audit.get((Audit.cycle == cycle) & (Audit.agency == agencies["police"]))
    yield world
    if not database.is_closed():
        database.close()


def body(response: Any) -> str:
    return response.get_data(as_text=True)

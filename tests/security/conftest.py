"""Fixtures of the hostile-input tests: the app with CSRF protection on, as it runs outside the
tests, and a small world with something behind every POST route."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask

from store import audits as store_audits
from store import surveys
from store.models import Action, Agency, Audit, AuditCycle, Draft, QuestionnaireVersion, SurveyRound, User
from tests.security.world import TODAY, make_link


@pytest.fixture
def csrf_app(app: Flask) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = True
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a 500 shows as a 500, not as an exception here
    return app


@pytest.fixture
def world(app: Flask, db: Any, agencies: dict[str, Agency], users: dict[str, User]) -> dict[str, Any]:
    s11 = QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "s11-self-audit")
    cycle = AuditCycle.create(
        name="2026 to 2027", questionnaire=s11, opens_on=TODAY, closes_on=TODAY + dt.timedelta(days=90), is_open=True
    )
    own = store_audits.audit_for(agencies["police"], cycle, users["agency"])
    other = store_audits.audit_for(agencies["health"], cycle, users["other-agency"])
    Audit.update(status="submitted").where(Audit.id == other.id).execute()
    action = Action.create(
        audit=own, question_id="s1.1-action", what="Train managers", owner="Head of safeguarding", due=TODAY
    )
    Draft.create(user=users["agency"], path=f"/audit/{own.id}/s1", form=[["s1.1-narrative", "draft"]], base_revision=0)
    workshop = make_link("practitioner-workshop")
    codes_link = make_link("practitioner-workshop", mode="tokens")
    return {
        "users": users,
        "agencies": agencies,
        "cycle": cycle,
        "own": own,
        "other": Audit.get_by_id(other.id),
        "action": action,
        "round": SurveyRound.get_by_id(workshop.round_id),
        "workshop": workshop,
        "codes_link": codes_link,
        "codes": surveys.create_codes(codes_link, 3),
        "family": make_link("family-experience"),
        "child": make_link("child-experience"),
        "s11": s11,
    }

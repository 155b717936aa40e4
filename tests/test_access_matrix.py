"""The access matrix: every role x every route (and so every kind of object) x read and write.

Each route of the app is requested as each role, GET and POST where the route takes them, with
real ids: the signed-in agency user's own audit and another agency's audit, and the cycle,
round, link (with single-use codes), user, agency and questionnaire version of the database. What must hold:
- never a 500, for anyone, anywhere;
- administrator pages: administrators only; everyone else signed in gets 404, visitors sign in;
- review pages: reviewers and administrators, for the audits they may read (and the flags of
  words of concern, which hold children's own words);
- audit pages: only users of the audit's own agency; other agencies and other roles get 404
  (the same answer as for an id that does not exist); visitors are sent to sign in;
- public pages (start page, sign in, preview in demo mode, anonymous surveys) answer everyone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from store.models import (
    Agency,
    Answer,
    Audit,
    AuditCycle,
    ConcernFlag,
    QuestionnaireVersion,
    Response,
    SurveyRound,
    User,
)
from store.surveys import create_link
from tests.conftest import sign_in_as

ROLES = ["visitor", "agency", "reviewer", "analyst", "admin"]
SKIP = {"static", "pages.assets", "auth.sign_out"}  # signing out mid-run is tested in test_auth


@pytest.fixture
def world(db, agencies: dict[str, Agency], users: dict[str, User]) -> dict[str, Any]:
    s11 = QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "s11-self-audit")
    workshop = QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "practitioner-workshop")
    today = dt.date.today()
    cycle = AuditCycle.create(
        name="2026 to 2027", questionnaire=s11, opens_on=today, closes_on=today + dt.timedelta(days=90)
    )
    own = Audit.create(cycle=cycle, agency=agencies["police"])  # the agency user's, not submitted
    other = Audit.create(cycle=cycle, agency=agencies["health"], status="submitted")
    survey_round = SurveyRound.create(
        name="Workshop", questionnaire=workshop, opens_on=today, closes_on=today + dt.timedelta(days=30)
    )
    link = create_link(survey_round, "Neglect workshop", "device")
    codes = create_link(survey_round, "Neglect workshop (codes)", "tokens")
    child = QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "child-experience")
    children = SurveyRound.create(name="Children", questionnaire=child, opens_on=today, closes_on=today)
    child_link = create_link(children, "Hill School", "device")
    flagged = Response.create(questionnaire=child, link=child_link, age_band="age-8-11", status="submitted")
    Answer.create(response=flagged, question_id="safe-home.age-8-11", value="never")
    Answer.create(response=flagged, question_id="anything-else.age-8-11", value="He hurt me")
    flag = ConcernFlag.create(response=flagged, question_id="anything-else.age-8-11", words=["hurt"])
    return {
        "flag": flag,
        "codes": codes,
        "users": users,
        "own": own,
        "other": other,
        "cycle": cycle,
        "round": survey_round,
        "link": link,
        "version": s11,
        "agency": agencies["health"],
    }


def _values(rule: Any, world: dict[str, Any], audit: Audit) -> dict[str, Any]:
    known = {
        "audit_id": audit.id,
        "section_id": "s1",
        "cycle_id": world["cycle"].id,
        "round_id": world["round"].id,
        "link_id": world["codes"].id,
        "user_id": world["users"]["colleague"].id,
        "agency_id": world["agency"].id,
        "version_id": world["version"].id,
        "questionnaire_id": "s11-self-audit",
        "slug": world["link"].slug,
        "code": "ABCDEFGH",
        "flag_id": world["flag"].id,
        "filename": "govuk-frontend.min.css",
        "kind": "themes",
        "fmt": "csv",
    }
    values = {}
    for name in rule.arguments:
        if name == "change":
            values[name] = (
                sorted(rule._converters[name].items)[0] if hasattr(rule._converters[name], "items") else "close"
            )
        else:
            values[name] = known[name]
    return values


def _requests(app: Flask, world: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(endpoint, method, url, whose audit) for every route, with both audits where it takes one."""
    out = []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if rule.endpoint in SKIP:
                continue
            audits = (
                [("own", world["own"]), ("other", world["other"])]
                if "audit_id" in rule.arguments
                else [("none", world["own"])]
            )
            for whose, audit in audits:
                url = app.url_for(rule.endpoint, **_values(rule, world, audit))
                for method in sorted(rule.methods & {"GET", "POST"}, reverse=True):  # GET before POST
                    out.append((rule.endpoint, method, url, whose))
    # state-changing administrator actions last, so they do not change what earlier requests see
    return sorted(out, key=lambda r: (r[1] == "POST" and r[0].startswith("admin."), r[0]))


# who may read an audit, written out here rather than taken from accounts/access.py, so that a
# mistake there shows up: the agency's own users; reviewers and analysts once it is submitted;
# administrators always
READS = {
    ("agency", "own"): True,
    ("agency", "other"): False,
    ("reviewer", "own"): False,
    ("reviewer", "other"): True,
    ("analyst", "own"): False,
    ("analyst", "other"): True,
    ("admin", "own"): True,
    ("admin", "other"): True,
}


def _expected(endpoint: str, role: str, whose: str) -> str:
    """'allowed', 'refused' (404), 'sign-in' (redirect) or 'any' (answers, but no rule on how).

    Whoever may not read an audit gets 404, as for an id that does not exist; whoever may read it
    but not change it is answered without a 404 (a read-only page, or 409 for a change).
    """
    area = endpoint.split(".")[0]
    if area == "admin":
        return "sign-in" if role == "visitor" else "allowed" if role == "admin" else "refused"
    if area in ("review", "concerns"):  # concerns: a child's words, for the reviewers' eyes only
        if role == "visitor":
            return "sign-in"
        if role not in ("reviewer", "admin"):
            return "refused"
        return "allowed" if whose == "none" or READS[(role, whose)] else "refused"
    if area == "audits":
        if role == "visitor":
            return "sign-in-or-401"
        if whose == "none":
            return "allowed" if role == "agency" else "refused"
        return "allowed" if READS[(role, whose)] else "refused"
    return "any"


def _verdict(response: Any) -> str:
    location = response.headers.get("Location", "")
    if response.status_code >= 500:
        return "error"
    if response.status_code in (302, 303) and "/sign-in" in location:
        return "sign-in"
    if response.status_code == 401:
        return "401"
    if response.status_code in (403, 404):
        return "refused"
    return "allowed"


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(app: Flask, world: dict[str, Any], role: str) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client: FlaskClient = app.test_client()
    if role != "visitor":
        sign_in_as(client, world["users"][role])
    wrong = []
    for endpoint, method, url, whose in _requests(app, world):
        response = client.open(url, method=method, data={} if method == "POST" else None)
        got = _verdict(response)
        want = _expected(endpoint, role, whose)
        ok = got != "error" and (
            want == "any" or got == want or (want == "sign-in-or-401" and got in ("sign-in", "401"))
        )
        if not ok:
            wrong.append(f"{role} {method} {url} ({endpoint}, {whose}): got {got} {response.status_code}, want {want}")
        response.close()
    assert not wrong, "\n".join(wrong)

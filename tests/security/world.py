"""What the hostile-input tests share: survey links, the forms on a page, and a snapshot of every
table (to show that a refused request changed nothing)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from peewee import Database

from store import surveys
from store.models import MODELS, QuestionnaireVersion, SurveyLink, SurveyRound, User
from store.questionnaires import definition
from tests.conftest import PASSWORD

TODAY = dt.date.today()
ROLE_OF_AREA = {"admin": "admin", "review": "reviewer", "moderation": "reviewer", "audits": "agency"}


def make_link(questionnaire_id: str, mode: str = "device", label: str = "Workshop at the library") -> SurveyLink:
    today = dt.date.today()
    survey_round = SurveyRound.create(
        name="Spring round",
        questionnaire=QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == questionnaire_id),
        opens_on=today - dt.timedelta(days=3),
        closes_on=today + dt.timedelta(days=3),
    )
    return surveys.create_link(survey_round, label, mode)


class _Forms(HTMLParser):
    """Every <form>: its action, method and the (name, value) pairs a browser would send as is
    (hidden and text inputs, textareas, checked boxes and radios)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._textarea: list[Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get"), "fields": []})
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button", "file"):
                self.forms[-1]["fields"].append((a["name"], a.get("value", "")))
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], ""]

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None and self.forms:
            name, value = self._textarea
            self.forms[-1]["fields"].append((name, value.removeprefix("\n")))
            self._textarea = None


def forms_on(html: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    parser.close()
    return parser.forms


def csrf_token_on(html: str) -> str:
    """The page's CSRF token (the first form that has one)."""
    for form in forms_on(html):
        for name, value in form["fields"]:
            if name == "csrf_token":
                return value
    raise AssertionError("no CSRF token on the page")


def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order: equal snapshots mean nothing was stored."""
    out = {}
    with database.connection_context():
        for model in MODELS:
            rows = model.select().tuples()
            out[model._meta.table_name] = sorted((tuple(map(repr, row)) for row in rows), key=repr)
    return out


def changed_tables(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


# --- a form for every POST route, as the page would post it ----------------------------------


def sign_in(client: FlaskClient, user: User) -> None:
    """Through the real form, with its token when CSRF protection is on."""
    page = client.get("/sign-in").get_data(as_text=True)
    token = {"csrf_token": csrf_token_on(page)} if 'name="csrf_token"' in page else {}
    response = client.post("/sign-in", data={"email": user.email, "password": PASSWORD, **token})
    assert response.status_code == 302, response.get_data(as_text=True)


def page_form(client: FlaskClient, url: str) -> dict[str, str]:
    """The fields the page's main form would post as it stands (its token left out)."""
    forms = [f for f in forms_on(client.get(url).get_data(as_text=True)) if f["method"] == "post"]
    fields = max(forms, key=lambda f: len(f["fields"]))["fields"] if forms else []
    return {k: v for k, v in fields if k != "csrf_token"}


def date_parts(prefix: str, day: dt.date) -> dict[str, str]:
    return {f"{prefix}-day": str(day.day), f"{prefix}-month": str(day.month), f"{prefix}-year": str(day.year)}


def s11_section(w: dict[str, Any], client: FlaskClient) -> dict[str, str]:
    data = page_form(client, f"/audit/{w['own'].id}/s1")
    for question in definition(w["s11"]).section("s1").questions:
        if question.type == "rating":
            data[question.id] = "met"
        elif question.type == "long_text":
            data[question.id] = "The board reviews this every year."
        elif question.type == "evidence":
            row = f"{question.id}__0__"
            data.update({row + "title": "Policy", row + "type": question.evidence_types[0].value})
            data.update(date_parts(row + "date", TODAY - dt.timedelta(days=5)))
    return data | {"section-completed": "yes", "save": "continue"}


def survey_check(w: dict[str, Any], client: FlaskClient) -> dict[str, str]:
    return page_form(client, f"/s/{w['family'].slug}/check")


def answer_family_page(w: dict[str, Any], client: FlaskClient) -> None:
    url = f"/s/{w['family'].slug}/q/about-you"
    token = csrf_token_on(client.get(url).get_data(as_text=True))
    assert client.post(url, data={"anything-else": "Kind staff", "csrf_token": token}).status_code == 303


def period(version: str, name: str) -> Callable[[dict[str, Any], FlaskClient], dict[str, str]]:
    def data(w: dict[str, Any], client: FlaskClient) -> dict[str, str]:
        row = QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == version)
        return {
            "name": name,
            "questionnaire": str(row.id),
            **date_parts("opens_on", TODAY),
            **date_parts("closes_on", TODAY + dt.timedelta(days=30)),
            "open_now": "no",
        }

    return data


def new_definition(w: dict[str, Any], client: FlaskClient) -> dict[str, str]:
    shipped = Path(__file__).resolve().parents[2] / "questionnaires" / "definitions" / "practitioner-workshop.json"
    data = json.loads(shipped.read_text())
    data["version"] = 99
    return {"text": json.dumps(data)}


@dataclass
class Case:
    role: str  # a key of the users fixture, or "visitor"
    url: Callable[[dict[str, Any]], str]
    data: Callable[[dict[str, Any], FlaskClient], dict[str, str]] = lambda w, c: {}
    changes: bool = True  # with the page's own token, the post changes the database
    before: Callable[[dict[str, Any], FlaskClient], None] | None = None
    page: Callable[[dict[str, Any]], str] | None = None  # the page holding the form, when not `url`


CASES: dict[str, Case] = {
    "admin.new_agency": Case(
        "admin", lambda w: "/admin/agencies/new", lambda w, c: {"name": "Forged", "sector": "police"}
    ),
    "admin.edit_agency": Case(
        "admin",
        lambda w: f"/admin/agencies/{w['agencies']['health'].id}",
        lambda w, c: {"name": "Renamed", "sector": "health"},
    ),
    "admin.cycle_open": Case("admin", lambda w: f"/admin/cycles/{w['cycle'].id}/close"),
    "admin.reopen": Case("admin", lambda w: f"/admin/cycles/{w['cycle'].id}/audits/{w['other'].id}/reopen"),
    "admin.new_cycle": Case("admin", lambda w: "/admin/cycles/new", period("s11-self-audit", "Forged cycle")),
    "admin.link_active": Case("admin", lambda w: f"/admin/links/{w['workshop'].id}/deactivate"),
    # hides codes just shown (the session forgets them): nothing stored either way
    "admin.link_codes": Case("admin", lambda w: f"/admin/links/{w['codes_link'].id}/codes", changes=False),
    "admin.add_codes": Case(
        "admin", lambda w: f"/admin/links/{w['codes_link'].id}/codes/new", lambda w, c: {"count": "3"}
    ),
    "admin.new_questionnaire": Case("admin", lambda w: "/admin/questionnaires/new", new_definition),
    "admin.round_open": Case("admin", lambda w: f"/admin/rounds/{w['round'].id}/close"),
    "admin.new_link": Case(
        "admin",
        lambda w: f"/admin/rounds/{w['round'].id}/links/new",
        lambda w, c: {"label": "Forged", "mode": "device"},
    ),
    "admin.new_round": Case("admin", lambda w: "/admin/rounds/new", period("practitioner-workshop", "Forged round")),
    "admin.edit_user": Case(
        "admin",
        lambda w: f"/admin/users/{w['users']['colleague'].id}",
        lambda w, c: {"name": "Renamed", "role": "agency", "agency": str(w["agencies"]["police"].id)},
    ),
    "admin.user_active": Case("admin", lambda w: f"/admin/users/{w['users']['colleague'].id}/deactivate"),
    "admin.user_password": Case(
        "admin",
        lambda w: f"/admin/users/{w['users']['colleague'].id}/password",
        lambda w, c: {"password": "a brand new long password"},
    ),
    "admin.new_user": Case(
        "admin",
        lambda w: "/admin/users/new",
        lambda w, c: {"email": "new@example.org", "name": "New", "role": "analyst", "password": "long enough password"},
    ),
    "audits.standard": Case("agency", lambda w: f"/audit/{w['own'].id}/s1", s11_section),
    "audits.discard": Case(
        "agency", lambda w: f"/audit/{w['own'].id}/s1/discard", page=lambda w: f"/audit/{w['own'].id}/s1"
    ),
    "audits.draft": Case(
        "agency",
        lambda w: f"/audit/{w['own'].id}/s1/draft",
        lambda w, c: {"revision": "0", "s1.1-narrative": "x"},
        page=lambda w: f"/audit/{w['own'].id}/s1",
    ),
    "audits.actions": Case(
        "agency",
        lambda w: f"/audit/{w['own'].id}/actions",
        lambda w, c: page_form(c, f"/audit/{w['own'].id}/actions") | {f"progress-{w['action'].id}": "60"},
    ),
    # no earlier audit to copy from, and unanswered standards: the page's token changes nothing either
    "audits.carry_forward": Case(
        "agency", lambda w: f"/audit/{w['own'].id}/carry-forward", changes=False, page=lambda w: "/audit/"
    ),
    "audits.submit": Case(
        "agency",
        lambda w: f"/audit/{w['own'].id}/submit",
        lambda w, c: {"declaration": "confirmed"},
        changes=False,
        page=lambda w: f"/audit/{w['own'].id}/check",
    ),
    "preview.section": Case(
        "visitor", lambda w: "/preview/family-experience/about-you", lambda w, c: {"anything-else": "x"}, changes=False
    ),
    "review.reopen": Case("reviewer", lambda w: f"/review/audits/{w['other'].id}/reopen"),
    # a right code is kept in the session, not the database: the refusal is on the page
    "surveys.start": Case(
        "visitor", lambda w: f"/s/{w['codes_link'].slug}", lambda w, c: {"code": w["codes"][0]}, changes=False
    ),
    "surveys.age": Case(
        "visitor", lambda w: f"/s/{w['child'].slug}/age", lambda w, c: {"band": "age-8-11"}, changes=False
    ),
    "surveys.section": Case(
        "visitor", lambda w: f"/s/{w['family'].slug}/q/about-you", lambda w, c: {"anything-else": "Kind staff"}
    ),
    "surveys.check": Case("visitor", lambda w: f"/s/{w['family'].slug}/check", survey_check, before=answer_family_page),
    "auth.sign_in": Case(
        "visitor", lambda w: "/sign-in", lambda w, c: {"email": w["users"]["analyst"].email, "password": PASSWORD}
    ),
}

"""Hostile posts to every administration form that takes typing: agencies, users, passwords,
audit cycles, survey rounds, anonymous links, codes and questionnaire uploads.

The properties: never a 500; a redirect (the change was made) or the form again with a GOV.UK
error summary; and every row in the database afterwards is one the forms allow (names within
their limits and without NUL, choices among those offered, closing after opening, a stored
questionnaire that loads).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from questionnaires import DefinitionError
from store.admin import SURVEY_AUDIENCES
from store.models import (
    ROLES,
    SECTORS,
    Agency,
    AuditCycle,
    QuestionnaireVersion,
    SurveyLink,
    SurveyRound,
    SurveyToken,
    User,
)
from store.questionnaires import definition
from store.surveys import MODES
from tests.hostile.conftest import World, body
from tests.hostile.hostile_values import Pair, encode, hostile_value, post

DEFINITIONS = Path(__file__).resolve().parents[2] / "questionnaires" / "definitions"
ERROR_SUMMARY = 'class="govuk-error-summary"'
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
HOSTILE = settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "40")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _b(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def ids(model: Any) -> list[str]:
    return [str(row.id) for row in model.select(model.id)]


@st.composite
def field(draw: st.DrawFn, name: str, good: list[str]) -> list[Pair]:
    """One input: a good value, nothing, a hostile value, or several values at once."""
    how = draw(st.sampled_from(["good", "good", "good", "missing", "hostile", "repeated"]))
    if how == "missing":
        return []
    if how == "hostile":
        return [(name, draw(hostile_value))]
    values = (
        st.one_of(st.sampled_from([_b(g) for g in good]), hostile_value)
        if how == "repeated"
        else st.sampled_from([_b(g) for g in good])
    )
    return [
        (name, v)
        for v in draw(st.lists(values, min_size=2 if how == "repeated" else 1, max_size=2 if how == "repeated" else 1))
    ]


@st.composite
def date_field(draw: st.DrawFn, name: str) -> list[Pair]:
    parts = []
    for part, good in (
        ("day", ["1", "15", "28", "31", "29"]),
        ("month", ["1", "2", "6", "12", "13"]),
        ("year", ["2025", "2026", "2030"]),
    ):
        parts += draw(field(f"{name}-{part}", good))
    return parts


names = ["Shire Youth Service", "  Spaced  ", "shire police", "A" * 200, "A" * 201, "Ü\u0308ber Ärzte"]


def admin_forms(world: World) -> st.SearchStrategy[tuple[str, list[Pair]]]:
    """(url, post) for each administration form, with the ids that exist now."""
    with world.app.extensions["database"].connection_context():
        agencies, users = ids(Agency), ids(User)
        versions = {v.audience: str(v.id) for v in QuestionnaireVersion.select()}
        rounds = ids(SurveyRound)
        code_links = [str(link.id) for link in SurveyLink.select().where(SurveyLink.mode == "tokens")]
    survey_versions = [versions[a] for a in SURVEY_AUDIENCES if a in versions]

    def form(
        url: st.SearchStrategy[str], *fields: st.SearchStrategy[list[Pair]]
    ) -> st.SearchStrategy[tuple[str, list[Pair]]]:
        return st.tuples(url, st.tuples(*fields).map(lambda parts: [p for part in parts for p in part]))

    agency = [field("name", names), field("sector", list(SECTORS))]
    period = [field("name", names), date_field("opens_on"), date_field("closes_on"), field("open_now", ["yes", "no"])]
    return st.one_of(
        form(st.just("/admin/agencies/new"), *agency),
        form(st.sampled_from(agencies).map(lambda i: f"/admin/agencies/{i}"), *agency),
        form(
            st.just("/admin/users/new"),
            field(
                "email",
                ["new.person@example.org", "NEW.Person@Example.org ", "agency@example.org", "no-at-sign", "a@b"],
            ),
            field("name", names),
            field("role", list(ROLES)),
            field("agency", agencies),
            field("password", ["correct horse battery staple 2", "short"]),
        ),
        form(
            st.sampled_from(users).map(lambda i: f"/admin/users/{i}"),
            field("name", names),
            field("role", list(ROLES)),
            field("agency", agencies),
        ),
        form(
            st.sampled_from(users).map(lambda i: f"/admin/users/{i}/password"),
            field("password", ["a much longer new password"]),
        ),
        form(st.just("/admin/cycles/new"), *period, field("questionnaire", [versions["agency"], *survey_versions])),
        form(st.just("/admin/rounds/new"), *period, field("questionnaire", [*survey_versions, versions["agency"]])),
        form(
            st.sampled_from(rounds).map(lambda i: f"/admin/rounds/{i}/links/new"),
            field("label", names),
            field("agency", agencies),
            field("mode", list(MODES)),
            field("count", ["1", "3", " 2 ", "1,0", "500", "501", "0"]),
        ),
        form(
            st.sampled_from(code_links).map(lambda i: f"/admin/links/{i}/codes/new"),
            field("count", ["1", "2", "²", "9" * 5000]),
        ),
    )


def database_problems() -> list[str]:
    """Every row the administration forms write, checked against what those forms allow."""
    problems = []

    def text_ok(value: Any, limit: int) -> bool:
        return isinstance(value, str) and 0 < len(value) <= limit and value == value.strip() and "\x00" not in value

    seen: set[str] = set()
    for agency in Agency.select():
        if not text_ok(agency.name, 200) or agency.sector not in SECTORS:
            problems.append(f"agency {agency.name!r:.60} {agency.sector!r:.60}")
        if agency.name.lower() in seen:
            problems.append(f"two agencies called {agency.name!r}")
        seen.add(agency.name.lower())
    for user in User.select():
        if not (
            EMAIL.match(user.email)
            and user.email == user.email.lower()
            and len(user.email) <= 254
            and "\x00" not in user.email
        ):
            problems.append(f"user email {user.email!r:.60}")
        if (
            not text_ok(user.name, 200)
            or user.role not in ROLES
            or (user.agency_id is not None) != (user.role == "agency")
        ):
            problems.append(f"user {user.email!r:.60}: {user.name!r:.60} {user.role!r} agency {user.agency_id}")
    for model, audiences in ((AuditCycle, ("agency",)), (SurveyRound, SURVEY_AUDIENCES)):
        for period in model.select():
            if not text_ok(period.name, 200) or period.closes_on <= period.opens_on:
                problems.append(f"{model.__name__} {period.name!r:.60} {period.opens_on} to {period.closes_on}")
            if period.questionnaire.audience not in audiences:
                problems.append(
                    f"{model.__name__} {period.name!r:.60} answers a {period.questionnaire.audience} questionnaire"
                )
    for link in SurveyLink.select():
        practitioner = link.round.questionnaire.audience == "practitioner"
        if not text_ok(link.label, 200) or link.mode not in MODES or (link.agency_id is not None and not practitioner):
            problems.append(f"link {link.label!r:.60} {link.mode!r} agency {link.agency_id}")
        if link.mode != "tokens" and SurveyToken.select().where(SurveyToken.link == link).exists():
            problems.append(f"codes on the device link {link.label!r:.60}")
    for row in QuestionnaireVersion.select():
        try:
            definition(row)
        except DefinitionError as error:
            problems.append(f"questionnaire {row.key} stored though it does not load: {error}")
    return problems


def assert_handled(response: Any, pairs: list[Pair], world: World) -> str:
    assert response.status_code != 500, body(response)[:3000]
    if response.status_code == 413:
        assert len(encode(pairs)) > world.app.config["MAX_CONTENT_LENGTH"] or len(pairs) > world.app.config.get(
            "MAX_FORM_PARTS", 1000
        )
        return "too-large"
    if response.status_code == 302:
        return "accepted"
    assert response.status_code == 200, (response.status_code, body(response)[:2000])
    assert ERROR_SUMMARY in body(response), body(response)[:3000]
    return "refused"


def test_admin_forms_survive_hostile_posts(world: World) -> None:
    database = world.app.extensions["database"]
    client = world.signed_in("admin")
    forms = admin_forms(world)

    @HOSTILE
    @given(forms)
    @example(
        ("/admin/links/{code_link}/codes/new", [("count", b"\xc2\xb2")])
    )  # '²' passed isdigit(), then int() failed
    @example(("/admin/links/{code_link}/codes/new", [("count", b"9" * 5000)]))  # int() refuses 4,300 digits
    @example(
        ("/admin/cycles/new", [("opens_on-day", b"\xc2\xb2"), ("opens_on-month", b"1"), ("opens_on-year", b"2025")])
    )
    @example(("/admin/agencies/new", [("name", b"Shire\x00Police"), ("sector", b"police")]))
    def check(case: tuple[str, list[Pair]]) -> None:
        url, pairs = case
        url = url.format(code_link=world.code_link.id)
        response = post(client, url, pairs)
        assert_handled(response, pairs, world)
        with database.connection_context():
            assert database_problems() == []

    check()


def _shipped_text(name: str) -> str:
    return (DEFINITIONS / name).read_text(encoding="utf-8")


def _next_version(name: str, **changes: Any) -> str:
    data = json.loads(_shipped_text(name))
    data["version"] += 1 + len(changes)
    data.update(changes)
    return json.dumps(data)


WORKSHOP = "practitioner-workshop.json"
UPLOADS = [
    _shipped_text(WORKSHOP)[:-200],  # cut short
    _shipped_text(WORKSHOP).replace('"schema_version": 1', '"schema_version": 1, "schema_version": 1'),
    _shipped_text(WORKSHOP).replace('"version": 1', '"version": ' + "1" * 5000),  # int() refuses 4,300 digits
    _shipped_text(WORKSHOP).replace('"version": 1', '"version": 1e999'),
    _shipped_text(WORKSHOP).replace('"version": 1', '"version": NaN'),
    _shipped_text(WORKSHOP).replace('"weight": 1', '"weight": 1' + "0" * 400).replace('"version": 1', '"version": 9'),
    "[" * 100_000 + "]" * 100_000,  # past the parser's recursion limit
    '{"a": ' * 70 + "1" + "}" * 70,  # past MAX_DEPTH
    "\ufeff" + _shipped_text(WORKSHOP),
    _next_version(WORKSHOP, title="\ud800 lone surrogate"),
    _next_version(WORKSHOP, title="A\x00B"),
    _next_version(WORKSHOP),  # a valid new version: accepted once, then "already loaded"
    "null",
    "",
]


@HOSTILE
@given(
    st.one_of(st.sampled_from(UPLOADS), st.text(max_size=200)),
    st.sampled_from(["text", "file"]),
    st.sampled_from(["utf-8", "utf-16", "latin-1", "utf-8-sig"]),
)
def test_questionnaire_uploads_store_only_definitions_that_load(
    world: World, text: str, how: str, encoding: str
) -> None:
    client = world.signed_in("admin")
    if how == "text":
        pairs = [("text", text.encode("utf-8", "surrogatepass"))]
        response = post(client, "/admin/questionnaires/new", pairs)
    else:
        raw = text.encode(encoding, "surrogatepass" if encoding.startswith("utf-8") else "replace")
        from io import BytesIO

        response = client.post(
            "/admin/questionnaires/new",
            data={"file": (BytesIO(raw), "upload.json")},
            content_type="multipart/form-data",
        )
        pairs = [("file", raw)]
    assert_handled(response, pairs, world)
    with world.app.extensions["database"].connection_context():
        assert database_problems() == []
        for row in QuestionnaireVersion.select():
            assert "\x00" not in json.dumps(row.definition)

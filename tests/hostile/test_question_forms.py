"""Hostile posts to every questionnaire form: preview pages, anonymous surveys, S11 audit pages,
the action progress form and the code and age pages of a survey.

The properties: never a 500; the answer is a page with a GOV.UK error summary or an accepted
redirect (or, for the audit, the edit-conflict page; for a post over the size limit, 413); a
refused post changes nothing; and every stored answer is a value its definition allows
(tests/hostile/hostile_values.py checks that against the definition objects).
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from questionnaires.model import Questionnaire, Section
from store.answers import load_answers
from store.models import Action, Audit, Response, SectionState
from store.questionnaires import definition
from tests.hostile.conftest import SURVEYS, World, body
from tests.hostile.hostile_values import (
    Pair,
    answer_problems,
    encode,
    hostile_value,
    post,
    section_post,
)

ERROR_SUMMARY = 'class="govuk-error-summary"'
# HOSTILE_EXAMPLES=2000 runs a deeper search locally; CI keeps the default, well under a minute
HOSTILE = settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "40")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def shipped(world: World) -> dict[str, Questionnaire]:
    found = world.app.extensions["questionnaires"]
    return {key: q for key, q in found.items() if "@" not in key}


def pages(world: World, ids: tuple[str, ...] | None = None) -> list[tuple[Questionnaire, Section, str | None]]:
    """(questionnaire, section, age band) for every page of every shipped questionnaire."""
    out = []
    for questionnaire in shipped(world).values():
        if ids is not None and questionnaire.id not in ids:
            continue
        for band in [b.id for b in questionnaire.age_bands] or [None]:
            out += [(questionnaire, section, band) for section in questionnaire.sections_for(band)]
    return out


@st.composite
def page_and_post(draw: st.DrawFn, choices: list[tuple[Questionnaire, Section, str | None]]) -> tuple[Any, ...]:
    questionnaire, section, band = draw(st.sampled_from(choices))
    return questionnaire, section, band, draw(section_post(questionnaire, section, band))


def over_limits(app: Any, pairs: list[Pair]) -> bool:
    """Whether a post is over the size or field-count limits, which answer 413 (never a 500)."""
    return len(encode(pairs)) > app.config["MAX_CONTENT_LENGTH"] or len(pairs) > app.config.get("MAX_FORM_PARTS", 1000)


def assert_handled(app: Any, response: Any, pairs: list[Pair], *, accepted: tuple[int, ...] = (302, 303)) -> str:
    """Never a 500: a redirect, a page with an error summary, or 413 for an oversized post.

    Returns "accepted", "refused" or "too-large".
    """
    assert response.status_code != 500, body(response)[:3000]
    if response.status_code == 413:
        assert over_limits(app, pairs), f"413 for a post of {len(encode(pairs))} bytes in {len(pairs)} fields"
        return "too-large"
    if response.status_code in accepted:
        return "accepted"
    assert response.status_code == 200, (response.status_code, body(response)[:2000])
    assert ERROR_SUMMARY in body(response), body(response)[:3000]
    return "refused"


# ---------------------------------------------------------------------------------------------
# Preview: nothing is stored; a valid page says so, an invalid one has an error summary
# ---------------------------------------------------------------------------------------------


def test_preview_pages_survive_hostile_posts(world: World) -> None:
    client = world.app.test_client()

    @HOSTILE
    @given(page_and_post(pages(world)))
    def check(case: tuple[Any, ...]) -> None:
        questionnaire, section, band, pairs = case
        url = f"/preview/{questionnaire.id}/{section.id}" + (f"?band={band}" if band else "")
        response = post(client, url, pairs)
        assert response.status_code != 500, body(response)[:3000]
        if response.status_code == 413:
            assert over_limits(world.app, pairs)
            return
        assert response.status_code == 200
        html = body(response)
        assert (ERROR_SUMMARY in html) != ("These answers are valid" in html), html[:3000]

    check()


# ---------------------------------------------------------------------------------------------
# Anonymous surveys: each example is a new respondent on a fresh device
# ---------------------------------------------------------------------------------------------


def _draft_answers(link_id: int) -> list[tuple[int, str | None, dict[str, Any]]]:
    return [(r.id, r.age_band, load_answers(r)) for r in Response.select().where(Response.link == link_id)]


def test_survey_pages_store_only_allowed_answers(world: World) -> None:
    database = world.app.extensions["database"]

    @HOSTILE
    @given(page_and_post(pages(world, SURVEYS)))
    def check(case: tuple[Any, ...]) -> None:
        questionnaire, section, band, pairs = case
        link = world.links[questionnaire.id]
        client = world.app.test_client()
        if band is not None:
            assert client.get(f"/s/{link.slug}?band={band}").status_code == 200
        with database.connection_context():
            before = _draft_answers(link.id)
        response = post(client, f"/s/{link.slug}/q/{section.id}", pairs)
        outcome = assert_handled(world.app, response, pairs)
        with database.connection_context():
            after = _draft_answers(link.id)
        if outcome != "accepted":
            assert after == before, "a refused page changed the stored answers"
            return
        new = [a for a in after if a not in before]
        assert len(new) == 1, "an accepted page makes one draft"
        _, stored_band, answers = new[0]
        assert stored_band == band
        problems = answer_problems(questionnaire, answers, band, saved=section)
        assert problems == [], problems

    check()


@HOSTILE
@given(code=hostile_value, band=hostile_value)
def test_survey_code_and_age_pages_refuse_what_they_do_not_know(world: World, code: bytes, band: bytes) -> None:
    client = world.app.test_client()
    pairs = [("code", code)]
    response = post(client, f"/s/{world.code_link.slug}", pairs)
    assert assert_handled(world.app, response, pairs) in ("refused", "too-large")
    child = world.links["child-experience"].slug
    pairs = [("band", band)]
    response = post(client, f"/s/{child}/age", pairs)
    assert assert_handled(world.app, response, pairs) in ("refused", "too-large")


def test_survey_check_page_refuses_hostile_submission_keys(world: World) -> None:
    database = world.app.extensions["database"]
    link = world.links["family-experience"]

    @HOSTILE
    @given(st.lists(st.tuples(st.sampled_from(["submission_key", "band", "code"]), hostile_value), max_size=4))
    def check(pairs: list[Pair]) -> None:
        client = world.app.test_client()
        response = post(client, f"/s/{link.slug}/check", pairs)
        # no draft: back to the start; a post over the size limits: 413
        assert assert_handled(world.app, response, pairs) in ("accepted", "too-large"), response.status_code
        with database.connection_context():
            assert not Response.select().where((Response.link == link.id) & (Response.status == "submitted")).exists()

    check()


# ---------------------------------------------------------------------------------------------
# The S11 self-audit, signed in as an agency user
# ---------------------------------------------------------------------------------------------


def _audit_answers(audit: Audit) -> dict[str, Any]:
    return load_answers(Response.get(Response.audit == audit))


@st.composite
def audit_post(draw: st.DrawFn, questionnaire: Questionnaire) -> tuple[Section, list[Pair], dict[str, bytes]]:
    section = draw(st.sampled_from(questionnaire.sections))
    pairs = draw(section_post(questionnaire, section, None))
    controls = {
        "section-completed": draw(st.one_of(st.sampled_from([b"yes", b"no"]), hostile_value)),
        "save": draw(st.one_of(st.sampled_from([b"continue", b"later"]), hostile_value)),
    }
    if draw(st.integers(0, 9)) == 0:
        controls["revision"] = draw(hostile_value)
    if draw(st.integers(0, 9)) == 0:
        controls["add-evidence"] = draw(
            st.one_of(st.sampled_from([q.id.encode() for q in section.questions]), hostile_value)
        )
    return section, pairs, controls


def test_audit_pages_store_only_allowed_answers(world: World) -> None:
    database = world.app.extensions["database"]
    client = world.signed_in("agency")
    audit = world.audit
    with database.connection_context():
        questionnaire = definition(audit.cycle.questionnaire)

    @HOSTILE
    @given(audit_post(questionnaire))
    def check(case: tuple[Section, list[Pair], dict[str, bytes]]) -> None:
        section, pairs, controls = case
        with database.connection_context():
            state = SectionState.get((SectionState.audit == audit) & (SectionState.section_id == section.id))
            before = _audit_answers(audit)
        sent = [("revision", str(state.revision).encode()), *pairs]
        sent = [p for p in sent if p[0] != "revision" or "revision" not in controls] + list(controls.items())
        response = post(client, f"/audit/{audit.id}/{section.id}", sent)
        assert response.status_code != 500, body(response)[:3000]
        html = body(response)
        adding = controls.get("add-evidence", b"").decode("utf-8", "replace")
        if response.status_code == 409:  # someone else's save (here: a hostile revision)
            assert "has changed this section since you opened it" in html
            outcome = "refused"
        elif response.status_code == 200 and adding in {q.id for q in section.questions if q.type == "evidence"}:
            outcome = "refused"  # a row added to the page: nothing saved
        else:
            outcome = assert_handled(world.app, response, sent, accepted=(302,))
        with database.connection_context():
            after = _audit_answers(audit)
            assert Audit.get_by_id(audit.id).status in ("not-started", "in-progress")
        if outcome != "accepted":
            assert after == before, "a refused page changed the stored answers"
        saved = section if outcome == "accepted" else None
        problems = answer_problems(questionnaire, after, None, saved=saved)
        assert problems == [], (outcome, response.status_code, problems)

    check()


@HOSTILE
@given(
    st.lists(st.tuples(st.sampled_from(["declaration", "declaration", "csrf_token", "x"]), hostile_value), max_size=4)
)
def test_audit_submission_refuses_hostile_declarations(world: World, pairs: list[Pair]) -> None:
    """Nothing is complete, so whatever is sent the audit is not submitted and the page says why."""
    response = post(world.signed_in("agency"), f"/audit/{world.audit.id}/submit", pairs)
    assert assert_handled(world.app, response, pairs) in ("refused", "too-large")
    with world.app.extensions["database"].connection_context():
        assert Audit.get_by_id(world.audit.id).status != "submitted"


@st.composite
def progress_post(draw: st.DrawFn, action_ids: list[int]) -> list[Pair]:
    pairs: list[Pair] = []
    for action_id in action_ids:
        for part in ("progress", "note", "seen"):
            how = draw(st.sampled_from(["valid", "valid", "missing", "hostile"]))
            if how == "hostile":
                pairs.append((f"{part}-{action_id}", draw(hostile_value)))
            elif how == "valid" and part == "progress":
                pairs.append((f"{part}-{action_id}", str(draw(st.integers(0, 100))).encode()))
            elif how == "valid" and part == "note":
                pairs.append((f"{part}-{action_id}", draw(st.text(max_size=40)).encode("utf-8", "surrogatepass")))
    bad_id = draw(st.sampled_from(["0", "-1", "99999", "x", "1e3", "\x00"]))
    pairs += draw(st.lists(st.tuples(st.just(f"progress-{bad_id}"), hostile_value), max_size=1))
    return pairs


def test_action_progress_stores_only_allowed_values(world: World) -> None:
    database = world.app.extensions["database"]
    client = world.signed_in("health")
    audit = world.submitted
    with database.connection_context():
        action_ids = [a.id for a in Action.select().where(Action.audit == audit)]

    def rows() -> list[tuple[int, int, str | None]]:
        with database.connection_context():
            return [
                (a.id, a.progress, a.progress_note)
                for a in Action.select().where(Action.audit == audit).order_by(Action.id)
            ]

    @HOSTILE
    @given(progress_post(action_ids))
    def check(pairs: list[Pair]) -> None:
        with database.connection_context():  # the page sends back when it last saw each action
            seen = {a.id: a.updated_at.isoformat() for a in Action.select().where(Action.audit == audit)}
        sent = [
            (f"seen-{i}", s.encode()) for i, s in seen.items() if not any(k == f"seen-{i}" for k, _ in pairs)
        ] + pairs
        before = rows()
        response = post(client, f"/audit/{audit.id}/actions", sent)
        outcome = assert_handled(world.app, response, sent, accepted=(302,))
        after = rows()
        if outcome != "accepted":
            assert after == before
        for _, progress, note in after:
            assert isinstance(progress, int) and 0 <= progress <= 100
            assert note is None or (0 < len(note) <= 2000 and "\x00" not in note and note == note.strip())

    check()

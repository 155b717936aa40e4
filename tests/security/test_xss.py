"""Scripts and other hostile text typed into every free-text field, then every page that shows it
checked (tests/security/xss_corpus.py): shown exactly as typed, escaped, never run.

The fields: an S11 standard's narrative, evidence title, action (what and owner), a not
applicable reason and an action's progress note; the survey free-text answers of practitioners,
children and families; and the names administrators type (agency, user, cycle, round, link
label). The pages: the standard's page, check answers, the task list, actions, the read-only
pages a reviewer sees, the survey page and its check page, and the administration lists and
pages. Evidence links: only http(s) addresses are accepted, so only those can ever be links.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from html import unescape
from typing import Any

import pytest
from flask import Flask

from store.models import Agency, Audit, AuditCycle, QuestionnaireVersion, SurveyLink, User
from store.questionnaires import definition
from tests.security.world import TODAY, changed_tables, date_parts, forms_on, make_link, page_form, sign_in, snapshot
from tests.security.xss_corpus import PAYLOADS, assert_cells_safe, page_problems, payloads


def body(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def check(problems: list[str], where: str, html: str, shown: list[str]) -> None:
    problems.extend(f"{where}: {problem}" for problem in page_problems(html, shown))


# --- the check itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "found"),
    [
        ("<p><script>alert(1)</script></p>", "a script without the page's nonce"),
        ('<p><img src="x" onerror="alert(1)"></p>', "event handler attribute onerror"),
        ('<input value="" autofocus onfocus="alert(1)">', "event handler attribute onfocus"),
        ('<a href=" JavaScript:alert(1)">x</a>', "javascript: address"),
        ('<a href="data:text/html,x">x</a>', "data: address"),
        ('<div style="width: expression(alert(1))"></div>', "a style attribute"),
        ("<iframe></iframe>", "<iframe> element"),
        ('<body><meta http-equiv="refresh"></body>', "a <meta> element in the body"),
        ("<p>49</p>", "'{{7*7}}' is not on the page as typed"),
        ("<p>&lt;b&gt;hi</p>", "'{{7*7}}' is not on the page as typed"),
    ],
)
def test_the_page_check_finds_injections(html: str, found: str) -> None:
    assert any(found in problem for problem in page_problems(html, ["{{7*7}}"])), page_problems(html, ["{{7*7}}"])


def test_the_page_check_passes_escaped_text_and_the_apps_own_scripts() -> None:
    typed = '"><script>alert(1)</script>'
    page = (
        '<html><head><script nonce="abc">x()</script><link rel="stylesheet" href="/assets/a.css"></head><body>'
        '<p>&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</p><input value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">'
        '<a href="https://example.org/x">x</a><a href="/s/abc">y</a><script type="module" src="/assets/g.js"></script>'
        "</body></html>"
    )
    assert page_problems(page, [typed]) == []
    assert len(list(payloads())) == len(PAYLOADS) >= 40


# --- Section 11 answers -------------------------------------------------------------------------


def s11_answers(world: dict[str, Any], form: dict[str, str], payload: str) -> dict[str, str]:
    """Standard 1's page (`form`, as it was shown) with every free-text box holding the payload:
    1.1 met with evidence, 1.2 not met with an action, 1.3 met, 1.4 not applicable with a reason."""
    data = dict(form)
    section = definition(world["s11"]).section("s1")
    ratings = {"s1.1": "met", "s1.2": "not-met", "s1.3": "met", "s1.4": "not-applicable"}
    for question in section.questions:
        if question.type == "rating":
            data[question.id] = ratings[question.id]
        elif question.type == "long_text":
            data[question.id] = payload
        elif question.type == "evidence" and question.id != "s1.4-evidence":
            row = f"{question.id}__0__"
            data.update({row + "title": payload, row + "type": question.evidence_types[0].value})
            data[row + "link"] = "https://example.org/policies/2024?page=2&section=safeguarding"
            data.update(date_parts(row + "date", TODAY - dt.timedelta(days=5)))
    data["s1.4__reason"] = f"{payload} (we have no such service)"  # a reason is at least 10 characters
    data.update({"s1.2-action__what": payload, "s1.2-action__owner": payload})
    data.update(date_parts("s1.2-action__due", TODAY + dt.timedelta(days=60)))
    return data | {"section-completed": "yes", "save": "continue"}


def main_form(html: str) -> dict[str, str]:
    forms = [f for f in forms_on(html) if f["method"] == "post"]
    return {k: v for k, v in max(forms, key=lambda f: len(f["fields"]))["fields"] if k != "csrf_token"}


def test_s11_answers_are_shown_as_typed_on_every_page(app: Flask, world: dict[str, Any]) -> None:
    lead, reviewer = app.test_client(), app.test_client()
    sign_in(lead, world["users"]["agency"])
    sign_in(reviewer, world["users"]["reviewer"])
    audit, action = world["own"], world["action"]  # actions are made on submission: this one was made so
    standard, actions = f"/audit/{audit.id}/s1", f"/audit/{audit.id}/actions"
    standard_form, actions_form = page_form(lead, standard), page_form(lead, actions)
    problems: list[str] = []
    for payload in payloads():
        saved = lead.post(standard, data=s11_answers(world, standard_form, payload))
        note = {f"progress-{action.id}": "40", f"note-{action.id}": payload}
        noted = lead.post(actions, data=actions_form | note)
        if (saved.status_code, noted.status_code) != (302, 302):
            problems.append(f"{payload!r}: not saved ({saved.status_code}, {noted.status_code})")
            continue
        html = body(lead.get(standard))  # the page shown again, and the form sent next time
        check(problems, f"{payload!r} standard page", html, [payload])
        standard_form = main_form(html)
        html = body(lead.get(actions))
        check(problems, f"{payload!r} actions", html, [payload])
        actions_form = main_form(html)
        check(problems, f"{payload!r} check answers", body(lead.get(f"/audit/{audit.id}/check")), [payload])

        Audit.update(status="submitted").where(Audit.id == audit.id).execute()
        check(problems, f"{payload!r} reviewer's standard", body(reviewer.get(standard)), [payload])
        check(problems, f"{payload!r} reviewer's check", body(reviewer.get(f"/audit/{audit.id}/check")), [payload])
        Audit.update(status="in-progress").where(Audit.id == audit.id).execute()
    check(problems, "task list", body(lead.get("/audit/")), [])
    check(problems, "audits to review", body(reviewer.get("/review/")), [])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "//xss.example/policy",
        "https://example.org/a b",
        'https://example.org/"onmouseover="alert(1)',
        "https://example.org/<script>",
        "ftp://example.org/policy.pdf",
    ],
)
def test_only_web_addresses_are_taken_as_evidence_links(app: Flask, world: dict[str, Any], link: str) -> None:
    lead = app.test_client()
    sign_in(lead, world["users"]["agency"])
    form = page_form(lead, f"/audit/{world['own'].id}/s1")
    data = s11_answers(world, form, "Safeguarding policy") | {"s1.1-evidence__0__link": link}
    before = snapshot(app.extensions["database"])
    page = lead.post(f"/audit/{world['own'].id}/s1", data=data)
    html = body(page)
    item = "‘Is a named person at board level responsible for safeguarding children?’"
    assert f"Enter the link to evidence 1 for {item} as a web address starting https://" in unescape(html)
    assert page_problems(html) == []
    # nothing of the page is saved; what was typed is kept as the person's own draft, to correct
    assert changed_tables(before, snapshot(app.extensions["database"])) == ["draft"], "nothing of the page was saved"
    again = unescape(body(lead.get(f"/audit/{world['own'].id}/s1")))
    assert "some answers need correcting" in again and "Enter the link to evidence 1" in again


# --- survey answers -----------------------------------------------------------------------------


SURVEY_BOXES = (  # (questionnaire, age band, page, free-text question)
    ("family-experience", None, "about-you", "anything-else"),
    ("practitioner-workshop", None, "practice", "do-differently"),
    ("child-experience", "age-12-17", "age-12-17-anything-else", "anything-else.age-12-17"),
)


@pytest.mark.parametrize(("questionnaire", "band", "page", "question"), SURVEY_BOXES)
def test_survey_answers_are_shown_as_typed(
    app: Flask, db: Any, questionnaire: str, band: str | None, page: str, question: str
) -> None:
    link = make_link(questionnaire)
    problems: list[str] = []
    for payload in payloads():
        respondent = app.test_client()
        if band:
            assert respondent.post(f"/s/{link.slug}/age", data={"band": band}).status_code == 303
        url = f"/s/{link.slug}/q/{page}"
        sent = respondent.post(url, data={question: payload})
        if sent.status_code != 303:
            problems.append(f"{payload!r}: not saved ({sent.status_code})")
            continue
        check(problems, f"{payload!r} page", body(respondent.get(url)), [payload])
        check(problems, f"{payload!r} check answers", body(respondent.get(f"/s/{link.slug}/check")), [payload])
    assert not problems, "\n".join(problems)


# --- names typed by administrators --------------------------------------------------------------


def test_names_typed_by_administrators_are_shown_as_typed(app: Flask, world: dict[str, Any]) -> None:
    admin, lead, reviewer = app.test_client(), app.test_client(), app.test_client()
    sign_in(admin, world["users"]["admin"])
    sign_in(lead, world["users"]["agency"])
    sign_in(reviewer, world["users"]["reviewer"])
    police, health = world["agencies"]["police"], world["agencies"]["health"]
    s11 = QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "s11-self-audit")
    workshop = QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "practitioner-workshop")
    problems: list[str] = []

    def period(name: str, version: QuestionnaireVersion) -> dict[str, str]:
        return {
            "name": name,
            "questionnaire": str(version.id),
            **date_parts("opens_on", TODAY),
            **date_parts("closes_on", TODAY + dt.timedelta(days=30)),
            "open_now": "no",
        }

    for number, payload in enumerate(payloads()):
        posts = {
            f"/admin/agencies/{health.id}": {"name": payload, "sector": "health"},
            f"/admin/agencies/{police.id}": {"name": f"{payload} (police)", "sector": "police"},
            "/admin/users/new": {
                "email": f"person{number}@example.org",
                "name": payload,
                "role": "agency",
                "agency": str(police.id),
                "password": "a long enough password",
            },
            "/admin/cycles/new": period(payload, s11),
            "/admin/rounds/new": period(payload, workshop),
        }
        sent = {url: admin.post(url, data=data) for url, data in posts.items()}
        if [r.status_code for r in sent.values()] != [302] * len(posts):
            problems.append(f"{payload!r}: not saved ({[r.status_code for r in sent.values()]})")
            continue
        round_id = int(sent["/admin/rounds/new"].headers["Location"].rsplit("/", 1)[-1])
        made = admin.post(
            f"/admin/rounds/{round_id}/links/new", data={"label": payload, "mode": "tokens", "count": "2"}
        )
        link = SurveyLink.get(SurveyLink.round == round_id)
        user = User.get(User.email == f"person{number}@example.org")
        pages = {
            "agencies": "/admin/agencies/",
            "agency": f"/admin/agencies/{health.id}",
            "user": f"/admin/users/{user.id}",
            "deactivate user": f"/admin/users/{user.id}/deactivate",
            "cycle": f"/admin/cycles/{AuditCycle.get(AuditCycle.name == payload).id}",
            "round": f"/admin/rounds/{round_id}",
            "codes": made.headers["Location"],
            "deactivate link": f"/admin/links/{link.id}/deactivate",
        }
        for where, url in pages.items():
            check(problems, f"{payload!r} {where}", body(admin.get(url)), [payload])
        check(problems, f"{payload!r} task list", body(lead.get("/audit/")), [f"{payload} (police)"])
        check(problems, f"{payload!r} audits to review", body(reviewer.get("/review/")), [payload])

        codes = admin.get(f"/admin/links/{link.id}/codes.csv")
        rows = list(csv.reader(io.StringIO(codes.get_data(as_text=True))))
        assert_cells_safe(cell for row in rows for cell in row)
        assert all(row[2] in (payload, "'" + payload) for row in rows[1:]), "the label as typed, made safe"
    everything = list(payloads())  # the lists show every name made above
    for where in ("/admin/users/", "/admin/cycles/", "/admin/rounds/"):
        check(problems, where, body(admin.get(where)), everything)
    check(problems, "history", body(admin.get("/admin/history")), [])
    assert not problems, "\n".join(problems)
    assert Agency.get_by_id(health.id).name == PAYLOADS[-1]

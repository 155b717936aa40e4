"""The S11 self-audit journey of agency users, through the Flask test client.

Pages are driven the way a browser drives them: form data built from the definition, the
revision the page carried, the buttons' names and values. The database is read directly to
check that what a page claims is what was stored.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from peewee import PostgresqlDatabase

from questionnaires.model import Questionnaire, Section
from store import audits as store
from store.answers import load_answers, save_answers
from store.models import (
    Action,
    Audit,
    AuditCycle,
    AuditEvent,
    Draft,
    KeptPost,
    QuestionnaireVersion,
    Response,
    SectionState,
    User,
)
from store.trail import SAVE_KIND, changes
from tests.conftest import PASSWORD, sign_in_as

TODAY = dt.date.today()
LAST_YEAR = TODAY - dt.timedelta(days=365)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def s11_version() -> QuestionnaireVersion:
    return QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "s11-self-audit")


def date_parts(prefix: str, day: dt.date) -> dict[str, str]:
    return {f"{prefix}-day": str(day.day), f"{prefix}-month": str(day.month), f"{prefix}-year": str(day.year)}


def section_data(
    section: Section,
    revision: int = 0,
    ratings: dict[str, str] | None = None,
    completed: str = "yes",
    save: str = "continue",
    text: str = "Reviewed by the board every year.",
) -> dict[str, str]:
    """Valid answers to every question of a section, as its page posts them.

    Ratings are Met unless `ratings` says otherwise; a shortfall gets an action (what, owner, due).
    """
    ratings = ratings or {}
    data: dict[str, str] = {"revision": str(revision), "section-completed": completed, "save": save}
    shortfalls: set[str] = set()
    for q in section.questions:
        if q.type == "rating":
            value = ratings.get(q.id, "met")
            data[q.id] = value
            if value in ("partially-met", "not-met") and q.action:
                shortfalls.add(q.action)
        elif q.type in ("single_choice", "yes_no", "multiple_choice"):
            data[q.id] = q.offered_options[0].value
        elif q.type in ("short_text", "long_text"):
            data[q.id] = text
        elif q.type == "number":
            data[q.id] = str(int(q.min or 1))
        elif q.type == "date":
            data.update(date_parts(q.id, TODAY))
        elif q.type == "evidence":
            row = f"{q.id}__0__"
            data[row + "title"] = "Safeguarding policy 2024"
            data[row + "type"] = q.evidence_types[0].value
            data.update(date_parts(row + "date", TODAY - dt.timedelta(days=30)))
        elif q.type == "action" and q.id in shortfalls:
            data[f"{q.id}__what"] = "Train every manager in the new procedure"
            data[f"{q.id}__owner"] = "Head of safeguarding"
            data.update(date_parts(f"{q.id}__due", TODAY + dt.timedelta(days=90)))
    return data


def body(response: Any) -> str:
    return response.get_data(as_text=True)


def text_of(html: str) -> str:
    """The page's words with tags and runs of spaces collapsed, to assert on sentences."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


@pytest.fixture
def audit(client: FlaskClient, users: dict[str, User], cycle: AuditCycle) -> Audit:
    """The police agency's audit in the open cycle, made by its lead opening the task list."""
    sign_in_as(client, users["agency"])
    assert client.get("/audit/").status_code == 200
    return Audit.get((Audit.cycle == cycle) & (Audit.agency == users["agency"].agency_id))


def fill(client: FlaskClient, audit: Audit, s11: Questionnaire, ratings: dict[str, str] | None = None) -> None:
    """Complete every standard through its page."""
    for section in s11.sections:
        state = SectionState.get((SectionState.audit == audit) & (SectionState.section_id == section.id))
        response = client.post(f"/audit/{audit.id}/{section.id}", data=section_data(section, state.revision, ratings))
        assert response.status_code == 302, text_of(body(response))[:2000]


def submit(client: FlaskClient, audit: Audit) -> Any:
    return client.post(f"/audit/{audit.id}/submit", data={"declaration": "confirmed"})


def fresh(audit: Audit) -> Audit:
    return Audit.get_by_id(audit.id)


def state_of(audit: Audit, section_id: str) -> SectionState:
    return SectionState.get((SectionState.audit == audit) & (SectionState.section_id == section_id))


def stored(audit: Audit) -> dict[str, Any]:
    return load_answers(Response.get(Response.audit == audit))


def page_token(page: str) -> str:
    """The CSRF token a page carries (every signed-in page has one: the timeout warning's form)."""
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]


def expire_session(app: Flask, client: FlaskClient) -> None:
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - app.config["SESSION_IDLE_MINUTES"] * 60 - 60


# ---------------------------------------------------------------------------------------------
# The task list
# ---------------------------------------------------------------------------------------------


def test_the_task_list_makes_the_audit_once_with_a_task_per_standard(
    client: FlaskClient, users: dict[str, User], cycle: AuditCycle, s11: Questionnaire
) -> None:
    sign_in_as(client, users["agency"])
    page = text_of(body(client.get("/audit/")))
    assert "You have completed 0 of 11 standards" in page
    assert page.count("Not yet started") == 11  # the standards, not the check: that cannot start yet
    for section in s11.sections:
        assert section.title in page
    sign_in_as(client, users["colleague"])
    client.get("/audit/")
    assert Audit.select().count() == 1
    audit = Audit.get()
    assert Response.select().where(Response.audit == audit).count() == 1
    assert SectionState.select().where(SectionState.audit == audit).count() == 11
    created = AuditEvent.get(AuditEvent.audit == audit)
    assert (created.kind, created.after, created.user_id) == ("status", "not-started", users["agency"].id)


def test_without_an_open_cycle_the_task_list_says_so(client: FlaskClient, users: dict[str, User]) -> None:
    sign_in_as(client, users["agency"])
    page = text_of(body(client.get("/audit/")))
    assert "There is no self-audit open at the moment" in page
    assert Audit.select().count() == 0


@pytest.mark.parametrize("who", ["reviewer", "analyst", "admin"])
def test_only_agency_users_have_a_task_list(
    client: FlaskClient, users: dict[str, User], cycle: AuditCycle, who: str
) -> None:
    sign_in_as(client, users[who])
    assert client.get("/audit/").status_code == 404


# ---------------------------------------------------------------------------------------------
# The whole journey
# ---------------------------------------------------------------------------------------------


def test_the_whole_journey_over_two_visits(
    client: FlaskClient, users: dict[str, User], audit: Audit, s11: Questionnaire
) -> None:
    first, rest = s11.sections[:5], s11.sections[5:]
    page = body(client.get(f"/audit/{audit.id}/{first[0].id}"))
    assert 'name="revision" value="0"' in page and "Have you completed this section?" in page
    assert 'src="/static/autosave.js"' in page and "data-autosave=" in page
    for section in first:
        response = client.post(f"/audit/{audit.id}/{section.id}", data=section_data(section))
        assert response.status_code == 302 and response.headers["Location"] == f"/audit/?saved={section.id}&revision=1"
        assert f"We saved your answers to ‘{section.title}’." in text_of(body(client.get(response.headers["Location"])))
    listed = text_of(body(client.get("/audit/")))
    assert "You have completed 5 of 11 standards" in listed and "Self-audit incomplete" in listed
    client.post("/sign-out")

    sign_in_as(client, users["agency"])
    page = text_of(body(client.get("/audit/")))
    assert "You have completed 5 of 11 standards" in page and page.count("Completed") >= 5
    again = body(client.get(f"/audit/{audit.id}/{first[0].id}"))
    assert 'value="met" checked' in again and "Reviewed by the board every year." in again
    assert 'value="yes" checked' in again
    for section in rest:
        client.post(f"/audit/{audit.id}/{section.id}", data=section_data(section, ratings={"s7.1": "partially-met"}))
    check = text_of(body(client.get(f"/audit/{audit.id}/check")))
    assert "You cannot submit yet" not in check
    assert "Submit your Section 11 self-audit" in check and s11.declaration[:60] in check
    response = submit(client, audit)
    assert response.status_code == 302 and response.headers["Location"] == f"/audit/{audit.id}/confirmation"
    done = text_of(body(client.get(response.headers["Location"])))
    assert "Self-audit submitted" in done and "govuk-panel" in body(client.get(response.headers["Location"]))
    audit = fresh(audit)
    assert audit.status == "submitted" and audit.submitted_by_id == users["agency"].id
    assert audit.declaration == s11.declaration
    assert Response.get(Response.audit == audit).status == "submitted"
    assert [a.question_id for a in Action.select().where(Action.audit == audit)] == ["s7.1-action"]


def test_a_save_says_so_on_the_task_list_only_while_it_is_true_and_leaves_the_session_cookie_alone(
    app: Flask, client: FlaskClient, users: dict[str, User], audit: Audit, s11: Questionnaire
) -> None:
    """The message comes back in the task list's address, not in the session: the save sets no
    cookie. The address is believed only while the standard is at that revision and the person
    reading it saved it: a made-up link, or one a colleague's save has overtaken, shows nothing."""
    section, other = s11.sections[2], s11.sections[3]
    response = client.post(f"/audit/{audit.id}/{section.id}", data=section_data(section))
    assert response.status_code == 302 and "Set-Cookie" not in response.headers
    saved = f"We saved your answers to ‘{section.title}’."
    assert saved in text_of(body(client.get(response.headers["Location"])))
    for made_up in (
        f"saved={section.id}&revision=2",
        f"saved={other.id}&revision=1",
        "saved=nothing&revision=1",
        f"saved={section.id}&revision=one",
        f"saved={section.id}",
    ):
        assert "We saved your answers" not in text_of(body(client.get(f"/audit/?{made_up}"))), made_up
    colleague = app.test_client()
    sign_in_as(colleague, users["colleague"])
    # the colleague's own address says so to them; the same address says nothing to anyone else
    theirs = colleague.post(f"/audit/{audit.id}/{section.id}", data=section_data(section, 1, text="Theirs."))
    assert saved in text_of(body(colleague.get(theirs.headers["Location"])))
    assert "We saved your answers" not in text_of(body(client.get(theirs.headers["Location"])))
    assert "We saved your answers" not in text_of(body(client.get(response.headers["Location"])))


def test_save_and_continue_checks_the_answers_and_asks_if_the_section_is_complete(
    client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    section = s11.sections[0]
    data = section_data(section, ratings={"s1.2": "not-met"})
    del data["section-completed"]
    del data["s1.2-action__what"]
    response = client.post(f"/audit/{audit.id}/{section.id}", data=data)
    page = body(response)
    assert response.status_code == 200 and "<title>Error:" in page
    assert "Select whether you’ve completed this section" in page and 'href="#section-completed"' in page
    assert 'href="#s1.2-action__what"' in page
    assert "Head of safeguarding" in page  # what was typed is shown again
    assert stored(audit) == {} and state_of(audit, "s1").revision == 0

    data = section_data(section, completed="no")
    assert client.post(f"/audit/{audit.id}/{section.id}", data=data).status_code == 302
    assert state_of(audit, "s1").status == "in-progress" and stored(audit)["s1.1"] == "met"
    assert fresh(audit).status == "in-progress"


def test_saying_the_section_is_not_finished_saves_it_as_far_as_it_goes(
    client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    """ "No, I'll come back to it later" with Save and continue asks for nothing more: what is
    answered is saved, and the rest waits, as with "Save and come back later"."""
    section = s11.sections[0]
    data = section_data(section, ratings={"s1.2": "not-met"}, completed="no")
    del data["s1.2-action__what"]  # an unfinished action: required before the section is complete
    response = client.post(f"/audit/{audit.id}/{section.id}", data=data)
    assert response.status_code == 302 and response.headers["Location"].startswith("/audit/?saved=s1")
    assert state_of(audit, "s1").status == "in-progress"
    assert stored(audit)["s1.2"] == "not-met" and stored(audit)["s1.1"] == "met"
    refused = client.post(f"/audit/{audit.id}/{section.id}", data={**data, "section-completed": "yes", "revision": "1"})
    assert refused.status_code == 200 and 'href="#s1.2-action__what"' in body(refused), "complete: all is asked"


def test_typing_sent_with_a_save_that_fails_its_checks_is_kept_until_a_save_goes_through(
    app: Flask, client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    """autosave.js drops what it has not sent when the form is sent, so a Save and continue that
    its checks refuse keeps the page as typed as the person's draft: a closed tab, a crash or a
    session that ends loses nothing. A save that goes through drops it, and no banner is left."""
    app.config["WTF_CSRF_ENABLED"] = True
    section = s11.sections[0]
    path = f"/audit/{audit.id}/{section.id}"
    data = section_data(section, ratings={"s1.2": "not-met"}, text="Typed a second before pressing save")
    del data["s1.2-action__what"]
    forged = client.post(path, data={**data, "csrf_token": "forged"})
    assert forged.status_code == 200 and Draft.select().count() == 0, "another site's post keeps nothing"

    token = page_token(body(client.get(path)))
    refused = client.post(path, data={**data, "csrf_token": token})
    assert refused.status_code == 200 and 'href="#s1.2-action__what"' in body(refused)
    assert "We restored" not in body(refused), "the page shown is the same: its errors, as typed"
    assert stored(audit) == {}

    again = body(client.get(path))  # the tab closed; the page opened again later
    assert "We restored what you typed on" in again and "Typed a second before pressing save" in again
    assert "Head of safeguarding" in again and 'name="revision" value="0"' in again

    fixed = section_data(section, 0, ratings={"s1.2": "not-met"}, text="Typed a second before pressing save")
    saved = client.post(path, data={**fixed, "csrf_token": token})
    assert saved.status_code == 302 and Draft.select().count() == 0
    assert stored(audit)["s1.1-narrative"] == "Typed a second before pressing save"
    assert "Some need checking" not in text_of(body(client.get(saved.headers["Location"])))
    assert "We restored" not in body(client.get(path))


def test_a_new_due_date_in_the_past_is_refused_but_an_action_that_fell_overdue_saves_again(
    client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    section = s11.sections[0]
    today = dt.date.today()  # not the module's TODAY: a run that passes midnight would call it past
    data = section_data(section, ratings={"s1.2": "not-met"})
    data.update(date_parts("s1.2-action__due", today - dt.timedelta(days=1)))
    refused = client.post(f"/audit/{audit.id}/{section.id}", data=data)
    page = body(refused)
    assert refused.status_code == 200 and re.search(
        r"The due date of the action for ‘[^’]+’ must be today or in the future", unescape(page)
    )
    assert 'href="#s1.2-action__due-day"' in page and stored(audit) == {}

    data.update(date_parts("s1.2-action__due", today))  # today is in time
    assert client.post(f"/audit/{audit.id}/{section.id}", data=data).status_code == 302
    # the day passes with the action still open: the page saves again with its date as it was
    overdue = TODAY - dt.timedelta(days=20)
    save_answers(
        Response.get(Response.audit == audit),
        {"s1.2-action": {"what": "Train", "owner": "Lead", "due": overdue.isoformat()}},
    )
    again = {**section_data(section, state_of(audit, "s1").revision, ratings={"s1.2": "not-met"})}
    again.update(
        {"s1.2-action__what": "Train", "s1.2-action__owner": "Lead", **date_parts("s1.2-action__due", overdue)}
    )
    assert client.post(f"/audit/{audit.id}/{section.id}", data=again).status_code == 302
    assert stored(audit)["s1.2-action"]["due"] == overdue.isoformat()
    # as does "Save and come back later", with a new narrative
    later = {**again, "save": "later", "revision": str(state_of(audit, "s1").revision), "s1.1-narrative": "Later."}
    assert client.post(f"/audit/{audit.id}/{section.id}", data=later).status_code == 302
    assert stored(audit)["s1.2-action"]["due"] == overdue.isoformat() and stored(audit)["s1.1-narrative"] == "Later."
    # which keeps the action as it was, not a new past date it was sent with (that waits in the draft)
    later.update({**date_parts("s1.2-action__due", overdue - dt.timedelta(days=2)), "s1.1-narrative": "Later still."})
    later["revision"] = str(state_of(audit, "s1").revision)
    assert client.post(f"/audit/{audit.id}/{section.id}", data=later).status_code == 302
    assert stored(audit)["s1.2-action"]["due"] == overdue.isoformat()
    assert stored(audit)["s1.1-narrative"] == "Later still."
    # but moving it to another past date is refused
    again.update(
        {
            **date_parts("s1.2-action__due", overdue - dt.timedelta(days=1)),
            "revision": str(state_of(audit, "s1").revision),
        }
    )
    assert "must be today or in the future" in body(client.post(f"/audit/{audit.id}/{section.id}", data=again))


def test_evidence_rows_can_be_added_without_saving(client: FlaskClient, audit: Audit, s11: Questionnaire) -> None:
    section = s11.sections[0]
    data = section_data(section)
    data["add-evidence"] = "s1.1-evidence"
    page = body(client.post(f"/audit/{audit.id}/{section.id}", data=data))
    assert 'name="s1.1-evidence__1__title"' in page and "Safeguarding policy 2024" in page
    assert stored(audit) == {}
    adds = re.findall(r'<button[^>]*name="add-evidence"[^>]*>(.*?)</button>', page, re.S)
    assert len(adds) == len({re.sub(r"\s+", " ", a) for a in adds}) > 1, "each item's add button says which"
    # the page comes back with the keyboard in the new row's first box, which the browser scrolls to
    assert re.findall(r"<input[^>]*autofocus[^>]*>", page) == [
        re.search(r'<input[^>]*id="s1.1-evidence__1__title"[^>]*>', page)[0]
    ]


def test_typing_just_before_adding_or_removing_a_row_is_kept_for_the_next_visit(
    client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    """autosave.js drops what it has not sent when the form is sent, so the post that adds or
    removes a row keeps the page as it shows it as the person's draft: a closed tab loses nothing."""
    section = s11.sections[0]
    path = f"/audit/{audit.id}/{section.id}"
    data = section_data(section, text="Typed a second before adding a row")
    data["add-evidence"] = "s1.1-evidence"
    assert client.post(path, data=data).status_code == 200
    assert stored(audit) == {}  # still not saved: a draft, not an answer

    again = body(client.get(path))  # the tab closed; the page opened again later
    assert "We restored what you typed on" in again and "Typed a second before adding a row" in again
    assert re.search(r'id="s1.1-evidence__0__title"[^>]*value="Safeguarding policy 2024"', again)
    added = re.search(r'<input[^>]*id="s1.1-evidence__1__title"[^>]*>', again)
    assert added and 'value="' not in added[0].replace('value=""', "")  # the empty row added is back
    assert "autofocus" not in again, "the keyboard starts at the top, where the banner is"

    data = {**section_data(section, text="Typed before removing"), "s1.1-evidence__1__title": "By mistake"}
    data["remove-evidence"] = "s1.1-evidence__1"
    assert client.post(path, data=data).status_code == 200
    (draft,) = Draft.select()
    assert ["s1.1-narrative", "Typed before removing"] in draft.form
    assert not any(name.startswith("s1.1-evidence__1__") or name == "remove-evidence" for name, _ in draft.form)
    again = body(client.get(path))
    assert "Typed before removing" in again and "By mistake" not in again
    assert 'id="s1.1-evidence__1__title"' not in again

    # the colleague's-save comparison posts the draft back as typed, never as a press of Add
    client.post(path, data={**section_data(section), "add-evidence": "s1.1-evidence"})
    Draft.update(saved_at=dt.datetime(2000, 1, 1), base_revision=None).execute()
    SectionState.update(revision=1, updated_at=dt.datetime(2001, 1, 1)).where(SectionState.audit == audit).execute()
    compare = body(client.get(f"{path}/compare"))
    assert 'name="s1.1-evidence__0__title"' in compare and 'name="add-evidence"' not in compare


def test_adding_a_row_with_a_forged_or_stale_token_keeps_no_draft(
    app: Flask, client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    section = s11.sections[0]
    data = {**section_data(section, text="Sent by another site"), "add-evidence": "s1.1-evidence"}
    page = body(client.post(f"/audit/{audit.id}/{section.id}", data={**data, "csrf_token": "forged"}))
    assert 'name="s1.1-evidence__1__title"' in page  # the page still comes back as typed
    assert Draft.select().count() == 0 and stored(audit) == {}


def summary_links(page: str) -> list[tuple[str, str]]:
    """(target id, words) of each link in the error summary."""
    summary = page.split('class="govuk-list govuk-error-summary__list"', 1)[1].split("</ul>", 1)[0]
    return [(href, unescape(text)) for href, text in re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary)]


def test_a_half_typed_evidence_row_is_removed_and_the_standard_completed(
    client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    section = s11.sections[0]
    path = f"/audit/{audit.id}/{section.id}"
    data = section_data(section)
    data.update({"s1.1-evidence__1__title": "Half typed", "s1.1-evidence__1__date-day": "3"})
    refused = body(client.post(path, data=data))
    assert [href for href, _ in summary_links(refused)] == ["s1.1-evidence__1__type", "s1.1-evidence__1__date-month"]

    response = client.post(path, data={**data, "remove-evidence": "s1.1-evidence__1"})
    page = body(response)
    assert response.status_code == 200 and "There is a problem" not in page and stored(audit) == {}
    assert "Half typed" not in page and 'name="s1.1-evidence__1__title"' not in page
    assert re.search(r'id="s1.1-evidence__0__title"[^>]*value="Safeguarding policy 2024"', page)
    assert re.search(r'name="s1.2-evidence__0__title"[^>]*value="Safeguarding policy 2024"', page)
    assert "Reviewed by the board every year." in page  # nothing else typed is lost
    assert re.search(r'name="section-completed"[^>]*value="yes" checked', page)
    # the keyboard stays on the list the row left, not at the top of the page
    assert re.findall(r"<[a-z]+[^>]*autofocus[^>]*>", page) == [
        re.search(r'<fieldset[^>]*id="s1.1-evidence"[^>]*>', page)[0]
    ]
    assert 'tabindex="-1" autofocus' in page

    assert client.post(path, data=section_data(section)).status_code == 302
    assert state_of(audit, "s1").status == "completed"
    assert [e["title"] for e in stored(audit)["s1.1-evidence"]] == ["Safeguarding policy 2024"]


def test_removing_the_only_evidence_row_leaves_one_empty_row(
    client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    section = s11.sections[0]
    data = {**section_data(section), "remove-evidence": "s1.1-evidence__0"}
    page = body(client.post(f"/audit/{audit.id}/{section.id}", data=data))
    row = re.search(r'<input[^>]*name="s1.1-evidence__0__title"[^>]*>', page)[0]
    assert 'value=""' in row or "value=" not in row
    assert 'name="s1.1-evidence__1__title"' not in page
    assert 'value="s1.1-evidence__0"' not in page, "a lone empty row has no Remove button"
    assert "Remove<span" in page, "the other items' rows still have theirs"


def test_each_error_names_its_evidence_row_and_item_and_links_to_the_box(
    client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    """Every item of a standard asks "What evidence shows this?": the messages say which item's
    list and which row, so no two are the same, and each link lands on the box to correct."""
    section = s11.sections[0]
    data = section_data(section)
    for item in ("s1.1", "s1.2"):
        data.update({f"{item}-evidence__1__type": "policy", f"{item}-evidence__1__link": "not a link"})
    data["s1.3-narrative"] = "x" * 5001
    page = body(client.post(f"/audit/{audit.id}/{section.id}", data=data))
    links = summary_links(page)
    ids = set(re.findall(r'\sid="([^"]+)"', page))
    assert len(links) == 7 and all(href in ids for href, _ in links)
    assert len({text for _, text in links}) == len(links), "no two messages are the same"
    one, two = (
        s11.question("s1.1").text,
        "Does your board or senior team get a safeguarding report at least once a year…",
    )
    assert dict(links) == {
        "s1.1-evidence__1__title": f"Enter the title of evidence 2 for ‘{one}’",
        "s1.1-evidence__1__date-day": f"Enter the date of evidence 2 for ‘{one}’, like 27 3 2024",
        "s1.1-evidence__1__link": f"Enter the link to evidence 2 for ‘{one}’ as a web address starting https://",
        "s1.2-evidence__1__title": f"Enter the title of evidence 2 for ‘{two}’",
        "s1.2-evidence__1__date-day": f"Enter the date of evidence 2 for ‘{two}’, like 27 3 2024",
        "s1.2-evidence__1__link": f"Enter the link to evidence 2 for ‘{two}’ as a web address starting https://",
        "s1.3-narrative": "Your answer to ‘What is going well here, and what could be better?’ for "
        "‘Does your agency take part in the safeguarding partnership and its sub-groups…’ must be 5,000 characters "
        "or fewer (it is 5,001)",
    }


def test_unknown_standard_is_not_found(client: FlaskClient, audit: Audit) -> None:
    assert client.get(f"/audit/{audit.id}/s99").status_code == 404
    assert client.post(f"/audit/{audit.id}/s99", data={"save": "later"}).status_code == 404


# ---------------------------------------------------------------------------------------------
# Save and come back later, autosave and drafts
# ---------------------------------------------------------------------------------------------


def test_a_standards_page_reads_the_user_with_the_audit_and_its_answers_in_one_query(
    app: Flask,
    client: FlaskClient,
    audit: Audit,
    s11: Questionnaire,
    users: dict[str, User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Signing in's read of the user, the audit, the standard's state, its answers and the
    user's draft of the page are one query on a standard's page
    (accounts.session.load_user_with); what it read is what the page uses, a save of the page
    then reads none of it again (store.save_unread), and a deactivated account is signed out
    there as anywhere."""
    from store.db import db as proxy
    from store.prepared import sql_of

    section = s11.section("s2")
    path = f"/audit/{audit.id}/{section.id}"
    assert client.post(path, data=section_data(section, 0, text="First words.")).status_code == 302
    assert client.get(path).status_code == 200  # this process now knows the keys the page reads
    statements: list[str] = []
    run = proxy.obj.execute_sql
    monkeypatch.setattr(
        proxy.obj, "execute_sql", lambda sql, *a, **k: statements.append(sql_of(sql)) or run(sql, *a, **k)
    )
    page = client.get(path).get_data(as_text=True)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # the page's one query first; no read of the signed-in user of its own, nor of the draft (only,
    # later, the name of who saved last)
    assert all(f'"{table}"' in reads[0] for table in ("user", "section_state", "answer", "draft"))
    assert not any('."active" = ' in s or '"draft"' in s for s in reads[1:]), reads
    assert "First words." in page and users["agency"].name in page
    statements.clear()
    response = client.post(path, data=section_data(section, 1, text="Second words."))
    assert response.status_code == 302 and response.headers["Location"] == f"/audit/?saved={section.id}&revision=2"
    # a post of a page this process read saves without reading it again (store.save_unread)
    assert not any(store.PAGE_ANSWERS in s or '."active" = ' in s for s in statements), statements
    if isinstance(proxy.obj, PostgresqlDatabase):  # in one statement, which checks what the read would have
        assert len(statements) == 1 and statements[0].startswith('WITH "ctx"'), statements
    assert stored(audit)["s2.1-narrative"] == "Second words."
    # a draft the page read is shown from that read, and the save drops it
    client.post(f"{path}/draft", data=section_data(section, 2, text="Typed, kept."))
    statements.clear()
    page = client.get(path).get_data(as_text=True)
    assert "We restored what you typed on" in page and "Typed, kept." in page
    assert not any('"draft"' in s for s in statements[1:]), statements
    assert client.post(path, data=section_data(section, 2, text="Third words.")).status_code == 302
    assert Draft.select().count() == 0 and stored(audit)["s2.1-narrative"] == "Third words."
    assert [c.after for c in changes(AuditEvent.select().order_by(AuditEvent.id)) if c.target == "s2.1-narrative"] == [
        "First words.",
        "Second words.",
        "Third words.",
    ]
    User.update(active=False).where(User.id == users["agency"].id).execute()
    signed_out = client.post(path, data=section_data(section, 3, text="Fourth words."))
    assert signed_out.status_code == 302 and signed_out.headers["Location"].startswith("/sign-in")
    assert stored(audit)["s2.1-narrative"] == "Third words."


def test_a_standards_page_works_out_its_address_once_a_request(
    client: FlaskClient, audit: Audit, s11: Questionnaire, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signing in's read works out the page's address (the user's draft of it is read with the
    audit); the page uses that one, for the draft it drops or keeps, not another of its own."""
    import views.audits

    built: list[str] = []
    build = views.audits.url_for
    monkeypatch.setattr(
        views.audits, "url_for", lambda endpoint, **values: built.append(endpoint) or build(endpoint, **values)
    )
    section = s11.section("s2")
    path = f"/audit/{audit.id}/{section.id}"
    assert client.post(path, data=section_data(section, 0, text="First words.")).status_code == 302
    assert built == ["audits.standard", ".index"]
    built.clear()
    client.post(f"{path}/draft", data=section_data(section, 1, text="Typed, kept."))
    built.clear()
    assert "Typed, kept." in client.get(path).get_data(as_text=True)
    assert built.count("audits.standard") == 1
    built.clear()
    assert client.post(path, data=section_data(section, 1, text="Second words.")).status_code == 302
    assert built == ["audits.standard", ".index"] and Draft.select().count() == 0, "the draft at that address dropped"


def test_save_and_come_back_later_saves_what_is_valid_and_keeps_the_rest_as_a_draft(
    client: FlaskClient, users: dict[str, User], audit: Audit, s11: Questionnaire
) -> None:
    section = s11.sections[0]
    client.post(f"/audit/{audit.id}/{section.id}", data=section_data(section, completed="no"))
    evidence_before = stored(audit)["s1.1-evidence"]
    data = section_data(section, revision=1, save="later", text="A new narrative")
    del data["section-completed"]
    data["s1.1-evidence__0__date-day"] = "31"
    data["s1.1-evidence__0__date-month"] = "2"  # 31 February: not a real date
    data["s1.2"] = ""  # cleared: a required answer may be blank until submission
    response = client.post(f"/audit/{audit.id}/{section.id}", data=data)
    assert response.status_code == 302 and response.headers["Location"] == f"/audit/?saved={section.id}&revision=2"
    assert "Some need checking: we kept them as you typed them" in text_of(
        body(client.get(response.headers["Location"]))
    )
    answers = stored(audit)
    assert answers["s1.1-narrative"] == "A new narrative"
    assert answers["s1.1-evidence"] == evidence_before  # the badly typed one leaves the saved one alone
    assert "s1.2" not in answers
    assert state_of(audit, "s1").status == "in-progress"
    draft = Draft.get()
    assert draft.user_id == users["agency"].id and draft.path == f"/audit/{audit.id}/s1"
    assert draft.base_revision == state_of(audit, "s1").revision

    page = body(client.get(f"/audit/{audit.id}/{section.id}"))
    assert "We restored what you typed on" in page and "It is not saved yet" in page
    assert re.search(r'name="s1.1-evidence__0__date-day"[^>]*value="31"', page)
    assert re.search(r'name="s1.1-evidence__0__date-month"[^>]*value="2"', page)

    fixed = section_data(section, revision=state_of(audit, "s1").revision)
    assert client.post(f"/audit/{audit.id}/{section.id}", data=fixed).status_code == 302
    assert Draft.select().count() == 0  # a successful save deletes the draft
    assert "We restored" not in body(client.get(f"/audit/{audit.id}/{section.id}"))


def assert_marked_to_correct(page: str, targets: list[str]) -> None:
    """The page marks the answers at `targets` as the GOV.UK error pattern does: an error title,
    a summary linking to each box, in that order, and the same words by the box."""
    assert "<title>Error: " in page and "There is a problem" in page
    links = summary_links(page)
    assert [href for href, _ in links] == targets
    for href, text in links:
        assert re.search(rf'id="{re.escape(href)}"', page)
        assert f'<span class="govuk-visually-hidden">Error:</span> {text}' in unescape(page)


def test_answers_kept_because_they_could_not_be_saved_come_back_with_their_errors(
    app: Flask, client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    """Coming back to answers that "Save and come back later" could not save, the person sees
    which they are and why, in the GOV.UK error pattern; a blank answer it saved is no error yet."""
    section = s11.sections[0]
    path = f"/audit/{audit.id}/{section.id}"
    data = section_data(section, save="later", completed="no")
    data.update({"s1.1-evidence__0__date-day": "31", "s1.1-evidence__0__date-month": "2", "s1.2": ""})
    data["s1.3-evidence__0__link"] = "not a link"
    assert client.post(path, data=data).status_code == 302
    assert "s1.3-evidence" not in stored(audit) and "s1.2" not in stored(audit)

    app.config["WTF_CSRF_ENABLED"] = True  # a page shown is not a post: no token is checked, none is missing
    page = body(client.get(path))
    app.config["WTF_CSRF_ENABLED"] = False
    words = text_of(page)
    assert "We restored what you typed on" in words and "open too long" not in words
    assert "some answers need correcting before they can be saved" in words
    assert_marked_to_correct(page, ["s1.1-evidence__0__date-day", "s1.3-evidence__0__link"])
    assert "Select an answer to" not in page  # the blank answer was saved blank: nothing to correct yet
    assert re.search(r'name="s1.1-evidence__0__date-day"[^>]*value="31"', page)

    fixed = section_data(section, revision=state_of(audit, "s1").revision)
    assert client.post(path, data=fixed).status_code == 302
    client.post(f"{path}/draft", data=section_data(section, text="Typed, all of it fine"))
    page = body(client.get(path))
    assert "We restored what you typed on" in page and "Typed, all of it fine" in page
    assert "There is a problem" not in page and "need correcting" not in page and "Error:" not in page


def test_autosave_keeps_a_draft_that_comes_back_and_goes_when_saved(
    client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    section = s11.sections[1]
    data = section_data(section, text="Typed but never saved")
    response = client.post(f"/audit/{audit.id}/{section.id}/draft", data=data)
    assert response.status_code == 200 and response.get_json()["kept"] is True
    draft = Draft.get()
    assert ["s2.1-narrative", "Typed but never saved"] in draft.form and draft.base_revision == 0
    assert not any(name == "save" for name, _ in draft.form)
    assert stored(audit) == {}  # a draft is not an answer

    client.post(f"/audit/{audit.id}/{section.id}/draft", data={**data, "s2.1-narrative": "Typed again"})
    assert Draft.select().count() == 1 and ["s2.1-narrative", "Typed again"] in Draft.get().form

    page = text_of(body(client.get(f"/audit/{audit.id}/{section.id}")))
    assert "We restored what you typed on" in page and "Typed again" in page
    assert client.post(f"/audit/{audit.id}/{section.id}", data=data).status_code == 302
    assert Draft.select().count() == 0
    assert stored(audit)["s2.1-narrative"] == "Typed but never saved"


def test_autosave_when_signed_out_answers_401_and_keeps_nothing(
    app: Flask, client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    expire_session(app, client)
    response = client.post(f"/audit/{audit.id}/s1/draft", data={"s1.1-narrative": "x", "revision": "0"})
    assert response.status_code == 401 and response.get_json() == {"kept": False, "reason": "signed-out"}
    assert Draft.select().count() == 0 and KeptPost.select().count() == 0


def test_autosave_refuses_a_forged_request(app: Flask, client: FlaskClient, audit: Audit, s11: Questionnaire) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post(f"/audit/{audit.id}/s1/draft", data={"s1.1-narrative": "x", "csrf_token": "forged"})
    assert response.status_code == 400 and Draft.select().count() == 0


def test_a_draft_older_than_a_colleagues_save_is_offered_for_comparison(
    client: FlaskClient, app: Flask, users: dict[str, User], audit: Audit, s11: Questionnaire
) -> None:
    section = s11.sections[0]
    client.post(f"/audit/{audit.id}/{section.id}/draft", data=section_data(section, text="My old typing"))
    Draft.update(saved_at=dt.datetime(2000, 1, 1)).execute()
    other = app.test_client()
    sign_in_as(other, users["colleague"])
    assert (
        other.post(f"/audit/{audit.id}/{section.id}", data=section_data(section, text="Colleague's")).status_code == 302
    )

    page = text_of(body(client.get(f"/audit/{audit.id}/{section.id}")))
    assert "We restored" not in page and "Colleague's" in page
    assert "Compare your unsaved changes with the saved answers" in page
    compare = client.get(f"/audit/{audit.id}/{section.id}/compare")
    words = text_of(body(compare))
    assert compare.status_code == 200 and "Police Colleague has changed this section" in words
    assert "My old typing" in words and "Colleague's" in words


def titled_as_heading(page: str) -> bool:
    """Whether the page's title starts with what its h1 says (after "Error: " when it shows errors)."""
    title = unescape(re.search(r"<title>(.*?)</title>", page, re.S).group(1)).strip().removeprefix("Error: ")
    heading = unescape(text_of(re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1))).strip()
    return title.startswith(heading + " – ")


# ---------------------------------------------------------------------------------------------
# Two colleagues editing the same standard
# ---------------------------------------------------------------------------------------------


def test_an_edit_based_on_an_older_version_is_shown_never_overwritten(
    client: FlaskClient, app: Flask, users: dict[str, User], audit: Audit, s11: Questionnaire
) -> None:
    section = s11.sections[2]
    assert 'name="revision" value="0"' in body(client.get(f"/audit/{audit.id}/{section.id}"))
    colleague = app.test_client()
    sign_in_as(colleague, users["colleague"])
    theirs = section_data(section, text="The colleague's description")
    assert colleague.post(f"/audit/{audit.id}/{section.id}", data=theirs).status_code == 302
    saved = stored(audit)

    mine = section_data(section, text="My description", ratings={"s3.1": "partially-met"})
    response = client.post(f"/audit/{audit.id}/{section.id}", data=mine)
    page = body(response)
    words = text_of(page)
    assert response.status_code == 409
    assert "Police Colleague has changed this section since you opened it" in words
    assert titled_as_heading(page)
    assert "The colleague's description" in words and "My description" in words
    assert "Partially met" in words and "Use my answers" in words and "Keep my colleague's answers" in words
    assert f"For ‘{s11.question('s3.1').text}’" in words  # a repeated follow-up names its item
    assert stored(audit) == saved  # nothing overwritten
    assert state_of(audit, section.id).updated_by_id == users["colleague"].id
    assert Draft.get().base_revision == 0  # what I typed is kept

    # "Use my answers" posts my answers again with the revision the conflict page carries
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    assert form["revision"] == "1" and form["s3.1"] == "partially-met"
    button = re.search(r'name="save"[^>]*value="(\w+)"|value="(\w+)"[^>]*name="save"', page)
    form["save"] = next(v for v in button.groups() if v)
    assert client.post(f"/audit/{audit.id}/{section.id}", data=form).status_code == 302
    assert stored(audit)["s3.1"] == "partially-met" and stored(audit)["s3.1-narrative"] == "My description"
    assert state_of(audit, section.id).revision == 2 and Draft.select().count() == 0


@pytest.mark.parametrize("revision", ["99999999999999999999", "-99999999999999999999", "2147483648"])
def test_a_made_up_revision_too_large_for_the_database_is_a_conflict_not_an_error(
    client: FlaskClient, audit: Audit, s11: Questionnaire, revision: str
) -> None:
    section = s11.sections[0]
    client.post(f"/audit/{audit.id}/{section.id}", data=section_data(section, text="Saved first."))
    data = {**section_data(section, text="Sent with a made-up revision."), "revision": revision}
    response = client.post(f"/audit/{audit.id}/{section.id}", data=data)
    assert response.status_code == 409 and "has changed this section since you opened it" in body(response)
    assert stored(audit)["s1.1-narrative"] == "Saved first." and state_of(audit, section.id).revision == 1


def test_keeping_the_colleagues_answers_discards_mine(
    client: FlaskClient, app: Flask, users: dict[str, User], audit: Audit, s11: Questionnaire
) -> None:
    section = s11.sections[0]
    colleague = app.test_client()
    sign_in_as(colleague, users["colleague"])
    colleague.post(f"/audit/{audit.id}/{section.id}", data=section_data(section, text="Theirs"))
    assert client.post(f"/audit/{audit.id}/{section.id}", data=section_data(section, text="Mine")).status_code == 409
    response = client.post(f"/audit/{audit.id}/{section.id}/discard")
    assert response.status_code == 302 and response.headers["Location"] == f"/audit/{audit.id}/{section.id}"
    page = body(client.get(response.headers["Location"]))
    assert Draft.select().count() == 0 and "Theirs" in page and "Mine" not in page
    assert stored(audit)["s1.1-narrative"] == "Theirs"


def test_a_stale_page_saving_the_same_answers_is_no_conflict(
    client: FlaskClient, app: Flask, users: dict[str, User], audit: Audit, s11: Questionnaire
) -> None:
    section = s11.sections[0]
    colleague = app.test_client()
    sign_in_as(colleague, users["colleague"])
    colleague.post(f"/audit/{audit.id}/{section.id}", data=section_data(section))
    assert client.post(f"/audit/{audit.id}/{section.id}", data=section_data(section)).status_code == 302
    assert state_of(audit, section.id).revision == 2


# ---------------------------------------------------------------------------------------------
# Carry forward
# ---------------------------------------------------------------------------------------------


def test_carry_forward_copies_the_last_submitted_audit_once(
    client: FlaskClient, users: dict[str, User], cycle: AuditCycle, s11: Questionnaire
) -> None:
    old_cycle = AuditCycle.create(
        name="2023 to 2024 self-audit",
        questionnaire=s11_version(),
        opens_on=LAST_YEAR - dt.timedelta(days=365),
        closes_on=LAST_YEAR,
        is_open=False,
    )
    old = Audit.create(
        cycle=old_cycle, agency=users["agency"].agency, status="submitted", submitted_at=dt.datetime(2024, 3, 1)
    )
    response = Response.create(questionnaire=old_cycle.questionnaire, audit=old)
    save_answers(
        response,
        {
            "s1.1": "not-met",
            "s1.1-narrative": "Last year's words",
            "s1.1-action": {"what": "Appoint a lead", "owner": "Chief officer", "due": "2024-06-30"},
            "s4.1": "not-applicable",
            "s4.1__reason": "We do not work with children directly",
            "gone-question": "dropped",
        },
    )
    sign_in_as(client, users["agency"])
    page = text_of(body(client.get("/audit/")))
    assert "Start from your answers to the last self-audit" in page and "2023 to 2024 self-audit" in page
    audit = Audit.get(Audit.cycle == cycle)
    result = client.post(f"/audit/{audit.id}/carry-forward")
    assert result.status_code == 302
    answers = stored(audit)
    assert answers["s1.1"] == "not-met" and answers["s1.1-narrative"] == "Last year's words"
    assert answers["s1.1-action"]["owner"] == "Chief officer"
    assert answers["s1.1-action"]["due"] is None  # last cycle's date has passed: the agency gives a new one
    assert answers["s4.1__reason"] == "We do not work with children directly"
    assert "gone-question" not in answers
    states = {s.section_id: s.status for s in SectionState.select().where(SectionState.audit == audit)}
    assert states["s1"] == "in-progress" and states["s4"] == "in-progress" and states["s2"] == "not-started"
    assert "completed" not in states.values()
    events = list(AuditEvent.select().where((AuditEvent.audit == audit) & (AuditEvent.kind == "carry-forward")))
    assert len(events) == 1 and events[0].after["from_audit"] == old.id
    page = text_of(body(client.get("/audit/")))
    assert "We copied 5 answers" in page and "Start from your answers" not in page
    client.post(f"/audit/{audit.id}/carry-forward")  # a second time changes nothing
    assert AuditEvent.select().where(AuditEvent.kind == "carry-forward").count() == 1
    assert "Earlier self-audits" in page and "2023 to 2024 self-audit" in page


def test_no_carry_forward_without_a_submitted_earlier_audit(
    client: FlaskClient, users: dict[str, User], audit: Audit
) -> None:
    assert "Start from your answers" not in body(client.get("/audit/"))
    client.post(f"/audit/{audit.id}/carry-forward")
    assert stored(audit) == {} and AuditEvent.select().where(AuditEvent.kind == "carry-forward").count() == 0


# ---------------------------------------------------------------------------------------------
# Check answers and submit
# ---------------------------------------------------------------------------------------------


def test_check_answers_lists_what_to_fix_and_refuses_a_shortfall_without_an_action(
    client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    fill(client, audit, s11)
    section = s11.sections[0]
    data = section_data(section, revision=state_of(audit, "s1").revision, ratings={"s1.2": "not-met"}, save="later")
    for key in [k for k in data if k.startswith("s1.2-action")]:
        del data[key]
    client.post(f"/audit/{audit.id}/{section.id}", data=data)
    assert stored(audit)["s1.2"] == "not-met" and "s1.2-action" not in stored(audit)

    page = body(client.get(f"/audit/{audit.id}/check"))
    words = text_of(page)
    assert titled_as_heading(page)
    assert "You cannot submit yet" in words
    assert "Add an action with an owner and a due date" in words
    assert f'href="/audit/{audit.id}/s1#s1.2-action__what"' in page
    assert "Mark ‘Senior leadership and a board-level lead’ as completed" not in words  # its gap says it
    assert "Submit your Section 11 self-audit" not in words
    assert f'href="/audit/{audit.id}/s2?from=check#s2.1"' in page and ">Change<" in page

    refused = submit(client, audit)
    assert refused.status_code == 200 and "<title>Error:" in body(refused)
    assert "Add an action with an owner and a due date" in text_of(body(refused))
    assert fresh(audit).status == "in-progress" and Action.select().count() == 0
    assert AuditEvent.select().where(AuditEvent.target == "audit", AuditEvent.after == "submitted").count() == 0


def test_sections_not_marked_completed_block_submission(client: FlaskClient, audit: Audit, s11: Questionnaire) -> None:
    fill(client, audit, s11)
    last = s11.sections[-1]
    client.post(
        f"/audit/{audit.id}/{last.id}", data=section_data(last, state_of(audit, last.id).revision, completed="no")
    )
    words = text_of(body(client.get(f"/audit/{audit.id}/check")))
    assert f"Mark ‘{last.title}’ as completed" in words
    assert submit(client, audit).status_code == 200 and fresh(audit).status == "in-progress"


def test_submission_needs_the_declaration(client: FlaskClient, audit: Audit, s11: Questionnaire) -> None:
    fill(client, audit, s11)
    response = client.post(f"/audit/{audit.id}/submit", data={})
    assert response.status_code == 200 and "Select the box to confirm the declaration" in body(response)
    assert 'href="#declaration"' in body(response)
    assert fresh(audit).status == "in-progress"


def test_double_submission_changes_the_status_once_and_makes_one_set_of_actions(
    client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    fill(client, audit, s11, ratings={"s2.1": "partially-met", "s5.2": "not-met"})
    first, second = submit(client, audit), submit(client, audit)
    assert first.headers["Location"] == second.headers["Location"] == f"/audit/{audit.id}/confirmation"
    submitted = AuditEvent.select().where((AuditEvent.kind == "status") & (AuditEvent.target == "audit"))
    assert [e.after for e in submitted].count("submitted") == 1
    assert sorted(a.question_id for a in Action.select()) == ["s2.1-action", "s5.2-action"]
    assert AuditEvent.select().where(AuditEvent.kind == "action").count() == 2
    # back to the check page and submit again: still one submission
    client.get(f"/audit/{audit.id}/check")
    assert submit(client, audit).status_code == 302 and Action.select().count() == 2


def test_confirmation_is_only_shown_for_a_submitted_audit(client: FlaskClient, audit: Audit) -> None:
    response = client.get(f"/audit/{audit.id}/confirmation")
    assert response.status_code == 302 and response.headers["Location"] == f"/audit/{audit.id}/check"


# ---------------------------------------------------------------------------------------------
# After submission
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def submitted(client: FlaskClient, audit: Audit, s11: Questionnaire) -> Audit:
    fill(client, audit, s11, ratings={"s1.2": "partially-met", "s6.3": "not-met"})
    assert submit(client, audit).status_code == 302
    return fresh(audit)


def test_a_submitted_audit_is_read_only(client: FlaskClient, submitted: Audit, s11: Questionnaire) -> None:
    section = s11.sections[0]
    page = body(client.get(f"/audit/{submitted.id}/{section.id}"))
    assert f'action="/audit/{submitted.id}/{section.id}"' not in page and "Save and continue" not in page
    assert "govuk-summary-list" in page and "Reviewed by the board every year." in page
    assert "cannot be changed" in text_of(page)
    before = stored(submitted)
    revision = state_of(submitted, "s1").revision
    refused = client.post(f"/audit/{submitted.id}/{section.id}", data=section_data(section, revision, text="Late"))
    assert refused.status_code == 409 and "your changes were not saved" in text_of(body(refused))
    assert stored(submitted) == before and state_of(submitted, "s1").revision == revision
    assert client.post(f"/audit/{submitted.id}/{section.id}/draft", data={"x": "y"}).status_code == 409
    check = text_of(body(client.get(f"/audit/{submitted.id}/check")))
    assert "Submitted on" in check and "Submit your Section 11 self-audit" not in check and "Change" not in check
    task_list = text_of(body(client.get("/audit/")))
    assert "You submitted this self-audit on" in task_list and "Update progress on your actions" in task_list


@pytest.mark.parametrize("token", [None, "forged"])
def test_a_change_to_a_submitted_audit_keeps_a_draft_only_with_the_pages_token(
    app: Flask, client: FlaskClient, submitted: Audit, s11: Questionnaire, token: str | None
) -> None:
    """What another site posts in the person's name is refused and kept nowhere; the person's own
    late change is refused too, but kept for if a reviewer reopens the audit."""
    app.config["WTF_CSRF_ENABLED"] = True
    section = s11.sections[0]
    path = f"/audit/{submitted.id}/{section.id}"
    data = section_data(section, state_of(submitted, "s1").revision, text="Sent by another site")
    refused = client.post(path, data=data if token is None else {**data, "csrf_token": token})
    assert refused.status_code == 409 and Draft.select().count() == 0
    words = text_of(body(refused))
    assert "your changes were not saved" in words and "We kept them" not in words, "it says only what is so"

    good = page_token(body(client.get(path)))
    late = section_data(section, state_of(submitted, "s1").revision, text="Typed too late")
    refused = client.post(path, data={**late, "csrf_token": good})
    assert refused.status_code == 409 and "We kept them" in text_of(body(refused))
    assert Draft.get().path == path and ["s1.1-narrative", "Typed too late"] in Draft.get().form


def back_link(page: str) -> tuple[str, str]:
    """(address, words) of the page's back link."""
    found = re.search(r'<a href="([^"]+)" class="govuk-back-link">([^<]+)</a>', page)
    return found[1], found[2].strip()


def test_a_read_only_standards_back_link_goes_where_the_person_came_from(
    client: FlaskClient, users: dict[str, User], cycle: AuditCycle, submitted: Audit, s11: Questionnaire
) -> None:
    """From the task list back to it; from the check page (its from=check marker, kept through
    a post) back to that. Never to an address the request names: not the Referer."""
    path = f"/audit/{submitted.id}/s1"
    check = (f"/audit/{submitted.id}/check", "Back to all answers")
    to_task_list = ("/audit/", "Back to your self-audit")
    assert back_link(body(client.get(path))) == to_task_list
    assert back_link(body(client.get(path, headers={"Referer": "https://evil.example/"}))) == to_task_list
    assert back_link(body(client.get(f"{path}?from=check"))) == check
    refused = client.post(path, data={**section_data(s11.sections[0]), "return_to": "check"})
    assert refused.status_code == 409 and back_link(body(refused)) == check
    assert back_link(body(client.post(path, data=section_data(s11.sections[0])))) == to_task_list

    # the task list shows the open cycle's audit: an earlier one's way back is to its answers
    AuditCycle.update(is_open=False).where(AuditCycle.id == cycle.id).execute()
    assert back_link(body(client.get(path))) == check
    AuditCycle.update(is_open=True).where(AuditCycle.id == cycle.id).execute()
    sign_in_as(client, users["reviewer"])  # who has no task list
    assert back_link(body(client.get(path))) == check


def test_a_reopened_audit_can_be_changed_and_submitted_again(
    client: FlaskClient, users: dict[str, User], submitted: Audit, s11: Questionnaire
) -> None:
    Action.update(progress=40).where(Action.question_id == "s1.2-action").execute()
    Audit.update(status="reopened").where(Audit.id == submitted.id).execute()
    section = s11.sections[0]
    assert "Save and continue" in body(client.get(f"/audit/{submitted.id}/{section.id}"))
    data = section_data(section, state_of(submitted, "s1").revision, ratings={"s1.2": "met"})
    assert client.post(f"/audit/{submitted.id}/{section.id}", data=data).status_code == 302
    assert stored(submitted)["s1.2"] == "met" and fresh(submitted).status == "reopened"
    assert submit(client, submitted).status_code == 302
    assert fresh(submitted).status == "submitted"
    assert [a.question_id for a in Action.select()] == ["s6.3-action"]  # s1.2 is met now
    removed = AuditEvent.get((AuditEvent.kind == "action") & (AuditEvent.after.is_null()))
    assert removed.target == "s1.2-action" and removed.before["what"]


def test_action_progress_is_updated_and_recorded(client: FlaskClient, users: dict[str, User], submitted: Audit) -> None:
    page = body(client.get(f"/audit/{submitted.id}/actions"))
    action = Action.get(Action.question_id == "s1.2-action")
    assert "Train every manager in the new procedure" in page and f'name="progress-{action.id}"' in page
    seen = re.search(rf'name="seen-{action.id}" value="([^"]+)"', page).group(1)
    other = Action.get(Action.question_id == "s6.3-action")
    other_seen = re.search(rf'name="seen-{other.id}" value="([^"]+)"', page).group(1)
    form = {
        f"progress-{action.id}": "60%",
        f"note-{action.id}": "Half the managers trained",
        f"seen-{action.id}": seen,
        f"progress-{other.id}": "0",
        f"note-{other.id}": "",
        f"seen-{other.id}": other_seen,
    }
    response = client.post(f"/audit/{submitted.id}/actions", data=form)
    assert response.status_code == 302
    action = Action.get_by_id(action.id)
    assert (action.progress, action.progress_note) == (60, "Half the managers trained")
    event = AuditEvent.get(AuditEvent.kind == "action-progress")
    assert event.user_id == users["agency"].id and event.target == "s1.2-action"
    assert event.before == {"progress": 0, "note": None} and event.after == {
        "progress": 60,
        "note": "Half the managers trained",
    }
    page = body(client.get(f"/audit/{submitted.id}/actions"))
    assert "Your progress was saved" in page and "govuk-notification-banner--success" in page
    same = {**form}
    for one in (action, other):
        same[f"seen-{one.id}"] = re.search(rf'name="seen-{one.id}" value="([^"]+)"', page).group(1)
    assert client.post(f"/audit/{submitted.id}/actions", data=same).status_code == 302
    page = body(client.get(f"/audit/{submitted.id}/actions"))
    assert "Nothing had changed, so there was nothing to save." in page
    assert "govuk-notification-banner--success" not in page, "nothing saved is not shown as a success"

    bad = client.post(f"/audit/{submitted.id}/actions", data={**form, f"progress-{action.id}": "150"})
    assert bad.status_code == 200 and "Enter progress as a whole number from 0 to 100" in body(bad)
    assert 'value="150"' in body(bad) and Action.get_by_id(action.id).progress == 60
    assert f'href="#progress-{action.id}"' in body(bad) and f"for ‘{action.what}’" in unescape(body(bad))
    labelled = f'How much is done <span class="govuk-visually-hidden">for ‘{action.what}’</span>'
    assert labelled in unescape(body(bad)), "the same label on every action says which one to a screen reader"

    long_note = client.post(f"/audit/{submitted.id}/actions", data={**form, f"note-{action.id}": "x" * 2001})
    page = body(long_note)
    assert f"The note on ‘{action.what}’ must be 2,000 characters or fewer" in unescape(page)
    assert f'href="#note-{action.id}"' in page and f'id="note-{action.id}-error"' in page, "on the note, not the %"
    assert f'id="progress-{action.id}-error"' not in page and Action.get_by_id(action.id).progress_note == (
        "Half the managers trained"
    )

    stale = client.post(f"/audit/{submitted.id}/actions", data={**form, f"progress-{action.id}": "80"})
    assert f"Someone updated ‘{action.what}’ to 60%" in unescape(body(stale))
    assert Action.get_by_id(action.id).progress == 60
    assert AuditEvent.select().where(AuditEvent.kind == "action-progress").count() == 1


def test_an_overdue_action_is_tagged(client: FlaskClient, submitted: Audit) -> None:
    assert "Overdue" not in body(client.get(f"/audit/{submitted.id}/actions"))
    Action.update(due=TODAY - dt.timedelta(days=1)).where(Action.question_id == "s1.2-action").execute()
    page = text_of(body(client.get(f"/audit/{submitted.id}/actions")))
    assert page.count("Overdue") == 1
    assert page.index("Overdue") < page.index("Head of safeguarding")  # on the overdue one, listed first


def test_before_submission_there_are_no_actions_yet(client: FlaskClient, audit: Audit) -> None:
    assert "There are no actions yet" in body(client.get(f"/audit/{audit.id}/actions"))


def test_a_reviewer_reads_a_submitted_audit_but_cannot_change_it(
    client: FlaskClient, users: dict[str, User], submitted: Audit, s11: Questionnaire
) -> None:
    sign_in_as(client, users["reviewer"])
    read = body(client.get(f"/audit/{submitted.id}/check"))
    assert "Police Lead" in text_of(read) and "Your Section 11" not in read
    heading = f"{submitted.agency.name}’s Section 11 self-audit answers"
    assert f'<h1 class="govuk-heading-l">{heading}</h1>' in unescape(read) and titled_as_heading(read)
    assert f'href="/review/audits/{submitted.id}"' in read, "back to moderating it"
    before = stored(submitted)
    section = s11.sections[0]
    assert client.post(f"/audit/{submitted.id}/{section.id}", data=section_data(section, 99)).status_code == 409
    action = Action.get(Action.question_id == "s1.2-action")
    assert client.post(f"/audit/{submitted.id}/actions", data={f"progress-{action.id}": "90"}).status_code == 409
    assert stored(submitted) == before and Action.get_by_id(action.id).progress == 0
    assert Draft.select().count() == 0


def test_an_audit_in_a_closed_cycle_cannot_be_changed(
    client: FlaskClient, audit: Audit, cycle: AuditCycle, s11: Questionnaire
) -> None:
    AuditCycle.update(is_open=False).execute()
    section = s11.sections[0]
    assert "Save and continue" not in body(client.get(f"/audit/{audit.id}/{section.id}"))
    assert client.post(f"/audit/{audit.id}/{section.id}", data=section_data(section)).status_code == 409
    assert stored(audit) == {}
    assert "There is no self-audit open at the moment" in text_of(body(client.get("/audit/")))


# ---------------------------------------------------------------------------------------------
# Access: another agency's audit does not exist
# ---------------------------------------------------------------------------------------------

ROUTES: list[tuple[str, str]] = [
    ("GET", "/audit/{id}/s1"),
    ("POST", "/audit/{id}/s1"),
    ("GET", "/audit/{id}/s1/compare"),
    ("GET", "/audit/{id}/s1/discard"),
    ("POST", "/audit/{id}/s1/discard"),
    ("POST", "/audit/{id}/s1/draft"),
    ("GET", "/audit/{id}/check"),
    ("GET", "/audit/{id}/submit"),
    ("POST", "/audit/{id}/submit"),
    ("GET", "/audit/{id}/confirmation"),
    ("GET", "/audit/{id}/actions"),
    ("POST", "/audit/{id}/actions"),
    ("GET", "/audit/{id}/carry-forward"),
    ("POST", "/audit/{id}/carry-forward"),
]


@pytest.mark.parametrize("state", ["in-progress", "submitted"])
def test_another_agencys_audit_is_not_found_on_any_route(
    client: FlaskClient, users: dict[str, User], audit: Audit, s11: Questionnaire, state: str
) -> None:
    """Every route, GET and POST, for an audit of another agency and for a made-up id alike."""
    Audit.update(status=state).where(Audit.id == audit.id).execute()
    action = Action.create(audit=audit, question_id="s1.1-action", what="x", owner="y", due=TODAY)
    sign_in_as(client, users["other-agency"])
    data = {**section_data(s11.sections[0]), "declaration": "confirmed", f"progress-{action.id}": "50"}
    for method, route in ROUTES:
        for url in (route.format(id=audit.id), route.format(id=audit.id + 1000)):
            response = client.open(url, method=method, data=data if method == "POST" else None)
            assert response.status_code == 404, f"{method} {url}"
            assert "Page not found" in body(response), f"{method} {url}"
    assert stored(audit) == {} and Draft.select().count() == 0 and fresh(audit).status == state
    assert Action.get_by_id(action.id).progress == 0 and KeptPost.select().count() == 0


@pytest.mark.parametrize("who", ["analyst", "reviewer"])
def test_readers_of_results_cannot_see_an_unsubmitted_audit(
    client: FlaskClient, users: dict[str, User], audit: Audit, who: str
) -> None:
    sign_in_as(client, users[who])
    assert client.get(f"/audit/{audit.id}/check").status_code == 404
    assert client.get(f"/audit/{audit.id}/s1").status_code == 404


# ---------------------------------------------------------------------------------------------
# Nothing lost when the session expires
# ---------------------------------------------------------------------------------------------


def test_a_post_after_the_session_expired_is_kept_and_shown_after_signing_in(
    app: Flask, client: FlaskClient, users: dict[str, User], audit: Audit, s11: Questionnaire
) -> None:
    section = s11.sections[0]
    expire_session(app, client)
    data = section_data(section, text="Typed before the timeout")
    response = client.post(f"/audit/{audit.id}/{section.id}", data=data)
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert stored(audit) == {}
    signed = client.post(response.headers["Location"], data={"email": users["agency"].email, "password": PASSWORD})
    assert signed.headers["Location"] == f"/audit/{audit.id}/{section.id}"
    page = body(client.get(signed.headers["Location"]))
    assert "We kept what you typed, but it is not saved yet. Check it and save." in page
    assert "Typed before the timeout" in page and 'name="revision" value="0"' in page
    assert "There is a problem" not in page and "Error:" not in page  # all of it can be saved
    assert KeptPost.select().count() == 0  # taken once
    assert "We kept what you typed" not in body(client.get(signed.headers["Location"]))
    assert stored(audit) == {}  # shown, not saved, until the person saves it


@pytest.mark.parametrize("ended", ["timed out", "account deactivated"])
def test_a_post_kept_when_the_session_expired_is_not_shown_to_someone_else_signing_in(
    app: Flask, client: FlaskClient, users: dict[str, User], audit: Audit, s11: Questionnaire, ended: str
) -> None:
    """A shared office computer: one person's session ends as they save, and a colleague signs in
    there next. What the first typed is theirs (as their drafts are): the colleague gets the saved
    page, not a banner offering someone else's unsaved words as "what you typed"."""
    section = s11.sections[0]
    path = f"/audit/{audit.id}/{section.id}"
    if ended == "timed out":
        expire_session(app, client)
    else:
        User.update(active=False).where(User.id == users["agency"].id).execute()
    response = client.post(path, data=section_data(section, text="Only mine to see"))
    assert "/sign-in" in response.headers["Location"]
    signed = client.post(response.headers["Location"], data={"email": users["colleague"].email, "password": PASSWORD})
    assert signed.headers["Location"] == path
    page = body(client.get(path))
    assert "Only mine to see" not in page and "We kept what you typed" not in page
    assert stored(audit) == {}


def test_answers_kept_when_the_session_expired_come_back_with_the_errors_they_have(
    app: Flask, client: FlaskClient, users: dict[str, User], audit: Audit, s11: Questionnaire
) -> None:
    """What was posted as the session ended is shown after signing in as a draft is: the answers
    that cannot be saved as typed are marked, in the GOV.UK error pattern, and the banner says so."""
    section = s11.sections[0]
    path = f"/audit/{audit.id}/{section.id}"
    data = section_data(section, save="later", text="Typed before the timeout")
    data.update({"s1.1-evidence__0__date-day": "31", "s1.1-evidence__0__date-month": "2"})
    data["s1.3-evidence__0__link"] = "not a link"
    expire_session(app, client)
    response = client.post(path, data=data)
    signed = client.post(response.headers["Location"], data={"email": users["agency"].email, "password": PASSWORD})
    assert signed.headers["Location"] == path

    page = body(client.get(path))
    words = text_of(page)
    assert "We kept what you typed, but it is not saved yet, and some answers need correcting" in words
    assert_marked_to_correct(page, ["s1.1-evidence__0__date-day", "s1.3-evidence__0__link"])
    assert re.search(r'name="s1.1-evidence__0__date-day"[^>]*value="31"', page)
    assert "Typed before the timeout" in page and stored(audit) == {}


def test_a_submission_after_the_session_expired_comes_back_to_the_check_page(
    app: Flask, client: FlaskClient, users: dict[str, User], audit: Audit, s11: Questionnaire
) -> None:
    fill(client, audit, s11)
    expire_session(app, client)
    response = submit(client, audit)
    assert "/sign-in" in response.headers["Location"] and fresh(audit).status == "in-progress"
    signed = client.post(response.headers["Location"], data={"email": users["agency"].email, "password": PASSWORD})
    page = client.get(signed.headers["Location"], follow_redirects=True)
    assert "We kept what you typed" in body(page) and 'value="confirmed" checked' in body(page)


def test_action_progress_posted_after_the_session_expired_is_kept(
    app: Flask, client: FlaskClient, users: dict[str, User], submitted: Audit
) -> None:
    action = Action.get(Action.question_id == "s1.2-action")
    expire_session(app, client)
    response = client.post(f"/audit/{submitted.id}/actions", data={f"progress-{action.id}": "75"})
    signed = client.post(response.headers["Location"], data={"email": users["agency"].email, "password": PASSWORD})
    page = body(client.get(signed.headers["Location"]))
    assert "We kept what you typed" in page and 'value="75"' in page and Action.get_by_id(action.id).progress == 0


# ---------------------------------------------------------------------------------------------
# The audit trail
# ---------------------------------------------------------------------------------------------


def test_every_change_is_in_the_trail_with_who_when_before_and_after(
    client: FlaskClient, app: Flask, users: dict[str, User], audit: Audit, s11: Questionnaire
) -> None:
    section = s11.sections[0]
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=5)
    client.post(f"/audit/{audit.id}/{section.id}", data=section_data(section, completed="no"))
    colleague = app.test_client()
    sign_in_as(colleague, users["colleague"])
    colleague.post(f"/audit/{audit.id}/{section.id}", data=section_data(section, 1, ratings={"s1.3": "not-met"}))
    rows = list(AuditEvent.select().where(AuditEvent.audit == audit).order_by(AuditEvent.id))
    assert [(e.kind, e.user_id) for e in rows if e.kind == SAVE_KIND] == [  # a row a save
        (SAVE_KIND, users["agency"].id),
        (SAVE_KIND, users["colleague"].id),
    ]
    events = changes(rows)
    assert all(e.at >= started for e in events)
    first = next(e for e in events if e.kind == "answer" and e.target == "s1.3")
    assert (first.user_id, first.before, first.after) == (users["agency"].id, None, "met")
    change = [e for e in events if e.kind == "answer" and e.target == "s1.3"][-1]
    assert (change.user_id, change.before, change.after) == (users["colleague"].id, "met", "not-met")
    action = next(e for e in events if e.target == "s1.3-action")
    assert action.before is None and action.after["owner"] == "Head of safeguarding"
    statuses = [(e.target, e.before, e.after) for e in events if e.kind == "status"]
    assert ("audit", "not-started", "in-progress") in statuses
    assert ("section:s1", "not-started", "in-progress") in statuses
    assert ("section:s1", "in-progress", "completed") in statuses
    unchanged = [e for e in events if e.kind == "answer" and e.target == "s1.1"]
    assert len(unchanged) == 1  # saved twice, changed once


def test_a_standards_form_reads_the_other_standards_answers_its_conditions_name(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A standard's form is given only the answers on other pages that its conditions name (a
    condition reads nothing else): asked, validated and stored as with every other answer. The
    page reads only those and its own (a read-only page reads them all, for `prior`)."""
    from werkzeug.datastructures import MultiDict

    from forms import build_form_class
    from questionnaires import load_all
    from store.models import Answer
    from tests.forms.test_builder import with_question
    from views.audits import StandardPage

    shipped = load_all()["s11-self-audit"]
    narrative = shipped.section("s2").questions[1]
    s11 = with_question(shipped, narrative.id, show_if={"question": "s1.1", "equals": "not-met"}, required=True)
    section = s11.section("s2")
    for rating in ("met", "not-met"):
        stored = {"s1.1": rating, "s1.2": "met", "s1.1-evidence": [{"title": "A", "date": "2024-01-02"}], "s2.1": "met"}
        as_stored = {k: Answer.value.db_value(v) for k, v in stored.items()}
        reads: list[set[str] | None] = []
        monkeypatch.setattr(
            "views.audits.answers_as_stored",
            lambda response, keys, reads=reads, held=as_stored: (
                reads.append(set(keys)) or {k: v for k, v in held.items() if k in keys}
            ),
        )
        monkeypatch.setattr(
            "views.audits.load_answers_as_stored",
            lambda response, reads=reads, held=as_stored: reads.append(None) or held,
        )
        page = StandardPage(None, s11, section, 2, None, None)
        assert page.asked_prior == {"s1.1": rating}
        assert page.prior == {k: v for k, v in stored.items() if not k.startswith("s2")}
        assert page.stored == {"s2.1": "met"}
        own = {k for q in section.questions for k in ((q.id, q.id + "__reason") if q.type == "rating" else (q.id,))}
        assert reads == [{"s1.1"} | own, None]
        posted = MultiDict([(q.id, "met") for q in section.questions if q.type == "rating"])
        with app.test_request_context(method="POST"):
            form = page.form(posted)
            whole = build_form_class(s11, section, prior=page.prior)(formdata=posted, prior=page.prior)
            assert (form.validate(), form.error_list(), form.answers()) == (
                whole.validate(),
                whole.error_list(),
                whole.answers(),
            )
            asked = narrative.id in {q.id for q in form.questions}
            assert asked == (rating == "not-met") and bool(form.error_list()) == asked


def submit_task(page: str) -> str:
    """The task list's "Check your answers and submit" task, as HTML."""
    return re.search(r'<ul class="govuk-task-list">(?:(?!</ul>).)*Check your answers and submit.*?</ul>', page, re.S)[0]


def test_checking_and_submitting_cannot_start_until_every_standard_is_completed(
    client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    """The GOV.UK task list's task that cannot be started yet: no link, the status in grey, a
    hint saying why. The check page, which lists what is left to do, is linked to apart from it."""
    fill(client, audit, s11)
    last = s11.sections[-1]
    client.post(
        f"/audit/{audit.id}/{last.id}", data=section_data(last, state_of(audit, last.id).revision, completed="no")
    )
    page = body(client.get("/audit/"))
    task = submit_task(page)
    assert "<a " not in task and "govuk-task-list__item--with-link" not in task
    assert re.search(
        r'class="govuk-task-list__status govuk-task-list__status--cannot-start-yet"[^>]*>\s*Cannot start yet', task
    )
    assert "You can do this when you have completed every standard." in text_of(task)
    assert "Not yet started" not in task
    view = re.search(rf'<a class="govuk-link" href="/audit/{audit.id}/check">([^<]+)</a>', page)
    assert view and view[1] == "View your answers so far and what is left to do"
    assert f"Mark ‘{last.title}’ as completed" in text_of(body(client.get(f"/audit/{audit.id}/check")))


def test_with_every_section_completed_the_task_list_says_it_is_ready(
    client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    fill(client, audit, s11)
    html = body(client.get("/audit/"))
    page = text_of(html)
    assert "You have completed 11 of 11 standards" in page
    assert "Ready to check and submit" in page and "Self-audit incomplete" not in page
    task = submit_task(html)
    assert f'href="/audit/{audit.id}/check"' in task and "Ready to check" in task and "Cannot start yet" not in task
    assert "View your answers so far" not in page


def test_a_change_made_from_the_check_page_goes_back_to_it(
    client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    fill(client, audit, s11)
    section = s11.sections[1]
    check = body(client.get(f"/audit/{audit.id}/check"))
    assert f'href="/audit/{audit.id}/{section.id}?from=check"' in check
    page = body(client.get(f"/audit/{audit.id}/{section.id}?from=check"))
    assert 'name="return_to" value="check"' in page and f'href="/audit/{audit.id}/check"' in page
    data = section_data(section, state_of(audit, section.id).revision, text="Changed from the check page")
    data["return_to"] = "check"
    del data["section-completed"]  # a mistake first: the page comes back, still on its way to the check page
    again = body(client.post(f"/audit/{audit.id}/{section.id}", data=data))
    assert 'name="return_to" value="check"' in again
    data["section-completed"] = "yes"
    saved = client.post(f"/audit/{audit.id}/{section.id}", data=data)
    assert saved.status_code == 302 and saved.headers["Location"] == f"/audit/{audit.id}/check"
    assert "Changed from the check page" in text_of(body(client.get(f"/audit/{audit.id}/check")))
    plain = section_data(section, state_of(audit, section.id).revision)
    assert client.post(f"/audit/{audit.id}/{section.id}", data=plain).headers["Location"].startswith("/audit/?saved=")


def test_others_read_an_agencys_actions_as_that_agencys(
    client: FlaskClient, users: dict[str, User], submitted: Audit
) -> None:
    mine = body(client.get(f"/audit/{submitted.id}/actions"))
    assert '<h1 class="govuk-heading-l">Your actions</h1>' in mine and "enter how much of it is done" in mine
    sign_in_as(client, users["analyst"])
    theirs = unescape(body(client.get(f"/audit/{submitted.id}/actions")))
    assert f'<h1 class="govuk-heading-l">{submitted.agency.name}’s actions</h1>' in theirs
    assert "Your actions" not in theirs and "enter how much of it is done" not in theirs
    assert "as the agency last recorded it" in theirs and 'name="progress-' not in theirs

"""The administrator's pages: every page, every form's messages, and who may use them (only admins)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from accounts import access
from accounts.passwords import check_password
from store import admin as store
from store import surveys
from store.models import (
    Agency,
    Audit,
    AuditCycle,
    AuditEvent,
    KeptPost,
    QuestionnaireVersion,
    SurveyLink,
    SurveyRound,
    SurveyToken,
    User,
)
from tests.conftest import PASSWORD, sign_in_as
from tests.views.test_review import refused_as_too_long

CODE = r"<code>([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})</code>"
DEFINITIONS = Path(__file__).resolve().parents[2] / "questionnaires" / "definitions"
NEXT = dt.date.today().year + 1  # the forms refuse a cycle or round that has already closed


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def version(audience: str, questionnaire_id: str | None = None) -> QuestionnaireVersion:
    query = QuestionnaireVersion.select().where(QuestionnaireVersion.audience == audience)
    if questionnaire_id:
        query = query.where(QuestionnaireVersion.questionnaire_id == questionnaire_id)
    return query.order_by(QuestionnaireVersion.id).first()


def dates(prefix: str, day: int, month: int, year: int) -> dict[str, str]:
    return {f"{prefix}-day": str(day), f"{prefix}-month": str(month), f"{prefix}-year": str(year)}


def period(questionnaire: QuestionnaireVersion, name: str = "S11 2026", open_now: str = "yes") -> dict[str, str]:
    return {
        "name": name,
        "questionnaire": str(questionnaire.id),
        **dates("opens_on", 1, 4, NEXT),
        **dates("closes_on", 31, 3, NEXT + 1),
        "open_now": open_now,
    }


@pytest.fixture
def admin(client: FlaskClient, users: dict[str, User]) -> FlaskClient:
    return sign_in_as(client, users["admin"])


@pytest.fixture
def world(users: dict[str, User], agencies: dict[str, Agency]) -> dict[str, Any]:
    """One of everything an admin URL can name: a cycle with a submitted audit, a round, links."""
    me = users["admin"]
    cycle = store.create_cycle("S11 2026", version("agency"), dt.date(2026, 4, 1), dt.date(2027, 3, 31), True, me)
    audit = Audit.get((Audit.cycle == cycle) & (Audit.agency == agencies["police"]))
    Audit.update(status="submitted").where(Audit.id == audit.id).execute()
    survey_round = store.create_round(
        "Workshops spring",
        version("practitioner", "practitioner-workshop"),
        dt.date(2026, 4, 1),
        dt.date(2026, 6, 30),
        True,
        me,
    )
    link = store.create_link(survey_round, "Neglect workshop", "device", None, me)
    token_link, _, _ = store.create_link_with_codes(survey_round, "Coded workshop", None, 3, me)
    return {
        "agency_id": agencies["police"].id,
        "user_id": users["agency"].id,
        "cycle_id": cycle.id,
        "audit_id": audit.id,
        "round_id": survey_round.id,
        "link_id": token_link.id,
        "device_link_id": link.id,
        "version_id": version("agency").id,
    }


def admin_urls(app: Flask, world: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """Every route of the admin blueprint with real ids filled in, and its methods."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        url = re.sub(r"<any\(([^,)]*)[^)]*\):change>", lambda m: m.group(1).strip(), rule.rule)
        url = re.sub(r"<int:(\w+)>", lambda m: str(world[m.group(1)]), url)
        assert "<" not in url, url
        found.append((url, tuple(sorted(rule.methods & {"GET", "POST"}))))
    return found


# ---------------------------------------------------------------------------------------------
# Who may use the pages


def test_every_admin_page_renders_for_an_admin(app: Flask, admin: FlaskClient, world) -> None:
    urls = admin_urls(app, world)
    assert len(urls) >= 25
    for url, _ in urls:
        response = admin.get(url)
        assert response.status_code in (200, 302), url
        if response.status_code == 200 and response.mimetype == "text/html":
            assert "There is a problem" not in text(response), url


@pytest.mark.parametrize("who", ["agency", "reviewer", "analyst"])
def test_other_roles_get_not_found_on_every_admin_route(app, client, users, world, who) -> None:
    sign_in_as(client, users[who])
    before = AuditEvent.select().count()
    for url, methods in admin_urls(app, world):
        for method in methods:
            response = client.open(url, method=method, data={"name": "Hacked", "password": "x" * 20})
            assert response.status_code == 404, (method, url)
            assert "Page not found" in text(response)
    assert AuditEvent.select().count() == before
    assert Audit.get_by_id(world["audit_id"]).status == "submitted"
    assert User.get_by_id(users["agency"].id).active


def test_visitors_are_asked_to_sign_in_on_every_admin_route(app, client, world) -> None:
    for url, methods in admin_urls(app, world):
        for method in methods:
            response = client.open(url, method=method)
            assert response.status_code == 302, (method, url)
            assert response.headers["Location"].startswith("/sign-in?next="), url


def test_navigation_shows_administration_to_admins_only(client, users) -> None:
    sign_in_as(client, users["admin"])
    assert 'href="/admin/"' in text(client.get("/"))
    client.post("/sign-out")
    sign_in_as(client, users["reviewer"])
    assert 'href="/admin/"' not in text(client.get("/"))


def test_home_page_counts(admin: FlaskClient, world) -> None:
    page = text(admin.get("/admin/"))
    assert "2 agencies" in page
    assert "6 active" in page
    assert "1 cycle, 1 open" in page
    assert "1 round, 1 open" in page


# ---------------------------------------------------------------------------------------------
# Agencies


def test_agencies_are_listed_with_their_users_and_audits(admin: FlaskClient, world) -> None:
    page = text(admin.get("/admin/agencies/"))
    row = page[page.index("Shire Police") :]
    assert re.search(r"Police</td>\s*<td[^>]*>2</td>\s*<td[^>]*>1</td>", row)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "", "sector": "health"}, "Enter the agency&#39;s name"),
        ({"name": "   ", "sector": "health"}, "Enter the agency&#39;s name"),
        ({"name": "x" * 201, "sector": "health"}, "The agency&#39;s name must be 200 characters or fewer"),
        ({"name": "Shire School"}, "Select the agency&#39;s sector"),
        ({"name": "Shire School", "sector": "space"}, "Select the agency&#39;s sector"),
        ({"name": "shire POLICE", "sector": "police"}, "An agency called Shire Police already exists"),
    ],
)
def test_adding_an_agency_checks_what_was_typed(admin: FlaskClient, agencies, form, message) -> None:
    response = admin.post("/admin/agencies/new", data=form)
    page = text(response)
    assert response.status_code == 200
    assert "<title>Error: Add an agency" in page
    assert "There is a problem" in page and message in page
    assert Agency.select().count() == 2


def test_adding_an_agency_gives_it_an_audit_in_open_cycles(admin: FlaskClient, users, agencies) -> None:
    store.create_cycle(
        "Closed one", version("agency"), dt.date(2024, 4, 1), dt.date(2025, 3, 31), False, users["admin"]
    )
    store.create_cycle("Open one", version("agency"), dt.date(2026, 4, 1), dt.date(2027, 3, 31), True, users["admin"])
    response = admin.post("/admin/agencies/new", data={"name": "  Shire Academy Trust ", "sector": "education"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/agencies/"
    agency = Agency.get(Agency.name == "Shire Academy Trust")
    assert [a.cycle.name for a in agency.audits] == ["Open one"]
    assert "Shire Academy Trust added" in text(admin.get("/admin/agencies/"))
    event = AuditEvent.get(AuditEvent.target == f"agency:{agency.id}")
    assert (event.kind, event.user_id, event.after) == (
        "admin",
        users["admin"].id,
        {"name": "Shire Academy Trust", "sector": "education"},
    )


def test_editing_an_agency(admin: FlaskClient, agencies) -> None:
    police = agencies["police"]
    page = text(admin.get(f"/admin/agencies/{police.id}"))
    assert 'value="Shire Police"' in page and 'value="police" checked' in page
    taken = admin.post(f"/admin/agencies/{police.id}", data={"name": "Shire Community Health", "sector": "police"})
    assert "An agency called Shire Community Health already exists" in text(taken)
    same = admin.post(f"/admin/agencies/{police.id}", data={"name": "Shire Police", "sector": "police"})
    assert same.status_code == 302
    renamed = admin.post(f"/admin/agencies/{police.id}", data={"name": "Shire Constabulary", "sector": "police"})
    assert renamed.status_code == 302
    assert Agency.get_by_id(police.id).name == "Shire Constabulary"
    event = AuditEvent.select().where(AuditEvent.target == f"agency:{police.id}").get()
    assert event.before == {"name": "Shire Police", "sector": "police"}
    assert admin.get("/admin/agencies/999999").status_code == 404


# ---------------------------------------------------------------------------------------------
# Users


def new_user(**changes: str) -> dict[str, str]:
    return {
        "email": "New.Person@Example.org",
        "name": "New Person",
        "role": "agency",
        "agency": "",
        "password": "a long enough password",
    } | changes


def test_users_are_listed(admin: FlaskClient, users) -> None:
    page = text(admin.get("/admin/users/"))
    for user in users.values():
        assert user.email in page
    assert "Agency user" in page and "Administrator" in page and "Never" in page


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (new_user(email=""), "Enter an email address"),
        (new_user(email="not-an-email"), "Enter an email address in the correct format, like name@example.com"),
        (new_user(email="two@@example.org"), "Enter an email address in the correct format"),
        (new_user(email="POLICE-LEAD@example.org"), "A user with this email address already exists"),
        (new_user(name=""), "Enter the user&#39;s full name"),
        (new_user(role=""), "Select the user&#39;s role"),
        (new_user(role="superuser"), "Select the user&#39;s role"),
        (new_user(role="agency", agency=""), "Select the user&#39;s agency"),
        (new_user(role="agency", agency="999999"), "Select the user&#39;s agency"),
        (new_user(password=""), "Enter a password"),
        (new_user(password="short"), "Password must be 12 characters or more"),
    ],
)
def test_adding_a_user_checks_what_was_typed(admin: FlaskClient, users, form, message) -> None:
    count = User.select().count()
    page = text(admin.post("/admin/users/new", data=form))
    assert "There is a problem" in page and message in page
    assert User.select().count() == count
    assert "a long enough password" not in page  # a password is never sent back


def test_adding_an_agency_user(admin: FlaskClient, client: FlaskClient, agencies) -> None:
    response = admin.post("/admin/users/new", data=new_user(agency=str(agencies["health"].id)))
    assert response.status_code == 302
    user = User.get(User.email == "new.person@example.org")
    assert (user.role, user.agency_id, user.active) == ("agency", agencies["health"].id, True)
    assert check_password(user.password_hash, "a long enough password")
    event = AuditEvent.get(AuditEvent.target == f"user:{user.id}")
    assert "a long enough password" not in json.dumps(event.after) and user.password_hash not in json.dumps(event.after)
    client.post("/sign-out")
    signed = client.post("/sign-in", data={"email": "new.person@example.org", "password": "a long enough password"})
    assert signed.status_code == 302


def test_other_roles_never_belong_to_an_agency(admin: FlaskClient, agencies) -> None:
    """The agency list is revealed under "Agency user" only: a choice left there is ignored."""
    admin.post("/admin/users/new", data=new_user(role="reviewer", agency=str(agencies["police"].id)))
    assert User.get(User.email == "new.person@example.org").agency_id is None


def test_changing_a_users_role_and_agency(admin: FlaskClient, users, agencies) -> None:
    lead = users["agency"]
    page = text(admin.get(f"/admin/users/{lead.id}"))
    assert f'<option value="{agencies["police"].id}" selected>' in page and 'value="agency" checked' in page
    moved = admin.post(
        f"/admin/users/{lead.id}", data={"name": "Police Lead", "role": "agency", "agency": str(agencies["health"].id)}
    )
    assert moved.status_code == 302
    assert User.get_by_id(lead.id).agency_id == agencies["health"].id
    admin.post(f"/admin/users/{lead.id}", data={"name": "Now Reviewer", "role": "reviewer", "agency": ""})
    changed = User.get_by_id(lead.id)
    assert (changed.name, changed.role, changed.agency_id) == ("Now Reviewer", "reviewer", None)
    assert AuditEvent.select().where(AuditEvent.target == f"user:{lead.id}").count() == 2


def test_an_admin_cannot_change_their_own_role(admin: FlaskClient, users) -> None:
    me = users["admin"]
    page = text(admin.post(f"/admin/users/{me.id}", data={"name": "Admin", "role": "analyst"}))
    assert "You cannot change your own role" in page
    assert User.get_by_id(me.id).role == "admin"


def test_deactivating_and_reactivating_a_user(admin: FlaskClient, client: FlaskClient, users) -> None:
    lead = users["agency"]
    confirm = text(admin.get(f"/admin/users/{lead.id}/deactivate"))
    assert "Deactivate Police Lead&#39;s account?" in confirm
    assert admin.post(f"/admin/users/{lead.id}/deactivate").status_code == 302
    assert User.get_by_id(lead.id).active is False
    assert "Deactivated" in text(admin.get("/admin/users/"))
    client.post("/sign-out")
    refused = client.post("/sign-in", data={"email": lead.email, "password": PASSWORD})
    assert refused.status_code == 200
    sign_in_as(client, users["admin"])
    assert client.post(f"/admin/users/{lead.id}/reactivate").status_code == 302
    assert User.get_by_id(lead.id).active is True


def test_a_deactivated_user_is_signed_out_at_once(app: Flask, users) -> None:
    theirs, mine = app.test_client(), app.test_client()
    sign_in_as(theirs, users["analyst"])
    sign_in_as(mine, users["admin"])
    mine.post(f"/admin/users/{users['analyst'].id}/deactivate")
    assert theirs.get("/session").get_json()["signed_in"] is False


def test_an_admin_cannot_deactivate_themselves(admin: FlaskClient, users) -> None:
    me = users["admin"]
    page = text(admin.post(f"/admin/users/{me.id}/deactivate"))
    assert "You cannot deactivate your own account" in page
    assert User.get_by_id(me.id).active is True


def test_setting_a_new_password(admin: FlaskClient, users) -> None:
    lead = users["agency"]
    short = text(admin.post(f"/admin/users/{lead.id}/password", data={"password": "too short"}))
    assert "Password must be 12 characters or more" in short
    assert check_password(User.get_by_id(lead.id).password_hash, PASSWORD)
    assert admin.post(f"/admin/users/{lead.id}/password", data={"password": "brand new passphrase"}).status_code == 302
    assert check_password(User.get_by_id(lead.id).password_hash, "brand new passphrase")
    event = AuditEvent.select().where(AuditEvent.target == f"user:{lead.id}").get()
    assert event.after == {"password": "changed"}


# ---------------------------------------------------------------------------------------------
# Audit cycles


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "Enter a name"),
        ({"questionnaire": ""}, "Select the questionnaire version"),
        ({"open_now": ""}, "Select whether to open it now"),
        (dates("opens_on", "", "", ""), "Enter the opening date"),
        (dates("closes_on", 31, 2, NEXT + 1), "The closing date must be a real date"),
        (dates("opens_on", 1, "", NEXT), "The opening date must include a month"),
        (dates("closes_on", 1, 4, NEXT), "The closing date must be after the opening date"),
        (dates("closes_on", 1, 1, NEXT), "The closing date must be after the opening date"),
    ],
)
def test_creating_a_cycle_checks_what_was_typed(admin: FlaskClient, agencies, changes, message) -> None:
    page = text(admin.post("/admin/cycles/new", data=period(version("agency")) | changes))
    assert "There is a problem" in page and message in page
    assert AuditCycle.select().count() == 0 and Audit.select().count() == 0


def test_a_cycle_answers_an_s11_questionnaire_only(admin: FlaskClient, agencies) -> None:
    survey = version("practitioner")
    page = text(admin.get("/admin/cycles/new"))
    assert f'value="{version("agency").id}"' in page and f'value="{survey.id}"' not in page
    refused = text(admin.post("/admin/cycles/new", data=period(survey)))
    assert "Select the questionnaire version" in refused


def test_date_errors_link_to_the_box_in_error(admin: FlaskClient, agencies) -> None:
    page = text(admin.post("/admin/cycles/new", data=period(version("agency")) | dates("opens_on", 1, "", NEXT)))
    assert 'href="#opens_on-month"' in page
    assert re.search(r'class="[^"]*govuk-input--error"[^>]*id="opens_on-month"', page)
    assert not re.search(r'class="[^"]*govuk-input--error"[^>]*id="opens_on-day"', page)


def test_creating_a_cycle_creates_one_audit_per_agency(admin: FlaskClient, users, agencies) -> None:
    response = admin.post("/admin/cycles/new", data=period(version("agency")))
    cycle = AuditCycle.get()
    assert response.headers["Location"] == f"/admin/cycles/{cycle.id}"
    audits = list(cycle.audits)
    assert sorted(a.agency_id for a in audits) == sorted(a.id for a in agencies.values())
    assert {a.status for a in audits} == {"not-started"}
    assert (cycle.opens_on, cycle.closes_on, cycle.is_open) == (dt.date(NEXT, 4, 1), dt.date(NEXT + 1, 3, 31), True)
    page = text(admin.get(f"/admin/cycles/{cycle.id}"))
    assert "S11 2026 created, with an audit for each agency" in page
    assert "Shire Police" in page and "Shire Community Health" in page
    event = AuditEvent.get(AuditEvent.target == f"cycle:{cycle.id}")
    assert event.after["audits"] == 2 and event.after["opens_on"] == f"{NEXT}-04-01"


@pytest.mark.parametrize(
    ("url", "audience", "model"), [("cycles", "agency", AuditCycle), ("rounds", "child", SurveyRound)]
)
def test_a_cycle_or_round_cannot_close_before_today(admin: FlaskClient, agencies, url, audience, model) -> None:
    """It would be made already closed: agencies could not answer it, its links would say closed."""
    today = dt.date.today()
    yesterday = today - dt.timedelta(days=1)
    opening = dates("opens_on", 1, 1, today.year - 1)
    data = (
        period(version(audience), "Typed last")
        | opening
        | dates("closes_on", yesterday.day, yesterday.month, yesterday.year)
    )
    page = text(admin.post(f"/admin/{url}/new", data=data))
    assert "<title>Error: " in page
    assert "The closing date must be today or later" in page and 'href="#closes_on-day"' in page
    assert 'value="Typed last"' in page and model.select().count() == 0
    today_closes = data | dates("closes_on", today.day, today.month, today.year)
    assert admin.post(f"/admin/{url}/new", data=today_closes).status_code == 302
    assert model.get().closes_on == today


@pytest.mark.parametrize(
    ("url", "audience", "maker", "message"),
    [
        ("cycles", "agency", store.create_cycle, "An audit cycle called S11 2027 already exists"),
        ("rounds", "child", store.create_round, "A survey round called S11 2027 already exists"),
    ],
)
def test_a_cycle_or_round_name_is_not_used_twice(
    admin: FlaskClient, users, agencies, url, audience, maker, message
) -> None:
    """Results, downloads and the reviewer's lists name a cycle or round by its name alone."""
    taken = maker("S11 2027", version(audience), dt.date(NEXT, 4, 1), dt.date(NEXT + 1, 3, 31), True, users["admin"])
    page = text(admin.post(f"/admin/{url}/new", data=period(version(audience), " s11 2027 ")))
    assert "<title>Error: " in page and f"{message}: give this one a different name" in page
    assert 'href="#name"' in page and 'value="s11 2027"' in page
    assert type(taken).select().count() == 1


def test_closing_a_cycle_stops_agency_edits(admin: FlaskClient, users, world) -> None:
    cycle_id = world["cycle_id"]
    audit = Audit.get((Audit.cycle == cycle_id) & (Audit.agency == users["other-agency"].agency_id))
    assert access.can_edit_audit(users["other-agency"], audit)
    assert "Agencies will no longer be able to change" in text(admin.get(f"/admin/cycles/{cycle_id}/close"))
    assert admin.post(f"/admin/cycles/{cycle_id}/close").headers["Location"] == f"/admin/cycles/{cycle_id}"
    audit = Audit.get_by_id(audit.id)
    assert audit.cycle.is_open is False
    assert not access.can_edit_audit(users["other-agency"], audit)
    assert access.can_update_actions(users["other-agency"], audit)
    assert "is already closed" in text(admin.get(f"/admin/cycles/{cycle_id}/close"))
    admin.post(f"/admin/cycles/{cycle_id}/open")
    assert access.can_edit_audit(users["other-agency"], Audit.get_by_id(audit.id))
    changes = [e.after["is_open"] for e in AuditEvent.select().where(AuditEvent.target == f"cycle:{cycle_id}")]
    assert changes == [True, False, True]


def test_opening_a_cycle_gives_new_agencies_their_audit(admin: FlaskClient, users, world) -> None:
    admin.post(f"/admin/cycles/{world['cycle_id']}/close")
    late = store.create_agency("Late Joiners", "housing", users["admin"])
    assert not late.audits.exists()
    admin.post(f"/admin/cycles/{world['cycle_id']}/open")
    assert Audit.get(Audit.agency == late).status == "not-started"


def test_reopening_a_submitted_audit(admin: FlaskClient, users, world) -> None:
    cycle_id, audit_id = world["cycle_id"], world["audit_id"]
    page = text(admin.get(f"/admin/cycles/{cycle_id}"))
    assert f"/admin/cycles/{cycle_id}/audits/{audit_id}/reopen" in page
    assert "Reopen the audit by Shire Police?" in text(admin.get(f"/admin/cycles/{cycle_id}/audits/{audit_id}/reopen"))
    response = admin.post(f"/admin/cycles/{cycle_id}/audits/{audit_id}/reopen")
    assert response.headers["Location"] == f"/admin/cycles/{cycle_id}"
    assert "The audit by Shire Police is reopened" in text(admin.get(response.headers["Location"]))
    audit = Audit.get_by_id(audit_id)
    assert audit.status == "reopened"
    assert access.can_edit_audit(users["agency"], audit)
    event = AuditEvent.get((AuditEvent.audit == audit_id) & (AuditEvent.kind == "audit"))
    assert (event.user_id, event.before, event.after) == (
        users["admin"].id,
        {"status": "submitted"},
        {"status": "reopened"},
    )
    again = text(admin.post(f"/admin/cycles/{cycle_id}/audits/{audit_id}/reopen"))
    assert "only a submitted audit can be reopened" in again
    assert AuditEvent.select().where(AuditEvent.audit == audit_id).count() == 1


def test_reopening_in_a_closed_cycle_warns_that_it_must_be_opened_too(admin: FlaskClient, world) -> None:
    admin.post(f"/admin/cycles/{world['cycle_id']}/close")
    page = text(admin.get(f"/admin/cycles/{world['cycle_id']}/audits/{world['audit_id']}/reopen"))
    assert "The cycle is closed: open it as well" in page


def test_reopening_checks_the_audit_is_in_the_cycle(admin: FlaskClient, users, world) -> None:
    other = store.create_cycle(
        "Next", version("agency"), dt.date(2027, 4, 1), dt.date(2028, 3, 31), True, users["admin"]
    )
    assert admin.post(f"/admin/cycles/{other.id}/audits/{world['audit_id']}/reopen").status_code == 404
    assert admin.post(f"/admin/cycles/{world['cycle_id']}/audits/999999/reopen").status_code == 404
    assert Audit.get_by_id(world["audit_id"]).status == "submitted"


def _reopen_url(world: dict[str, Any]) -> str:
    return f"/admin/cycles/{world['cycle_id']}/audits/{world['audit_id']}/reopen"


def test_an_administrator_says_why_they_reopen_and_the_agency_reads_it(
    client: FlaskClient, admin: FlaskClient, users, world
) -> None:
    form = text(admin.get(_reopen_url(world)))
    assert 'name="reason"' in form and "Why are you reopening this audit? (optional)" in form
    assert "You can enter up to 1000 characters" in form
    assert "govuk-button--warning" in form, "as on the reviewer's page (the accessibility walk sends no such form)"
    reason = "Standard 4 has no dates.\r\n<b>Add them</b> & submit again."
    response = admin.post(_reopen_url(world), data={"reason": reason})
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/cycles/{world['cycle_id']}"
    event = AuditEvent.get((AuditEvent.audit == world["audit_id"]) & (AuditEvent.kind == "audit"))
    assert (event.user_id, event.after) == (
        users["admin"].id,
        {"status": "reopened", "reason": "Standard 4 has no dates.\n<b>Add them</b> & submit again."},
    )
    client.post("/sign-out")

    sign_in_as(client, users["agency"])
    tasks = text(client.get("/audit/"))
    assert (
        "This self-audit has been reopened" in tasks
        and "A reviewer" not in tasks
        and '<p class="govuk-body">Standard 4 has no dates.</p>' in tasks
    )
    assert "&lt;b&gt;Add them&lt;/b&gt; &amp; submit again." in tasks and "<b>Add them</b>" not in tasks
    client.post("/sign-out")
    sign_in_as(client, users["other-agency"])
    assert "no dates" not in text(client.get("/audit/"))


def test_an_empty_reason_from_an_administrator_reopens_without_one(
    client: FlaskClient, admin: FlaskClient, users, world
) -> None:
    """The box says it is optional, and left empty (or blank) it reopens with no reason kept."""
    assert "Why are you reopening this audit? (optional)" in text(admin.get(_reopen_url(world)))
    assert admin.post(_reopen_url(world), data={"reason": " \r\n  "}).status_code == 302
    assert Audit.get_by_id(world["audit_id"]).status == "reopened"
    assert AuditEvent.get(AuditEvent.audit == world["audit_id"]).after == {"status": "reopened"}
    client.post("/sign-out")
    sign_in_as(client, users["agency"])
    tasks = text(client.get("/audit/"))
    assert "This self-audit has been reopened" in tasks and "Why it was reopened" not in tasks


def test_an_administrators_reason_too_long_is_refused_and_reopens_nothing(admin: FlaskClient, world) -> None:
    typed = "Look again at standard 6. " + "x" * 1000
    refused_as_too_long(admin.post(_reopen_url(world), data={"reason": typed}), typed)
    assert Audit.get_by_id(world["audit_id"]).status == "submitted"
    assert not AuditEvent.select().where(AuditEvent.audit == world["audit_id"]).exists()
    assert admin.post(_reopen_url(world), data={"reason": "y" * 1000}).status_code == 302, "the limit is allowed"
    assert AuditEvent.get(AuditEvent.audit == world["audit_id"]).after == {"status": "reopened", "reason": "y" * 1000}


def test_an_administrators_reason_without_the_pages_token_reopens_nothing(
    app: Flask, admin: FlaskClient, world
) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    page = text(admin.post(_reopen_url(world), data={"reason": "Check standard 5"}))
    assert "This page was open for too long, so nothing was changed" in page and "Check standard 5" in page
    assert Audit.get_by_id(world["audit_id"]).status == "submitted"
    assert not AuditEvent.select().where(AuditEvent.audit == world["audit_id"]).exists()


def test_an_administrators_reason_posted_after_the_session_expired_comes_back(
    app: Flask, admin: FlaskClient, users, world
) -> None:
    with admin.session_transaction() as session:
        session["seen"] = int(time.time()) - app.config["SESSION_IDLE_MINUTES"] * 60 - 1
    response = admin.post(_reopen_url(world), data={"reason": "Typed before the timeout"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    assert Audit.get_by_id(world["audit_id"]).status == "submitted"
    back = admin.post(
        "/sign-in",
        query_string={"next": _reopen_url(world)},
        data={"email": users["admin"].email, "password": PASSWORD},
    )
    page = text(admin.get(back.headers["Location"]))
    assert "You were signed out before this was done" in page and "Typed before the timeout</textarea>" in page
    assert Audit.get_by_id(world["audit_id"]).status == "submitted", "shown again, not done"


# ---------------------------------------------------------------------------------------------
# Survey rounds and links


def test_creating_a_survey_round(admin: FlaskClient, agencies) -> None:
    page = text(admin.get("/admin/rounds/new"))
    assert f'value="{version("agency").id}"' not in page
    assert f'value="{version("child").id}"' in page and f'value="{version("family").id}"' in page
    refused = text(admin.post("/admin/rounds/new", data=period(version("agency"), "Wrong")))
    assert "Select the questionnaire version" in refused
    response = admin.post("/admin/rounds/new", data=period(version("child"), "Children 2026", open_now="no"))
    survey_round = SurveyRound.get(SurveyRound.name == "Children 2026")
    assert response.headers["Location"] == f"/admin/rounds/{survey_round.id}"
    assert survey_round.is_open is False
    admin.post(f"/admin/rounds/{survey_round.id}/open")
    assert SurveyRound.get_by_id(survey_round.id).is_open is True
    admin.post(f"/admin/rounds/{survey_round.id}/close")
    assert SurveyRound.get_by_id(survey_round.id).is_open is False
    assert "Children 2026" in text(admin.get("/admin/rounds/"))


def test_a_device_link_shows_its_full_address(admin: FlaskClient, agencies, world) -> None:
    round_id = world["round_id"]
    response = admin.post(
        f"/admin/rounds/{round_id}/links/new",
        data={"label": "Workshop 2", "mode": "device", "agency": str(agencies["health"].id)},
    )
    assert response.headers["Location"] == f"/admin/rounds/{round_id}"
    link = SurveyLink.get(SurveyLink.label == "Workshop 2")
    assert (link.mode, link.agency_id, link.is_active, len(link.slug)) == ("device", agencies["health"].id, True, 12)
    assert not link.tokens.exists()
    page = text(admin.get(f"/admin/rounds/{round_id}"))
    assert f"http://localhost/s/{link.slug}" in page


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"label": "", "mode": "device"}, "Enter a label for the link, like the workshop&#39;s name"),
        ({"label": "W", "mode": ""}, "Select how people answer"),
        ({"label": "W", "mode": "tokens", "count": ""}, "Enter how many codes to make"),
        ({"label": "W", "mode": "tokens", "count": "ten"}, "The number of codes must be a whole number, like 30"),
        ({"label": "W", "mode": "tokens", "count": "0"}, "The number of codes must be between 1 and 500"),
        ({"label": "W", "mode": "tokens", "count": "501"}, "The number of codes must be between 1 and 500"),
        ({"label": "W", "mode": "device", "agency": "999999"}, "Select an agency from the list, or leave it blank"),
    ],
)
def test_adding_a_link_checks_what_was_typed(admin: FlaskClient, world, form, message) -> None:
    links = SurveyLink.select().count()
    page = text(admin.post(f"/admin/rounds/{world['round_id']}/links/new", data=form))
    assert "There is a problem" in page and message in page
    assert SurveyLink.select().count() == links


def test_agencies_are_offered_for_practitioner_surveys_only(admin: FlaskClient, users, agencies) -> None:
    child = store.create_round(
        "Children", version("child"), dt.date(2026, 4, 1), dt.date(2026, 6, 1), True, users["admin"]
    )
    assert 'name="agency"' not in text(admin.get(f"/admin/rounds/{child.id}/links/new"))
    refused = admin.post(
        f"/admin/rounds/{child.id}/links/new",
        data={"label": "School", "mode": "device", "agency": str(agencies["police"].id)},
    )
    assert "Select an agency from the list" in text(refused)


def test_single_use_codes_are_shown_once_and_only_hashes_are_stored(admin: FlaskClient, db, world) -> None:
    round_id = world["round_id"]
    response = admin.post(
        f"/admin/rounds/{round_id}/links/new", data={"label": "Coded", "mode": "tokens", "count": "25"}
    )
    link = SurveyLink.get(SurveyLink.label == "Coded")
    assert response.headers["Location"] == f"/admin/links/{link.id}/codes"
    page = text(admin.get(f"/admin/links/{link.id}/codes"))
    codes = re.findall(CODE, page)
    assert len(codes) == 25 == len(set(codes))
    assert "You will not see these codes again" in page
    stored = {t.token_hash for t in link.tokens}
    assert stored == {hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in codes}
    assert surveys.usable_code(link, " " + codes[0].lower().replace("-", " ")) == codes[0].replace("-", "")
    dump = "\n".join(str(row) for row in db.execute_sql("SELECT * FROM survey_token").fetchall())
    assert not any(code.replace("-", "") in dump or code in dump for code in codes)
    assert not any(code in json.dumps(e.after) for e in AuditEvent.select() for code in codes)
    with admin.session_transaction() as session:
        assert not any(code in json.dumps(dict(session)) for code in codes)

    download = admin.get(f"/admin/links/{link.id}/codes.csv")
    assert download.mimetype == "text/csv" and "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(text(download))))
    assert rows[0] == ["code", "link", "label"]
    assert [r[0] for r in rows[1:]] == codes and rows[1][1] == f"http://localhost/s/{link.slug}"

    done = admin.post(f"/admin/links/{link.id}/codes")
    assert done.headers["Location"] == f"/admin/rounds/{round_id}"
    again = text(admin.get(f"/admin/links/{link.id}/codes"))
    assert "These codes are no longer shown" in again and codes[0] not in again
    assert admin.get(f"/admin/links/{link.id}/codes.csv").headers["Location"] == f"/admin/links/{link.id}/codes"
    assert "0 of 25 codes used" in text(admin.get(f"/admin/rounds/{round_id}"))


def test_codes_are_forgotten_after_an_hour(admin: FlaskClient, world) -> None:
    link_id = world["link_id"]
    admin.post(f"/admin/links/{link_id}/codes/new", data={"count": "2"})
    assert len(re.findall(CODE, text(admin.get(f"/admin/links/{link_id}/codes")))) == 2
    with admin.session_transaction() as session:
        session["admin_codes"] = {**session["admin_codes"], "at": int(time.time()) - 3601}
    assert "These codes are no longer shown" in text(admin.get(f"/admin/links/{link_id}/codes"))


@pytest.mark.parametrize("ended", ["idle", "deactivated"])
def test_codes_go_with_the_session_when_it_ends(admin: FlaskClient, world, users, ended: str) -> None:
    """The session cookie is signed, not hidden: the seed in it stands for every code. When the
    session ends by itself (left idle, or the account deactivated), the seed goes with it, as it
    does on signing out, so whoever uses the browser next cannot read the codes out of it."""
    link_id = world["link_id"]
    admin.post(f"/admin/links/{link_id}/codes/new", data={"count": "2"})
    with admin.session_transaction() as session:
        assert "admin_codes" in session
        if ended == "idle":
            session["seen"] = int(time.time()) - 31 * 60
    if ended == "deactivated":
        User.update(active=False).where(User.id == users["admin"].id).execute()
    assert admin.get(f"/admin/links/{link_id}/codes").status_code == 302  # to sign in
    with admin.session_transaction() as session:
        assert "admin_codes" not in session and "user_id" not in session
    User.update(active=True).where(User.id == users["admin"].id).execute()
    sign_in_as(admin, users["admin"])
    assert "These codes are no longer shown" in text(admin.get(f"/admin/links/{link_id}/codes"))


def test_more_codes_for_a_link(admin: FlaskClient, world) -> None:
    link_id = world["link_id"]
    assert "The number of codes must be between 1 and 500" in text(
        admin.post(f"/admin/links/{link_id}/codes/new", data={"count": "900"})
    )
    assert admin.post(f"/admin/links/{link_id}/codes/new", data={"count": "4"}).status_code == 302
    assert SurveyToken.select().where(SurveyToken.link == link_id).count() == 3 + 4
    assert admin.get(f"/admin/links/{world['device_link_id']}/codes/new").status_code == 404


def test_codes_of_one_link_are_not_shown_on_another(admin: FlaskClient, world) -> None:
    admin.post(f"/admin/links/{world['link_id']}/codes/new", data={"count": "2"})
    assert "These codes are no longer shown" in text(admin.get(f"/admin/links/{world['device_link_id']}/codes"))


def test_deactivating_a_link(admin: FlaskClient, world) -> None:
    link_id = world["device_link_id"]
    assert admin.post(f"/admin/links/{link_id}/deactivate").status_code == 302
    assert SurveyLink.get_by_id(link_id).is_active is False
    assert "Deactivated" in text(admin.get(f"/admin/rounds/{world['round_id']}"))
    assert "already deactivated" in text(admin.get(f"/admin/links/{link_id}/deactivate"))
    admin.post(f"/admin/links/{link_id}/reactivate")
    assert SurveyLink.get_by_id(link_id).is_active is True


def test_a_formula_in_a_label_is_neutralised_in_the_codes_file(admin: FlaskClient, world) -> None:
    admin.post(
        f"/admin/rounds/{world['round_id']}/links/new",
        data={"label": "=HYPERLINK(1)", "mode": "tokens", "count": "1"},
    )
    link = SurveyLink.get(SurveyLink.label == "=HYPERLINK(1)")
    rows = list(csv.reader(io.StringIO(text(admin.get(f"/admin/links/{link.id}/codes.csv")))))
    assert rows[1][2] == "'=HYPERLINK(1)"


# ---------------------------------------------------------------------------------------------
# Questionnaires


def workshop_v2() -> bytes:
    data = json.loads((DEFINITIONS / "practitioner-workshop.json").read_text(encoding="utf-8"))
    data["version"] = 2
    data["title"] = "Multi-agency workshop feedback (2026)"
    return json.dumps(data).encode()


def upload(client: FlaskClient, content: bytes, name: str = "workshop.json") -> Any:
    return client.post(
        "/admin/questionnaires/new",
        data={"file": (io.BytesIO(content), name), "text": ""},
        content_type="multipart/form-data",
    )


def test_questionnaire_versions_are_listed(admin: FlaskClient) -> None:
    page = text(admin.get("/admin/questionnaires/"))
    for row in QuestionnaireVersion.select():
        assert row.questionnaire_id in page
    assert "shipped with the service" in page
    assert 'href="/preview/s11-self-audit/"' in page


def test_a_stored_version_shows_its_questions(admin: FlaskClient) -> None:
    row = version("agency")
    page = text(admin.get(f"/admin/questionnaires/{row.id}"))
    assert row.title in page and "rating" in page
    assert admin.get("/admin/questionnaires/999999").status_code == 404


def test_uploading_a_new_version(admin: FlaskClient, users) -> None:
    response = upload(admin, workshop_v2())
    assert response.headers["Location"] == "/admin/questionnaires/"
    row = QuestionnaireVersion.get(
        (QuestionnaireVersion.questionnaire_id == "practitioner-workshop") & (QuestionnaireVersion.version == 2)
    )
    assert (row.loaded_by_id, row.audience, row.title) == (
        users["admin"].id,
        "practitioner",
        "Multi-agency workshop feedback (2026)",
    )
    page = text(admin.get("/admin/questionnaires/"))
    assert "Multi-agency workshop feedback (2026) version 2 loaded from workshop.json" in page
    assert "by Admin" in page
    assert AuditEvent.get(AuditEvent.target == f"questionnaire:{row.id}").after["questionnaire"] == (
        "practitioner-workshop@2"
    )
    assert f'value="{row.id}"' in text(admin.get("/admin/rounds/new"))


def test_pasting_a_new_version(admin: FlaskClient) -> None:
    response = admin.post("/admin/questionnaires/new", data={"text": workshop_v2().decode()})
    assert response.status_code == 302
    assert "loaded from pasted definition" in text(admin.get("/admin/questionnaires/"))


def test_a_broken_definition_lists_every_problem_and_stores_nothing(admin: FlaskClient) -> None:
    data = json.loads(workshop_v2())
    data["version"] = 3
    data["audience"] = "aliens"
    del data["title"]
    data["sections"][0]["questions"][0]["scale"] = "no-such-scale"
    count = QuestionnaireVersion.select().count()
    response = upload(admin, json.dumps(data).encode(), "broken <b>.json")
    page = text(response)
    assert response.status_code == 200 and "<title>Error: Load a questionnaire version" in page
    assert "found in broken &lt;b&gt;.json. Nothing was loaded." in page
    assert "$.title: is required but missing" in page
    assert "$.audience:" in page
    assert re.search(r"\$\.sections\[0\]\.questions\[0\]\.scale: ", page)
    assert 'href="#file"' in page
    assert QuestionnaireVersion.select().count() == count
    assert not AuditEvent.select().where(AuditEvent.target.startswith("questionnaire:")).exists()


def test_the_field_a_broken_definition_came_from_says_what_to_do(admin: FlaskClient) -> None:
    """The summary links to the file or pasted box; that field must carry the GOV.UK inline error."""
    data = json.loads(workshop_v2())
    data["sections"][0]["questions"][0]["show_if"] = {"question": "no-such-question", "equals": "yes"}
    uploaded = text(upload(admin, json.dumps(data).encode(), "workshop-v2.json"))
    assert uploaded.count('class="govuk-error-summary"') == 1 and 'href="#file"' in uploaded
    assert "govuk-form-group--error" in uploaded and "govuk-file-upload--error" in uploaded
    assert re.search(
        r'id="file-error" class="govuk-error-message">.*Error:</span> Correct the problem listed above in '
        r"workshop-v2.json, then upload the file again",
        uploaded,
    )
    pasted = text(admin.post("/admin/questionnaires/new", data={"text": json.dumps(data)}))
    assert pasted.count('class="govuk-error-summary"') == 1 and 'href="#text"' in pasted
    assert "govuk-textarea--error" in pasted and "no-such-question" in pasted
    assert "Correct the problem listed above, then select Check and load again" in pasted


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b'{"id": "x",',
            "$: not valid JSON: Expecting property name enclosed in double quotes at line 1, column 12",
        ),
        (b"\xff\xfe{}", "$: is not UTF-8 text"),
        (b"[]", "$: should be an object, not []"),
    ],
)
def test_a_file_that_is_not_a_definition(admin: FlaskClient, content, message) -> None:
    count = QuestionnaireVersion.select().count()
    page = text(upload(admin, content))
    assert message in page
    assert QuestionnaireVersion.select().count() == count


def test_a_version_already_loaded_is_refused(admin: FlaskClient) -> None:
    shipped = (DEFINITIONS / "practitioner-workshop.json").read_bytes()
    assert "version 1 of &#39;practitioner-workshop&#39; is already loaded" in text(upload(admin, shipped))


def test_a_file_or_pasted_json_is_needed_but_not_both(admin: FlaskClient) -> None:
    neither = text(admin.post("/admin/questionnaires/new", data={"text": "  "}))
    assert "Choose a JSON file or paste the definition" in neither
    both = admin.post(
        "/admin/questionnaires/new",
        data={"file": (io.BytesIO(b"{}"), "a.json"), "text": "{}"},
        content_type="multipart/form-data",
    )
    assert "Choose a file or paste the definition, not both" in text(both)


def test_an_oversized_upload_is_refused_with_a_clear_page(admin: FlaskClient) -> None:
    """The page says the file's limit and leads back to the upload, not to answers and evidence."""
    count = QuestionnaireVersion.select().count()
    body = b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.json"\r\n\r\n' + b" " * (1024 * 1024)
    response = admin.post("/admin/questionnaires/new", data=body, content_type="multipart/form-data; boundary=x")
    page = text(response)
    assert response.status_code == 413 and "<title>The file is too large" in page
    assert "A questionnaire definition must be smaller than 1 MB. Nothing was loaded: choose a smaller file" in page
    assert '<a class="govuk-link" href="/admin/questionnaires/new">Go back to loading a questionnaire</a>' in page
    assert "evidence" not in page and QuestionnaireVersion.select().count() == count
    elsewhere = admin.post("/admin/agencies/new", data=body, content_type="multipart/form-data; boundary=x")
    assert elsewhere.status_code == 413 and "What you sent is too large" in text(elsewhere)


# ---------------------------------------------------------------------------------------------
# Nothing lost: expired sessions and tokens, and the history


def test_a_form_posted_after_the_session_expired_is_shown_again(app: Flask, admin: FlaskClient, users) -> None:
    with admin.session_transaction() as session:
        session["seen"] = int(time.time()) - app.config["SESSION_IDLE_MINUTES"] * 60 - 1
    response = admin.post("/admin/agencies/new", data={"name": "Typed Before Timeout", "sector": "housing"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    assert Agency.select().where(Agency.name == "Typed Before Timeout").count() == 0
    assert KeptPost.select().count() == 1
    back = admin.post(
        "/sign-in",
        query_string={"next": "/admin/agencies/new"},
        data={"email": users["admin"].email, "password": PASSWORD},
    )
    page = text(admin.get(back.headers["Location"]))
    assert "We kept what you typed, but it is not saved yet. Check it and save." in page
    assert 'value="Typed Before Timeout"' in page and 'value="housing" checked' in page
    assert KeptPost.select().count() == 0


def test_an_expired_form_token_keeps_what_was_typed(app: Flask, admin: FlaskClient, agencies) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    response = admin.post("/admin/agencies/new", data={"name": "No Token Agency", "sector": "other"})
    page = text(response)
    assert response.status_code == 200
    assert "This page was open for too long, so nothing was changed" in page
    assert 'value="No Token Agency"' in page and 'name="csrf_token"' in page
    assert not Agency.select().where(Agency.name == "No Token Agency").exists()
    confirm = admin.post(f"/admin/agencies/{agencies['police'].id}")
    assert confirm.status_code == 200


def test_an_expired_token_on_a_confirmation_page_changes_nothing(app: Flask, admin: FlaskClient, world) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    page = text(admin.post(f"/admin/cycles/{world['cycle_id']}/close"))
    assert "This page was open for too long" in page and "Close the cycle" in page
    assert AuditCycle.get_by_id(world["cycle_id"]).is_open is True


def test_the_history_lists_admin_changes(admin: FlaskClient, world) -> None:
    admin.post(f"/admin/cycles/{world['cycle_id']}/audits/{world['audit_id']}/reopen")
    page = text(admin.get("/admin/history"))
    assert f"audit:{world['audit_id']}" in page and f"cycle:{world['cycle_id']}" in page
    assert f"link:{world['link_id']}" in page and "Admin" in page

"""Reviewers list submitted audits and reopen one for its agency."""

from __future__ import annotations

import datetime as dt

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from accounts import access
from store.models import Audit, AuditCycle, AuditEvent, QuestionnaireVersion
from tests import builders
from tests.conftest import sign_in_as


def _submitted(agency) -> Audit:
    version = QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "s11-self-audit")
    today = dt.date.today()
    cycle = AuditCycle.create(
        name="2026 to 2027", questionnaire=version, opens_on=today, closes_on=today + dt.timedelta(days=60)
    )
    return Audit.create(cycle=cycle, agency=agency, status="submitted", submitted_at=dt.datetime(2026, 11, 2, 9, 0))


def test_a_reviewer_reopens_a_submitted_audit(client: FlaskClient, db, agencies, users) -> None:
    audit = _submitted(agencies["police"])
    sign_in_as(client, users["reviewer"])
    page = client.get("/review/").get_data(as_text=True)
    assert "Shire Police" in page and f"/review/audits/{audit.id}/reopen" in page
    assert "Reopen the audit by Shire Police?" in client.get(f"/review/audits/{audit.id}/reopen").get_data(as_text=True)
    done = client.post(f"/review/audits/{audit.id}/reopen")
    assert done.status_code == 302
    assert Audit.get_by_id(audit.id).status == "reopened"
    assert access.can_edit_audit(users["agency"], Audit.get_by_id(audit.id))
    event = AuditEvent.get(AuditEvent.audit == audit)
    assert (event.user_id, event.before, event.after) == (
        users["reviewer"].id,
        {"status": "submitted"},
        {"status": "reopened"},
    )
    assert "is reopened" in client.get("/review/").get_data(as_text=True)
    # a second reopen changes nothing
    client.post(f"/review/audits/{audit.id}/reopen")
    assert AuditEvent.select().where(AuditEvent.audit == audit).count() == 1


def test_an_audit_not_submitted_cannot_be_reopened(client: FlaskClient, db, agencies, users) -> None:
    audit = _submitted(agencies["police"])
    Audit.update(status="in-progress").where(Audit.id == audit.id).execute()
    sign_in_as(client, users["admin"])
    client.post(f"/review/audits/{audit.id}/reopen")
    assert Audit.get_by_id(audit.id).status == "in-progress"


def test_other_roles_are_refused(client: FlaskClient, db, agencies, users) -> None:
    audit = _submitted(agencies["police"])
    for key in ("agency", "analyst"):
        sign_in_as(client, users[key])
        assert client.get("/review/").status_code == 404
        assert client.post(f"/review/audits/{audit.id}/reopen").status_code == 404
        client.post("/sign-out")
    assert Audit.get_by_id(audit.id).status == "submitted"
    assert client.get("/review/").status_code == 302


def test_the_list_offers_to_moderate_only_where_the_page_does(client: FlaskClient, db, agencies, users) -> None:
    """The link's word is the word the page it opens heads itself with (views.moderation): an
    administrator, and anyone on a reopened audit, reads; only a reviewer on a submitted audit
    moderates."""
    audit = _submitted(agencies["police"])
    link = f'<a class="govuk-link" href="/review/audits/{audit.id}">{{}}<span class="govuk-visually-hidden">'
    for key, word in (("reviewer", "Moderate"), ("admin", "Read")):
        sign_in_as(client, users[key])
        assert link.format(word) in client.get("/review/").get_data(as_text=True), key
        client.post("/sign-out")


def test_links_name_the_audit_without_a_possessive_on_the_agency(client: FlaskClient, db, users) -> None:
    """A screen reader's list of links hears each link's hidden words: "Children's Services's
    audit" reads badly, and a possessive on a name that ends in s always will, so the audit is
    named "by" its agency. The words on the review pages use one apostrophe, the straight one
    the rest of the templates use most."""
    agency = users["agency"].agency
    agency.name = "Children's Services"
    agency.save()
    audit = builders.submitted_audit(agency, builders.audit_cycle(), users["agency"], {})
    sign_in_as(client, users["reviewer"])
    listing = client.get("/review/").get_data(as_text=True)
    hidden = '<span class="govuk-visually-hidden"> audit by Children&#39;s Services</span>'
    assert f">Moderate{hidden}</a>" in listing and f">Reopen{hidden}</a>" in listing
    page = client.get(f"/review/audits/{audit.id}").get_data(as_text=True)
    assert '<h1 class="govuk-heading-l">Moderate the self-audit by Children&#39;s Services</h1>' in page
    assert "Read all the answers from Children&#39;s Services" in page
    standard = client.get(f"/review/audits/{audit.id}/s2").get_data(as_text=True)
    asked = client.get(f"/review/audits/{audit.id}/reopen").get_data(as_text=True)
    assert "<title>Reopen the audit by Children&#39;s Services" in asked
    for html in (listing, page, standard, asked):
        assert "’s" not in html and "s&#39;s" not in html
    client.post(f"/review/audits/{audit.id}/reopen")
    assert "The audit by Children&#39;s Services is reopened" in client.get("/review/").get_data(as_text=True)


def _reopen_page(client: FlaskClient, audit: Audit) -> str:
    return client.get(f"/review/audits/{audit.id}/reopen").get_data(as_text=True)


def test_the_reason_for_reopening_is_kept_in_the_trail_and_shown_to_the_agency(
    client: FlaskClient, db, agencies, users
) -> None:
    audit = _submitted(users["agency"].agency)
    sign_in_as(client, users["reviewer"])
    form = _reopen_page(client, audit)
    assert 'name="reason"' in form and "Why are you reopening this audit? (optional)" in form
    assert "You can enter up to 1000 characters" in form
    reason = "Standard 2 has no training records.\r\n<b>Add them</b> & submit again."
    assert client.post(f"/review/audits/{audit.id}/reopen", data={"reason": reason}).status_code == 302
    event = AuditEvent.get(AuditEvent.audit == audit)
    stored = "Standard 2 has no training records.\n<b>Add them</b> & submit again."
    assert event.after == {"status": "reopened", "reason": stored}
    client.post("/sign-out")

    sign_in_as(client, users["colleague"])
    for page in (
        client.get("/audit/").get_data(as_text=True),
        client.get(f"/audit/{audit.id}/result").get_data(as_text=True),
    ):
        assert "This self-audit has been reopened" in page
        assert "Why it was reopened:" in page
        assert '<p class="govuk-body">Standard 2 has no training records.</p>' in page
        assert "&lt;b&gt;Add them&lt;/b&gt; &amp; submit again." in page and "<b>Add them</b>" not in page
    client.post("/sign-out")
    sign_in_as(client, users["other-agency"])
    assert client.get(f"/audit/{audit.id}/result").status_code == 404
    assert "training records" not in client.get("/audit/").get_data(as_text=True)


def test_an_empty_reason_reopens_and_says_nothing_of_a_reason(client: FlaskClient, db, agencies, users) -> None:
    audit = _submitted(users["agency"].agency)
    sign_in_as(client, users["reviewer"])
    assert client.post(f"/review/audits/{audit.id}/reopen", data={"reason": "  \r\n "}).status_code == 302
    assert AuditEvent.get(AuditEvent.audit == audit).after == {"status": "reopened"}
    client.post("/sign-out")
    sign_in_as(client, users["agency"])
    page = client.get("/audit/").get_data(as_text=True)
    assert "This self-audit has been reopened" in page and "Why it was reopened" not in page


def refused_as_too_long(refused: TestResponse, typed: str) -> None:
    """A reopen page (the reviewer's or the administrator's) refusing a reason too long: the GOV.UK
    error pattern, and what was typed shown again."""
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "<title>Error: " in page and "There is a problem" in page
    message = "Why you are reopening the audit must be 1,000 characters or fewer"
    assert f'<a href="#reason">{message}</a>' in page, "in the error summary, linked to the box"
    assert f'<span class="govuk-visually-hidden">Error:</span> {message}' in page, "and beside the box"
    assert f">{typed}</textarea>" in page, "what was typed is kept"


def test_a_reason_too_long_is_refused_and_reopens_nothing(client: FlaskClient, db, agencies, users) -> None:
    audit = _submitted(users["agency"].agency)
    sign_in_as(client, users["reviewer"])
    typed = "Look again at standard 3. " + "x" * 1000
    refused_as_too_long(client.post(f"/review/audits/{audit.id}/reopen", data={"reason": typed}), typed)
    assert Audit.get_by_id(audit.id).status == "submitted"
    assert not AuditEvent.select().where(AuditEvent.audit == audit).exists()
    # exactly the limit is allowed
    assert client.post(f"/review/audits/{audit.id}/reopen", data={"reason": "y" * 1000}).status_code == 302
    assert Audit.get_by_id(audit.id).status == "reopened"


def test_a_reason_sent_without_the_pages_token_reopens_nothing_and_is_kept(
    app, client: FlaskClient, db, agencies, users
) -> None:
    audit = _submitted(users["agency"].agency)
    sign_in_as(client, users["reviewer"])
    app.config["WTF_CSRF_ENABLED"] = True
    answer = client.post(f"/review/audits/{audit.id}/reopen", data={"reason": "Check standard 5"})
    page = answer.get_data(as_text=True)
    assert "This page was open too long, so nothing was changed" in page and "Check standard 5" in page
    assert Audit.get_by_id(audit.id).status == "submitted"
    assert not AuditEvent.select().where(AuditEvent.audit == audit).exists()


def test_the_agency_reads_the_newest_reopenings_reason(client: FlaskClient, db, agencies, users) -> None:
    """Reopened, submitted again and reopened again: the second reason is what is asked now."""
    audit = _submitted(users["agency"].agency)
    sign_in_as(client, users["reviewer"])
    client.post(f"/review/audits/{audit.id}/reopen", data={"reason": "First time round"})
    Audit.update(status="submitted").where(Audit.id == audit.id).execute()
    client.post(f"/review/audits/{audit.id}/reopen", data={"reason": "Second time round"})
    client.post("/sign-out")
    sign_in_as(client, users["agency"])
    page = client.get("/audit/").get_data(as_text=True)
    assert "Second time round" in page and "First time round" not in page

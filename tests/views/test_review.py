"""Reviewers list submitted audits and reopen one for its agency."""

from __future__ import annotations

import datetime as dt

from flask.testing import FlaskClient

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

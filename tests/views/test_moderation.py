"""Reviewers moderate a submitted audit standard by standard; the agency sees its scored result."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient

from questionnaires.wording import long_date
from store import audits
from store.admin import reopen_audit
from store.models import Audit, AuditEvent, Moderation, StandardScore
from store.questionnaires import definition
from tests import builders
from tests.conftest import sign_in_as
from tests.views.test_audits import titled_as_heading


@pytest.fixture
def audit(db, users) -> Audit:
    cycle = builders.audit_cycle()
    return builders.submitted_audit(users["agency"].agency, cycle, users["agency"], {"s1.2": "not-met"})


def _reported(audit: Audit, section_id: str) -> tuple[str | None, str | None, str | None]:
    row = StandardScore.get((StandardScore.audit == audit) & (StandardScore.section_id == section_id))
    return row.self_rating, row.moderated_rating, row.reported_rating


def test_a_reviewer_moderates_a_standard_and_sees_both_ratings(client: FlaskClient, audit: Audit, users) -> None:
    sign_in_as(client, users["reviewer"])
    index = client.get("/review/").get_data(as_text=True)
    assert f"/review/audits/{audit.id}" in index
    page = client.get(f"/review/audits/{audit.id}").get_data(as_text=True)
    assert "Moderate the self-audit by Shire Police" in page and "0 of 11 standards" in page
    standard = client.get(f"/review/audits/{audit.id}/s2").get_data(as_text=True)
    assert "The agency's answers" in standard and "Met: all 3 items that apply are Met" in standard

    done = client.post(
        f"/review/audits/{audit.id}/s2", data={"rating": "partially-met", "note": "Training records stop in 2024"}
    )
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/review/audits/{audit.id}#standard-s2")
    assert _reported(audit, "s2") == ("met", "partially-met", "partially-met")
    page = client.get(f"/review/audits/{audit.id}").get_data(as_text=True)
    assert "is moderated to Partially met" in page and "1 of 11 standards" in page
    assert "Training records stop in 2024" in page
    assert AuditEvent.select().where(AuditEvent.kind == "moderation").count() == 1


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"rating": "excellent", "note": "x"}, "Select a moderated rating, or that the agency's rating stands"),
        ({"note": "x"}, "Select a moderated rating, or that the agency's rating stands"),
        ({"rating": "not-met", "note": "   "}, "Say why you moderated the rating, so the agency can respond"),
        ({"rating": "not-met", "note": "x" * 5001}, "The challenge note must be 5,000 characters or fewer"),
    ],
)
def test_a_moderation_that_is_not_valid_is_refused_and_changes_nothing(
    client: FlaskClient, audit: Audit, users, form: dict[str, str], message: str
) -> None:
    sign_in_as(client, users["reviewer"])
    refused = client.post(f"/review/audits/{audit.id}/s2", data=form)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "There is a problem" in page and message in html.unescape(page)
    assert not Moderation.select().exists()
    assert _reported(audit, "s2") == ("met", None, "met")


def test_the_agencys_rating_can_stand_with_a_note(client: FlaskClient, audit: Audit, users) -> None:
    sign_in_as(client, users["reviewer"])
    client.post(f"/review/audits/{audit.id}/s3", data={"rating": "none", "note": "Good evidence; agreed"})
    assert _reported(audit, "s3") == ("met", None, "met")
    assert Moderation.get().note == "Good evidence; agreed"


def test_only_reviewers_moderate_and_only_submitted_audits(client: FlaskClient, audit: Audit, users) -> None:
    for key in ("agency", "analyst", "other-agency"):
        sign_in_as(client, users[key])
        assert client.get(f"/review/audits/{audit.id}").status_code == 404
        assert client.post(f"/review/audits/{audit.id}/s2", data={"rating": "not-met", "note": "x"}).status_code == 404
        client.post("/sign-out")
    sign_in_as(client, users["admin"])
    assert client.get(f"/review/audits/{audit.id}").status_code == 200, "administrators can read"
    assert client.post(f"/review/audits/{audit.id}/s2", data={"rating": "not-met", "note": "x"}).status_code == 404
    client.post("/sign-out")
    reopen_audit(audit, users["reviewer"])
    sign_in_as(client, users["reviewer"])
    page = client.get(f"/review/audits/{audit.id}").get_data(as_text=True)
    assert "cannot be moderated until they submit it again" in page
    assert client.post(f"/review/audits/{audit.id}/s2", data={"rating": "not-met", "note": "x"}).status_code == 409
    assert client.get(f"/review/audits/{audit.id}/no-such-standard").status_code == 404
    assert not Moderation.select().exists()


def test_a_reopened_audits_pages_say_the_reviewer_reads_them(client: FlaskClient, audit: Audit, users) -> None:
    sign_in_as(client, users["reviewer"])
    pages = [client.get(f"/review/audits/{audit.id}").get_data(as_text=True)]
    pages.append(client.get(f"/review/audits/{audit.id}/s2").get_data(as_text=True))
    assert "<title>Moderate the self-audit by Shire Police – " in pages[0]
    assert "<title>Moderate standard 2: Safeguarding policy and responsibilities – " in pages[1]
    reopen_audit(audit, users["reviewer"])
    reopened = [client.get(f"/review/audits/{audit.id}").get_data(as_text=True)]
    reopened.append(client.get(f"/review/audits/{audit.id}/s2").get_data(as_text=True))
    assert '<h1 class="govuk-heading-l">Read the self-audit by Shire Police</h1>' in reopened[0]
    assert "Moderate" not in reopened[0].split("<h1")[0], "not in the title either"
    assert '<h1 class="govuk-heading-l">Read standard 2: Safeguarding policy and responsibilities</h1>' in reopened[1]
    assert "Save moderation" not in reopened[1]
    assert all(titled_as_heading(page) for page in pages + reopened)


def test_the_agency_sees_its_scored_result_with_the_reviewers_note(client: FlaskClient, audit: Audit, users) -> None:
    sign_in_as(client, users["reviewer"])
    client.post(f"/review/audits/{audit.id}/s2", data={"rating": "not-met", "note": "<script>alert(1)</script>"})
    client.post("/sign-out")
    sign_in_as(client, users["colleague"])
    assert f"/audit/{audit.id}/result" in client.get("/audit/").get_data(as_text=True)
    page = client.get(f"/audit/{audit.id}/result").get_data(as_text=True)
    assert "Your scored self-audit" in page
    assert "Partially met: 3 of the 4 items that apply count as Met" in page, "standard 1's explanation"
    assert "The reviewer&#39;s moderated rating" in page or "The reviewer's moderated rating" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    client.post("/sign-out")
    sign_in_as(client, users["other-agency"])
    assert client.get(f"/audit/{audit.id}/result").status_code == 404


def test_an_agency_whose_audit_is_reopened_finds_the_reviewers_notes(client: FlaskClient, audit: Audit, users) -> None:
    """The notes are why a reviewer reopens an audit: the agency's task list leads to them."""
    sign_in_as(client, users["reviewer"])
    refused = client.post(f"/review/audits/{audit.id}/s2", data={"rating": "not-met", "note": ""})
    assert refused.status_code == 400
    client.post(f"/review/audits/{audit.id}/s2", data={"rating": "not-met", "note": "Send the training log"})
    assert client.post(f"/review/audits/{audit.id}/reopen").status_code == 302
    client.post("/sign-out")
    sign_in_as(client, users["agency"])
    tasks = client.get("/audit/").get_data(as_text=True)
    assert "This self-audit has been reopened" in tasks
    link = re.search(r'<a class="govuk-link" href="([^"]+)">See the reviewer’s ratings and notes', tasks)
    assert link is not None, "the reopened task list links to the reviewer's ratings and notes"
    result = client.get(link.group(1)).get_data(as_text=True)
    assert "Your scored self-audit" in result and "Send the training log" in result


def _reviewer_note(page: str) -> str | None:
    """The reviewer's box on an agency's page of a standard (editable or read only), as text, or
    None when there is none."""
    found = re.search(r'<div id="reviewer-note" class="govuk-inset-text">(.*?)</div>', page, re.DOTALL)
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split()) if found else None


def test_the_agency_changes_a_reopened_standard_with_the_reviewers_note_before_it(
    client: FlaskClient, audit: Audit, users
) -> None:
    sign_in_as(client, users["reviewer"])
    note = "Send the training log.\n<script>alert(1)</script> & the dates"
    client.post(f"/review/audits/{audit.id}/s2", data={"rating": "not-met", "note": note})
    client.post(f"/review/audits/{audit.id}/s3", data={"rating": "none", "note": "Good evidence; agreed"})
    client.post("/sign-out")
    sign_in_as(client, users["agency"])
    submitted = client.get(f"/audit/{audit.id}/s2").get_data(as_text=True)
    assert _reviewer_note(submitted) is None and "Send the training log" not in submitted, "not while submitted"
    client.post("/sign-out")

    reopen_audit(audit, users["reviewer"])
    sign_in_as(client, users["agency"])
    page = client.get(f"/audit/{audit.id}/s2").get_data(as_text=True)
    assert "Save and continue" in page, "the page the agency edits"
    said = _reviewer_note(page)
    assert said is not None and said.startswith("What the reviewer said about this standard Moderated rating: Not met")
    assert "Challenge note: Send the training log. &lt;script&gt;alert(1)&lt;/script&gt; &amp; the dates" in said
    assert "<script>alert(1)</script>" not in page
    assert page.index('id="reviewer-note"') < page.index('class="app-questions"'), "above the questions"
    agreed = _reviewer_note(client.get(f"/audit/{audit.id}/s3").get_data(as_text=True))
    assert agreed is not None and "Moderated rating" not in agreed and "Good evidence; agreed" in agreed
    assert _reviewer_note(client.get(f"/audit/{audit.id}/s4").get_data(as_text=True)) is None, "not moderated"
    client.post("/sign-out")

    sign_in_as(client, users["other-agency"])
    assert client.get(f"/audit/{audit.id}/s2").status_code == 404
    assert client.post(f"/audit/{audit.id}/s2", data={}).status_code == 404


def test_a_reopened_standard_in_a_closed_cycle_shows_the_reviewers_note_read_only(
    client: FlaskClient, audit: Audit, users
) -> None:
    """Reopened while its cycle is closed, the audit cannot be changed yet: the agency's read-only
    page of the standard still says what the reviewer said, as the editable page does, and another
    agency's reopened audit in the same cycle shows none of it."""
    other = builders.submitted_audit(users["other-agency"].agency, audit.cycle, users["other-agency"])
    sign_in_as(client, users["reviewer"])
    client.post(
        f"/review/audits/{audit.id}/s2", data={"rating": "not-met", "note": "Send the training log.\n<i>Now</i>"}
    )
    client.post("/sign-out")
    reopen_audit(audit, users["reviewer"])
    reopen_audit(other, users["reviewer"])
    audit.cycle.is_open = False
    audit.cycle.save()

    sign_in_as(client, users["agency"])
    page = client.get(f"/audit/{audit.id}/s2").get_data(as_text=True)
    assert "This self-audit cannot be changed now." in page and "Save and continue" not in page, "read only"
    said = _reviewer_note(page)
    assert said is not None and said.startswith("What the reviewer said about this standard Moderated rating: Not met")
    assert "Challenge note: Send the training log. &lt;i&gt;Now&lt;/i&gt;" in said and "<i>Now</i>" not in page
    assert f'href="/audit/{audit.id}/result#standard-s2"' in page
    assert page.index('id="reviewer-note"') < page.index("govuk-summary-list"), "above the answers"
    assert _reviewer_note(client.get(f"/audit/{audit.id}/s4").get_data(as_text=True)) is None, "not moderated"
    client.post("/sign-out")

    sign_in_as(client, users["other-agency"])
    own = client.get(f"/audit/{other.id}/s2").get_data(as_text=True)
    assert "This self-audit cannot be changed now." in own
    assert _reviewer_note(own) is None and "training log" not in own
    assert client.get(f"/audit/{audit.id}/s2").status_code == 404


def test_an_audit_not_submitted_has_no_result_yet(client: FlaskClient, db, users) -> None:
    cycle = builders.audit_cycle()
    audit = audits.audit_for(users["agency"].agency, cycle, users["agency"])
    sign_in_as(client, users["agency"])
    page = client.get(f"/audit/{audit.id}/result")
    assert page.status_code == 302 and page.headers["Location"].endswith(f"/audit/{audit.id}/check")


def _explanation(page: str, section_id: str) -> str:
    """The words of a standard's explanation on a page, as people read them."""
    found = re.search(rf'id="how-{section_id}">.*?</h3>\s*<p class="govuk-body">(.*?)</p>', page, re.DOTALL)
    assert found, f"no explanation of {section_id}"
    return html.unescape(found.group(1))


def test_the_agency_and_the_reviewer_read_explanations_in_words(client: FlaskClient, db, users) -> None:
    cycle = builders.audit_cycle()
    lead = users["agency"]
    audit = audits.audit_for(lead.agency, cycle, lead)
    s11 = definition(cycle.questionnaire)
    audits.section_states(audit, s11)
    answers = builders.met_answers(s11)
    answers["s1.2-evidence"] = []  # R1: Met without evidence
    answers["s2.1-evidence"] = [{"title": "Safeguarding policy", "type": "policy", "date": "2021-03-01"}]  # R4
    builders.complete_everything(audit, answers)
    assert audits.submit(audit, lead, "I confirm")
    audited = long_date(Audit.get_by_id(audit.id).submitted_at.date())
    for user, page_of in (
        (users["colleague"], lambda section: f"/audit/{audit.id}/result"),
        (users["reviewer"], lambda section: f"/review/audits/{audit.id}/{section}"),
    ):
        sign_in_as(client, user)
        s1 = _explanation(client.get(page_of("s1")).get_data(as_text=True), "s1")
        s2_page = client.get(page_of("s2")).get_data(as_text=True)
        s2 = _explanation(s2_page, "s2")
        client.post("/sign-out")
        assert s1.startswith(
            "Partially met: 3 of the 4 items that apply count as Met, and the weighted score of 90 out of 100 reaches 50,"
            " the least for Partially met (rule R2: a standard's rating comes from its items). Answers read:"
        ), s1
        assert (
            "‘Does your board or senior team get a safeguarding report…’ is rated Met but counts as Partially met"
            " because no evidence is listed (rule R1: Met needs evidence);"
        ) in s1
        assert (
            "‘Do you have a written safeguarding policy that has been…’ is rated Met but counts as Partially met"
            f" because ‘Safeguarding policy’, given as evidence, is dated 1 March 2021, more than 3 years before the"
            f" audit on {audited} (rule R4: evidence must be recent)"
        ) in s2
        for words in (s1, s2):
            assert not re.search(r"\bs\d+\.\d+\b|\d{4}-\d{2}-\d{2}|partially-met|standard-rating", words), words
        # the items table beside it says why in a sentence of its own
        assert '<td class="govuk-table__cell">‘Safeguarding policy’, given as evidence, is dated 1 March 2021' in (
            s2_page
        )

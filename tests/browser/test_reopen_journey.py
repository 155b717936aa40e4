"""A reviewer's challenge reaches the agency, in Chromium: the reviewer reopens an audit saying
why (a reason too long is refused, with the GOV.UK error pattern), the agency reads the reason on
its task list and result, and the moderated rating and challenge note of a standard are on that
standard's page, above the questions the agency changes. Each page is scanned with axe and saved
as a screenshot."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from store import audits, demo, scores
from store.admin import reopen_audit
from store.models import Audit, User
from tests import builders
from tests.browser.axe import violations
from tests.browser.conftest import Server
from tests.browser.steps import sign_in_from_start

REVIEWER = f"reviewer@{demo.EMAIL_DOMAIN}"
NOTE = "The training log stops in March. <b>Send the full year</b>."


def submitted_audit(server: Server, name: str) -> tuple[User, Audit]:
    """A new agency's lead and its audit in the open cycle, answered and submitted."""
    (lead,) = server.agency_with_users(name)
    with server.rows():
        audit = builders.submitted_audit(lead.agency, audits.open_cycle(), lead, {"s2.1": "partially-met"})
    return lead, audit


def test_the_agency_changes_a_reopened_standard_with_the_reviewers_note_before_it(
    server: Server, new_page: Callable[..., Page], shots
) -> None:
    lead, audit = submitted_audit(server, "Noor Lead")
    with server.rows():
        reviewer = User.get(User.email == REVIEWER)
        scores.moderate(audit, "s2", "not-met", NOTE, reviewer)
        reopen_audit(audit, reviewer)

    page = new_page()
    sign_in_from_start(page, server.url, lead.email)
    page.get_by_role("link", name="Your self-audit").click()
    page.get_by_role("link", name="Safeguarding policy and responsibilities", exact=True).click()
    note = page.locator("#reviewer-note")
    expect(note.get_by_role("heading", level=2, name="What the reviewer said about this standard")).to_be_visible()
    expect(note).to_contain_text("Moderated rating: Not met")
    expect(note).to_contain_text(NOTE)  # shown as typed, never as markup
    assert note.locator("b").count() == 0
    above = page.evaluate(
        "() => !!(document.getElementById('reviewer-note').compareDocumentPosition("
        "document.querySelector('form.app-questions')) & Node.DOCUMENT_POSITION_FOLLOWING)"
    )
    assert above, "the note comes before the questions"
    shots(page, "standard-with-reviewers-note")
    assert violations(page) == []

    page.get_by_role("link", name="See the reviewer’s ratings and notes on every standard").click()
    expect(page.get_by_role("heading", level=1, name="Your scored self-audit")).to_be_visible()
    page.go_back()
    page.get_by_role("link", name="Back to your self-audit").click()
    page.get_by_role("link", name="Accountability and responding to concerns", exact=True).click()
    expect(page.locator("#reviewer-note")).to_have_count(0)  # a standard the reviewer left alone


def test_a_reviewer_reopens_an_audit_saying_why_and_the_agency_reads_it(
    server: Server, new_page: Callable[..., Page], shots
) -> None:
    lead, audit = submitted_audit(server, "Sam Lead")
    with server.rows():
        agency = lead.agency.name
    reviewer = new_page()
    sign_in_from_start(reviewer, server.url, REVIEWER, demo.PASSWORD)
    reviewer.goto(f"{server.url}/review/")
    reviewer.get_by_role("link", name=f"Reopen audit by {agency}").click()
    reason = reviewer.get_by_label("Why are you reopening this audit? (optional)")
    expect(reason).to_be_visible()
    reason.fill("Standard 2: send the training log. " + "More. " * 170)  # over 1,000 characters
    expect(reviewer.get_by_text("You have 55 characters too many")).to_be_visible()  # the character count
    shots(reviewer, "reopen-reason-too-long-as-typed")
    reviewer.get_by_role("button", name="Reopen the audit").click()
    summary = reviewer.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Why you are reopening the audit must be 1,000 characters or fewer")
    expect(reviewer).to_have_title(re.compile(rf"^Error: Reopen the audit by {re.escape(agency)} – "))
    expect(reviewer.locator("#reason-error")).to_contain_text("must be 1,000 characters or fewer")
    with server.rows():
        assert Audit.get_by_id(audit.id).status == "submitted", "a refused reason reopens nothing"
    shots(reviewer, "reopen-reason-too-long-refused")
    assert violations(reviewer) == []
    summary.get_by_role("link").click()
    expect(reason).to_be_focused()

    reason.fill("Standard 2: send the training log for the whole year.")
    shots(reviewer, "reopen-with-reason")
    assert violations(reviewer) == []
    reviewer.get_by_role("button", name="Reopen the audit").click()
    expect(reviewer.get_by_text(f"The audit by {agency} is reopened")).to_be_visible()

    page = new_page()
    sign_in_from_start(page, server.url, lead.email)
    page.get_by_role("link", name="Your self-audit").click()
    notice = page.locator(".govuk-inset-text").filter(has_text="A reviewer has reopened this self-audit")
    expect(notice).to_contain_text("Why the reviewer reopened it:")
    expect(notice).to_contain_text("Standard 2: send the training log for the whole year.")
    shots(page, "task-list-with-reason")
    assert violations(page) == []
    notice.get_by_role("link", name="See the reviewer’s ratings and notes, standard by standard").click()
    expect(page.get_by_role("heading", level=1, name="Your scored self-audit")).to_be_visible()
    expect(page.get_by_text("Standard 2: send the training log for the whole year.")).to_be_visible()
    shots(page, "result-with-reason")
    assert violations(page) == []

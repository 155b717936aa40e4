"""A reviewer's challenge reaches the agency, in Chromium: the reviewer (or an administrator, on
the administration's page) reopens an audit saying why (a reason too long is refused, with the
GOV.UK error pattern), the agency reads the reason on its task list and result, and the moderated
rating and challenge note of a standard are on that standard's page, above the questions the
agency changes. Each page is scanned with axe and saved as a screenshot."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from store import audits, demo, scores
from store.admin import reopen_audit
from store.models import Audit, User
from tests import builders
from tests.browser.axe import violations
from tests.browser.conftest import Server
from tests.browser.steps import sign_in_from_start

REVIEWER = f"reviewer@{demo.EMAIL_DOMAIN}"
ADMIN = f"admin@{demo.EMAIL_DOMAIN}"
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


def reopen_saying_why(page: Page, server: Server, audit: Audit, title: str, reason: str, shots, name: str) -> None:
    """On a reopen page (the reviewer's or the administrator's), titled `title`: a reason over the
    limit is counted as typed, then refused with the GOV.UK error pattern and reopens nothing;
    `reason` then reopens the audit. The page is scanned with axe with its error and without, and
    saved as screenshots named from `name`."""
    box = page.get_by_label("Why are you reopening this audit? (optional)")
    expect(box).to_be_visible()
    typed = f"{reason} " + "More. " * 170  # over 1,000 characters
    box.fill(typed)
    expect(page.get_by_text(f"You have {len(typed) - 1000} characters too many")).to_be_visible()
    shots(page, f"{name}-reason-too-long-as-typed")
    page.get_by_role("button", name="Reopen the audit").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Why you are reopening the audit must be 1,000 characters or fewer")
    expect(page).to_have_title(re.compile(rf"^Error: {re.escape(title)} – "))
    expect(page.locator("#reason-error")).to_contain_text("must be 1,000 characters or fewer")
    with server.rows():
        assert Audit.get_by_id(audit.id).status == "submitted", "a refused reason reopens nothing"
    shots(page, f"{name}-reason-too-long-refused")
    assert violations(page) == []
    summary.get_by_role("link").click()
    expect(box).to_be_focused()
    box.fill(reason)
    shots(page, f"{name}-with-reason")
    assert violations(page) == []
    page.get_by_role("button", name="Reopen the audit").click()


@pytest.mark.parametrize(
    ("email", "start", "link", "title"),
    [
        (REVIEWER, "/review/", "Reopen audit by {agency}", "Reopen the audit by {agency}"),
        (ADMIN, "/admin/cycles/{cycle}", "Reopen {agency}'s audit", "Reopen the audit by {agency}?"),
    ],
    ids=["reviewer", "administrator"],
)
def test_a_reviewer_or_an_administrator_reopens_an_audit_saying_why_and_the_agency_reads_it(
    server: Server, new_page: Callable[..., Page], shots, email: str, start: str, link: str, title: str
) -> None:
    lead, audit = submitted_audit(server, "Sam Lead")
    with server.rows():
        agency = lead.agency.name
    reopener = new_page()
    sign_in_from_start(reopener, server.url, email, demo.PASSWORD)
    reopener.goto(server.url + start.format(cycle=audit.cycle_id))
    reopener.get_by_role("link", name=link.format(agency=agency)).click()
    reason = "Standard 2: send the training log for the whole year."
    reopen_saying_why(reopener, server, audit, title.format(agency=agency), reason, shots, "reopen")
    expect(reopener.get_by_text(f"The audit by {agency} is reopened")).to_be_visible()

    page = new_page()
    sign_in_from_start(page, server.url, lead.email)
    page.get_by_role("link", name="Your self-audit").click()
    notice = page.locator(".govuk-inset-text").filter(has_text="This self-audit has been reopened")
    expect(notice).to_contain_text("Why it was reopened:")
    expect(notice).to_contain_text("Standard 2: send the training log for the whole year.")
    shots(page, "task-list-with-reason")
    assert violations(page) == []
    notice.get_by_role("link", name="See the reviewer’s ratings and notes, standard by standard").click()
    expect(page.get_by_role("heading", level=1, name="Your scored self-audit")).to_be_visible()
    expect(page.get_by_text("Standard 2: send the training log for the whole year.")).to_be_visible()
    shots(page, "result-with-reason")
    assert violations(page) == []

"""A session that ends in the middle of a form loses nothing that was typed.

An agency lead types answers into a standard, then leaves the page alone until the server's idle
limit ends the session (the live server's limit is cut to seconds for this; the page itself was
given the usual 30 minutes, as when a laptop sleeps and its timers do not run, so no warning
comes). Sending the page then asks them to sign in again, says why, and brings them back to
the page with everything they typed, ready to save, what cannot be saved as typed marked as the
GOV.UK error pattern marks it. With and without JavaScript.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Page, Playwright, expect

from questionnaires import load_all
from store.answers import load_answers
from store.audits import response_of
from store.models import Audit, SectionState
from tests.browser.axe import violations
from tests.browser.conftest import Server
from tests.browser.steps import SIGNED_OUT_BANNER, by_id, sign_in, sign_in_from_start

TITLE = load_all()["s11-self-audit"].section("s5").title
NARRATIVE = "Induction covers safeguarding on day one; volunteers get the same session."
SHORT_IDLE = 2  # seconds


@contextmanager
def idle_limit(server: Server, seconds: int) -> Iterator[None]:
    """Sessions of the live server end after `seconds` without a request, until the block ends."""
    before = server.app.config.get("SESSION_IDLE_SECONDS")
    server.app.config["SESSION_IDLE_SECONDS"] = seconds
    try:
        yield
    finally:
        server.app.config["SESSION_IDLE_SECONDS"] = before


def wait_until_signed_out(playwright: Playwright, page: Page, server: Server, limit: float = 20) -> None:
    """Ask the server, with a copy of the page's cookies, until it says the session has ended.

    A copy, because the first request after the end is the one told why: that must be the
    person's own, when they send the form."""
    probe = playwright.request.new_context(base_url=server.url, storage_state=page.context.storage_state())
    try:
        deadline = time.monotonic() + limit
        while probe.get("/session").json()["signed_in"]:
            assert time.monotonic() < deadline, f"the session did not end within {limit} seconds"
            page.wait_for_timeout(250)
    finally:
        probe.dispose()


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_typed_answers_survive_the_session_ending(
    server: Server, playwright: Playwright, new_page: Callable[..., Page], shots, js: bool
) -> None:
    (lead,) = server.agency_with_users("Kim Lead")
    page = new_page(js=js)
    sign_in_from_start(page, server.url, lead.email)
    page.get_by_role("link", name="Your self-audit").click()
    page.get_by_role("link", name=TITLE, exact=True).click()

    page.locator("input[name='s5.1'][value='met']").check()
    by_id(page, "s5.1-narrative").fill(NARRATIVE)
    page.locator("input[name='s5.2'][value='not-met']").check()
    by_id(page, "s5.2-action__what").fill("Map the training each role needs")
    by_id(page, "s5.2-action__owner").fill("Training manager")
    page.get_by_label("Yes, I’ve completed this section").check()
    if js:  # the page keeps a draft a few seconds after typing stops; let it, before time runs out
        expect(page.locator("#autosave-status")).to_contain_text("Draft kept at", timeout=15000)
    shots(page, "typed")

    with idle_limit(server, SHORT_IDLE):
        wait_until_signed_out(playwright, page, server)
        page.get_by_role("button", name="Save and continue").click()
        expect(page.get_by_text(SIGNED_OUT_BANNER)).to_be_visible()
    assert "expired=1" in page.url
    shots(page, "asked-to-sign-in")
    if js:
        assert violations(page) == []
    with server.rows():
        audit = Audit.get(Audit.agency == lead.agency_id)
        assert "s5.1" not in load_answers(response_of(audit)), "nothing is saved before signing in"

    sign_in(page, lead.email)
    expect(page.get_by_role("heading", level=1, name=TITLE)).to_be_visible()
    banner = page.get_by_role("region", name="Important")
    expect(banner).to_contain_text("We kept what you typed")
    expect(page.locator("input[name='s5.1'][value='met']")).to_be_checked()
    expect(by_id(page, "s5.1-narrative")).to_have_value(NARRATIVE)
    expect(page.locator("input[name='s5.2'][value='not-met']")).to_be_checked()
    expect(by_id(page, "s5.2-action__owner")).to_have_value("Training manager")
    expect(page.get_by_label("Yes, I’ve completed this section")).to_be_checked()

    # the action has no due date, so it cannot be saved as it is: the page says so before saving,
    # in the GOV.UK error pattern, the summary's link taking the keyboard to the box
    expect(banner).to_contain_text("some answers need correcting before they can be saved")
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("link")).to_have_count(1)
    expect(summary).to_contain_text("Enter the due date")
    expect(page.locator(".govuk-error-message").filter(has_text="Enter the due date")).to_have_count(1)
    assert page.title().startswith("Error: ")
    shots(page, "kept-answers")
    if js:
        expect(summary).to_be_focused()
        assert violations(page) == []
    summary.get_by_role("link").click()
    expect(by_id(page, "s5.2-action__due-day")).to_be_focused()

    # saving as it is asks for the due date again, still keeping everything else
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the due date")
    expect(by_id(page, "s5.1-narrative")).to_have_value(NARRATIVE)
    by_id(page, "s5.2-action__due-day").fill("31")
    by_id(page, "s5.2-action__due-month").fill("12")
    by_id(page, "s5.2-action__due-year").fill(str(time.localtime().tm_year + 1))
    page.locator("input[name='s5.3'][value='met']").check()
    page.locator("input[name='s5.4'][value='met']").check()
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_text(f"We saved your answers to ‘{TITLE}’.")).to_be_visible()
    with server.rows():
        answers = load_answers(response_of(audit))
        assert (answers["s5.1"], answers["s5.1-narrative"]) == ("met", NARRATIVE)
        assert answers["s5.2-action"]["owner"] == "Training manager"
        state = SectionState.get((SectionState.audit == audit) & (SectionState.section_id == "s5"))
        assert state.status == "completed"

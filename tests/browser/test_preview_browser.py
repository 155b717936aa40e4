"""The preview pages in a real browser: reveals, errors, no JavaScript, phone size, axe."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from questionnaires import load_all
from tests.browser.axe import violations

SHIPPED = load_all()


def test_action_is_revealed_for_a_shortfall_and_hidden_for_met(live_server: str, page: Page, shots) -> None:
    page.goto(f"{live_server}/preview/s11-self-audit/s2")
    action = page.locator("[id='s2.2-action-question']")
    expect(action).to_be_hidden()
    expect(page.locator(".app-condition-note").first).to_be_hidden()
    page.get_by_role("group", name="Do all staff and volunteers").get_by_label("Partially met").check()
    expect(action).to_be_visible()
    shots(page, "shortfall-reveals-action")
    page.get_by_role("group", name="Do all staff and volunteers").get_by_label("Met", exact=True).check()
    expect(action).to_be_hidden()


def test_not_applicable_reveals_the_reason_box(live_server: str, page: Page, shots) -> None:
    page.goto(f"{live_server}/preview/s11-self-audit/s4")
    reason = page.locator("textarea[name='s4.1__reason']")
    expect(reason).to_be_hidden()
    page.locator("input[name='s4.1'][value='not-applicable']").check()
    expect(reason).to_be_visible()
    shots(page, "not-applicable-reason")


def test_errors_are_summarised_and_link_to_their_fields(live_server: str, page: Page, shots) -> None:
    page.goto(f"{live_server}/preview/s11-self-audit/s2")
    page.locator("textarea[name='s2.1-narrative']").fill("Our policy was reviewed in 2019.")
    page.get_by_role("button", name="Check these answers").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    assert page.title().startswith("Error: ")
    expect(page.locator("textarea[name='s2.1-narrative']")).to_have_value("Our policy was reviewed in 2019.")
    shots(page, "error-summary")
    summary.get_by_role("link").first.click()
    expect(page.locator("input[name='s2.1']").first).to_be_focused()
    assert violations(page) == []


def test_a_valid_page_is_checked_and_nothing_is_stored(live_server: str, page: Page, shots) -> None:
    page.goto(f"{live_server}/preview/family-experience/")
    page.get_by_role("link").filter(has_text=SHIPPED["family-experience"].sections[0].title).click()
    page.get_by_role("button", name="Check these answers").click()
    expect(page.get_by_text("These answers are valid. Nothing was stored.")).to_be_visible()
    shots(page, "valid")


def test_without_javascript_every_question_is_shown_and_explained(live_server: str, no_js_page: Page, shots) -> None:
    page = no_js_page
    page.goto(f"{live_server}/preview/practitioner-workshop/follow-up")
    expect(page.locator("[id='follow-up-format-question']")).to_be_visible()
    expect(page.get_by_text("Only answer this if you answered 'Yes' to")).to_be_visible()
    page.get_by_label("No", exact=True).check()
    page.get_by_label("A 10-minute online survey").check()
    shots(page, "no-js-before")
    page.get_by_role("button", name="Check these answers").click()
    expect(page.get_by_text("These answers are valid. Nothing was stored.")).to_be_visible()
    expect(page.get_by_text("A 10-minute online survey")).to_have_count(0)
    shots(page, "no-js-hidden-answer-dropped")


def test_evidence_can_be_added_without_javascript(live_server: str, no_js_page: Page, shots) -> None:
    page = no_js_page
    page.goto(f"{live_server}/preview/s11-self-audit/s1")
    page.locator("input[name='s1.1-evidence__0__title']").fill("Board minutes, March")
    page.locator("button[value='s1.1-evidence']").click()
    expect(page.locator("input[name='s1.1-evidence__0__title']")).to_have_value("Board minutes, March")
    expect(page.locator("input[name='s1.1-evidence__1__title']")).to_be_visible()
    shots(page, "evidence-added")


# Scanned elsewhere: every route (the start page, the accessibility and privacy pages, /preview/,
# the S11 preview and its first standard sent empty, the not-found page) in test_accessibility.py;
# every page of the children's survey, in each age band, in test_survey_journeys.py.
PAGES = [
    "/preview/child-experience/?band=age-4-7",
    *[
        f"/preview/{q}/{SHIPPED[q].sections[0].id}"
        for q in ("practitioner-workshop", "practitioner-s11-survey", "family-experience")
    ],
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_wcag_22_aa_violations(live_server: str, page: Page, path: str) -> None:
    page.goto(f"{live_server}{path}")
    assert violations(page) == []


def test_error_state_of_every_questionnaire_has_no_violations(live_server: str, page: Page, shots) -> None:
    for q in ("practitioner-workshop", "family-experience"):  # the S11 one: test_accessibility.py
        page.goto(f"{live_server}/preview/{q}/{SHIPPED[q].sections[-1].id}")
        page.locator("form.app-questions button.govuk-button:not(.govuk-button--secondary)").click()
        shots(page, q)
        assert violations(page) == []


def test_axe_finds_a_planted_problem(live_server: str, page: Page) -> None:
    """The scan is not vacuous: an input without a label is reported."""
    page.goto(f"{live_server}/preview/")
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<input type=text>')")
    assert any(v.startswith("label") for v in violations(page))

"""Every page fits a screen 320 CSS pixels wide (WCAG 2.2 SC 1.4.10 Reflow): no page scrolls
sideways. A wide table may scroll, but inside its own box (app-table-scroll), not the page.

Every page each role reaches is visited (the walk over the app's routes in walk.py: the task
list, a standard, check answers, the scored result and actions of an agency; the moderation list
and an audit for a reviewer; the results pages, heat map, themes and downloads for an analyst;
home, accessibility and privacy for anyone), and the children's survey in every age band and the
family survey are answered page by page to their thank-you page, as the walk reaches only their
first page.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from questionnaires import load_all
from store import demo
from store.models import SurveyRound
from store.surveys import create_link
from tests.browser.conftest import Server
from tests.browser.steps import answer_with_keyboard, sign_in
from tests.browser.walk import DEMO_EMAILS, ROLES, Examples, demo_examples

NARROW = {"width": 320, "height": 640}
ANSWER = "Somebody at school listens to me when I am worried about things at home."

# The page's width against the window's, and the innermost elements that stick out past the
# window's right edge or whose words stick out of them (outside a box that scrolls on its own),
# to name in a failure.
_OVERFLOW = """() => {
  const inner = window.innerWidth;
  const sticking = Array.from(document.querySelectorAll('body *')).filter((e) => {
    if (e.closest('.app-table-scroll')) return false;
    const box = e.getBoundingClientRect();
    const clipped = getComputedStyle(e).overflowX !== 'visible';
    return box.width > 0 && (box.right > inner + 0.5 || (!clipped && e.scrollWidth > e.clientWidth + 1));
  });
  const innermost = sticking.filter((e) => !sticking.some((other) => other !== e && e.contains(other)));
  return {
    width: document.documentElement.scrollWidth,
    inner,
    culprits: innermost.slice(0, 3).map((e) => `<${e.tagName.toLowerCase()} class="${e.className}">`
      + ` ${(e.innerText || '').slice(0, 40)}`),
  };
}"""


def sideways(page: Page, what: str) -> str | None:
    """What makes the page scroll sideways, or None when it fits its window."""
    measured = page.evaluate(_OVERFLOW)
    assert measured["inner"] == NARROW["width"], "the window is not as narrow as the test means it to be"
    if measured["width"] <= measured["inner"]:
        return None
    return f"{what} ({page.url}) is {measured['width']}px wide: {measured['culprits']}"


@pytest.fixture(scope="module")
def examples(server: Server) -> Examples:
    return demo_examples(server)


@pytest.mark.parametrize("role", ROLES)
def test_every_page_fits_a_narrow_screen(server: Server, page: Page, examples: Examples, role: str) -> None:
    if role != "visitor":  # signed in on a wide screen, where the Sign out link is not behind the menu
        page.goto(f"{server.url}/sign-in")
        sign_in(page, DEMO_EMAILS[role], demo.PASSWORD)
    page.set_viewport_size(NARROW)
    problems = []
    visited = 0
    for url in examples.urls(server, role):
        response = page.goto(server.url + url)
        if response is None or not response.headers.get("content-type", "").startswith("text/html"):
            continue
        visited += 1
        problem = sideways(page, f"{role} {url}")
        if problem:
            problems.append(problem)
    assert visited > 30, "the routes were not enumerated"
    assert problems == [], "\n".join(problems)


def answer_survey(page: Page, start: str, choose: dict[str, int] | None = None) -> list[str]:
    """Answer a survey from its link to the thank-you page; what did not fit on the way."""
    page.goto(start)
    problems = []
    for _ in range(30):
        problem = sideways(page, page.locator("h1").inner_text())
        if problem:
            problems.append(problem)
        if page.get_by_role("heading", name="Thank you").count():
            return problems
        answer_with_keyboard(page, choose=choose, text=ANSWER)
    raise AssertionError(f"{start} never reached its thank-you page")


def link_of(server: Server, questionnaire_id: str) -> str:
    """A device link of its own in the demo's open round of the questionnaire."""
    with server.rows():
        survey_round = next(
            r for r in SurveyRound.select() if r.questionnaire.questionnaire_id == questionnaire_id and r.is_open
        )
        return f"{server.url}/s/{create_link(survey_round, 'Reflow test', 'device').slug}"


@pytest.mark.parametrize("band", range(len(load_all()["child-experience"].age_bands)))
def test_child_survey_fits_a_narrow_screen(server: Server, page: Page, band: int) -> None:
    page.set_viewport_size(NARROW)
    problems = answer_survey(page, link_of(server, "child-experience"), {"band": band})
    assert problems == [], "\n".join(problems)


def test_family_survey_fits_a_narrow_screen(server: Server, page: Page) -> None:
    page.set_viewport_size(NARROW)
    problems = answer_survey(page, link_of(server, "family-experience"))
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert problems == [], "\n".join(problems)

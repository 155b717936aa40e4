"""The administration forms' follow-up questions, revealed by static/conditions.js.

They replaced GOV.UK's conditional radios, whose aria-expanded on a radio axe reports as invalid
ARIA: a user's agency shows only for an agency user, a link's number of codes only for single-use
codes; without JavaScript both show, each saying when to answer it.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from store import demo
from store.models import SurveyLink
from tests.browser.conftest import Server
from tests.browser.steps import sign_in_from_start

ADMIN = f"admin@{demo.EMAIL_DOMAIN}"


def test_agency_and_codes_questions_follow_the_answers_they_depend_on(
    server: Server, new_page: Callable[..., Page], shots
) -> None:
    page = new_page()
    sign_in_from_start(page, server.url, ADMIN, demo.PASSWORD)
    page.goto(f"{server.url}/admin/users/new")
    agency = page.get_by_label("Agency", exact=True)
    expect(agency).to_be_hidden()
    page.get_by_label("Agency user").check()
    expect(agency).to_be_visible()
    expect(page.get_by_text("Only answer this if you chose")).to_be_hidden()  # said only without JavaScript
    shots(page, "agency-revealed")
    page.get_by_label("Reviewer").check()
    expect(agency).to_be_hidden()

    page.goto(f"{server.url}/admin/rounds/")
    page.get_by_role("link", name="Neglect and early help workshops", exact=False).first.click()
    page.get_by_role("button", name="Add a link").click()
    count = page.get_by_label("How many codes")
    expect(count).to_be_hidden()
    page.get_by_label("Label").fill("Reveal test workshop")
    page.get_by_label("Single-use codes").check()
    expect(count).to_be_visible()
    count.fill("3")
    page.get_by_role("button", name="Add link").click()
    expect(page.get_by_text("Reveal test workshop").first).to_be_visible()
    with server.rows():
        link = SurveyLink.get(SurveyLink.label == "Reveal test workshop")
        assert link.mode == "tokens" and link.tokens.count() == 3


def test_without_javascript_every_question_shows_and_says_when_to_answer_it(
    server: Server, new_page: Callable[..., Page]
) -> None:
    page = new_page(js=False)
    sign_in_from_start(page, server.url, ADMIN, demo.PASSWORD)
    page.goto(f"{server.url}/admin/users/new")
    expect(page.get_by_label("Agency", exact=True)).to_be_visible()
    expect(page.get_by_text("Only answer this if you chose ‘Agency user’.")).to_be_visible()

"""The idle-timeout warning in a real browser, on a server whose sessions last seconds, not minutes.

The warning opens shortly before the session would end, counts down, passes the axe scan, keeps
the person signed in when asked (button or Escape), asks the server before acting (another tab
may have kept the session alive) and, when nobody answers, signs the person out and says why.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from accounts.passwords import hash_password
from app import create_app
from store.db import db, upgrade
from store.models import Agency, User
from tests.browser.axe import violations
from tests.browser.serving import serving

IDLE = 10  # seconds without a request before the session ends
WARN = 5  # the warning opens this long before: min(2 minutes, half the idle time)
EMAIL = "timeout-lead@example.org"
PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def short_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with CSRF on, sessions of IDLE seconds, its own database and one agency user."""
    url = f"sqlite:///{tmp_path_factory.mktemp('timeout') / 'timeout.sqlite3'}"
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "timeout-tests", "DATABASE_URL": url, "SESSION_IDLE_SECONDS": IDLE}
    )
    database = app.extensions["database"]
    db.initialize(database)
    with database.connection_context():
        upgrade(database)
        agency = Agency.create(name="Shire Police", sector="police")
        User.create(
            email=EMAIL, name="Timeout Lead", password_hash=hash_password(PASSWORD), role="agency", agency=agency
        )
    with serving(app) as url:
        yield url


def sign_in(page: Page, server: str) -> None:
    page.goto(f"{server}/sign-in")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Sign out")).to_be_visible()


def session_state(page: Page, server: str) -> dict:
    """What GET /session says for the page's cookies (asking does not extend the session)."""
    return page.request.get(f"{server}/session").json()


def test_warning_counts_down_then_stays_signed_in_then_signs_out(short_server: str, page: Page, shots) -> None:
    sign_in(page, short_server)
    dialog = page.locator("#app-timeout")
    expect(dialog).to_be_hidden()

    expect(dialog).to_be_visible(timeout=(IDLE - WARN + 3) * 1000)
    expect(dialog.get_by_role("heading", name="You will be signed out soon")).to_be_visible()
    expect(dialog.locator(".app-timeout__countdown")).to_have_text(re.compile(r"^\d seconds?$"))
    expect(dialog.locator("[aria-live]")).to_have_text(re.compile(r"We will sign you out in \d+ seconds?\."))
    first = dialog.locator(".app-timeout__countdown").inner_text()
    page.wait_for_timeout(1500)
    assert dialog.locator(".app-timeout__countdown").inner_text() != first, "the countdown does not move"
    shots(page, "warning")
    assert violations(page) == []

    dialog.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_be_hidden()
    state = session_state(page, short_server)
    assert state["signed_in"] and state["seconds_left"] >= IDLE - 2

    # Escape means "stay signed in" too
    expect(dialog).to_be_visible(timeout=(IDLE - WARN + 3) * 1000)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert session_state(page, short_server)["seconds_left"] >= IDLE - 2

    # nobody answers: signed out, and told why, on the sign-in page that brings them back
    expect(dialog).to_be_visible(timeout=(IDLE - WARN + 3) * 1000)
    expect(page).to_have_url(re.compile(r"/sign-in\?expired=1&next=/$"), timeout=(WARN + 5) * 1000)
    expect(page.get_by_text("You were signed out because you had not done anything for a while")).to_be_visible()
    shots(page, "signed-out")
    assert session_state(page, short_server) == {"signed_in": False, "seconds_left": 0}


def test_another_tab_keeping_the_session_alive_holds_the_warning_back(short_server: str, page: Page) -> None:
    sign_in(page, short_server)
    page.goto(f"{short_server}/")  # the warning's clock starts with this page
    page.wait_for_timeout(3000)
    other = page.context.new_page()
    other.goto(f"{short_server}/privacy")  # a request in another tab, 3 s later, extends the session
    dialog = page.locator("#app-timeout")

    page.wait_for_timeout((IDLE - WARN - 3) * 1000 + 1500)  # past the time this page alone would warn
    expect(dialog).to_be_hidden()
    expect(dialog).to_be_visible(timeout=6000)  # it warns when the session is really near its end
    other.close()


def test_pages_for_people_not_signed_in_have_no_warning(short_server: str, page: Page) -> None:
    page.goto(f"{short_server}/sign-in")
    assert page.locator("#app-timeout").count() == 0
    assert page.locator("script[src$='timeout.js']").count() == 0

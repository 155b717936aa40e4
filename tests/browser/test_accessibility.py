"""Every page of the app, as every role sees it, and its forms sent empty: no WCAG 2.2 AA failures.

The pages are not listed by hand: each GET route of `app.url_map` is requested as a visitor,
an agency user, a reviewer, an analyst and an administrator, with real ids from the demo
partnership, so a page added later is scanned without anyone remembering to. A route whose
arguments have no example in walk.py fails the test, naming the argument to add.

Each distinct page (the view the request ended at, its status, and the GOV.UK components in it,
so that an editable and a read-only page of one view are both scanned) is opened in Chromium
and scanned with axe-core. Each form on it that takes input is then sent with its boxes emptied,
and the page that answers (usually its error summary) is scanned too. Confirmation forms, which
hold nothing but a button, are not sent: they would close cycles and reopen audits. Nor are forms
whose button is a warning button: reopening an audit asks for an optional reason, and sent empty
it would reopen a demo audit under every later test (test_reopen_journey.py scans its errors).
Downloads (a route whose address ends in a file name) are not pages and are left out.

Error pages are scanned here as well: not found, too large (413), too many sign-ins (429) and the
database out of reach (503). The timeout warning is scanned in test_timeout.py, the conflict
page in test_colleague_conflict.py, and the anonymous surveys, in every age band, in
test_survey_journeys.py.
"""

from __future__ import annotations

import importlib.util
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from peewee import OperationalError
from playwright.sync_api import APIResponse, Page, expect
from werkzeug.exceptions import HTTPException

from store import demo
from store.models import SurveyLink
from tests.browser.axe import violations
from tests.browser.conftest import ARTIFACTS, Server
from tests.browser.steps import sign_in
from tests.browser.walk import DEMO_EMAILS, ROLES, Examples, demo_examples

FAILED = ARTIFACTS / "accessibility-failures"
H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)
TAG = re.compile(r"<[^>]+>")
CLASSES = re.compile(r'class="([^"]*)"')
# classes that style words and lay out the page: they do not change what axe has to check
TYPOGRAPHY = {
    "govuk-body",
    "govuk-body-s",
    "govuk-body-l",
    "govuk-caption-l",
    "govuk-caption-m",
    "govuk-caption-xl",
    "govuk-heading-xl",
    "govuk-heading-l",
    "govuk-heading-m",
    "govuk-heading-s",
    "govuk-link",
    "govuk-list",
    "govuk-visually-hidden",
    "govuk-main-wrapper",
    "govuk-grid-row",
    "govuk-grid-column-full",
    "govuk-grid-column-two-thirds",
    "govuk-grid-column-one-third",
    "govuk-grid-column-one-half",
    "govuk-section-break",
}


@pytest.fixture(scope="module")
def examples(server: Server) -> Examples:
    return demo_examples(server)


@dataclass
class Scanned:
    """Pages scanned so far in this module, so a page many roles reach is scanned once."""

    pages: set[tuple[object, ...]] = field(default_factory=set)
    forms: int = 0
    errors_shown: int = 0


@pytest.fixture(scope="module")
def scanned() -> Scanned:
    return Scanned()


def heading(html: str) -> str:
    found = H1.search(html)
    return " ".join(TAG.sub("", found.group(1)).split()) if found else ""


def components(html: str) -> frozenset[str]:
    """The GOV.UK components in the page's main content: a page's shape (a form or a read-only
    summary, an error summary or not), whatever its words, ids, typography and spacing."""
    main = html[html.find("<main") : html.find("</main>")]
    classes = " ".join(CLASSES.findall(main)).split()
    roots = {
        c.split("__")[0].split("--")[0] for c in classes if c.startswith("govuk-") and not c.startswith("govuk-!-")
    }
    return frozenset(roots - TYPOGRAPHY)


def key(server: Server, url: str, status: int, html: str) -> tuple[object, ...]:
    """What makes a page distinct: its view (not its ids), its status and its shape.

    Error pages are one page whatever the address that led to them."""
    if status >= 400:
        return ("", status, heading(html))
    path = urlsplit(url).path
    try:
        endpoint = server.app.url_map.bind("localhost").match(path, method="GET")[0]
    except HTTPException:
        endpoint = path
    return (endpoint, status, components(html))


def show(page: Page, answer: APIResponse) -> None:
    """Open in the browser the page just fetched, without the server making it a second time."""
    target = answer.url
    page.route(lambda url: url == target, lambda route: route.fulfill(response=answer))
    try:
        page.goto(target)
    finally:
        page.unroute_all()


def scan(page: Page, what: str) -> None:
    """axe on the page; a page that fails is saved as a screenshot (the others are not: the walk
    opens some eighty pages, and the journeys' screenshots show them)."""
    problems = violations(page)
    if problems:
        FAILED.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(FAILED / (re.sub(r"[^A-Za-z0-9_.-]+", "-", what)[:120] + ".png")), full_page=True)
    assert problems == [], f"{what}: {problems}"


# A form worth sending empty: one with something to type or choose, in the page's main content.
_FORMS_WITH_INPUT = """() => Array.from(document.querySelectorAll('main form'))
  .map((f, i) => [i, f])
  .filter(([, f]) => (f.getAttribute('method') || '').toLowerCase() === 'post')
  .filter(([, f]) => f.querySelector('input:not([type=hidden]), textarea, select'))
  .filter(([, f]) => !f.querySelector('.govuk-button--warning'))
  .map(([i]) => i)"""

_EMPTY_AND_SEND = """(index) => {
  const form = document.querySelectorAll('main form')[index];
  for (const box of form.querySelectorAll('textarea, input:not([type]), input[type=text], input[type=email], input[type=password], input[type=number], input[type=url]')) box.value = '';
  for (const box of form.querySelectorAll('input[type=checkbox]')) box.checked = false;
  const buttons = Array.from(form.querySelectorAll('button:not([type=button]), input[type=submit]'));
  const main = buttons.find((b) => !b.classList.contains('govuk-button--secondary')) || buttons[0];
  if (main) main.click(); else form.requestSubmit();
}"""


def send_forms_empty(server: Server, page: Page, url: str, scanned: Scanned) -> None:
    for number, index in enumerate(page.evaluate(_FORMS_WITH_INPUT)):
        if number:  # the first is sent from the page as shown; the next from the page afresh
            page.goto(url)
        with page.expect_navigation() as sent:
            page.evaluate(_EMPTY_AND_SEND, index)
        status = sent.value.status if sent.value is not None else 0
        assert status < 500, f"form {index} of {url} sent empty: {status}"
        scanned.forms += 1
        html = page.content()
        if "govuk-error-summary" in html:
            scanned.errors_shown += 1
        page_key = key(server, page.url, status, html)
        if page_key in scanned.pages:
            continue
        scanned.pages.add(page_key)
        scan(page, f"{url}, form {index} sent empty")


@pytest.mark.parametrize("role", ROLES)
def test_every_page_as_each_role_has_no_violations(
    server: Server, new_page: Callable[..., Page], examples: Examples, scanned: Scanned, role: str
) -> None:
    page = new_page()
    if role != "visitor":
        page.goto(f"{server.url}/sign-in")
        sign_in(page, DEMO_EMAILS[role], demo.PASSWORD)
    requested = 0
    for url in examples.urls(server, role):
        requested += 1
        answer = page.request.get(server.url + url)
        assert answer.status < 500, f"{role} GET {url}: {answer.status}"
        if not answer.headers.get("content-type", "").startswith("text/html"):
            continue
        page_key = key(server, answer.url, answer.status, answer.text())
        if page_key in scanned.pages:
            continue
        scanned.pages.add(page_key)
        show(page, answer)
        scan(page, f"{role} {url}")
        send_forms_empty(server, page, answer.url, scanned)
    assert requested > 30, "the routes were not enumerated"
    if role == ROLES[-1]:  # by now the walk has reached real forms and their error summaries
        assert scanned.forms >= 10 and scanned.errors_shown >= 8, scanned


def test_not_found_and_too_large_pages_have_no_violations(server: Server, page: Page, shots) -> None:
    response = page.goto(f"{server.url}/no-such-page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    shots(page, "not-found")
    scan(page, "404")

    # more than the server takes in one request (MAX_CONTENT_LENGTH): a clear page, not a crash
    page.goto(f"{server.url}/sign-in")
    page.get_by_label("Email address").fill("someone@example.org")
    page.evaluate("document.getElementById('password').value = 'x'.repeat(1100000)")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="What you sent is too large")).to_be_visible()
    shots(page, "too-large")
    scan(page, "413")


def test_too_many_sign_ins_page_has_no_violations(server: Server, page: Page, shots) -> None:
    """Failed sign-ins for one account are limited (request_limits.py): the refusal is a page too."""
    if not importlib.util.find_spec("request_limits"):
        pytest.skip("this version of the app has no rate limits")
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.org"
    page.goto(f"{server.url}/sign-in")
    refused_after = None
    for attempt in range(1, 31):
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill("not the password")
        with page.expect_navigation() as sent:
            page.get_by_role("button", name="Sign in").click()
        if sent.value is not None and sent.value.status == 429:
            refused_after = attempt
            break
        expect(page.get_by_text("Enter a correct email address and password").first).to_be_visible()
    assert refused_after is not None, "thirty wrong passwords for one account were never refused"
    assert refused_after > 3, "refused too early"
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    shots(page, "too-many-sign-ins")
    scan(page, "429")


def test_unavailable_page_has_no_violations(server: Server, page: Page, shots, monkeypatch) -> None:
    """The database out of reach (here: every query fails as a locked SQLite file does) is a page."""
    if not importlib.util.find_spec("views.unavailable"):
        pytest.skip("this version of the app has no service unavailable page")
    link = examples_link(server)

    def locked(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(server.database, "cursor", locked)
    response = page.goto(f"{server.url}/s/{link}")
    assert response is not None and response.status == 503
    shots(page, "unavailable")
    scan(page, "503")
    monkeypatch.undo()
    assert page.goto(f"{server.url}/s/{link}").status == 200  # back by itself with the database


def examples_link(server: Server) -> str:
    with server.rows():
        return SurveyLink.get(SurveyLink.label == "Schools and youth groups").slug

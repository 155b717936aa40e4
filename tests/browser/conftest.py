"""Real Chromium (Debian's) driven by Playwright against the app served on loopback.

One browser for the whole run and one server, on a throwaway SQLite database filled with the
demo partnership (store/demo.py), so every page has something to show. Journeys make their own
agencies, users and links on top of it, so no test depends on another's leftovers.

Every page a test visits is saved as a screenshot under artifacts/screenshots/<test>/ so a
person can look at what the test saw. Chromium missing is an error, not a skip: CI installs it.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from peewee import Database
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from accounts.passwords import hash_password
from app import create_app
from store import demo
from store.db import db, upgrade
from store.models import Agency, User
from store.questionnaires import sync_shipped
from tests.browser.serving import serving
from tests.browser.steps import PASSWORD, PHONE

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"viewport": {"width": 1024, "height": 900}}
PHONE_OPTIONS = {"viewport": PHONE, "is_mobile": True, "has_touch": True}
MAX_SHOT_HEIGHT = 3000  # pixels

# a loaded machine (two cores shared) can take more than the default 5 s to answer a long page
expect.set_options(timeout=15_000)


@dataclass
class Server:
    """The live server, its app and database, and the demo partnership in it."""

    url: str
    app: Flask
    database: Database
    demo: demo.Created

    @contextmanager
    def rows(self) -> Iterator[None]:
        """Read or write the server's database from the test, as the server sees it."""
        db.initialize(self.database)
        with self.database.connection_context():
            yield

    def agency_with_users(self, *names: str) -> list[User]:
        """A new agency (its own audit in the open cycle) with one agency user per name."""
        tag = uuid.uuid4().hex[:8]
        with self.rows():
            agency = Agency.create(name=f"Test agency {tag}", sector="voluntary-and-community")
            hashed = hash_password(PASSWORD)
            return [
                User.create(
                    email=f"{name.lower().replace(' ', '.')}.{tag}@example.org",
                    name=name,
                    password_hash=hashed,
                    role="agency",
                    agency=agency,
                )
                for name in names
            ]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app with CSRF on, as people get it, on a free loopback port."""
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'browser.sqlite3'}"
    app = create_app({"TESTING": True, "DEMO_MODE": True, "SECRET_KEY": "browser-tests", "DATABASE_URL": url})
    database = app.extensions["database"]
    db.initialize(database)
    with database.connection_context():
        upgrade(database)
        sync_shipped(app.extensions["questionnaires"])
        created = demo.create()
    with serving(app) as url:
        yield Server(url, app, database, created)


@pytest.fixture(scope="session")
def live_server(server: Server) -> str:
    return server.url


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError("Chromium is missing: apt-get install -y chromium (CI's .ci/run does this)")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
    yield browser
    browser.close()


class Shots:
    """Saves a numbered screenshot of the page into the test's own folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.count = 0
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, page: Page, name: str) -> None:
        self.count += 1
        # the whole page, down to a few screens: a 40-item check page would cost seconds
        height = min(page.evaluate("document.documentElement.scrollHeight"), MAX_SHOT_HEIGHT)
        width = page.viewport_size["width"] if page.viewport_size else 1024
        clip = {"x": 0, "y": 0, "width": width, "height": height}
        page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True, clip=clip)


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name))


def _page(browser: Browser, **options) -> Iterator[Page]:
    context = browser.new_context(**options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # a page may be a 404 on purpose; what it loads (CSS, JS, fonts) must not be
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}") if r.status >= 400 and r.request.resource_type != "document" else None
        ),
    )
    yield page
    context.close()
    assert not errors, f"the browser reported errors: {errors}"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    yield from _page(browser, **DESKTOP)


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    yield from _page(browser, **PHONE_OPTIONS)


@pytest.fixture
def no_js_page(browser: Browser) -> Iterator[Page]:
    yield from _page(browser, **DESKTOP, java_script_enabled=False)


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """More browsers in one test, each with its own cookies: a second visit, a second person.

    `new_page()` is desktop-sized, `new_page(phone=True)` phone-sized, `js=False` without
    JavaScript; each is checked for errors like `page` when the test ends."""
    opened: list[Iterator[Page]] = []

    def make(phone: bool = False, js: bool = True) -> Page:
        pages = _page(browser, **(PHONE_OPTIONS if phone else DESKTOP), java_script_enabled=js)
        opened.append(pages)
        return next(pages)

    yield make
    problems = []
    for pages in opened:
        try:
            next(pages)
        except StopIteration:
            pass
        except AssertionError as problem:
            problems.append(str(problem))
    assert not problems, problems

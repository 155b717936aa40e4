"""Faults under the real server: the database out of reach, a read-only disk, a full disk.

Each test seeds a small platform, lets people work, injects the fault, and checks what a person
sees during it (a GOV.UK "service unavailable" page with status 503, never a traceback; what
they typed kept), then clears the fault without touching the app and checks that service comes
back by itself, that what was kept comes back to them, and that nothing stored before was lost
or damaged.

- PostgreSQL: the app reaches the server through a TCP proxy in the test, which is cut (every
  connection dropped, new ones closed at once) and then restored.
- SQLite: another connection takes the database file's exclusive lock and holds it past the
  app's busy timeout; then, on a tmpfs of the test's own, the disk turns read-only
  (SQLITE_READONLY) and fills up (SQLITE_FULL).
"""

from __future__ import annotations

import random
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable

import pytest

from store.answers import load_answers
from store.audits import response_of
from store.db import db, make_database
from store.models import Audit
from tests.conftest import PASSWORD
from tests.system.disk import Tmpfs
from tests.system.ledger_check import check
from tests.system.people import SAVED, Ledger, respond, respondents, sign_in
from tests.system.servers import ENGINE, Agent, CuttableProxy, Seeded, Server, migrate, seed, sqlite_only, through
from tests.system.web import Browser, Page, Tally

UNAVAILABLE = "Sorry, the service is unavailable"
KEPT = "We have kept what you typed"
SHOWN_AGAIN = "We kept what you typed, but it is not saved yet. Check it and save."


def words(page: Page) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.html)).replace("&#39;", "'").replace("&#x27;", "'")


def assert_unavailable(page: Page) -> None:
    assert page.status == 503, (page.status, page.path, words(page)[:500])
    assert UNAVAILABLE in words(page) and page.headers.get("Retry-After") == "30"
    assert not {"Traceback", "OperationalError", "InterfaceError", "sqlite", "psycopg"} & set(
        re.findall(r"\w+", page.html)
    )


class OpenPage:
    """A standard's page as a browser holds it once opened: its form, to type into and send."""

    def __init__(self, browser: Browser, agent: Agent, section_id: str):
        self.browser = browser
        self.section_id = section_id
        self.path = f"/audit/{agent.audit_id}/{section_id}"
        page = browser.get(self.path)
        assert page.status == 200, (page.status, words(page)[:300])
        self.form = page.form(self.path)

    def save(self, text: str) -> Page:
        self.form.set(f"{self.section_id}.1-narrative", text)
        self.form.set("section-completed", "yes")
        return self.browser.post(self.path, self.form.data(("save", "continue")))


def try_again(browser: Browser, page: Page) -> Page:
    """Press the 503 page's "Try again" button: it sends the kept fields again."""
    return browser.post(page.path, page.form(page.path).data())


def stored_narrative(url: str, agent: Agent, section_id: str) -> str | None:
    database = make_database(url)
    before = db.obj
    db.initialize(database)
    try:
        with database.connection_context():
            return load_answers(response_of(Audit.get_by_id(agent.audit_id))).get(f"{section_id}.1-narrative")
    finally:
        database.close()
        db.initialize(before)


def wait_for_service(browser: Browser, path: str, seconds: float = 30) -> Page:
    """Ask again every half second, as a person would, until the page is back."""
    deadline = time.monotonic() + seconds
    while True:
        page = browser.get(path)
        if page.status == 200 or time.monotonic() > deadline:
            return page
        time.sleep(0.5)


def unique(words_: str) -> str:
    return f"{words_} {secrets.token_hex(4)}"


# ---------------------------------------------------------------------------------------------
# The database out of reach


def outage(
    server: Server,
    url: str,
    seeded: Seeded,
    fault: Callable[[], None],
    clear: Callable[[], None],
    reads_fail: bool,
) -> list[str]:
    """Work under way, the fault for a few seconds, then cleared: returns figures to report.
    `reads_fail`: every page fails during the fault, not only those that write."""
    agent = seeded.agents[0]
    tally, ledger = Tally(), Ledger()
    until = time.monotonic() + 10
    background = [
        threading.Thread(target=respondents(server.base, seeded.slug, tally, ledger, until, 0, seed=i), daemon=True)
        for i in range(3)
    ]
    for thread in background:
        thread.start()
    person = Browser(server.base, Tally())
    assert sign_in(person, agent.email, PASSWORD).status == 200
    before = unique("Saved before the fault")
    assert SAVED in words(OpenPage(person, agent, "s1").save(before))
    kept_page, resent_page = OpenPage(person, agent, "s2"), OpenPage(person, agent, "s3")
    time.sleep(1.5)

    fault()
    started = time.monotonic()
    if reads_fail:
        assert_unavailable(person.get("/audit/"))
        assert_unavailable(Browser(server.base, Tally()).get(f"/s/{seeded.slug}"))
    else:
        assert (
            person.get("/audit/").status == 200 and Browser(server.base, Tally()).get(f"/s/{seeded.slug}").status == 200
        )
    typed, resent = unique("Typed during the fault"), unique("Sent again after the fault")
    during = kept_page.save(typed)
    assert_unavailable(during)
    assert KEPT in words(during) and "has not been saved yet" in words(during)
    unsent = resent_page.save(resent)
    assert_unavailable(unsent)
    time.sleep(2)
    clear()
    cleared = time.monotonic()

    assert wait_for_service(person, "/audit/").status == 200, "service did not come back by itself"
    back = time.monotonic() - cleared
    shown = person.get(kept_page.path)
    assert shown.status == 200 and SHOWN_AGAIN in words(shown) and typed in shown.html
    assert stored_narrative(url, agent, "s2") != typed, "shown again to check, not saved behind the person's back"
    assert SAVED in words(try_again(person, unsent))
    assert stored_narrative(url, agent, "s3") == resent
    assert stored_narrative(url, agent, "s1") == before

    for thread in background:
        thread.join(timeout=60)
    assert not [f for f in tally.failures if not f.startswith("503 ")], tally.failures
    check(url, Seeded(seeded.slug, []), ledger)
    assert "Traceback" not in server.output(tail=None), server.output()
    return [
        f"engine {ENGINE}: fault held {cleared - started:.1f} s, service back {back:.1f} s after it cleared",
        f"background respondents: {len(ledger.responses)} acknowledged and stored once; "
        f"statuses {dict(sorted(tally.statuses.items()))}",
    ]


@pytest.mark.skipif(ENGINE != "postgresql", reason="runs in the PostgreSQL pass (.ci/run sets TEST_DATABASE_URL)")
def test_postgresql_cut_off_shows_unavailable_keeps_answers_and_comes_back(
    database_url: str,
    proxy: Callable[[str], CuttableProxy],
    start_server: Callable[..., Server],
    report: list[str],
) -> None:
    migrate(database_url)
    seeded = seed(database_url, agencies=2, submitters=0)
    cuttable = proxy(database_url)
    server = start_server(through(database_url, cuttable))
    report.extend(outage(server, database_url, seeded, cuttable.cut, cuttable.restore, reads_fail=True))
    report.append(f"connections the proxy closed during the cut: {cuttable.refused}")
    assert cuttable.refused > 0


@sqlite_only
def test_sqlite_locked_past_the_busy_timeout_shows_unavailable_keeps_answers_and_comes_back(
    database_url: str, start_server: Callable[..., Server], report: list[str]
) -> None:
    """Another process (a long script, a stuck job) holds SQLite's write lock past the app's busy
    timeout. In WAL mode readers never wait for a writer, so pages that only read still work;
    every write waits, gives up, and the person gets the 503 page with their answers kept. (An
    exclusive lock that stops readers too cannot be taken while the app's pooled connections
    have the file open: SQLite itself refuses it.)"""
    migrate(database_url)
    seeded = seed(database_url, agencies=2, submitters=0)
    server = start_server(database_url, busy_timeout=1.0)
    holder: list[sqlite3.Connection] = []

    def lock() -> None:
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None, timeout=30)
        connection.execute("BEGIN IMMEDIATE")  # the write lock, held until the transaction ends
        holder.append(connection)

    def release() -> None:
        connection = holder.pop()
        connection.execute("ROLLBACK")
        connection.close()

    report.extend(outage(server, database_url, seeded, lock, release, reads_fail=False))
    assert "database is locked" in server.output(tail=None)


# ---------------------------------------------------------------------------------------------
# Disk faults under SQLite


def disk_fault(
    disk: Tmpfs, start_server: Callable[..., Server], fault: Callable[[], None], clear: Callable[[], None], error: str
) -> list[str]:
    path = disk.data / "platform.sqlite3"
    url = f"sqlite:///{path}"
    migrate(url)
    seeded = seed(url, agencies=1, submitters=0)
    server = start_server(url, busy_timeout=1.0)
    agent = seeded.agents[0]
    rng = random.Random(3)
    earlier = Ledger()
    for n in range(3):
        assert respond(Browser(server.base, Tally()), seeded.slug, f"before the fault {n}", rng, earlier)
    person = Browser(server.base, Tally())
    assert sign_in(person, agent.email, PASSWORD).status == 200
    before = unique("Saved before the fault")
    assert SAVED in words(OpenPage(person, agent, "s1").save(before))
    kept_page, resent_page = OpenPage(person, agent, "s2"), OpenPage(person, agent, "s3")
    respondent = Browser(server.base, Tally())
    first = respondent.get(f"/s/{seeded.slug}/q/your-organisation")
    assert first.status == 200
    disk.hold_open(path)

    fault()
    assert person.get("/audit/").status == 200, "reading still works"
    typed, resent = unique("Typed on a faulty disk"), unique("Sent again once the disk was fixed")
    during = kept_page.save(typed)
    assert_unavailable(during)
    assert KEPT in words(during)
    unsent = resent_page.save(resent)
    assert_unavailable(unsent)
    form = first.form(first.path)
    for name, values in form.radios.items():
        form.set(name, values[0])
    refused = respondent.post(first.path, form.data())
    assert_unavailable(refused)
    assert error in server.output(tail=None), f"not the fault meant: {server.output()[-2000:]}"
    clear()

    shown = wait_for_service(person, kept_page.path)
    assert shown.status == 200 and SHOWN_AGAIN in words(shown) and typed in shown.html
    assert SAVED in words(try_again(person, unsent))
    assert stored_narrative(url, agent, "s3") == resent and stored_narrative(url, agent, "s1") == before
    assert try_again(respondent, refused).path.endswith("/q/training-and-support"), "the survey page went through"
    after = Ledger()
    assert respond(Browser(server.base, Tally()), seeded.slug, "after the fault", rng, after)

    assert disk.holder is not None
    assert disk.holder.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    earlier.responses.update(after.responses)
    earlier.responses_sent |= after.responses_sent
    stored = check(url, Seeded(seeded.slug, []), earlier)
    assert "Traceback" not in server.output(tail=None), server.output()
    return [f"{error!r} seen; integrity_check ok; {stored.responses} responses stored, every one acknowledged"]


@sqlite_only
def test_a_read_only_disk_shows_unavailable_keeps_answers_and_corrupts_nothing(
    tmpfs: Callable[[int], Tmpfs], start_server: Callable[..., Server], report: list[str]
) -> None:
    disk = tmpfs(64)
    report.extend(
        disk_fault(disk, start_server, disk.make_read_only, disk.make_writable, "attempt to write a readonly database")
    )


@sqlite_only
def test_a_full_disk_shows_unavailable_keeps_answers_and_corrupts_nothing(
    tmpfs: Callable[[int], Tmpfs], start_server: Callable[..., Server], report: list[str]
) -> None:
    disk = tmpfs(64)
    report.extend(disk_fault(disk, start_server, disk.fill, disk.free, "database or disk is full"))

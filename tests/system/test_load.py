"""Many people at once on the real server, then a worker killed under them (kill -9).

gunicorn serves the app with 4 sync workers on a fresh database (SQLite in WAL mode, or
PostgreSQL in .ci/run's second pass). For a bounded time, respondents answer the practitioner
survey page by page on new devices while agency users save standards and some submit their
self-audits, CSRF and sessions on, as browsers without JavaScript would. Afterwards the database
must hold exactly what the clients were told: every acknowledged response once, with all its
answers; every acknowledged save, in the audit and its trail; each submission once.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable

from tests.conftest import PASSWORD
from tests.system.ledger_check import check
from tests.system.people import Ledger, agency_user, respondents
from tests.system.servers import ENGINE, Seeded, Server, migrate, seed
from tests.system.web import Browser, Tally

RESPONDENTS = 12  # threads, each one new device after another
AGENCIES = 6  # one signed-in user each
SUBMITTERS = 3  # of them, complete and submit their self-audit
SECONDS = 12.0  # how long the clients keep starting new work (what is under way then finishes)


def run_load(
    server: Server, seeded: Seeded, retries: int, during: Callable[[float], None] | None = None
) -> tuple[Tally, Ledger, float]:
    tally, ledger = Tally(), Ledger()
    started = time.monotonic()
    until = started + SECONDS
    work = [respondents(server.base, seeded.slug, tally, ledger, until, retries, seed=i) for i in range(RESPONDENTS)]
    work += [
        agency_user(server.base, agent, PASSWORD, tally, ledger, until, retries, seed=100 + i)
        for i, agent in enumerate(seeded.agents)
    ]
    threads = [threading.Thread(target=w, daemon=True) for w in work]
    for thread in threads:
        thread.start()
    if during is not None:
        during(until)
    for thread in threads:
        thread.join(timeout=SECONDS + 120)
    assert not any(t.is_alive() for t in threads), "clients still running long after the load ended"
    return tally, ledger, time.monotonic() - started


def figures(tally: Tally, ledger: Ledger, elapsed: float) -> list[str]:
    return [
        f"engine {ENGINE}, {RESPONDENTS} respondents + {AGENCIES} agency users, {elapsed:.1f} s",
        f"requests {tally.requests} ({tally.requests / elapsed:.0f}/s), statuses {dict(sorted(tally.statuses.items()))}, "
        f"died {tally.died}",
        f"responses sent {len(ledger.responses_sent)}, acknowledged {len(ledger.responses)}; "
        f"saves acknowledged {sum(map(len, ledger.saves.values()))}; audits submitted {len(ledger.submitted)}",
        f"problems seen by clients: {dict(ledger.outcomes) or 'none'}",
    ]


def server_log_figures(server: Server) -> str:
    """No request failed unhandled (a 500 would have been seen too); what else the log says."""
    log = server.output(tail=None)
    assert "unhandled error" not in log, log[-4000:]
    scoring = log.count("after submission failed")
    return f"server log: no unhandled error; scoring after submission deferred {scoring} times"


def test_concurrent_respondents_and_agency_users_lose_and_duplicate_nothing(
    database_url: str, start_server: Callable[..., Server], report: list[str]
) -> None:
    migrate(database_url)
    seeded = seed(database_url, AGENCIES, SUBMITTERS)
    server = start_server(database_url)
    tally, ledger, elapsed = run_load(server, seeded, retries=0)
    report.extend(figures(tally, ledger, elapsed))
    assert not tally.failures, tally.failures
    assert tally.died == 0 and not ledger.outcomes, (tally.died, ledger.outcomes)
    assert len(ledger.responses) >= RESPONDENTS, "the load was too light to show anything"
    assert ledger.submitted == {a.email for a in seeded.agents if a.submits}
    stored = check(database_url, seeded, ledger)
    assert stored.responses == len(ledger.responses), "a response was stored that no client saw acknowledged"
    report.append(server_log_figures(server))
    report.append(
        f"stored: {stored.responses} responses, {stored.saves_checked} saves, {stored.audits_submitted} audits"
    )


def test_killing_workers_under_load_loses_and_duplicates_nothing(
    database_url: str, start_server: Callable[..., Server], report: list[str]
) -> None:
    migrate(database_url)
    seeded = seed(database_url, AGENCIES, SUBMITTERS)
    server = start_server(database_url)
    killed: list[int] = []
    rng = random.Random(9)

    def kill_workers(until: float) -> None:
        """kill -9 a busy worker every couple of seconds while the clients work."""
        time.sleep(2)
        while time.monotonic() < until - 2:
            workers = server.workers()
            if workers:
                pid = rng.choice(workers)
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(2.5)

    tally, ledger, elapsed = run_load(server, seeded, retries=30, during=kill_workers)
    report.extend(figures(tally, ledger, elapsed))
    report.append(f"workers killed with SIGKILL: {len(killed)}")
    assert len(killed) >= 3
    assert not tally.failures, tally.failures
    given_up = {k: n for k, n in ledger.outcomes.items() if "gave up" in k}
    assert not given_up, given_up
    stored = check(database_url, seeded, ledger, strict_submissions=False)
    report.append(
        f"stored: {stored.responses} responses, {stored.saves_checked} saves, {stored.audits_submitted} audits"
    )
    # gunicorn replaced every killed worker, and the app still serves
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(server.workers()) < server.worker_count:
        time.sleep(0.2)
    workers = server.workers()
    assert len(workers) == server.worker_count and not set(workers) & set(killed)
    assert Browser(server.base, Tally()).get("/sign-in").status == 200
    report.append(server_log_figures(server))

"""Submissions (POST) per second of the real survey pages against a bare Flask baseline, in one run.

For each database engine (SQLite, PostgreSQL) and each number of gunicorn sync workers (2, 4),
it serves on 127.0.0.1, with the same workers and the same database:

  app       the real app (app:create_app()): anonymous respondents answering a survey link
            (/s/<slug>/q/<page> for each page, then /s/<slug>/check to send), every POST with
            its session cookie and CSRF token; the link, the draft response kept in the session,
            the single send under a fresh submission key; security headers;
  baseline  bench/baseline_submit.py: one bare route at the same page paths that validates the
            same WTForms form and inserts one response and its answer rows in one transaction
            (no CSRF, no session, no link checks, no drafts).

The load is a Python client in several processes, each on its own keep-alive HTTP connection
(gunicorn's sync workers close it after each response; http.client opens the next one), the same
client for both. Every app respondent is a new browser: before the timed window each client
process opens the survey's first page once per respondent it will play (a GET, as a browser must,
for its session cookie and CSRF token); in the window it posts every page with random valid
answers (the questionnaire's own options), then sends, keeping the cookies the server sets. The
baseline gets the same page posts. Only POSTs that the server answered with its 303 to the right
next page count; after every measurement the rows in the database are counted and must match what
the client was told (submitted responses, drafts, answer rows), or the benchmark stops.

It alternates app and baseline round by round and prints the median requests/s of each, the
median of the per-round ratios app/baseline against the target (0.8), the app's completed
submissions/s, and the workers' CPU time per POST.

Run from the project root (as root for PostgreSQL: it makes a throwaway cluster, as .ci/run does):

  python bench/submit.py [--engines sqlite postgresql] [--workers 2 4] [--duration 10]
                         [--clients 8] [--rounds 3] [--questionnaire practitioner-s11-survey]

It exits 0 whether or not the target is met (it is a benchmark, not a test), 2 when a server does
not start or a check fails; every server and cluster it started is stopped on exit or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import math
import multiprocessing
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import HOST, BenchError, Server, get, main_guarded, median, throwaway_postgres
from questionnaires import Question, Questionnaire, load_all
from questionnaires.conditions import evaluate

TARGET = 0.8
REAL_APP = "app:create_app()"
BASELINE_APP = "bench.baseline_submit:create_app()"
SECRET_KEY = "bench-submit-not-a-secret"
DEFAULT_QUESTIONNAIRE = "practitioner-s11-survey"
RATE_LIMITS = ("RATELIMIT_SURVEY_PAGES", "RATELIMIT_SURVEY_POSTS")  # request_limits.py
HIGH_RATE = "100000000 per minute"
CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
WORDS = [
    "training",
    "supervision",
    "referral",
    "meeting",
    "manager",
    "policy",
    "safeguarding",
    "lead",
    "partner",
    "school",
    "health",
    "police",
    "family",
    "child",
    "support",
    "escalation",
    "review",
    "record",
    "information",
    "sharing",
    "team",
    "visit",
    "plan",
    "worry",
]


# ---------------------------------------------------------------------------------------------
# What respondents post: random valid answers from the questionnaire's own definition


@dataclass(frozen=True)
class Page:
    path: str  # the page's path under /s/<slug>/, like q/your-organisation
    body: str  # the form fields, urlencoded, without the CSRF token
    answers: int  # the answer rows saving it stores


def answer(question: Question, rng: random.Random) -> list[tuple[str, str]]:
    """Form fields answering one question as a person would, with a valid value."""
    q = question
    if q.type in ("single_choice", "yes_no"):
        return [(q.id, rng.choice(q.offered_options).value)]
    if q.type == "multiple_choice":
        options = list(q.offered_options)
        lone = [o for o in options if not o.in_base]
        if lone and rng.random() < 0.1:
            return [(q.id, rng.choice(lone).value)]
        counted = [o for o in options if o.in_base]
        low = q.min_selected or 1
        high = min(len(counted), q.max_selected or len(counted), max(low, 3))
        return [(q.id, o.value) for o in rng.sample(counted, rng.randint(low, high))]
    if q.type in ("short_text", "long_text"):
        limit = q.max_length or 200
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 40 if q.type == "long_text" else 8)))
        return [(q.id, text[:limit].strip())]
    if q.type == "number":
        low = int(q.min) if q.min is not None else 0
        high = int(q.max) if q.max is not None else low + 100
        return [(q.id, str(rng.randint(low, high)))]
    if q.type == "date":
        last = min(q.not_after or dt.date.today(), dt.date.today())
        first = max(q.not_before or last - dt.timedelta(days=365), last - dt.timedelta(days=365))
        day = first + dt.timedelta(days=rng.randint(0, max(0, (last - first).days)))
        return [(f"{q.id}-day", str(day.day)), (f"{q.id}-month", str(day.month)), (f"{q.id}-year", str(day.year))]
    raise BenchError(f"the benchmark cannot answer {q.type} questions ({q.id}): pick a survey questionnaire")


def respondent(questionnaire: Questionnaire, rng: random.Random) -> list[Page]:
    """One respondent's pages: every required question answered, optional ones most of the time."""
    given: dict[str, Any] = {}
    pages = []
    for section in questionnaire.sections_for(None):
        fields: list[tuple[str, str]] = []
        stored = 0
        for question in section.questions_for(None):
            if not evaluate(question.show_if, given):
                continue
            wanted = question.required or question.required_if is not None or rng.random() < 0.7
            if not wanted:
                continue
            pairs = answer(question, rng)
            fields += pairs
            given[question.id] = pairs[0][1]
            stored += 1
        pages.append(Page(f"q/{section.id}", urlencode(fields), stored))
    return pages


# ---------------------------------------------------------------------------------------------
# The database: schema, definitions, an open round and its links; then counting rows


@dataclass
class Links:
    app: list[str]
    baseline: list[str]
    ids: dict[str, list[int]]  # "app"/"baseline" -> link ids


def prepare(url: str, questionnaire_id: str, links_each: int) -> Links:
    """Migrate the database, store the shipped definitions, open a round with device links."""
    from app import create_app  # the bench process needs the app only here
    from store.db import upgrade
    from store.models import SurveyRound
    from store.questionnaires import newest_versions, sync_shipped
    from store.surveys import create_link

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY})
    database = app.extensions["database"]
    with app.app_context():
        upgrade(database)
        with database.connection_context():
            sync_shipped(app.extensions["questionnaires"])
            version = {row.questionnaire_id: row for row in newest_versions()}.get(questionnaire_id)
            if version is None:
                raise BenchError(f"no questionnaire {questionnaire_id!r}")
            today = dt.date.today()
            survey_round = SurveyRound.create(
                name="Benchmark round",
                questionnaire=version,
                opens_on=today - dt.timedelta(days=1),
                closes_on=today + dt.timedelta(days=30),
                is_open=True,
            )
            made = {side: [create_link(survey_round, f"{side} {i}", "device") for i in range(links_each)]
                    for side in ("app", "baseline")}  # fmt: skip
    database.close()
    return Links(
        app=[link.slug for link in made["app"]],
        baseline=[link.slug for link in made["baseline"]],
        ids={side: [link.id for link in made[side]] for side in made},
    )


@dataclass(frozen=True)
class Rows:
    submitted: int
    drafts: int
    answers: int


def count_rows(url: str, link_ids: list[int]) -> Rows:
    """What is stored for these links: submitted responses, drafts, and all their answers."""
    from store.db import make_database

    database = make_database(url)
    marks = ", ".join(["%s" if not url.startswith("sqlite") else "?"] * len(link_ids))
    try:
        with database.connection_context():
            statuses = dict(
                database.execute_sql(
                    f'SELECT status, COUNT(*) FROM "response" WHERE link_id IN ({marks}) GROUP BY status', link_ids
                ).fetchall()
            )
            (answers,) = database.execute_sql(
                f'SELECT COUNT(*) FROM "answer" a JOIN "response" r ON a.response_id = r.id WHERE r.link_id IN ({marks})',
                link_ids,
            ).fetchone()
    finally:
        database.close()
    return Rows(statuses.get("submitted", 0), statuses.get("draft", 0), answers)


# ---------------------------------------------------------------------------------------------
# The load: client processes, each on one keep-alive connection


@dataclass
class Tally:
    """What one client process did in the timed window, as the server answered it."""

    posts: int = 0  # POSTs answered with the expected 303: each stored what it carried
    sends: int = 0  # of which final sends (app): submitted responses
    drafts: int = 0  # respondents whose first page was saved (app): drafts made
    answers: int = 0  # answer rows the counted POSTs stored
    ran_out: bool = False  # no prepared respondent left before the end of the window
    started: float = 0.0
    ended: float = 0.0
    cpu: float = 0.0  # the client process's own CPU seconds in the window
    failures: list[str] = field(default_factory=list)


class Browser:
    """A keep-alive connection and one respondent's cookies."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection(HOST, port, timeout=30)
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, body: str | None = None) -> tuple[int, str, bytes]:
        headers = dict(FORM) if body is not None else {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.connection.request(method, path, body, headers)
        response = self.connection.getresponse()
        content = response.read()
        for header in response.msg.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value and "Max-Age=0" not in header and "01 Jan 1970" not in header:
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)
        return response.status, urlsplit(response.getheader("Location") or "").path, content

    def close(self) -> None:
        self.connection.close()


def _next_path(slug: str, pages: list[Page], index: int) -> str:
    return f"/s/{slug}/{pages[index + 1].path}" if index + 1 < len(pages) else f"/s/{slug}/check"


def _prepare_respondents(browser_port: int, slug: str, first_page: str, count: int) -> list[tuple[dict[str, str], str]]:
    """`count` new browsers that opened the first page: their cookies and CSRF token."""
    prepared = []
    for _ in range(count):
        browser = Browser(browser_port)
        status, _, content = browser.send("GET", f"/s/{slug}/{first_page}")
        browser.close()
        found = CSRF_INPUT.search(content.decode())
        if status != 200 or found is None or "session" not in browser.cookies:
            raise BenchError(f"the first page answered {status} without a session and a CSRF token")
        prepared.append((browser.cookies, found.group(1)))
    return prepared


def client(
    side: str,
    port: int,
    slug: str,
    questionnaire: Questionnaire,
    respondents: int,
    seed: int,
    ready: Any,
    go: Any,
    window: Any,
    results: Any,
) -> None:
    """One client process: prepare, wait for the start, post until the end of the window."""
    tally = Tally()
    rng = random.Random(seed)
    try:
        first = questionnaire.sections_for(None)[0].id
        prepared = _prepare_respondents(port, slug, f"q/{first}", respondents) if side == "app" else []
        plans = [respondent(questionnaire, rng) for _ in range(max(respondents, 50))]
        ready.put(None)
        go.wait()
        start, end = window[0], window[1]
        while time.monotonic() < start:
            time.sleep(0.001)
        tally.started = time.monotonic()
        cpu = time.process_time()
        browser = Browser(port)
        number = 0
        while time.monotonic() < end and not tally.failures:
            pages = plans[number % len(plans)]
            if side == "app":
                if number >= len(prepared):
                    tally.ran_out = True
                    break
                cookies, token = prepared[number]
                browser.cookies = dict(cookies)
                csrf = f"csrf_token={quote(token)}&"
            else:
                csrf = ""
            number += 1
            for index, page in enumerate(pages):
                status, location, _ = browser.send("POST", f"/s/{slug}/{page.path}", csrf + page.body)
                if status != 303 or location != _next_path(slug, pages, index):
                    tally.failures.append(f"POST {page.path}: {status} to {location or 'nowhere'}")
                    break
                tally.posts += 1
                tally.answers += page.answers
                tally.drafts += side == "app" and index == 0
                if time.monotonic() >= end:
                    break
            else:
                if side == "app" and time.monotonic() < end:
                    key = secrets.token_hex(16)
                    status, location, _ = browser.send("POST", f"/s/{slug}/check", f"{csrf}submission_key={key}")
                    if status != 303 or location != f"/s/{slug}/thank-you":
                        tally.failures.append(f"POST check: {status} to {location or 'nowhere'}")
                    else:
                        tally.posts += 1
                        tally.sends += 1
        tally.ended = time.monotonic()
        tally.cpu = time.process_time() - cpu
        browser.close()
    except (OSError, http.client.HTTPException, BenchError) as error:
        tally.failures.append(repr(error))
        ready.put(None)  # never leave the main process waiting
    results.put(tally)


@dataclass
class Measurement:
    rate: float  # counted POSTs per second
    sends: float  # completed submissions per second (app)
    cpu_ms: float | None  # workers' CPU time per counted POST
    client_ms: float  # the client processes' CPU time per counted POST


def load(
    side: str,
    server: Server,
    slugs: list[str],
    questionnaire: Questionnaire,
    duration: float,
    clients: int,
    respondents: int,
) -> tuple[list[Tally], float | None]:
    """Run `clients` processes for `duration` seconds; their tallies and the workers' CPU seconds."""
    context = multiprocessing.get_context("fork")
    ready, results = context.Queue(), context.Queue()
    go = context.Event()
    window = context.Array("d", 2)
    processes = [
        context.Process(
            target=client,
            args=(
                side,
                server.port,
                slugs[n % len(slugs)],
                questionnaire,
                respondents,
                secrets.randbits(32),
                ready,
                go,
                window,
                results,
            ),
            daemon=True,
        )  # fmt: skip
        for n in range(clients)
    ]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            ready.get(timeout=300)
        before = server.worker_cpu()
        window[0] = time.monotonic() + 0.05
        window[1] = window[0] + duration
        go.set()
        tallies = [results.get(timeout=duration + 120) for _ in processes]
        after = server.worker_cpu()
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    cpu = after - before if before is not None and after is not None else None
    return tallies, cpu


def measure(
    side: str,
    server: Server,
    slugs: list[str],
    link_ids: list[int],
    url: str,
    questionnaire: Questionnaire,
    args: argparse.Namespace,
    estimate: float,
) -> Measurement:
    """One timed window, checked against the rows stored; the pool of prepared app respondents is
    sized from `estimate` (POSTs/s) and doubled if a client ran out."""
    posts_each = len(questionnaire.sections_for(None)) + (1 if side == "app" else 0)
    respondents = math.ceil(2 * estimate * args.duration / posts_each / args.clients) + 5
    for _ in range(4):
        before = count_rows(url, link_ids)
        tallies, cpu = load(side, server, slugs, questionnaire, args.duration, args.clients, respondents)
        after = count_rows(url, link_ids)
        failures = [f for t in tallies for f in t.failures]
        if failures:
            raise BenchError(f"{side}: failed requests: {failures[:3]}\n{server.output()}")
        check_rows(side, tallies, before, after)
        if not any(t.ran_out for t in tallies):
            break
        respondents *= 2
        print(f"    ({side}: prepared respondents ran out; again with {respondents} per client)")
    else:
        raise BenchError(f"{side}: prepared respondents kept running out")
    posts = sum(t.posts for t in tallies)
    elapsed = max(t.ended for t in tallies) - min(t.started for t in tallies)
    return Measurement(
        rate=posts / elapsed,
        sends=sum(t.sends for t in tallies) / elapsed,
        cpu_ms=cpu * 1000 / posts if cpu is not None and posts else None,
        client_ms=sum(t.cpu for t in tallies) * 1000 / posts if posts else 0.0,
    )


def check_rows(side: str, tallies: list[Tally], before: Rows, after: Rows) -> None:
    """The database must hold exactly what the server told the client it stored."""
    told = Rows(
        submitted=sum(t.sends for t in tallies) if side == "app" else sum(t.posts for t in tallies),
        drafts=sum(t.drafts - t.sends for t in tallies),
        answers=sum(t.answers for t in tallies),
    )
    stored = Rows(after.submitted - before.submitted, after.drafts - before.drafts, after.answers - before.answers)
    if stored != told:
        raise BenchError(f"{side}: the server answered as if it stored {told}, the database has {stored}")


# ---------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"])
    parser.add_argument("--workers", nargs="+", type=int, default=[2, 4], help="gunicorn sync workers (default 2 4)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (default 10)")
    parser.add_argument("--clients", type=int, default=8, help="client processes, one connection each (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each, alternating (default 3)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring (default 3)")
    parser.add_argument("--questionnaire", default=DEFAULT_QUESTIONNAIRE, help="a survey questionnaire id")
    parser.add_argument("--app", default=REAL_APP, help=f"gunicorn app to measure as the app (default {REAL_APP})")
    parser.add_argument(
        "--no-rate-limits",
        action="store_true",
        help="switch the app's rate limiting off (RATELIMIT_ENABLED); by default it counts, with limits set high",
    )
    return parser.parse_args(argv)


@contextlib.contextmanager
def database(engine: str) -> Iterator[str]:
    if engine == "postgresql":
        with throwaway_postgres("benchsubmit") as url:
            yield url
    else:
        with tempfile.TemporaryDirectory(prefix="bench-submit-") as scratch:
            yield f"sqlite:///{scratch}/bench.sqlite3"


Results = dict[tuple[str, int], dict[str, list[Measurement]]]


def run(args: argparse.Namespace) -> None:
    questionnaire = load_all()[args.questionnaire]
    respondent(questionnaire, random.Random(0))  # fails now if its questions cannot be answered
    pages = len(questionnaire.sections_for(None))
    print(
        f"{questionnaire.id}: {pages} pages, {len(questionnaire.questions)} questions; app: {pages} page POSTs and "
        f"1 send per respondent, baseline: the same {pages} page POSTs, each storing a response; "
        f"{args.clients} client processes, {args.rounds} x {args.duration:g}s per figure; "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}; the app's rate limits "
        + ("off" if args.no_rate_limits else f"counting, at {HIGH_RATE}")
    )
    results: Results = {}
    for engine in args.engines:
        with database(engine) as url:
            links = prepare(url, questionnaire.id, max(1, args.clients // 2))
            for workers in args.workers:
                results[(engine, workers)] = run_config(args, engine, workers, url, links, questionnaire)
    print_tables(results)


def run_config(
    args: argparse.Namespace, engine: str, workers: int, url: str, links: Links, questionnaire: Questionnaire
) -> dict[str, list[Measurement]]:
    env = {
        "DATABASE_URL": url,
        "FLASK_DATABASE_URL": url,
        "FLASK_SECRET_KEY": SECRET_KEY,
        # the survey pages' rate limits stay on (their counting is part of every request) but
        # high: the load comes from one address, far faster than any school's wifi
        **{f"FLASK_{setting}": HIGH_RATE for setting in RATE_LIMITS},
        **({"FLASK_RATELIMIT_ENABLED": "false"} if args.no_rate_limits else {}),
    }
    servers = {
        "app": Server("app", args.app, workers, env),
        "baseline": Server("baseline", BASELINE_APP, workers, env),
    }
    try:
        servers["app"].wait_ready(f"/s/{links.app[0]}")
        servers["baseline"].wait_ready(f"/s/{links.baseline[0]}/q/x", expect=405)  # its one route is POST
        status, _ = get(servers["app"].port, f"/s/{links.app[0]}/q/{questionnaire.sections_for(None)[0].id}")
        if status != 200:
            raise BenchError(f"the app's first survey page answered {status}")
        slugs = {"app": links.app, "baseline": links.baseline}
        url_ids = {"app": links.ids["app"], "baseline": links.ids["baseline"]}
        estimates = {}
        for side in ("app", "baseline"):  # warm up, and size the app's prepared respondents
            warm = argparse.Namespace(**{**vars(args), "duration": args.warmup})
            estimates[side] = measure(
                side, servers[side], slugs[side], url_ids[side], url, questionnaire, warm, 300
            ).rate
        measured: dict[str, list[Measurement]] = {"app": [], "baseline": []}
        for round_ in range(args.rounds):
            order = ("app", "baseline") if round_ % 2 == 0 else ("baseline", "app")
            for side in order:
                result = measure(
                    side, servers[side], slugs[side], url_ids[side], url, questionnaire, args, estimates[side]
                )
                estimates[side] = result.rate
                measured[side].append(result)
                cpu = f"{result.cpu_ms:6.2f} CPU ms/POST" if result.cpu_ms is not None else ""
                cpu += f" (client {result.client_ms:4.2f})"
                print(
                    f"  {engine:<10} {workers} workers, round {round_ + 1}: {side:<8} {result.rate:8.1f} POST/s  {cpu}"
                )
        return measured
    finally:
        for server in servers.values():
            server.stop()


def print_tables(results: Results) -> None:
    """Medians of the rates, and the median of the per-round ratios (each pair measured back to back)."""
    header = (
        f"{'engine':<10} {'workers':>7} {'app POST/s':>11} {'baseline POST/s':>16} {'ratio':>6} {'target':>7}  "
        f"{'result':<6} {'app sends/s':>11} {'app CPU ms':>11} {'base CPU ms':>12}"
    )
    print()
    print(header)
    print("-" * len(header))
    for (engine, workers), measured in results.items():
        app, base = measured["app"], measured["baseline"]
        ratio = statistics.median(a.rate / b.rate for a, b in zip(app, base, strict=True))
        app_cpu, base_cpu = median([m.cpu_ms for m in app]), median([m.cpu_ms for m in base])
        print(
            f"{engine:<10} {workers:>7} {median([m.rate for m in app]):>11.1f} {median([m.rate for m in base]):>16.1f} "
            f"{ratio:>6.2f} {TARGET:>7}  {'PASS' if ratio >= TARGET else 'FAIL':<6} "
            f"{median([m.sends for m in app]):>11.1f} "
            f"{app_cpu if app_cpu is not None else float('nan'):>11.2f} "
            f"{base_cpu if base_cpu is not None else float('nan'):>12.2f}"
        )
    print("(POST/s: medians over rounds; ratio: median over rounds of app/baseline, each pair back to back;")
    print(" CPU ms: the gunicorn workers' user + system time per counted POST, medians)")


def main(argv: list[str] | None = None) -> int:
    return main_guarded(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

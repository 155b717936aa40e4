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

That is the `survey` scenario. The `s11` scenario measures the Section 11 section save, the POST
with the audit trail: each client process plays one signed-in agency user (its own agency and
open audit in one cycle, made in the scratch database before the servers start), who signs in
once before the timed window (the sign-in page for its CSRF token, the credentials, then a
standard's page for the session's own token: signing in costs a password hash, and clears the
session) and in the window posts standard pages (/audit/<id>/<section>, "Save and continue"
with the section completed or not, or "Save and come back later") with random valid answers
from the s11-self-audit definition: ratings, narratives, evidence rows, and an action for every
shortfall. Every save must be answered with the redirect to the task list. The app checks the
session and CSRF token, the section's revision (edit conflicts), and writes the save's
audit-trail entry (one row holding every answer and status it changed, store.audits._save_trail;
until 2026-11-23, a row each); the baseline (a bare route at the same path) validates the same
form and replaces the section's answers in one transaction. The client keeps the cookies the
server sets, as a browser does (a save sets none: its message is in the task list's address, and
the session's last-seen time is rewritten at most once a minute, accounts.session.seen_every).
After every window the answer rows and audit-trail rows of the audits are counted and must equal
what the client was told.

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
submissions/s, and the workers' CPU time per POST; on PostgreSQL also the CPU time per POST of the
cluster's processes (harness.ClusterCpu), which share the machine's cores with the workers.

Run from the project root (as root for PostgreSQL: it makes a throwaway cluster, as .ci/run does):

  python bench/submit.py [--engines sqlite postgresql] [--workers 2 4] [--duration 10]
                         [--clients 8] [--rounds 3] [--questionnaire practitioner-s11-survey]
                         [--scenario survey|s11|both]

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
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import HOST, BenchError, ClusterCpu, Server, get, main_guarded, median, scratch_database, spent
from questionnaires import Question, Questionnaire, Section, load_all
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
    answers: int = 0  # answer rows the counted POSTs stored (s11: added, less those removed)
    events: int = 0  # audit-trail rows the counted POSTs wrote (s11, app)
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


@contextlib.contextmanager
def _reporting(ready: Any, results: Any) -> Iterator[Tally]:
    """A client process's tally, sent to the main process however the client's work ends; a
    connection or benchmark error is recorded in it as a failure (and the client said to be
    ready, so that the main process is never left waiting)."""
    tally = Tally()
    try:
        yield tally
    except (OSError, http.client.HTTPException, BenchError) as error:
        tally.failures.append(repr(error))
        ready.put(None)
    results.put(tally)


@contextlib.contextmanager
def _window(tally: Tally, port: int, ready: Any, go: Any, window: Any) -> Iterator[Browser]:
    """Say this client is ready, wait for the start of the window, then time what runs inside:
    the clock and this process's CPU go in `tally` however the work ends."""
    ready.put(None)
    go.wait()
    while time.monotonic() < window[0]:
        time.sleep(0.001)
    tally.started = time.monotonic()
    cpu = time.process_time()
    browser = Browser(port)
    try:
        yield browser
    finally:
        tally.ended = time.monotonic()
        tally.cpu = time.process_time() - cpu
        browser.close()


def _post_surveys(
    tally: Tally, browser: Browser, side: str, slug: str, plans: list[list[Page]], prepared: list[Any], end: float
) -> None:
    """Respondents one after another until the end of the window: their pages, then the send (app)."""
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
    rng = random.Random(seed)
    with _reporting(ready, results) as tally:
        first = questionnaire.sections_for(None)[0].id
        prepared = _prepare_respondents(port, slug, f"q/{first}", respondents) if side == "app" else []
        plans = [respondent(questionnaire, rng) for _ in range(max(respondents, 50))]
        with _window(tally, port, ready, go, window) as browser:  # the window is set by the start
            _post_surveys(tally, browser, side, slug, plans, prepared, window[1])


@dataclass
class Measurement:
    rate: float  # counted POSTs per second
    sends: float  # completed submissions per second (app)
    cpu_ms: float | None  # workers' CPU time per counted POST
    client_ms: float  # the client processes' CPU time per counted POST
    events: float = 0.0  # audit-trail rows written per second (s11)
    server_ms: float | None = None  # the PostgreSQL cluster's CPU time per counted POST


def load(
    side: str,
    server: Server,
    slugs: list[str],
    questionnaire: Questionnaire,
    duration: float,
    clients: int,
    respondents: int,
) -> tuple[list[Tally], float | None, float | None]:
    """Run `clients` processes for `duration` seconds: `run_clients`."""
    jobs = [
        (client, (side, server.port, slugs[n % len(slugs)], questionnaire, respondents, secrets.randbits(32)))
        for n in range(clients)
    ]
    return run_clients(server, duration, jobs)


def run_clients(
    server: Server, duration: float, jobs: list[tuple[Any, tuple[Any, ...]]]
) -> tuple[list[Any], float | None, float | None]:
    """One process per job (`function(*args, ready, go, window, results)`), all started on the same
    window of `duration` seconds once every one is ready; their tallies, the workers' CPU seconds,
    and the database server's (`Server.database`, on PostgreSQL: None otherwise)."""
    context = multiprocessing.get_context("fork")
    ready, results = context.Queue(), context.Queue()
    go = context.Event()
    window = context.Array("d", 2)
    processes = [
        context.Process(target=function, args=(*args, ready, go, window, results), daemon=True)
        for function, args in jobs
    ]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            ready.get(timeout=300)
        before = server.worker_cpu()
        database_before = server.database.seconds() if server.database is not None else None
        window[0] = time.monotonic() + 0.05
        window[1] = window[0] + duration
        go.set()
        tallies = [results.get(timeout=duration + 120) for _ in processes]
        after = server.worker_cpu()
        database_after = server.database.seconds() if server.database is not None else None
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    return tallies, spent(before, after), spent(database_before, database_after)


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
        tallies, cpu, database = load(side, server, slugs, questionnaire, args.duration, args.clients, respondents)
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
        server_ms=database * 1000 / posts if database is not None and posts else None,
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
# The s11 scenario: signed-in agency users saving Section 11 standards, with the audit trail

S11 = "s11-self-audit"
S11_PASSWORD = "bench-submit-password"  # every benchmark user's, in a scratch database
S11_SAVES_EACH = 300  # random saves prepared per client process, posted in turn
NOT_APPLICABLE_REASON = "This standard does not apply to the services our agency provides."


def s11_answers(section: Section, rng: random.Random, today: dt.date) -> dict[str, Any]:
    """Stored answers a save of this standard leaves (what its form's `answers()` gives, dates as
    ISO text): a rating for every item, then, as the rating asks, a narrative most of the time,
    up to three pieces of evidence and, for a shortfall, the action its form then requires."""
    out: dict[str, Any] = {}
    rating = None
    for q in section.questions:
        if q.type == "rating":
            rating = rng.choice(q.offered_options)
            out[q.id] = rating.value
            if rating.not_applicable:
                out[q.id + "__reason"] = NOT_APPLICABLE_REASON
        elif rating is not None and rating.not_applicable:
            continue  # nothing more to say about an item that does not apply
        elif not evaluate(q.show_if, out):
            continue
        elif q.type == "long_text":
            if rng.random() < 0.8:
                text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 60)))
                out[q.id] = text[: q.max_length or 5000].strip()
        elif q.type == "evidence":
            items = []
            for n in range(rng.randint(0, min(3, q.max_items))):
                day = today - dt.timedelta(days=rng.randint(0, 3 * 365))
                link = f"https://intranet.example.org/{q.id}/{n}" if rng.random() < 0.4 else None
                kind = rng.choice(q.evidence_types).value
                title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))).capitalize()
                items.append({"title": title, "type": kind, "date": day.isoformat(), "link": link})
            if items:
                out[q.id] = items
        elif q.type == "action":
            due = today + dt.timedelta(days=rng.randint(30, 365))
            what = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 20))).capitalize()
            out[q.id] = {
                "what": what,
                "owner": rng.choice(["Head of safeguarding", "Board lead"]),
                "due": due.isoformat(),
            }
        else:
            raise BenchError(f"the benchmark cannot answer {q.type} questions ({q.id}) on an S11 standard")
    return out


def _date_fields(prefix: str, iso: str) -> list[tuple[str, str]]:
    day = dt.date.fromisoformat(iso)
    return [(f"{prefix}-day", str(day.day)), (f"{prefix}-month", str(day.month)), (f"{prefix}-year", str(day.year))]


def s11_fields(section: Section, answers: dict[str, Any]) -> list[tuple[str, str]]:
    """The form fields a standard's page posts for these answers (forms/fields.py names them)."""
    fields: list[tuple[str, str]] = []
    for q in section.questions:
        value = answers.get(q.id)
        if value is None:
            continue
        if q.type == "evidence":
            for n, item in enumerate(value):
                row = f"{q.id}__{n}__"
                fields += [(row + "title", item["title"]), (row + "type", item["type"])]
                fields += [(row + "link", item["link"])] if item["link"] else []
                fields += _date_fields(row + "date", item["date"])
        elif q.type == "action":
            fields += [(f"{q.id}__what", value["what"]), (f"{q.id}__owner", value["owner"])]
            fields += _date_fields(f"{q.id}__due", value["due"])
        else:
            fields.append((q.id, value))
            if q.id + "__reason" in answers:
                fields.append((q.id + "__reason", answers[q.id + "__reason"]))
    return fields


@dataclass(frozen=True)
class Save:
    section_id: str
    body: str  # the answers and buttons, urlencoded, without the CSRF token and revision
    stored: dict[str, str]  # what the section holds after it: answer key -> stored (encoded) value
    status: str  # the section's status after it


def s11_save(section: Section, rng: random.Random, today: dt.date) -> Save:
    """One random save of a standard: "Save and continue" (completed or not) or "Save and come back later"."""
    from store.models import Answer  # the store's own encoding of a stored value

    answers = s11_answers(section, rng, today)
    later = rng.random() < 0.25
    completed = "yes" if rng.random() < 0.7 else "no"
    status = "completed" if completed == "yes" and not later else "in-progress"
    buttons = [("section-completed", completed), ("save", "later" if later else "continue")]
    body = urlencode(s11_fields(section, answers) + buttons)
    return Save(section.id, body, {k: Answer.value.db_value(v) for k, v in answers.items()}, status)


def check_s11_saves(questionnaire: Questionnaire, rng: random.Random, count: int) -> None:
    """Before any server starts: the answers the client posts are valid for each standard's form and
    store exactly what the client will expect (forms.build_form_class, as both servers use it)."""
    from flask import Flask
    from werkzeug.datastructures import MultiDict

    from forms import build_form_class
    from store.models import Answer

    app = Flask(__name__)
    app.config.update(WTF_CSRF_ENABLED=False, SECRET_KEY=SECRET_KEY)
    today = dt.date.today()
    for n in range(count):
        section = questionnaire.sections[n % len(questionnaire.sections)]
        save = s11_save(section, rng, today)
        with app.test_request_context(method="POST"):
            form = build_form_class(questionnaire, section)(formdata=MultiDict(parse_qsl(save.body)))
            if not form.validate():
                raise BenchError(f"the benchmark's answers to {section.id} are not valid: {form.error_list()[:3]}")
            stored = {k: Answer.value.db_value(v) for k, v in form.answers().items()}
        if stored != save.stored:
            raise BenchError(f"{section.id}: the form stores {stored}, the client expects {save.stored}")


@dataclass
class AuditSetup:
    cycle_id: int
    app: list[tuple[int, str]]  # (audit id, its user's email), one per client process
    baseline: list[int]  # audit ids, one per client process


def prepare_s11(url: str, clients: int) -> AuditSetup:
    """An open cycle and, for each side, one agency per client process with its open audit (and,
    for the app, its agency user): as tests/builders.py and the demo make them."""
    from accounts.passwords import hash_password
    from app import create_app
    from store import audits
    from store.db import upgrade
    from store.models import Agency, AuditCycle, User
    from store.questionnaires import definition, newest_versions, sync_shipped

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY})
    database = app.extensions["database"]
    with app.app_context():
        upgrade(database)
        with database.connection_context():
            sync_shipped(app.extensions["questionnaires"])
            version = {row.questionnaire_id: row for row in newest_versions()}[S11]
            today = dt.date.today()
            cycle = AuditCycle.create(
                name="Benchmark self-audit",
                questionnaire=version,
                opens_on=today - dt.timedelta(days=1),
                closes_on=today + dt.timedelta(days=60),
                is_open=True,
            )
            s11 = definition(version)
            hashed = hash_password(S11_PASSWORD)  # one hash: the same password for everyone
            made: dict[str, list[tuple[int, str]]] = {"app": [], "baseline": []}
            for side in made:
                for n in range(clients):
                    agency = Agency.create(name=f"Benchmark {side} agency {n}", sector="police")
                    email = f"bench-{side}-{n}@bench.example.org"
                    user = User.create(
                        email=email, name=f"Benchmark user {n}", password_hash=hashed, role="agency", agency=agency
                    )
                    audit = audits.audit_for(agency, cycle, user)
                    audits.section_states(audit, s11)
                    made[side].append((audit.id, email))
    database.close()
    return AuditSetup(cycle.id, made["app"], [audit_id for audit_id, _ in made["baseline"]])


@dataclass
class AuditState:
    """One audit as stored before a window: what the client needs to predict what each save writes."""

    audit_id: int
    started: bool  # past not-started: the first save records the audit's start
    sections: dict[str, tuple[int, str]]  # section id -> (revision, status)
    stored: dict[str, str]  # answer key -> stored value (encoded)


@dataclass(frozen=True)
class TrailRows:
    answers: int
    events: int


def _marks(url: str, count: int) -> str:
    return ", ".join(["%s" if not url.startswith("sqlite") else "?"] * count)


def read_audits(url: str, audit_ids: list[int]) -> tuple[list[AuditState], TrailRows]:
    """The audits' states, answers and audit-trail rows as stored now."""
    from store.db import make_database
    from store.models import Answer, Audit, AuditEvent, Response, SectionState

    database = make_database(url)
    marks = _marks(url, len(audit_ids))
    table = {m: m._meta.table_name for m in (Answer, Audit, AuditEvent, Response, SectionState)}
    try:
        with database.connection_context():
            run = database.execute_sql
            statuses = dict(run(f'SELECT id, status FROM "{table[Audit]}" WHERE id IN ({marks})', audit_ids).fetchall())
            sections: dict[int, dict[str, tuple[int, str]]] = {a: {} for a in audit_ids}
            for audit_id, section_id, revision, status in run(
                f'SELECT audit_id, section_id, revision, status FROM "{table[SectionState]}" WHERE audit_id IN ({marks})',
                audit_ids,
            ).fetchall():
                sections[audit_id][section_id] = (revision, status)
            stored: dict[int, dict[str, str]] = {a: {} for a in audit_ids}
            for audit_id, key, value in run(
                f'SELECT r.audit_id, a.question_id, a.value FROM "{table[Answer]}" a '
                f'JOIN "{table[Response]}" r ON a.response_id = r.id WHERE r.audit_id IN ({marks})',
                audit_ids,
            ).fetchall():
                stored[audit_id][key] = value
            (events,) = run(
                f'SELECT COUNT(*) FROM "{table[AuditEvent]}" WHERE audit_id IN ({marks})', audit_ids
            ).fetchone()
    finally:
        database.close()
    states = [AuditState(a, statuses[a] != "not-started", sections[a], stored[a]) for a in audit_ids]
    return states, TrailRows(sum(len(s.stored) for s in states), events)


def _sign_in(port: int, email: str, page: str) -> tuple[dict[str, str], str]:
    """Sign in as a browser does; the session cookie and the CSRF token of a standard's page."""
    browser = Browser(port)
    try:
        status, _, content = browser.send("GET", "/sign-in")
        found = CSRF_INPUT.search(content.decode())
        if status != 200 or found is None:
            raise BenchError(f"the sign-in page answered {status} without a CSRF token")
        credentials = {"csrf_token": found.group(1), "email": email, "password": S11_PASSWORD}
        status, _, _ = browser.send("POST", "/sign-in", urlencode(credentials))
        if status != 302 or "session" not in browser.cookies:
            raise BenchError(f"signing in as {email} answered {status}")
        status, _, content = browser.send("GET", page)  # signing in cleared the session: a new token
        found = CSRF_INPUT.search(content.decode())
        if status != 200 or found is None:
            raise BenchError(f"{page} answered {status} without a CSRF token")
        return dict(browser.cookies), found.group(1)
    finally:
        browser.close()


def _save_standards(
    tally: Tally,
    browser: Browser,
    side: str,
    audit: AuditState,
    saves: list[Save],
    keys: dict[str, set[str]],
    cookies: dict[str, str],
    csrf: str,
    end: float,
) -> None:
    """Standards saved one after another until the end of the window, counting what each stores."""
    number = 0
    browser.cookies = dict(cookies)  # as signing in left them; then as the server sets them
    while time.monotonic() < end and not tally.failures:
        save = saves[number % len(saves)]
        number += 1
        revision, status_before = audit.sections[save.section_id]
        path = f"/audit/{audit.audit_id}/{save.section_id}"
        status, location, _ = browser.send("POST", path, f"{csrf}revision={revision}&{save.body}")
        if status != 302 or location != "/audit/":
            tally.failures.append(f"POST {path}: {status} to {location or 'nowhere'}")
            break
        mine = keys[save.section_id]
        before = {k: v for k, v in audit.stored.items() if k in mine}
        changed = sum(1 for k in before.keys() | save.stored.keys() if before.get(k) != save.stored.get(k))
        tally.posts += 1
        tally.answers += len(save.stored) - len(before)
        # the app's trail: one row for a save that changes an answer or the status, one for the audit's start
        tally.events += bool(changed or status_before != save.status) + (not audit.started) if side == "app" else 0
        for k in before:
            del audit.stored[k]
        audit.stored.update(save.stored)
        audit.sections[save.section_id] = (revision + 1, save.status)
        audit.started = True


def s11_client(
    side: str,
    port: int,
    audit: AuditState,
    email: str | None,
    questionnaire: Questionnaire,
    seed: int,
    ready: Any,
    go: Any,
    window: Any,
    results: Any,
) -> None:
    """One client process, one audit: sign in (app), wait for the start, save standards until the end."""
    rng = random.Random(seed)
    with _reporting(ready, results) as tally:
        today = dt.date.today()
        keys = {s.id: {k for q in s.questions for k in (q.id, q.id + "__reason")} for s in questionnaire.sections}
        saves = [s11_save(rng.choice(questionnaire.sections), rng, today) for _ in range(S11_SAVES_EACH)]
        first = f"/audit/{audit.audit_id}/{questionnaire.sections[0].id}"
        cookies, token = _sign_in(port, email, first) if side == "app" and email else ({}, "")
        csrf = f"csrf_token={quote(token)}&" if token else ""
        with _window(tally, port, ready, go, window) as browser:  # the window is set by the start
            _save_standards(tally, browser, side, audit, saves, keys, cookies, csrf, window[1])


def measure_s11(
    side: str, server: Server, setup: AuditSetup, url: str, questionnaire: Questionnaire, args: argparse.Namespace
) -> Measurement:
    """One timed window of standard saves, checked against the answer and audit-trail rows stored."""
    audits = setup.app if side == "app" else [(audit_id, None) for audit_id in setup.baseline]
    ids = [audit_id for audit_id, _ in audits]
    states, before = read_audits(url, ids)
    jobs = [
        (s11_client, (side, server.port, state, email, questionnaire, secrets.randbits(32)))
        for state, (_, email) in zip(states, audits, strict=True)
    ]
    tallies, cpu, database = run_clients(server, args.duration, jobs)
    _, after = read_audits(url, ids)
    failures = [f for t in tallies for f in t.failures]
    if failures:
        raise BenchError(f"s11 {side}: failed requests: {failures[:3]}\n{server.output()}")
    told = TrailRows(sum(t.answers for t in tallies), sum(t.events for t in tallies))
    stored = TrailRows(after.answers - before.answers, after.events - before.events)
    if stored != told:
        raise BenchError(f"s11 {side}: the server answered as if it stored {told}, the database has {stored}")
    posts = sum(t.posts for t in tallies)
    elapsed = max(t.ended for t in tallies) - min(t.started for t in tallies)
    return Measurement(
        rate=posts / elapsed,
        sends=0.0,
        cpu_ms=cpu * 1000 / posts if cpu is not None and posts else None,
        client_ms=sum(t.cpu for t in tallies) * 1000 / posts if posts else 0.0,
        events=told.events / elapsed,
        server_ms=database * 1000 / posts if database is not None and posts else None,
    )


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
    parser.add_argument(
        "--scenario",
        choices=("survey", "s11", "both"),
        default="both",
        help="survey: anonymous survey pages; s11: signed-in S11 section saves with the audit trail (default both)",
    )
    parser.add_argument("--app", default=REAL_APP, help=f"gunicorn app to measure as the app (default {REAL_APP})")
    parser.add_argument(
        "--no-rate-limits",
        action="store_true",
        help="switch the app's rate limiting off (RATELIMIT_ENABLED); by default it counts, with limits set high",
    )
    return parser.parse_args(argv)


Results = dict[tuple[str, int, str], dict[str, list[Measurement]]]


def run(args: argparse.Namespace) -> None:
    questionnaire = load_all()[args.questionnaire]
    respondent(questionnaire, random.Random(0))  # fails now if its questions cannot be answered
    s11 = load_all()[S11]
    scenarios = ["survey", "s11"] if args.scenario == "both" else [args.scenario]
    if "s11" in scenarios:
        check_s11_saves(s11, random.Random(0), 200)  # fails now if the client would post or expect wrongly
    pages = len(questionnaire.sections_for(None))
    print(
        f"{questionnaire.id}: {pages} pages, {len(questionnaire.questions)} questions; app: {pages} page POSTs and "
        f"1 send per respondent, baseline: the same {pages} page POSTs, each storing a response; "
        f"{S11}: {len(s11.sections)} standards, {len(s11.questions)} questions, one audit per client; "
        f"{args.clients} client processes, {args.rounds} x {args.duration:g}s per figure; "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}; the app's rate limits "
        + ("off" if args.no_rate_limits else f"counting, at {HIGH_RATE}")
    )
    results: Results = {}
    for engine in args.engines:
        with scratch_database(engine, "benchsubmit") as url:
            links = prepare(url, questionnaire.id, max(1, args.clients // 2))
            setup = prepare_s11(url, args.clients) if "s11" in scenarios else None
            for workers in args.workers:
                for scenario, measured in run_config(args, engine, workers, url, links, setup, scenarios).items():
                    results[(engine, workers, scenario)] = measured
    print_tables(results)


def run_config(
    args: argparse.Namespace,
    engine: str,
    workers: int,
    url: str,
    links: Links,
    setup: AuditSetup | None,
    scenarios: list[str],
) -> dict[str, dict[str, list[Measurement]]]:
    questionnaire = load_all()[args.questionnaire]
    s11 = load_all()[S11]
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
        if engine == "postgresql":
            servers["app"].database = servers["baseline"].database = _cluster(url)
        servers["app"].wait_ready(f"/s/{links.app[0]}")
        servers["baseline"].wait_ready(f"/s/{links.baseline[0]}/q/x", expect=405)  # its routes are POST
        status, _ = get(servers["app"].port, f"/s/{links.app[0]}/q/{questionnaire.sections_for(None)[0].id}")
        if status != 200:
            raise BenchError(f"the app's first survey page answered {status}")
        slugs = {"app": links.app, "baseline": links.baseline}
        url_ids = {"app": links.ids["app"], "baseline": links.ids["baseline"]}

        def survey(side: str, args: argparse.Namespace, estimate: float) -> Measurement:
            return measure(side, servers[side], slugs[side], url_ids[side], url, questionnaire, args, estimate)

        def section_saves(side: str, args: argparse.Namespace, estimate: float) -> Measurement:
            assert setup is not None
            return measure_s11(side, servers[side], setup, url, s11, args)

        out = {}
        for scenario in scenarios:
            one = survey if scenario == "survey" else section_saves
            estimates = {}
            for side in ("app", "baseline"):  # warm up, and size the app's prepared respondents
                warm = argparse.Namespace(**{**vars(args), "duration": args.warmup})
                estimates[side] = one(side, warm, 300).rate
            measured: dict[str, list[Measurement]] = {"app": [], "baseline": []}
            for round_ in range(args.rounds):
                order = ("app", "baseline") if round_ % 2 == 0 else ("baseline", "app")
                for side in order:
                    result = one(side, args, estimates[side])
                    estimates[side] = result.rate
                    measured[side].append(result)
                    cpu = f"{result.cpu_ms:6.2f} CPU ms/POST" if result.cpu_ms is not None else ""
                    cpu += f" (client {result.client_ms:4.2f}"
                    cpu += f", server {result.server_ms:4.2f})" if result.server_ms is not None else ")"
                    print(
                        f"  {engine:<10} {workers} workers, {scenario:<6} round {round_ + 1}: {side:<8} "
                        f"{result.rate:8.1f} POST/s  {cpu}"
                    )
            out[scenario] = measured
        return out
    finally:
        for server in servers.values():
            server.stop()


def _cluster(url: str) -> ClusterCpu:
    """The CPU reading of the PostgreSQL cluster at `url`, found through a connection closed at once."""
    import psycopg2

    connection = psycopg2.connect(url)
    try:
        return ClusterCpu(connection)
    finally:
        connection.close()


def _ms(value: float | None, width: int) -> str:
    return f"{value:>{width}.2f}" if value is not None else f"{'-':>{width}}"


def print_tables(results: Results) -> None:
    """Medians of the rates, and the median of the per-round ratios (each pair measured back to back)."""
    header = (
        f"{'engine':<10} {'workers':>7} {'scenario':<8} {'app POST/s':>11} {'baseline POST/s':>16} {'ratio':>6} "
        f"{'target':>7}  {'result':<6} {'app sends/s':>11} {'trail rows/s':>12} {'app CPU ms':>11} {'base CPU ms':>12}"
        f" {'app srv ms':>10} {'base srv ms':>11}"
    )
    print()
    print(header)
    print("-" * len(header))
    for (engine, workers, scenario), measured in results.items():
        app, base = measured["app"], measured["baseline"]
        ratio = statistics.median(a.rate / b.rate for a, b in zip(app, base, strict=True))
        app_cpu, base_cpu = median([m.cpu_ms for m in app]), median([m.cpu_ms for m in base])
        sends = f"{median([m.sends for m in app]):>11.1f}" if scenario == "survey" else f"{'-':>11}"
        events = f"{median([m.events for m in app]):>12.1f}" if scenario == "s11" else f"{'-':>12}"
        print(
            f"{engine:<10} {workers:>7} {scenario:<8} {median([m.rate for m in app]):>11.1f} "
            f"{median([m.rate for m in base]):>16.1f} {ratio:>6.2f} {TARGET:>7}  "
            f"{'PASS' if ratio >= TARGET else 'FAIL':<6} {sends} {events} "
            f"{app_cpu if app_cpu is not None else float('nan'):>11.2f} "
            f"{base_cpu if base_cpu is not None else float('nan'):>12.2f} "
            f"{_ms(median([m.server_ms for m in app]), 10)} {_ms(median([m.server_ms for m in base]), 11)}"
        )
    print("(POST/s: medians over rounds; ratio: median over rounds of app/baseline, each pair back to back;")
    print(" CPU ms: the gunicorn workers' user + system time per counted POST, medians; srv ms: the same for")
    print(" the PostgreSQL cluster's processes (backends, WAL writer...);")
    print(" s11: section saves of signed-in agency users, trail rows/s the app's audit-trail rows written)")


def main(argv: list[str] | None = None) -> int:
    return main_guarded(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

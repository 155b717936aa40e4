"""Real servers for the load and fault tests: gunicorn, a fresh database, seeded data, a proxy.

The app runs as in production: gunicorn with several sync workers on a free loopback port, CSRF
and sessions on, its database migrated with `flask --app app db upgrade` and seeded through the
store's own functions. The database is a SQLite file in WAL mode, or, when TEST_DATABASE_URL is
set (.ci/run's second pass), a new database on that PostgreSQL server, dropped afterwards: the
suite's own tables are never touched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import random
import secrets
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from peewee import PostgresqlDatabase

from app import create_app
from store import admin as store_admin
from store import audits as store_audits
from store.db import db, make_database
from store.demo import AGENCIES, audit_answers, check_complete
from store.models import Audit, QuestionnaireVersion
from store.questionnaires import definition
from tests.conftest import PASSWORD
from tests.system.web import Browser, Tally

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
WORKERS = 4
SURVEY = "practitioner-s11-survey"
AUDIT = "s11-self-audit"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
ENGINE = "postgresql" if POSTGRES_URL else "sqlite"
# The SQLite faults and the disk faults need a file system the test controls; they run in the
# SQLite pass of the suite (PostgreSQL's own outage test runs in the PostgreSQL pass).
sqlite_only = pytest.mark.skipif(ENGINE != "sqlite", reason="a SQLite file fault: run in the SQLite pass of the suite")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# Databases


def postgres_database(server_url: str) -> Iterator[str]:
    server = make_database(server_url)
    name = f"system_{secrets.token_hex(4)}"
    server.execute_sql(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        server.execute_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.close()


def migrate(url: str) -> None:
    """`flask --app app db upgrade`, as an operator runs it (the command itself, through click)."""
    before = db.obj
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "migrations"})
    try:
        done = app.test_cli_runner().invoke(args=["db", "upgrade"])
    finally:
        database = app.extensions["database"]
        if not database.is_closed():
            database.close()
        db.initialize(before)
    assert done.exit_code == 0, done.output
    assert "loaded questionnaire" in done.output, done.output


@dataclass
class Agent:
    email: str
    audit_id: int
    submits: bool  # completes the last two standards and submits the self-audit


@dataclass
class Seeded:
    slug: str  # the practitioner survey's link
    agents: list[Agent] = field(default_factory=list)
    password: str = PASSWORD


def seed(url: str, agencies: int, submitters: int, seed_value: int = 5) -> Seeded:
    """A survey round with a link, agencies each with one agency user, and an open audit cycle
    whose audits hold valid answers to every standard: the first nine completed, the last two in
    progress (an agency user completes those two, then may submit)."""
    database = make_database(url)
    before = db.obj
    db.initialize(database)
    rng = random.Random(seed_value)
    today = dt.date.today()
    try:
        with database.connection_context():
            admin = store_admin.create_user("admin@system.example.org", "Admin", "admin", None, PASSWORD, None)
            versions = {
                key: QuestionnaireVersion.select()
                .where(QuestionnaireVersion.questionnaire_id == key)
                .order_by(QuestionnaireVersion.id.desc())
                .get()
                for key in (SURVEY, AUDIT)
            }
            survey_round = store_admin.create_round(
                "Load round", versions[SURVEY], today - dt.timedelta(days=1), today + dt.timedelta(days=30), True, admin
            )
            link = store_admin.create_link(survey_round, "Every practitioner", "device", None, admin)
            cycle = store_admin.create_cycle(
                "Load cycle", versions[AUDIT], today - dt.timedelta(days=30), today + dt.timedelta(days=90), True, admin
            )
            questionnaire = definition(versions[AUDIT])
            plan = dataclasses.replace(AGENCIES[1], not_applicable=())
            seeded = Seeded(slug=link.slug)
            for i in range(agencies):
                agency = store_admin.create_agency(f"System test agency {i + 1}", "police", admin)
                user = store_admin.create_user(
                    f"agency{i + 1}@system.example.org", f"Agency user {i + 1}", "agency", agency, PASSWORD, admin
                )
                audit = Audit.get((Audit.cycle == cycle) & (Audit.agency == agency))
                answers = audit_answers(questionnaire, rng, plan, today - dt.timedelta(days=5))
                check_complete(questionnaire, answers)
                states = store_audits.section_states(audit, questionnaire)
                for section in questionnaire.sections:
                    own, _ = store_audits.split_answers(answers, section)
                    status = "in-progress" if section.id in ("s10", "s11") else "completed"
                    store_audits.save_section(
                        audit,
                        section,
                        own,
                        store_audits.section_keys(section),
                        states[section.id].revision,
                        user,
                        status,
                    )
                seeded.agents.append(Agent(user.email, audit.id, submits=i < submitters))
            if isinstance(database, PostgresqlDatabase):
                database.execute_sql("ANALYZE")
        return seeded
    finally:
        database.close()
        db.initialize(before)


# ---------------------------------------------------------------------------------------------
# The server


class Server:
    """gunicorn serving `app:create_app()` with sync workers; stopped by stop()."""

    def __init__(self, url: str, tmp_path: Path, workers: int = WORKERS, busy_timeout: float | None = None):
        """`busy_timeout`: SQLite's, in seconds; by default the app's own (10 s)."""
        self.port = free_port()
        self.worker_count = workers
        self.base = f"http://{HOST}:{self.port}"
        self.log_path = tmp_path / f"gunicorn-{self.port}.log"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "FLASK_SECRET_KEY": "k" + secrets.token_hex(24),
            # one client address (loopback) stands for every simulated person here
            "FLASK_RATELIMIT_SURVEY_PAGES": "1000000 per minute",
            "FLASK_RATELIMIT_SURVEY_POSTS": "1000000 per minute",
            "FLASK_RATELIMIT_SIGN_IN_CLIENT": "1000000 per minute",
        }
        if busy_timeout is not None:
            env["FLASK_DATABASE_BUSY_TIMEOUT"] = str(busy_timeout)
        command = [
            sys.executable, "-m", "gunicorn",
            "--bind", f"{HOST}:{self.port}",
            "--workers", str(workers),
            "--worker-class", "sync",
            "--no-control-socket",
            "--chdir", str(ROOT),
            "--timeout", "30",
            "--graceful-timeout", "5",
            "--log-level", "warning",
            "--preload",  # the app is imported once, then forked: quick to start and to replace workers
            "app:create_app()",
        ]  # fmt: skip
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            command, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        browser = Browser(self.base, Tally(), timeout=5)
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited:\n{self.output()}"
            try:
                if browser.get("/sign-in").status == 200 and len(self.workers()) == self.worker_count:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"gunicorn did not answer within {timeout}s:\n{self.output()}")

    def workers(self) -> list[int]:
        """The worker processes' ids: the gunicorn master's children."""
        pid = self.process.pid
        try:
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def output(self, tail: int | None = 6000) -> str:
        """What the server logged: the last `tail` characters, or all of it."""
        self.log.flush()
        text = self.log_path.read_text()
        return text if tail is None else text[-tail:]

    def stop(self) -> None:
        """Quick shutdown; then SIGKILL to the server's own process group (its master and
        workers, nothing else) for whatever has not exited in two seconds."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.log.close()


# ---------------------------------------------------------------------------------------------
# A TCP proxy that can cut the app off from PostgreSQL


class CuttableProxy:
    """Forwards a loopback port to the database server; `cut()` drops every connection and
    refuses new ones (closing them at once, as a server that went away), `restore()` forwards
    again. A thread of the test: nothing else is started."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server((HOST, 0))
        self.port = self.listener.getsockname()[1]
        self.is_cut = threading.Event()
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        self.refused = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.is_cut.is_set():
                self.refused += 1
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open |= {client, upstream}
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 0.5)
                if self.stopping.is_set():
                    return
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (b if source is a else a).sendall(data)
        except OSError:
            return
        finally:
            with self.lock:
                self.open -= {a, b}
            for sock in (a, b):
                sock.close()

    def cut(self) -> None:
        self.is_cut.set()
        with self.lock:
            for sock in self.open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self.is_cut.clear()

    def stop(self) -> None:
        self.stopping.set()
        self.cut()
        self.listener.close()
        self.thread.join(timeout=5)


def through(url: str, proxy: CuttableProxy) -> str:
    """The same database URL, reached through the proxy."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{credentials}@{HOST}:{proxy.port}"))

"""The database cannot be reached: a 503 page in words, what was typed kept, service back by itself.

The outage is real: the app runs on its own SQLite file and another connection takes that file's
exclusive lock (as a backup or a stuck process would), so every query of the app gives up after
its busy timeout with SQLite's "database is locked". This runs on SQLite in both passes of the
suite: what is tested is the app's handling, the same for every engine (tests/system cuts a real
PostgreSQL connection too).
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from peewee import OperationalError
from werkzeug.datastructures import MultiDict

from accounts.passwords import hash_password
from app import create_app
from questionnaires import Questionnaire
from store import surveys
from store.answers import load_answers
from store.audits import response_of
from store.db import db, upgrade
from store.models import Agency, Audit, AuditCycle, QuestionnaireVersion, SurveyRound, User
from store.questionnaires import definition, sync_shipped
from tests.conftest import PASSWORD
from tests.views.test_audits import section_data
from views.unavailable import causes

UNAVAILABLE = "Sorry, the service is unavailable"
KEPT = "We have kept what you typed"
TODAY = dt.date.today()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with the shipped questionnaires, copied for each test."""
    path = tmp_path_factory.mktemp("unavailable") / "template.sqlite3"
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": f"sqlite:///{path}"})
    database = app.extensions["database"]
    with database.connection_context():
        upgrade(database)
        sync_shipped(app.extensions["questionnaires"])
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def app(template: Path, tmp_path: Path) -> Iterator[Flask]:
    path = tmp_path / "app.sqlite3"
    path.write_bytes(template.read_bytes())
    before = db.obj
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "DATABASE_URL": f"sqlite:///{path}",
            "DATABASE_BUSY_TIMEOUT": 0.1,
        }
    )
    app.config["DATABASE_PATH"] = str(path)
    yield app
    database = app.extensions["database"]
    if not database.is_closed():
        database.close()
    db.initialize(before)


@contextmanager
def locked(app: Flask) -> Iterator[None]:
    """Another connection holds the database file's exclusive lock: nobody else can read or write."""
    holder = sqlite3.connect(app.config["DATABASE_PATH"], isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("COMMIT")  # the lock stays: exclusive locking mode keeps it until closed
        yield
    finally:
        holder.close()


@contextmanager
def write_locked(app: Flask) -> Iterator[None]:
    """Another connection holds the write lock in an open transaction: reading still works."""
    holder = sqlite3.connect(app.config["DATABASE_PATH"], isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("CREATE TABLE held_by_another_process (x)")
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.fixture
def s11(app: Flask) -> Questionnaire:
    with app.extensions["database"].connection_context():
        return definition(QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "s11-self-audit"))


@pytest.fixture
def audit(app: Flask, client: FlaskClient) -> Audit:
    """An agency user, signed in, with their agency's audit in an open cycle."""
    with app.extensions["database"].connection_context():
        agency = Agency.create(name="Shire Police", sector="police")
        User.create(
            email="lead@example.org", name="Lead", password_hash=hash_password(PASSWORD), role="agency", agency=agency
        )
        cycle = AuditCycle.create(
            name="This year",
            questionnaire=QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "s11-self-audit"),
            opens_on=TODAY - dt.timedelta(days=10),
            closes_on=TODAY + dt.timedelta(days=60),
        )
    assert client.post("/sign-in", data={"email": "lead@example.org", "password": PASSWORD}).status_code == 302
    assert client.get("/audit/").status_code == 200  # opening the task list makes the audit
    with app.extensions["database"].connection_context():
        return Audit.get(Audit.cycle == cycle)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", unescape(response.get_data(as_text=True))))


def hidden_fields(response: Any) -> list[tuple[str, str]]:
    """The fields of the "Try again" form, as a browser would send them."""
    html = response.get_data(as_text=True)
    form = re.search(r'<form method="post" action="([^"]+)" novalidate>(.*?)</form>', html, re.S)
    assert form is not None, "the page offers no Try again form"
    return [(unescape(n), unescape(v)) for n, v in re.findall(r'name="([^"]*)" value="([^"]*)"', form.group(2))]


def stored(app: Flask, audit: Audit) -> dict[str, Any]:
    with app.extensions["database"].connection_context():
        return load_answers(response_of(audit))


def test_a_page_during_an_outage_says_the_service_is_unavailable(app: Flask, client: FlaskClient, audit: Audit) -> None:
    with locked(app):
        response = client.get("/audit/")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    page = text(response)
    assert UNAVAILABLE in page and "Wait a few minutes, then try again" in page
    assert "Traceback" not in page and "locked" not in page  # words for people, not the error
    assert client.get("/audit/").status_code == 200, "service comes back by itself with the database"


def test_answers_posted_during_an_outage_are_kept_and_shown_when_service_is_back(
    app: Flask, client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    section = s11.sections[0]
    path = f"/audit/{audit.id}/{section.id}"
    with locked(app):
        response = client.post(path, data=section_data(section, text="Typed while the records were unreachable"))
    assert response.status_code == 503
    assert KEPT in text(response) and "has not been saved yet" in text(response)
    assert stored(app, audit) == {}
    page = text(client.get(path))
    assert "We kept what you typed, but it is not saved yet. Check it and save." in page
    assert "Typed while the records were unreachable" in page
    assert stored(app, audit) == {}, "shown again, not saved until the person saves it"
    again = text(client.get(path))
    assert "We kept what you typed" not in again and "Typed while the records were unreachable" not in again


def test_try_again_sends_the_same_answers_once_the_service_is_back(
    app: Flask, client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    section = s11.sections[1]
    path = f"/audit/{audit.id}/{section.id}"
    with locked(app):
        response = client.post(path, data=section_data(section, text="Sent again with the button"))
    assert response.status_code == 503
    fields = hidden_fields(response)
    assert ("save", "continue") in fields and ("section-completed", "yes") in fields
    resent = client.post(path, data=MultiDict(fields))
    assert resent.status_code == 302 and resent.headers["Location"] == f"/audit/?saved={section.id}&revision=1"
    answers = stored(app, audit)
    assert answers[f"{section.id}.1-narrative"] == "Sent again with the button"
    assert "We kept what you typed" not in text(client.get(path)), "sent again: nothing old to show"


def test_several_pages_posted_during_an_outage_are_each_kept(
    app: Flask, client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    first, second = s11.sections[3], s11.sections[4]
    with locked(app):
        for section in (first, second):
            response = client.post(f"/audit/{audit.id}/{section.id}", data=section_data(section, text=section.title))
            assert response.status_code == 503 and KEPT in text(response)
    for section in (first, second):
        page = text(client.get(f"/audit/{audit.id}/{section.id}"))
        assert "We kept what you typed, but it is not saved yet" in page and section.title in page


def test_autosave_during_an_outage_gets_json_and_keeps_nothing_in_the_cookie(
    app: Flask, client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    section = s11.sections[0]
    with locked(app):
        response = client.post(
            f"/audit/{audit.id}/{section.id}/draft",
            data=section_data(section, text="Autosaved"),
            headers={"Accept": "application/json"},
        )
    assert response.status_code == 503 and response.get_json() == {"kept": False, "reason": "unavailable"}
    assert "Autosaved" not in text(client.get(f"/audit/{audit.id}/{section.id}"))


def test_a_sign_in_during_an_outage_never_puts_the_password_in_the_page(app: Flask, client: FlaskClient) -> None:
    with locked(app):
        response = client.post("/sign-in", data={"email": "lead@example.org", "password": "a secret phrase"})
    assert response.status_code == 503 and UNAVAILABLE in text(response)
    assert "a secret phrase" not in response.get_data(as_text=True)
    assert "Try again" not in text(response) and "go back and send it again" in text(response)


def test_answers_too_long_for_the_cookie_are_offered_again_on_the_page(
    app: Flask, client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    section = s11.sections[2]
    long_text = " ".join(f"word{i}x{i * 7919 % 10007}" for i in range(900))  # about 12,000 characters
    with locked(app):
        response = client.post(f"/audit/{audit.id}/{section.id}", data=section_data(section, text=long_text))
    assert response.status_code == 503
    assert KEPT not in text(response), "too large for the cookie: not claimed to be kept"
    assert (f"{section.id}.1-narrative", long_text) in hidden_fields(response), "but the page can send it again"
    assert len(response.headers.get("Set-Cookie", "")) < 4096


def test_an_anonymous_survey_page_posted_during_an_outage_can_be_sent_again(app: Flask, client: FlaskClient) -> None:
    with app.extensions["database"].connection_context():
        survey_round = SurveyRound.create(
            name="Spring",
            questionnaire=QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "practitioner-s11-survey"),
            opens_on=TODAY - dt.timedelta(days=1),
            closes_on=TODAY + dt.timedelta(days=10),
        )
        link = surveys.create_link(survey_round, "Everyone", "device")
    path = f"/s/{link.slug}/q/about-you"
    with locked(app):
        response = client.post(path, data={"anything-else": "Said while it was down"})
    assert response.status_code == 503
    assert KEPT not in text(response), "nobody is signed in: nothing kept in a shared device's cookie"
    assert ("anything-else", "Said while it was down") in hidden_fields(response)


def test_the_log_names_the_first_error_when_the_rollback_fails_too() -> None:
    """SQLite rolls a write on a full disk back itself; peewee's rollback then fails as well."""
    with pytest.raises(OperationalError) as raised:
        try:
            raise OperationalError("database or disk is full")
        except OperationalError:
            raise OperationalError("cannot rollback - no transaction is active")  # noqa: B904 - as peewee does
    assert causes(raised.value) == "cannot rollback - no transaction is active, after: database or disk is full"


def test_a_pooled_connection_that_failed_is_closed_not_given_back(
    app: Flask, client: FlaskClient, audit: Audit, s11: Questionnaire
) -> None:
    """The app in production keeps a pool; a connection that failed must not go back to it."""
    pooled = create_app({**app.config, "DATABASE_POOL": True, "TESTING": False})
    database = pooled.extensions["database"]
    pooled_client = pooled.test_client()
    pooled_client.set_cookie("session", client.get_cookie("session").value)
    section = s11.sections[5]
    path = f"/audit/{audit.id}/{section.id}"
    assert pooled_client.get(path).status_code == 200
    assert len(database._connections) == 1, "a good connection goes back to the pool"
    with write_locked(app):
        assert pooled_client.get(path).status_code == 200, "reading works while another process writes"
        response = pooled_client.post(path, data=section_data(section, text="Saved once the lock was gone"))
        assert response.status_code == 503 and KEPT in text(response)
    assert not database._connections and not database._in_use, "the failed connection was closed"
    resent = pooled_client.post(path, data=MultiDict(hidden_fields(response)))
    assert resent.status_code == 302
    assert stored(app, audit)[f"{section.id}.1-narrative"] == "Saved once the lock was gone"
    database.close_all()

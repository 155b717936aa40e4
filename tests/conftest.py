"""Fixtures shared by every test: a database, the app on it, its client, users of each role, and
an open S11 audit cycle.

The database is SQLite in a temporary folder, or the PostgreSQL server named by the
TEST_DATABASE_URL environment variable (.ci/run starts one). It is migrated once per session
and emptied before each test, so tests never see each other's rows.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from peewee import Database, PostgresqlDatabase

from accounts import passwords
from accounts.cookie import DerivedOnceSigner
from accounts.passwords import hash_password
from app import create_app
from questionnaires import Questionnaire, load_file
from store.db import make_database, upgrade
from store.models import MODELS, Agency, AuditCycle, QuestionnaireVersion, User
from store.questionnaires import definition

FIXTURES = Path(__file__).parent / "fixtures"
PASSWORD = "correct horse battery staple"

# the same algorithm at a lower cost: hashing at full cost in every test would take minutes
passwords.METHOD = "scrypt:1024:8:1"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    database = make_database(url)
    with database.connection_context():
        if isinstance(database, PostgresqlDatabase):
            database.execute_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        upgrade(database)
    database.close()
    yield url


def empty(database: Database) -> None:
    tables = [m._meta.table_name for m in reversed(MODELS)]
    with database.connection_context():
        if isinstance(database, PostgresqlDatabase):
            database.execute_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
        else:
            with database.atomic():
                for table in tables:
                    database.execute_sql(f'DELETE FROM "{table}"')


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "DEMO_MODE": True,
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "DATABASE_URL": database_url,
        }
    )
    database = app.extensions["database"]
    empty(database)
    from store.questionnaires import sync_shipped

    with database.connection_context():
        sync_shipped(app.extensions["questionnaires"])
    yield app
    if not database.is_closed():
        database.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def db(app: Flask) -> Iterator[Database]:
    """A connection for a test that reads or writes rows itself."""
    database = app.extensions["database"]
    with database.connection_context():
        yield database


@pytest.fixture
def agencies(db: Database) -> dict[str, Agency]:
    return {
        "police": Agency.create(name="Shire Police", sector="police"),
        "health": Agency.create(name="Shire Community Health", sector="health"),
    }


@pytest.fixture
def users(db: Database, agencies: dict[str, Agency]) -> dict[str, User]:
    """One user of each role (two agency users of one agency, one of another); password PASSWORD."""
    hashed = hash_password(PASSWORD)

    def make(key: str, role: str, agency: Agency | None = None) -> User:
        return User.create(
            email=f"{key}@example.org",
            name=key.replace("-", " ").title(),
            password_hash=hashed,
            role=role,
            agency=agency,
        )

    return {
        "agency": make("police-lead", "agency", agencies["police"]),
        "colleague": make("police-colleague", "agency", agencies["police"]),
        "other-agency": make("health-lead", "agency", agencies["health"]),
        "reviewer": make("reviewer", "reviewer"),
        "analyst": make("analyst", "analyst"),
        "admin": make("admin", "admin"),
    }


def sign_in_as(client: FlaskClient, user: User) -> FlaskClient:
    """Sign the client in through the real sign-in form."""
    response = client.post("/sign-in", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture(scope="session")
def minimal() -> Questionnaire:
    """A small definition with every question type, condition operator and rule kind."""
    return load_file(FIXTURES / "questionnaires" / "minimal.json")


@pytest.fixture
def cycle(db: Database) -> AuditCycle:
    """An S11 self-audit cycle, open a month ago and for two months more, on the shipped definition."""
    today = dt.date.today()
    return AuditCycle.create(
        name="2025 to 2026 self-audit",
        questionnaire=QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "s11-self-audit"),
        opens_on=today - dt.timedelta(days=30),
        closes_on=today + dt.timedelta(days=60),
    )


@pytest.fixture
def s11(cycle: AuditCycle) -> Questionnaire:
    """The cycle's definition."""
    return definition(cycle.questionnaire)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """time.time() as signed texts see it (made, reused, checked, aged): set now[0] to move it.
    (tests/security/test_rate_limits.py has a clock of its own, for the counters' windows.)"""
    now = [1_800_000_000.0]
    monkeypatch.setattr("time.time", lambda: now[0])
    return now


@pytest.fixture
def derived(monkeypatch: pytest.MonkeyPatch) -> list[str | bytes | None]:
    """Each secret itsdangerous derives a signing key from, from now on, in order: the session's
    and CSRF signers keep what they derive (accounts.cookie), so tests count the derivations."""
    derivations: list[str | bytes | None] = []
    signer_class = DerivedOnceSigner.__mro__[1]
    parent = signer_class.derive_key

    def counting(self: DerivedOnceSigner, secret_key: str | bytes | None = None) -> bytes:
        derivations.append(secret_key)
        return parent(self, secret_key)

    monkeypatch.setattr(signer_class, "derive_key", counting)
    return derivations

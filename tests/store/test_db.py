"""The app's database connections: pooled per process, with the same settings either way."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from peewee import SqliteDatabase

from app import create_app
from store.db import TrustsAConnectionJustGivenBack, make_database


def _probe_app(database_url: str, **config) -> Iterator[Flask]:
    """An app with one extra page that counts rows in a temporary table: a temporary table lives
    as long as its connection, so the count says whether requests shared one."""
    app = create_app({"SECRET_KEY": "t", "DATABASE_URL": database_url, "DATABASE_BUSY_TIMEOUT": 3, **config})
    database = app.extensions["database"]

    @app.get("/_probe")
    def probe() -> dict:
        database.execute_sql("CREATE TEMPORARY TABLE IF NOT EXISTS probe (n INTEGER)")
        database.execute_sql("INSERT INTO probe (n) VALUES (1)")
        (count,) = database.execute_sql("SELECT COUNT(*) FROM probe").fetchone()
        settings = {}
        if isinstance(database, SqliteDatabase):
            for pragma in ("busy_timeout", "journal_mode", "synchronous", "foreign_keys"):
                (settings[pragma],) = database.execute_sql(f"PRAGMA {pragma}").fetchone()
        return {"count": count, "settings": settings}

    yield app
    if not database.is_closed():
        database.close()
    getattr(database, "close_all", lambda: None)()  # a pool's idle connections


@pytest.fixture
def pooled(database_url: str) -> Iterator[Flask]:
    yield from _probe_app(database_url)  # a deployed app: not TESTING, no DATABASE_POOL


@pytest.fixture
def unpooled(database_url: str) -> Iterator[Flask]:
    yield from _probe_app(database_url, DATABASE_POOL=False)


def test_requests_share_one_connection_and_give_it_back(pooled: Flask) -> None:
    client = pooled.test_client()
    counts = [client.get("/_probe").json["count"] for _ in range(3)]
    assert counts == [1, 2, 3], "each request found the previous one's temporary rows: one connection"
    assert pooled.extensions["database"].is_closed(), "given back to the pool after the request"


def test_without_a_pool_each_request_has_its_own_connection(unpooled: Flask, database_url: str) -> None:
    client = unpooled.test_client()
    assert [client.get("/_probe").json["count"] for _ in range(3)] == [1, 1, 1]
    assert unpooled.extensions["database"].is_closed()
    tested = next(_probe_app(database_url, TESTING=True))  # the tests' apps: an app per test
    assert [tested.test_client().get("/_probe").json["count"] for _ in range(2)] == [1, 1]


def test_a_pooled_sqlite_connection_keeps_every_setting(pooled: Flask, unpooled: Flask) -> None:
    if not isinstance(pooled.extensions["database"], SqliteDatabase):
        pytest.skip("SQLite's pragmas")
    got = pooled.test_client().get("/_probe").json["settings"]
    assert got == unpooled.test_client().get("/_probe").json["settings"]
    assert got == {"busy_timeout": 3000, "journal_mode": "wal", "synchronous": 1, "foreign_keys": 1}


def test_a_pooled_connection_serves_whichever_thread_asks_next(pooled: Flask) -> None:
    """The threaded `flask run` (the README's first command) hands a connection given back by one
    thread to the next: each request in its own thread, one after another, all answered."""
    answers: list[int] = []

    def one_request() -> None:
        answers.append(pooled.test_client().get("/_probe").status_code)

    for _ in range(5):
        thread = threading.Thread(target=one_request)
        thread.start()
        thread.join()
    assert answers == [200] * 5


def test_a_postgresql_connection_just_given_back_is_handed_out_without_a_round_trip(
    pooled: Flask, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """peewee's pool asks the server (SELECT 1) before handing out a connection: ours only when
    the connection has been idle longer than TRUST_SECONDS; one the server dropped while idle is
    still found, and a fresh one made."""
    database = pooled.extensions["database"]
    if not isinstance(database, TrustsAConnectionJustGivenBack):
        pytest.skip("the PostgreSQL pool")
    pings: list[int] = []
    adapter = database._adapter
    ping = adapter.is_connection_closed
    monkeypatch.setattr(adapter, "is_connection_closed", lambda conn: pings.append(1) or ping(conn))
    client = pooled.test_client()
    assert [client.get("/_probe").json["count"] for _ in range(3)] == [1, 2, 3]
    assert pings == []  # one connection, reused at once: never asked
    monkeypatch.setattr(TrustsAConnectionJustGivenBack, "TRUST_SECONDS", 0.0)
    assert client.get("/_probe").json["count"] == 4 and pings == [1]  # idle "too long": asked, alive

    # the server drops the idle connection: asking finds it, and the request gets a fresh one
    (pid,) = database.execute_sql("SELECT pg_backend_pid()").fetchone()
    database.close()
    killer = make_database(database_url)
    killer.execute_sql("SELECT pg_terminate_backend(%s)", (pid,))
    killer.close()
    assert client.get("/_probe").json["count"] == 1 and len(pings) == 3  # (the pid query asked too)

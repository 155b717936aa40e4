"""The database: SQLite in WAL mode by default, PostgreSQL when DATABASE_URL says so.

A request takes a connection with its first query and gives it back after it. The app keeps its
connections in a pool (each sync worker reuses its one connection), since opening one per request
costs more than most requests: a PostgreSQL login, SQLite's pragmas and, when the last connection
to a SQLite file closes, a checkpoint that flushes the write-ahead log to disk. Models bind to a
proxy so that the same code serves SQLite, PostgreSQL and the tests' throwaway databases.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flask import Flask, g
from peewee import Database, DatabaseProxy, Model, SqliteDatabase
from playhouse.db_url import connect, parse, schemes
from playhouse.migrations import Runner
from playhouse.pool import PooledSqliteDatabase, _PooledPostgresqlDatabase

db = DatabaseProxy()
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

# The durability settings the benchmarks measure too: WAL lets readers work while one writer
# commits; synchronous=NORMAL is safe in WAL mode (a power cut may lose the last commit, never
# corrupt the file); foreign keys on; wait up to 10 s for a writer instead of failing.
SQLITE_PRAGMAS = {"journal_mode": "wal", "synchronous": "normal", "foreign_keys": 1, "cache_size": -16000}
# A pool per process: more connections than threads that query at once are never made; a thread
# waits up to `timeout` seconds for a free one; a connection is replaced after `stale_timeout`.
POOL = {"max_connections": 16, "stale_timeout": 600, "timeout": 10}


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


def make_database(url: str, busy_timeout: float = 10, pooled: bool = False) -> Database:
    """A peewee database from a URL (`sqlite:///path`, `postgresql://...`, `psycopg3://...`).

    `busy_timeout`: how many seconds a SQLite connection waits for another's lock before giving
    up (the page then says the service is unavailable: views.unavailable). `pooled`: closing a
    connection gives it back to a pool (POOL) instead of closing it.
    """
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        if pooled:  # the pool takes `timeout` for its own wait: the busy timeout goes as a pragma
            pragmas = {**SQLITE_PRAGMAS, "busy_timeout": int(busy_timeout * 1000)}
            # a pooled connection goes back to the pool and on to whichever thread asks next (the
            # threaded `flask run`): only one thread uses it at a time, so sqlite3's same-thread
            # check would refuse a safe use
            return PooledSqliteDatabase(str(path), pragmas=pragmas, check_same_thread=False, **POOL)
        return SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, timeout=busy_timeout)
    scheme, _, rest = url.partition("://")
    if pooled and f"{scheme}+pool" in schemes:
        pool_class = schemes[f"{scheme}+pool"]
        if issubclass(pool_class, _PooledPostgresqlDatabase):
            connect(url)  # refuses a URL without a database name, as ever, without connecting
            return _trusting(pool_class)(**parse(f"{scheme}+pool://{rest}"), **POOL)
        return connect(f"{scheme}+pool://{rest}", **POOL)
    # peewee 4 runs PostgreSQL in autocommit mode and rolls back a failed statement itself
    return connect(url)


class TrustsAConnectionJustGivenBack:
    """A PostgreSQL pool that asks the server whether a connection is alive only when it has been
    idle for a while.

    peewee's pool sends `SELECT 1` each time it hands out a connection, to find those the server
    dropped (a restart, an idle timeout) before a request uses one: a round trip on every request
    that touches the database. A connection given back less than TRUST_SECONDS ago with no
    transaction open is handed out without it. Should the server go within that second, the
    request's first statement fails: the person sees the 503 page with what they typed kept
    (views.unavailable), and psycopg marks the connection closed, so the pool drops it.
    """

    TRUST_SECONDS = 1.0

    def __init__(self, *args: Any, **kwargs: Any):
        self._given_back: dict[int, float] = {}  # connection id -> when it came back to the pool
        super().__init__(*args, **kwargs)

    def _can_reuse(self, conn: Any) -> bool:  # on check-in, under the pool's lock
        reusable = super()._can_reuse(conn)  # type: ignore[misc]
        if reusable:
            self._given_back[id(conn)] = time.monotonic()
        return reusable

    def _is_closed(self, conn: Any) -> bool:  # on check-out, under the pool's lock
        given_back = self._given_back.pop(id(conn), None)
        if conn.closed:
            return True
        adapter = self._adapter  # type: ignore[attr-defined]
        recent = given_back is not None and time.monotonic() - given_back < self.TRUST_SECONDS
        if recent and adapter.txn_status(conn) == adapter.txn_idle:
            return False
        return super()._is_closed(conn)  # type: ignore[misc]


def _trusting(pool_class: type) -> type:
    return type(f"Trusting{pool_class.__name__}", (TrustsAConnectionJustGivenBack, pool_class), {})


def writing() -> Any:
    """A transaction that writes: on SQLite it takes the write lock when it begins.

    In a deferred transaction (SQLite's default) that reads and then writes, the write fails at
    once with "database is locked", without waiting, when another connection committed after the
    read: two respondents saving pages at the same moment would see an error. BEGIN IMMEDIATE
    waits its turn (up to the busy timeout) instead. PostgreSQL needs nothing of the sort.
    """
    if isinstance(db.obj, SqliteDatabase):
        return db.atomic(lock_type="IMMEDIATE")
    return db.atomic()


def default_url(app: Flask) -> str:
    return f"sqlite:///{Path(app.instance_path) / 'platform.sqlite3'}"


def upgrade(database: Database) -> list[str]:
    """Apply every pending migration in order; returns their names."""
    return Runner(database, directory=str(MIGRATIONS_DIR)).up()


def pending(database: Database) -> list[str]:
    return [m.name for m in Runner(database, directory=str(MIGRATIONS_DIR)).status() if not m.applied]


def init_app(app: Flask) -> None:
    url = app.config.get("DATABASE_URL") or default_url(app)
    app.config["DATABASE_URL"] = url
    # DATABASE_POOL unset: pooled, except in tests (TESTING), which make an app per test and
    # would each leave a pool of idle connections behind until garbage collected
    pooled = app.config.get("DATABASE_POOL")
    pooled = not app.testing if pooled is None else bool(pooled)
    database = make_database(url, float(app.config.get("DATABASE_BUSY_TIMEOUT", 10)), pooled=pooled)
    app.extensions["database"] = database
    db.initialize(database)

    @app.before_request
    def bind_database() -> None:
        if db.obj is not database:  # several apps in one process (the tests): bind ours
            db.initialize(database)
        # peewee connects on the first query, so a page that needs no data opens no connection
        g.connection_was_open = not database.is_closed()

    @app.teardown_request
    def close_connection(exc: BaseException | None) -> None:
        """Give back what this request took (a command or test may hold its own connection).

        A download streamed with its request's context (views.results) tears down twice: when
        the view returns, and again when the file ends. Its rows are read in between, on a
        connection opened after the first teardown, so the second must close that one too: the
        flag stays for it (read, not popped)."""
        if not g.get("connection_was_open", True) and not database.is_closed():
            database.close()

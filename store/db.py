"""The database: SQLite in WAL mode by default, PostgreSQL when DATABASE_URL says so.

A request takes a connection with its first query and gives it back after it. The app keeps its
connections in a pool (each sync worker reuses its one connection), since opening one per request
costs more than most requests: a PostgreSQL login, SQLite's pragmas and, when the last connection
to a SQLite file closes, a checkpoint that flushes the write-ahead log to disk. Models bind to a
proxy so that the same code serves SQLite, PostgreSQL and the tests' throwaway databases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, g
from peewee import Database, DatabaseProxy, Model, SqliteDatabase
from playhouse.db_url import connect, schemes
from playhouse.migrations import Runner
from playhouse.pool import PooledSqliteDatabase

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
        return connect(f"{scheme}+pool://{rest}", **POOL)
    # peewee 4 runs PostgreSQL in autocommit mode and rolls back a failed statement itself
    return connect(url)


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
        # give back what this request took (a command or test may hold its own connection)
        if not g.pop("connection_was_open", True) and not database.is_closed():
            database.close()

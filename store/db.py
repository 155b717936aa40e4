"""The database: SQLite in WAL mode by default, PostgreSQL when DATABASE_URL says so.

One connection per request, opened by its first query and closed after it. Models bind to a proxy so
that the same code serves SQLite, PostgreSQL and the tests' throwaway databases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, g
from peewee import Database, DatabaseProxy, Model, SqliteDatabase
from playhouse.db_url import connect
from playhouse.migrations import Runner

db = DatabaseProxy()
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

# The durability settings the benchmarks measure too: WAL lets readers work while one writer
# commits; synchronous=NORMAL is safe in WAL mode (a power cut may lose the last commit, never
# corrupt the file); foreign keys on; wait up to 10 s for a writer instead of failing.
SQLITE_PRAGMAS = {"journal_mode": "wal", "synchronous": "normal", "foreign_keys": 1, "cache_size": -16000}


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


def make_database(url: str) -> Database:
    """A peewee database from a URL (`sqlite:///path`, `postgresql://...`, `psycopg3://...`)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, timeout=10)
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
    database = make_database(url)
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
        # close what this request opened (a command or test may hold its own connection)
        if not g.pop("connection_was_open", True) and not database.is_closed():
            database.close()

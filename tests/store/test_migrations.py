"""Migrations: from nothing to the models' schema, from a populated database without losing a row,
idempotent, and driven by `flask --app app db upgrade|status`.

Each test gets a brand-new database of the engine under test (a SQLite file, or a new database
on the PostgreSQL server of TEST_DATABASE_URL). Nothing assumes how many migrations there are:
the tests hold as later ones (0002_...) are added, as long as each keeps the models and the
schema in step and keeps the rows it finds.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import Flask
from peewee import Database, ForeignKeyField, IntegrityError, PostgresqlDatabase, ProgrammingError
from playhouse.migrations import Migration, Runner
from playhouse.reflection import Introspector
from playhouse.schema_diff import diff_models

from app import create_app
from store.db import MIGRATIONS_DIR, db, make_database, pending, upgrade
from store.models import MODELS

ROOT = Path(__file__).resolve().parents[2]
FIRST = "0001_initial"


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database of the engine the suite runs on; dropped afterwards."""
    server = make_database(database_url)
    if not isinstance(server, PostgresqlDatabase):
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    name = f"migrations_{secrets.token_hex(4)}"
    try:
        server.execute_sql(f'CREATE DATABASE "{name}"')
    except ProgrammingError as error:
        pytest.fail(
            f"the role in TEST_DATABASE_URL needs CREATEDB for the migration tests (.ci/run grants it): {error}"
        )
    parts = urlsplit(database_url)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        server.execute_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.close()


@pytest.fixture
def fresh(fresh_url: str) -> Iterator[Database]:
    """A connection to the new database, with the models bound to it for the test."""
    database = make_database(fresh_url)
    before = db.obj
    db.initialize(database)
    with database.connection_context():
        yield database
    db.initialize(before)


def _names() -> list[str]:
    """Every migration file's name, in the order the runner applies them (by number, then name:
    two engineers' 0002_* files both apply)."""
    return [m.name for m in Migration.load_directory(str(MIGRATIONS_DIR))]


def _column_type(database: Database, field_type: str) -> str:
    # the column type the engine gives a peewee field type (SQLite keeps booleans as INTEGER)
    return database._field_types.get(field_type, field_type)


def schema_differences(database: Database) -> list[str]:
    """How the database's tables differ from the models: tables, columns, indexes (peewee's
    schema diff), then each column's type, length, nullability and foreign key."""
    found = [line for line in str(diff_models(database, MODELS)).splitlines() if line]
    reflected = Introspector.from_database(database).generate_models()
    for model in MODELS:
        table = model._meta.table_name
        if table not in reflected:
            continue  # already reported as a table to create
        columns = reflected[table]._meta.columns
        foreign = {fk.column: fk.dest_table for fk in database.get_foreign_keys(table)}
        for field in model._meta.sorted_fields:
            column = columns.get(field.column_name)
            if column is None:
                continue  # already reported as a column to add
            where = f"{table}.{field.column_name}"
            wanted, found_type = _column_type(database, field.field_type), _column_type(database, column.field_type)
            if wanted != found_type:
                found.append(f"{where} is {found_type}, the model says {wanted}")
            if getattr(field, "max_length", None) != getattr(column, "max_length", None):
                found.append(f"{where} holds {column.max_length} characters, the model says {field.max_length}")
            if bool(field.null) != bool(column.null):
                found.append(f"{where} null={column.null}, the model says null={field.null}")
            target = field.rel_model._meta.table_name if isinstance(field, ForeignKeyField) else None
            if foreign.get(field.column_name) != target:
                found.append(f"{where} refers to {foreign.get(field.column_name)}, the model says {target}")
    return found


def snapshot(database: Database) -> dict[str, Any]:
    """Tables, columns and indexes as the database reports them."""
    out: dict[str, Any] = {}
    for table in sorted(database.get_tables()):
        columns = sorted((c.name, c.data_type, c.null) for c in database.get_columns(table))
        indexes = sorted((i.name, tuple(i.columns), i.unique) for i in database.get_indexes(table))
        out[table] = (columns, indexes)
    return out


def test_every_migration_file_can_be_applied_and_reverted() -> None:
    """Each file has up() and down() and names no live model (a migration is a frozen copy)."""
    assert _names()[0] == FIRST
    for migration in Migration.load_directory(str(MIGRATIONS_DIR)):
        module = migration.load()
        assert callable(getattr(module, "up", None)) and callable(getattr(module, "down", None)), migration.name
        assert "store.models" not in Path(migration.path).read_text(encoding="utf-8"), migration.name


def test_upgrading_an_empty_database_makes_the_schema_of_the_models(fresh: Database) -> None:
    assert fresh.get_tables() == []
    assert pending(fresh) == _names()

    assert upgrade(fresh) == _names()

    assert schema_differences(fresh) == []
    assert pending(fresh) == []
    assert {m._meta.table_name for m in MODELS} <= set(fresh.get_tables())


def test_the_schema_check_notices_a_difference(fresh: Database) -> None:
    """The comparison above is not vacuous: a missing column and a changed one are reported."""
    upgrade(fresh)
    fresh.execute_sql('DROP INDEX "draft_user_id_path"')
    fresh.execute_sql('ALTER TABLE "kept_post" RENAME COLUMN "path" TO "page"')
    differences = schema_differences(fresh)
    assert "add column kept_post.path" in differences
    assert "drop column kept_post.page" in differences
    assert "add index draft (user_id, path) unique" in differences, differences


def test_upgrading_twice_changes_nothing(fresh: Database) -> None:
    upgrade(fresh)
    before = snapshot(fresh)
    assert upgrade(fresh) == []
    assert snapshot(fresh) == before
    assert pending(fresh) == []


# One row in every table of the first schema, written with SQL as it stood then (the live
# models may have moved on), with every foreign key pointing at the row above it.
ROWS: list[tuple[str, dict[str, Any]]] = [
    ("agency", {"id": 7, "name": "Shire Police", "sector": "police", "created_at": dt.datetime(2024, 1, 2, 9, 30)}),
    (
        "user",
        {
            "id": 8,
            "email": "lead@example.org",
            "name": "Sam Lead",
            "password_hash": "scrypt:32768:8:1$salt$hash",
            "role": "agency",
            "agency_id": 7,
            "active": True,
            "created_at": dt.datetime(2024, 1, 2, 9, 31),
            "last_sign_in": None,
        },
    ),
    (
        "questionnaire_version",
        {
            "id": 9,
            "questionnaire_id": "s11-self-audit",
            "version": 1,
            "title": "Section 11 safeguarding self-audit",
            "audience": "agency",
            "definition": '{"id":"s11-self-audit"}',
            "loaded_at": dt.datetime(2024, 1, 3, 10, 0),
            "loaded_by_id": 8,
        },
    ),
    (
        "audit_cycle",
        {
            "id": 10,
            "name": "2024 to 2025",
            "questionnaire_id": 9,
            "opens_on": dt.date(2024, 4, 1),
            "closes_on": dt.date(2024, 9, 30),
            "is_open": True,
            "created_at": dt.datetime(2024, 3, 1, 12, 0),
        },
    ),
    (
        "audit",
        {
            "id": 11,
            "cycle_id": 10,
            "agency_id": 7,
            "status": "submitted",
            "revision": 4,
            "submitted_at": dt.datetime(2024, 5, 1, 15, 0),
            "submitted_by_id": 8,
            "declaration": "I confirm",
            "created_at": dt.datetime(2024, 4, 1, 9, 0),
        },
    ),
    (
        "section_state",
        {
            "id": 12,
            "audit_id": 11,
            "section_id": "s1",
            "status": "completed",
            "revision": 2,
            "updated_at": dt.datetime(2024, 4, 20, 11, 0),
            "updated_by_id": 8,
        },
    ),
    (
        "action",
        {
            "id": 13,
            "audit_id": 11,
            "question_id": "s1.2-action",
            "what": "Report to the board yearly",
            "owner": "Head of Safeguarding",
            "due": dt.date(2024, 12, 1),
            "progress": 40,
            "progress_note": "Started",
            "updated_at": dt.datetime(2024, 6, 1, 9, 0),
        },
    ),
    (
        "survey_round",
        {
            "id": 14,
            "name": "Practitioners 2024",
            "questionnaire_id": 9,
            "opens_on": dt.date(2024, 4, 1),
            "closes_on": dt.date(2024, 6, 30),
            "is_open": False,
            "created_at": dt.datetime(2024, 3, 20, 9, 0),
        },
    ),
    (
        "survey_link",
        {
            "id": 15,
            "round_id": 14,
            "slug": "AbC_123-xyz",
            "label": "Workshop, 3 May",
            "agency_id": 7,
            "mode": "tokens",
            "is_active": True,
            "created_at": dt.datetime(2024, 3, 21, 9, 0),
        },
    ),
    ("survey_token", {"id": 16, "link_id": 15, "token_hash": "a" * 64, "used_on": dt.date(2024, 5, 3)}),
    (
        "response",
        {
            "id": 17,
            "questionnaire_id": 9,
            "audit_id": None,
            "link_id": 15,
            "age_band": None,
            "status": "submitted",
            "submission_key": "b" * 32,
            "week": dt.date(2024, 4, 29),
        },
    ),
    ("answer", {"id": 18, "response_id": 17, "question_id": "relevance", "value": '"5"'}),
    (
        "draft",
        {
            "id": 19,
            "user_id": 8,
            "path": "/audit/11/s1",
            "form": '[["s1.1","met"]]',
            "base_revision": 2,
            "saved_at": dt.datetime(2024, 4, 19, 16, 0),
        },
    ),
    (
        "kept_post",
        {
            "id": 20,
            "token_hash": "c" * 64,
            "path": "/audit/11/s2",
            "form": "[]",
            "created_at": dt.datetime(2024, 4, 19, 17, 0),
        },
    ),
    (
        "audit_event",
        {
            "id": 21,
            "at": dt.datetime(2024, 5, 1, 15, 0),
            "user_id": 8,
            "audit_id": 11,
            "kind": "status",
            "target": "audit",
            "before": '"in-progress"',
            "after": '"submitted"',
        },
    ),
]


def insert(database: Database, table: str, row: dict[str, Any]) -> None:
    columns = ", ".join(f'"{c}"' for c in row)
    marks = ", ".join(database.param for _ in row)
    database.execute_sql(f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', list(row.values()))


def read(database: Database, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    listed = ", ".join(f'"{c}"' for c in columns)
    return list(database.execute_sql(f'SELECT {listed} FROM "{table}" ORDER BY "id"').fetchall())


def test_upgrading_a_populated_database_keeps_every_row(fresh: Database) -> None:
    Runner(fresh, directory=str(MIGRATIONS_DIR)).up(target=FIRST)
    assert pending(fresh) == _names()[1:]
    with fresh.atomic():
        for table, row in ROWS:
            insert(fresh, table, row)
    kept = {table: read(fresh, table, list(row)) for table, row in ROWS}
    assert all(len(rows) == 1 for rows in kept.values())

    assert upgrade(fresh) == _names()[1:]

    assert {table: read(fresh, table, list(row)) for table, row in ROWS} == kept
    assert schema_differences(fresh) == []
    # and the live models read the old rows
    from store.models import Action, Answer, Response, User

    assert User.get_by_id(8).agency.name == "Shire Police"
    assert Action.get_by_id(13).audit.cycle.name == "2024 to 2025"
    assert Response.get_by_id(17).week == dt.date(2024, 4, 29)
    assert Answer.get_by_id(18).value == "5"


def test_on_sqlite_the_definition_ends_its_row_and_the_table_keeps_its_rows_keys_and_triggers(fresh: Database) -> None:
    """0005: on SQLite a value stored after the definition is reached by walking the definition's
    overflow pages, so the stamp every audit page and survey link reads comes before it now. The
    rebuilt table keeps its rows, stamps, indexes, triggers and foreign keys, both ways."""
    if isinstance(fresh, PostgresqlDatabase):
        pytest.skip("PostgreSQL keeps long values apart from the row: 0005 leaves its columns as they are")
    runner = Runner(fresh, directory=str(MIGRATIONS_DIR))
    runner.up(target=FIRST)
    with fresh.atomic():
        for table, row in ROWS:
            insert(fresh, table, row)
    runner.up(target="0004_definition_stamp_on_sqlite")
    columns = ["id", "definition", "loaded_at", "loaded_by_id", "stamp"]
    before = read(fresh, "questionnaire_version", columns)
    indexes = sorted((i.name, tuple(i.columns), i.unique) for i in fresh.get_indexes("questionnaire_version"))

    upgrade(fresh)

    assert [c.name for c in fresh.get_columns("questionnaire_version")][-1] == "definition"
    assert read(fresh, "questionnaire_version", columns) == before
    assert sorted((i.name, tuple(i.columns), i.unique) for i in fresh.get_indexes("questionnaire_version")) == indexes
    # the stamp's triggers came back: a new definition, a new stamp; a new row, a stamp of its own
    fresh.execute_sql('UPDATE "questionnaire_version" SET "definition" = ? WHERE "id" = 9', ['{"id":"edited"}'])
    (stamp,) = fresh.execute_sql('SELECT "stamp" FROM "questionnaire_version" WHERE "id" = 9').fetchone()
    assert stamp is not None and stamp != before[0][-1]
    insert(fresh, "questionnaire_version", {**dict(ROWS)["questionnaire_version"], "id": 22, "version": 2})
    assert fresh.execute_sql('SELECT "stamp" FROM "questionnaire_version" WHERE "id" = 22').fetchone()[0] is not None
    # foreign keys are on again and hold both ways: to the version, and from it
    assert fresh.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert fresh.execute_sql("PRAGMA foreign_key_check").fetchall() == []
    with pytest.raises(IntegrityError), fresh.atomic():
        fresh.execute_sql('DELETE FROM "questionnaire_version" WHERE "id" = 9')  # its cycle, round and response
    with pytest.raises(IntegrityError), fresh.atomic():
        fresh.execute_sql('UPDATE "questionnaire_version" SET "loaded_by_id" = 999 WHERE "id" = 9')
    fresh.execute_sql('DELETE FROM "draft"')
    fresh.execute_sql('DELETE FROM "audit_event"')
    fresh.execute_sql('DELETE FROM "section_state"')
    fresh.execute_sql('DELETE FROM "action"')
    fresh.execute_sql('UPDATE "audit" SET "submitted_by_id" = NULL')
    fresh.execute_sql('DELETE FROM "user" WHERE "id" = 8')  # the loader goes: SET NULL, as before
    assert fresh.execute_sql('SELECT "loaded_by_id" FROM "questionnaire_version" WHERE "id" = 9').fetchone() == (None,)


def test_a_key_a_wider_unique_index_begins_with_loses_its_own_index_and_gets_it_back(fresh: Database) -> None:
    """0006: each foreign key's own index goes where a unique index of more columns begins with
    it (that index finds the same rows, and every insert wrote both); its constraint stays, and
    down() puts the indexes back."""
    runner = Runner(fresh, directory=str(MIGRATIONS_DIR))
    names = _names()
    at = next(n for n, name in enumerate(names) if name.startswith("0006_"))
    module = Migration.load_directory(str(MIGRATIONS_DIR))[at].load()
    runner.up(target=FIRST)
    with fresh.atomic():
        for table, row in ROWS:
            insert(fresh, table, row)
    runner.up(target=names[at - 1])

    def indexes() -> dict[str, dict[str, tuple[tuple[str, ...], bool]]]:
        return {t: {i.name: (tuple(i.columns), i.unique) for i in fresh.get_indexes(t)} for t in module.COVERED}

    before = indexes()
    upgrade(fresh)
    after = indexes()
    assert schema_differences(fresh) == []
    for table, (name, column) in module.COVERED.items():
        assert before[table][name] == ((column,), False)
        assert name not in after[table]
        # the wider unique index that serves the lookups by that key is there
        assert any(columns[0] == column and len(columns) > 1 and unique for columns, unique in after[table].values())
        assert {fk.column for fk in fresh.get_foreign_keys(table)} >= {column}
    # deleting a response still takes its answers with it, found through the wider index
    fresh.execute_sql('DELETE FROM "response" WHERE "id" = 17')
    assert fresh.execute_sql('SELECT count(*) FROM "answer" WHERE "response_id" = 17').fetchone() == (0,)

    module.down(None, fresh)
    assert indexes() == before
    assert sorted(schema_differences(fresh)) == sorted(
        f"drop index {table}.{name} ({column})" for table, (name, column) in module.COVERED.items()
    )


def test_concern_flags_stored_to_the_minute_keep_only_their_week(fresh: Database) -> None:
    """0007: a flag's made and emailed times, once the submission's minute, become the Monday of
    their week, as new flags are stored; the reviewer's handled time keeps its minute."""
    runner = Runner(fresh, directory=str(MIGRATIONS_DIR))
    names = _names()
    at = next(n for n, name in enumerate(names) if name.startswith("0007_"))
    runner.up(target=FIRST)
    with fresh.atomic():
        for table, row in ROWS:
            insert(fresh, table, row)
    runner.up(target=names[at - 1])
    handled = dt.datetime(2024, 5, 3, 11, 7)
    for flag_id, made, emailed in (
        (1, dt.datetime(2024, 5, 2, 16, 41), dt.datetime(2024, 5, 2, 16, 42)),
        (2, dt.datetime(2024, 5, 6, 0, 5), None),
    ):
        insert(
            fresh,
            "concern_flag",
            {
                "id": flag_id,
                "response_id": 17,
                "question_id": f"q{flag_id}",
                "words": '["hurt"]',
                "status": "new",
                "created_at": made,
                "notified_at": emailed,
                "handled_at": handled,
            },
        )
    upgrade(fresh)
    rows = [
        tuple(v if v is None or isinstance(v, dt.datetime) else dt.datetime.fromisoformat(v) for v in row)
        for row in read(fresh, "concern_flag", ["created_at", "notified_at", "handled_at"])
    ]
    assert rows == [
        (dt.datetime(2024, 4, 29), dt.datetime(2024, 4, 29), handled),  # Thursday 2 May: the week of Monday 29 April
        (dt.datetime(2024, 5, 6), None, handled),  # a Monday stays, at midnight
    ]
    assert schema_differences(fresh) == []


@pytest.fixture
def fresh_app(fresh_url: str) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "SECRET_KEY": "migrations", "DATABASE_URL": fresh_url})
    before = db.obj
    yield app
    app.extensions["database"].close()
    db.initialize(before)


def test_db_status_exits_1_while_migrations_are_pending_and_db_upgrade_applies_them(fresh_app: Flask) -> None:
    runner = fresh_app.test_cli_runner()

    status = runner.invoke(args=["db", "status"])
    assert status.exit_code == 1
    assert status.output.splitlines() == [f"pending {name}" for name in _names()]

    upgraded = runner.invoke(args=["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    lines = upgraded.output.splitlines()
    assert lines[: len(_names())] == [f"applied {name}" for name in _names()]
    assert "loaded questionnaire s11-self-audit@1" in lines

    status = runner.invoke(args=["db", "status"])
    assert (status.exit_code, status.output.strip()) == (0, "the database is up to date")

    again = runner.invoke(args=["db", "upgrade"])
    assert again.exit_code == 0
    assert again.output.splitlines() == ["the database schema is up to date", "the shipped questionnaires are loaded"]


def test_the_flask_command_line_upgrades_the_database_named_by_database_url(fresh_url: str) -> None:
    """The real `flask --app app db ...` in a process of its own, configured by the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")} | {"DATABASE_URL": fresh_url}

    def flask(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", "db", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = flask("upgrade")
    assert done.returncode == 0, done.stderr
    assert f"applied {FIRST}" in done.stdout
    final = flask("status")
    assert (final.returncode, final.stdout.strip()) == (0, "the database is up to date")

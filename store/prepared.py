"""Hot queries compiled to SQL once per kind of database, then run with each request's values.

peewee builds and compiles a query's SQL every time it runs. For the three-table join that finds a
survey link that is most of the query's cost, and every survey page runs it (measured under
gunicorn: 18 % of a page save's time, against a tenth of that for running the SQL and reading the
row). A `Prepared` query is built once per kind of database with stand-in values, compiled, and
then run with the real values in their places; its rows are read by the query's own cursor
wrapper, so callers get exactly the model objects `query.first()` gives.

Only for queries whose values are plain strings or integers compared as they are (no field
conversion of the value, which the stand-ins would skip): ids, slugs, statuses.

On PostgreSQL (psycopg2) the server parses and plans every statement it is sent as text, which
costs it more than running these small queries (measured: 166 of the link query's 232 us of
server CPU, 100 of the draft read's 118 us). So a compiled statement is also prepared on the
server (`PREPARE`), once per connection, the second time that connection runs it, and from then
on sent as `EXECUTE name(values)`: the server skips the parsing and, once its plan is settled,
the planning. A connection that runs a statement once (one opened per request, without the pool)
never prepares it, so it pays no extra round trip. Prepared statements outlive a rollback, and
each is known by its connection only (kept beside it here, forgotten with it).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary, WeakValueDictionary

from peewee import Database, ModelSelect, PostgresqlDatabase

from store.db import db
from store.rows import JoinRows

_fresh = itertools.count()


def _stand_in(kind: type) -> Any:
    """A value of this kind that no query holds as a constant, to find where its value goes."""
    number = next(_fresh)
    if kind is int:
        return 7_000_000_000_000 + number
    if kind is str:
        return f"\x00stand-in-{number}"
    if kind is dt.datetime:
        return dt.datetime(1901, 1, 1) + dt.timedelta(microseconds=number)
    if kind is dt.date:
        return dt.date(1001, 1, 1) + dt.timedelta(days=number)
    raise TypeError(f"prepared queries take str, int, date or datetime values, not {kind.__name__}")


@dataclass(frozen=True)
class Statement:
    """SQL with its parameters' places (the driver's `%s`), and, where the server can keep it
    prepared (PostgreSQL through psycopg2), the statements that prepare and execute it by name."""

    sql: str
    name: str | None = None
    prepare: str = ""
    execute: str = ""

    @classmethod
    def compiled(cls, database: Database, sql: str, count: int) -> Statement:
        """The statement for `sql` with `count` parameters, run on this kind of database."""
        if not _server_prepares(database) or sql.count("%") != count or sql.count("%s") != count or "$" in sql:
            return cls(sql)  # another driver, or SQL whose %s are not all parameters: sent as it is
        name = f"platform_{next(_fresh)}"
        values = f"({', '.join(['%s'] * count)})" if count else ""
        statement = cls(sql, name, f"PREPARE {name} AS {_numbered(sql)}", f"EXECUTE {name}{values}")
        _named[name] = statement
        return statement

    def run(self, database: Database, params: list[Any]) -> Any:
        """Execute with these values; returns the cursor. Prepares on the server the second time
        a connection runs it (the first may be the only one: a connection per request)."""
        if self.name is None:
            return database.execute_sql(self.sql, params)
        connection = database.connection()
        seen = _on_server.get(connection)
        if seen is None:
            seen = _on_server[connection] = {}
        state = seen.get(self.name)
        if state == _PREPARED:
            return database.execute_sql(self.execute, params)
        if state is None:
            seen[self.name] = _RAN_ONCE
            return database.execute_sql(self.sql, params)
        database.execute_sql(self.prepare)  # fails, and is not counted, in an aborted transaction
        seen[self.name] = _PREPARED
        return database.execute_sql(self.execute, params)


def sql_of(sent: str) -> str:
    """The SQL a statement sent to the database stands for: a compiled query's own SQL for the
    `EXECUTE name(...)` that runs it on PostgreSQL, anything else as it is (for logs and tests
    that read what was run)."""
    if sent.startswith("EXECUTE "):
        found = _named.get(sent.removeprefix("EXECUTE ").split("(", 1)[0])
        if found is not None:
            return found.sql
    return sent


_named: WeakValueDictionary[str, Statement] = WeakValueDictionary()  # statements still in use, by name
_RAN_ONCE, _PREPARED = "ran once", "prepared"
# per live connection: statement name -> _RAN_ONCE or _PREPARED
_on_server: WeakKeyDictionary[Any, dict[str, str]] = WeakKeyDictionary()


def _numbered(sql: str) -> str:
    """`%s` places as PostgreSQL's `$1`, `$2`...: what PREPARE takes."""
    first, *rest = sql.split("%s")
    return first + "".join(f"${number}{part}" for number, part in enumerate(rest, start=1))


def _server_prepares(database: Database) -> bool:
    """PostgreSQL through psycopg2 (which sends values inside the SQL text, so EXECUTE can take
    them); other drivers bind values themselves or have no PREPARE statement."""
    if not isinstance(database, PostgresqlDatabase):
        return False
    return type(database.connection()).__module__.startswith("psycopg2.")


MAX_STATEMENTS = 512  # bounds the SQL kept here (callers' shapes are few: not reached in use)
_by_sql: dict[tuple[type, str], Statement] = {}


def execute(sql: str, params: list[Any]) -> Any:
    """Run SQL its caller made (values only as parameters), prepared on the server as compiled
    queries are: for statements whose text depends on their shape only (how many answers an
    insert holds), so that few texts run many times. Returns the cursor."""
    database = db.obj
    key = (type(database), sql)
    statement = _by_sql.get(key)
    if statement is None:
        if len(_by_sql) >= MAX_STATEMENTS:
            _by_sql.clear()
        statement = _by_sql[key] = Statement.compiled(database, sql, len(params))
    return statement.run(database, params)


class Prepared:
    """`build(*values)` compiled once per database class; `first(*values)` and `all(*values)` run it."""

    def __init__(self, build: Callable[..., ModelSelect], *kinds: type):
        self.build = build
        self.kinds = kinds
        self._compiled: dict[tuple[type, bool], tuple[ModelSelect, Statement, list[Any], list[int]]] = {}

    def _compile(self, one: bool) -> tuple[ModelSelect, Statement, list[Any], list[int]]:
        database = db.obj
        found = self._compiled.get((type(database), one))
        if found is None:
            stand_ins = [_stand_in(kind) for kind in self.kinds]
            query = self.build(*stand_ins)
            query = query.limit(1) if one else query
            sql, params = database.get_sql_context().sql(query).query()
            slots = [params.index(value) for value in stand_ins]
            statement = Statement.compiled(database, sql, len(params))
            found = self._compiled[(type(database), one)] = (query, statement, list(params), slots)
        return found

    def _execute(self, one: bool, values: tuple[Any, ...]) -> tuple[ModelSelect, Any]:
        for value, kind in zip(values, self.kinds, strict=True):
            if type(value) is not kind:
                raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        query, statement, params, slots = self._compile(one)
        params = list(params)
        for slot, value in zip(slots, values, strict=True):
            params[slot] = value
        return query, statement.run(db.obj, params)

    def _run(self, one: bool, values: tuple[Any, ...]) -> list[Any]:
        query, cursor = self._execute(one, values)
        rows = query._get_cursor_wrapper(cursor)  # peewee's own reader (pinned 4.5.3)
        maker = _reuse_reading(rows, (type(db.obj), one, id(self)))
        if maker is not None:  # a join read before: its objects made directly (store.rows)
            found = cursor.fetchall()  # to the end, as below
            cursor.close()
            return [maker.make(row) for row in found]
        rows.fill_cache()  # to the end: SQLite's statement is done, its read over
        return list(rows)

    def first(self, *values: Any) -> Any:
        """The first row, as the query's own objects, or None."""
        rows = self._run(True, values)
        return rows[0] if rows else None

    def all(self, *values: Any) -> list[Any]:
        """Every row, as the query's own objects."""
        return self._run(False, values)

    def rows(self, *values: Any) -> list[tuple[Any, ...]]:
        """Every row as the database driver gave it (plain values, not converted by the fields):
        for a caller that converts only the values it uses, once."""
        _, cursor = self._execute(False, values)
        return cursor.fetchall()

    def first_row(self, *values: Any) -> Row | None:
        """The first row as the database driver gave it (plain values), or None.

        For callers that keep objects built from a row and build them again only when the row
        differs (`objects`): comparing a row costs far less than peewee making objects of it.
        """
        query, cursor = self._execute(True, values)
        rows = cursor.fetchall()  # to the end, as in _run
        if not rows:
            return None
        description = tuple(cursor.description)
        return Row(query, description, tuple(column[0] for column in description), tuple(rows[0]))

    @staticmethod
    def objects(row: Row) -> Any:
        """The query's own objects for a row of `first_row`, exactly as `first` gives them."""
        wrapper = row.query._get_cursor_wrapper(_Replay(row.description, [row.values]))
        wrapper.fill_cache()
        return wrapper[0]


_readings: dict[tuple[Any, ...], tuple[tuple[str, ...], dict[str, Any], JoinRows | None]] = {}


def _reuse_reading(rows: Any, key: tuple[Any, ...]) -> JoinRows | None:
    """Give a peewee row reader what it worked out on its first row last time for this query;
    for a join, return what makes its objects without it (store.rows.JoinRows).

    A reader resolves its cursor's columns to fields, converters and (for joins) the objects to
    make, on its first row: a third of reading one row, and the same every time for the same
    compiled query and columns. The first reader's result is kept; later readers for the same
    query and column names start from it instead. Nothing is kept for a reader that read nothing.
    """
    columns = tuple(column[0] for column in rows.cursor.description or ())
    kept = _readings.get(key)
    if kept is not None and kept[0] == columns:
        rows.__dict__.update(kept[1])
        rows.initialized = True
        return kept[2]
    fresh = set(rows.__dict__)
    initialize = rows.initialize

    def first_time() -> None:
        initialize()
        rows.initialized = True
        worked_out = {
            k: v for k, v in rows.__dict__.items() if k not in fresh and k not in ("initialize", "initialized")
        }
        _readings[key] = (columns, worked_out, JoinRows.of(rows))

    rows.initialize = first_time
    return None


@dataclass(frozen=True, eq=False)
class Row:
    """A row of a prepared query: compare rows by their `values` (the query is a peewee node,
    whose `==` makes an SQL expression)."""

    query: ModelSelect
    description: tuple[Any, ...]  # the cursor's
    columns: tuple[str, ...]  # the columns' names, as the database gave them
    values: tuple[Any, ...]


class _Replay:
    """The part of a DB-API cursor peewee's row readers use, over rows already fetched."""

    def __init__(self, description: tuple[Any, ...], rows: list[tuple[Any, ...]]):
        self.description = description
        self._rows = iter(rows)

    def fetchone(self) -> tuple[Any, ...] | None:
        return next(self._rows, None)

    def close(self) -> None:
        pass


class PreparedWrite:
    """An UPDATE or DELETE compiled once per database class, then run with each call's values in
    the places of stand-ins, as `Prepared` does for reads; `run` returns the rows it changed.

    For values stored as they are given (ids, text, datetimes): the stand-ins skip any conversion,
    and compiling refuses a statement that holds a value other than once, as given.
    """

    def __init__(self, build: Callable[..., Any], *kinds: type):
        self.build = build
        self.kinds = kinds
        self._compiled: dict[type, tuple[Statement, list[Any], list[int]]] = {}

    def run(self, *values: Any) -> int:
        for value, kind in zip(values, self.kinds, strict=True):
            if type(value) is not kind:
                raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        database = db.obj
        found = self._compiled.get(type(database))
        if found is None:
            stand_ins = [_stand_in(kind) for kind in self.kinds]
            sql, params = database.get_sql_context().sql(self.build(*stand_ins)).query()
            params = list(params)
            if any(params.count(value) != 1 for value in stand_ins):
                raise RuntimeError("a compiled write must hold each of its values once, as given")
            statement = Statement.compiled(database, sql, len(params))
            found = self._compiled[type(database)] = (statement, params, [params.index(v) for v in stand_ins])
        statement, params, slots = found
        params = list(params)
        for slot, value in zip(slots, values, strict=True):
            params[slot] = value
        return database.rows_affected(statement.run(database, params))

"""Hot queries compiled to SQL once per kind of database, then run with each request's values.

peewee builds and compiles a query's SQL every time it runs. For the three-table join that finds a
survey link that is most of the query's cost, and every survey page runs it (measured under
gunicorn: 18 % of a page save's time, against a tenth of that for running the SQL and reading the
row). A `Prepared` query is built once per kind of database with stand-in values, compiled, and
then run with the real values in their places; its rows are read by the query's own cursor
wrapper, so callers get exactly the model objects `query.first()` gives.

Only for queries whose values are plain strings or integers compared as they are (no field
conversion of the value, which the stand-ins would skip): ids, slugs, statuses.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from peewee import ModelSelect

from store.db import db

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
    raise TypeError(f"prepared queries take str, int or datetime values, not {kind.__name__}")


class Prepared:
    """`build(*values)` compiled once per database class; `first(*values)` and `all(*values)` run it."""

    def __init__(self, build: Callable[..., ModelSelect], *kinds: type):
        self.build = build
        self.kinds = kinds
        self._compiled: dict[tuple[type, bool], tuple[ModelSelect, str, list[Any], list[int]]] = {}

    def _compile(self, one: bool) -> tuple[ModelSelect, str, list[Any], list[int]]:
        database = db.obj
        found = self._compiled.get((type(database), one))
        if found is None:
            stand_ins = [_stand_in(kind) for kind in self.kinds]
            query = self.build(*stand_ins)
            query = query.limit(1) if one else query
            sql, params = database.get_sql_context().sql(query).query()
            slots = [params.index(value) for value in stand_ins]
            found = self._compiled[(type(database), one)] = (query, sql, list(params), slots)
        return found

    def _execute(self, one: bool, values: tuple[Any, ...]) -> tuple[ModelSelect, Any]:
        for value, kind in zip(values, self.kinds, strict=True):
            if type(value) is not kind:
                raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        query, sql, params, slots = self._compile(one)
        params = list(params)
        for slot, value in zip(slots, values, strict=True):
            params[slot] = value
        return query, db.obj.execute_sql(sql, params)

    def _run(self, one: bool, values: tuple[Any, ...]) -> list[Any]:
        query, cursor = self._execute(one, values)
        rows = query._get_cursor_wrapper(cursor)  # peewee's own reader (pinned 4.5.3)
        _reuse_reading(rows, (type(db.obj), one, id(self)))
        rows.fill_cache()  # to the end: SQLite's statement is done, its read over
        return list(rows)

    def first(self, *values: Any) -> Any:
        """The first row, as the query's own objects, or None."""
        rows = self._run(True, values)
        return rows[0] if rows else None

    def all(self, *values: Any) -> list[Any]:
        """Every row, as the query's own objects."""
        return self._run(False, values)

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


_readings: dict[tuple[Any, ...], tuple[tuple[str, ...], dict[str, Any]]] = {}


def _reuse_reading(rows: Any, key: tuple[Any, ...]) -> None:
    """Give a peewee row reader what it worked out on its first row last time for this query.

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
        return
    fresh = set(rows.__dict__)
    initialize = rows.initialize

    def first_time() -> None:
        initialize()
        _readings[key] = (columns, {k: v for k, v in rows.__dict__.items() if k not in fresh and k != "initialize"})

    rows.initialize = first_time


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
        self._compiled: dict[type, tuple[str, list[Any], list[int]]] = {}

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
            found = self._compiled[type(database)] = (sql, params, [params.index(v) for v in stand_ins])
        sql, params, slots = found
        params = list(params)
        for slot, value in zip(slots, values, strict=True):
            params[slot] = value
        return database.rows_affected(database.execute_sql(sql, params))

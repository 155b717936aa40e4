"""Reading and writing a response's answers (one row per question)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from peewee import EXCLUDED

from questionnaires.model import Question, Section
from store.db import db
from store.models import Answer, Response
from store.prepared import Prepared

REASON = "__reason"  # a rating's not applicable reason is stored under its id with this suffix


def field_keys(question: Question) -> tuple[str, ...]:
    """The stored answer keys one question owns: a rating also owns its not applicable reason."""
    return (question.id, question.id + REASON) if question.type == "rating" else (question.id,)


def section_keys(section: Section) -> set[str]:
    """Every stored answer key a page of questions owns: saving it replaces them all."""
    return {key for question in section.questions for key in field_keys(question)}


# every survey page and S11 standard reads a response's answers: compiled once (store/prepared.py)
_ANSWERS = Prepared(
    lambda response_id: Answer.select(Answer.question_id, Answer.value).where(Answer.response == response_id).tuples(),
    int,
)


def load_answers(response: Response) -> dict[str, Any]:
    """question id -> stored value (dates come back as ISO text; the form fields read them)."""
    return dict(_ANSWERS.all(response.id))


_AS_STORED: dict[type, str] = {}  # database class -> the read's SQL


def load_answers_as_stored(response: Response) -> dict[str, str]:
    """question id -> stored value as stored (JSON text, `Answer.value.python_value` decodes it):
    for a caller that needs few of a response's answers decoded (the S11 audit holds hundreds)."""
    database = db.obj
    sql = _AS_STORED.get(type(database))
    if sql is None:
        query = Answer.select(Answer.question_id, Answer.value).where(Answer.response == 7_000_000_000_000)
        sql, params = database.get_sql_context().sql(query).query()
        if list(params) != [7_000_000_000_000]:
            raise RuntimeError("the answers read's only parameter is not the response id")
        _AS_STORED[type(database)] = sql
    return dict(database.execute_sql(sql, [response.id]).fetchall())


_UPSERTS: dict[tuple[type, int], str] = {}  # (database class, rows) -> the upsert's SQL


def _upsert_sql(count: int) -> str:
    """The SQL of put_answers' upsert for `count` rows, compiled by peewee once per database class
    and row count (building it was most of a page save's time). Its parameters are each row's
    response id, question id and stored value, in that order: checked here, once."""
    database = db.obj
    found = _UPSERTS.get((type(database), count))
    if found is None:
        rows = [{"response": 7_000_000 + i, "question_id": f"q{i}", "value": i} for i in range(count)]
        query = Answer.insert_many(rows).on_conflict(
            conflict_target=[Answer.response, Answer.question_id], update={Answer.value: EXCLUDED.value}
        )
        found, params = database.get_sql_context().sql(query).query()
        expected = [p for r in rows for p in (r["response"], r["question_id"], Answer.value.db_value(r["value"]))]
        if list(params) != expected:
            raise RuntimeError("the answer upsert's parameters are not in the order put_answers gives them")
        _UPSERTS[(type(database), count)] = found
    return found


_KEYED: dict[tuple[str, type, int], str] = {}  # (which, database class, keys) -> its SQL


def _keyed_sql(which: str, count: int, build: Callable[[Any, Any], Any]) -> str:
    """The SQL of `build(response_id, keys)` for `count` of one response's answers, compiled by
    peewee once per statement, database class and count (building it was most of a save's time).
    Its parameters are the response id, then the question ids in order: checked here, once."""
    database = db.obj
    found = _KEYED.get((which, type(database), count))
    if found is None:
        keys = [f"\x00key-{i}" for i in range(count)]
        response_id = 7_000_000_000_000
        found, params = database.get_sql_context().sql(build(response_id, keys)).query()
        if list(params) != [response_id, *keys]:
            raise RuntimeError(f"the answer {which}'s parameters are not the response id, then the keys")
        _KEYED[(which, type(database), count)] = found
    return found


def _delete_sql(count: int) -> str:
    """put_answers' delete of `count` of one response's answers."""
    return _keyed_sql(
        "delete",
        count,
        lambda response_id, keys: Answer.delete().where(
            (Answer.response == response_id) & (Answer.question_id.in_(keys))
        ),
    )


def answers_as_stored(response: Response, keys: Iterable[str]) -> dict[str, str]:
    """The response's answers to `keys`, as stored (JSON text), by one compiled read: what
    load_answers_as_stored gives of them, for a caller that needs a few of many."""
    keys = sorted(keys)
    if not keys:
        return {}
    sql = _keyed_sql(
        "read",
        len(keys),
        lambda response_id, keys: Answer.select(Answer.question_id, Answer.value).where(
            (Answer.response == response_id) & Answer.question_id.in_(keys)
        ),
    )
    return dict(db.obj.execute_sql(sql, [response.id, *keys]).fetchall())


def put_answers(
    response: Response, answers: Mapping[str, Any], replace: Iterable[str] = (), fresh: bool = False
) -> None:
    """Store `answers`, and remove the answers to the ids in `replace` that are not given.

    What save_answers does, without reading the answers first (two statements at most: an upsert
    and a delete), for changes that keep no audit trail and so need no before and after. `fresh`:
    the response was made in this transaction, so it has nothing to remove. Runs in the caller's
    transaction.
    """
    removed = sorted(set(replace) - set(answers)) if not fresh else []
    encode = Answer.value.db_value
    put_encoded(response, {q: encode(v) for q, v in answers.items()}, removed)


def put_encoded(response: Response, encoded: Mapping[str, str], removed: Iterable[str] = ()) -> None:
    """put_answers' two statements, for values already encoded as stored (`Answer.value.db_value`,
    as a caller that compared them has them): upsert `encoded`, delete the answers to `removed`."""
    response_id = response.id
    removed = list(removed)
    if removed:
        db.obj.execute_sql(_delete_sql(len(removed)), [response_id, *removed])
    if encoded:
        params = [p for q, v in encoded.items() for p in (response_id, q, v)]
        db.obj.execute_sql(_upsert_sql(len(encoded)), params)


def save_answers(
    response: Response, answers: Mapping[str, Any], replace: Iterable[str] = ()
) -> dict[str, tuple[Any, Any]]:
    """Store `answers`, and remove the answers to the ids in `replace` that are not given.

    `replace` names the questions of the page being saved: one left blank, or no longer asked,
    loses its old answer. Returns what changed as question id -> (before, after), for the audit
    trail. Runs in the caller's transaction; an upsert, so the same on SQLite and PostgreSQL.
    """
    scope = set(replace) | set(answers)
    if not scope:
        return {}
    before = {
        a.question_id: a.value
        for a in Answer.select(Answer.question_id, Answer.value).where(
            (Answer.response == response) & (Answer.question_id.in_(sorted(scope)))
        )
    }
    encode = Answer.value.db_value
    changes = {q: (before.get(q), answers.get(q)) for q in scope if encode(before.get(q)) != encode(answers.get(q))}
    removed = [q for q in changes if q not in answers]
    if removed:
        Answer.delete().where((Answer.response == response) & (Answer.question_id.in_(removed))).execute()
    rows = [{"response": response.id, "question_id": q, "value": answers[q]} for q in changes if q in answers]
    if rows:
        (
            Answer.insert_many(rows)
            .on_conflict(conflict_target=[Answer.response, Answer.question_id], update={Answer.value: EXCLUDED.value})
            .execute()
        )
    return changes

"""Reading and writing a response's answers (one row per question)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from peewee import EXCLUDED

from store.db import db
from store.models import Answer, Response
from store.prepared import Prepared

# every survey page and S11 standard reads a response's answers: compiled once (store/prepared.py)
_ANSWERS = Prepared(
    lambda response_id: Answer.select(Answer.question_id, Answer.value).where(Answer.response == response_id).tuples(),
    int,
)


def load_answers(response: Response) -> dict[str, Any]:
    """question id -> stored value (dates come back as ISO text; the form fields read them)."""
    return dict(_ANSWERS.all(response.id))


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


def put_answers(
    response: Response, answers: Mapping[str, Any], replace: Iterable[str] = (), fresh: bool = False
) -> None:
    """Store `answers`, and remove the answers to the ids in `replace` that are not given.

    What save_answers does, without reading the answers first (two statements at most: an upsert
    and a delete), for changes that keep no audit trail and so need no before and after. `fresh`:
    the response was made in this transaction, so it has nothing to remove. Runs in the caller's
    transaction.
    """
    removed = sorted(set(replace) - set(answers))
    if removed and not fresh:
        Answer.delete().where((Answer.response == response) & (Answer.question_id.in_(removed))).execute()
    if answers:
        encode = Answer.value.db_value
        params = [p for q, v in answers.items() for p in (response.id, q, encode(v))]
        db.obj.execute_sql(_upsert_sql(len(answers)), params)


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

"""Storing a response's answers: with the changes for the audit trail, or without reading first."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from peewee import Database

from store.answers import load_answers, load_answers_as_stored, put_answers, save_answers
from store.db import db as bound
from store.models import Answer, QuestionnaireVersion, Response

IDS = ("relevance", "delivery", "role", "anything-else")
VALUES = st.one_of(st.sampled_from(["1", "2", "yes"]), st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=2))
SAVES = st.lists(
    st.tuples(st.dictionaries(st.sampled_from(IDS), VALUES, max_size=4), st.sets(st.sampled_from(IDS))),
    min_size=1,
    max_size=6,
)


def _response() -> Response:
    version = QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "practitioner-workshop")
    return Response.create(questionnaire=version, status="draft", week=dt.date(2025, 3, 10))


def test_a_put_replaces_the_page_and_keeps_the_rest(db: Database) -> None:
    response, neighbour = _response(), _response()
    put_answers(response, {"relevance": "4", "delivery": "5", "role": "manager"}, fresh=True)
    put_answers(neighbour, {"relevance": "1"}, fresh=True)
    put_answers(response, {"relevance": "3"}, replace={"relevance", "delivery"})
    assert load_answers(response) == {"relevance": "3", "role": "manager"}
    assert load_answers(neighbour) == {"relevance": "1"}, "another response's answers are untouched"
    put_answers(response, {}, replace={"role"})
    assert load_answers(response) == {"relevance": "3"}
    assert Answer.select().where(Answer.response == response).count() == 1


def test_answers_as_stored_are_the_texts_that_decode_to_the_answers(db: Database) -> None:
    response, neighbour = _response(), _response()
    put_answers(response, {"relevance": "4", "role": ["a", "b"], "when": dt.date(2025, 1, 2)}, fresh=True)
    put_answers(neighbour, {"relevance": "1"}, fresh=True)
    texts = load_answers_as_stored(response)
    assert texts == {"relevance": '"4"', "role": '["a","b"]', "when": '"2025-01-02"'}
    assert {k: Answer.value.python_value(v) for k, v in texts.items()} == load_answers(response)
    assert load_answers_as_stored(_response()) == {}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(saves=SAVES)
def test_a_put_stores_what_a_save_stores(db: Database, saves: list[tuple[dict, set]]) -> None:
    """The same saves of pages, one way with the before-read (for the trail), one way without."""
    with bound.atomic() as transaction:
        read_first, written = _response(), _response()
        for answers, replace in saves:
            save_answers(read_first, answers, replace=replace)
            put_answers(written, answers, replace=replace)
            assert load_answers(written) == load_answers(read_first)
        transaction.rollback()

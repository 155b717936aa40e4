"""Stored questionnaire versions become definition objects once per content."""

from __future__ import annotations

from peewee import Database

from store.models import QuestionnaireVersion
from store.questionnaires import definition


def _row() -> QuestionnaireVersion:
    return QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "practitioner-workshop")


def test_a_version_is_built_once_and_again_when_its_stored_content_differs(db: Database) -> None:
    first = definition(_row())
    assert definition(_row()) is first, "the same content: the same frozen object"
    edited = _row()
    edited.definition = {**edited.definition, "title": "Edited in the database"}
    changed = definition(edited)
    assert changed is not first and changed.title == "Edited in the database"
    assert definition(_row()) is first


def test_what_a_caller_does_to_its_row_does_not_reach_the_next_caller(db: Database) -> None:
    row = _row()
    first = definition(row)
    row.definition["title"] = "Changed by a caller after use"
    assert definition(row).title == "Changed by a caller after use", "the row's content is what counts"
    assert definition(_row()) is first

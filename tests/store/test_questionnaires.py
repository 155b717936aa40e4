"""Stored questionnaire versions become definition objects once per content."""

from __future__ import annotations

import copy
import json

import pytest
from peewee import Database, PostgresqlDatabase

from store.models import QuestionnaireVersion
from store.questionnaires import definition, definition_memo, read_only, remember_definition


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


def test_a_remembered_definition_is_used_only_while_the_row_holds_the_content_it_was_built_from(
    db: Database,
) -> None:
    memo = [None, None]
    row = _row()
    row.definition = read_only(row.definition)
    memo[0] = row.definition
    remember_definition(row, memo)
    built = definition(row)
    assert memo[1] is built, "the memo keeps what was built"
    again = _row()
    again.definition = memo[0]
    remember_definition(again, memo)
    assert definition(again) is built
    again.definition = {**again.definition, "title": "Another content given to the row"}
    assert definition(again).title == "Another content given to the row", "not the memo's"


def test_shared_content_refuses_changes_and_copies_of_it_take_them() -> None:
    content = {"title": "T", "sections": [{"id": "a", "questions": [{"id": "q1"}]}]}
    shared = read_only(content)
    assert shared == content and json.dumps(shared) == json.dumps(content)
    changes = [
        lambda: shared.__setitem__("title", "x"),
        lambda: shared.update(title="x"),
        lambda: shared.pop("title"),
        lambda: shared["sections"].append({}),
        lambda: shared["sections"][0]["questions"].clear(),
        lambda: shared["sections"][0].setdefault("new", 1),
    ]
    for change in changes:
        with pytest.raises(TypeError, match="copy it to change it"):
            change()
    assert shared == content, "nothing changed"
    copied = copy.deepcopy(shared)
    copied["sections"][0]["questions"].append({"id": "q2"})
    edited = dict(shared, title="Edited")
    assert edited["title"] == "Edited" and len(copied["sections"][0]["questions"]) == 2 and shared == content


def test_readers_of_unchanged_stored_content_share_one_decoding_and_one_build(db: Database) -> None:
    row = _row()
    text = json.dumps(row.definition)
    decoded: list[str] = []

    def decode(stored: str):
        return lambda: decoded.append(stored) or json.loads(stored)

    memo = definition_memo(row.id, text, decode(text))
    again = definition_memo(row.id, "".join(text), decode(text))  # an equal text, another object
    assert again is memo and decoded == [text]
    first, second = _row(), _row()
    for reader in (first, second):
        reader.__data__["definition"] = memo[0]
        remember_definition(reader, memo)
    assert definition(first) is definition(second) is memo[1]

    edited = json.loads(text)
    edited["title"] = "Workshop feedback, edited"
    changed = definition_memo(row.id, json.dumps(edited), decode(json.dumps(edited)))
    assert changed is not memo and changed[0]["title"] == "Workshop feedback, edited" and len(decoded) == 2
    with pytest.raises(TypeError):
        changed[0]["title"] = "changed by a caller"


def test_on_sqlite_the_database_stamps_a_version_row_at_every_write_of_its_definition(db: Database) -> None:
    """The stamp that stands for a version's definition (store.questionnaires.version_stamp) is
    set by the database itself (migration 0004's triggers), however the row is written; on
    PostgreSQL the row version stands for it and the column stays empty."""
    version = QuestionnaireVersion.create(
        questionnaire_id="stamped", version=1, title="Stamped", audience="practitioner", definition={"n": 1}
    )

    def stamp() -> int | None:
        return QuestionnaireVersion.get_by_id(version.id).stamp

    if isinstance(db, PostgresqlDatabase):
        assert stamp() is None
        return
    made = stamp()
    assert made is not None
    QuestionnaireVersion.update(title="Retitled").where(QuestionnaireVersion.id == version.id).execute()
    assert stamp() == made, "only a write of the definition changes it"
    seen = {made}
    for n in range(2, 6):
        QuestionnaireVersion.update(definition={"n": n}).where(QuestionnaireVersion.id == version.id).execute()
        seen.add(stamp())
    by_hand = 'UPDATE "questionnaire_version" SET "definition" = ? WHERE "id" = ?'
    db.execute_sql(by_hand, ['{"by": "hand"}', version.id])
    seen.add(stamp())
    assert len(seen) == 6, "a new stamp at every write, by peewee or by hand"

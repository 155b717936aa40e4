"""Questionnaire versions in the database: the shipped ones, and those administrators load.

A version's content never changes once stored (answers point at it); a new version of a
questionnaire is a new row. Definition objects are built from the stored JSON once per
process and kept, since they are frozen.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from peewee import SQL, Column, PostgresqlDatabase, fn

from questionnaires import DefinitionError, Problem, Questionnaire, load_definition
from questionnaires.loader import cross_file_problems
from store.db import db
from store.models import QuestionnaireVersion, User


def sync_shipped(shipped: Mapping[str, Questionnaire]) -> list[str]:
    """Store every shipped version the database does not have yet; returns the keys added.

    A stored version whose content differs from the shipped file of the same id and version is
    an error: versions are immutable, and the file should have raised its version number.
    """
    added = []
    for key, questionnaire in shipped.items():
        if "@" not in key:
            continue
        content = json.loads(Path(questionnaire.source).read_text(encoding="utf-8-sig"))
        row = QuestionnaireVersion.get_or_none(
            (QuestionnaireVersion.questionnaire_id == questionnaire.id)
            & (QuestionnaireVersion.version == questionnaire.version)
        )
        if row is None:
            QuestionnaireVersion.create(
                questionnaire_id=questionnaire.id,
                version=questionnaire.version,
                title=questionnaire.title,
                audience=questionnaire.audience,
                definition=content,
            )
            added.append(key)
        elif row.definition != content:
            raise DefinitionError(
                [
                    Problem(
                        questionnaire.source,
                        "$.version",
                        f"version {questionnaire.version} of '{questionnaire.id}' is already stored with different content; raise the version number",
                    )
                ]
            )
    return added


@lru_cache(maxsize=256)
def _build(key: str, text: str) -> Questionnaire:
    return load_definition(json.loads(text), source=key)


_by_row: dict[tuple[int, str], tuple[Any, Questionnaire]] = {}


def definition(row: QuestionnaireVersion) -> Questionnaire:
    """The frozen definition of a stored version (checked again: the database could be edited).

    Every survey page asks for it, so the content of the row last seen with this id is kept and
    compared (a dict comparison) before the content's canonical text is worked out again.
    A row may carry a memo (`remember_definition`): the content it was given with and a slot for
    the definition built from that content, kept by whoever read the row unchanged from the
    database again (store/surveys.find_link); while the row holds that very content, the slot
    answers without the comparison.
    """
    memo = row.__dict__.get(_MEMO)
    if memo is not None and memo[0] is row.__data__.get("definition"):
        if memo[1] is None:
            memo[1] = _checked(row)
        return memo[1]
    return _checked(row)


_MEMO = "_definition_memo"


def remember_definition(row: QuestionnaireVersion, memo: list[Any]) -> None:
    """Give a row a memo, `[the row's definition content, None]`, shared by rows read with the
    same content; `definition` fills its slot once. The content is shared too, so it should be
    `read_only` (a caller changing it would change it for the rows of later requests)."""
    setattr(row, _MEMO, memo)


MAX_MEMOS = 256
VERSION_FIELDS = [f for f in QuestionnaireVersion._meta.sorted_fields if f is not QuestionnaireVersion.definition]
STAMP = "definition_stamp"  # the name version_stamp's column is read under


def version_stamp() -> Any:
    """A column that stands for a version row's stored definition in a query that joins the
    version (read as STAMP, with VERSION_FIELDS in place of the row): a reader gives it to
    definition_memo and reads the text (stored_definition) only when the stamp is new to the
    process, so an edited definition is seen at once without reading 150 KB every time.

    On PostgreSQL, the row version's inserting transaction and place (xmin and ctid, both new at
    every UPDATE): it keeps the text compressed apart from the row, so a read would unpack and
    send it. On SQLite, the row's `stamp`, which triggers set anew at every insert and every write
    of the definition (migration 0004): its text fills overflow pages that every request would
    read again (several server processes empty each other's page caches with every commit). A
    row without one (a schema made without the migrations) stands for itself by its text.
    """
    table = QuestionnaireVersion._meta.table
    if isinstance(db.obj, PostgresqlDatabase):
        stamp = fn.CONCAT(Column(table, "xmin").cast("text"), SQL("':'"), Column(table, "ctid").cast("text"))
    else:  # COALESCE reads the text only when there is no stamp
        stamp = fn.COALESCE(QuestionnaireVersion.stamp.cast("text"), QuestionnaireVersion.definition)
    return stamp.alias(STAMP)


def stored_definition(version_id: int) -> Any:
    """A version's stored definition, decoded, read by itself (when its stamp is new)."""
    text = (
        QuestionnaireVersion.select(QuestionnaireVersion.definition.cast("text"))
        .where(QuestionnaireVersion.id == version_id)
        .scalar()
    )
    return QuestionnaireVersion.definition.python_value(text)


_memos: dict[int, tuple[Any, list[Any]]] = {}


def definition_memo(version_id: int, stored: Any, decode: Callable[[], Any]) -> list[Any]:
    """The memo for a version row read with this stored content (what stands for it: its
    version_stamp, or its text): `[its decoded definition, read-only; None until definition()
    builds it]`.

    While a version row's content is the one last read for it in this process (compared, not
    hashed: a comparison of equal texts is a memory compare), every reader of it (the links of
    a round, every page of an audit) shares one decoded definition and one build, and decodes
    nothing; `decode` runs only for content not seen before, and a row whose content changed gets
    a memo of its own at once. Give it to the row with remember_definition.
    """
    seen = _memos.get(version_id)
    if seen is not None and seen[0] == stored:
        return seen[1]
    memo = [read_only(decode()), None]
    if len(_memos) >= MAX_MEMOS:  # the tests' many databases reuse ids: never let it grow
        _memos.clear()
    _memos[version_id] = (stored, memo)
    return memo


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise TypeError("this stored definition is shared by every request that reads it: copy it to change it")


class _ReadOnlyDict(dict):
    """Decoded JSON that refuses changes; `dict(d)`, `copy.copy` and `copy.deepcopy` give ones that do not."""

    __setitem__ = __delitem__ = __ior__ = update = pop = popitem = clear = setdefault = _refuse

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return _writable(self)


class _ReadOnlyList(list):
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = remove = pop = clear = sort = reverse = _refuse

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return _writable(self)


def read_only(value: Any) -> Any:
    """Decoded JSON (dicts, lists, plain values) as equal dicts and lists that refuse changes."""
    if isinstance(value, dict):
        return _ReadOnlyDict((key, read_only(item)) for key, item in value.items())
    if isinstance(value, list):
        return _ReadOnlyList(read_only(item) for item in value)
    return value


def _writable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _writable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_writable(item) for item in value]
    return value


def _checked(row: QuestionnaireVersion) -> Questionnaire:
    seen = _by_row.get((row.id, row.key))
    if seen is not None and seen[0] == row.definition:
        return seen[1]
    text = json.dumps(row.definition, sort_keys=True)
    built = _build(row.key, text)
    if len(_by_row) >= 256:  # the tests' many databases reuse ids: never let it grow
        _by_row.clear()
    _by_row[(row.id, row.key)] = (json.loads(text), built)  # a copy nobody else holds
    return built


def newest_versions() -> list[QuestionnaireVersion]:
    rows = QuestionnaireVersion.select().order_by(
        QuestionnaireVersion.questionnaire_id, QuestionnaireVersion.version.desc()
    )
    seen: dict[str, QuestionnaireVersion] = {}
    for row in rows:
        seen.setdefault(row.questionnaire_id, row)
    return list(seen.values())


def add_version(data: Any, source: str, user: User | None) -> QuestionnaireVersion:
    """Check an uploaded definition (with references to the stored ones) and store it.

    Raises DefinitionError listing every problem; nothing is stored then.
    """
    questionnaire = load_definition(data, source=source)
    others = [definition(row) for row in newest_versions() if row.questionnaire_id != questionnaire.id]
    problems = [p for p in cross_file_problems([questionnaire, *others]) if p.file == source]
    exists = QuestionnaireVersion.get_or_none(
        (QuestionnaireVersion.questionnaire_id == questionnaire.id)
        & (QuestionnaireVersion.version == questionnaire.version)
    )
    if exists is not None:
        problems.append(
            Problem(
                source,
                "$.version",
                f"version {questionnaire.version} of '{questionnaire.id}' is already loaded; raise the version number",
            )
        )
    if problems:
        raise DefinitionError(problems)
    return QuestionnaireVersion.create(
        questionnaire_id=questionnaire.id,
        version=questionnaire.version,
        title=questionnaire.title,
        audience=questionnaire.audience,
        definition=data,
        loaded_by=user,
    )

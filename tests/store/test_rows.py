"""store/rows.py: the objects JoinRows makes of a joined row are the objects peewee's own reader
makes, field for field, link for link, with nothing marked changed; what it does not know to be
plain is left to peewee."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from peewee import JOIN, SQL, CharField, Database, ModelSelect

from questionnaires.model import Questionnaire
from store import audits, prepared
from store.db import BaseModel
from store.models import Agency, Answer, Audit, AuditCycle, QuestionnaireVersion, Response, User
from store.prepared import Prepared
from store.rows import BY_SETATTR, IN_DATA, IN_DICT, JoinRows, _store


def _objects(instance: Any, seen: set[int] | None = None) -> dict[str, Any]:
    """Everything peewee keeps on an object, and on the objects linked to it, as plain values."""
    seen = set() if seen is None else seen
    if id(instance) in seen:
        return {"again": type(instance).__name__}
    seen.add(id(instance))
    extra = {k: v for k, v in instance.__dict__.items() if k not in ("__data__", "_dirty", "__rel__")}
    return {
        "type": type(instance).__name__,
        "data": list(instance.__data__.items()),  # in order, as peewee set them
        "dirty": sorted(instance._dirty),
        "rel": {k: None if v is None else _objects(v, seen) for k, v in instance.__rel__.items()},
        "dict": {k: _objects(v, seen) if isinstance(v, BaseModel) else v for k, v in extra.items()},
        "order": list(instance.__dict__),
    }


def _both_ways(db: Database, query: ModelSelect) -> tuple[list[Any], list[Any]]:
    """The query's rows read by peewee's reader, and made by JoinRows from that reader."""
    reader = query._get_cursor_wrapper(db.execute(query))
    reader.fill_cache()
    peewees = list(reader)
    maker = JoinRows.of(reader)
    assert maker is not None, "a join of models peewee reads as usual"
    made = [maker.make(row) for row in db.execute(query).fetchall()]
    return peewees, made


def _audit_page(audit_id: int, section_id: str, user_id: int) -> ModelSelect:
    """The page read's query; it asks for the first standard's answers, so its row carries some,
    and for the user's draft of the first standard's page."""
    keys = audits.page_keys(audits.questionnaire_of(audits.audit_by_id(audit_id)).section("s1")).listed()
    compiled = audits._AUDIT_PAGE
    return compiled.build(audit_id, section_id, user_id, keys, f"/audit/{audit_id}/s1")


@pytest.mark.parametrize(
    ("section_id", "whose"),
    [("s1", "agency"), ("s1", None), ("no-such-standard", "agency"), ("s2", "reviewer"), ("s1", "drafting")],
    ids=["state-and-user", "no-user", "no-state", "another-user", "a-draft"],
)
def test_a_standards_page_row_makes_what_peewee_makes(
    db: Database, audit: Audit, users: dict[str, User], section_id: str, whose: str | None
) -> None:
    section = audits.questionnaire_of(audit).section("s1")
    audits.save_section(audit, section, {"s1.1": "met"}, {"s1.1"}, 0, users["agency"], "in-progress")
    drafting = whose == "drafting"
    if drafting:
        whose = "agency"
        audits.keep_draft(users["agency"], f"/audit/{audit.id}/s1", [["s1.1", "not-met"]], 1)
    audits.keep_draft(users["agency"], f"/audit/{audit.id}/s2", [["s2.1", "met"]], 0)  # another page's
    user_id = users[whose].id if whose else 0
    peewees, made = _both_ways(db, _audit_page(audit.id, section_id, user_id))
    assert len(made) == len(peewees) == 1
    assert _objects(made[0]) == _objects(peewees[0])
    got, expected = made[0], peewees[0]
    assert got.cycle.questionnaire.version == expected.cycle.questionnaire.version
    assert isinstance(got.created_at, dt.datetime) and got.created_at == expected.created_at
    assert (got.page_user is None) == (whose is None)
    assert (got.page_state is None) == (section_id == "no-such-standard")
    assert (got.page_draft is not None) == drafting, "the user's draft of the page, and no other"
    if drafting:
        assert (got.page_draft.form, got.page_draft.base_revision) == ([["s1.1", "not-met"]], 1)
    assert not got.dirty_fields and not got.cycle.dirty_fields


def test_the_page_read_gives_the_same_objects_the_first_time_and_after(
    db: Database, audit: Audit, users: dict[str, User]
) -> None:
    """The first read goes through peewee's reader, later ones through JoinRows: alike."""
    again = Prepared(audits._AUDIT_PAGE.build, int, str, int, str, str)
    keys = audits.page_keys(audits.questionnaire_of(audit).section("s1")).listed()
    path = f"/audit/{audit.id}/s1"
    first = again.first(audit.id, "s1", users["agency"].id, keys, path)
    assert prepared._readings[(type(db), True, id(again))][2] is not None, "later reads go through JoinRows"
    later = again.first(audit.id, "s1", users["agency"].id, keys, path)
    assert _objects(later) == _objects(first)
    assert later is not first and later.page_state is not first.page_state, "each read its own objects"
    later.page_state.revision += 1
    assert again.first(audit.id, "s1", users["agency"].id, keys, path).page_state.revision == first.page_state.revision
    assert again.first(audit.id + 1000, "s1", users["agency"].id, keys, path) is None


def test_values_a_field_converts_are_converted_and_a_null_goes_through_its_own_converter(
    db: Database, audit: Audit, users: dict[str, User]
) -> None:
    response = audits.response_of(audit)
    Answer.create(response=response, question_id="s1.1", value="met")
    Answer.create(response=response, question_id="s1.1-evidence", value=[{"title": "Policy", "date": "2025-01-02"}])
    Answer.create(response=response, question_id="s1.1__reason", value="Not a service we run")
    query = (
        Answer.select(Answer, Response, Audit, Agency)
        .join(Response)
        .join(Audit)
        .join(Agency)
        .where(Answer.response == response.id)
        .order_by(Answer.question_id)
    )
    peewees, made = _both_ways(db, query)
    assert [_objects(a) for a in made] == [_objects(a) for a in peewees]
    assert [a.value for a in made] == ["met", [{"title": "Policy", "date": "2025-01-02"}], "Not a service we run"]
    assert made[0].response.audit.agency.name == audit.agency.name
    nothing = (
        Response.select(Response, Answer)
        .join(Answer, JOIN.LEFT_OUTER, on=(Answer.response == Response.id) & (Answer.question_id == "none"))
        .where(Response.id == response.id)
    )
    peewees, made = _both_ways(db, nothing)  # the JSON field's own converter, given NULL
    assert [_objects(r) for r in made] == [_objects(r) for r in peewees]


def test_a_column_no_field_names_goes_on_the_object_as_peewee_puts_it(db: Database, audit: Audit) -> None:
    query = (
        Audit.select(Audit, AuditCycle, SQL("1 + 1").alias("two"), SQL("NULL").alias("nothing"))
        .join(AuditCycle)
        .where(Audit.id == audit.id)
    )
    peewees, made = _both_ways(db, query)
    assert _objects(made[0]) == _objects(peewees[0])
    assert made[0].two == 2 and made[0].nothing is None


def test_an_outer_join_that_finds_nothing_links_none_as_peewee_does(
    db: Database, s11: Questionnaire, users: dict[str, User]
) -> None:
    versions = list(QuestionnaireVersion.select().order_by(QuestionnaireVersion.id))
    assert len(versions) >= 2
    QuestionnaireVersion.update(loaded_by=users["admin"]).where(QuestionnaireVersion.id == versions[0].id).execute()
    QuestionnaireVersion.update(loaded_by=None).where(QuestionnaireVersion.id != versions[0].id).execute()
    query = (
        QuestionnaireVersion.select(QuestionnaireVersion, User)
        .join(User, JOIN.LEFT_OUTER, on=(QuestionnaireVersion.loaded_by == User.id))
        .order_by(QuestionnaireVersion.id)
    )
    peewees, made = _both_ways(db, query)
    assert [_objects(v) for v in made] == [_objects(v) for v in peewees]
    assert made[0].loaded_by.email == users["admin"].email
    assert made[1].loaded_by is None and made[1].__rel__ == {"loaded_by": None}


class _Shaped(BaseModel):
    name = CharField()

    @property
    def label(self) -> str:
        return self.name

    @label.setter
    def label(self, value: str) -> None:
        self.__dict__["set_through_property"] = value

    def save_label(self) -> None:  # a method: a column of this name goes on the object
        pass


def test_how_a_column_is_set_follows_what_setattr_would_do() -> None:
    assert _store(_Shaped, "name") == IN_DATA
    assert _store(_Shaped, "id") == IN_DATA
    assert _store(Audit, "cycle") == IN_DATA  # a foreign key's id, on a new object
    assert _store(_Shaped, "unheard_of") == IN_DICT
    assert _store(_Shaped, "save_label") == IN_DICT
    assert _store(_Shaped, "label") == BY_SETATTR


def test_readers_it_does_not_know_are_left_to_peewee(db: Database, audit: Audit, s11: Questionnaire) -> None:
    plain = User.select().limit(1)  # one model: peewee's object reader, not a join's
    reader = plain._get_cursor_wrapper(db.execute(plain))
    reader.fill_cache()
    assert JoinRows.of(reader) is None
    joined = Audit.select(Audit, AuditCycle).join(AuditCycle)
    unread = joined._get_cursor_wrapper(db.execute(joined))
    assert JoinRows.of(unread) is None, "a reader that has not read a row has worked nothing out"
    as_dicts = Audit.select(Audit, AuditCycle).join(AuditCycle).dicts()
    reader = as_dicts._get_cursor_wrapper(db.execute(as_dicts))
    reader.fill_cache()
    assert JoinRows.of(reader) is None

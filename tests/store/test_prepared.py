"""Queries compiled once and run with new values give what peewee's own query gives."""

from __future__ import annotations

import datetime as dt

import pytest
from peewee import Database, PostgresqlDatabase

from store import surveys
from store.models import Answer, QuestionnaireVersion, Response, SurveyLink, SurveyRound
from store.prepared import Prepared, PreparedWrite, Statement, execute, sql_of

TODAY = dt.date(2025, 3, 12)


def _round(questionnaire_id: str = "practitioner-workshop") -> SurveyRound:
    version = QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == questionnaire_id)
    return SurveyRound.create(name="Spring", questionnaire=version, opens_on=TODAY, closes_on=TODAY)


def _link_query(slug: str):
    return (
        SurveyLink.select(SurveyLink, SurveyRound, QuestionnaireVersion)
        .join(SurveyRound)
        .join(QuestionnaireVersion)
        .where(SurveyLink.slug == slug)
    )


LINKS = Prepared(_link_query, str)
ANSWERS = Prepared(
    lambda response_id, question_id: (
        Answer.select(Answer.question_id, Answer.value)
        .where((Answer.response == response_id) & (Answer.question_id != question_id))
        .order_by(Answer.question_id)
        .tuples()
    ),
    int,
    str,
)


def test_each_value_finds_its_own_row_with_what_peewee_would_read(db: Database) -> None:
    workshop = surveys.create_link(_round(), "Workshop", "device")
    family = surveys.create_link(_round("family-experience"), "Family centre", "tokens")
    for link in (workshop, family, workshop):  # the second run of each reuses the compiled SQL
        got, expected = LINKS.first(link.slug), _link_query(link.slug).get()
        assert got.__data__ == expected.__data__
        assert got.round.__data__ == expected.round.__data__
        assert got.round.questionnaire.__data__ == expected.round.questionnaire.__data__
        assert isinstance(got.round.opens_on, dt.date), "values are read by their fields, as peewee reads them"
    assert LINKS.first(family.slug).mode == "tokens"
    assert LINKS.first("no-such-link") is None


def test_all_rows_come_back_in_the_querys_order(db: Database) -> None:
    link = surveys.create_link(_round(), "Workshop", "device")
    draft = surveys.save_page(link, None, None, {"relevance": "4", "delivery": "5", "role": "x"}, (), TODAY)
    other = surveys.save_page(link, None, None, {"relevance": "1"}, (), TODAY)
    assert ANSWERS.all(draft.id, "role") == [("delivery", "5"), ("relevance", "4")]
    assert ANSWERS.all(other.id, "role") == [("relevance", "1")]
    assert ANSWERS.all(other.id, "relevance") == []


def test_values_are_sent_as_parameters_never_as_sql(db: Database) -> None:
    surveys.create_link(_round(), "Workshop", "device")
    for hostile in ("x' OR '1'='1", '" OR 1=1 --', "%s", "?", ""):
        assert LINKS.first(hostile) is None
    assert SurveyLink.select().count() == 1


def test_values_of_another_kind_are_refused(db: Database) -> None:
    with pytest.raises(TypeError):
        LINKS.first(12)
    with pytest.raises(TypeError):
        ANSWERS.all("12", "role")
    with pytest.raises(TypeError):
        ANSWERS.all(True, "role")  # a bool is not an id
    with pytest.raises(TypeError):
        Prepared(_link_query, float).first(1.0)
    assert Response.select().count() == 0


def test_a_row_read_plainly_compares_by_value_and_makes_the_objects_first_makes(db: Database) -> None:
    link = surveys.create_link(_round(), "Workshop", "device")
    row, again = LINKS.first_row(link.slug), LINKS.first_row(link.slug)
    assert row.values == again.values and row.values is not again.values
    made, expected = LINKS.objects(row), LINKS.first(link.slug)
    assert made.__data__ == expected.__data__ and not made.dirty_fields
    assert made.round.__data__ == expected.round.__data__
    assert made.round.questionnaire.__data__ == expected.round.questionnaire.__data__
    SurveyLink.update(label="Town hall").execute()
    assert LINKS.first_row(link.slug).values != row.values, "a changed row reads differently"
    assert LINKS.first_row("no-such-link") is None


def test_readers_after_the_first_read_every_row_as_peewee_does(db: Database) -> None:
    link = surveys.create_link(_round(), "Workshop", "device")
    drafts = [
        surveys.save_page(link, None, band, {"relevance": str(i)}, (), TODAY)
        for i, band in enumerate((None, "adults", None))
    ]
    Response.update(status="submitted", submission_key="k" * 32).where(Response.id == drafts[1].id).execute()
    by_id = Prepared(lambda response_id: Response.select().where(Response.id == response_id), int)
    for draft in (*drafts, *drafts):  # the first read works out the columns; the others start from it
        got = by_id.first(draft.id)
        expected = Response.get_by_id(draft.id)
        assert got.__data__ == expected.__data__ and not got.dirty_fields
    assert by_id.first(10**9) is None
    assert [row.__data__ for row in by_id.all(drafts[2].id)] == [Response.get_by_id(drafts[2].id).__data__]


RENAME = PreparedWrite(
    lambda name, round_id: SurveyRound.update(name=name).where(SurveyRound.id == round_id),
    str,
    int,
)


def test_a_compiled_write_changes_the_rows_its_values_pick_and_says_how_many(db: Database) -> None:
    first, second = _round(), _round()
    assert RENAME.run("Summer'; DROP TABLE surveyround; --", first.id) == 1
    assert RENAME.run("Autumn", 10**9) == 0  # no such round
    assert SurveyRound.get_by_id(first.id).name == "Summer'; DROP TABLE surveyround; --"
    assert SurveyRound.get_by_id(second.id).name == "Spring"  # the other row untouched
    with pytest.raises(TypeError):
        RENAME.run("Autumn", str(first.id))


def test_a_write_that_holds_a_value_twice_is_refused_when_compiled(db: Database) -> None:
    twice = PreparedWrite(lambda name: SurveyRound.update(name=name).where(SurveyRound.name == name), str)
    with pytest.raises(RuntimeError, match="once"):
        twice.run("Spring")


def _on_server(database: Database) -> list[str]:
    """The statements this connection holds prepared on a PostgreSQL server."""
    return [row[0] for row in database.execute_sql("SELECT statement FROM pg_prepared_statements").fetchall()]


def test_postgresql_prepares_a_statement_its_connection_runs_again_and_reads_the_same_rows(db: Database) -> None:
    """Once per connection, at its second run: a connection opened for one request never pays
    for it; after that the server is sent the statement's name and its values."""
    if not isinstance(db, PostgresqlDatabase):
        pytest.skip("PostgreSQL keeps prepared statements; SQLite has no PREPARE")
    link = surveys.create_link(_round(), "Workshop", "device")
    expected = _link_query(link.slug).get()
    runs = []
    for _ in range(4):
        got = LINKS.first(link.slug)
        assert got.__data__ == expected.__data__ and got.round.__data__ == expected.round.__data__
        runs.append(len([s for s in _on_server(db) if '"survey_link"' in s]))
    assert runs == [0, 1, 1, 1]
    sent: list[str] = []
    run = db.execute_sql
    db.execute_sql = lambda sql, *args, **kwargs: sent.append(sql) or run(sql, *args, **kwargs)
    try:
        LINKS.first(link.slug)
    finally:
        del db.execute_sql
    assert sent[0].startswith("EXECUTE ") and sql_of(sent[0]) == LINKS._compile(True)[1].sql
    assert sql_of("SELECT 1") == "SELECT 1" and sql_of("EXECUTE unknown(1)") == "EXECUTE unknown(1)"
    assert LINKS.first("x' OR '1'='1") is None and LINKS.first("%s") is None  # values, never SQL
    first = _round()
    assert [RENAME.run("Summer", first.id) for _ in range(3)] == [1, 1, 1]
    assert [RENAME.run("Autumn", 10**9) for _ in range(2)] == [0, 0], "no such round, by name too"
    assert SurveyRound.get_by_id(first.id).name == "Summer"


def test_a_statement_prepared_in_a_transaction_that_rolls_back_is_still_there(db: Database) -> None:
    if not isinstance(db, PostgresqlDatabase):
        pytest.skip("PostgreSQL keeps prepared statements; SQLite has no PREPARE")
    first = _round()
    again = PreparedWrite(
        lambda name, round_id: SurveyRound.update(name=name).where(SurveyRound.id == round_id), str, int
    )
    assert again.run("Summer", first.id) == 1
    with db.atomic() as transaction:
        assert again.run("Autumn", first.id) == 1  # prepared now, in the transaction
        transaction.rollback()
    assert SurveyRound.get_by_id(first.id).name == "Summer"
    assert again.run("Winter", first.id) == 1 and SurveyRound.get_by_id(first.id).name == "Winter"


def test_sql_made_by_its_caller_runs_as_given_and_is_prepared_like_compiled_queries(db: Database) -> None:
    _round()
    sql = f'SELECT "name" FROM "survey_round" WHERE "name" = {db.param}'  # the driver's place for a value
    assert [execute(sql, ["Spring"]).fetchall() for _ in range(3)] == [[("Spring",)]] * 3
    assert execute(sql, ["Spring'; --"]).fetchall() == []
    if isinstance(db, PostgresqlDatabase):
        assert any('"survey_round"' in s for s in _on_server(db))
    percent = Statement.compiled(db, "SELECT 7 %% 3 WHERE 1 = %s", 1)
    assert percent.name is None, "SQL holding a % that is not a parameter is sent as it is"


def test_rows_come_as_the_driver_gives_them_and_dates_go_in_as_values(db: Database) -> None:
    first = _round()
    closes = PreparedWrite(
        lambda day, round_id: SurveyRound.update(closes_on=day).where(SurveyRound.id == round_id), dt.date, int
    )
    assert closes.run(dt.date(2025, 4, 30), first.id) == 1 and closes.run(dt.date(2025, 5, 1), 10**9) == 0
    assert SurveyRound.get_by_id(first.id).closes_on == dt.date(2025, 4, 30)
    by_name = Prepared(
        lambda name: SurveyRound.select(SurveyRound.id, SurveyRound.name).where(SurveyRound.name == name), str
    )
    assert by_name.rows("Spring") == [(first.id, "Spring")] and by_name.rows("Autumn") == []
    with pytest.raises(TypeError):
        closes.run(dt.datetime(2025, 4, 30, 12), first.id)  # a time is not a day

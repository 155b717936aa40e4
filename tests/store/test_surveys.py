"""Survey links, single-use codes, drafts and submitting exactly once, below the web pages."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from peewee import Database, DataError, OperationalError, PostgresqlDatabase, SqliteDatabase

from store import surveys
from store.answers import load_answers
from store.models import Agency, Answer, QuestionnaireVersion, Response, SurveyLink, SurveyRound, SurveyToken, week_of
from store.prepared import sql_of
from store.questionnaires import definition
from store.surveys import Outcome, Refusal, Refused

TODAY = dt.date(2025, 3, 12)  # a Wednesday


def make_round(questionnaire_id: str = "practitioner-workshop", **overrides) -> SurveyRound:
    version = QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == questionnaire_id)
    values = {
        "name": "Spring 2025",
        "questionnaire": version,
        "opens_on": TODAY - dt.timedelta(days=7),
        "closes_on": TODAY + dt.timedelta(days=7),
    }
    values.update(overrides)
    return SurveyRound.create(**values)


@pytest.fixture
def round_(db: Database) -> SurveyRound:
    return make_round()


def test_links_get_random_slugs_and_refuse_unknown_modes(round_: SurveyRound) -> None:
    police = Agency.create(name="Shire Police", sector="police")
    one = surveys.create_link(round_, "  Workshop   at the town hall ", "device", agency=police)
    two = surveys.create_link(round_, "Workshop 2", "tokens")
    assert one.slug != two.slug and len(one.slug) >= 12
    assert one.label == "Workshop at the town hall" and one.agency_id == police.id
    assert surveys.find_link(one.slug).round.questionnaire.questionnaire_id == "practitioner-workshop"
    with pytest.raises(ValueError, match="mode"):
        surveys.create_link(round_, "x", "per-person")
    with pytest.raises(ValueError, match="label"):
        surveys.create_link(round_, "   ", "device")
    assert SurveyLink.select().count() == 2


@pytest.mark.parametrize("slug", ["", "no such link", "../../etc/passwd", "x" * 65, "nosuchslug"])
def test_unknown_or_malformed_slugs_are_not_found(db: Database, slug: str) -> None:
    assert surveys.find_link(slug) is None
    with pytest.raises(Refused) as refused:
        surveys.open_link(slug, TODAY)
    assert refused.value.reason is Refusal.UNKNOWN_LINK and refused.value.link is None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"is_open": False}, Refusal.CLOSED),
        ({"closes_on": TODAY - dt.timedelta(days=1)}, Refusal.CLOSED),
        ({"opens_on": TODAY + dt.timedelta(days=1)}, Refusal.NOT_OPEN_YET),
        ({}, None),
        ({"opens_on": TODAY, "closes_on": TODAY}, None),
    ],
)
def test_a_link_takes_answers_only_while_its_round_is_open(db: Database, changes, reason) -> None:
    link = surveys.create_link(make_round(**changes), "Workshop", "device")
    assert surveys.refusal_for(surveys.find_link(link.slug), TODAY) == reason


def test_an_inactive_link_is_closed(round_: SurveyRound) -> None:
    link = surveys.create_link(round_, "Workshop", "device")
    SurveyLink.update(is_active=False).where(SurveyLink.id == link.id).execute()
    with pytest.raises(Refused) as refused:
        surveys.open_link(link.slug, TODAY)
    assert refused.value.reason is Refusal.CLOSED and refused.value.link.id == link.id


def test_codes_are_shown_once_and_only_their_hashes_are_kept(round_: SurveyRound, db: Database) -> None:
    link = surveys.create_link(round_, "Class 5B", "tokens")
    codes = surveys.create_codes(link, 30)
    assert len(set(codes)) == 30
    stored = [t.token_hash for t in SurveyToken.select()]
    assert len(stored) == 30 and all(len(h) == 64 for h in stored)
    dump = " ".join(str(row) for row in db.execute_sql('SELECT * FROM "survey_token"').fetchall())
    for code in codes:
        assert code not in dump and code.replace("-", "") not in dump
        assert surveys.code_hash(surveys.normalise_code(code)) in stored
    # typed in lower case, with spaces instead of dashes, the code still works
    typed = codes[0].lower().replace("-", " ")
    assert surveys.usable_code(link, typed) == codes[0].replace("-", "")


def test_codes_are_only_for_code_links_and_in_sensible_numbers(round_: SurveyRound) -> None:
    with pytest.raises(ValueError, match="single-use code mode"):
        surveys.create_codes(surveys.create_link(round_, "Workshop", "device"), 5)
    link = surveys.create_link(round_, "Class", "tokens")
    for n in (0, -1, surveys.MAX_CODES + 1):
        with pytest.raises(ValueError, match="between"):
            surveys.create_codes(link, n)
    assert SurveyToken.select().count() == 0


def test_unknown_missing_and_used_codes_are_refused(round_: SurveyRound) -> None:
    link = surveys.create_link(round_, "Class", "tokens")
    other = surveys.create_link(round_, "Other class", "tokens")
    [code] = surveys.create_codes(link, 1)
    [others] = surveys.create_codes(other, 1)
    cases = [(None, Refusal.NEEDS_CODE), ("nonsense", Refusal.UNKNOWN_CODE), (others, Refusal.UNKNOWN_CODE)]
    for text, reason in cases:
        with pytest.raises(Refused) as refused:
            surveys.usable_code(link, text)
        assert refused.value.reason is reason
    SurveyToken.update(used_on=TODAY).execute()
    with pytest.raises(Refused) as refused:
        surveys.usable_code(link, code)
    assert refused.value.reason is Refusal.USED_CODE


def test_a_page_save_replaces_only_that_pages_answers(round_: SurveyRound) -> None:
    link = surveys.create_link(round_, "Workshop", "device")
    draft = surveys.save_page(link, None, None, {"relevance": "4", "delivery": "5"}, {"relevance", "delivery"}, TODAY)
    surveys.save_page(link, draft, None, {"neglect-before": "2"}, {"neglect-before"}, TODAY)
    surveys.save_page(link, draft, None, {"relevance": "3"}, {"relevance", "delivery"}, TODAY)
    assert load_answers(draft) == {"relevance": "3", "neglect-before": "2"}
    assert draft.status == "draft" and draft.age_band is None
    assert surveys.submitted_count(link) == 0, "a draft is never counted"


def test_a_page_save_holds_the_write_lock_from_its_start(app, round_: SurveyRound, monkeypatch) -> None:
    """On SQLite a transaction that reads and then writes fails at once ("database is locked")
    when another respondent's save committed in between; a page save must hold the lock first."""
    database = app.extensions["database"]
    if not isinstance(database, SqliteDatabase):
        pytest.skip("SQLite's locking; PostgreSQL locks rows")
    link = surveys.create_link(round_, "Workshop", "device")
    draft = surveys.save_page(link, None, None, {"relevance": "4"}, {"relevance"}, TODAY)
    other = SqliteDatabase(database.database, timeout=0)  # another worker, that will not wait
    seen = []
    real = surveys.put_answers

    def another_worker_writes_now(*args, **kwargs):
        with other.connection_context():
            try:
                other.execute_sql("BEGIN IMMEDIATE")
                other.execute_sql("ROLLBACK")
                seen.append("could write")
            except OperationalError:
                seen.append("had to wait")
        return real(*args, **kwargs)

    monkeypatch.setattr(surveys, "put_answers", another_worker_writes_now)
    # a save that also removes an answer left blank: two statements, so a transaction
    surveys.save_page(link, draft, None, {"relevance": "3"}, {"relevance", "delivery"}, TODAY)
    assert seen == ["had to wait"]
    assert load_answers(draft) == {"relevance": "3"}


def test_a_one_statement_save_is_committed_without_a_transaction_of_its_own(app, round_: SurveyRound) -> None:
    """A page save into an existing draft that removes nothing is one upsert, atomic by itself:
    it runs without BEGIN and COMMIT (two round trips to PostgreSQL), and is on disk at once."""
    database = app.extensions["database"]
    link = surveys.create_link(round_, "Workshop", "device")
    draft = surveys.save_page(link, None, None, {"relevance": "4"}, {"relevance"}, TODAY)
    statements: list[str] = []
    real = database.execute_sql

    def counted(sql, *args, **kwargs):
        statements.append(sql.split()[0].upper())
        return real(sql, *args, **kwargs)

    database.execute_sql = counted
    try:
        surveys.save_page(link, draft, None, {"relevance": "2", "delivery": "5"}, {"relevance", "delivery"}, TODAY)
    finally:
        del database.execute_sql
    assert statements == ["INSERT"] and not database.in_transaction()  # autocommitted, as peewee runs
    assert load_answers(draft) == {"relevance": "2", "delivery": "5"}


def test_a_first_page_makes_the_draft_exactly_as_create_would(app, round_: SurveyRound) -> None:
    """On PostgreSQL the draft and its answers are one statement (store.surveys._new_draft): the
    draft must hold what Response.create gives it, with every answer, and be seen as saved."""
    link = surveys.create_link(round_, "Workshop", "device")
    answers = {"relevance": "4", "delivery": "5", "role": 'Someone\'s "role"; DROP TABLE answer; --'}
    draft = surveys.save_page(link, None, "adults", answers, set(answers), TODAY)
    expected = Response(questionnaire=round_.questionnaire_id, link=link, age_band="adults", status="draft",
                        week=week_of(TODAY))  # fmt: skip
    stored = Response.get_by_id(draft.id)
    assert draft.__data__ == {**expected.__data__, "id": draft.id}  # what create's object holds
    assert stored.__data__ == {**draft.__data__, "audit": None, "submission_key": None}
    assert not draft.dirty_fields
    assert load_answers(draft) == answers
    empty = surveys.save_page(link, None, None, {}, {"relevance"}, TODAY)  # a page left blank
    assert Response.get_by_id(empty.id).status == "draft" and load_answers(empty) == {}
    assert Response.select().count() == 2 and Answer.select().count() == 3


def test_a_first_page_that_cannot_be_stored_whole_leaves_no_draft(app, round_: SurveyRound) -> None:
    """An answer the database refuses (a question id longer than its column) takes the draft
    with it: the draft and its answers are one statement on PostgreSQL, a transaction on SQLite."""
    database = app.extensions["database"]
    if isinstance(database, SqliteDatabase):
        pytest.skip("SQLite does not hold text to its column's length")
    link = surveys.create_link(round_, "Workshop", "device")
    with pytest.raises(DataError):
        surveys.save_page(link, None, None, {"relevance": "4", "x" * 81: "5"}, {"relevance"}, TODAY)
    assert Response.select().count() == 0 and Answer.select().count() == 0
    draft = surveys.save_page(link, None, None, {"relevance": "4"}, {"relevance"}, TODAY)  # and it goes on
    assert load_answers(draft) == {"relevance": "4"}


def test_on_sqlite_a_first_page_whose_answers_fail_leaves_no_draft(app, round_: SurveyRound, monkeypatch) -> None:
    if not isinstance(app.extensions["database"], SqliteDatabase):
        pytest.skip("SQLite's transaction around the draft's insert; one statement on PostgreSQL (above)")
    link = surveys.create_link(round_, "Workshop", "device")

    def the_disk_is_full(*args, **kwargs):
        raise OperationalError("database or disk is full")

    monkeypatch.setattr(surveys, "put_answers", the_disk_is_full)
    with pytest.raises(OperationalError):
        surveys.save_page(link, None, None, {"relevance": "4"}, {"relevance"}, TODAY)
    assert Response.select().count() == 0


def test_a_link_read_already_is_not_read_again(round_: SurveyRound, monkeypatch) -> None:
    link = surveys.create_link(round_, "Workshop", "device")
    other = surveys.create_link(round_, "Other", "device")
    found = surveys.find_link(link.slug)
    reads = []
    monkeypatch.setattr(surveys, "find_link", lambda slug: reads.append(slug) or surveys._LINK.first(slug))
    assert surveys.open_link(link.slug, TODAY, found) is found and reads == []
    assert surveys.open_link(link.slug, TODAY, surveys.find_link(other.slug)).id == link.id, "another link's is not"
    round_.is_open = False
    round_.save()
    with pytest.raises(Refused) as refused:  # the link read earlier is still checked
        surveys.open_link(link.slug, TODAY, surveys.find_link(link.slug))
    assert refused.value.reason is Refusal.CLOSED


def test_a_link_read_again_unchanged_is_new_objects_as_peewee_makes_them(round_: SurveyRound) -> None:
    link = surveys.create_link(round_, "Workshop", "device")
    first, again = surveys.find_link(link.slug), surveys.find_link(link.slug)
    expected = (
        SurveyLink.select(SurveyLink, SurveyRound, QuestionnaireVersion)
        .join(SurveyRound)
        .join(QuestionnaireVersion)
        .where(SurveyLink.slug == link.slug)
        .get()
    )
    for got in (first, again):
        assert got.__data__ == expected.__data__ and not got.dirty_fields
        assert got.round.__data__ == expected.round.__data__ and not got.round.dirty_fields
        assert got.round.questionnaire.__data__ == expected.round.questionnaire.__data__
        assert isinstance(got.round.opens_on, dt.date)
    assert again is not first and again.round is not first.round
    assert definition(again.round.questionnaire) is definition(first.round.questionnaire)
    first.label = "Changed in one request only"  # not saved: the next request must not see it
    first.round.is_open = False
    assert surveys.find_link(link.slug).label == "Workshop"
    assert surveys.open_link(link.slug, TODAY).round.is_open
    with pytest.raises(TypeError):  # the decoded definition is shared: changing it fails loudly
        again.round.questionnaire.definition["title"] = "Changed in one request only"
    assert (
        definition(surveys.find_link(link.slug).round.questionnaire).title
        == definition(expected.round.questionnaire).title
    )


def test_a_link_is_read_with_its_definitions_stamp_not_its_text(app, round_: SurveyRound) -> None:
    """The stored definition is compressed apart from the row on PostgreSQL, and fills overflow
    pages on SQLite: each link read would read it. A stamp stands for it (the row version's on
    PostgreSQL, one the database sets at every write of it on SQLite); the text is read when that
    is new."""
    database = app.extensions["database"]
    stamp = "xmin" if isinstance(database, PostgresqlDatabase) else '"stamp"'
    link = surveys.create_link(round_, "Workshop", "device")
    surveys.find_link(link.slug)
    sent: list[str] = []
    run = database.execute_sql
    database.execute_sql = lambda sql, *args, **kwargs: sent.append(sql_of(sql)) or run(sql, *args, **kwargs)
    try:
        found = surveys.find_link(link.slug)
        edited = dict(round_.questionnaire.definition, title="Edited in the database")
        QuestionnaireVersion.update(definition=edited).where(
            QuestionnaireVersion.id == round_.questionnaire_id
        ).execute()
        sent.clear()
        again = surveys.find_link(link.slug)
    finally:
        del database.execute_sql
    assert definition(found.round.questionnaire).title != "Edited in the database"
    assert definition(again.round.questionnaire).title == "Edited in the database", "an edit is seen at once"
    [link_read, text_read] = [s for s in sent if not s.startswith("PREPARE ")]
    assert stamp in link_read and stamp not in text_read and '"definition"' in text_read
    if isinstance(database, PostgresqlDatabase):
        assert '"definition"' not in link_read
    else:  # named only as COALESCE's fallback, for a row without a stamp: never read while it has one
        assert link_read.count('"definition"') == 1 and "COALESCE" in link_read


@pytest.mark.parametrize(
    "change",
    ["round closed", "round dates", "link label", "link switched off", "another version", "definition edited"],
)
def test_a_changed_row_is_seen_at_the_next_read(round_: SurveyRound, change: str) -> None:
    link = surveys.create_link(round_, "Workshop", "device")
    for _ in range(2):  # read, then read unchanged: what is kept is in use
        found = surveys.find_link(link.slug)
        assert surveys.open_link(link.slug, TODAY, found) and definition(found.round.questionnaire).id == (
            "practitioner-workshop"
        )
    family = QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "family-experience")
    workshop = QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "practitioner-workshop")
    edited = dict(workshop.definition, title="Workshop feedback, edited in the database")
    {
        "round closed": lambda: SurveyRound.update(is_open=False).execute(),
        "round dates": lambda: SurveyRound.update(opens_on=TODAY + dt.timedelta(days=1)).execute(),
        "link label": lambda: SurveyLink.update(label="Town hall").execute(),
        "link switched off": lambda: SurveyLink.update(is_active=False).execute(),
        "another version": lambda: SurveyRound.update(questionnaire=family).execute(),
        "definition edited": lambda: (
            QuestionnaireVersion.update(definition=edited).where(QuestionnaireVersion.id == workshop.id).execute()
        ),
    }[change]()
    found = surveys.find_link(link.slug)
    questionnaire = definition(found.round.questionnaire)
    expected_refusal = {
        "round closed": Refusal.CLOSED,
        "round dates": Refusal.NOT_OPEN_YET,
        "link switched off": Refusal.CLOSED,
    }.get(change)
    if expected_refusal is not None:
        with pytest.raises(Refused) as refused:
            surveys.open_link(link.slug, TODAY, found)
        assert refused.value.reason is expected_refusal
    else:
        assert surveys.open_link(link.slug, TODAY, found).id == link.id
    assert found.label == ("Town hall" if change == "link label" else "Workshop")
    assert questionnaire.id == ("family-experience" if change == "another version" else "practitioner-workshop")
    assert (questionnaire.title == edited["title"]) is (change == "definition edited")


def test_changing_band_keeps_only_the_new_bands_answers(db: Database) -> None:
    link = surveys.create_link(make_round("child-experience"), "School", "device")
    draft = surveys.save_page(
        link, None, "age-8-11", {"safe-home.age-8-11": "always", "anything-else.age-8-11": "hi"}, (), TODAY
    )
    surveys.change_band(draft, "age-12-17", {"safe-home.age-12-17", "anything-else.age-12-17"})
    assert Response.get_by_id(draft.id).age_band == "age-12-17"
    assert load_answers(draft) == {}


def test_submitting_twice_with_one_key_makes_one_response(round_: SurveyRound) -> None:
    link = surveys.create_link(round_, "Workshop", "device")
    draft = surveys.save_page(link, None, None, {"relevance": "4"}, (), TODAY)
    key = surveys.new_submission_key()
    assert surveys.submit(link, draft.id, key, None, TODAY) is Outcome.SUBMITTED
    assert surveys.submit(link, draft.id, key, None, TODAY) is Outcome.ALREADY
    assert surveys.submitted_with(link, key)
    row = Response.get_by_id(draft.id)
    assert (row.status, row.submission_key, row.week) == ("submitted", key, dt.date(2025, 3, 10))
    assert surveys.submitted_count(link) == 1
    # a submitted response is no longer a draft: it cannot be edited or submitted under a new key
    assert surveys.find_draft(link, draft.id) is None
    assert surveys.submit(link, draft.id, surveys.new_submission_key(), None, TODAY) is Outcome.GONE
    with pytest.raises(ValueError):
        surveys.submit(link, draft.id, "not a key", None, TODAY)


def test_a_code_is_spent_with_the_response_and_only_once(round_: SurveyRound) -> None:
    link = surveys.create_link(round_, "Class", "tokens")
    [code] = surveys.create_codes(link, 1)
    code = surveys.normalise_code(code)
    first = surveys.save_page(link, None, None, {"relevance": "4"}, (), TODAY)
    second = surveys.save_page(link, None, None, {"relevance": "1"}, (), TODAY)
    assert surveys.submit(link, first.id, surveys.new_submission_key(), code, TODAY) is Outcome.SUBMITTED
    assert SurveyToken.get().used_on == TODAY
    assert surveys.submit(link, second.id, surveys.new_submission_key(), code, TODAY) is Outcome.USED_CODE
    assert Response.get_or_none(Response.id == second.id) is None, "the loser's draft is discarded"
    assert surveys.submitted_count(link) == 1
    assert [a.value for a in Answer.select()] == ["4"]


def test_a_code_link_without_a_valid_code_submits_nothing(round_: SurveyRound) -> None:
    link = surveys.create_link(round_, "Class", "tokens")
    surveys.create_codes(link, 1)
    draft = surveys.save_page(link, None, None, {"relevance": "4"}, (), TODAY)
    assert surveys.submit(link, draft.id, surveys.new_submission_key(), "ABCDABCDABCD", TODAY) is Outcome.USED_CODE
    assert surveys.submitted_count(link) == 0 and SurveyToken.get().used_on is None


def test_drafts_belong_to_their_link(round_: SurveyRound) -> None:
    link = surveys.create_link(round_, "Workshop", "device")
    other = surveys.create_link(round_, "Other", "device")
    draft = surveys.save_page(link, None, None, {"relevance": "4"}, (), TODAY)
    assert surveys.find_draft(other, draft.id) is None
    for bad in (str(draft.id), None, True, 1.0, [draft.id]):
        assert surveys.find_draft(link, bad) is None
    assert surveys.submit(other, draft.id, surveys.new_submission_key(), None, TODAY) is Outcome.GONE
    assert surveys.submit(other, str(draft.id), surveys.new_submission_key(), None, TODAY) is Outcome.GONE
    key = surveys.new_submission_key()
    assert surveys.submit(link, str(draft.id), key, None, TODAY) is Outcome.SUBMITTED, "an id as text sends too"
    assert surveys.submit(link, draft.id, key, None, TODAY) is Outcome.ALREADY
    assert Response.get_by_id(draft.id).submission_key == key


def test_a_cleared_answer_leaves_the_draft_but_never_a_sent_response(round_: SurveyRound) -> None:
    """ "Clear my answer" takes the answer out of the draft, so it does not come back; a response
    sent meanwhile (from another tab), or another link's draft, keeps every answer."""
    link = surveys.create_link(round_, "Workshop", "device")
    other = surveys.create_link(round_, "Other", "device")
    draft = surveys.save_page(link, None, None, {"sector": "health", "follow-up-consent": "yes"}, (), TODAY)
    assert not surveys.forget_answers(other, draft.id, ["sector"])
    assert not surveys.forget_answers(link, str(draft.id), ["sector"])
    assert surveys.forget_answers(link, draft.id, ["sector"])
    assert load_answers(draft) == {"follow-up-consent": "yes"}
    assert surveys.submit(link, draft.id, surveys.new_submission_key(), None, TODAY) is Outcome.SUBMITTED
    assert not surveys.forget_answers(link, draft.id, ["follow-up-consent"])
    assert load_answers(draft) == {"follow-up-consent": "yes"}
    assert Response.get_by_id(draft.id).status == "submitted"


def test_a_draft_is_read_with_its_answers_as_the_three_reads_give_them(round_: SurveyRound) -> None:
    link = surveys.create_link(round_, "Workshop", "device")
    other = surveys.create_link(round_, "Other", "device")
    draft = surveys.save_page(link, None, None, {"relevance": "4", "years-with-children": 12}, (), TODAY)
    read = surveys.read_draft(link, draft.id)
    found = surveys.find_draft(link, draft.id)
    assert read.draft.__data__ == found.__data__ and not read.draft.is_dirty() and read.draft.id == draft.id
    assert read.answers == load_answers(draft) == {"relevance": "4", "years-with-children": 12}
    assert not read.sent
    empty = surveys.save_page(link, None, None, {}, (), TODAY)
    assert surveys.read_draft(link, empty.id) == surveys.DraftRead(surveys.find_draft(link, empty.id), {})
    # another link's draft, and ids that are not ids, are nobody's draft
    for bad in (str(draft.id), None, True, 1.0, [draft.id]):
        assert surveys.read_draft(link, bad) == surveys.DraftRead(None, {})
    assert surveys.read_draft(other, draft.id).draft is None
    key = surveys.new_submission_key()
    assert surveys.read_draft(link, draft.id, key) == surveys.DraftRead(read.draft, read.answers)
    assert surveys.submit(link, draft.id, key, None, TODAY) is Outcome.SUBMITTED
    # submitted: no longer a draft; its key is found with or without the draft's id, on its link only
    assert surveys.read_draft(link, draft.id) == surveys.DraftRead(None, {})
    assert surveys.read_draft(link, draft.id, key) == surveys.DraftRead(None, {}, sent=True)
    assert surveys.read_draft(link, None, key).sent and surveys.read_draft(link, empty.id, key).sent
    assert surveys.read_draft(link, empty.id, key).draft.id == empty.id
    assert not surveys.read_draft(other, None, key).sent
    assert not surveys.read_draft(link, None, surveys.new_submission_key()).sent
    assert not surveys.read_draft(link, None, key.upper()).sent, "a malformed key is no key"


def test_a_send_with_nothing_but_the_draft_to_change_is_one_statement(app, round_: SurveyRound) -> None:
    """A device link's practitioner response: no code to spend, no free text to flag, so the
    UPDATE alone, without BEGIN and COMMIT; it still takes a key once and a draft once."""
    database = app.extensions["database"]
    link = surveys.create_link(round_, "Workshop", "device")
    draft = surveys.save_page(link, None, None, {"relevance": "4"}, (), TODAY)
    other = surveys.save_page(link, None, None, {"relevance": "2"}, (), TODAY)
    key = surveys.new_submission_key()
    statements: list[str] = []
    real = database.cursor

    class Counted:
        def __init__(self, cursor):
            self._cursor = cursor

        def execute(self, sql, *args, **kwargs):
            statements.append(sql.split()[0].upper())
            return self._cursor.execute(sql, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(self._cursor, name)

    database.cursor = lambda *a, **k: Counted(real(*a, **k))
    try:
        assert surveys.submit(link, draft.id, key, None, TODAY) is Outcome.SUBMITTED
    finally:
        del database.cursor
    assert statements == ["UPDATE"] and not database.in_transaction()
    assert Response.get_by_id(draft.id).status == "submitted"
    assert surveys.submit(link, draft.id, key, None, TODAY) is Outcome.ALREADY
    assert surveys.submit(link, other.id, key, None, TODAY) is Outcome.ALREADY, "one key, one response"
    assert Response.get_by_id(other.id).status == "draft"
    assert surveys.submit(link, draft.id, surveys.new_submission_key(), None, TODAY) is Outcome.GONE
    assert surveys.submitted_count(link) == 1


def test_stale_drafts_are_purged_and_submitted_responses_kept(round_: SurveyRound) -> None:
    link = surveys.create_link(round_, "Workshop", "device")
    old = surveys.save_page(link, None, None, {"relevance": "4"}, (), TODAY - dt.timedelta(days=30))
    recent = surveys.save_page(link, None, None, {"relevance": "4"}, (), TODAY)
    sent = surveys.save_page(link, None, None, {"relevance": "4"}, (), TODAY - dt.timedelta(days=30))
    surveys.submit(link, sent.id, surveys.new_submission_key(), None, TODAY - dt.timedelta(days=30))
    assert surveys.purge_stale_drafts(TODAY - dt.timedelta(days=14)) == 1
    assert {r.id for r in Response.select()} == {recent.id, sent.id}
    assert old.id not in {a.response_id for a in Answer.select()}


def test_racing_submissions_store_exactly_one(app, round_: SurveyRound) -> None:
    """Eight requests at once: the same draft under eight keys, and eight drafts with one code."""
    database = app.extensions["database"]
    device = surveys.create_link(round_, "Workshop", "device")
    tokens = surveys.create_link(round_, "Class", "tokens")
    code = surveys.normalise_code(surveys.create_codes(tokens, 1)[0])
    shared = surveys.save_page(device, None, None, {"relevance": "4"}, (), TODAY)
    drafts = [surveys.save_page(tokens, None, None, {"relevance": "2"}, (), TODAY) for _ in range(8)]
    outcomes: list[Outcome] = []
    barrier = threading.Barrier(16)

    def send(link: SurveyLink, response_id: int, with_code: str | None) -> None:
        with database.connection_context():  # each thread its own connection, as each request has
            barrier.wait()
            outcomes.append(surveys.submit(link, response_id, surveys.new_submission_key(), with_code, TODAY))

    threads = [threading.Thread(target=send, args=(device, shared.id, None)) for _ in range(8)]
    threads += [threading.Thread(target=send, args=(tokens, d.id, code)) for d in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(Outcome.SUBMITTED) == 2
    assert surveys.submitted_count(device) == 1 and surveys.submitted_count(tokens) == 1
    assert Response.select().where(Response.link == tokens).count() == 1, "the losing drafts are discarded"


def test_week_of_is_the_monday() -> None:
    assert week_of(TODAY) == dt.date(2025, 3, 10)

"""Anonymous survey links, single-use codes, draft responses and submitting exactly once.

A respondent is never identified: a response records its link, its age band and the Monday of
the week it was given, nothing else (no name, email, IP address, device or time). A code is
stored only as a SHA-256 hash and is spent, with the date only, in the same transaction that
marks the response submitted, so a code can never be behind two responses and a double click
can never make two. Pure persistence: no Flask here, so the admin pages, the demo and the
tests use the same functions as the survey pages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from peewee import JOIN, IntegrityError, PostgresqlDatabase

from store.answers import put_answers
from store.concerns import AUDIENCES as FLAGGED_AUDIENCES
from store.concerns import flag_submitted
from store.db import db, writing
from store.models import (
    Answer,
    QuestionnaireVersion,
    Response,
    SurveyLink,
    SurveyRound,
    SurveyToken,
    week_of,
)
from store.prepared import Prepared, PreparedWrite, execute
from store.questionnaires import (
    STAMP,
    VERSION_FIELDS,
    definition_memo,
    remember_definition,
    stored_definition,
    version_stamp,
)

MODES = ("device", "tokens")
# Codes are read off cards and typed by children: no 0/O, 1/I/L or U/V look-alikes.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789"
CODE_LENGTH = 12  # 29**12, about 58 bits: not guessable online, short enough to type
MAX_CODES = 5000
SLUG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CODE = re.compile(r"^[A-Z0-9]{6,40}$")
SUBMISSION_KEY = re.compile(r"^[0-9a-f]{32}$")


class Refusal(StrEnum):
    """Why a link or code cannot be answered; the survey pages say each kindly, in words."""

    UNKNOWN_LINK = "unknown-link"
    CLOSED = "closed"
    NOT_OPEN_YET = "not-open-yet"
    NEEDS_CODE = "needs-code"
    UNKNOWN_CODE = "unknown-code"
    USED_CODE = "used-code"
    ANSWERED_ON_DEVICE = "answered-on-device"


class Refused(Exception):
    """Raised when a link or code cannot be used; `link` is set when the link itself is known."""

    def __init__(self, reason: Refusal, link: SurveyLink | None = None):
        super().__init__(reason.value)
        self.reason = reason
        self.link = link


class Outcome(StrEnum):
    SUBMITTED = "submitted"  # committed now
    ALREADY = "already"  # this submission key was committed before: a double click or a resubmit
    USED_CODE = "used-code"  # another response spent the code first; nothing was stored
    GONE = "gone"  # no draft to submit (the session lost it, or it was submitted under another key)


class _CodeSpent(Exception):
    """Rolls the submission back when the code was spent by someone else in the meantime."""


# --- links -------------------------------------------------------------------------------------


def create_link(round: SurveyRound, label: str, mode: str, agency: Any = None) -> SurveyLink:
    """A new link to a survey round with a random, unguessable slug (one per workshop or agency)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    label = " ".join(str(label).split())
    if not label:
        raise ValueError("a link needs a label saying where it is used")
    for _ in range(5):
        slug = secrets.token_urlsafe(9)
        try:
            with db.atomic():
                return SurveyLink.create(round=round, slug=slug, label=label[:200], mode=mode, agency=agency)
        except IntegrityError:  # a slug already taken: 72 random bits, so practically never
            continue
    raise RuntimeError("could not make a unique link slug")


def _link_query(slug: str) -> Any:
    """The link, its round and its questionnaire version, by slug, with the stamp that stands for
    the version's definition (store.questionnaires.version_stamp): the text is read only when new."""
    query = SurveyLink.select(SurveyLink, SurveyRound, *VERSION_FIELDS, version_stamp())
    return query.join(SurveyRound).join(QuestionnaireVersion).where(SurveyLink.slug == slug)


# every survey page runs these: compiled once (store/prepared.py), not on each request
_LINK = Prepared(_link_query, str)
_DRAFT = Prepared(
    lambda response_id, link_id: Response.select().where(
        (Response.id == response_id) & (Response.link == link_id) & (Response.status == "draft")
    ),
    int,
    int,
)


def _draft_read(response_id: Any, link_id: Any, key: Any = None) -> Any:
    """The draft (this id, this link, still a draft) with its answers, one row per answer (one
    row of NULLs for a draft without any); with a key, also the link's response submitted under
    it, or submitted with this id (the same draft sent from another tab), without its answers:
    what a survey page and a send read, in one round trip."""
    if key is None:
        wanted = (Response.id == response_id) & (Response.status == "draft")
    else:
        wanted = (Response.id == response_id) | ((Response.submission_key == key) & (Response.status == "submitted"))
    return (
        Response.select(Response, Answer.question_id, Answer.value)
        .join(Answer, JOIN.LEFT_OUTER, on=(Answer.response == Response.id) & (Response.status == "draft"))
        .where((Response.link == link_id) & wanted)
        .tuples()
    )


_DRAFT_READ = Prepared(_draft_read, int, int)
_RESPONSE_COLUMNS = tuple(field.name for field in Response._meta.sorted_fields)  # as select(Response) reads
_STATUS = _RESPONSE_COLUMNS.index("status")
_RESPONSE_CONVERT = tuple(field.python_value for field in Response._meta.sorted_fields)
_ANSWER_VALUE = Answer.value.python_value
_DRAFT_OR_SENT = Prepared(_draft_read, int, int, str)
_SUBMITTED_WITH = Prepared(  # every send runs it, before anything else (a double click)
    lambda key, link_id: Response.select(Response.id).where(
        (Response.submission_key == key) & (Response.link == link_id) & (Response.status == "submitted")
    ),
    str,
    int,
)


@dataclass(frozen=True)
class _Seen:
    """A link's row as last read, and what its objects were made of (copies nobody changes)."""

    values: tuple[Any, ...]
    link: dict[str, Any]
    round: dict[str, Any]
    version: dict[str, Any]
    definition: list[Any]  # the memo store.questionnaires.definition fills


MAX_LINKS_SEEN = 1_000
_links_seen: dict[str, _Seen] = {}


def find_link(slug: str) -> SurveyLink | None:
    """The link with its round and questionnaire version (one query), or None.

    The row is read from the database on every call, so a closed round, a link switched off or
    any other change is seen at once. Making peewee objects of it, and decoding the version's
    stored definition, cost more than the query itself on every survey page; so when the row is
    exactly the one last read for this slug in this process, the objects are made again from
    what was kept (new objects each time: a caller may change its own), sharing the decoded
    definition, read-only, and the definition built from it (store.questionnaires.remember_definition).
    """
    if not SLUG.match(slug):
        return None
    row = _LINK.first_row(slug)
    if row is None:
        return None
    seen = _links_seen.get(slug)
    if seen is not None and seen.values == row.values:
        version = _copy(QuestionnaireVersion, seen.version, {})
        survey_round = _copy(SurveyRound, seen.round, {"questionnaire": version})
        link = _copy(SurveyLink, seen.link, {"round": survey_round})
    else:
        link = Prepared.objects(row)
        version = link.round.questionnaire
        link.__dict__.pop(STAMP, None)  # (peewee puts a column of no model's on the first)
        stored = row.values[_column(row.columns, STAMP)]  # the text is read only when it is new
        memo = definition_memo(version.id, stored, lambda: stored_definition(version.id))
        version.__data__["definition"] = memo[0]
        seen = _Seen(row.values, dict(link.__data__), dict(link.round.__data__), dict(version.__data__), memo)
        if len(_links_seen) >= MAX_LINKS_SEEN:
            _links_seen.clear()
        _links_seen[slug] = seen
    remember_definition(version, seen.definition)
    return link


@cache
def _column(columns: tuple[str, ...], name: str) -> int:
    """Where a column is in a row (its name is unique in the link query's columns)."""
    if columns.count(name) != 1:
        raise LookupError(f"{name!r} is not one column of {columns}")
    return columns.index(name)


def _copy(model: type[Any], data: dict[str, Any], related: dict[str, Any]) -> Any:
    """An object as peewee makes it from a row (nothing dirty), with these values and joined objects."""
    made = model(__no_default__=True)
    made.__data__.update(data)
    made.__rel__.update(related)
    return made


def refusal_for(link: SurveyLink, today: dt.date) -> Refusal | None:
    """Why the link cannot take answers today, or None when it can."""
    survey_round = link.round
    if not link.is_active or not survey_round.is_open or today > survey_round.closes_on:
        return Refusal.CLOSED
    if today < survey_round.opens_on:
        return Refusal.NOT_OPEN_YET
    return None


def open_link(slug: str, today: dt.date, found: SurveyLink | None = None) -> SurveyLink:
    """The link if it takes answers today; raises Refused saying why not. `found`: the link this
    request already read by its slug (find_link), not read again."""
    link = found if found is not None and found.slug == slug else find_link(slug)
    if link is None:
        raise Refused(Refusal.UNKNOWN_LINK)
    reason = refusal_for(link, today)
    if reason is not None:
        raise Refused(reason, link)
    return link


# --- single-use codes --------------------------------------------------------------------------


def normalise_code(text: str) -> str | None:
    """A code as typed (any case, spaces or dashes) in its canonical form, or None if malformed.

    Any code of capital letters and digits is accepted, not only this module's own form, so that
    codes made elsewhere (the administration pages draw their own) work here: only the hash decides.
    """
    cleaned = re.sub(r"[\s-]", "", text or "").upper()
    return cleaned if CODE.match(cleaned) else None


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def display_code(code: str) -> str:
    """ABCD-EFGH-JKMN: easier to read out and type than twelve letters in a row."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def create_codes(link: SurveyLink, n: int) -> list[str]:
    """Make `n` single-use codes for a tokens link and return them, once: only hashes are kept."""
    if link.mode != "tokens":
        raise ValueError("codes are only for links in single-use code mode")
    if not 1 <= n <= MAX_CODES:
        raise ValueError(f"make between 1 and {MAX_CODES} codes at a time")
    codes: set[str] = set()
    while len(codes) < n:
        codes.add("".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)))
    with db.atomic():
        rows = [{"link": link.id, "token_hash": code_hash(c)} for c in codes]
        for start in range(0, len(rows), 500):
            SurveyToken.insert_many(rows[start : start + 500]).execute()
    return sorted(display_code(c) for c in codes)


def usable_code(link: SurveyLink, text: str | None) -> str:
    """The canonical code if it belongs to the link and is unused; raises Refused otherwise."""
    code = normalise_code(text or "")
    if code is None:
        raise Refused(Refusal.NEEDS_CODE if not text else Refusal.UNKNOWN_CODE, link)
    token = SurveyToken.get_or_none((SurveyToken.link == link) & (SurveyToken.token_hash == code_hash(code)))
    if token is None:
        raise Refused(Refusal.UNKNOWN_CODE, link)
    if token.used_on is not None:
        raise Refused(Refusal.USED_CODE, link)
    return code


# --- draft responses ---------------------------------------------------------------------------


def find_draft(link: SurveyLink, response_id: Any) -> Response | None:
    """The draft of this link with this id, or None (submitted, another link's, or not a number)."""
    if not isinstance(response_id, int) or isinstance(response_id, bool):
        return None
    return _DRAFT.first(response_id, link.id)


@dataclass(frozen=True)
class DraftRead:
    """A draft with its answers, read together; `sent`: the submission key asked about is on a
    submitted response of the link (a double click, or back and send again), or the draft asked
    about was sent already (from another tab, under another key)."""

    draft: Response | None
    answers: dict[str, Any]
    sent: bool = False


def read_draft(link: SurveyLink, response_id: Any, key: str | None = None) -> DraftRead:
    """find_draft, load_answers and (with a key) submitted_with, in one query instead of three.

    The same rows they read: the draft only while it is a draft of this link, its answers as
    load_answers gives them, a key only on a submitted response of this link. No query at all
    when there is neither a draft id nor a well-formed key to look for.
    """
    if not isinstance(response_id, int) or isinstance(response_id, bool):
        response_id = 0  # no response has id 0: only the key can match
    if not (key and SUBMISSION_KEY.match(key)):
        if response_id == 0:
            return DraftRead(None, {})
        rows = _DRAFT_READ.rows(response_id, link.id)
    else:
        rows = _DRAFT_OR_SENT.rows(response_id, link.id, key)
    width = len(_RESPONSE_COLUMNS)
    decode = _ANSWER_VALUE
    draft = None
    answers: dict[str, Any] = {}
    sent = False
    for row in rows:  # the driver's values: each is converted as peewee would, once
        if row[_STATUS] != "draft":
            sent = True  # the only other rows the query reads: submitted, under the key or as this draft
            continue
        if draft is None:  # the draft's columns, the same on each of its rows
            draft = Response(__no_default__=True)  # as peewee makes one from a row: nothing dirty
            draft.__data__.update(
                (name, value if value is None else convert(value))
                for name, convert, value in zip(_RESPONSE_COLUMNS, _RESPONSE_CONVERT, row, strict=False)
            )
        if row[width] is not None:  # a question id is never NULL: NULL is the draft without answers
            answers[row[width]] = decode(row[width + 1])
    return DraftRead(draft, answers, sent)


def save_page(
    link: SurveyLink,
    draft: Response | None,
    band: str | None,
    answers: Mapping[str, Any],
    replace: Iterable[str],
    today: dt.date,
) -> Response:
    """Store one page's answers in the draft, making the draft first if there is none yet.

    The week is set now so that abandoned drafts can be purged by age; it is set again when the
    response is submitted. One transaction: a page is saved whole or not at all. Anonymous answers
    have no audit trail, so what they replace is not read first (put_answers).

    Most saves are one statement (an upsert into a draft that exists, nothing left blank to
    remove), atomic by itself: it runs without BEGIN and COMMIT, two of a page save's round trips
    to PostgreSQL (on SQLite the statement takes the write lock itself, waiting its turn).
    """
    if draft is not None and not (set(replace) - set(answers)):
        put_answers(draft, answers)
        return draft
    if draft is None:
        return _new_draft(link, band, answers, today)
    with writing():
        put_answers(draft, answers, replace=replace)
    return draft


def _new_draft(link: SurveyLink, band: str | None, answers: Mapping[str, Any], today: dt.date) -> Response:
    """save_page's first page: the draft, with exactly the values Response.create gives it, and
    its answers, saved whole or not at all.

    On PostgreSQL that is one statement (a data-modifying WITH), atomic by itself: one round trip
    instead of five (BEGIN, the response, its answers, COMMIT). On SQLite, a transaction holding
    the write lock from its start (store.db.writing) around the draft's insert and the answers'.
    Either way the SQL is made once per shape (which columns, how many answers), not per save.
    """
    draft = Response(
        questionnaire=link.round.questionnaire_id, link=link, age_band=band, status="draft", week=week_of(today)
    )
    fields = Response._meta.fields
    names = [name for name in draft.__data__ if name != "id"]
    columns = tuple(fields[name].column_name for name in names)
    params = [fields[name].db_value(draft.__data__[name]) for name in names]
    database = db.obj
    if isinstance(database, PostgresqlDatabase):
        encode = Answer.value.db_value
        for question_id, value in answers.items():
            params += (question_id, encode(value))
        draft.id = execute(_new_draft_sql(columns, len(answers)), params).fetchone()[0]
    else:
        with writing():
            draft.id = execute(_draft_insert_sql(columns, database.param), params).lastrowid
            put_answers(draft, answers, fresh=True)
    draft._dirty.clear()  # as saved
    return draft


@cache
def _draft_insert_sql(columns: tuple[str, ...], param: str) -> str:
    """The draft's INSERT, with the driver's place for each value."""
    quoted = ", ".join(f'"{column}"' for column in columns)
    return f'INSERT INTO "{Response._meta.table_name}" ({quoted}) VALUES ({", ".join([param] * len(columns))})'


@cache
def _new_draft_sql(columns: tuple[str, ...], count: int) -> str:
    """The draft's INSERT and its `count` answers' in one PostgreSQL statement; its id comes back."""
    made = _draft_insert_sql(columns, "%s") + ' RETURNING "id"'
    if count == 0:
        return made
    rows = ", ".join(["(%s, %s)"] * count)
    return (
        f'WITH "made" AS ({made}), "given" AS (INSERT INTO "{Answer._meta.table_name}" '
        '("response_id", "question_id", "value") SELECT "made"."id", "page"."question_id", "page"."value" '
        f'FROM "made" CROSS JOIN (VALUES {rows}) AS "page" ("question_id", "value")) SELECT "id" FROM "made"'
    )


def change_band(draft: Response, band: str, keep: Iterable[str]) -> None:
    """Move a draft to another age band, dropping answers to questions the new band is not asked."""
    dropped = Answer.response == draft
    if keep := sorted(set(keep)):
        dropped &= Answer.question_id.not_in(keep)
    with writing():
        Response.update(age_band=band).where(Response.id == draft.id).execute()
        Answer.delete().where(dropped).execute()
    draft.age_band = band


def forget_answers(link: SurveyLink, response_id: Any, keys: Iterable[str]) -> bool:
    """Take answers out of a draft ("Clear my answer"), so they do not come back on its page or
    get sent from another tab; only while it is still this link's draft. Whether it was.

    The draft's row is written first (to itself): that waits for a send running at the same
    moment in another tab, and then finds the draft sent, so a sent response never changes."""
    if not isinstance(response_id, int) or isinstance(response_id, bool):
        return False
    with writing():
        still_draft = (
            Response.update(status=Response.status)
            .where((Response.id == response_id) & (Response.link == link) & (Response.status == "draft"))
            .execute()
        )
        if still_draft:
            put_answers(Response(id=response_id), {}, replace=keys)
    return bool(still_draft)


def discard_draft(link: SurveyLink, response_id: Any) -> None:
    draft = find_draft(link, response_id)
    if draft is not None:
        with writing():
            draft.delete_instance(recursive=True)


def purge_stale_drafts(before: dt.date) -> int:
    """Delete drafts started before the week of `before`: never submitted, so never counted."""
    with db.atomic():
        return (
            Response.delete()
            .where((Response.status == "draft") & Response.link.is_null(False) & (Response.week < week_of(before)))
            .execute()
        )


# --- submitting exactly once -------------------------------------------------------------------


def new_submission_key() -> str:
    return secrets.token_hex(16)


def submitted_with(link: SurveyLink, key: str | None) -> bool:
    """Whether a response of this link was submitted under this key (a double click or resubmit)."""
    if not key or not SUBMISSION_KEY.match(key):
        return False
    return _SUBMITTED_WITH.first(key, link.id) is not None


_MARK_SUBMITTED = PreparedWrite(  # a draft sent: only while it is still this link's draft
    lambda key, week, response_id, link_id: Response.update(status="submitted", week=week, submission_key=key).where(
        (Response.id == response_id) & (Response.link == link_id) & (Response.status == "draft")
    ),
    str,
    dt.date,
    int,
    int,
)


def _mark_submitted(link: SurveyLink, response_id: Any, key: str, today: dt.date) -> int:
    """The UPDATE that sends the draft, only while it is still this link's draft; rows changed.
    A draft's id (every send) runs it compiled once; anything else through peewee, as given."""
    if type(response_id) is int:
        return _MARK_SUBMITTED.run(key, week_of(today), response_id, link.id)
    return (
        Response.update(status="submitted", week=week_of(today), submission_key=key)
        .where((Response.id == response_id) & (Response.link == link) & (Response.status == "draft"))
        .execute()
    )


def submit(link: SurveyLink, response_id: Any, key: str, code: str | None, today: dt.date) -> Outcome:
    """Mark the draft submitted and spend the code, in one transaction, at most once.

    The draft is updated only while it is still a draft, and the code only while it is unused
    (`UPDATE ... WHERE used_on IS NULL`), so of two racing requests one wins and the other
    finds the work done: a double click gives ALREADY, another device with the same code gives
    USED_CODE and stores nothing. The submission key is unique, so one key is one response.
    A send with no code to spend and no free text to flag is that one UPDATE, run on its own.
    """
    if not SUBMISSION_KEY.match(key or ""):
        raise ValueError("a submission key is 32 hexadecimal digits")
    if link.mode != "tokens" and link.round.questionnaire.audience not in FLAGGED_AUDIENCES:
        # no code to spend and no free text to flag: the UPDATE is all of it, atomic by itself,
        # so it runs without BEGIN and COMMIT (two of a send's round trips to PostgreSQL)
        try:
            updated = _mark_submitted(link, response_id, key, today)
        except IntegrityError:  # the key is already on another response
            updated = 0
        if updated == 0:
            return Outcome.ALREADY if submitted_with(link, key) else Outcome.GONE
        return Outcome.SUBMITTED
    try:
        with writing():
            updated = _mark_submitted(link, response_id, key, today)
            if updated == 0:
                return Outcome.ALREADY if submitted_with(link, key) else Outcome.GONE
            if link.mode == "tokens":
                spent = (
                    SurveyToken.update(used_on=today)
                    .where(
                        (SurveyToken.link == link)
                        & (SurveyToken.token_hash == code_hash(code or ""))
                        & SurveyToken.used_on.is_null()
                    )
                    .execute()
                )
                if spent != 1:
                    raise _CodeSpent
            flag_submitted(response_id, link.round.questionnaire)  # in the same transaction: never missed
    except _CodeSpent:
        discard_draft(link, response_id)
        return Outcome.USED_CODE
    except IntegrityError:  # the key is already on another response
        return Outcome.ALREADY if submitted_with(link, key) else Outcome.GONE
    return Outcome.SUBMITTED


def submitted_count(link: SurveyLink) -> int:
    """Responses counted for a link: drafts never are."""
    return Response.select().where((Response.link == link) & (Response.status == "submitted")).count()

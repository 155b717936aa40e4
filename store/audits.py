"""An agency's Section 11 self-audit: its cycle, sections, saves, drafts, carry forward and submission.

Views stay short by asking this module to do the work. Every change runs in one transaction
together with its audit trail entries. A transaction that writes starts with a conditional
UPDATE (and, on SQLite, takes the write lock at once), so two people saving at the same moment
cannot both pass a check that only one of them should pass: the loser sees an edit conflict,
a submitted audit or an already finished submission, never a lost or doubled change.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

from peewee import JOIN, SQL, IntegrityError, NodeList, PostgresqlDatabase, SqliteDatabase, fn

from accounts.access import EDITABLE
from questionnaires.completeness import Gap, asked, gaps
from questionnaires.conditions import is_answered, referenced_questions
from questionnaires.model import Question, Questionnaire, Section
from store.answers import (
    REASON,
    answers_as_stored,
    field_keys,
    load_answers,
    put_encoded,
    save_answers,
    section_keys,
)
from store.db import db, writing
from store.models import (
    Action,
    Agency,
    Answer,
    Audit,
    AuditCycle,
    AuditEvent,
    Draft,
    QuestionnaireVersion,
    Response,
    SectionState,
    User,
    encode_json,
    utcnow,
)
from store.prepared import Prepared, PreparedWrite, execute
from store.questionnaires import (
    STAMP,
    VERSION_FIELDS,
    definition,
    definition_memo,
    remember_definition,
    stored_definition,
    version_stamp,
)
from store.scores import score_audit
from store.trail import SAVE_KIND, record

logger = logging.getLogger(__name__)

# what a page posts that is not an answer (its token, and which button was pressed): never kept
# in a draft
NOT_TYPED = frozenset({"csrf_token", "save", "add-evidence", "remove-evidence", "clear-answer"})
MAX_DRAFT_ITEMS = 3000


class NotEditable(Exception):
    """The audit was submitted (or is otherwise closed) before this change could land."""


class Conflict(Exception):
    """Someone else saved the section after the page being saved was built."""

    def __init__(self, state: SectionState, theirs: dict[str, Any]):
        super().__init__(f"section {state.section_id} was saved by someone else (revision {state.revision})")
        self.state = state
        self.theirs = theirs


class Blocked(Exception):
    """The audit cannot be submitted yet; `problems` says what to fix, standard by standard."""

    def __init__(self, problems: list[Gap]):
        super().__init__(f"{len(problems)} problems block submission")
        self.problems = problems


class StaleProgress(Exception):
    """An action's progress was updated by someone else since the page was built."""

    def __init__(self, actions: list[Action]):
        super().__init__(f"{len(actions)} actions were updated by someone else")
        self.actions = actions


# ---------------------------------------------------------------------------------------------
# Cycles, audits, responses and section states
# ---------------------------------------------------------------------------------------------


def open_cycle() -> AuditCycle | None:
    """The cycle agencies are answering now: the latest one an administrator has open."""
    return (
        AuditCycle.select()
        .where(AuditCycle.is_open == True)  # noqa: E712
        .order_by(AuditCycle.opens_on.desc(), AuditCycle.id.desc())
        .first()
    )


def _definition_as_read() -> list[Any]:
    """What an audit query reads of its version row: every field but the definition, and the
    stamp that stands for it (store.questionnaires.version_stamp)."""
    return [*VERSION_FIELDS, version_stamp()]


# every page of an audit reads these: compiled once (store/prepared.py)
_AUDIT = Prepared(
    lambda audit_id: (
        Audit.select(
            Audit,
            AuditCycle,
            *_definition_as_read(),
        )
        .join(AuditCycle)
        .join(QuestionnaireVersion)
        .where(Audit.id == audit_id)
    ),
    int,
)


# a standard's page reads, with the audit: the standard's state, the audit's response, its
# answers to the keys given (one parameter, one SQL text whatever their number: key_list) as
# one text of pairs (page_pairs), and the signed-in user (accounts.session.load_user_with)
PAGE_ANSWERS = "page_answers"  # the name the answers' column is read under
# after the number of pairs, between a key and its value, and between pairs: JSON text escapes
# all three (as \u001d...), and question ids are letters, digits, dots and hyphens
# (questionnaires/schema.json)
COUNT, PAIR, ITEM = "\x1d", "\x1f", "\x1e"


def _page_answers(keys: str) -> Any:
    """The page's answers as their number, COUNT, then `key PAIR value` items joined by ITEM: the
    server joins text as it is stored, where a JSON object would escape every value again for
    the worker to undo (on PostgreSQL a tenth of the read's CPU, measured with the answers looked
    up by an array of keys; _answers_by_key looks them up one by one now)."""
    answer = Answer.alias("page_answer")
    if isinstance(db.obj, PostgresqlDatabase):
        items = fn.string_agg(answer.question_id.concat(fn.chr(31)).concat(answer.value), fn.chr(30))
        collected = fn.count(SQL("*")).cast("text").concat(fn.chr(29)).concat(items)
        return answer.select(collected).from_(_answers_by_key(keys, "page_answer"))
    listed = answer.question_id.in_(SQL("(SELECT value FROM json_each(?))", [keys]))
    items = fn.group_concat(answer.question_id.concat(fn.char(31)).concat(answer.value), fn.char(30))
    collected = fn.count(SQL("*")).concat(fn.char(29)).concat(items)
    return answer.select(collected).where((answer.response == Response.id) & listed)


def _answers_by_key(keys: str, alias: str) -> Any:
    """On PostgreSQL, the response's answers to the keys (an array), as `alias`, each found by
    its own lookup in the answers' (response, question) index: what a page read costs follows
    the page's keys, not the audit's answers (in a loop, on a table shaped as the benchmark's
    after its survey posts: 143 against 170 us of server CPU a read).

    Planned once for every audit (a prepared statement), the server guesses how many answers a
    response has from the average, a survey response's handful: given `question_id = ANY(keys)`
    beside the response, it reads all of the response's answers and filters them, 120-odd for
    an audit with their dead versions, to keep a page's twenty. The subquery for one key cannot
    be merged into the query (OFFSET), so it stays a lookup by both columns for each key."""
    row = Answer.alias("page_row")
    one = row.select(row.question_id, row.value).where(
        (row.response == Response.id) & (row.question_id == SQL('"page_key"."key"'))
    )
    return NodeList(
        (SQL('unnest(%s::text[]) AS "page_key" ("key") CROSS JOIN LATERAL', [keys]), one.offset(0).alias(alias))
    )


def key_list(keys: Iterable[str]) -> str:
    """Answer keys, sorted, as the page read takes them in its one parameter: an array literal
    on PostgreSQL, a JSON list on SQLite."""
    ordered = sorted(keys)
    if isinstance(db.obj, PostgresqlDatabase):
        return "{" + ",".join('"' + k.replace("\\", "\\\\").replace('"', '\\"') + '"' for k in ordered) + "}"
    return json.dumps(ordered)


def page_pairs(collected: str | None, keys: frozenset[str]) -> dict[str, str] | None:
    """The page's answers (key -> value as stored) from what _page_answers read for `keys`; None
    when that cannot be split into as many pairs as it says it holds, each of those keys once
    (a value not written as JSON text would show as that): the caller reads them again."""
    if not collected:
        return {}
    number, _, joined = collected.partition(COUNT)
    items = joined.split(ITEM)
    if str(len(items)) != number:
        return None
    pairs: dict[str, str] = {}
    for item in items:
        key, between, value = item.partition(PAIR)
        if not between or PAIR in value or key not in keys or key in pairs:
            return None
        pairs[key] = value
    return pairs


_AUDIT_PAGE = Prepared(
    lambda audit_id, section_id, user_id, keys, path: (
        Audit.select(
            Audit,
            AuditCycle,
            *_definition_as_read(),
            SectionState,
            Response,
            User,
            Draft,
            _page_answers(keys).alias(PAGE_ANSWERS),
        )
        .join(AuditCycle)
        .join(QuestionnaireVersion)
        .switch(Audit)
        .join(
            SectionState,
            JOIN.LEFT_OUTER,
            on=(SectionState.audit == Audit.id) & (SectionState.section_id == section_id),
            attr="page_state",
        )
        .switch(Audit)
        .join(Response, JOIN.LEFT_OUTER, on=(Response.audit == Audit.id), attr="page_response")
        .switch(Audit)
        .join(User, JOIN.LEFT_OUTER, on=(User.id == user_id) & (User.active == True), attr="page_user")  # noqa: E712
        .switch(Audit)
        .join(Draft, JOIN.LEFT_OUTER, on=(Draft.user == User.id) & (Draft.path == path), attr="page_draft")
        .where(Audit.id == audit_id)
    ),
    int,
    str,
    int,
    str,
    str,
)
_RESPONSE = Prepared(lambda audit_id: Response.select().where(Response.audit == audit_id), int)
_SECTION_STATE = Prepared(
    lambda audit_id, section_id: SectionState.select().where(
        (SectionState.audit == audit_id) & (SectionState.section_id == section_id)
    ),
    int,
    str,
)
_STATES = Prepared(lambda audit_id: SectionState.select().where(SectionState.audit == audit_id), int)


# a section save's writes: compiled once
_BUMP = PreparedWrite(
    lambda audit_id: Audit.update(revision=Audit.revision + 1).where(
        (Audit.id == audit_id) & (Audit.status.in_(EDITABLE))
    ),
    int,
)
# the same, only while the audit is at the revision a page read (see save_section)
_BUMP_UNCHANGED = PreparedWrite(
    lambda audit_id, revision: Audit.update(revision=Audit.revision + 1).where(
        (Audit.id == audit_id) & (Audit.status.in_(EDITABLE)) & (Audit.revision == revision)
    ),
    int,
    int,
)
_START = PreparedWrite(
    lambda audit_id: Audit.update(status="in-progress").where((Audit.id == audit_id) & (Audit.status == "not-started")),
    int,
)
_SAVE_STATE = PreparedWrite(
    lambda status, now, user_id, state_id, revision: SectionState.update(
        revision=SectionState.revision + 1, status=status, updated_at=now, updated_by=user_id
    ).where((SectionState.id == state_id) & (SectionState.revision == revision)),
    str,
    dt.datetime,
    int,
    int,
    int,
)
_DROP_DRAFT = PreparedWrite(
    lambda user_id, path: Draft.delete().where((Draft.user == user_id) & (Draft.path == path)), int, str
)


def audit_by_id(audit_id: int) -> Audit | None:
    """The audit with its cycle and the cycle's questionnaire version, in one query (every page of
    an audit reads all three: `questionnaire_of` then needs no query of its own).

    The version's definition is not read: its stamp is (store.questionnaires.version_stamp), new
    whenever the definition is written, so an edited row is seen at once; while the stamp is the
    one last read for that version in this process, its decoded form is shared, read-only.
    """
    audit = _AUDIT.first(audit_id)
    if audit is not None:
        _share_definition(audit)
    return audit


@dataclass
class PageRead:
    """What a standard's page reads in its one query (audit_with_section)."""

    audit: Audit  # as audit_by_id gives it
    state: SectionState | None  # None: not made yet, or a standard the questionnaire does not have
    response: Response | None  # None: not made yet
    user: User | None  # the active user with the id asked for, if any
    as_stored: dict[str, str] | None  # the page's answers (page_keys), as stored; None: not read
    draft: Draft | None = None  # the user's draft of the page (at the path asked for), if any
    stamp: Any = None  # what stood for the version's definition when it was read (version_stamp)

    def facts(self) -> AuditFacts | None:
        """What a later save of this audit can go on without reading it again (save_unread):
        None when the audit has no response yet."""
        if self.response is None:
            return None
        version = self.audit.cycle.questionnaire
        stamp = str(self.stamp)  # as text on either database (SQLite's comes back as its number)
        return AuditFacts(self.audit.id, version.id, stamp, self.response.id, questionnaire_of(self.audit))


@dataclass(frozen=True)
class AuditFacts:
    """What a section save needs of an audit without reading it (save_unread): its questionnaire
    version, as it was read (id and stamp), and its response. The save's own statement checks each
    against the rows it writes, so facts that have gone stale save nothing."""

    audit_id: int
    version_id: int
    stamp: str
    response_id: int
    questionnaire: Questionnaire


# (database class, audit id, standard) -> the page's keys as key_list gives them
_asked_keys: dict[tuple[type, int, str], str] = {}


def audit_with_section(audit_id: int, section_id: str, user_id: int = 0, path: str = "") -> PageRead | None:
    """What a standard's page reads, in one query: the audit as `audit_by_id` gives it, the
    standard's state, the audit's response, the page's answers as stored (its own and those its
    conditions name: `page_keys`), the active user `user_id` (0: none) and that user's draft of
    the page at `path`; None when there is no such audit.

    One statement, so all of it is as it was at one moment: `save_section` relies on the
    audit's revision saying how current the state and the answers are. Which answers the page
    needs depends on the audit's definition, known only from the row; the keys asked for are
    those this standard of this audit needed last time (in this process), and `as_stored` is
    None when they were not the ones needed (the first read, or an edited definition), or could
    not be read as written (page_pairs): the caller reads the answers then."""
    place = (type(db.obj), audit_id, section_id)
    asked = _asked_keys.get(place) or key_list(())
    audit = _AUDIT_PAGE.first(audit_id, section_id, user_id, asked, path)
    if audit is None:
        return None
    collected = audit.__dict__.pop(PAGE_ANSWERS, None)
    stamp = _share_definition(audit)
    section = questionnaire_of(audit).section(section_id)
    keys = page_keys(section) if section is not None else NO_KEYS
    needed = keys.listed()
    if needed != asked:
        if len(_asked_keys) >= 10_000:  # audits x standards seen by this process: never let it grow
            _asked_keys.clear()
        _asked_keys[place] = needed
    d = audit.__dict__
    return PageRead(
        audit,
        d.pop("page_state", None),
        d.pop("page_response", None),
        d.pop("page_user", None),
        page_pairs(collected, keys.all) if needed == asked else None,
        d.pop("page_draft", None),
        stamp,
    )


def _share_definition(audit: Audit) -> Any:
    """Give the audit's version row the decoded definition shared by every reader of that text;
    returns the stamp read for it."""
    version = audit.cycle.questionnaire
    stamp = audit.__dict__.pop(STAMP)  # (peewee puts a column of no model's on the first)
    memo = definition_memo(version.id, stamp, lambda: stored_definition(version.id))
    version.__data__["definition"] = memo[0]
    remember_definition(version, memo)  # questionnaire_of then builds nothing, compares nothing
    return stamp


def questionnaire_of(audit: Audit) -> Questionnaire:
    """The questionnaire version the audit's cycle uses (not the newest: answers belong to it)."""
    return definition(audit.cycle.questionnaire)


def audit_for(agency: Agency | int, cycle: AuditCycle, user: User | None) -> Audit:
    """The agency's audit in the cycle, made with its response the first time anyone opens it.

    Two colleagues opening the task list at once both end up with the one audit: the unique
    index on (cycle, agency) refuses the second insert and the second reads the first's row.
    """
    audit = Audit.get_or_none((Audit.cycle == cycle) & (Audit.agency == agency))
    if audit is not None:
        return audit
    try:
        with db.atomic():
            audit = Audit.create(cycle=cycle, agency=agency)
            Response.create(questionnaire=cycle.questionnaire_id, audit=audit)
            record(user, "status", "audit", None, audit.status, audit=audit)
    except IntegrityError:
        audit = Audit.get((Audit.cycle == cycle) & (Audit.agency == agency))
    return audit


def response_of(audit: Audit) -> Response:
    """The audit's set of answers (made if an audit was created without one)."""
    response = _RESPONSE.first(audit.id)
    if response is None:
        try:
            with db.atomic():
                response = Response.create(questionnaire=audit.cycle.questionnaire_id, audit=audit)
        except IntegrityError:
            response = Response.get(Response.audit == audit)
    return response


def section_states(audit: Audit, questionnaire: Questionnaire) -> dict[str, SectionState]:
    """Each standard's state, in the questionnaire's order; missing rows are made on the way."""
    rows = {s.section_id: s for s in _STATES.all(audit.id)}
    missing = [s.id for s in questionnaire.sections if s.id not in rows]
    if missing:
        SectionState.insert_many([{"audit": audit.id, "section_id": m} for m in missing]).on_conflict_ignore().execute()
        rows = {s.section_id: s for s in SectionState.select().where(SectionState.audit == audit)}
    return {s.id: rows[s.id] for s in questionnaire.sections}


def section_state(audit: Audit, questionnaire: Questionnaire, section_id: str) -> SectionState:
    """One standard's state: what `section_states` gives for it, reading the one row (a page of
    one standard needs no other); when it is missing, every missing row is made, as there."""
    state = _SECTION_STATE.first(audit.id, section_id)
    return state if state is not None else section_states(audit, questionnaire)[section_id]


def completed_count(states: Mapping[str, SectionState]) -> int:
    return sum(1 for s in states.values() if s.status == "completed")


def earlier_audits(agency: Agency | int, current: Audit | None) -> list[Audit]:
    """The agency's audits in other cycles, newest cycle first (read-only history)."""
    query = (
        Audit.select(Audit, AuditCycle)
        .join(AuditCycle)
        .where(Audit.agency == agency)
        .order_by(AuditCycle.opens_on.desc(), AuditCycle.id.desc())
    )
    if current is not None:
        query = query.where(Audit.id != current.id)
    return list(query)


# ---------------------------------------------------------------------------------------------
# Answers by section
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageKeys:
    """The stored answer keys a standard's page works with."""

    own: frozenset[str]  # the standard's (section_keys)
    named: frozenset[str]  # other standards' answers its conditions look at

    def listed(self) -> str:
        """Both, as key_list gives them for the database in use: what audit_with_section asks for."""
        kind = type(db.obj)
        found = self._listed.get(kind)
        if found is None:
            found = self._listed[kind] = key_list(self.all)
        return found

    @cached_property
    def all(self) -> frozenset[str]:
        return self.own | self.named

    @cached_property
    def _listed(self) -> dict[type, str]:
        return {}


NO_KEYS = PageKeys(frozenset(), frozenset())  # a standard the questionnaire does not have


_page_keys: dict[int, tuple[Section, PageKeys]] = {}


def page_keys(section: Section) -> PageKeys:
    """The keys a standard's page reads. Kept per section object: definitions are built once per
    stored version and shared (store.questionnaires), and every save of the page asks."""
    kept = _page_keys.get(id(section))
    if kept is not None and kept[0] is section:
        return kept[1]
    own = frozenset(section_keys(section))
    named = {
        ref
        for q in section.questions
        for condition in (q.show_if, q.required_if)
        for ref in referenced_questions(condition)
    }
    keys = PageKeys(own, frozenset(named - own))
    if len(_page_keys) >= 1000:  # the tests' many definitions: never let it grow
        _page_keys.clear()
    _page_keys[id(section)] = (section, keys)
    return keys


def split_answers(answers: Mapping[str, Any], section: Section) -> tuple[dict[str, Any], dict[str, Any]]:
    """(this section's answers, every other answer): the second is the form's `prior`."""
    keys = section_keys(section)
    mine = {k: v for k, v in answers.items() if k in keys}
    others = {k: v for k, v in answers.items() if k not in keys}
    return mine, others


_encode = Answer.value.db_value


def differing(section: Section, theirs: Mapping[str, Any], mine: Mapping[str, Any]) -> list[Question]:
    """The section's questions whose stored answer differs from the other one (dates as text)."""
    out = []
    for question in section.questions:
        if any(_encode(theirs.get(k)) != _encode(mine.get(k)) for k in field_keys(question)):
            out.append(question)
    return out


def merged(stored: Mapping[str, Any], answers: Mapping[str, Any], scope: Iterable[str]) -> dict[str, Any]:
    """The section's answers as they would be after saving `answers` over `scope`."""
    out = dict(stored)
    for key in scope:
        if answers.get(key) is None:
            out.pop(key, None)
        else:
            out[key] = answers[key]
    return out


def decoded(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Stored answers with their dates as dates again (JSON keeps them as text), for summaries."""
    out = dict(answers)
    for key, value in answers.items():
        question = questionnaire.question(key)
        if question is None or value is None:
            continue
        if question.type == "date":
            out[key] = _date(value)
        elif question.type == "evidence" and isinstance(value, list):
            out[key] = [{**item, "date": _date(item.get("date"))} for item in value if isinstance(item, Mapping)]
        elif question.type == "action" and isinstance(value, Mapping):
            out[key] = {**value, "due": _date(value.get("due"))}
    return out


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Saving a section, with edit conflicts
# ---------------------------------------------------------------------------------------------


def save_section(
    audit: Audit,
    section: Section,
    answers: Mapping[str, Any],
    scope: Iterable[str],
    base_revision: int,
    user: User,
    status: str,
    draft_path: str | None = None,
    leftover: list[list[str]] | None = None,
    response: Response | None = None,
    state: SectionState | None = None,
    stored: Mapping[str, str] | None = None,
    no_draft: bool = False,
) -> SectionState:
    """Store a section's answers (removing those in `scope` not given) and set its status.

    `base_revision` is the section's revision when the page was built. If someone saved it since,
    nothing is written and Conflict carries their answers, unless they saved exactly what is being
    saved now. Every changed answer and status goes into the audit trail, in one entry
    (_save_trail). The person's draft of the page (`draft_path`) goes, since what it kept is now
    saved; or, when some of what was typed could not be saved yet (`leftover`: the page's typed
    items), it becomes the new draft, in the same transaction, so that nothing typed is lost.
    `response`: the audit's response, when the caller has already read it (`response_of`).

    `state` and `stored` (the section's answers as stored, JSON text): what the caller read of
    them after reading `audit` (`audit_with_section`, then the answers). Every change to an
    audit's answers or states bumps its revision in the same transaction (a save, carry forward,
    submission), so when the audit is still at the revision read, they are still current and the
    save reads nothing again: its first statement checks that and takes the audit's row. When it
    is not (or they are not given), they are read again inside the transaction.

    `no_draft`: the caller's read found no draft of the person's at `draft_path` (the page read,
    audit_with_section), so there is none to drop, and the save does not look. (One the person's
    other tab or an autosave keeps between that read and this save stays, as one kept just
    after the save would: its revision is the one this save replaces, and the page offers to
    compare it rather than restore it.)
    """
    scope = set(scope)
    response = response if response is not None else response_of(audit)
    if (
        isinstance(db.obj, PostgresqlDatabase)
        and state is not None
        and stored is not None
        and state.revision == base_revision
        and not (draft_path is not None and leftover)
    ):
        saved = _save_in_one_statement(
            audit, section, answers, scope, user, status, None if no_draft else draft_path, response, state, stored
        )
        if saved is not None:
            return saved
    # what the save writes, worked out from what the page read before the write lock is taken
    # (on SQLite every other save waits while this one holds it): used if the audit is still at
    # the revision read, worked out again inside otherwise
    planned = entry = None
    if state is not None and stored is not None:
        planned = _changes(answers, scope, stored)
        entry = _save_trail(section, planned, state.status, status, False)
    with writing():
        current = planned is not None and _BUMP_UNCHANGED.run(audit.id, audit.revision)
        if not current:
            if not _BUMP.run(audit.id):
                raise NotEditable(audit.id)
            state, stored, planned, entry = _SECTION_STATE.first(audit.id, section.id), None, None, None
        if state is None:
            raise SectionState.DoesNotExist(f"no state for section {section.id} of audit {audit.id}")
        if state.revision != base_revision:
            theirs, _ = split_answers(load_answers(response), section)
            if differing(section, theirs, merged(theirs, answers, scope)):
                raise Conflict(state, theirs)
            base_revision = state.revision  # they saved what is being saved now: no conflict
        now = utcnow()
        updated = _SAVE_STATE.run(status, now, user.id, state.id, base_revision)
        if not updated:  # another server process saved between the read and the update
            fresh = SectionState.get_by_id(state.id)
            raise Conflict(fresh, split_answers(load_answers(response), section)[0])
        changes = _save_changes(response, answers, scope, stored, planned)
        # nothing puts an audit back to not started: one read as started needs no statement
        started = audit.status == "not-started" and bool(_START.run(audit.id))
        if entry is None or started:
            entry = _save_trail(section, changes, state.status, status, started)
        _record_encoded(user, audit, entry)
        if draft_path is not None and leftover:
            keep_draft(user, draft_path, leftover, base_revision + 1)
        elif draft_path is not None and not no_draft:
            drop_draft(user, draft_path)
    # the row as _SAVE_STATE left it (what reading it again would give), not read again
    state.revision, state.status, state.updated_at, state.updated_by = base_revision + 1, status, now, user
    return state


def _save_trail(
    section: Section,
    changes: list[tuple[str, tuple[str | None, str | None]]],
    was: str,
    status: str,
    started: bool,
) -> list[tuple[str, str, str | None, str | None]]:
    """A section save's audit-trail entries, encoded as stored, in order: the save's one entry, if
    it changed any answer or the section's status (`was` to `status`), and the audit's start if
    this save started it.

    The save's entry (kind SAVE_KIND, target "section:<id>") holds, before and after, the answers
    it changed ({"answers": {key: value or null}}, in key order) and the status if it changed:
    who, when, before and after of every change, in one row a save. A row an answer made a save
    write a dozen rows, each with its index entries and, on PostgreSQL, its two foreign-key checks;
    store.trail.changes opens the entry out into one change an answer again. Its JSON is
    put together from the values already encoded, as JSONField would write the whole.
    """
    trail = []
    moved = was != status
    if changes or moved:
        before = [("answers", _json_object([(k, b) for k, (b, _) in changes]))]
        after = [("answers", _json_object([(k, a) for k, (_, a) in changes]))]
        if moved:
            before.append(("status", _encode(was)))
            after.append(("status", _encode(status)))
        trail.append((SAVE_KIND, f"section:{section.id}", _json_object(before), _json_object(after)))
    if started:
        trail.append(("status", "audit", _encode("not-started"), _encode("in-progress")))
    return trail


def _json_object(members: list[tuple[str, str | None]]) -> str:
    """A JSON object as JSONField writes it, from its keys and its values already encoded (None: null)."""
    return "{" + ",".join(f"{encode_json(k)}:{'null' if v is None else v}" for k, v in members) + "}"


def _save_in_one_statement(
    audit: Audit,
    section: Section,
    answers: Mapping[str, Any],
    scope: set[str],
    user: User,
    status: str,
    draft_path: str | None,
    response: Response,
    state: SectionState,
    stored: Mapping[str, str],
) -> SectionState | None:
    """save_section on PostgreSQL from a current page read, in one statement (a data-modifying
    WITH), atomic by itself: one round trip where the transaction takes eight.

    Every write in it happens only if its first, the audit's bump at the revision the page read,
    does (and with it the section's at the revision the page was built on): then what the page
    read is current (see save_section), so the changes and the trail worked out from it here are
    the ones the transaction would write. Otherwise nothing is written and None says so: the
    caller saves in a transaction, reading again, as ever. `draft_path` None: no draft to drop.
    """
    changes = _changes(answers, scope, stored)
    started = audit.status == "not-started"  # current, as everything read with the audit
    trail = _save_trail(section, changes, state.status, status, started)
    given = [(key, after) for key, (_, after) in changes if key in answers]
    removed = [key for key, _ in changes if key not in answers]
    now = utcnow()
    at, user_field, audit_field, kind_field, target_field = (f.db_value for f in _TRAIL_FIELDS[:5])
    params: list[Any] = ["in-progress" if started else audit.status, audit.id, sorted(EDITABLE), audit.revision]
    params += [status, SectionState.updated_at.db_value(now), user.id, state.id, state.revision]
    params += [response.id, removed]
    params += [response.id, [key for key, _ in given], [after for _, after in given]]
    params += [at(now), user_field(user.id), audit_field(audit.id)]
    params += [[kind_field(row[0]) for row in trail], [target_field(row[1]) for row in trail]]
    params += [[row[2] for row in trail], [row[3] for row in trail]]
    params += [user.id, draft_path] if draft_path is not None else []
    if execute(_one_statement(draft_path is not None), params).fetchone()[0] != 1:
        return None
    state.revision, state.status, state.updated_at, state.updated_by = state.revision + 1, status, now, user
    return state


@cache
def _one_statement(dropping: bool) -> str:
    """_save_in_one_statement's SQL: one text for each of the two shapes of a save (lists go as
    arrays, whatever their length), so the server keeps each prepared (store.prepared.execute)
    instead of parsing and planning it each time. A save with no draft to drop leaves that part
    out: the server starts no executor for it (measured in a save's flow, about 75 us of the
    server's CPU).

    The answers' DELETE stays in every save, even one that removes none (an empty array). Left out
    too, under gunicorn with eight audits saved at once, the server's CPU a save grew from round
    to round (1.64, 1.94, 2.31 ms; pg_stat_statements: 895 us and 402 shared buffers a call for the
    statement, against about 540 us and 170 with it); with it, it held (1.42, 1.40, 1.37)."""
    parts = [
        'WITH "bumped" AS (UPDATE "audit" SET "revision" = "revision" + 1, "status" = %s'
        ' WHERE "id" = %s AND "status" = ANY(%s::text[]) AND "revision" = %s RETURNING "id"),'
        ' "saved" AS (UPDATE "section_state" SET "revision" = "revision" + 1, "status" = %s, "updated_at" = %s,'
        ' "updated_by_id" = %s WHERE "id" = %s AND "revision" = %s AND EXISTS (SELECT 1 FROM "bumped")'
        ' RETURNING "id"),'
        ' "removed" AS (DELETE FROM "answer" WHERE "response_id" = %s AND "question_id" = ANY(%s::text[])'
        ' AND EXISTS (SELECT 1 FROM "saved")),'
        ' "given" AS (INSERT INTO "answer" ("response_id", "question_id", "value")'
        ' SELECT %s::integer, "g"."key", "g"."value" FROM unnest(%s::text[], %s::text[]) AS "g" ("key", "value")'
        ' WHERE EXISTS (SELECT 1 FROM "saved")'
        ' ON CONFLICT ("response_id", "question_id") DO UPDATE SET "value" = EXCLUDED."value"),'
        ' "trail" AS (INSERT INTO "audit_event" ("at", "user_id", "audit_id", "kind", "target", "before", "after")'
        ' SELECT %s::timestamp, %s::integer, %s::integer, "t"."kind", "t"."target", "t"."before", "t"."after"'
        " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) WITH ORDINALITY"
        ' AS "t" ("kind", "target", "before", "after", "n")'
        ' WHERE EXISTS (SELECT 1 FROM "saved") ORDER BY "t"."n")'  # in order: ids as record_all gives them
    ]
    if dropping:
        parts.append(
            ', "dropped" AS (DELETE FROM "draft" WHERE "user_id" = %s AND "path" = %s AND EXISTS (SELECT 1 FROM "saved"))'
        )
    parts.append(' SELECT count(*) FROM "saved"')
    return "".join(parts)


def save_unread(
    facts: AuditFacts,
    section: Section,
    answers: Mapping[str, Any],
    scope: set[str],
    base_revision: int,
    user: User,
    status: str,
    draft_path: str,
) -> int | None:
    """save_section without reading the page first: what a save of a page posted as it was
    shown does, checking as it writes everything the page read would have told. Returns the
    section's new revision, or None when it wrote nothing: the caller reads the page and saves
    as ever (save_section), which then tells why. On SQLite, _save_unread_locked; on PostgreSQL,
    one statement, below.

    It writes only while, in the statement's one snapshot:
    - `user` is active, an agency's, and the audit is their agency's (accounts.access.can_edit_audit);
    - the audit's status is in EDITABLE and its cycle is open;
    - the cycle's questionnaire version is `facts`' (id and stamp): the form was built from it;
    - the audit's response is `facts`' and the section is at `base_revision`;
    - and the audit is still at the revision that snapshot read (every change to its answers or
      states bumps it), so the answers it read before changing them are the ones it replaces.

    The changes, and the trail's one entry for them, are worked out in the statement from the
    answers as stored, as _changes and _save_trail work them out from the page read's: an answer
    whose stored text is the new one's is unchanged, and one whose text differs holds another
    value, as the store writes every answer as its encoding (so the two paths store the same,
    text for text: tests/store/test_audits.py). A stored text that differs from the new one only
    in its spelling (another writer's spaces, say: JSON values equal as jsonb, or a text jsonb
    cannot hold) saves nothing here: save_section compares such a pair by value, in Python.
    An answer another writer spelt otherwise that a save does change goes into the trail's
    "before" as it was stored, where save_section writes it in the store's spelling: the same
    value either way. Under gunicorn a save spares the page read's round trip and about a fifth
    of the worker's CPU (docs/benchmarks.md).
    """
    if not isinstance(db.obj, PostgresqlDatabase):
        return _save_unread_locked(facts, section, answers, scope, base_revision, user, status, draft_path)
    keys = sorted(scope | answers.keys())
    after = [_encode(answers.get(key)) for key in keys]
    now = utcnow()
    at, user_field, audit_field = (f.db_value for f in _TRAIL_FIELDS[:3])
    params: list[Any] = [user.id, section.id, facts.audit_id, sorted(EDITABLE), facts.version_id, facts.stamp]
    params += [base_revision, facts.response_id, keys, after, facts.response_id]
    params += [status, SectionState.updated_at.db_value(now), user.id, base_revision]
    params += [facts.response_id, facts.response_id]
    params += [status, status, status, _encode(status), at(now), user_field(user.id), audit_field(facts.audit_id)]
    params += [SAVE_KIND, f"section:{section.id}", _encode("not-started"), _encode("in-progress")]
    params += [user.id, draft_path]
    row = execute(_UNREAD_SAVE, params).fetchone()
    return None if row is None else row[0]


def _save_unread_locked(
    facts: AuditFacts,
    section: Section,
    answers: Mapping[str, Any],
    scope: set[str],
    base_revision: int,
    user: User,
    status: str,
    draft_path: str,
) -> int | None:
    """save_unread on SQLite, which has no data-modifying WITH: the same checks in one read taken
    under the write lock (writing()), so all it reads stays current until the commit; then the
    changes worked out in Python and written as save_section writes them."""
    with writing():
        check = [user.id, section.id, facts.audit_id, *EDITABLE, facts.version_id, facts.stamp]
        row = db.obj.execute_sql(_UNREAD_CHECK, [*check, base_revision, facts.response_id]).fetchone()
        if row is None:
            return None
        audit_status, state_id, was = row
        changes = _save_changes(Response(id=facts.response_id), answers, scope)
        _BUMP.run(facts.audit_id)
        started = audit_status == "not-started" and bool(_START.run(facts.audit_id))
        _SAVE_STATE.run(status, utcnow(), user.id, state_id, base_revision)
        _record_encoded(user, Audit(id=facts.audit_id), _save_trail(section, changes, was, status, started))
        drop_draft(user, draft_path)
    return base_revision + 1


# _save_unread_locked's read: the checks of _UNREAD_SAVE's "ctx" (the stamp is version_stamp's on SQLite)
_UNREAD_CHECK = (
    'SELECT "a"."status", "s"."id", "s"."status" FROM "audit" AS "a"'
    ' JOIN "audit_cycle" AS "c" ON "c"."id" = "a"."cycle_id"'
    ' JOIN "questionnaire_version" AS "v" ON "v"."id" = "c"."questionnaire_id"'
    ' JOIN "user" AS "u" ON "u"."id" = ?'
    ' JOIN "section_state" AS "s" ON "s"."audit_id" = "a"."id" AND "s"."section_id" = ?'
    ' JOIN "response" AS "r" ON "r"."audit_id" = "a"."id"'
    f' WHERE "a"."id" = ? AND "a"."status" IN ({", ".join("?" * len(EDITABLE))}) AND "c"."is_open"'
    ' AND "v"."id" = ? AND COALESCE(CAST("v"."stamp" AS TEXT), "v"."definition") = ?'
    ' AND "u"."active" AND "u"."role" = \'agency\' AND "u"."agency_id" = "a"."agency_id"'
    ' AND "s"."revision" = ? AND "r"."id" = ?'
)


# save_unread's SQL: its parameters in the order above. "ctx" is the snapshot's view of the
# audit, taken only if every check passes; each write happens only if the one before it did.
# The stamp is version_stamp's on PostgreSQL. Keys sort as Python sorts them (COLLATE "C").
_UNREAD_SAVE = (
    'WITH "ctx" AS (SELECT "a"."id", "a"."revision", "a"."status", "s"."id" AS "state_id", "s"."status" AS "was"'
    ' FROM "audit" AS "a" JOIN "audit_cycle" AS "c" ON "c"."id" = "a"."cycle_id"'
    ' JOIN "questionnaire_version" AS "v" ON "v"."id" = "c"."questionnaire_id"'
    ' JOIN "user" AS "u" ON "u"."id" = %s::integer'
    ' JOIN "section_state" AS "s" ON "s"."audit_id" = "a"."id" AND "s"."section_id" = %s::text'
    ' JOIN "response" AS "r" ON "r"."audit_id" = "a"."id"'
    ' WHERE "a"."id" = %s::integer AND "a"."status" = ANY(%s::text[]) AND "c"."is_open"'
    ' AND "v"."id" = %s::integer AND CONCAT(CAST("v"."xmin" AS text), \':\', CAST("v"."ctid" AS text)) = %s::text'
    ' AND "u"."active" AND "u"."role" = \'agency\' AND "u"."agency_id" = "a"."agency_id"'
    ' AND "s"."revision" = %s::integer AND "r"."id" = %s::integer),'
    ' "changes" AS (SELECT "g"."key", "b"."value" AS "before", "g"."value" AS "after"'
    ' FROM unnest(%s::text[], %s::text[]) AS "g" ("key", "value")'
    ' LEFT JOIN LATERAL (SELECT "value" FROM "answer" WHERE "response_id" = %s::integer'
    ' AND "question_id" = "g"."key" OFFSET 0) AS "b" ON true'
    ' WHERE "b"."value" IS DISTINCT FROM "g"."value" AND EXISTS (SELECT 1 FROM "ctx")),'
    ' "bumped" AS (UPDATE "audit" AS "a" SET "revision" = "a"."revision" + 1,'
    ' "status" = CASE WHEN "a"."status" = \'not-started\' THEN \'in-progress\' ELSE "a"."status" END'
    ' FROM "ctx" WHERE "a"."id" = "ctx"."id" AND "a"."revision" = "ctx"."revision"'
    " AND NOT EXISTS (SELECT 1 FROM \"changes\" WHERE CASE WHEN strpos(COALESCE(\"before\", '') || COALESCE(\"after\", ''), '\\u0000') > 0"
    ' THEN true ELSE "before"::jsonb = "after"::jsonb END) RETURNING "a"."id"),'
    ' "saved" AS (UPDATE "section_state" AS "s" SET "revision" = "s"."revision" + 1, "status" = %s::text,'
    ' "updated_at" = %s::timestamp, "updated_by_id" = %s::integer FROM "ctx"'
    ' WHERE "s"."id" = "ctx"."state_id" AND "s"."revision" = %s::integer AND EXISTS (SELECT 1 FROM "bumped")'
    ' RETURNING "s"."revision"),'
    ' "removed" AS (DELETE FROM "answer" WHERE "response_id" = %s::integer'
    ' AND "question_id" = ANY(ARRAY(SELECT "key" FROM "changes" WHERE "after" IS NULL))'
    ' AND EXISTS (SELECT 1 FROM "saved")),'
    ' "given" AS (INSERT INTO "answer" ("response_id", "question_id", "value")'
    ' SELECT %s::integer, "key", "after" FROM "changes" WHERE "after" IS NOT NULL AND EXISTS (SELECT 1 FROM "saved")'
    ' ON CONFLICT ("response_id", "question_id") DO UPDATE SET "value" = EXCLUDED."value"),'
    ' "entry" AS (SELECT count(*) AS "changed",'
    ' string_agg(to_json("key")::text || \':\' || COALESCE("before", \'null\'), \',\' ORDER BY "key" COLLATE "C")'
    ' AS "before",'
    ' string_agg(to_json("key")::text || \':\' || COALESCE("after", \'null\'), \',\' ORDER BY "key" COLLATE "C")'
    ' AS "after" FROM "changes"),'
    ' "trail" AS (INSERT INTO "audit_event" ("at", "user_id", "audit_id", "kind", "target", "before", "after")'
    ' SELECT "t"."at", "t"."user_id", "t"."audit_id", "t"."kind", "t"."target", "t"."before", "t"."after" FROM ('
    ' SELECT 1 AS "n", "ctx"."was" <> %s::text OR "entry"."changed" > 0 AS "wanted",'
    " '{\"answers\":{' || COALESCE(\"entry\".\"before\", '') || '}'"
    ' || CASE WHEN "ctx"."was" <> %s::text THEN \',"status":\' || to_json("ctx"."was")::text ELSE \'\' END || \'}\''
    ' AS "before",'
    " '{\"answers\":{' || COALESCE(\"entry\".\"after\", '') || '}'"
    ' || CASE WHEN "ctx"."was" <> %s::text THEN \',"status":\' || %s::text ELSE \'\' END || \'}\' AS "after"'
    ' FROM "ctx", "entry"'
    ' UNION ALL SELECT 2, "ctx"."status" = \'not-started\', NULL, NULL FROM "ctx") AS "e"'
    ' CROSS JOIN LATERAL (SELECT %s::timestamp AS "at", %s::integer AS "user_id", %s::integer AS "audit_id",'
    ' CASE WHEN "e"."n" = 1 THEN %s::text ELSE \'status\' END AS "kind",'
    ' CASE WHEN "e"."n" = 1 THEN %s::text ELSE \'audit\' END AS "target",'
    ' COALESCE("e"."before", %s::text) AS "before", COALESCE("e"."after", %s::text) AS "after") AS "t"'
    ' WHERE "e"."wanted" AND EXISTS (SELECT 1 FROM "saved") ORDER BY "e"."n"),'
    ' "dropped" AS (DELETE FROM "draft" WHERE "user_id" = %s::integer AND "path" = %s::text'
    ' AND EXISTS (SELECT 1 FROM "saved"))'
    ' SELECT "revision" FROM "saved"'
)


def _save_changes(
    response: Response,
    answers: Mapping[str, Any],
    scope: set[str],
    stored: Mapping[str, str] | None = None,
    changes: list[tuple[str, tuple[str | None, str | None]]] | None = None,
) -> list[tuple[str, tuple[str | None, str | None]]]:
    """What `store.answers.save_answers` does, the same changes stored, in compiled statements:
    the answers in scope are read (store.answers.answers_as_stored), and only the changed
    ones written (`put_encoded`: a compiled upsert and a delete). peewee building the read and the
    insert for every save was about a third of a section save's time.

    Returns the changes in key order as (key, (before, after)), both as stored (JSON text, None
    for no answer): what `record_all` would store for them. Each value is encoded once; a stored
    text equal to the new one's is unchanged without being decoded (encoding what decoding stored
    JSON gives yields that JSON again), any other is decoded and encoded again to compare, as
    save_answers compares. `stored`: the answers in scope as stored, when the caller knows them
    to be current (save_section); otherwise they are read. `changes`: what _changes gives for
    them, when the caller worked that out already (save_section, before taking the lock)."""
    keys = sorted(scope | answers.keys())
    if not keys:
        return []
    if changes is None:
        changes = _changes(answers, scope, stored if stored is not None else answers_as_stored(response, keys))
    put_encoded(
        response,
        {key: after for key, (_, after) in changes if key in answers},
        [k for k, _ in changes if k not in answers],
    )
    return changes


def _changes(
    answers: Mapping[str, Any], scope: set[str], stored: Mapping[str, str]
) -> list[tuple[str, tuple[str | None, str | None]]]:
    """_save_changes' changes, from the answers in scope as stored: (key, (before, after)) in key
    order, both as stored."""
    decode = Answer.value.python_value
    changes: list[tuple[str, tuple[str | None, str | None]]] = []
    for key in sorted(scope | answers.keys()):
        after = _encode(answers.get(key))
        raw = stored.get(key)
        if raw == after:
            continue
        before = _encode(decode(raw))
        if before != after:
            changes.append((key, (before, after)))
    return changes


# ---------------------------------------------------------------------------------------------
# The audit trail of a save, in one statement
# ---------------------------------------------------------------------------------------------

TRAIL_ROWS_PER_INSERT = 100
_TRAIL_INSERTS: dict[tuple[type, int], str] = {}  # (database class, rows) -> the insert's SQL
_TRAIL_FIELDS = tuple(
    AuditEvent._meta.fields[name] for name in ("at", "user", "audit", "kind", "target", "before", "after")
)


def _trail_params(row: tuple[Any, ...]) -> list[Any]:
    return [field.db_value(value) for field, value in zip(_TRAIL_FIELDS, row, strict=True)]


def _trail_sql(count: int) -> str:
    """The SQL inserting `count` audit-trail rows, compiled by peewee once per database class and
    row count (a save changes many answers: one `record` per answer was most of a save's time).
    Its parameters are each row's fields in _TRAIL_FIELDS' order: checked here, once."""
    database = db.obj
    found = _TRAIL_INSERTS.get((type(database), count))
    if found is None:
        start = dt.datetime(2000, 1, 1)
        rows = [
            (start + dt.timedelta(seconds=i), 7_000_000 + i, 8_000_000 + i, f"k{i}", f"t{i}", i, 9_000_000 + i)
            for i in range(count)
        ]
        names = [field.name for field in _TRAIL_FIELDS]
        query = AuditEvent.insert_many([dict(zip(names, row, strict=True)) for row in rows])
        found, params = database.get_sql_context().sql(query).query()
        if list(params) != [p for row in rows for p in _trail_params(row)]:
            raise RuntimeError("the audit trail insert's parameters are not in the order record_all gives them")
        _TRAIL_INSERTS[(type(database), count)] = found
    return found


def record_all(user: User | None, audit: Audit, entries: list[tuple[str, str, Any, Any]]) -> None:
    """Add audit-trail entries (kind, target, before, after) for one change, in their order, in as
    few statements as there are hundreds of them: what `store.trail.record` stores for each, all
    at the same moment. Call inside the transaction that makes the change."""
    _record_encoded(user, audit, [(kind, target, _encode(b), _encode(a)) for kind, target, b, a in entries])


def _record_encoded(user: User | None, audit: Audit, entries: list[tuple[str, str, str | None, str | None]]) -> None:
    """record_all for entries whose before and after are already encoded as stored (JSON text)."""
    at, user_field, audit_field, kind_field, target_field = (f.db_value for f in _TRAIL_FIELDS[:5])
    stamp = at(utcnow())
    if isinstance(db.obj, SqliteDatabase) and isinstance(stamp, dt.datetime):
        # the text sqlite3's datetime adapter stores (isoformat with a space), made once for all
        # the rows instead of once a row: formatting it was a tenth of the trail's insert
        stamp = stamp.isoformat(" ")
    head = (stamp, user_field(user.id if user is not None else None), audit_field(audit.id))
    params = [(*head, kind_field(kind), target_field(target), before, after) for kind, target, before, after in entries]
    for start in range(0, len(params), TRAIL_ROWS_PER_INSERT):
        chunk = params[start : start + TRAIL_ROWS_PER_INSERT]
        db.obj.execute_sql(_trail_sql(len(chunk)), [p for row in chunk for p in row])


# ---------------------------------------------------------------------------------------------
# Drafts: what was typed but not saved
# ---------------------------------------------------------------------------------------------


def typed_items(form: Any) -> list[list[str]]:
    """A posted form's items worth keeping (not the CSRF token or which button was pressed)."""
    return [[key, value] for key, value in form.items(multi=True) if key not in NOT_TYPED]


def keep_draft(user: User, path: str, items: list[list[str]], base_revision: int | None) -> Draft:
    """Keep (or replace) the person's draft of a page; one per person and page."""
    if len(items) > MAX_DRAFT_ITEMS:
        raise ValueError(f"a draft holds at most {MAX_DRAFT_ITEMS} inputs")
    now = utcnow()
    with db.atomic():
        (
            Draft.insert(user=user, path=path, form=items, base_revision=base_revision, saved_at=now)
            .on_conflict(
                conflict_target=[Draft.user, Draft.path],
                update={Draft.form: items, Draft.base_revision: base_revision, Draft.saved_at: now},
            )
            .execute()
        )
    return Draft.get((Draft.user == user) & (Draft.path == path))


def draft_of(user: User, path: str) -> Draft | None:
    return Draft.get_or_none((Draft.user == user) & (Draft.path == path))


def drop_draft(user: User, path: str) -> None:
    _DROP_DRAFT.run(user.id, path)


def draft_is_newer(draft: Draft, state: SectionState) -> bool:
    """A draft made on the page as it is now, or typed after the last save, replaces the saved answers.

    An older draft (a colleague saved after it) is not shown in their place, but it is not lost
    either: the page offers to compare it with what was saved.
    """
    if draft.base_revision is not None and draft.base_revision >= state.revision:
        return True
    return draft.saved_at > state.updated_at


# ---------------------------------------------------------------------------------------------
# Carry forward the last cycle's answers
# ---------------------------------------------------------------------------------------------


def previous_audit(audit: Audit) -> Audit | None:
    """The agency's latest submitted audit in an earlier cycle."""
    cycle = audit.cycle
    earlier = (AuditCycle.opens_on < cycle.opens_on) | (
        (AuditCycle.opens_on == cycle.opens_on) & (AuditCycle.id < cycle.id)
    )
    return (
        Audit.select()
        .join(AuditCycle)
        .where((Audit.agency == audit.agency_id) & (Audit.status == "submitted") & earlier)
        .order_by(AuditCycle.opens_on.desc(), AuditCycle.id.desc())
        .first()
    )


def has_answers(audit: Audit) -> bool:
    return Answer.select().where(Answer.response == response_of(audit)).exists()


def can_carry_forward(audit: Audit) -> Audit | None:
    """The audit to start from, when this one is editable, has no answers yet and there is one."""
    if audit.status not in EDITABLE or has_answers(audit):
        return None
    return previous_audit(audit)


def carried_answers(
    previous: Questionnaire, answers: Mapping[str, Any], current: Questionnaire, today: dt.date
) -> dict[str, Any]:
    """The previous answers that the current version asks again, under their current ids.

    A question carries an answer given to the same id, or to the question its `same_as` names in
    the previous version; a choice whose option no longer exists is left for the agency to give.
    An action whose due date is before `today` comes without it: last cycle's date would make it
    overdue on arrival, so the agency gives a new one.
    """
    out: dict[str, Any] = {}
    for question in current.questions:
        sources = [question.id]
        if question.same_as is not None and question.same_as.version == previous.version:
            sources.insert(0, question.same_as.question)
        source = next((s for s in sources if s in answers and is_answered(answers[s])), None)
        if source is None or not _fits(question, answers[source]):
            continue
        out[question.id] = _without_past_due(answers[source], today) if question.type == "action" else answers[source]
        if question.type == "rating" and answers.get(source + REASON):
            out[question.id + REASON] = answers[source + REASON]
    return out


def _without_past_due(action: Any, today: dt.date) -> Any:
    """An action as carried: without its due date when that date is before today."""
    due = action.get("due") if isinstance(action, dict) else None
    if isinstance(due, dt.date):
        due = due.isoformat()
    if isinstance(due, str) and due < today.isoformat():  # ISO text sorts as dates do
        return {**action, "due": None}
    return action


def _fits(question: Question, value: Any) -> bool:
    if not question.is_choice:
        return True
    offered = {o.value for o in question.offered_options}
    values = value if isinstance(value, list) else [value]
    return all(v in offered for v in values)


def carry_forward(audit: Audit, user: User) -> int:
    """Copy the last submitted audit's answers into this one as a draft to check; returns how many.

    Sections that receive answers are in progress (never completed: every one must be looked at
    again). Refused (NotEditable) if the audit is closed or someone has started answering it.
    """
    previous = previous_audit(audit)
    if previous is None:
        raise NotEditable(audit.id)
    current_q = questionnaire_of(audit)
    previous_q = questionnaire_of(previous)
    response = response_of(audit)
    with writing():
        bumped = (
            Audit.update(revision=Audit.revision + 1, status="in-progress")
            .where((Audit.id == audit.id) & (Audit.status.in_(("not-started", "in-progress"))))
            .execute()
        )
        if not bumped or Answer.select().where(Answer.response == response).exists():
            raise NotEditable(audit.id)
        answers = carried_answers(previous_q, load_answers(response_of(previous)), current_q, dt.date.today())
        save_answers(response, answers)
        touched = {current_q.question(k.removesuffix(REASON)).section_id for k in answers}
        if touched:
            (
                SectionState.update(
                    status="in-progress",
                    revision=SectionState.revision + 1,
                    updated_at=utcnow(),
                    updated_by=user,
                )
                .where((SectionState.audit == audit) & (SectionState.section_id.in_(sorted(touched))))
                .execute()
            )
        record(
            user,
            "carry-forward",
            "audit",
            {"status": audit.status},
            {"from_audit": previous.id, "answers": len(answers), "sections": sorted(touched)},
            audit=audit,
        )
    return len(answers)


# ---------------------------------------------------------------------------------------------
# Checking and submitting
# ---------------------------------------------------------------------------------------------


def blockers(questionnaire: Questionnaire, answers: Mapping[str, Any], states: Mapping[str, SectionState]) -> list[Gap]:
    """Everything that stops the audit being submitted, in the order of the standards.

    The questionnaire's own rules come first (an unanswered item, a shortfall without an action);
    a standard with none of those but not yet marked as completed is listed too.
    """
    found = gaps(questionnaire, answers)
    with_gaps = {g.section_id for g in found}
    for section in questionnaire.sections:
        state = states.get(section.id)
        if section.id not in with_gaps and (state is None or state.status != "completed"):
            found.append(Gap(section.id, "", f"Mark ‘{section.title}’ as completed"))
    order = {s.id: i for i, s in enumerate(questionnaire.sections)}
    return sorted(found, key=lambda g: order.get(g.section_id, len(order)))


def submit(audit: Audit, user: User, declaration: str) -> bool:
    """Submit the audit with the declaration the person confirmed; False if it already was.

    In one transaction: the status changes only if it is still editable (so a double click or
    a resubmitted page finds it submitted and changes nothing), the rules are checked again on
    the stored answers (Blocked rolls everything back), and an Action row is made or updated
    for each action given, each change in the trail.
    """
    before = audit.status
    with writing():
        done = (
            Audit.update(
                status="submitted",
                submitted_at=utcnow(),
                submitted_by=user,
                declaration=declaration,
                revision=Audit.revision + 1,
            )
            .where((Audit.id == audit.id) & (Audit.status.in_(EDITABLE)))
            .execute()
        )
        if not done:
            if Audit.get_by_id(audit.id).status == "submitted":
                return False
            raise NotEditable(audit.id)
        questionnaire = questionnaire_of(audit)
        response = response_of(audit)
        answers = load_answers(response)
        problems = blockers(questionnaire, answers, section_states(audit, questionnaire))
        if problems:
            raise Blocked(problems)
        Response.update(status="submitted", scored=False).where(Response.id == response.id).execute()
        record(user, "status", "audit", before, "submitted", audit=audit)
        sync_actions(audit, questionnaire, answers, user)
    _score_after_submission(audit)
    return True


def _score_after_submission(audit: Audit) -> None:
    """Score the submitted audit, so its agency sees the result at once.

    After the submission's own transaction: a scoring failure must never undo a submission.
    The response stays unscored and `store.scores.score_pending` (run before any results are
    read, and by `flask --app app scores update`) tries again.
    """
    try:
        score_audit(audit)
    except Exception:  # logged with its traceback; the submission stands
        logger.exception("scoring audit %s after submission failed; it will be scored when results are read", audit.id)


def action_answers(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The complete actions among the questions asked: question id -> what, owner, due."""
    out = {}
    for question in asked(questionnaire, answers):
        value = answers.get(question.id)
        if question.type != "action" or not isinstance(value, Mapping):
            continue
        due = _date(value.get("due"))
        if is_answered(value.get("what")) and is_answered(value.get("owner")) and due is not None:
            out[question.id] = {"what": value["what"], "owner": value["owner"], "due": due}
    return out


def _action_value(action: Action) -> dict[str, Any]:
    return {"what": action.what, "owner": action.owner, "due": action.due}


def sync_actions(audit: Audit, questionnaire: Questionnaire, answers: Mapping[str, Any], user: User) -> None:
    """Make the Action rows match the submitted actions; progress on an unchanged one is kept."""
    wanted = action_answers(questionnaire, answers)
    existing = {a.question_id: a for a in Action.select().where(Action.audit == audit)}
    now = utcnow()
    for question_id, value in wanted.items():
        action = existing.get(question_id)
        if action is None:
            Action.create(audit=audit, question_id=question_id, updated_at=now, **value)
            record(user, "action", question_id, None, value, audit=audit)
        elif _action_value(action) != value:
            Action.update(updated_at=now, **value).where(Action.id == action.id).execute()
            record(user, "action", question_id, _action_value(action), value, audit=audit)
    for question_id, action in existing.items():
        if question_id not in wanted:
            action.delete_instance()
            record(user, "action", question_id, _action_value(action), None, audit=audit)


# ---------------------------------------------------------------------------------------------
# Action progress after submission
# ---------------------------------------------------------------------------------------------


def actions_of(audit: Audit) -> list[Action]:
    return list(Action.select().where(Action.audit == audit).order_by(Action.due, Action.id))


def is_overdue(action: Action, today: dt.date | None = None) -> bool:
    return action.progress < 100 and action.due < (today or dt.date.today())


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    action_id: int
    progress: int
    note: str | None
    seen: str  # the action's updated_at when the page was built, to detect a colleague's update


def progress_stamp(action: Action) -> str:
    return action.updated_at.isoformat()


def update_progress(audit: Audit, updates: Iterable[ProgressUpdate], user: User) -> int:
    """Record new progress on the audit's actions; returns how many changed.

    All or nothing: if any action was updated by someone else since the page was built,
    StaleProgress names them and nothing is written.
    """
    updates = list(updates)
    changed = 0
    stale: list[Action] = []
    with writing():
        rows = {a.id: a for a in Action.select().where(Action.audit == audit)}
        now = utcnow()
        for update in updates:
            action = rows.get(update.action_id)
            if action is None:
                continue
            before = {"progress": action.progress, "note": action.progress_note}
            after = {"progress": update.progress, "note": update.note}
            if before == after:
                continue
            if progress_stamp(action) != update.seen:
                stale.append(action)
                continue
            written = (
                Action.update(progress=update.progress, progress_note=update.note, updated_at=now)
                .where((Action.id == action.id) & (Action.updated_at == action.updated_at))
                .execute()
            )
            if not written:  # updated by another process between the read and the write
                stale.append(action)
                continue
            record(user, "action-progress", action.question_id, before, after, audit=audit)
            changed += 1
        if stale:
            raise StaleProgress(stale)  # leaving the block rolls back what was written
    return changed

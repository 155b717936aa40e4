"""Concern flags: free text from children and families that matched a word of concern.

A flag is made in the transaction that submits the response (`flag_submitted`, called by
store.surveys.submit), so an answer can never be stored without its flag. Only child and family
surveys are checked; practitioners' comments are not disclosures about themselves. The lead is
emailed afterwards (notify.py), and reads, marks seen and handles flags on the review pages;
every change of a flag's status is in the audit trail. No Flask here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from peewee import JOIN, Case

from questionnaires import Questionnaire
from scoring.concerns import ConcernWords, default_words, flag_answers, free_text_ids
from store.db import db
from store.models import (
    Agency,
    Answer,
    ConcernFlag,
    QuestionnaireVersion,
    Response,
    SurveyLink,
    SurveyRound,
    User,
    utcnow,
    week_began,
)
from store.questionnaires import definition
from store.trail import record

#: The audiences whose free text is checked.
AUDIENCES = frozenset({"child", "family"})
STATUSES = ("new", "seen", "handled")
STATUS_NAMES = {"new": "New", "seen": "Seen", "handled": "Handled"}
MAX_NOTE = 2000

_words: ConcernWords | None = None
# free-text question ids per stored version: versions never change once stored
_free_text: dict[tuple[int, str], frozenset[str]] = {}


def use_words(words: ConcernWords) -> None:
    """The list to match from now on (the app sets CONCERN_WORDS_FILE's list when it starts)."""
    global _words
    _words = words


def words() -> ConcernWords:
    """The list in use: the one set by `use_words`, else the shipped one."""
    return _words if _words is not None else default_words()


def _free_text_ids(version: QuestionnaireVersion) -> frozenset[str]:
    key = (version.id, version.key)
    found = _free_text.get(key)
    if found is None:
        found = _free_text[key] = free_text_ids(definition(version))
    return found


# --- making flags ------------------------------------------------------------------------------


def flag_submitted(response_id: int, version: QuestionnaireVersion) -> int:
    """Flag the response's free-text answers that match; returns how many flags were made.

    Call inside the transaction that submits the response. Costs nothing for a practitioner
    survey and one indexed query for a child or family response without free text.
    """
    if version.audience not in AUDIENCES:
        return 0
    ids = _free_text_ids(version)
    if not ids:
        return 0
    query = Answer.select(Answer.question_id, Answer.value).where(
        (Answer.response == response_id) & Answer.question_id.in_(sorted(ids))
    )
    matcher = words()
    rows = []
    for question_id, value in query.tuples():
        found = matcher.matches(value) if isinstance(value, str) else ()
        if found:
            rows.append({"response": response_id, "question_id": question_id, "words": list(found)})
    if rows:
        week = Response.select(Response.week).where(Response.id == response_id).scalar()
        for row in rows:
            row["created_at"] = week_began(week)
        ConcernFlag.insert_many(rows).on_conflict_ignore().execute()
    return len(rows)


def flag_responses(response_ids: Iterable[int], created_at: dt.datetime | None = None) -> int:
    """Check submitted responses in bulk (the demo; a list changed after answers came in).

    Responses already flagged for a question keep their flag. A flag is dated the week its
    response was given, or the week of `created_at`. Returns the flags made.
    """
    ids = sorted(set(response_ids))
    if not ids:
        return 0
    matcher = words()
    flagged_before = ConcernFlag.select().where(ConcernFlag.response.in_(ids)).count()
    with db.atomic():
        versions = (
            QuestionnaireVersion.select()
            .join(Response)
            .where(Response.id.in_(ids) & QuestionnaireVersion.audience.in_(sorted(AUDIENCES)))
            .distinct()
        )
        for version in versions:
            questions = sorted(_free_text_ids(version))
            if not questions:
                continue
            query = (
                Answer.select(Answer.response.alias("response_id"), Answer.question_id, Answer.value, Response.week)
                .join(Response)
                .where(
                    Response.id.in_(ids)
                    & (Response.questionnaire == version.id)
                    & (Response.status == "submitted")
                    & Answer.question_id.in_(questions)
                )
            )
            answers = pd.DataFrame(list(query.dicts()), columns=["response_id", "question_id", "value", "week"])
            weeks = dict(zip(answers["response_id"], answers["week"], strict=True))
            flagged = flag_answers(answers, definition(version), matcher)
            rows = [
                {
                    "response": int(r.response_id),
                    "question_id": r.question_id,
                    "words": list(r.words),
                    "created_at": week_began(created_at.date() if created_at else weeks[r.response_id]),
                }
                for r in flagged.itertuples()
            ]
            for start in range(0, len(rows), 500):
                ConcernFlag.insert_many(rows[start : start + 500]).on_conflict_ignore().execute()
    return ConcernFlag.select().where(ConcernFlag.response.in_(ids)).count() - flagged_before


# --- reading flags -----------------------------------------------------------------------------


@dataclass
class FlagView:
    """A flag with what the reviewer needs to read it: where it came from and the answer."""

    flag: ConcernFlag
    questionnaire: Questionnaire
    question_text: str
    answer: str | None
    age_band: str | None

    @property
    def response(self) -> Response:
        return self.flag.response

    @property
    def link(self) -> SurveyLink | None:
        return self.flag.response.link


def _query() -> Any:
    return (
        ConcernFlag.select(ConcernFlag, Response, QuestionnaireVersion, SurveyLink, SurveyRound, Agency, User)
        .join(Response)
        .join(QuestionnaireVersion)
        .switch(Response)
        .join(SurveyLink, JOIN.LEFT_OUTER)
        .join(SurveyRound, JOIN.LEFT_OUTER)
        .switch(SurveyLink)
        .join(Agency, JOIN.LEFT_OUTER)
        .switch(ConcernFlag)
        .join(User, JOIN.LEFT_OUTER, on=(ConcernFlag.handled_by == User.id))
    )


def _views(flags: Sequence[ConcernFlag]) -> list[FlagView]:
    """Each flag with its answer text (one query for the lot) and its question from the definition."""
    texts: dict[tuple[int, str], Any] = {}
    if flags:
        query = Answer.select(Answer.response, Answer.question_id, Answer.value).where(
            Answer.response.in_(sorted({f.response_id for f in flags}))
            & Answer.question_id.in_(sorted({f.question_id for f in flags}))
        )
        texts = {(a.response_id, a.question_id): a.value for a in query}
    out = []
    for flag in flags:
        questionnaire = definition(flag.response.questionnaire)
        question = questionnaire.question(flag.question_id)
        band = questionnaire.age_band(flag.response.age_band) if flag.response.age_band else None
        answer = texts.get((flag.response_id, flag.question_id))
        out.append(
            FlagView(
                flag=flag,
                questionnaire=questionnaire,
                question_text=question.text if question is not None else flag.question_id,
                answer=answer if isinstance(answer, str) else None,
                age_band=band.label if band is not None else None,
            )
        )
    return out


def list_flags(page: int = 1, per_page: int = 50) -> tuple[list[FlagView], int]:
    """A page of flags, new ones first, then the newest; and how many flags there are in all."""
    total = ConcernFlag.select().count()
    new_first = Case(None, [(ConcernFlag.status == "new", 0)], 1)
    flags = list(
        _query().order_by(new_first, ConcernFlag.created_at.desc(), ConcernFlag.id.desc()).paginate(page, per_page)
    )
    return _views(flags), total


def get_flag(flag_id: int) -> FlagView | None:
    flag = _query().where(ConcernFlag.id == flag_id).get_or_none()
    return _views([flag])[0] if flag is not None else None


def new_count() -> int:
    return ConcernFlag.select().where(ConcernFlag.status == "new").count()


# --- handling flags ----------------------------------------------------------------------------


def set_status(flag: ConcernFlag, status: str, note: str | None, user: User) -> bool:
    """Mark a flag seen or handled, with a note; recorded in the audit trail.

    Returns False when nothing changes (the same status and note). A flag is never set back to
    new: it has been read. Raises ValueError for a status that is not seen or handled.
    """
    if status not in ("seen", "handled"):
        raise ValueError("a flag can be marked seen or handled")
    note = (note or "").strip()[:MAX_NOTE] or None
    with db.atomic():
        current = ConcernFlag.get_by_id(flag.id)
        before = {"status": current.status, "note": current.note}
        after = {"status": status, "note": note}
        if before == after:
            return False
        now = utcnow()
        ConcernFlag.update(status=status, note=note, handled_by=user, handled_at=now).where(
            ConcernFlag.id == flag.id
        ).execute()
        record(user, "concern-flag", f"concern-flag:{flag.id}", before, after)
    flag.status, flag.note, flag.handled_by, flag.handled_at = status, note, user, now
    return True


# --- emails ------------------------------------------------------------------------------------


def unsent(flag_ids: Iterable[int] | None = None) -> list[ConcernFlag]:
    """Flags the lead has not been emailed about (never tried, or the email failed), oldest first."""
    query = ConcernFlag.select().where(ConcernFlag.notified_at.is_null())
    if flag_ids is not None:
        query = query.where(ConcernFlag.id.in_(sorted(set(flag_ids))))
    return list(query.order_by(ConcernFlag.created_at, ConcernFlag.id))


def unsent_for(response_id: int) -> list[int]:
    """The ids of a response's flags waiting for an email (right after it was submitted)."""
    query = ConcernFlag.select(ConcernFlag.id).where(
        (ConcernFlag.response == response_id) & ConcernFlag.notified_at.is_null()
    )
    return [f.id for f in query.order_by(ConcernFlag.id)]


def mark_notified(flag_ids: Iterable[int], at: dt.datetime | None = None) -> None:
    """The flags were emailed (at `at`, or now): kept to the week, as the flag's own time is."""
    with db.atomic():
        ConcernFlag.update(notified_at=week_began(at.date() if at else None), notify_error=None).where(
            ConcernFlag.id.in_(sorted(set(flag_ids)))
        ).execute()


def mark_failed(flag_ids: Iterable[int], error: str) -> None:
    """Keep why the email failed, for the review page; the flag stays unsent, to be retried."""
    with db.atomic():
        ConcernFlag.update(notify_error=error[:1000]).where(
            ConcernFlag.id.in_(sorted(set(flag_ids))) & ConcernFlag.notified_at.is_null()
        ).execute()

"""Stored scores as DataFrames, the one way dashboards, downloads and `flask export` read results.

Every reader first scores what was submitted since the last read (`store.scores.score_pending`)
and then reads stored score rows, never answers (except the raw-answer downloads, which
read them chunk by chunk). The frames have the columns `scoring/` expects, so the pages and
the files are the same figures through the same suppression.

Periods: audit cycles and survey rounds are labelled by the financial year (April to March,
as partnerships plan and report) in which they open, e.g. "2025-26", so a theme lines up
across sources and sorts in time order.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from peewee import JOIN

from questionnaires.model import Questionnaire
from scoring.surveys import SCORE_COLUMNS
from store.models import (
    Action,
    Agency,
    Answer,
    AnswerScore,
    Audit,
    AuditCycle,
    QuestionnaireVersion,
    Response,
    StandardScore,
    SurveyLink,
    SurveyRound,
    ThemeScore,
)
from store.prepared import Prepared
from store.questionnaires import definition
from store.scores import STANDARD_COLUMNS, score_pending

RESPONSE_COLUMNS = [
    "response_id",
    "source",
    "cycle",
    "agency_id",
    "agency",
    "sector",
    "age_band",
    "questionnaire_id",
    "version_id",
    "collection",
    "collection_id",
]


def period_of(day: dt.date) -> str:
    """The financial year a date falls in, as partnerships report: April 2025 to March 2026 is 2025-26.

    >>> period_of(dt.date(2025, 4, 1)), period_of(dt.date(2026, 3, 31))
    ('2025-26', '2025-26')
    """
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def catch_up() -> int:
    """Score whatever was submitted since results were last read (cheap when nothing was)."""
    return score_pending()


def audit_responses(cycles: Sequence[AuditCycle] = ()) -> pd.DataFrame:
    """One row per submitted (or reopened) audit: its response, agency, sector and period.

    `collection` is the audit cycle's name and `collection_id` its id (names may repeat), so
    one read of several cycles splits by cycle; `source` is "self-rating" (the moderated rows
    of the theme tables carry their own source).
    """
    query = (
        Response.select(
            Response.id,
            AuditCycle.opens_on,
            Agency.id,
            Agency.name,
            Agency.sector,
            QuestionnaireVersion.questionnaire_id,
            QuestionnaireVersion.id,
            AuditCycle.name,
            AuditCycle.id,
        )
        .join(Audit)
        .join(Agency)
        .switch(Audit)
        .join(AuditCycle)
        .join(QuestionnaireVersion)
        .where(Audit.status.in_(("submitted", "reopened")) & Response.scored)
    )
    if cycles:
        query = query.where(Audit.cycle.in_([c.id for c in cycles]))
    rows = [
        (rid, "self-rating", period_of(opens), aid, name, sector, None, qid, vid, cname, cid)
        for rid, opens, aid, name, sector, qid, vid, cname, cid in query.tuples()
    ]
    return pd.DataFrame.from_records(rows, columns=RESPONSE_COLUMNS)


def survey_responses(rounds: Sequence[SurveyRound] = ()) -> pd.DataFrame:
    """One row per submitted, scored survey response: source by audience, link's agency, period,
    age band, and its round's name and id (`collection`, `collection_id`)."""
    query = (
        Response.select(
            Response.id,
            QuestionnaireVersion.audience,
            SurveyRound.opens_on,
            Agency.id,
            Agency.name,
            Agency.sector,
            Response.age_band,
            QuestionnaireVersion.questionnaire_id,
            QuestionnaireVersion.id,
            SurveyRound.name,
            SurveyRound.id,
        )
        .join(SurveyLink)
        .join(SurveyRound)
        .switch(SurveyLink)
        .join(Agency, join_type=JOIN.LEFT_OUTER)
        .switch(Response)
        .join(QuestionnaireVersion)
        .where((Response.status == "submitted") & Response.scored)
    )
    if rounds:
        query = query.where(SurveyLink.round.in_([r.id for r in rounds]))
    rows = [
        (rid, audience, period_of(opens), aid, name, sector, band, qid, vid, rname, round_id)
        for rid, audience, opens, aid, name, sector, band, qid, vid, rname, round_id in query.tuples()
    ]
    return pd.DataFrame.from_records(rows, columns=RESPONSE_COLUMNS)


def theme_units(response_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Stored per-response theme sums (`response_id`, `theme`, `measure`, `source`, `answers`, `positive`, `score_sum`)."""
    query = ThemeScore.select(
        ThemeScore.response,
        ThemeScore.theme,
        ThemeScore.measure,
        ThemeScore.source,
        ThemeScore.answers,
        ThemeScore.positive,
        ThemeScore.score_sum,
    )
    if response_ids is not None:
        query = query.where(ThemeScore.response.in_(list(response_ids)))
    return pd.DataFrame.from_records(
        list(query.tuples()),
        columns=["response_id", "theme", "measure", "source", "answers", "positive", "score_sum"],
    )


STANDARD_FRAME_COLUMNS = ["response_id", "audit_id", *STANDARD_COLUMNS]


def standards_frame(cycle: AuditCycle) -> pd.DataFrame:
    """The stored standards of the cycle's submitted audits, as `scoring.score_audits` gave them."""
    query = (
        StandardScore.select(Response.id, StandardScore.audit, *(getattr(StandardScore, c) for c in STANDARD_COLUMNS))
        .join(Audit)
        .join(Response, on=(Response.audit == Audit.id))
        .where((Audit.cycle == cycle) & Audit.status.in_(("submitted", "reopened")))
    )
    return pd.DataFrame.from_records(list(query.tuples()), columns=STANDARD_FRAME_COLUMNS)


def answer_scores(response_ids: Sequence[int]) -> pd.DataFrame:
    """Stored survey answer scores (as `scoring.score_answers` gives them) of these responses."""
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(response_ids), 900):
        chunk = list(response_ids[start : start + 900])
        rows.extend(
            AnswerScore.select(AnswerScore.response, *(getattr(AnswerScore, c) for c in SCORE_COLUMNS[1:]))
            .where(AnswerScore.response.in_(chunk))
            .tuples()
        )
    return pd.DataFrame.from_records(rows, columns=SCORE_COLUMNS)


def actions_frame(cycle: AuditCycle) -> pd.DataFrame:
    """The cycle's actions with their agency: what, owner, due, progress (for R7 and its page)."""
    query = (
        Action.select(
            Action.id,
            Audit.id,
            Agency.id,
            Agency.name,
            Action.question_id,
            Action.what,
            Action.owner,
            Action.due,
            Action.progress,
            Action.progress_note,
        )
        .join(Audit)
        .join(Agency)
        .where(Audit.cycle == cycle)
    )
    return pd.DataFrame.from_records(
        list(query.tuples()),
        columns=[
            "action_id",
            "audit_id",
            "agency_id",
            "agency",
            "question_id",
            "what",
            "owner",
            "due",
            "progress",
            "note",
        ],
    )


# the raw answers downloads' read, a range of responses at a time: compiled once (store/prepared.py)
_ANSWER_RANGE = Prepared(
    lambda first, last: (
        Answer.select(Answer.response, Answer.question_id, Answer.value)
        .where((Answer.response >= first) & (Answer.response <= last))
        .order_by(Answer.response, Answer.id)
    ),
    int,
    int,
)


def answer_chunks(response_ids: Sequence[int], size: int = 20_000) -> Iterator[pd.DataFrame]:
    """Raw answers of these responses, in response order, a chunk at a time (bounded memory).

    Chunks are cut on response boundaries by id ranges, so a response is never split. The rows
    come as the driver gives them and their values are decoded a column at a time, each
    distinct text once (`decoded_values`): read through peewee's row reader, which converts
    every value of every row on its own, a million answers took four times as long.
    """
    ids = sorted({int(i) for i in response_ids})  # plain ints, as the compiled read takes them (numpy's too)
    step = max(1, size // 40)  # about 40 answers a response: a chunk of `size` answers
    for start in range(0, len(ids), step):
        batch = ids[start : start + step]
        rows = _ANSWER_RANGE.rows(batch[0], batch[-1])
        if batch[-1] - batch[0] + 1 != len(batch):  # other responses' ids lie in the range: not theirs
            wanted = set(batch)
            rows = [row for row in rows if row[0] in wanted]
        # a column at a time: with zip(*rows) the collector ran a full collection every few
        # chunks, a third of the read's time (measured); these lists set off none
        yield pd.DataFrame(
            {
                "response_id": np.array([row[0] for row in rows], dtype=np.int64),
                "question_id": pd.array([row[1] for row in rows], dtype="str"),
                "value": decoded_values([row[2] for row in rows]),
            }
        )


_IMMUTABLE = frozenset({str, int, float, bool, type(None)})  # decoded values no reader can change


def decoded_values(texts: Sequence[str | None]) -> np.ndarray:
    """What JSONField.python_value gives for each stored text (an object array), for a column of many.

    A column of answers repeats a few texts (each choice's value, each set of choices, often
    the same evidence) many times, so each distinct text is decoded once. A string, number,
    true, false or null is then shared by the rows that hold it, since no one can change it; a
    list or an object is copied for each row, all the way down, so that no two rows share a
    value that can be changed.
    """
    codes, distinct = pd.factorize(np.asarray(texts, dtype=object))  # null: code -1
    decoded = [json.loads(text) for text in distinct]
    table = np.empty(len(decoded) + 1, dtype=object)  # and None last, for code -1
    for code, value in enumerate(decoded):  # one by one: numpy would take lists for rows of their own
        table[code] = value
    out = table[codes]
    changeable = np.array([type(v) not in _IMMUTABLE for v in decoded] + [False], dtype=bool)
    for row in np.flatnonzero(changeable[codes]).tolist():
        out[row] = _copied(out[row])
    return out


def _copied(value: Any) -> Any:
    """A decoded JSON value copied as json.loads would make it again: new lists and objects."""
    kind = type(value)
    if kind is list:
        return [item if type(item) in _IMMUTABLE else _copied(item) for item in value]
    if kind is dict:
        return {key: item if type(item) in _IMMUTABLE else _copied(item) for key, item in value.items()}
    return value


def questionnaire_of_version(version_id: int) -> Questionnaire:
    return definition(QuestionnaireVersion.get_by_id(version_id))

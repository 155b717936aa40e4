"""Stored scores: worked out by `scoring/` when answers are submitted or moderated, read by pages.

Pages never re-read answers (DESIGN.md section 4): reading a million answers costs far more than
grouping them. So an audit is scored when it is submitted and again when a reviewer moderates
it; survey responses are scored in batches (`score_pending`) the first time anyone reads
results after they arrive, or by `flask --app app scores update`; `rescore` redoes everything
after a rule or a definition changes. Each batch replaces a response's rows in one
transaction and sets `response.scored`, so a reader sees old scores or new, never half.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from questionnaires.model import Questionnaire
from scoring import audit_theme_scores, score_audits, score_survey, source_of
from scoring.standards import STANDARD_COLUMNS as SCORED_STANDARD_COLUMNS
from scoring.surveys import SCORE_COLUMNS, THEME_SCORE_COLUMNS
from store.db import writing
from store.models import (
    Answer,
    AnswerScore,
    Audit,
    AuditCycle,
    ItemScore,
    Moderation,
    QuestionnaireVersion,
    Response,
    StandardScore,
    ThemeScore,
    User,
    utcnow,
)
from store.questionnaires import definition
from store.trail import record

#: Responses scored in one batch: enough for pandas to pay off, small enough to bound memory.
BATCH = 2000
#: Rows written per INSERT (SQLite allows 32,766 variables a statement; 10 columns a row).
INSERT_CHUNK = 500
SCORED_STATUSES = ("submitted", "reopened")


def answers_frame(response_ids: Sequence[int]) -> pd.DataFrame:
    """The stored answers of these responses as (`response_id`, `question_id`, `value`)."""
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(response_ids), 900):  # stay under SQLite's variable limit
        chunk = list(response_ids[start : start + 900])
        query = Answer.select(Answer.response, Answer.question_id, Answer.value).where(Answer.response.in_(chunk))
        rows.extend(query.tuples())
    return pd.DataFrame.from_records(rows, columns=["response_id", "question_id", "value"])


def moderation_frame(audits: Iterable[Audit]) -> pd.DataFrame:
    """Moderated ratings as `scoring.score_audits` reads them: (`response_id`, `section_id`, `moderated_rating`)."""
    audit_ids = [a.id for a in audits]
    query = (
        Moderation.select(Response.id, Moderation.section_id, Moderation.rating)
        .join(Response, on=(Response.audit == Moderation.audit))
        .where(Moderation.audit.in_(audit_ids) & Moderation.rating.is_null(False))
        .tuples()
    )
    return pd.DataFrame.from_records(list(query), columns=["response_id", "section_id", "moderated_rating"])


def _insert(model: type, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), INSERT_CHUNK):
        model.insert_many(rows[start : start + INSERT_CHUNK]).execute()


def _none(value: Any) -> Any:
    """pandas' missing values (NaN, NA, NaT) as None, and numpy scalars as Python ones, for the database."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    return [{c: _none(v) for c, v in zip(columns, row, strict=True)} for row in frame[list(columns)].itertuples(False)]


# ---------------------------------------------------------------------------------------------
# Audits
# ---------------------------------------------------------------------------------------------


def _as_of(audit: Audit) -> dt.date:
    """Evidence ages are measured to the day the audit was submitted (today if it has not been)."""
    return (audit.submitted_at or utcnow()).date()


def score_audit_batch(audits: Sequence[Audit]) -> int:
    """Score these audits and replace their stored standards, items and theme sums; returns how many.

    Audits are grouped by questionnaire version and submission day, each group scored in one
    call. The scoring reads and computes before the write transaction begins, so SQLite's write
    lock is held for the inserts only, never for pandas. Inside a caller's transaction
    (moderation) the writes join it.
    """
    groups: dict[tuple[int, dt.date], list[Audit]] = {}
    for audit in audits:
        groups.setdefault((audit.cycle.questionnaire_id, _as_of(audit)), []).append(audit)
    worked_out = []
    for (version_id, as_of), members in groups.items():  # read and score first, outside any lock
        questionnaire = definition(QuestionnaireVersion.get_by_id(version_id))
        responses = {r.audit_id: r for r in Response.select().where(Response.audit.in_([a.id for a in members]))}
        by_response = {responses[a.id].id: a for a in members if a.id in responses}
        answers = answers_frame(list(by_response))
        scores = score_audits(questionnaire, answers, as_of, moderation_frame(members), responses=list(by_response))
        worked_out.append((questionnaire, scores, by_response))
    with writing():  # then write in one short transaction that holds SQLite's write lock briefly
        for questionnaire, scores, by_response in worked_out:
            _store_audit_scores(questionnaire, scores, by_response)
    return sum(len(by_response) for _, _, by_response in worked_out)


def _store_audit_scores(questionnaire: Questionnaire, scores: Any, by_response: dict[int, Audit]) -> None:
    audit_ids = [a.id for a in by_response.values()]
    response_ids = list(by_response)
    StandardScore.delete().where(StandardScore.audit.in_(audit_ids)).execute()
    ItemScore.delete().where(ItemScore.audit.in_(audit_ids)).execute()
    ThemeScore.delete().where(ThemeScore.response.in_(response_ids)).execute()
    audit_of = {rid: a.id for rid, a in by_response.items()}

    standards = scores.standards.assign(audit=scores.standards["response_id"].map(audit_of))
    _insert(StandardScore, _records(standards, ["audit", *STANDARD_COLUMNS]))
    items = scores.items.assign(audit=scores.items["response_id"].map(audit_of))
    _insert(ItemScore, _records(items, ["audit", *ITEM_COLUMNS]))
    themes = audit_theme_scores(questionnaire, scores.standards).rename(columns={"response_id": "response"})
    _insert(ThemeScore, _records(themes, THEME_COLUMNS))
    Response.update(scored=True).where(Response.id.in_(response_ids)).execute()


STANDARD_COLUMNS = SCORED_STANDARD_COLUMNS[1:]  # each stored row names its audit instead of the response
ITEM_COLUMNS = ["section_id", "question_id", "answered", "rating", "decided_by", "why", "evidence_count", "applicable"]
THEME_COLUMNS = ["response", *THEME_SCORE_COLUMNS[1:3], "source", *THEME_SCORE_COLUMNS[3:]]
ANSWER_SCORE_COLUMNS = ["response", *SCORE_COLUMNS[1:]]


def score_audit(audit: Audit) -> None:
    """Score one audit (at submission and after moderation)."""
    score_audit_batch([audit])


def standard_scores(audit: Audit) -> list[StandardScore]:
    """The audit's stored standards, in the questionnaire's order."""
    rows = {s.section_id: s for s in StandardScore.select().where(StandardScore.audit == audit)}
    questionnaire = definition(audit.cycle.questionnaire)
    return [rows[s.id] for s in questionnaire.sections if s.id in rows]


def item_scores(audit: Audit) -> dict[str, ItemScore]:
    """The audit's stored items by question id."""
    return {i.question_id: i for i in ItemScore.select().where(ItemScore.audit == audit)}


# ---------------------------------------------------------------------------------------------
# Moderation
# ---------------------------------------------------------------------------------------------


def moderations(audit: Audit) -> dict[str, Moderation]:
    return {m.section_id: m for m in Moderation.select().where(Moderation.audit == audit)}


def moderate(audit: Audit, section_id: str, rating: str | None, note: str | None, user: User) -> bool:
    """Record or change a reviewer's rating and challenge note for one standard; re-score the audit.

    Returns False when nothing changed. The change, the trail entry and the new scores land
    in one transaction, so a report never shows a moderation without its effect (R6).
    """
    rating = rating or None
    note = (note or "").strip() or None
    with writing():
        current = Moderation.get_or_none((Moderation.audit == audit) & (Moderation.section_id == section_id))
        before = {"rating": current.rating, "note": current.note} if current else None
        after = {"rating": rating, "note": note}
        if before == after or (current is None and rating is None and note is None):
            return False
        if current is None:
            Moderation.create(audit=audit, section_id=section_id, rating=rating, note=note, by=user)
        else:
            Moderation.update(rating=rating, note=note, by=user, at=utcnow()).where(
                Moderation.id == current.id
            ).execute()
        record(user, "moderation", section_id, before, after, audit=audit)
        score_audit(audit)
    return True


# ---------------------------------------------------------------------------------------------
# Survey responses
# ---------------------------------------------------------------------------------------------


def _pending_query() -> Any:
    """Submitted responses (surveys, and audits whose scoring failed at submission) without scores."""
    return Response.select(Response.id, Response.audit).where((Response.status == "submitted") & ~Response.scored)


def pending_count() -> int:
    return _pending_query().count()


def score_responses(response_ids: Sequence[int]) -> int:
    """Score these survey responses and replace their stored answer scores and theme sums."""
    by_version: dict[int, list[int]] = {}
    for rid, version in (
        Response.select(Response.id, Response.questionnaire)
        .where(Response.id.in_(list(response_ids)) & Response.audit.is_null())
        .tuples()
    ):
        by_version.setdefault(version, []).append(rid)
    done = 0
    for version_id, ids in by_version.items():
        questionnaire = definition(QuestionnaireVersion.get_by_id(version_id))
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            scores = score_survey(questionnaire, answers_frame(batch))
            source = source_of(questionnaire)
            with writing():
                AnswerScore.delete().where(AnswerScore.response.in_(batch)).execute()
                ThemeScore.delete().where(ThemeScore.response.in_(batch)).execute()
                answers = scores.answers.rename(columns={"response_id": "response"})
                _insert(AnswerScore, _records(answers, ANSWER_SCORE_COLUMNS))
                themes = scores.themes.rename(columns={"response_id": "response"}).assign(source=source)
                _insert(ThemeScore, _records(themes, THEME_COLUMNS))
                Response.update(scored=True).where(Response.id.in_(batch)).execute()
            done += len(batch)
    return done


def score_pending() -> int:
    """Score every submitted survey response that has no stored scores yet; returns how many.

    Called before results are read, so a page is never behind what has been submitted, and by
    `flask --app app scores update` (for a cron job that keeps pages quick).
    """
    pending = list(_pending_query().tuples())
    surveys = [rid for rid, audit in pending if audit is None]
    audits = [audit for _, audit in pending if audit is not None]
    done = score_responses(surveys) if surveys else 0
    if audits:
        done += score_audit_batch(list(Audit.select().where(Audit.id.in_(audits))))
    return done


def rescore(cycles: Iterable[AuditCycle] = (), everything: bool = False) -> tuple[int, int]:
    """Score again from the answers: audits (of `cycles`, or all) and, with `everything`, every response.

    For after a rule, a theme or a scale changes. Returns (audits, survey responses) scored.
    """
    query = Audit.select().where(Audit.status.in_(SCORED_STATUSES))
    cycle_ids = [c.id for c in cycles]
    if cycle_ids:
        query = query.where(Audit.cycle.in_(cycle_ids))
    audits = list(query)
    audits_done = 0
    for start in range(0, len(audits), BATCH):
        audits_done += score_audit_batch(audits[start : start + BATCH])
    responses_done = 0
    if everything:
        ids = [
            rid
            for (rid,) in Response.select(Response.id)
            .where((Response.status == "submitted") & Response.audit.is_null())
            .tuples()
        ]
        responses_done = score_responses(ids)
    return audits_done, responses_done

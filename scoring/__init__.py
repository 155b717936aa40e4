"""Scoring, compliance rules, themes, suppression and downloads: pure functions over DataFrames.

Answers and definitions in, scores out; nothing here imports Flask, WTForms, peewee or the
database, so the package can be tested alone, run as a batch and replaced. It depends on
`questionnaires` only.

The flow, and what a caller stores:

- a submitted S11 audit: `score_audits(questionnaire, answers, as_of, moderation)` gives the
  items, the standards (self, moderated and reported ratings, weighted score, explanation)
  and the problems that block submission; store them, and re-score when a rule or a
  moderation changes;
- a submitted survey response: `score_survey(questionnaire, answers)` gives the answer scores
  and the per-response theme sums; store both;
- pages and charts: `theme_table(units, responses, by=..., policy=SuppressionPolicy())` from
  the stored sums (`audit_theme_scores` for audits), `question_table` for one question's trend
  across versions, `triangulate` for R8, `action_status` for R7;
- downloads: `standards_export`, `theme_export`, `answers_long`, `answers_wide` (`raw_counts`), written by
  `stream(export, "csv" | "json" | "xlsx")` in bounded memory.

Modules: `frames` (definitions and answers as tables), `rules` (R1-R8, each once), `standards`
(audits), `surveys` (survey answers), `themes` (theme and question tables), `suppression`
(small numbers, in one place), `cells` (tables worked on as integer codes), `figures` (how
precisely pages and files show a score or share), `export` (writers) and `downloads` (the
analysts' files).
"""

from scoring.downloads import RawCounts, answers_long, answers_wide, raw_counts, standards_export, theme_export
from scoring.export import Column, Export, neutralise, stream
from scoring.frames import option_frame, question_frame, stable_question_key, typed_answers
from scoring.standards import AuditScores, action_status, evidence_frame, score_audits, triangulate
from scoring.suppression import SUPPRESSED, SuppressionPolicy, mark, releasable_text, suppress
from scoring.surveys import SurveyScores, aggregate, response_theme_scores, score_answers, score_survey
from scoring.themes import audit_theme_scores, question_table, source_of, theme_table, with_source

__all__ = [
    "SUPPRESSED",
    "AuditScores",
    "Column",
    "Export",
    "SuppressionPolicy",
    "SurveyScores",
    "action_status",
    "aggregate",
    "answers_long",
    "answers_wide",
    "raw_counts",
    "RawCounts",
    "audit_theme_scores",
    "evidence_frame",
    "mark",
    "neutralise",
    "option_frame",
    "question_frame",
    "question_table",
    "releasable_text",
    "response_theme_scores",
    "score_answers",
    "score_audits",
    "score_survey",
    "source_of",
    "stable_question_key",
    "standards_export",
    "stream",
    "suppress",
    "theme_export",
    "theme_table",
    "triangulate",
    "typed_answers",
    "with_source",
]

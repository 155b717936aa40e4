"""Stored audit scores put into words and tags for pages: one home for the agency's result page
and the reviewer's moderation pages, so both show a rating the same way.

Colour is never the only signal (WCAG 1.4.1): every tag carries its rating's words, and
tables say which rating a report uses in words too.
"""

from __future__ import annotations

from typing import Any

from questionnaires.model import Option, Questionnaire, Section
from scoring.figures import score_text
from store.models import ItemScore, Moderation, StandardScore

TAG_CLASSES = {"green": "govuk-tag--green", "amber": "govuk-tag--yellow", "red": "govuk-tag--red"}
SOURCE_WORDS = {"self": "The agency's own rating", "moderated": "The reviewer's moderated rating"}


def rating_options(section: Section) -> tuple[Option, ...]:
    """The options of the standard's rating scale (those of its first rating item)."""
    for question in section.questions:
        if question.type == "rating":
            return question.options
    return ()


def rating_tag(section: Section, value: str | None) -> dict[str, Any] | None:
    """A GOV.UK tag for a rating value: its label in words, coloured by the scale's RAG colour."""
    if value is None:
        return None
    option = next((o for o in rating_options(section) if o.value == value), None)
    if option is None:
        return {"text": value, "classes": "govuk-tag--grey"}
    return {"text": option.label, "classes": TAG_CLASSES.get(option.colour or "", "govuk-tag--grey")}


def rating_label(section: Section, value: str | None) -> str:
    option = next((o for o in rating_options(section) if o.value == value), None)
    return option.label if option else (value or "")


def standard_rows(
    questionnaire: Questionnaire, scores: list[StandardScore], moderations: dict[str, Moderation]
) -> list[dict[str, Any]]:
    """One row per scored standard, in the questionnaire's order: self, moderated and reported side by side."""
    rows = []
    for number, section in enumerate(questionnaire.sections, start=1):
        score = next((s for s in scores if s.section_id == section.id), None)
        if score is None:
            continue
        moderation = moderations.get(section.id)
        rows.append(
            {
                "number": number,
                "section": section,
                "score": score,
                "self": rating_tag(section, score.self_rating),
                "moderated": rating_tag(section, score.moderated_rating),
                "reported": rating_tag(section, score.reported_rating),
                "source": SOURCE_WORDS.get(score.rating_source or "", ""),
                "note": moderation.note if moderation else None,
                "score_text": "" if score.score_100 is None else f"{score_text(score.score_100)} out of 100",
            }
        )
    return rows


def sentence_case(text: str) -> str:
    """The text with its first letter a capital, for a table cell: an item's `why` is written to
    follow "because" in the standard's explanation. Only the first letter changes ("Met", "R1" stay).

    >>> sentence_case("no evidence is listed (rule R1: Met needs evidence)")
    'No evidence is listed (rule R1: Met needs evidence)'
    """
    return text[:1].upper() + text[1:]


def item_rows(section: Section, items: dict[str, ItemScore]) -> list[dict[str, Any]]:
    """The standard's rating items: what the agency chose, what counts, and why they differ."""
    rows = []
    for question in section.questions:
        item = items.get(question.id)
        if question.type != "rating" or item is None:
            continue
        rows.append(
            {
                "question": question,
                "answered": rating_label(section, item.answered) or "Not answered",
                "counted": rating_label(section, item.rating) if item.applicable else "Left out (not applicable)",
                "why": sentence_case(item.why or ""),
                "evidence": item.evidence_count,
            }
        )
    return rows

"""What still stops a set of stored answers from being submitted, in words, per section.

Pure: stored answers (question id -> value, dates as ISO text) in, problems out. It applies the
definition as a whole, across pages: a question is asked when its show-if holds for the answers
before it; it must be answered when required or its required-if holds; a rating in a shortfall
under an `action_for_shortfall` rule needs an action with an owner and a due date (R5); not
applicable needs a reason (R3) and is refused on mandatory items.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from questionnaires.conditions import evaluate, is_answered
from questionnaires.model import Question, Questionnaire

REASON_SUFFIX = "__reason"


@dataclass(frozen=True, slots=True)
class Gap:
    section_id: str
    question_id: str
    message: str


def asked(questionnaire: Questionnaire, answers: Mapping[str, Any], band: str | None = None) -> list[Question]:
    """The questions asked, in order, given the answers (a hidden question's answer is ignored)."""
    seen: dict[str, Any] = {}
    out = []
    for section in questionnaire.sections_for(band):
        for question in section.questions_for(band):
            if evaluate(question.show_if, seen):
                out.append(question)
                if question.id in answers:
                    seen[question.id] = answers[question.id]
    return out


def asked_only_because(
    questionnaire: Questionnaire, answers: Mapping[str, Any], taken_back: Collection[str], band: str | None = None
) -> list[Question]:
    """The questions asked given `answers` that are no longer asked once the answers to
    `taken_back` are taken out: those shown only because of them (a follow-up asked after a
    "Yes"). Their answers go with the ones taken back, or they would be kept and sent though the
    person is no longer asked them and never sees them again (the check page lists only what is
    asked)."""
    before = asked(questionnaire, answers, band)
    after = {q.id for q in asked(questionnaire, {k: v for k, v in answers.items() if k not in taken_back}, band)}
    return [q for q in before if q.id not in after]


def _shortfalls(questionnaire: Questionnaire, question: Question) -> set[str]:
    values: set[str] = set()
    for rule_id in question.rules:
        rule = questionnaire.rules.get(rule_id)
        if rule is not None and rule.kind == "action_for_shortfall":
            values.update(rule.params.get("shortfall", ()))
    return values


def _action_complete(value: Any) -> bool:
    return isinstance(value, Mapping) and all(is_answered(value.get(k)) for k in ("what", "owner", "due"))


def gaps(questionnaire: Questionnaire, answers: Mapping[str, Any], band: str | None = None) -> list[Gap]:
    """Every reason the answers cannot be submitted yet, in the order of the questionnaire,
    at most one per question."""
    found: dict[str, Gap] = {}
    for gap in _all_gaps(questionnaire, answers, band):
        found.setdefault(gap.question_id, gap)
    return list(found.values())


def _all_gaps(questionnaire: Questionnaire, answers: Mapping[str, Any], band: str | None) -> list[Gap]:
    out: list[Gap] = []
    seen: dict[str, Any] = {}
    for question in asked(questionnaire, answers, band):
        value = answers.get(question.id)
        if question.id in answers:
            seen[question.id] = value
        required = question.required or (question.required_if is not None and evaluate(question.required_if, seen))
        if required and not is_answered(value):
            out.append(Gap(question.section_id, question.id, f"Answer ‘{question.text}’"))
            continue
        if question.type == "rating" and is_answered(value):
            option = question.option(value)
            if option is not None and option.not_applicable:
                if question.mandatory:
                    out.append(Gap(question.section_id, question.id, f"‘{question.text}’ cannot be not applicable"))
                elif not is_answered(answers.get(question.id + REASON_SUFFIX)):
                    out.append(Gap(question.section_id, question.id, f"Explain why ‘{question.text}’ does not apply"))
            needs_action = value in _shortfalls(questionnaire, question) and question.action
            if needs_action and not _action_complete(answers.get(question.action)):
                message = f"Add an action with an owner and a due date for ‘{question.text}’"
                out.append(Gap(question.section_id, question.action, message))
    return out


def section_gaps(questionnaire: Questionnaire, answers: Mapping[str, Any], section_id: str) -> list[Gap]:
    return [g for g in gaps(questionnaire, answers) if g.section_id == section_id]

"""Answers in words, for check-answers pages and previews (GOV.UK summary list rows)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from markupsafe import Markup, escape

from forms.fields import SEP
from questionnaires.model import Question, Section
from questionnaires.wording import long_date

NOT_PROVIDED = "Not provided"


def answer_text(question: Question, answers: Mapping[str, Any]) -> str | Markup:
    value = answers.get(question.id)
    if value is None:
        return NOT_PROVIDED
    if question.is_choice:
        values = value if isinstance(value, list) else [value]
        labels = [(question.option(v).label if question.option(v) else v) for v in values]
        text = ", ".join(labels)
        reason = answers.get(f"{question.id}{SEP}reason")
        return f"{text}: {reason}" if reason else text
    if isinstance(value, date):
        return long_date(value)
    if question.type == "evidence":
        types = {t.value: t.label for t in question.evidence_types}
        items = [
            escape(item["title"])
            + Markup(" (")
            + escape(types.get(item["type"], item["type"]))
            + (Markup(", ") + escape(long_date(item["date"])) if item.get("date") else Markup(""))
            + Markup(")")
            for item in value
        ]
        return (
            Markup('<ul class="govuk-list">')
            + Markup("").join(Markup("<li>") + i + Markup("</li>") for i in items)
            + Markup("</ul>")
        )
    if question.type == "action":
        # a carried action arrives without a past due date: say so in words, not "due Not provided"
        due = f"due {long_date(value['due'])}" if value.get("due") else "no due date yet"
        return f"{value['what']} (owner: {value['owner']}; {due})"
    if isinstance(value, float):
        return f"{value:g}"
    if question.type == "long_text" and isinstance(value, str) and "\n" in value:
        # the lines as typed: a summary list would run them together into one paragraph
        return Markup("<br>").join(escape(line) for line in value.splitlines())
    return str(value)


def summary_rows(section: Section, answers: Mapping[str, Any], asked: set[str]) -> list[dict[str, Any]]:
    """One GOV.UK summary list row per question that was asked on the page."""
    rows = []
    for question in section.questions:
        if question.id not in asked:
            continue
        value = answer_text(question, answers)
        cell = {"html": value} if isinstance(value, Markup) else {"text": value}
        rows.append({"key": {"text": question.text}, "value": cell})
    return rows

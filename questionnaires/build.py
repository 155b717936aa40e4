"""Turn checked raw JSON into frozen definition objects.

Only called once `schema_check` and `checks` found nothing, so it may trust the shapes.
"""

from __future__ import annotations

from datetime import date
from types import MappingProxyType
from typing import Any

from questionnaires.model import (
    DEFAULT_MAX_EVIDENCE,
    DEFAULT_MAX_LENGTH,
    AgeBand,
    EvidenceType,
    Matches,
    Option,
    Question,
    Questionnaire,
    Rule,
    SameAs,
    Scale,
    Section,
    Support,
)


def _option(raw: dict[str, Any]) -> Option:
    return Option(
        value=raw["value"],
        label=raw["label"],
        score=float(raw["score"]) if "score" in raw else None,
        hint=raw.get("hint"),
        colour=raw.get("colour"),
        positive=bool(raw.get("positive", False)),
        dont_know=bool(raw.get("dont_know", False)),
        not_applicable=bool(raw.get("not_applicable", False)),
        face=raw.get("face"),
    )


def yes_no_options(raw: dict[str, Any]) -> tuple[Option, ...]:
    """Yes and No score 1 for the positive answer and 0 for the other; don't know has no score."""
    positive = raw.get("positive_answer", "yes")
    options = [
        Option("yes", "Yes", score=1.0 if positive == "yes" else 0.0, positive=positive == "yes"),
        Option("no", "No", score=1.0 if positive == "no" else 0.0, positive=positive == "no"),
    ]
    if raw.get("dont_know"):
        options.append(Option("dont-know", "I don't know", dont_know=True))
    return tuple(options)


def _question(raw: dict[str, Any], section_id: str, position: int, scales: dict[str, Scale]) -> Question:
    kind = raw["type"]
    if kind == "yes_no":
        options = yes_no_options(raw)
    elif "scale" in raw:
        options = scales[raw["scale"]].options
    else:
        options = tuple(_option(o) for o in raw.get("options", []))
    same_as = raw.get("same_as")
    matches = raw.get("matches")
    return Question(
        id=raw["id"],
        type=kind,
        text=raw["text"],
        themes=tuple(raw.get("themes", [])),
        measure=raw.get("measure"),
        section_id=section_id,
        position=position,
        hint=raw.get("hint"),
        required=bool(raw.get("required", False)),
        show_if=_freeze(raw.get("show_if")),
        required_if=_freeze(raw.get("required_if")),
        rules=tuple(raw.get("rules", [])),
        same_as=SameAs(same_as["version"], same_as["question"]) if same_as else None,
        age_bands=tuple(raw.get("age_bands", [])),
        weight=float(raw.get("weight", 1)),
        matches=Matches(matches["questionnaire"], matches["section"]) if matches else None,
        options=options,
        scale=raw.get("scale"),
        min_selected=raw.get("min_selected"),
        max_selected=raw.get("max_selected"),
        mandatory=bool(raw.get("mandatory", False)),
        evidence=raw.get("evidence"),
        action=raw.get("action"),
        dont_know=bool(raw.get("dont_know", False)),
        positive_answer=raw.get("positive_answer", "yes"),
        max_length=raw.get("max_length", DEFAULT_MAX_LENGTH.get(kind)),
        min=raw.get("min"),
        max=raw.get("max"),
        integer=bool(raw.get("integer", False)),
        suffix=raw.get("suffix"),
        not_before=date.fromisoformat(raw["not_before"]) if "not_before" in raw else None,
        not_after=date.fromisoformat(raw["not_after"]) if "not_after" in raw else None,
        evidence_types=tuple(EvidenceType(t["value"], t["label"]) for t in raw.get("evidence_types", [])),
        prompts=tuple(raw.get("prompts", [])),
        max_items=raw.get("max_items", DEFAULT_MAX_EVIDENCE),
        scored=raw.get("scored", True) is not False,
    )


def _freeze(value: Any) -> Any:
    """Read-only copies of condition JSON, so that no caller can change a shared definition."""
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def build(data: dict[str, Any], source: str) -> Questionnaire:
    scales = {
        name: Scale(name, raw["label"], tuple(_option(o) for o in raw["options"]))
        for name, raw in data["scales"].items()
    }
    rules = {
        name: Rule(
            id=name,
            kind=raw["kind"],
            params=_freeze({k: v for k, v in raw.items() if k not in ("kind", "description")}),
            description=raw.get("description"),
        )
        for name, raw in data.get("rules", {}).items()
    }
    sections: list[Section] = []
    questions: dict[str, Question] = {}
    position = 0
    for s_index, raw_section in enumerate(data["sections"]):
        section_questions = []
        for raw_question in raw_section["questions"]:
            question = _question(raw_question, raw_section["id"], position, scales)
            position += 1
            section_questions.append(question)
            questions[question.id] = question
        sections.append(
            Section(
                id=raw_section["id"],
                title=raw_section["title"],
                questions=tuple(section_questions),
                position=s_index,
                description=raw_section.get("description"),
                age_bands=tuple(raw_section.get("age_bands", [])),
                rules=tuple(raw_section.get("rules", [])),
            )
        )
    support = data.get("support")
    return Questionnaire(
        id=data["id"],
        version=data["version"],
        title=data["title"],
        audience=data["audience"],
        anonymous=data["anonymous"],
        sections=tuple(sections),
        scales=MappingProxyType(scales),
        rules=MappingProxyType(rules),
        description=data.get("description"),
        age_bands=tuple(AgeBand(**b) for b in data.get("age_bands", [])),
        support=Support(support["heading"], support["text"]) if support else None,
        declaration=data.get("declaration"),
        questionnaire_rules=tuple(data.get("questionnaire_rules", [])),
        source=source,
        _questions=MappingProxyType(questions),
    )

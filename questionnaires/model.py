"""Frozen definition objects: what a checked questionnaire file becomes.

Everything downstream (forms, scoring, persistence) reads these objects, never the raw JSON,
so a definition that reached them has passed every check in `loader` and `checks`. They are
frozen so that no request can change a definition another request is using.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any, Literal

Audience = Literal["agency", "practitioner", "child", "family"]
Measure = Literal["quantity", "quality", "outcome"]
QuestionType = Literal[
    "single_choice",
    "multiple_choice",
    "rating",
    "yes_no",
    "short_text",
    "long_text",
    "number",
    "date",
    "evidence",
    "action",
]

CHOICE_TYPES: frozenset[str] = frozenset({"single_choice", "multiple_choice", "rating", "yes_no"})
DEFAULT_MAX_LENGTH: Mapping[str, int] = MappingProxyType({"short_text": 200, "long_text": 5000})
DEFAULT_MAX_EVIDENCE = 20


@dataclass(frozen=True, slots=True)
class Theme:
    id: str
    label: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str
    score: float | None = None
    hint: str | None = None
    colour: Literal["red", "amber", "green"] | None = None
    positive: bool = False
    dont_know: bool = False
    not_applicable: bool = False
    face: Literal["happy", "ok", "sad"] | None = None

    @property
    def in_base(self) -> bool:
        """Whether the option counts in the base of shares and means (don't know and N/A do not)."""
        return not (self.dont_know or self.not_applicable)


@dataclass(frozen=True, slots=True)
class Scale:
    id: str
    label: str
    options: tuple[Option, ...]

    def option(self, value: str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)


@dataclass(frozen=True, slots=True)
class AgeBand:
    id: str
    label: str
    min_age: int
    max_age: int
    assisted: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    """A scoring rule as the definition declares it; `scoring/` implements each kind once."""

    id: str
    kind: str
    params: Mapping[str, Any]
    description: str | None = None


@dataclass(frozen=True, slots=True)
class EvidenceType:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class SameAs:
    version: int
    question: str


@dataclass(frozen=True, slots=True)
class Matches:
    questionnaire: str
    section: str


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    type: QuestionType
    text: str
    themes: tuple[str, ...]
    measure: Measure | None
    section_id: str
    position: int
    hint: str | None = None
    required: bool = False
    show_if: Mapping[str, Any] | None = None
    required_if: Mapping[str, Any] | None = None
    rules: tuple[str, ...] = ()
    same_as: SameAs | None = None
    age_bands: tuple[str, ...] = ()
    weight: float = 1.0
    matches: Matches | None = None
    options: tuple[Option, ...] = ()
    scale: str | None = None
    min_selected: int | None = None
    max_selected: int | None = None
    mandatory: bool = False
    evidence: str | None = None
    action: str | None = None
    dont_know: bool = False
    positive_answer: Literal["yes", "no"] = "yes"
    max_length: int | None = None
    min: float | None = None
    max: float | None = None
    integer: bool = False
    suffix: str | None = None
    not_before: date | None = None
    not_after: date | None = None
    evidence_types: tuple[EvidenceType, ...] = ()
    prompts: tuple[str, ...] = ()
    max_items: int = DEFAULT_MAX_EVIDENCE
    scored: bool = True

    @property
    def is_choice(self) -> bool:
        return self.type in CHOICE_TYPES

    def option(self, value: str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)

    @property
    def not_applicable_option(self) -> Option | None:
        return next((o for o in self.options if o.not_applicable), None)

    @property
    def offered_options(self) -> tuple[Option, ...]:
        """The options a respondent may choose: a mandatory item never offers not applicable (R3)."""
        if self.mandatory:
            return tuple(o for o in self.options if not o.not_applicable)
        return self.options

    def for_band(self, band: str | None) -> bool:
        return band is None or not self.age_bands or band in self.age_bands


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str
    questions: tuple[Question, ...]
    position: int
    description: str | None = None
    age_bands: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()

    def for_band(self, band: str | None) -> bool:
        return band is None or not self.age_bands or band in self.age_bands

    def questions_for(self, band: str | None) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.for_band(band))

    def items_followed(self) -> dict[str, Question]:
        """Follow-up question id -> the rated item it follows. An item's follow-ups (description,
        evidence, action) ask the same words for every item, so alone they do not say which item:
        pages, messages and summaries name the item with them."""
        out: dict[str, Question] = {}
        item = None
        for question in self.questions:
            if question.type == "rating":
                item = question
            elif item is not None:
                out[question.id] = item
        return out


@dataclass(frozen=True, slots=True)
class Support:
    heading: str
    text: str


@dataclass(frozen=True, slots=True)
class Questionnaire:
    id: str
    version: int
    title: str
    audience: Audience
    anonymous: bool
    sections: tuple[Section, ...]
    scales: Mapping[str, Scale]
    rules: Mapping[str, Rule]
    description: str | None = None
    age_bands: tuple[AgeBand, ...] = ()
    support: Support | None = None
    declaration: str | None = None
    questionnaire_rules: tuple[str, ...] = ()
    source: str = ""
    _questions: Mapping[str, Question] = field(default_factory=dict, repr=False, compare=False)

    @property
    def key(self) -> str:
        """`id@version`: what answers and scores are stored against."""
        return f"{self.id}@{self.version}"

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)

    def question(self, question_id: str) -> Question | None:
        return self._questions.get(question_id)

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(self._questions.values())

    def age_band(self, band_id: str) -> AgeBand | None:
        return next((b for b in self.age_bands if b.id == band_id), None)

    def sections_for(self, band: str | None) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if s.for_band(band) and s.questions_for(band))

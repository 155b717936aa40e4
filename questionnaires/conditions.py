"""Structured show-if / required-if conditions: evaluate, list references, describe in words.

A condition is JSON data (all / any / not over equals / in / answered / gt / gte / lt / lte on a
question), never a string run as code, so a definition file cannot execute anything. The same
`evaluate` serves the server-side form validation and the scoring of stored answers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

COMPARISONS: dict[str, str] = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
COMPARISON_WORDS: dict[str, str] = {
    "gt": "more than",
    "gte": "at least",
    "lt": "less than",
    "lte": "at most",
}
LEAF_TESTS: tuple[str, ...] = ("equals", "in", "answered", *COMPARISONS)

Condition = Mapping[str, Any]


def is_answered(value: Any) -> bool:
    """An answer counts as given unless it is missing or empty (blank text, no choices)."""
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    if isinstance(value, (list, tuple, dict, set)):
        return len(value) > 0
    return True


def _comparable(value: Any, other: Any) -> tuple[Any, Any] | None:
    """Bring an answer and a condition operand to one type, or None when they cannot compare."""
    if isinstance(value, bool) or isinstance(other, bool):
        return None
    if isinstance(value, date):
        if isinstance(value, datetime):  # a date with a time: compare its day, as date < datetime raises
            value = value.date()
        if isinstance(other, str):
            try:
                return value, date.fromisoformat(other)
            except ValueError:
                return None
        return None
    if isinstance(value, (int, float)) and isinstance(other, (int, float)):
        return value, other
    return None


def _leaf(condition: Condition, answers: Mapping[str, Any]) -> bool:
    value = answers.get(condition["question"])
    if "answered" in condition:
        return is_answered(value) == bool(condition["answered"])
    if not is_answered(value):
        return False
    if "equals" in condition:
        expected = condition["equals"]
        if isinstance(value, (list, tuple, set)):
            return expected in value
        return value == expected
    if "in" in condition:
        allowed = condition["in"]
        if isinstance(value, (list, tuple, set)):
            return any(v in allowed for v in value)
        return value in allowed
    for op in COMPARISONS:
        if op in condition:
            pair = _comparable(value, condition[op])
            if pair is None:
                return False
            left, right = pair
            if op == "gt":
                return left > right
            if op == "gte":
                return left >= right
            if op == "lt":
                return left < right
            return left <= right
    raise ValueError(f"not a condition: {dict(condition)!r}")


def evaluate(condition: Condition | None, answers: Mapping[str, Any]) -> bool:
    """True when `condition` holds for `answers` (question id -> answer); no condition holds.

    >>> evaluate({"question": "q1", "equals": "no"}, {"q1": "no"})
    True
    >>> evaluate({"not": {"question": "q1", "answered": True}}, {})
    True
    >>> evaluate({"all": [{"question": "n", "gte": 3}, {"question": "c", "in": ["a", "b"]}]}, {"n": 4, "c": ["b"]})
    True
    """
    if condition is None:
        return True
    if "all" in condition:
        return all(evaluate(c, answers) for c in condition["all"])
    if "any" in condition:
        return any(evaluate(c, answers) for c in condition["any"])
    if "not" in condition:
        return not evaluate(condition["not"], answers)
    return _leaf(condition, answers)


def leaves(condition: Condition | None) -> Iterator[Condition]:
    """Every leaf test of a condition, in order."""
    if condition is None:
        return
    for key in ("all", "any"):
        if key in condition:
            for part in condition[key]:
                yield from leaves(part)
            return
    if "not" in condition:
        yield from leaves(condition["not"])
        return
    yield condition


def referenced_questions(condition: Condition | None) -> list[str]:
    """Ids of the questions a condition looks at, each once, in order of first mention."""
    seen: dict[str, None] = {}
    for leaf in leaves(condition):
        question = leaf.get("question")
        if isinstance(question, str):
            seen.setdefault(question, None)
    return list(seen)


def describe(condition: Condition, label_of: Mapping[str, str] | None = None) -> str:
    """The condition in words, for people who see every question because JavaScript is off.

    `label_of` maps question ids to the short text shown for them, and option values to labels
    under the key "question-id=value".

    >>> describe({"question": "q1", "in": ["a", "b"]}, {"q1": "Colour", "q1=a": "Red", "q1=b": "Blue"})
    "you answered 'Red' or 'Blue' to 'Colour'"
    """
    names = label_of or {}

    def value_name(question: str, value: Any) -> str:
        return f"'{names.get(f'{question}={value}', value)}'"

    def words(part: Condition) -> str:
        if "all" in part:
            return " and ".join(words(c) for c in part["all"])
        if "any" in part:
            return " or ".join(words(c) for c in part["any"])
        if "not" in part:
            return f"it is not the case that {words(part['not'])}"
        question = part["question"]
        title = f"'{names.get(question, question)}'"
        if "answered" in part:
            return f"you answered {title}" if part["answered"] else f"you did not answer {title}"
        if "equals" in part:
            return f"you answered {value_name(question, part['equals'])} to {title}"
        if "in" in part:
            choices = " or ".join(value_name(question, v) for v in part["in"])
            return f"you answered {choices} to {title}"
        for op, phrase in COMPARISON_WORDS.items():
            if op in part:
                return f"your answer to {title} is {phrase} {part[op]}"
        raise ValueError(f"not a condition: {dict(part)!r}")

    return words(condition)

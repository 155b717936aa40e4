"""Show-if / required-if conditions: every operator, multiple-choice semantics, unanswered values,
mismatched types, the questions a condition looks at and its description in words."""

from __future__ import annotations

from datetime import date, datetime
from types import MappingProxyType
from typing import Any

import pytest

from questionnaires.conditions import describe, evaluate, is_answered, leaves, referenced_questions

UNANSWERED: list[Any] = [None, "", "   ", [], (), {}, set()]
NUMBER_CASES = [
    # (operator, operand, answer, expected)
    ("gt", 10, 11, True),
    ("gt", 10, 10, False),
    ("gt", 10, 9, False),
    ("gte", 10, 11, True),
    ("gte", 10, 10, True),
    ("gte", 10, 9, False),
    ("lt", 10, 9, True),
    ("lt", 10, 10, False),
    ("lt", 10, 11, False),
    ("lte", 10, 9, True),
    ("lte", 10, 10, True),
    ("lte", 10, 11, False),
    ("gt", 2.5, 2.75, True),
    ("lt", 0, -1, True),
    ("gte", 0, 0.0, True),
]
DATE_CASES = [
    ("gt", "2020-01-01", date(2020, 1, 2), True),
    ("gt", "2020-01-01", date(2020, 1, 1), False),
    ("gte", "2020-01-01", date(2020, 1, 1), True),
    ("gte", "2020-01-01", date(2019, 12, 31), False),
    ("lt", "2020-01-01", date(2019, 12, 31), True),
    ("lt", "2020-01-01", date(2020, 1, 1), False),
    ("lte", "2020-01-01", date(2020, 1, 1), True),
    ("lte", "2020-01-01", date(2020, 1, 2), False),
]


def leaf(op: str, operand: Any, question: str = "q") -> dict[str, Any]:
    return {"question": question, op: operand}


# Single-value leaf tests


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("no", True), ("yes", False), ("No", False), ("no ", False), (["no"], True)],
)
def test_equals(answer: Any, expected: bool) -> None:
    assert evaluate(leaf("equals", "no"), {"q": answer}) is expected


def test_equals_numbers_and_booleans() -> None:
    assert evaluate(leaf("equals", 3), {"q": 3})
    assert evaluate(leaf("equals", 3), {"q": 3.0})
    assert not evaluate(leaf("equals", 3), {"q": 4})
    assert evaluate(leaf("equals", True), {"q": True})
    assert not evaluate(leaf("equals", True), {"q": False})


@pytest.mark.parametrize(("answer", "expected"), [("a", True), ("b", True), ("c", False), (2, True), (3, False)])
def test_in(answer: Any, expected: bool) -> None:
    assert evaluate(leaf("in", ["a", "b", 2]), {"q": answer}) is expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("text", True),
        (0, True),
        (0.0, True),
        (False, True),
        (["a"], True),
        ({"what": "x"}, True),
        (date(2020, 1, 1), True),
    ],
)
def test_answered_true_for_any_given_answer(answer: Any, expected: bool) -> None:
    assert evaluate(leaf("answered", True), {"q": answer}) is expected
    assert evaluate(leaf("answered", False), {"q": answer}) is not expected


@pytest.mark.parametrize(("op", "operand", "answer", "expected"), NUMBER_CASES)
def test_comparisons_on_numbers(op: str, operand: Any, answer: Any, expected: bool) -> None:
    assert evaluate(leaf(op, operand), {"q": answer}) is expected


@pytest.mark.parametrize(("op", "operand", "answer", "expected"), DATE_CASES)
def test_comparisons_on_dates(op: str, operand: Any, answer: Any, expected: bool) -> None:
    assert evaluate(leaf(op, operand), {"q": answer}) is expected


# Combinations


def test_all() -> None:
    condition = {"all": [leaf("equals", "a", "x"), leaf("gte", 3, "n")]}
    assert evaluate(condition, {"x": "a", "n": 3})
    assert not evaluate(condition, {"x": "a", "n": 2})
    assert not evaluate(condition, {"x": "b", "n": 3})
    assert not evaluate(condition, {})


def test_any() -> None:
    condition = {"any": [leaf("equals", "a", "x"), leaf("gte", 3, "n")]}
    assert evaluate(condition, {"x": "a"})
    assert evaluate(condition, {"n": 5})
    assert not evaluate(condition, {"x": "b", "n": 1})
    assert not evaluate(condition, {})


def test_not() -> None:
    assert evaluate({"not": leaf("equals", "a")}, {"q": "b"})
    assert not evaluate({"not": leaf("equals", "a")}, {"q": "a"})
    assert not evaluate({"not": {"not": leaf("equals", "a")}}, {"q": "b"})


def test_nested() -> None:
    condition = {
        "any": [
            {"all": [leaf("equals", "yes", "agree"), {"not": leaf("in", ["red", "amber"], "colour")}]},
            {"all": [leaf("gt", 100, "staff"), leaf("lte", "2019-12-31", "reviewed")]},
        ]
    }
    assert evaluate(condition, {"agree": "yes", "colour": "green"})
    assert evaluate(condition, {"agree": "yes"})
    assert not evaluate(condition, {"agree": "yes", "colour": "red"})
    assert evaluate(condition, {"staff": 101, "reviewed": date(2019, 6, 1)})
    assert not evaluate(condition, {"staff": 101, "reviewed": date(2020, 6, 1)})
    assert not evaluate(condition, {"agree": "no", "staff": 100, "reviewed": date(2019, 6, 1)})


def test_no_condition_always_holds() -> None:
    assert evaluate(None, {})


def test_read_only_conditions_as_the_loader_builds_them() -> None:
    condition = MappingProxyType(
        {"all": (MappingProxyType({"question": "q", "in": ("a", "b")}), MappingProxyType({"question": "n", "gt": 0}))}
    )
    assert evaluate(condition, {"q": "a", "n": 1})
    assert evaluate(MappingProxyType({"question": "m", "in": ("a",)}), {"m": ("b", "a")})
    assert referenced_questions(condition) == ["q", "n"]


def test_malformed_condition_raises_value_error() -> None:
    with pytest.raises(ValueError, match="not a condition"):
        evaluate({"question": "q"}, {"q": "a"})


# Multiple choice: equals is "contained", in is "any overlap"


@pytest.mark.parametrize("answer", [["a", "b"], ("a", "b"), {"a", "b"}])
def test_equals_on_multiple_choice_means_contained(answer: Any) -> None:
    assert evaluate(leaf("equals", "a"), {"q": answer})
    assert evaluate(leaf("equals", "b"), {"q": answer})
    assert not evaluate(leaf("equals", "c"), {"q": answer})


@pytest.mark.parametrize("answer", [["a", "b"], ("a", "b"), {"a", "b"}])
def test_in_on_multiple_choice_means_any_overlap(answer: Any) -> None:
    assert evaluate(leaf("in", ["b", "z"]), {"q": answer})
    assert evaluate(leaf("in", ["a", "b"]), {"q": answer})
    assert not evaluate(leaf("in", ["y", "z"]), {"q": answer})


def test_not_on_multiple_choice() -> None:
    assert evaluate({"not": leaf("equals", "c")}, {"q": ["a", "b"]})
    assert not evaluate({"not": leaf("in", ["a"])}, {"q": ["a", "b"]})


# Unanswered values fail every test except answered: false and not


@pytest.mark.parametrize("missing", UNANSWERED, ids=repr)
@pytest.mark.parametrize(
    "condition",
    [
        leaf("equals", ""),
        leaf("equals", "a"),
        leaf("in", ["", "a"]),
        leaf("answered", True),
        leaf("gt", -1),
        leaf("gte", 0),
        leaf("lt", 1),
        leaf("lte", 0),
        leaf("gt", "2000-01-01"),
        leaf("lte", "2100-01-01"),
        {"all": [leaf("answered", False), leaf("equals", "a")]},
        {"any": [leaf("equals", "a"), leaf("in", ["a"])]},
    ],
    ids=repr,
)
def test_unanswered_fails_every_test(missing: Any, condition: dict[str, Any]) -> None:
    assert not evaluate(condition, {"q": missing})


@pytest.mark.parametrize("missing", UNANSWERED, ids=repr)
def test_unanswered_passes_answered_false_and_not(missing: Any) -> None:
    assert evaluate(leaf("answered", False), {"q": missing})
    assert evaluate({"not": leaf("answered", True)}, {"q": missing})
    assert evaluate({"not": leaf("equals", "a")}, {"q": missing})
    assert evaluate({"not": leaf("in", ["a"])}, {"q": missing})
    assert evaluate({"not": leaf("gte", 0)}, {"q": missing})


def test_a_question_missing_from_the_answers_is_unanswered() -> None:
    assert not evaluate(leaf("equals", "a"), {})
    assert evaluate(leaf("answered", False), {})
    assert evaluate({"not": leaf("equals", "a")}, {"other": "a"})


@pytest.mark.parametrize(
    ("value", "expected"), [*((v, False) for v in UNANSWERED), ("x", True), (0, True), ([0], True)]
)
def test_is_answered(value: Any, expected: bool) -> None:
    assert is_answered(value) is expected


# Mismatched types are false, never an exception


@pytest.mark.parametrize("op", ["gt", "gte", "lt", "lte"])
@pytest.mark.parametrize(
    ("operand", "answer"),
    [
        (10, "11"),  # a number question answered with text
        ("10", 11),  # a number compared with text
        (10, date(2020, 1, 1)),  # a date compared with a number
        ("2020-01-01", 20200101),  # a number compared with a date
        ("2020-13-01", date(2020, 1, 1)),  # not a real date
        ("soon", date(2020, 1, 1)),
        ("2020-01-01", "2021-01-01"),  # a date answer still held as text
        (0, True),  # booleans are not numbers here
        (True, 1),
        (1, ["2"]),
        (1, {"what": "x"}),
        (None, 1),
    ],
    ids=repr,
)
def test_mismatched_comparisons_are_false(op: str, operand: Any, answer: Any) -> None:
    assert evaluate(leaf(op, operand), {"q": answer}) is False


def test_mismatched_equals_and_in_are_false() -> None:
    assert not evaluate(leaf("equals", 3), {"q": "3"})
    assert not evaluate(leaf("equals", "3"), {"q": 3})
    assert not evaluate(leaf("in", [1, 2]), {"q": "1"})
    assert not evaluate(leaf("equals", "a"), {"q": {"what": "a"}})
    assert not evaluate(leaf("in", ["a"]), {"q": {"what": "a"}})


def test_datetime_answers_compare_by_their_day() -> None:
    # datetime is a subclass of date, but comparing one with a date raises TypeError.
    assert evaluate(leaf("gte", "2020-01-01"), {"q": datetime(2020, 1, 1, 9, 30)})
    assert not evaluate(leaf("gt", "2020-01-01"), {"q": datetime(2020, 1, 1, 23, 59)})
    assert evaluate(leaf("lt", "2020-01-02"), {"q": datetime(2020, 1, 1, 23, 59)})
    assert not evaluate(leaf("lte", 5), {"q": datetime(2020, 1, 1)})


# referenced_questions and leaves


def test_referenced_questions_in_order_of_first_mention_each_once() -> None:
    condition = {
        "any": [
            {"all": [leaf("equals", "a", "b"), {"not": leaf("gt", 1, "a")}]},
            leaf("in", ["x"], "b"),
            leaf("answered", True, "c"),
        ]
    }
    assert referenced_questions(condition) == ["b", "a", "c"]
    assert [part["question"] for part in leaves(condition)] == ["b", "a", "b", "c"]


def test_referenced_questions_of_nothing() -> None:
    assert referenced_questions(None) == []
    assert referenced_questions({"all": []}) == []
    assert list(leaves(None)) == []


def test_referenced_questions_of_a_leaf() -> None:
    assert referenced_questions(leaf("lte", "2020-01-01", "reviewed")) == ["reviewed"]


# describe


LABELS = {"agree": "Do you agree?", "agree=no": "No", "agree=yes": "Yes", "colour": "Colour", "colour=red": "Red"}


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        (leaf("equals", "no", "agree"), "you answered 'No' to 'Do you agree?'"),
        (leaf("in", ["yes", "no"], "agree"), "you answered 'Yes' or 'No' to 'Do you agree?'"),
        (leaf("answered", True, "agree"), "you answered 'Do you agree?'"),
        (leaf("answered", False, "agree"), "you did not answer 'Do you agree?'"),
        (leaf("gt", 10, "staff"), "your answer to 'staff' is more than 10"),
        (leaf("gte", 10, "staff"), "your answer to 'staff' is at least 10"),
        (leaf("lt", 10, "staff"), "your answer to 'staff' is less than 10"),
        (leaf("lte", "2020-01-01", "reviewed"), "your answer to 'reviewed' is at most 2020-01-01"),
        (leaf("equals", "blue", "colour"), "you answered 'blue' to 'Colour'"),
        (
            {"all": [leaf("equals", "no", "agree"), leaf("equals", "red", "colour")]},
            "you answered 'No' to 'Do you agree?' and you answered 'Red' to 'Colour'",
        ),
        (
            {"any": [leaf("answered", True, "agree"), leaf("answered", False, "colour")]},
            "you answered 'Do you agree?' or you did not answer 'Colour'",
        ),
        (
            {"not": leaf("equals", "yes", "agree")},
            "it is not the case that you answered 'Yes' to 'Do you agree?'",
        ),
    ],
    ids=repr,
)
def test_describe(condition: dict[str, Any], words: str) -> None:
    assert describe(condition, LABELS) == words


def test_describe_without_labels_uses_ids_and_values() -> None:
    assert describe(leaf("in", ["a", "b"], "q1")) == "you answered 'a' or 'b' to 'q1'"


def test_describe_a_malformed_condition_raises_value_error() -> None:
    with pytest.raises(ValueError, match="not a condition"):
        describe({"question": "q"})

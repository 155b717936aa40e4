"""Dates typed in three boxes."""

from __future__ import annotations

from datetime import date

import pytest

from forms.dates import parse_date, parts_of, read_parts, typed_date
from questionnaires.wording import long_date


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("", "", ""), (None, None, ())),
        (("3", "4", "2024"), (date(2024, 4, 3), None, ())),
        ((" 03 ", "04", "2024"), (date(2024, 4, 3), None, ())),
        (("29", "2", "2023"), (None, "The date must be a real date", ("day",))),
        (("29", "2", "2024"), (date(2024, 2, 29), None, ())),
        (("1", "0", "2024"), (None, "The date must be a real date", ("month",))),
        (("", "", "2024"), (None, "The date must include a day and a month", ("day", "month"))),
        (("1", "x", "2024"), (None, "The date must be a real date, written in numbers, like 27 3 2024", ("month",))),
        (("1", "1", "99999"), (None, "The date must include a year with 4 numbers, like 2024", ("year",))),
        # str.isdigit() passes these, int() cannot read them: a crash before, a message now
        (("²", "1", "2024"), (None, "The date must be a real date, written in numbers, like 27 3 2024", ("day",))),
        (("1", "1", "٢٠٢٤"), (None, "The date must be a real date, written in numbers, like 27 3 2024", ("year",))),
        (("9" * 5000, "1", "2024"), (None, "The date must be a real date", ("day",))),
        (("1", "1", "0000"), (None, "The date must be a real date", ("year",))),
        (("32", "13", "2024"), (None, "The date must be a real date", ("day", "month"))),
        (("0", "1", "0000"), (None, "The date must be a real date", ("day", "year"))),
        (("31", "6", "2024"), (None, "The date must be a real date", ("day",))),
    ],
)
def test_parse_date(parts, expected) -> None:
    """The parts in error are the boxes that make the date wrong, and only those."""
    day, month, year = parts
    assert parse_date({"day": day, "month": month, "year": year}, "The date") == expected


def test_parse_date_names_the_date_it_is_about() -> None:
    assert parse_date({"day": "1", "month": "", "year": "2024"}, "The date for ‘When was the workshop?’") == (
        None,
        "The date for ‘When was the workshop?’ must include a month",
        ("month",),
    )


def test_typed_date_is_the_date_or_none() -> None:
    assert typed_date({"day": "3", "month": "4", "year": "2024"}) == date(2024, 4, 3)
    assert typed_date({"day": "31", "month": "2", "year": "2024"}) is None


def test_read_parts_uses_govuk_names() -> None:
    assert read_parts({"when-day": "1", "when-month": "2", "when-year": "2020"}, "when") == {
        "day": "1",
        "month": "2",
        "year": "2020",
    }
    assert read_parts(None, "when") == {"day": "", "month": "", "year": ""}


def test_long_date_and_parts() -> None:
    assert long_date(date(2024, 3, 3)) == "3 March 2024"
    assert parts_of(date(2024, 3, 3)) == {"day": "3", "month": "3", "year": "2024"}

"""Dates typed in three boxes."""

from __future__ import annotations

from datetime import date

import pytest

from forms.dates import parse_date, parts_of, read_parts
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
        (("1", "1", "0000"), (None, "The date must be a real date", ("day",))),
    ],
)
def test_parse_date(parts, expected) -> None:
    day, month, year = parts
    assert parse_date({"day": day, "month": month, "year": year}) == expected


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

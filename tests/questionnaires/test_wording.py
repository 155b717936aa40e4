"""Questions named by their words and dates written in words: one home for forms and scoring."""

from __future__ import annotations

from datetime import date

import pytest

from questionnaires.wording import long_date, quoted


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Do you feel safe?", 80, "‘Do you feel safe?’"),
        ("  Spaces\n and   line breaks ", 80, "‘Spaces and line breaks’"),
        (
            "Is a named person at board level responsible for safeguarding children?",
            40,
            "‘Is a named person at board level…’",
        ),
        ("Board, staff; volunteers: everyone - all", 24, "‘Board, staff…’"),
        ("Antidisestablishmentarianismically", 10, "‘Antidises…’"),
    ],
)
def test_quoted_keeps_whole_words(text: str, limit: int, expected: str) -> None:
    assert quoted(text, limit) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2021, 3, 1), "1 March 2021"),
        (date(2024, 12, 25), "25 December 2024"),
        (date(1999, 1, 9), "9 January 1999"),
    ],
)
def test_long_date_has_no_leading_zero(value: date, expected: str) -> None:
    assert long_date(value) == expected

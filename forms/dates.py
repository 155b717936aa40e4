"""Dates typed as day, month and year boxes (the GOV.UK date input), checked in words people use."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import MINYEAR, date

PARTS = ("day", "month", "year")


def date_part_names(prefix: str) -> dict[str, str]:
    """Form names of the three boxes, as the GOV.UK date input names them (`prefix-day`...)."""
    return {part: f"{prefix}-{part}" for part in PARTS}


def read_parts(formdata: Mapping[str, str] | None, prefix: str) -> dict[str, str]:
    if not formdata:
        return dict.fromkeys(PARTS, "")
    return {part: (formdata.get(name) or "").strip() for part, name in date_part_names(prefix).items()}


def _numerals(text: str) -> bool:
    """Only 0 to 9: str.isdigit() also passes '²' and other digits that int() cannot read."""
    return text.isascii() and text.isdigit()


def parse_date(parts: Mapping[str, str], thing: str) -> tuple[date | None, str | None, tuple[str, ...]]:
    """(date, error, parts in error) from three typed boxes; all blank is no date and no error.

    `thing` names the date the error is about ("The date for ‘When was the workshop?’"): a page
    can ask for several dates, and "The date must be a real date" would not say which. The parts
    in error are the boxes to mark, the first of them where the error summary's link goes.
    """
    typed = {part: (parts.get(part) or "").strip() for part in PARTS}
    missing = tuple(part for part in PARTS if not typed[part])
    if len(missing) == 3:
        return None, None, ()
    if missing:
        return None, f"{thing} must include a {' and a '.join(missing)}", missing
    if not all(_numerals(typed[part]) for part in PARTS):
        wrong = tuple(part for part in PARTS if not _numerals(typed[part]))
        return None, f"{thing} must be a real date, written in numbers, like 27 3 2024", wrong
    if len(typed["year"]) != 4:
        return None, f"{thing} must include a year with 4 numbers, like 2024", ("year",)
    too_long = tuple(part for part in ("day", "month") if len(typed[part]) > 4)  # int() refuses 4,300 digits
    if too_long:
        return None, f"{thing} must be a real date", too_long
    day, month, year = (int(typed[part]) for part in PARTS)
    try:
        return date(year, month, day), None, ()
    except ValueError:
        return None, f"{thing} must be a real date", _unreal_parts(day, month, year)


def typed_date(parts: Mapping[str, str]) -> date | None:
    """The date three boxes make, or None: for an answer kept as typed (`parse_date` says what is wrong)."""
    return parse_date(parts, "")[0]


def _unreal_parts(day: int, month: int, year: int) -> tuple[str, ...]:
    """The boxes that make a date not real: a month past 12, a year 0, a day past 31 or past the
    month's last (29 February 2023); when month and year are real, the day is what is wrong."""
    wrong = tuple(
        part
        for part, bad in (("day", not 1 <= day <= 31), ("month", not 1 <= month <= 12), ("year", year < MINYEAR))
        if bad
    )
    return wrong or ("day",)


def parts_of(value: date | None) -> dict[str, str]:
    if value is None:
        return dict.fromkeys(PARTS, "")
    return {"day": str(value.day), "month": str(value.month), "year": str(value.year)}

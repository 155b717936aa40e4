"""Dates typed as day, month and year boxes (the GOV.UK date input), checked in words people use."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

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


def parse_date(parts: Mapping[str, str], thing: str = "The date") -> tuple[date | None, str | None, tuple[str, ...]]:
    """(date, error, parts in error) from three typed boxes; all blank is no date and no error."""
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
        wrong = ("month",) if not 1 <= month <= 12 else ("day",)
        return None, f"{thing} must be a real date", wrong


def parts_of(value: date | None) -> dict[str, str]:
    if value is None:
        return dict.fromkeys(PARTS, "")
    return {"day": str(value.day), "month": str(value.month), "year": str(value.year)}

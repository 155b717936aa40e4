"""store/models.py: the JSON an answer is stored as, which the audit trail, the one-statement
saves and the comparison of a save with what is stored all rely on being the same text for the
same value, however it was made."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from store.models import Answer, _iso, encode_json

VALUES: list[Any] = [
    "met",
    'It\'s "quoted"; {braces}, a back\\slash and ünïcode ✓',
    "line one\nline two\ttab",
    12,
    -0.5,
    True,
    ["a", "b"],
    {"what": "Review supervision", "who": "Head of service", "due": dt.date(2026, 3, 31)},
    [{"title": "Policy", "date": dt.date(2025, 1, 2), "at": dt.datetime(2025, 1, 2, 9, 30, 5, 123)}],
    {},
    [],
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_an_answer_is_stored_as_compact_json_with_its_text_and_dates_as_written(value: Any) -> None:
    stored = Answer.value.db_value(value)
    assert stored == json.dumps(value, default=_iso, ensure_ascii=False, separators=(",", ":"))
    assert stored == encode_json(value)
    if value == VALUES[1]:
        assert "ünïcode ✓" in stored, "non-ASCII text is kept as it is, not escaped"
    decoded = Answer.value.python_value(stored)
    assert Answer.value.db_value(decoded) == stored, "what is read back is stored as the same text"


def test_no_answer_is_stored_as_null_not_as_json() -> None:
    assert Answer.value.db_value(None) is None
    assert Answer.value.python_value(None) is None


def test_a_value_json_cannot_hold_is_refused_not_stored_as_something_else() -> None:
    with pytest.raises(TypeError, match="cannot store set as JSON"):
        Answer.value.db_value({"a": {1, 2}})
    with pytest.raises(TypeError, match="cannot store object as JSON"):
        encode_json([object()])

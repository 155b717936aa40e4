"""Small tables the scoring tests build their cases from.

The rules read an items table and an option frame; these helpers make both from a few
keyword arguments, so each test case says only what it is about.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from questionnaires import Questionnaire, load_all, load_definition
from questionnaires.loader import DEFINITIONS_DIR
from questionnaires.model import Rule
from questionnaires.wording import quoted
from scoring.cells import first_rows

ITEM_DEFAULTS: dict[str, Any] = {
    "response_id": 1,
    "section_id": "s1",
    "question_id": "q1",
    "weight": 1.0,
    "mandatory": False,
    "answered": "met",
    "evidence_count": 1,
    "reason": None,
    "has_action": False,
}

#: A 3-level rating scale with not applicable, as S11 audits use, for questions q1-q4.
SCALE = [
    ("met", "Met", 2.0, 100.0, False),
    ("partially-met", "Partially met", 1.0, 50.0, False),
    ("not-met", "Not met", 0.0, 0.0, False),
    ("not-applicable", "Not applicable", np.nan, np.nan, True),
]

#: The words of questions q1-q4, as explanations quote them.
QUESTION_WORDS = {
    "q1": "Is there a named board lead?",
    "q2": "Is the policy reviewed?",
    "q3": "Do staff know the lead?",
    "q4": "Are concerns recorded?",
}


def make_options(questions: tuple[str, ...] = ("q1", "q2", "q3", "q4")) -> pd.DataFrame:
    rows = [
        {
            "question_id": q,
            "value": value,
            "label": label,
            "position": i,
            "score": score,
            "score_100": score_100,
            "positive": value == "met",
            "dont_know": False,
            "not_applicable": na,
            "in_base": not na,
            "colour": None,
            "question_label": quoted(QUESTION_WORDS.get(q, q)),
        }
        for q in questions
        for i, (value, label, score, score_100, na) in enumerate(SCALE)
    ]
    return pd.DataFrame(rows)


def make_items(*rows: dict[str, Any]) -> pd.DataFrame:
    """An items table: each row is ITEM_DEFAULTS updated by the case; `rating` starts as `answered`."""
    records = []
    for row in rows:
        record = {**ITEM_DEFAULTS, **row}
        record.setdefault("rating", record["answered"])
        record.setdefault("decided_by", None)
        record.setdefault("why", None)
        record.setdefault("applicable", record["answered"] is not None and record["answered"] != "not-applicable")
        records.append(record)
    frame = pd.DataFrame(records)
    for column in ("section_id", "question_id", "answered", "rating", "decided_by", "why", "reason"):
        frame[column] = pd.Series(frame[column].to_numpy(dtype=object), dtype=object)
    return frame.astype({"weight": "float64", "mandatory": bool, "has_action": bool, "applicable": bool})


@pytest.fixture(scope="session")
def shipped() -> dict[str, Questionnaire]:
    return load_all()


@pytest.fixture(scope="session")
def s11(shipped: dict[str, Questionnaire]) -> Questionnaire:
    return shipped["s11-self-audit"]


def rule(kind: str, rule_id: str | None = None, **params: Any) -> Rule:
    return Rule(rule_id or kind.replace("_", "-"), kind, params)


def definition(name: str) -> dict[str, Any]:
    """A shipped definition's JSON, to change for a test (a copy)."""
    return copy.deepcopy(json.loads((DEFINITIONS_DIR / f"{name}.json").read_text(encoding="utf-8")))


def load(data: dict[str, Any]) -> Questionnaire:
    return load_definition(data, source="<test>")


def column_codes(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """A column as codes (first appearance; missing values are one value) and the value of each code,
    in the column's dtype: what the theme table's codes for a column must equal (a plain factorize)."""
    code, _ = pd.factorize(values, use_na_sentinel=False)
    return code.astype(np.int64), values.iloc[first_rows(code)].reset_index(drop=True)

"""Definitions and stored answers as tables: questions, options, stable keys, typed answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from questionnaires import Questionnaire
from scoring.frames import (
    by_distinct,
    codes,
    has_text,
    iso_dates,
    of_type,
    option_frame,
    question_frame,
    stable_ids,
    stable_question_key,
    typed_answers,
)
from tests.scoring.conftest import definition, load


def test_question_frame_has_one_row_per_question_in_order(s11: Questionnaire) -> None:
    frame = question_frame(s11)
    assert frame["question_id"].tolist() == [q.id for s in s11.sections for q in s.questions]
    first = frame.iloc[0]
    assert (first["type"], first["section_id"], first["weight"], first["mandatory"]) == ("rating", "s1", 2.0, True)
    assert (first["evidence"], first["action"], first["stable_key"]) == (
        "s1.1-evidence",
        "s1.1-action",
        "s11-self-audit:s1.1",
    )
    assert frame.loc[frame["type"].eq("long_text"), "scored"].eq(False).all()


def test_question_frame_age_bands_come_from_the_section(shipped: dict[str, Questionnaire]) -> None:
    frame = question_frame(shipped["child-experience"]).set_index("question_id")
    assert frame.loc["safe-home.age-4-7", "age_bands"] == ("age-4-7",)


def test_option_scores_on_0_to_100(shipped: dict[str, Questionnaire]) -> None:
    options = option_frame(shipped["family-experience"])
    told = options.loc[options["question_id"].eq("told-what")].reset_index(drop=True)
    expected = pd.DataFrame(
        {
            "value": ["strongly-agree", "agree", "neither", "disagree", "strongly-disagree", "dont-know"],
            "score": [5.0, 4.0, 3.0, 2.0, 1.0, np.nan],
            "score_100": [100.0, 75.0, 50.0, 25.0, 0.0, np.nan],
            "positive": [True, True, False, False, False, False],
            "in_base": [True, True, True, True, True, False],
        }
    )
    assert_frame_equal(told[expected.columns.tolist()].astype({"value": object}), expected.astype({"value": object}))


def _versions() -> list[Questionnaire]:
    """Three versions of the family survey: told-what renamed in 2, and again in 3."""
    out = []
    previous = "told-what"
    for version, new_id in ((1, "told-what"), (2, "told-what-v2"), (3, "told-what-v3")):
        data = definition("family-experience")
        data["version"] = version
        question = next(q for s in data["sections"] for q in s["questions"] if q["id"] == "told-what")
        question["id"] = new_id
        if version > 1:
            question["same_as"] = {"version": version - 1, "question": previous}
        previous = new_id
        out.append(load(data))
    return out


def test_stable_ids_follow_same_as_back_to_the_first_version() -> None:
    v1, v2, v3 = _versions()
    ids = stable_ids([v1, v2, v3])
    assert ids[("family-experience", 3, "told-what-v3")] == "told-what"
    assert ids[("family-experience", 2, "told-what-v2")] == "told-what"
    assert ids[("family-experience", 3, "told-why")] == "told-why"
    assert stable_question_key(v3, "told-what-v3", [v1, v2]) == "family-experience:told-what"
    assert stable_question_key(v3, "told-what-v3", [v2]) == "family-experience:told-what"  # v2's link names v1's id
    assert (
        question_frame(v3, [v1, v2]).set_index("question_id").loc["told-what-v3", "stable_key"]
        == "family-experience:told-what"
    )


def test_typed_answers(s11: Questionnaire, shipped: dict[str, Questionnaire]) -> None:
    answers = pd.DataFrame(
        {
            "response_id": [1, 1, 1, 1, 1, 1],
            "question_id": ["s1.1", "s1.1__reason", "s1.1-evidence", "s1.1-action", "s1.1-narrative", "gone"],
            "value": [
                "met",
                "We have no board",
                [{"title": "P", "type": "policy", "date": "2020-01-01", "link": None}],
                {"what": "w", "owner": "o", "due": "2025-01-01"},
                "=1+1",
                "x",
            ],
        }
    )
    out = typed_answers(answers, question_frame(s11))
    assert out["type"].tolist() == ["rating", "reason", "evidence", "action", "long_text"]
    assert out["value_text"].tolist() == [
        "met",
        "We have no board",
        '[{"title":"P","type":"policy","date":"2020-01-01","link":null}]',
        '{"what":"w","owner":"o","due":"2025-01-01"}',
        "=1+1",
    ]
    assert out["value_num"].tolist()[2] == 1.0
    workshop = shipped["practitioner-workshop"]
    more = pd.DataFrame(
        {
            "response_id": [2, 2, 2],
            "question_id": ["workshop-date", "years-with-children", "follow-up-format"],
            "value": ["2025-03-14", 7, "online"],
        }
    )
    typed = typed_answers(more, question_frame(workshop))
    assert typed["value_date"].tolist()[0] == pd.Timestamp("2025-03-14")
    assert typed["value_num"].tolist()[1] == 7.0
    assert typed["value_text"].tolist()[2] == "online"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["b", "a", "zz"], [1, 0, -1]),
        ([None, "a"], [-1, 0]),
        ([["a"], {"a": 1}, "b"], [-1, -1, 1]),
    ],
)
def test_codes(values: list[object], expected: list[int]) -> None:
    assert codes(pd.Series(values, dtype=object), pd.Index(["a", "b"], dtype=object)).tolist() == expected


def test_scoring_imports_no_web_or_database_code() -> None:
    import subprocess
    import sys

    code = "import sys, scoring; print(sorted(m for m in ('flask', 'wtforms', 'peewee', 'forms', 'store') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_tables_derived_from_a_definition_are_built_once_and_shared_across_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from scoring.surveys import score_survey

    fresh = load(definition("family-experience"))  # a new object: nothing cached for it yet
    answers = pd.DataFrame(
        {"response_id": [1, 2], "question_id": ["told-what", "told-why"], "value": ["agree", "neither"]}
    )
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: score_survey(fresh, answers).answers, range(8)))
    for result in results[1:]:
        assert_frame_equal(result, results[0])
    first = question_frame(fresh)
    first["scored"] = False  # a caller changing its copy does not change anyone else's
    assert question_frame(fresh)["scored"].any()


def test_codes_of_text_and_categorical_columns_equal_a_lookup_of_objects() -> None:
    values = ["b", None, "a", "zz", "a"]
    categories = pd.Index(["a", "b"], dtype=object)
    expected = [1, -1, 0, -1, 0]
    assert codes(pd.Series(values, dtype="str"), categories).tolist() == expected
    assert codes(pd.Series(values, dtype="category"), categories).tolist() == expected
    assert codes(np.array(values, dtype=object), categories).tolist() == expected


def test_of_type_and_has_text() -> None:
    values = np.array(["text", "  ", "", None, 3, ["a"], {"a": 1}, "\t x \n"], dtype=object)
    assert of_type(values, str).tolist() == [True, True, True, False, False, False, False, True]
    assert of_type(values, dict).tolist() == [False] * 6 + [True, False]
    assert has_text(values).tolist() == [True, False, False, False, False, False, False, True]


def test_by_distinct_judges_each_distinct_value_once_and_gives_every_value_its_answer() -> None:
    judged: list[list[object]] = []

    def judge(values: np.ndarray) -> np.ndarray:
        judged.append(values.tolist())
        return has_text(values)

    values = np.array(["Head", " ", "Head", None, np.nan, 3, "Head", " "], dtype=object)
    assert by_distinct(values, judge, False).tolist() == has_text(values).tolist()
    assert judged == [["Head", " ", 3]]  # missing values are not judged: they take `missing`
    # a value that cannot be hashed (a malformed row) is judged with the rest, one by one
    malformed = np.array(["Head", ["Head"], {"a": 1}, "  "], dtype=object)
    assert by_distinct(malformed, judge, False).tolist() == [True, False, False, False]


@pytest.mark.parametrize(
    "texts",
    [
        ["2025-03-14", "2024-02-29", "1678-01-01", "2261-12-31", "2000-02-29"],
        ["2025-02-29"],  # no such day
        ["2025-03-14", "2025-04-31"],
        ["1677-12-31", "2262-04-12", "0001-01-01"],  # days datetime64[ns] cannot hold
        ["2025-13-01", "2025-00-10", "2025-01-00", "2025-1-01", " 2025-01-01", "2025-01-01 "],
        ["2025-01-01T10:30", "2025-01", "2025", "\u0662\u0660\u0662\u0665-01-01"],
    ],
)
def test_plain_days_read_by_numpy_equal_pandas_iso_parsing(texts: list[str]) -> None:
    from scoring.frames import parse_iso

    values = np.array(texts, dtype=object)
    expected = pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601", errors="coerce")
    got = parse_iso(values)
    assert got.dtype == "datetime64[ns]"
    assert np.array_equal(got, expected.to_numpy(dtype="datetime64[ns]"), equal_nan=True)


def test_plain_days_are_parsed_without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("pandas parsed a plain day")

    monkeypatch.setattr(pd, "to_datetime", refused)
    got = iso_dates(pd.Series(["2025-03-14", None, "2018-04-01", "2025-03-14"], dtype=object))
    assert got.tolist() == [pd.Timestamp("2025-03-14"), pd.NaT, pd.Timestamp("2018-04-01"), pd.Timestamp("2025-03-14")]


def test_iso_dates_parse_each_distinct_text_once_and_keep_the_index() -> None:
    values = pd.Series(["2025-03-14", "2025-03-14", "bad", None, 7, "2024-02-29"], index=list("abcdef"), name="due")
    got = iso_dates(values)
    assert got.index.tolist() == list("abcdef") and got.name == "due" and got.dtype == "datetime64[ns]"
    assert got.isna().tolist() == [False, False, True, True, True, False]
    assert got["f"] == pd.Timestamp("2024-02-29")

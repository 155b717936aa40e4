"""Tables as integer codes: each helper gives what pandas would give on the values, on random tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_series_equal

from scoring.cells import (
    as_column,
    as_grouped,
    as_text,
    codes_of,
    factorize_repeats,
    factorize_runs,
    few_as_text,
    first_rows,
    first_seen,
    natural_key,
    natural_ranks,
    run_codes,
    sort_ranks,
)
from tests.scoring.conftest import column_codes


@pytest.fixture
def table() -> pd.DataFrame:
    """Keys of several kinds, with missing values and repeats, in no particular order."""
    rng = np.random.default_rng(5)
    n = 2_000
    return pd.DataFrame(
        {
            "cycle": pd.Series(rng.choice(["2024-25", "2025-26", "2023-24"], n), dtype="str"),
            "agency": rng.integers(0, 40, n),
            "band": pd.Series(rng.choice(np.array(["age-4-7", "age-8-11", None], dtype=object), n), dtype=object),
            "theme": pd.Categorical(rng.choice(["feeling-safe", "being-heard", "getting-help"], n)),
        }
    )


def test_first_seen_numbers_groups_as_a_group_by_does(table: pd.DataFrame) -> None:
    keys = ["cycle", "agency", "band", "theme"]
    expected = table.groupby(keys, sort=False, dropna=False, observed=True).ngroup().to_numpy()
    got = first_seen(*(pd.factorize(table[k], use_na_sentinel=False)[0] for k in keys))
    assert got.tolist() == expected.tolist()


def test_first_seen_renumbers_before_a_key_would_overflow() -> None:
    wide = np.array([0, 2**30, 2**30, 0])
    assert first_seen(wide, wide, wide, np.array([1, 1, 1, 0])).tolist() == [0, 1, 1, 2]


def test_first_rows_are_where_each_id_first_appears(table: pd.DataFrame) -> None:
    ids = first_seen(pd.factorize(table["agency"])[0], pd.factorize(table["cycle"])[0])
    assert first_rows(ids).tolist() == np.unique(ids, return_index=True)[1].tolist()
    assert first_rows(np.zeros(0, dtype=np.int64)).tolist() == []


def test_run_codes_equal_a_lookup_of_every_row() -> None:
    rng = np.random.default_rng(2)
    values = np.sort(rng.integers(0, 300, 5_000))
    values[::7] = rng.integers(0, 400, len(values[::7]))  # runs broken up, and ids not in the index
    index = pd.Index(rng.permutation(300))
    assert run_codes(values, index).tolist() == index.get_indexer(values).tolist()
    of = np.append(np.arange(300) * 10, -1)
    assert run_codes(values, index, of=of).tolist() == of[index.get_indexer(values)].tolist()
    assert run_codes(np.zeros(0, dtype=np.int64), index).tolist() == []


@pytest.mark.parametrize("column", ["cycle", "agency", "band", "theme"])
def test_codes_of_decode_back_to_the_values(table: pd.DataFrame, column: str) -> None:
    code, categories = codes_of(table[column])
    back = pd.Series(categories.take(code), dtype=object)
    expected = pd.Series(table[column].to_numpy(dtype=object), dtype=object)
    assert back.isna().tolist() == expected.isna().tolist()
    assert back[back.notna()].tolist() == expected[expected.notna()].tolist()


@pytest.mark.parametrize("column", ["cycle", "agency", "band"])
def test_column_codes_keep_the_column_and_its_dtype(table: pd.DataFrame, column: str) -> None:
    code, values = column_codes(table[column])
    assert values.dtype == table[column].dtype
    assert_series_equal(
        values.take(code).reset_index(drop=True), table[column].reset_index(drop=True), check_names=False
    )


@pytest.mark.parametrize("column", ["cycle", "agency", "band"])
def test_sort_ranks_order_rows_as_sort_values_does(table: pd.DataFrame, column: str) -> None:
    code, values = column_codes(table[column])
    ranks = sort_ranks(values)[code]
    order = np.lexsort((np.arange(len(table)), ranks))
    expected = table[column].sort_values(kind="stable", na_position="first").index.to_numpy()
    assert order.tolist() == expected.tolist()


def test_as_grouped_gives_keys_back_as_a_group_by_does() -> None:
    values = {
        "text": pd.Series(["a", None, "b"], dtype=object),
        "missing": pd.Series([None, np.nan], dtype=object),
        "number": pd.Series([3, 1, 2]),
        "str": pd.Series(["x", "y"], dtype="str"),
    }
    got = as_grouped(values)
    for name, column in values.items():
        frame = pd.DataFrame({"key": column, "n": 1})
        expected = frame.groupby(["key", np.arange(len(column))], dropna=False, sort=False)["n"].sum().reset_index()
        assert got[name].dtype == expected["key"].dtype, name
        assert got[name].isna().tolist() == expected["key"].isna().tolist()
    assert got["text"].tolist()[::2] == ["a", "b"]


def test_as_grouped_of_a_column_with_no_values() -> None:
    got = as_grouped({"empty": pd.Series([], dtype=object), "text": pd.Series(["a"], dtype=object)})
    assert len(got["empty"]) == 0 and got["text"].tolist() == ["a"]


def test_as_column_infers_as_an_assignment_does() -> None:
    assert as_column(np.array(["a", "b"], dtype=object)).tolist() == ["a", "b"]
    assert as_column("all").dtype == pd.DataFrame(index=[0]).assign(g="all")["g"].dtype


@pytest.mark.parametrize(
    "values",
    [
        ["rule-a", None, "rule-a", np.nan, "why", pd.NA],  # text and missing: made text once per distinct value
        [1, True, 1.0, "1", None],  # equal to pandas' hash but not as text: converted one by one
        ["a", ["a"], {"b": 1}, None],  # cannot be hashed: converted one by one
        [],
    ],
)
def test_few_as_text_equals_astype_str(values: list[object]) -> None:
    column = pd.Series(values, dtype=object, index=pd.RangeIndex(10, 10 + len(values)), name="why")
    assert_series_equal(few_as_text(column), column.astype("str"))


def test_as_text_equals_astype_str(table: pd.DataFrame) -> None:
    for column in ("theme", "band"):
        assert_series_equal(as_text(table[column]), table[column].astype("str"))
    missing = pd.Series(pd.Categorical(["a", None, "b"]))
    assert_series_equal(as_text(missing), missing.astype("str"))


@pytest.mark.parametrize(
    "values",
    [
        np.array([7, 7, 3, 3, 3, 7, 9], dtype=np.int64),
        np.array(["2025", "2025", None, np.nan, None, "2024", "2025", np.nan], dtype=object),
        np.array([1, 1.0, True, 2, "2"], dtype=object),  # equal across types, as a hash table holds them
        np.array(["a", pd.NA, pd.NA, "a"], dtype=object),  # no truth value: factorised as they are
        np.array([], dtype=object),
        np.repeat(np.array([7, 3, 7, 9], dtype=np.int64), 5),  # long runs: one hash per run
        np.repeat(np.array(["2025", None, np.nan, "2024", "2025"], dtype=object), 4),
        np.repeat(np.array([1, 1.0, True, 2, "2"], dtype=object), 6),
    ],
)
def test_factorize_runs_gives_what_factorize_gives(values: np.ndarray) -> None:
    code, uniques = factorize_runs(values)
    expected_code, expected_uniques = pd.factorize(values)
    assert code.tolist() == expected_code.tolist()
    assert list(uniques) == list(expected_uniques) and uniques.dtype == expected_uniques.dtype


def _repeating(values: list[object], times: int) -> np.ndarray:
    """Each value `times` times in a row, as object values: runs long enough for the sample to see."""
    return np.array([v for v in values for _ in range(times)], dtype=object)


@pytest.mark.parametrize(
    ("values", "by_runs"),
    [
        (_repeating(["Head", "Head", None, "Lead", np.nan, "Head", 1, 1.0, True, "1"], 40), True),
        (_repeating([3, 3, 7, 2], 100).astype(np.int64), True),
        (np.array([f"owner {i % 97}" for i in range(3000)], dtype=object), False),  # neighbours differ
        (_repeating(["a", pd.NA, "a"], 70), False),  # no truth value: hashed
        (np.array(["a", "a"], dtype=object), True),
        (np.array(["a"], dtype=object), False),
        (np.array([], dtype=object), False),
    ],
)
def test_factorize_repeats_gives_what_factorize_gives_by_runs_or_hashing(
    values: np.ndarray, by_runs: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scoring.cells

    runs = []
    real = scoring.cells.factorize_runs

    def counted(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        runs.append(len(array))
        return real(array)

    monkeypatch.setattr(scoring.cells, "factorize_runs", counted)
    code, uniques = factorize_repeats(values)
    expected_code, expected_uniques = pd.factorize(values)
    assert code.tolist() == expected_code.tolist()
    assert list(uniques) == list(expected_uniques) and uniques.dtype == expected_uniques.dtype
    assert bool(runs) == by_runs


@pytest.mark.parametrize(
    "categories",
    [
        pd.Index(["b", "a"], dtype=object),  # held as objects: kept
        pd.Index(["b", "a"], dtype=object, name="theme"),
        pd.Index(["b", "a"], dtype="str"),  # text dtype: made objects
        pd.Index([3, 1]),
        pd.Index(pd.to_datetime(["2025-01-02", "2025-01-01"])),
    ],
)
def test_codes_of_a_categorical_give_its_categories_as_objects(categories: pd.Index) -> None:
    """Its categories as objects (kept as they are when they are), a missing value's category appended."""
    values = pd.Series(pd.Categorical.from_codes([1, 0, -1, 1], categories=categories))
    code, got = codes_of(values)
    expected = pd.Index(values.array.categories, dtype=object).append(pd.Index([np.nan], dtype=object))
    assert got.dtype == expected.dtype and got.equals(expected) and got.name == expected.name
    assert [type(v) for v in got] == [type(v) for v in expected]
    assert code.tolist() == [1, 0, 2, 1]
    present = values.iloc[[0, 1]]
    code, got = codes_of(present)
    assert got.dtype == object and got.equals(pd.Index(present.array.categories, dtype=object))


@pytest.mark.parametrize(
    "values",
    [
        pd.Series([np.nan, "age-4-7", "age-12-17", "age-8-11", np.nan], dtype="str"),
        pd.Series(["age-12-17", None, "age-4-7", float("nan"), "age-12-17"], dtype=object),
        pd.Series(["a01", "a1", "a001", "b", "a1"], dtype=object),  # equal natural keys: set order kept
        pd.Series([pd.NA, "age-4-7"], dtype=object),
        pd.Series([12, 4, None], dtype=object),
        pd.Series([np.str_("age-8-11"), "age-4-7"], dtype=object),
        pd.Series([], dtype=object),
    ],
)
def test_natural_ranks_of_text_and_missing_values_as_dropping_and_checking_each_give(values: pd.Series) -> None:
    """Text and missing values ranked in Python give the ranks the general way gives (other values take it)."""

    distinct = sorted({str(v) for v in values.dropna()}, key=natural_key)
    place = {v: n for n, v in enumerate(distinct)}
    expected = [-1 if pd.isna(v) else place[str(v)] for v in values]
    got = natural_ranks(values)
    assert got.dtype == np.int64 and got.tolist() == expected

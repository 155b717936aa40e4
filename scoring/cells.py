"""Tables worked on as integer codes: each key column a code per row and the few values codes stand for.

A theme table has tens of thousands of cells keyed by six text columns. Grouping, joining and
sorting them by text costs a hash of every key on every step; as codes, each step is integer
arithmetic (a product of codes is a key, a bincount is a sum), and the text is put back once,
at the end, in the dtype pandas would have given the column.

The helpers here mirror, on codes, what pandas does on values: `first_seen` numbers groups as
`groupby(sort=False).ngroup()` does, `sort_ranks` orders them as `sort_values` does, and
`as_grouped` gives keys back as a group-by does.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

#: Keys are combined in int64; past this they are renumbered before the next code is added.
_COMBINED_LIMIT = 2**40


def first_seen(*codes: np.ndarray) -> np.ndarray:
    """One id per distinct combination of codes (each 0..n-1), numbered in order of first appearance.

    The same ids, in the same order, as `groupby(keys, sort=False, dropna=False).ngroup()` on
    the values the codes stand for.

    >>> first_seen(np.array([1, 0, 1, 1]), np.array([0, 0, 0, 2])).tolist()
    [0, 1, 0, 2]
    """
    size = len(codes[0]) if codes else 0
    key = np.zeros(size, dtype=np.int64)
    span = 1
    for code in codes:
        width = int(code.max()) + 1 if len(code) else 1
        if span * width > _COMBINED_LIMIT:
            key = pd.factorize(key)[0].astype(np.int64)
            span = int(key.max()) + 1 if len(key) else 1
        key = key * width + code
        span *= width
    if span <= 4 * size + 1_000_000:  # few possible keys: number them by where each first appears, no hashing
        first = np.full(span, size, dtype=np.int64)
        np.minimum.at(first, key, np.arange(size))  # each key's first row
        rows = first[key]
        seen = np.zeros(size, dtype=bool)
        seen[rows] = True
        return (np.cumsum(seen) - 1)[rows]
    return pd.factorize(key)[0].astype(np.int64)


def first_rows(ids: np.ndarray) -> np.ndarray:
    """The row where each id first appears, for ids numbered as first seen (`first_seen`): no sort needed.

    An id first seen is one more than every id before it, so its first row is where the
    running maximum rises.

    >>> first_rows(np.array([0, 1, 0, 2, 1])).tolist()
    [0, 1, 3]
    """
    if not len(ids):
        return np.zeros(0, dtype=np.int64)
    new = np.empty(len(ids), dtype=bool)
    new[0] = True
    np.greater(ids[1:], np.maximum.accumulate(ids)[:-1], out=new[1:])
    return np.flatnonzero(new)


def run_starts(values: np.ndarray) -> np.ndarray:
    """Where each run of equal neighbours begins (True at the first row): rows stored by response
    come in runs, and comparing neighbours costs less than hashing every row. Raises what the
    values' comparison raises (TypeError, ValueError) for values that cannot be compared.

    >>> run_starts(np.array([7, 7, 9, 7])).tolist()
    [True, False, True, True]
    """
    change = np.empty(len(values), dtype=bool)
    if len(values):
        change[0] = True
        np.not_equal(values[1:], values[:-1], out=change[1:])
    return change


def run_codes(values: np.ndarray, index: pd.Index, of: np.ndarray | None = None) -> np.ndarray:
    """`index.get_indexer(values)`, one lookup per run of equal values: rows stored by response come in runs.

    With `of` (an array over the index's positions, and one more for "not there"), what it
    holds for each value's position instead, also looked up once per run.

    >>> run_codes(np.array([7, 7, 9, 9, 9, 7]), pd.Index([9, 7])).tolist()
    [1, 1, 0, 0, 0, 1]
    >>> run_codes(np.array([7, 7, 8]), pd.Index([9, 7]), of=np.array([10, 20, -1])).tolist()
    [20, 20, -1]
    """
    if not len(values):
        return np.zeros(0, dtype=np.intp if of is None else of.dtype)
    starts = np.flatnonzero(run_starts(values))
    lengths = np.diff(np.append(starts, len(values)))
    found = index.get_indexer(values[starts])
    return np.repeat(found if of is None else of[found], lengths)


class IdLookup:
    """Finds each row's response among responses (their ids unique), and gives what an array over them holds for it.

    Ids are usually integers from a database sequence: then a table indexed by id finds a
    response in one read, where hashing hundreds of thousands of ids would cost more than
    summing what they key. Other ids (text, floats, a range far wider than the responses)
    are hashed once per run of equal ids (rows come by response).

    >>> IdLookup(pd.Series([10, 12, 11]), np.array([0, 1, 2]))(np.array([12, 12, 10, 99])).tolist()
    [1, 1, 0, -1]
    >>> IdLookup(pd.Series(["a", "b"]), np.array([5, 6]))(np.array(["b", "c"], dtype=object)).tolist()
    [6, -1]
    """

    def __init__(self, ids: pd.Series, per_row: np.ndarray) -> None:
        self.index = pd.Index(ids)
        self.per_row = np.append(per_row, -1)  # -1: an id not among the responses
        self.low, self.table = 0, None
        values = ids.to_numpy()
        if values.dtype.kind == "i" and len(values):
            low, high = int(values.min()), int(values.max())
            if high - low < 4 * len(values) + 1_000_000 and low > -(2**62) and high < 2**62:  # no overflow
                self.low = low
                self.table = np.full(high - low + 2, -1, dtype=np.int64)  # and one past the range: not ours
                self.table[values - low] = per_row  # ids are unique here

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        """For each id, what `per_row` holds for its response (-1 for none), as a new array."""
        table = self.table
        if table is None or ids.dtype.kind != "i" or not len(ids):
            return run_codes(ids, self.index, of=self.per_row)
        at = ids.astype(np.int64, copy=False)  # narrower ids could overflow less the lowest
        at = at - self.low if self.low else at
        if int(at.min()) < 0 or int(at.max()) >= len(table) - 1:
            at = np.where((at >= 0) & (at < len(table) - 1), at, len(table) - 1)
        return table.take(at)


def factorize_runs(values: np.ndarray, use_na_sentinel: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """`pd.factorize(values, use_na_sentinel=...)`, the same codes and uniques, hashing one value per run of equal values.

    A column of responses' keys comes in runs (a cycle or an agency for many responses in a
    row), and comparing neighbours is cheaper than a hash lookup; a value's first
    appearance always starts a run, so the order first seen is kept. Values that cannot
    be compared (a missing value that is no truth value) are factorised as they are.

    >>> code, uniques = factorize_runs(np.array(["b", "b", "a", None, "b"], dtype=object))
    >>> code.tolist(), uniques.tolist()
    ([0, 0, 1, -1, 0], ['b', 'a'])
    >>> factorize_runs(np.array(["b", "b", None, None, "a"], dtype=object), use_na_sentinel=False)[0].tolist()
    [0, 0, 1, 1, 2]
    """
    if not len(values):
        return pd.factorize(values, use_na_sentinel=use_na_sentinel)
    try:
        starts = np.flatnonzero(run_starts(values))
    except (TypeError, ValueError):
        return pd.factorize(values, use_na_sentinel=use_na_sentinel)
    if len(starts) > len(values) // 4:  # short runs (an agency per response, at random): hashed whole, no dearer
        return pd.factorize(values, use_na_sentinel=use_na_sentinel)
    code, uniques = pd.factorize(values[starts], use_na_sentinel=use_na_sentinel)
    return np.repeat(code, np.diff(np.append(starts, len(values)))), uniques


#: `factorize_repeats` compares every this-many-th value with its neighbour to judge whether values come in runs.
_SAMPLE_STEP = 64


def factorize_repeats(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`pd.factorize(values)`, by runs (`factorize_runs`) when a sample of neighbours says most are equal.

    A batch's actions give one owner or due date for many in a row, and comparing a
    neighbour costs a third of a hash lookup; values that rarely repeat their neighbour
    (free text) are hashed at once, so the comparison is not paid twice.

    >>> code, uniques = factorize_repeats(np.array(["b", "b", "a", None, "b"], dtype=object))
    >>> code.tolist(), uniques.tolist()
    ([0, 0, 1, -1, 0], ['b', 'a'])
    """
    try:
        # half the sample must repeat: a comparison costs a third of a lookup, and most runs end in a lookup
        same = np.equal(values[1::_SAMPLE_STEP], values[:-1:_SAMPLE_STEP])
        repeats = len(same) > 0 and 2 * int(np.count_nonzero(same)) >= len(same)
    except (TypeError, ValueError):  # no truth value (pd.NA): hashed as they are
        repeats = False
    return factorize_runs(values) if repeats else pd.factorize(values)


def codes_of(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes and their categories (object): free for a categorical, one hash pass otherwise.

    Missing values are a category of their own.

    >>> code, categories = codes_of(pd.Series(["b", None, "b"], dtype="category"))
    >>> code.tolist(), categories.tolist()
    ([0, 1, 0], ['b', nan])
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        categorical = values.array  # read directly: the `.cat` accessor builds a Series of codes on each use
        code = categorical.codes
        categories = categorical.categories
        if categories.dtype != object:  # held as objects already (text categories): an Index cannot change, so kept
            categories = pd.Index(categories, dtype=object)
        if (code < 0).any():
            code = np.where(code < 0, len(categories), code)
            categories = categories.append(pd.Index([np.nan], dtype=object))
        return code, categories
    code, uniques = pd.factorize(values, use_na_sentinel=False)
    return code, pd.Index(np.asarray(uniques, dtype=object), dtype=object)


def sort_ranks(values: pd.Series) -> np.ndarray:
    """Each value's place among the sorted distinct values, missing values -1: sorts as `sort_values` would.

    >>> sort_ranks(pd.Series(["b", None, "a", "b"], dtype=object)).tolist()
    [1, -1, 0, 1]
    """
    return np.asarray(pd.Categorical(values, ordered=True).codes, dtype=np.int64)


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key that compares the numbers in a text as numbers: "aged 4 to 7" before "aged 12 to 17".

    >>> sorted(["aged 12 to 17", "aged 4 to 7", "aged 8 to 11"], key=natural_key)
    ['aged 4 to 7', 'aged 8 to 11', 'aged 12 to 17']
    """
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"([0-9]+)", text) if part)


def natural_ranks(values: pd.Series) -> np.ndarray:
    """`sort_ranks` with the numbers in text compared as numbers (`natural_key`), missing values -1.

    >>> natural_ranks(pd.Series(["age-12-17", None, "age-4-7", "age-8-11"], dtype=object)).tolist()
    [2, -1, 0, 1]
    """
    items = values.tolist()
    if all(type(v) is str or v is None or (type(v) is float and v != v) for v in items):
        # text and missing values (age bands): the same ranks without dropping and checking each value in pandas,
        # which costs a few tenths of a millisecond for a handful of bands
        place = {v: n for n, v in enumerate(sorted({v for v in items if type(v) is str}, key=natural_key))}
        return np.array([place[v] if type(v) is str else -1 for v in items], dtype=np.int64)
    distinct = sorted({str(v) for v in values.dropna()}, key=natural_key)
    place = {v: n for n, v in enumerate(distinct)}
    return np.array([-1 if pd.isna(v) else place[str(v)] for v in values], dtype=np.int64)


def as_column(values: np.ndarray | str, length: int = 1) -> pd.Series:
    """Values (or one value, repeated) as a frame column holds them once assigned: pandas infers the dtype.

    >>> as_column(np.array(["a", "b"], dtype=object)).dtype == pd.Series(["a", "b"]).dtype
    True
    """
    frame = pd.DataFrame(index=pd.RangeIndex(length if isinstance(values, str) else len(values)))
    frame["value"] = values
    return frame["value"]


def as_grouped(values: dict[str, pd.Series]) -> dict[str, pd.Series]:
    """Each column's values, in order, as a group-by over those columns gives its keys back.

    A group-by over a column of text and None gives back text (missing as NaN); over a column
    with only missing values, floats. Codes stand for these values once the rows they key
    have been summed by a group-by. Each column becomes a key of a tiny group-by, with a row
    number that keeps every row a group of its own.

    >>> as_grouped({"a": pd.Series(["a", None], dtype=object)})["a"].tolist()
    ['a', nan]
    >>> as_grouped({"a": pd.Series([None, None], dtype=object), "b": pd.Series([1])})["a"].dtype
    dtype('float64')
    """
    out = {}
    lengths = {name: len(v) for name, v in values.items()}
    for name, column in values.items():
        if column.dtype != object:  # text, numbers, flags: a group-by gives them back as they are
            out[name] = column.reset_index(drop=True)
        elif not len(column):  # no values at all: alone, as it is
            out[name] = _grouped_alone(column)
    filled = {n: v for n, v in values.items() if n not in out}
    width = max((len(v) for v in filled.values()), default=0)
    if filled:
        at = np.arange(width)
        tiny = pd.DataFrame(
            {n: v.iloc[np.minimum(at, len(v) - 1)].reset_index(drop=True) for n, v in filled.items()}
            | {"_row": at, "_n": 0}
        )
        grouped = tiny.groupby([*filled, "_row"], dropna=False, sort=False, observed=True)["_n"].sum().reset_index()
        grouped = grouped.iloc[np.argsort(grouped["_row"].to_numpy(), kind="stable")].reset_index(drop=True)
        for name in filled:
            out[name] = grouped[name].iloc[: lengths[name]].reset_index(drop=True)
    return {name: out[name] for name in values}


def _grouped_alone(values: pd.Series) -> pd.Series:
    tiny = pd.DataFrame({"value": values.reset_index(drop=True), "_row": np.arange(len(values)), "_n": 0})
    out = tiny.groupby(["value", "_row"], dropna=False, sort=False, observed=True)["_n"].sum().reset_index()
    return out["value"].reset_index(drop=True)


def category_text(categorical: pd.Categorical) -> pd.api.extensions.ExtensionArray:
    """A categorical's categories as text (pandas' `str` array), to be taken by its codes: a
    column of few distinct values made text once for each, not for every row."""
    return pd.array(np.asarray(categorical.categories, dtype=object), dtype="str")


def as_text(values: pd.Series) -> pd.Series:
    """`values.astype("str")`; for a categorical, its few categories made text and taken by code.

    >>> as_text(pd.Series(["b", None, "a"], dtype="category")).tolist()
    ['b', nan, 'a']
    """
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return values.astype("str")
    categorical = values.array  # read directly: the `.cat` accessor builds a Series of codes on each use
    text = category_text(categorical).take(categorical.codes, allow_fill=True)
    return pd.Series(text, index=values.index, name=values.name)


def is_in(column: pd.Series, values: list[Any]) -> np.ndarray:
    """`column.isin(values)` as an array; for a categorical, its few categories are looked up and taken by code.

    The rules compare an items table's ratings (categoricals over a definition's scale) with
    a rule's settings: a lookup per category, not a comparison per row.

    >>> is_in(pd.Series(["met", None, "not-met"], dtype="category"), ["met"]).tolist()
    [True, False, False]
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        categorical = column.array  # read directly: the `.cat` accessor builds a Series of codes on each use
        found = np.append(categorical.categories.isin(values), False)  # a missing value (code -1) is not in
        return found[categorical.codes]
    return column.isin(values).to_numpy(dtype=bool)


def few_as_text(values: pd.Series) -> pd.Series:
    """`as_text` for a column of few distinct values (rule ids, reasons why): each distinct one made text once.

    Making text checks and converts every value; a column most of whose rows repeat a few
    texts or are missing costs a hash pass instead. Only text is shared this way (pandas
    holds 1 and True as one value, which read differently as text), so a column with other
    values, or values that cannot be hashed, is converted value by value.

    >>> few_as_text(pd.Series(["a", None, "a", "b"], dtype=object)).tolist()
    ['a', nan, 'a', 'b']
    """
    array = values.to_numpy(dtype=object)
    try:
        code, distinct = pd.factorize(array)
    except TypeError:
        return values.astype("str")
    if not all(type(value) is str for value in distinct):  # a loop over the few distinct values
        return values.astype("str")
    text = pd.array(np.asarray(distinct, dtype=object), dtype="str")
    return pd.Series(text.take(code, allow_fill=True), index=values.index, name=values.name)

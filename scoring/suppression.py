"""Small-number suppression: the one place every page, chart and download passes through.

A cell (a row of a table) with fewer than k respondents is hidden, and shown as `c`, the
symbol the Department for Education uses. Hiding one cell is not enough when the table's
totals are published (or can be added up from another table): the hidden cell would be the
total minus the cells shown. So, within every set of cells that add up to a published total,
further cells are hidden, smallest first, until at least two are hidden and together they
hold at least k respondents; the sets are checked again until nothing changes, because a
cell hidden for one set can leave another set with a single hidden cell.

Children's free text is released only for groups of at least `k_child_text` respondents (20 by
default, above the 10 for numbers: a sentence can identify a child where a count cannot).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

SUPPRESSED = "c"
MARKER_COLUMN = "suppressed"


@dataclass(frozen=True, slots=True)
class SuppressionPolicy:
    """How small a group may be before its figures or its free text are hidden.

    `k` applies to anonymous sources (practitioners, children, families); `k_by_source`
    overrides it for a source: agency self-audits are about named organisations, not people,
    so their figures are shown however few agencies there are.
    """

    k: int = 10
    k_by_source: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({"self-rating": 1, "moderated": 1}))
    k_text: int = 10
    k_child_text: int = 20
    marker: str = SUPPRESSED

    def k_for(self, source: str | None) -> int:
        """
        >>> SuppressionPolicy().k_for("child"), SuppressionPolicy().k_for("moderated")
        (10, 1)
        """
        return int(self.k_by_source.get(source, self.k)) if source is not None else self.k

    def k_for_text(self, source: str | None) -> int:
        return self.k_child_text if source == "child" else self.k_text


def _threshold(table: pd.DataFrame, k: int | pd.Series) -> pd.Series:
    if isinstance(k, pd.Series):
        return k.reindex(table.index).astype("int64")
    return pd.Series(int(k), index=table.index, dtype="int64")


def group_ids(table: pd.DataFrame, keys: Sequence[str]) -> np.ndarray:
    """One id per set of cells sharing `keys` (all cells share the empty set of keys)."""
    if not keys:
        return np.zeros(len(table), dtype=np.int64)
    return table.groupby(list(keys), dropna=False, sort=False, observed=True).ngroup().to_numpy()


def cells_to_hide(
    table: pd.DataFrame, count_col: str, k: int | pd.Series, groups: Sequence[Sequence[str]] = ()
) -> tuple[pd.Series, pd.Series]:
    """(primary, all): the cells under k, and those plus the ones hidden to protect them.

    `groups` lists, for each way the table's cells add up to a published total, the columns
    that stay fixed within it: for a table by agency and age band, `[["band"], ["agency"]]`
    (the cells of one band across agencies add up to the band's total, and the other way
    round); `[[]]` when all the cells add up to one total.
    """
    counts = table[count_col].fillna(0).astype("int64").to_numpy()
    limit = _threshold(table, k).to_numpy()
    primary, hidden = hidden_cells(counts, limit, [group_ids(table, keys) for keys in groups])
    return pd.Series(primary, index=table.index), pd.Series(hidden, index=table.index)


def hidden_cells(counts: np.ndarray, limit: np.ndarray, ids: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """`cells_to_hide` on arrays: each cell's count and k, and for each set of cells adding up to a total, its ids.

    The ids of one set are 0..n-1 (as `group_ids` gives them); a caller that already holds its
    table's keys as integer codes passes them here and skips grouping by text. Among cells of
    equal count the first in row order is hidden first.

    >>> primary, hidden = hidden_cells(np.array([3, 40, 12, 25]), np.full(4, 10), [np.zeros(4, dtype=np.int64)])
    >>> primary.tolist(), hidden.tolist()
    ([True, False, False, False], [True, False, True, False])
    """
    primary = counts < limit
    hidden = primary.copy()
    sets = []
    for gid in ids:  # what does not change from pass to pass: each set's size and its largest k
        n_groups = int(gid.max()) + 1 if len(gid) else 0
        k_max = np.zeros(n_groups, dtype=np.int64)
        np.maximum.at(k_max, gid, limit)
        sets.append((gid, n_groups, np.bincount(gid, minlength=n_groups), k_max))
    hidings = 0  # how many times cells have been hidden for others
    checked = [-1] * len(sets)  # `hidings` when each set was last checked: none hidden since, none to check
    for _ in range(len(counts) + 1):  # every pass hides at least one more cell, or stops
        before = hidings
        for at, (gid, n_groups, cells, k_max) in enumerate(sets):
            if checked[at] == hidings:  # nothing hidden since this set was found safe: it still is
                continue
            checked[at] = hidings
            hidden_rows = np.flatnonzero(hidden)  # few cells are hidden: count those, not every cell
            hidden_n = np.bincount(gid[hidden_rows], minlength=n_groups)
            hidden_total = np.bincount(gid[hidden_rows], weights=counts[hidden_rows], minlength=n_groups)
            enough = (hidden_n >= 2) & (hidden_total >= k_max)
            exposed = (hidden_n > 0) & (hidden_n < cells) & ~enough  # per set: one small enough to give away
            if not exposed.any():  # checked per set first: most passes find none, and sets are fewer than cells
                continue
            rows = np.flatnonzero(exposed[gid] & ~hidden)  # an exposed set has a cell not hidden: one more is
            hidden[_smallest_of_each(rows, gid[rows], counts[rows], n_groups)] = True
            hidings += 1
        if hidings == before:
            break
    return primary, hidden


def _smallest_of_each(rows: np.ndarray, gid: np.ndarray, counts: np.ndarray, n_groups: int) -> np.ndarray:
    """Of rows (ascending) with their sets' ids and counts, each set's row with the smallest count, the first of
    equal ones (sets in order of their ids).

    Whole counts need no sort: each set's least count, then its first row at that count. Other
    counts (fractions, NaN, which sorts last) are sorted by set and count.

    >>> _smallest_of_each(np.array([1, 4, 6, 8]), np.array([0, 1, 0, 1]), np.array([5, 3, 2, 3]), 2).tolist()
    [6, 4]
    """
    if counts.dtype.kind not in "iu" or not len(rows):
        order = np.lexsort((counts, gid))
        first = np.ones(len(order), dtype=bool)
        first[1:] = gid[order][1:] != gid[order][:-1]
        return rows[order[first]]
    least = np.full(n_groups, counts.max(), dtype=counts.dtype)
    np.minimum.at(least, gid, counts)
    at_least = np.flatnonzero(counts == least[gid])
    first = np.full(n_groups, len(rows), dtype=np.int64)
    np.minimum.at(first, gid[at_least], at_least)
    return rows[first[first < len(rows)]]


def suppress(
    table: pd.DataFrame,
    count_col: str,
    value_cols: Sequence[str],
    k: int | pd.Series,
    groups: Sequence[Sequence[str]] = (),
) -> pd.DataFrame:
    """Hide the count and values of cells under k and of the cells that would give them away.

    Returns a copy with the hidden values missing and a boolean `suppressed` column; `mark`
    turns that into the `c` shown to people. Whether a cell was hidden for being small or to
    protect another is not said, since that would tell which cells are small.

    >>> t = pd.DataFrame({"agency": ["a", "b", "c", "d"], "n": [3, 40, 12, 25], "share": [0.1, 0.5, 0.6, 0.7]})
    >>> suppress(t, "n", ["share"], 10, groups=[[]])
      agency     n  share  suppressed
    0      a  <NA>    NaN        True
    1      b    40    0.5       False
    2      c  <NA>    NaN        True
    3      d    25    0.7       False
    """
    _, hidden = cells_to_hide(table, count_col, k, groups)
    out = table.copy()
    columns = [count_col, *value_cols]
    for column in columns:
        if pd.api.types.is_integer_dtype(out[column]) or pd.api.types.is_bool_dtype(out[column]):
            out[column] = out[column].astype("Int64" if pd.api.types.is_integer_dtype(out[column]) else "boolean")
        out[column] = out[column].mask(hidden)
    out[MARKER_COLUMN] = hidden.to_numpy()
    return out


def mark(table: pd.DataFrame, value_cols: Sequence[str], marker: str = SUPPRESSED) -> pd.DataFrame:
    """The table as shown to people: hidden cells read `c` (the columns become text where needed).

    >>> t = pd.DataFrame({"n": [pd.NA, 12], "suppressed": [True, False]}).astype({"n": "Int64"})
    >>> mark(t, ["n"])["n"].tolist()
    ['c', 12]
    """
    out = table.copy()
    hidden = out[MARKER_COLUMN].astype(bool) if MARKER_COLUMN in out else pd.Series(False, index=out.index)
    for column in value_cols:
        out[column] = out[column].astype(object).mask(hidden.to_numpy(), marker)
    return out


def releasable_text(
    texts: pd.DataFrame, group_cols: Sequence[str], k: int, respondents: pd.Series | None = None
) -> pd.DataFrame:
    """Free text answers of groups with at least k respondents; none from smaller groups.

    `respondents` gives each group's respondents (indexed by `group_cols`); by default a
    group counts the distinct responses among its texts, which is never more than the group.
    """
    keys = list(group_cols)
    if respondents is None:
        size = texts.groupby(keys, dropna=False)["response_id"].transform("nunique")
    else:
        index = pd.MultiIndex.from_frame(texts[keys]) if len(keys) > 1 else pd.Index(texts[keys[0]])
        size = pd.Series(respondents.reindex(index).to_numpy(), index=texts.index).fillna(0)
    return texts.loc[size.ge(k).to_numpy()]


def recoverable(table: pd.DataFrame, hidden: pd.Series, groups: Sequence[Sequence[str]]) -> pd.Series:
    """Hidden cells that some group's total, less its shown cells, would give away exactly.

    A check usable on any published table (the tests use it): true where a cell is the only
    hidden one of a set of cells adding up to a total.
    """
    found = np.zeros(len(table), dtype=bool)
    mask = hidden.to_numpy(dtype=bool)
    for keys in groups:
        gid = group_ids(table, keys)
        n_hidden = np.bincount(gid, weights=mask)[gid]
        found |= mask & (n_hidden == 1)
    return pd.Series(found, index=table.index)

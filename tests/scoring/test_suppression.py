"""Small-number suppression on crafted tables, with a proof that hidden cells stay hidden.

The proof enumerates every table of non-negative whole numbers that agrees with what is
published (the cells shown, and every row and column total): each hidden cell must take more
than one value across them, so no subtraction can give it away.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from scoring.suppression import (
    SUPPRESSED,
    SuppressionPolicy,
    cells_to_hide,
    group_ids,
    hidden_cells,
    mark,
    recoverable,
    releasable_text,
    suppress,
)


def _grid(rows: list[list[int]]) -> pd.DataFrame:
    """A table of counts: one cell per (agency, band)."""
    return pd.DataFrame(
        [{"agency": f"a{i}", "band": f"b{j}", "n": n} for i, row in enumerate(rows) for j, n in enumerate(row)]
    )


def _solutions(table: pd.DataFrame, hidden: pd.Series, groups: list[list[str]]) -> dict[int, set[int]]:
    """Every value each hidden cell can take, given the shown cells and every group's total.

    A search over whole numbers from 0, cell by cell, cutting a branch as soon as a group's
    hidden cells add up to more than its total less its shown cells, and filling in the last
    hidden cell of a group from that difference.
    """
    unknown = list(table.index[hidden.to_numpy()])
    shown = table["n"].where(~hidden, 0)
    constraints: list[tuple[list[int], int]] = []
    for keys in groups:
        for _, group in table.groupby(keys) if keys else [(None, table)]:
            members = [i for i in group.index if i in unknown]
            if members:
                constraints.append((members, int(group["n"].sum() - shown[group.index].sum())))
    values: dict[int, set[int]] = {i: set() for i in unknown}

    def search(chosen: dict[int, int]) -> None:
        for members, total in constraints:
            known = [chosen[i] for i in members if i in chosen]
            if sum(known) > total or (len(known) == len(members) and sum(known) != total):
                return
        if len(chosen) == len(unknown):
            for i, v in chosen.items():
                values[i].add(v)
            return
        cell = next(i for i in unknown if i not in chosen)
        for members, total in constraints:
            rest = [i for i in members if i != cell]
            if cell in members and all(i in chosen for i in rest):  # the group's last cell is forced
                search({**chosen, cell: total - sum(chosen[i] for i in rest)})
                return
        bound = min(total for members, total in constraints if cell in members)
        for v in range(bound + 1):
            search({**chosen, cell: v})

    search({})
    return values


def test_primary_suppression_hides_cells_under_k() -> None:
    table = pd.DataFrame({"cell": ["a", "b", "c"], "n": [9, 10, 11], "share": [0.5, 0.6, 0.7]})
    out = suppress(table, "n", ["share"], 10)
    expected = pd.DataFrame(
        {"cell": ["a", "b", "c"], "n": [pd.NA, 10, 11], "share": [np.nan, 0.6, 0.7], "suppressed": [True, False, False]}
    ).astype({"n": "Int64"})
    assert_frame_equal(out, expected)


def test_one_hidden_cell_takes_the_next_smallest_with_it() -> None:
    table = pd.DataFrame({"agency": ["a", "b", "c", "d"], "n": [4, 50, 30, 12]})
    primary, hidden = cells_to_hide(table, "n", 10, [[]])
    assert primary.tolist() == [True, False, False, False]
    assert hidden.tolist() == [True, False, False, True]  # 12 is the next smallest


def test_two_tiny_hidden_cells_are_not_enough_when_together_under_k() -> None:
    table = pd.DataFrame({"agency": ["a", "b", "c", "d", "e"], "n": [2, 3, 40, 30, 11]})
    _, hidden = cells_to_hide(table, "n", 10, [[]])
    # 2 + 3 = 5 could be worked out from the total: hide 11 too, so the hidden cells hold 16
    assert hidden.tolist() == [True, True, False, False, True]


def test_a_group_that_is_all_small_is_all_hidden() -> None:
    table = pd.DataFrame({"agency": ["a", "b"], "n": [3, 4]})
    assert cells_to_hide(table, "n", 10, [[]])[1].tolist() == [True, True]


def test_no_small_cell_hides_nothing() -> None:
    table = pd.DataFrame({"agency": ["a", "b"], "n": [30, 40]})
    out = suppress(table, "n", [], 10, [[]])
    assert not out["suppressed"].any()


def test_groups_are_independent() -> None:
    table = pd.DataFrame({"theme": ["x", "x", "x", "y", "y", "y"], "n": [5, 20, 30, 25, 20, 30]})
    _, hidden = cells_to_hide(table, "n", 10, [["theme"]])
    assert hidden.tolist() == [True, True, False, False, False, False]


CROSS_TABLES = [
    pytest.param([[3, 20, 25], [30, 40, 35], [22, 18, 50]], id="one-small-corner"),
    pytest.param([[3, 20, 25], [30, 4, 35], [22, 18, 50]], id="two-small-on-diagonal"),
    pytest.param([[2, 3, 25], [30, 40, 35], [22, 18, 50]], id="two-small-in-a-row"),
    pytest.param([[12, 15, 2], [11, 14, 16], [13, 17, 19]], id="small-in-last-column"),
]


@pytest.mark.parametrize("rows", CROSS_TABLES)
def test_hidden_cells_cannot_be_recovered_from_row_and_column_totals(rows: list[list[int]]) -> None:
    table = _grid(rows)
    groups = [["agency"], ["band"]]  # each agency's row adds up to a total, so does each band's column
    primary, hidden = cells_to_hide(table, "n", 10, groups)
    assert primary.any()
    assert not recoverable(table, hidden, groups).any()
    for cell, values in _solutions(table, hidden, groups).items():
        assert table.loc[cell, "n"] in values
        assert len(values) > 1, f"cell {cell} is given away by the totals: it can only be {values}"


def test_without_secondary_suppression_the_proof_fails() -> None:
    """The check is not vacuous: hiding only the small cell lets the totals give it away."""
    table = _grid([[3, 20, 25], [30, 40, 35], [22, 18, 50]])
    groups = [["agency"], ["band"]]
    primary, _ = cells_to_hide(table, "n", 10, groups)
    assert recoverable(table, primary, groups).any()
    assert _solutions(table, primary, groups)[0] == {3}


def test_secondary_suppression_repeats_until_every_group_is_safe() -> None:
    # hiding a1/b1 for row a1 leaves column b1 with one hidden cell; it must be protected too
    table = _grid([[3, 11, 40], [30, 40, 35], [22, 18, 50]])
    groups = [["agency"], ["band"]]
    _, hidden = cells_to_hide(table, "n", 10, groups)
    assert not recoverable(table, hidden, groups).any()
    by_row = table.assign(h=hidden).groupby("agency")["h"].sum()
    by_column = table.assign(h=hidden).groupby("band")["h"].sum()
    assert set(by_row.unique()) <= {0, 2, 3} and set(by_column.unique()) <= {0, 2, 3}


def test_threshold_per_row() -> None:
    table = pd.DataFrame({"source": ["child", "self-rating"], "n": [4, 4]})
    policy = SuppressionPolicy()
    k = table["source"].map(policy.k_for)
    out = suppress(table, "n", [], k)
    assert out["suppressed"].tolist() == [True, False]


def test_marker_is_c_and_numbers_stay_numbers_elsewhere() -> None:
    table = pd.DataFrame({"cell": ["a", "b"], "n": [3, 40], "share": [0.2, 0.5]})
    out = mark(suppress(table, "n", ["share"], 10), ["n", "share"])
    assert out["n"].tolist() == [SUPPRESSED, 40]
    assert out["share"].tolist() == [SUPPRESSED, 0.5]
    assert SUPPRESSED == "c"


def test_children_free_text_needs_twenty_respondents() -> None:
    texts = pd.DataFrame(
        {"response_id": range(30), "school": ["big"] * 25 + ["small"] * 5, "text": [f"t{i}" for i in range(30)]}
    )
    policy = SuppressionPolicy()
    shown = releasable_text(texts, ["school"], policy.k_for_text("child"))
    assert set(shown["school"]) == {"big"}
    assert policy.k_for_text("child") == 20 and policy.k_for_text("practitioner") == 10


def test_free_text_threshold_counts_the_group_not_the_texts() -> None:
    texts = pd.DataFrame({"response_id": [1, 2], "school": ["big", "big"], "text": ["a", "b"]})
    respondents = pd.Series({"big": 40})
    assert len(releasable_text(texts, ["school"], 20, respondents)) == 2
    assert releasable_text(texts, ["school"], 20).empty


def test_hidden_cells_on_codes_equal_cells_to_hide_on_the_table() -> None:
    rng = np.random.default_rng(8)
    table = pd.DataFrame(
        {"agency": rng.integers(0, 12, 400), "band": rng.integers(0, 3, 400), "n": rng.integers(0, 30, 400)}
    ).drop_duplicates(["agency", "band"])
    groups = [["band"], ["agency"]]
    primary, hidden = cells_to_hide(table, "n", 10, groups)
    ids = [group_ids(table, keys) for keys in groups]
    got_primary, got_hidden = hidden_cells(table["n"].to_numpy(), np.full(len(table), 10), ids)
    assert got_primary.tolist() == primary.tolist() and got_hidden.tolist() == hidden.tolist()
    assert not recoverable(table, hidden, groups).any()


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint16", "float64"])
def test_each_sets_smallest_cell_is_the_first_of_equal_counts_as_a_sort_finds_it(dtype: str) -> None:
    """Whole counts are not sorted to find each set's smallest cell: the same cells as sorting finds."""
    from scoring.suppression import _smallest_of_each

    rng = np.random.default_rng(3)
    rows = np.sort(rng.choice(5_000, 900, replace=False))
    gid = rng.integers(0, 60, len(rows))  # some sets without rows
    counts = rng.integers(0, 6, len(rows)).astype(dtype)  # many ties
    order = np.lexsort((counts, gid))
    first = np.ones(len(order), dtype=bool)
    first[1:] = gid[order][1:] != gid[order][:-1]
    assert _smallest_of_each(rows, gid, counts, 60).tolist() == rows[order[first]].tolist()
    assert _smallest_of_each(rows[:0], gid[:0], counts[:0], 60).tolist() == []


def _hidden_by_every_set_every_pass(counts: np.ndarray, limit: np.ndarray, ids: list[np.ndarray]) -> np.ndarray:
    """Complementary suppression as the module docstring states it, one cell at a time: the plain reference."""
    hidden = counts < limit
    changed = True
    while changed:
        changed = False
        for gid in ids:
            for group in np.unique(gid):
                cells = np.flatnonzero(gid == group)
                shown = cells[~hidden[cells]]
                mine = cells[hidden[cells]]
                safe = len(mine) >= 2 and counts[mine].sum() >= limit[cells].max()
                if len(mine) and len(shown) and not safe:
                    hidden[shown[np.argmin(counts[shown])]] = True  # the first of the smallest
                    changed = True
    return hidden


@pytest.mark.parametrize("seed", range(12))
def test_sets_found_safe_are_not_checked_again_until_a_cell_is_hidden(seed: int) -> None:
    """Cells hidden for several sets over several passes are those the plain rule hides, set by set."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {"agency": rng.integers(0, 15, 300), "band": rng.integers(0, 4, 300), "n": rng.integers(6, 40, 300)}
    ).drop_duplicates(["agency", "band"])  # few cells under k: hiding one for a set exposes others
    table["sector"] = table["agency"] % 3
    ids = [group_ids(table, keys) for keys in (["band"], ["band", "sector"], ["agency"])]
    counts, limit = table["n"].to_numpy(), np.where(table["agency"].to_numpy() % 4 == 0, 1, 10)
    _, hidden = hidden_cells(counts, limit, ids)
    assert hidden.tolist() == _hidden_by_every_set_every_pass(counts, limit, ids).tolist()

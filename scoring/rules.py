"""The compliance rules R1-R8, each implemented once, vectorised over a table of items.

A definition declares its rules with their settings (`Rule(id, kind, params)`); nothing here
knows a threshold, an evidence age or a share of its own. Each function takes the rows a rule
applies to and returns them with the rule's effect, so a rule can be tested alone on a small
table and run on a whole cycle in one call.

The item rules (R1, R3, R4, R5) read an **items** table, one row per audit and rating item:

| column | meaning |
| --- | --- |
| `response_id`, `section_id`, `question_id` | the audit's response, the standard, the item |
| `weight`, `mandatory` | from the definition |
| `answered` | the rating the agency chose (missing when not answered) |
| `rating` | the rating that counts, after the rules so far |
| `decided_by`, `why` | the rule that last lowered `rating`, and why, in words |
| `evidence_count` | pieces of evidence listed for the item |
| `reason` | the not applicable reason, if any |
| `has_action` | an action with what, owner and due date is there |
| `applicable` | the item counts in the standard's score |

`options` is `frames.option_frame(questionnaire)`: the rules compare ratings by their scores, so
"downgrade" means "lower to, never raise to".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from questionnaires.model import Rule
from questionnaires.wording import long_date
from scoring.cells import as_text, category_text, codes_of, few_as_text, first_rows, first_seen, is_in
from scoring.frames import by_distinct, codes, has_text, of_type

PROBLEM_COLUMNS = ["response_id", "section_id", "question_id", "rule", "message"]

#: R6 is not declared in definitions: a moderated rating always replaces the self rating.
MODERATION = "moderation"

#: Each kind of rule as explanations name it, after saying what happened: its number in the
#: design (DESIGN.md section 4), which people can look up, and what it asks, in a few words.
RULE_NAMES: Mapping[str, str] = {
    "evidence_for_met": "rule R1: Met needs evidence",
    "standard_rating": "rule R2: a standard's rating comes from its items",
    "not_applicable_reason": "rule R3: when an item can be not applicable",
    "evidence_age": "rule R4: evidence must be recent",
    "action_for_shortfall": "rule R5: a shortfall needs an action",
    MODERATION: "rule R6: a moderated rating is used in reports",
    "action_progress": "rule R7: how an action's progress is rated",
    "triangulation": "rule R8: a Met rating is checked against practitioners' answers",
}


def rule_name(kind: str, rule_id: str | None = None) -> str:
    """The rule of this kind in brackets, for the end of an explanation; a kind not known reads by its id.

    >>> rule_name("evidence_age")
    '(rule R4: evidence must be recent)'
    """
    return f"({RULE_NAMES.get(kind) or f'rule {rule_id or kind}'})"


def _applies(items: pd.DataFrame, applies: pd.Series | None) -> np.ndarray:
    """Whether the rule applies to each item: `applies` on the items' index, false where it has no row."""
    if applies is None:
        return np.ones(len(items), dtype=bool)
    if applies.index.equals(items.index):  # as a batch gives it: no reindexing
        return applies.to_numpy(dtype=bool)
    return applies.reindex(items.index, fill_value=False).to_numpy(dtype=bool)


def _equals(column: pd.Series, value: object) -> np.ndarray:
    """`column.eq(value)` as an array; a categorical looks the value up among its categories (`is_in`),
    and text with NaN for missing (as `score_audits` gives ratings) is compared as Python objects,
    which costs a third of pandas' comparison of text.

    >>> _equals(pd.Series(["met", None, "not-met"], dtype="str"), "met").tolist()
    [True, False, False]
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        return is_in(column, [value])
    if isinstance(value, str) and isinstance(column.dtype, pd.StringDtype) and column.dtype.na_value is np.nan:
        return column.to_numpy(dtype=object) == value
    return column.eq(value).to_numpy(dtype=bool)


def _present(column: pd.Series) -> np.ndarray:
    """`column.notna()` as an array; a categorical (an items table's ratings) read from its codes, -1 for missing.

    >>> _present(pd.Series(["met", None], dtype="category")).tolist()
    [True, False]
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.array.codes >= 0  # read directly, as `is_in` does
    return column.notna().to_numpy()


def _is_zero(column: pd.Series) -> np.ndarray:
    """`column.fillna(0).eq(0)` as an array: missing counts as none."""
    if column.dtype.kind in "iu":
        return column.to_numpy() == 0
    return column.fillna(0).eq(0).to_numpy(dtype=bool)


def option_rows(options: pd.DataFrame, question_ids: pd.Series, values: pd.Series) -> np.ndarray:
    """The row of `options` of each (question_id, value) pair, `len(options)` where there is none.

    Two hash lookups (question, value) into a small table; callers that need several of an
    option's columns take them all from these rows. Categorical columns (an items table's)
    are looked up by their few categories instead, and their codes taken.
    """
    if isinstance(question_ids.dtype, pd.CategoricalDtype) and isinstance(values.dtype, pd.CategoricalDtype):
        return _category_rows(options, question_ids.array, values.array)
    q_code, q_index = pd.factorize(options["question_id"].to_numpy(dtype=object))
    v_code, v_index = pd.factorize(options["value"].to_numpy(dtype=object))
    table = np.full((len(q_index) + 1, len(v_index) + 1), len(options), dtype=np.intp)
    table[q_code, v_code] = np.arange(len(options))
    q_index, v_index = pd.Index(q_index, dtype=object), pd.Index(v_index, dtype=object)
    return table[codes(question_ids, q_index), codes(values, v_index)]


def _category_rows(options: pd.DataFrame, question_ids: pd.Categorical, values: pd.Categorical) -> np.ndarray:
    """`option_rows` for categoricals: each option placed on the categories, one table cell each, then taken by code.

    A batch's items are tens of thousands of rows over a few dozen categories: the options
    are looked up among the categories once, and each row reads its cell by its codes, with
    no hash per row. A missing value's code, -1, reads the last row or column: no option.
    """
    return _category_table(options, question_ids.categories, values.categories)[question_ids.codes, values.codes]


#: What `_kept` built, by name and the ids of what it was built from (kept, so ids are not reused).
_KEPT: dict[tuple[object, ...], tuple[tuple[object, ...], np.ndarray]] = {}
_KEPT_SIZE = 32
_KEPT_LOCK = threading.Lock()


def _kept(name: str, parts: tuple[object, ...], build: Callable[[], np.ndarray]) -> np.ndarray:
    """`build()`, kept for the very objects `parts` it reads (an option frame's arrays, an items table's categories).

    Scoring a batch looks options up a dozen times over the same categories (the items
    table's, made once per definition) and the same option frame: what is built from them
    is built once. It is keyed by the objects themselves, which pandas never changes in
    place (a changed option frame has new arrays), so what is kept is never stale.
    """
    key = (name, *map(id, parts))
    with _KEPT_LOCK:  # pages may score from several threads
        found = _KEPT.get(key)
    if found is not None and all(a is b for a, b in zip(found[0], parts, strict=True)):
        return found[1]
    built = build()
    built.flags.writeable = False  # shared by every caller
    with _KEPT_LOCK:
        if len(_KEPT) >= _KEPT_SIZE:  # a few definitions are scored at a time: the oldest goes
            _KEPT.pop(next(iter(_KEPT)))
        _KEPT[key] = (parts, built)
    return built


def _category_table(options: pd.DataFrame, question_ids: pd.Index, values: pd.Index) -> np.ndarray:
    """The option row of each (question category, value category) pair, `len(options)` where there is none.

    Built once for an option frame and an items table's categories (`_kept`). A later
    option of the same question and value wins.
    """
    asked, given = options["question_id"].to_numpy(dtype=object), options["value"].to_numpy(dtype=object)

    def build() -> np.ndarray:
        q_at = codes(asked, pd.Index(question_ids, dtype=object))
        v_at = codes(given, pd.Index(values, dtype=object))
        known = (q_at >= 0) & (v_at >= 0)
        table = np.full((len(question_ids) + 1, len(values) + 1), len(options), dtype=np.intp)
        table[q_at[known], v_at[known]] = np.flatnonzero(known)
        return table

    return _kept("rows", (asked, given, question_ids, values), build)


def option_column(options: pd.DataFrame, rows: np.ndarray, column: str) -> np.ndarray:
    """`column` of the options at `rows` (from `option_rows`): NaN or None where there is no option."""
    found = options[column].to_numpy()
    if found.dtype.kind == "f":
        return np.append(found, np.nan)[rows]
    return np.append(found.astype(object), None)[rows]


def option_lookup(options: pd.DataFrame, question_ids: pd.Series, values: pd.Series, column: str) -> pd.Series:
    """`column` of the option (question_id, value) for each row; missing where there is none.

    >>> from questionnaires import load_all
    >>> from scoring.frames import option_frame
    >>> opts = option_frame(load_all()["s11-self-audit"])
    >>> option_lookup(opts, pd.Series(["s1.1", "s1.1"]), pd.Series(["met", "x"]), "label").tolist()
    ['Met', nan]
    """
    rows = option_rows(options, question_ids, values)
    return pd.Series(option_column(options, rows, column), index=question_ids.index)


def _downgrade(
    items: pd.DataFrame, hit: pd.Series | np.ndarray, to: str, rule_id: str, why: pd.Series | str, options: pd.DataFrame
) -> pd.DataFrame:
    """Lower `rating` to `to` where `hit` and `to` scores less than the rating now counted.

    Scores are looked up for the hit items only: a rule hits a few items of a batch.
    """
    rows = np.flatnonzero(np.asarray(hit, dtype=bool) & _present(items["rating"]))
    question_ids, ratings = items["question_id"].array, items["rating"].array
    score = np.append(options["score"].to_numpy(dtype="float64"), np.nan)
    if isinstance(question_ids, pd.Categorical) and isinstance(ratings, pd.Categorical) and to in ratings.categories:
        # an items table's categoricals: the rating now and the target read from one table, by their codes
        table = _category_table(options, question_ids.categories, ratings.categories)
        asked = question_ids.codes[rows]
        now = score[table[asked, ratings.codes[rows]]]
        target = score[table[asked, ratings.categories.get_loc(to)]]
    else:
        taken = items["question_id"].iloc[rows]
        now = score[option_rows(options, taken, items["rating"].iloc[rows])]
        target = score[option_rows(options, taken, pd.Series(to, index=taken.index, dtype=object))]
    lower = np.zeros(len(items), dtype=bool)
    lower[rows[target < now]] = True  # a rating or target without a score (NaN) is never lowered
    if not lower.any():
        return items.copy(deep=False)
    return items.assign(
        rating=_lowered(items["rating"], lower, to),
        decided_by=_put(items["decided_by"], lower, rule_id),
        why=_put(items["why"], lower, why),
    )


def _lowered(rating: pd.Series, lower: np.ndarray, to: str) -> pd.Series:
    """`rating.mask(lower, to)`; an items table's categorical has `to`'s code written in, its categories kept.

    Masking a categorical checks and aligns the whole column; writing a code is an array copy.
    """
    ratings = rating.array
    if not isinstance(ratings, pd.Categorical) or to not in ratings.categories:
        return rating.mask(lower, to)
    code = ratings.codes.copy()
    code[lower] = ratings.categories.get_loc(to)
    return pd.Series(pd.Categorical.from_codes(code, dtype=ratings.dtype), index=rating.index, name=rating.name)


def _put(column: pd.Series, where: np.ndarray, value: pd.Series | str) -> pd.Series:
    """`column.mask(where, value)`, `value` one value or a Series on the column's index.

    The rules write a rule id and a reason why into object columns of a whole batch: a
    numpy copy and assignment costs less than pandas' alignment and checks. Other dtypes
    are left to pandas.
    """
    if column.dtype != object or (isinstance(value, pd.Series) and not value.index.equals(column.index)):
        return column.mask(where, value)
    values = column.to_numpy(copy=True)
    values[where] = value.to_numpy(dtype=object)[where] if isinstance(value, pd.Series) else value
    return pd.Series(values, index=column.index, name=column.name, dtype=object, copy=False)  # a copy already


def evidence_for_met(
    items: pd.DataFrame, rule: Rule, options: pd.DataFrame, applies: pd.Series | None = None
) -> pd.DataFrame:
    """R1: an item counted `met` with no evidence listed counts as `downgrade_to` instead.

    Real S11 tools ask that every claim be "backed by evidence"; a claim without any is the
    commonest reason a moderation panel lowers a rating, so the score lowers it first.
    """
    met, to = rule.params["met"], rule.params["downgrade_to"]
    hit = _applies(items, applies) & _equals(items["rating"], met) & _is_zero(items["evidence_count"])
    return _downgrade(items, hit, to, rule.id, f"no evidence is listed {rule_name(rule.kind, rule.id)}", options)


def evidence_age(
    items: pd.DataFrame,
    evidence: pd.DataFrame,
    rule: Rule,
    options: pd.DataFrame,
    as_of: date,
    applies: pd.Series | None = None,
) -> pd.DataFrame:
    """R4: evidence of the listed types dated more than `max_age_years` before `as_of` lowers the item.

    `evidence` has one row per piece: `response_id`, `item_id` (the rating item it supports),
    `title`, `type`, `date`. Any piece of those types that is too old counts, not only the
    newest: the explanation names the oldest and counts the others as old, so an agency can
    remove superseded documents or review them. Evidence without a date is not judged old. `as_of` is the date the audit is
    scored (its submission), so a stored score does not change as the calendar moves.
    """
    dated = pd.to_datetime(evidence["date"], errors="coerce").to_numpy(dtype="datetime64[ns]")
    pieces = np.flatnonzero(_too_old(dated, evidence["type"], rule, as_of))
    rows = np.flatnonzero(_applies(items, applies))  # only the items the rule applies to
    # (audit, item) of the old pieces and of the items, as one code each: the same pair, the same code
    response, _ = pd.factorize(
        np.concatenate([evidence["response_id"].to_numpy()[pieces], items["response_id"].to_numpy()[rows]]),
        use_na_sentinel=False,
    )
    item, item_ids = pd.factorize(
        np.concatenate(
            [evidence["item_id"].to_numpy(dtype=object)[pieces], items["question_id"].to_numpy(dtype=object)[rows]]
        ),
        use_na_sentinel=False,
    )
    pair = response.astype(np.int64) * max(len(item_ids), 1) + item
    oldest, old_count = _oldest(pair[: len(pieces)], dated[pieces])
    at = pd.Index(pair[oldest]).get_indexer(pair[len(pieces) :])
    hit = np.zeros(len(items), dtype=bool)
    hit[rows[at >= 0]] = True
    named = at[at >= 0]
    found = pieces[oldest[named]]
    titles = evidence["title"].to_numpy(dtype=object)[found]
    return _aged(items, hit, titles, dated[found], old_count[named] - 1, rule, options, as_of)


def evidence_age_of_rows(
    items: pd.DataFrame,
    item_rows: np.ndarray,
    titles: np.ndarray,
    types: pd.Series,
    dated: np.ndarray,
    rule: Rule,
    options: pd.DataFrame,
    as_of: date,
    applies: pd.Series | None = None,
) -> pd.DataFrame:
    """R4 (`evidence_age`) for pieces whose items row each is known: `item_rows`, the row of the item it supports.

    Scoring a batch places each answer in its row of the items grid, so its evidence needs
    no matching by audit and item. `titles` are as stored (made text for the pieces an
    explanation names only), `types` text and `dated` datetime64[ns], one per piece.
    """
    pieces = np.flatnonzero(_too_old(dated, types, rule, as_of) & _applies(items, applies)[item_rows])
    oldest, old_count = _oldest(item_rows[pieces], dated[pieces])
    found = pieces[oldest]
    hit = np.zeros(len(items), dtype=bool)
    hit[item_rows[found]] = True  # rows in order: the oldest are sorted by row first
    named = pd.Series(titles[found], dtype=object).astype("str").to_numpy(dtype=object)
    return _aged(items, hit, named, dated[found], old_count - 1, rule, options, as_of)


def _too_old(dated: np.ndarray, types: pd.Series, rule: Rule, as_of: date) -> np.ndarray:
    """Which pieces R4 judges out of date: of the listed types, dated before `as_of` less `max_age_years`."""
    years = float(rule.params["max_age_years"])
    cutoff = pd.Timestamp(as_of) - pd.DateOffset(years=int(years), days=round((years % 1) * 365.25))
    old = dated < cutoff.to_datetime64()  # a piece without a date (NaT) is never old
    listed = list(rule.params.get("evidence_types") or [])
    if listed:
        old &= types.isin(listed).to_numpy(dtype=bool)
    return old


def _oldest(pair: np.ndarray, dated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each pair's oldest piece (the first listed of equally old ones), in order of pair, and its pieces counted.

    Sorted by pair, date and place.
    """
    order = np.lexsort((np.arange(len(pair)), dated, pair))
    ordered = pair[order]
    firsts = np.flatnonzero(np.append(True, ordered[1:] != ordered[:-1])) if len(order) else order
    return order[firsts], np.diff(np.append(firsts, len(order)))


def _aged(
    items: pd.DataFrame,
    hit: np.ndarray,
    titles: np.ndarray,
    dated: np.ndarray,
    others: np.ndarray,
    rule: Rule,
    options: pd.DataFrame,
    as_of: date,
) -> pd.DataFrame:
    """R4's effect on the items `hit`, in order: the oldest piece of each (its title, its date) and how many others."""
    years = float(rule.params["max_age_years"])
    limit = f"{years:g} year" + ("" if years == 1 else "s")
    # the others as old are counted, not named: the agency reviews them all, not only the oldest
    also = np.select(
        [others == 1, others > 1],
        [
            ", and so is 1 other piece given for it",
            _text(", and so are ", others.astype(str), " other pieces given for it"),
        ],
        "",
    ).astype(object)
    why = np.full(len(items), pd.NA, dtype=object)
    why[hit] = _text(
        "‘",
        titles,
        "’, given as evidence, is dated ",
        long_dates(pd.Series(dated)),
        f", more than {limit} before the audit on {long_date(as_of)}",
        also,
        f" {rule_name(rule.kind, rule.id)}",
    )
    # as objects, as the why column holds them: left to infer, pandas checks every value to make it text
    reasons = pd.Series(why, index=items.index, dtype=object, copy=False)
    return _downgrade(items, hit, rule.params["downgrade_to"], rule.id, reasons, options)


def _problems(items: pd.DataFrame, hit: pd.Series, rule_id: str, message: np.ndarray) -> pd.DataFrame:
    """Problem rows for the items `hit`; `message` holds one message per hit item, in order."""
    rows = np.flatnonzero(np.asarray(hit, dtype=bool))
    return pd.DataFrame(
        {
            "response_id": _rows_of(items["response_id"], rows),
            "section_id": _text_at(items["section_id"], rows),
            "question_id": _text_at(items["question_id"], rows),
            "rule": pd.array(np.full(len(rows), rule_id, dtype=object), dtype="str"),
            "message": pd.array(message, dtype="str"),
        }
    )


def _rows_of(column: pd.Series, rows: np.ndarray) -> pd.Series:
    """`column.iloc[rows].reset_index(drop=True)`; a numpy column taken as an array, with no index to take and drop.

    >>> _rows_of(pd.Series([5, 6, 7], index=[2, 1, 0]), np.array([2, 0])).tolist()
    [7, 5]
    """
    if isinstance(column.dtype, np.dtype):
        return pd.Series(column.to_numpy()[rows], name=column.name, dtype=column.dtype, copy=False)
    return column.iloc[rows].reset_index(drop=True)


def _text_at(column: pd.Series, rows: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """`as_text` of the column's `rows`; a categorical's few categories made text and taken by code.

    Problems take a few rows of a batch's items: only those are read, with no Series between.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        categorical = column.array  # read directly, as `is_in` does
        return category_text(categorical).take(categorical.codes[rows], allow_fill=True)
    return as_text(column.iloc[rows]).array


def empty_problems(items: pd.DataFrame) -> pd.DataFrame:
    """No problems, with the columns and key types problems of these items would have."""
    keys = items.iloc[0:0][["response_id", "section_id", "question_id"]].astype(
        {"section_id": "str", "question_id": "str"}
    )
    return keys.assign(rule=pd.Series(dtype="str"), message=pd.Series(dtype="str")).reset_index(drop=True)


def not_applicable_reason(
    items: pd.DataFrame, rule: Rule, options: pd.DataFrame, applies: pd.Series | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """R3: not applicable needs a reason, and a mandatory item cannot be not applicable.

    Returns the items and the problems that block submission. A not applicable item leaves
    the denominators whatever happens here (the scale says so); an item that is mandatory
    and answered not applicable is not counted at all (`rating` missing), so its standard is
    not rated until it is answered properly, rather than rated as if it did not apply.
    """
    applies_ = _applies(items, applies)
    rows = option_rows(options, items["question_id"], items["answered"])
    na = applies_ & np.equal(option_column(options, rows, "not_applicable"), True)
    least = int(rule.params.get("min_reason_length", 1))
    length = _length(items["reason"], na).to_numpy()
    mandatory = items["mandatory"].to_numpy(dtype=bool)
    short = na & (length < least) & ~mandatory
    refused = na & mandatory
    out = items.copy(deep=False)
    if refused.any():
        out = items.assign(
            rating=items["rating"].mask(refused, pd.NA),
            applicable=items["applicable"] & ~refused,
            decided_by=_put(items["decided_by"], refused, rule.id),
            why=_put(
                items["why"],
                refused,
                f"it applies to every agency, so it cannot be not applicable {rule_name(rule.kind, rule.id)}",
            ),
        )
    flagged = short | refused
    # a message depends on the item and whether it was refused: written once for each pair
    at = np.flatnonzero(flagged)
    asked = items["question_id"]
    # the pairs numbered from the questions' codes and the flags at those rows: no Series of them between
    key = first_seen(codes_of(asked)[0][at], refused[at].astype(np.int64))
    first = first_rows(key)
    question = question_labels(options, asked.iloc[at[first]])
    message = np.where(
        refused[at[first]],
        _text(question, " must be answered: it is required of every agency, so it cannot be not applicable"),
        _text(question, f" is not applicable: say why, in at least {least} characters"),
    )[key]
    return out, _problems(items, flagged, rule.id, message)


def action_for_shortfall(
    items: pd.DataFrame, rule: Rule, options: pd.DataFrame, applies: pd.Series | None = None
) -> pd.DataFrame:
    """R5: an item rated as a shortfall needs an action with what, owner and due date.

    Reads the rating the agency chose, not the one counted after R1 or R4: the audit asks
    for an action only where the agency's own rating is a shortfall, so that is what a
    submission can be held to. Returns the problems that block submission.
    """
    shortfall = list(rule.params["shortfall"])
    has_action = items["has_action"]
    acted = has_action.to_numpy() if has_action.dtype == bool else has_action.fillna(False).to_numpy(dtype=bool)
    hit = _applies(items, applies) & is_in(items["answered"], shortfall) & ~acted
    at = np.flatnonzero(hit)
    if not len(at):  # most batches have every shortfall's action: no message to write
        return _problems(items, hit, rule.id, np.zeros(0, dtype=object))
    question_ids, answered = items["question_id"].iloc[at], items["answered"].iloc[at]
    # a message depends on the item and its rating: written once for each pair
    key, first = _distinct_rows(question_ids, answered)
    label = option_column(options, option_rows(options, question_ids.iloc[first], answered.iloc[first]), "label")
    message = _text(
        question_labels(options, question_ids.iloc[first]),
        " is rated ",
        label,
        ": add an action saying what will be done, who owns it and when it is due",
    )[key]
    return _problems(items, hit, rule.id, message)


def _distinct_rows(*columns: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each row's number among the distinct combinations of `columns` (as first seen), and the first row of each.

    Problems and phrases are written for a few distinct items and ratings and taken by
    these numbers, rather than once per row of a batch.
    """
    key = first_seen(*(codes_of(column)[0] for column in columns))
    return key, first_rows(key)


def _text(*parts: pd.Series | np.ndarray | str) -> np.ndarray:
    """Concatenate text parts element-wise (missing parts read as empty), as an object array.

    Plain numpy object addition: the explanations are built per item and per standard, and
    this is several times cheaper than pandas' string arithmetic with its missing-value checks.

    >>> _text("s1.1 ", pd.Series(["Met", None]), "!").tolist()
    ['s1.1 Met!', 's1.1 !']
    """
    arrays = []
    for part in parts:
        if isinstance(part, str):
            arrays.append(part)
        else:
            values = part.to_numpy(dtype=object) if isinstance(part, pd.Series) else np.asarray(part, dtype=object)
            arrays.append(np.where(pd.isna(values), "", values).astype(object))
    out = arrays[0] if not isinstance(arrays[0], str) else np.full(_size(parts), arrays[0], dtype=object)
    for part in arrays[1:]:
        out = out + part
    return out


def _size(parts: tuple[pd.Series | np.ndarray | str, ...]) -> int:
    return next(len(p) for p in parts if not isinstance(p, str))


def question_labels(options: pd.DataFrame, question_ids: pd.Series | np.ndarray) -> np.ndarray:
    """Each question as explanations name it: its words quoted (`option_frame`'s `question_label`).

    Called for the few rows that need words (distinct phrases, problems), never per answer.
    A question the options do not know reads as its id, so a malformed row still says which.

    >>> from questionnaires import load_all
    >>> from scoring.frames import option_frame
    >>> opts = option_frame(load_all()["s11-self-audit"])
    >>> question_labels(opts, pd.Series(["s2.1", "x"])).tolist()
    ['‘Do you have a written safeguarding policy that has been…’', 'x']
    """
    if isinstance(question_ids, pd.Series) and isinstance(question_ids.dtype, pd.CategoricalDtype):
        # an items table's questions: their few categories named once for this option frame, taken by code
        categorical = question_ids.array  # read directly, as `is_in` does
        categories = categorical.categories
        read = (options["question_id"].to_numpy(dtype=object), options["question_label"].to_numpy(dtype=object))
        named = _kept("labels", (*read, categories), lambda: np.append(_labels(options, categories), np.nan))
        return named[categorical.codes]
    return _labels(options, question_ids)


def _labels(options: pd.DataFrame, question_ids: pd.Series | pd.Index | np.ndarray) -> np.ndarray:
    """`question_labels`, each value looked up."""
    asked = options["question_id"].to_numpy(dtype=object)
    first = first_rows(pd.factorize(asked, use_na_sentinel=False)[0])  # each question's first option
    at = codes(question_ids, pd.Index(asked[first], dtype=object))
    out = np.append(options["question_label"].to_numpy(dtype=object)[first], None)[at]
    unknown = at < 0
    if unknown.any():
        out[unknown] = np.asarray(question_ids, dtype=object)[unknown]
    return out


def long_dates(dates: pd.Series) -> pd.Series:
    """Dates in words as `questionnaires.wording.long_date` writes them, for a column; missing stays missing.

    >>> long_dates(pd.Series(pd.to_datetime(["2021-03-01", None]))).tolist()
    ['1 March 2021', nan]
    """
    # written once per distinct date (an audit cycle's evidence shares few), then taken per row:
    # strftime on every row cost as much as the rest of R4
    at, distinct = pd.factorize(dates)
    words = np.array([long_date(day.date()) for day in distinct] + [np.nan], dtype=object)
    return pd.Series(words[at], index=dates.index, dtype=object)


def _length(text: pd.Series, where: np.ndarray) -> pd.Series:
    """Characters in each text, spaces at the ends not counted; 0 where missing or not asked (`where` false)."""
    out = np.zeros(len(text), dtype=np.int64)
    mine = text.to_numpy(dtype=object)[where]
    is_text = of_type(mine, str)
    lengths = np.zeros(len(mine), dtype=np.int64)
    lengths[is_text] = np.fromiter(map(len, map(str.strip, mine[is_text])), dtype=np.int64, count=int(is_text.sum()))
    out[where] = lengths
    return pd.Series(out, index=text.index, copy=False)


def _fmt(values: pd.Series) -> pd.Series:
    """Whole numbers as text for explanations; '-' where missing."""
    return values.round().astype("Int64").astype("str").fillna("-")


def _distinct_phrases(items: pd.DataFrame, options: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each item's number among the distinct phrases (as first seen), and those phrases: one per
    item, saying what the standard's rule read, the answer and what counted.

    A phrase depends on the item, the answer, the rating counted, the number of pieces of
    evidence and the rule that decided: a batch has few distinct phrases, so each is written
    once and given to every item that reads the same.

    >>> from questionnaires import load_all
    >>> from scoring.frames import option_frame
    >>> opts = option_frame(load_all()["s11-self-audit"])
    >>> items = pd.DataFrame({"question_id": ["s1.1", "s1.2"], "answered": ["met", "met"],
    ...     "rating": ["met", "partially-met"], "decided_by": [None, "evidence-for-met"],
    ...     "why": [None, "no evidence is listed"], "evidence_count": [2, 0], "reason": [None, None],
    ...     "applicable": [True, True]})
    >>> key, phrases = _distinct_phrases(items, opts)
    >>> for phrase in phrases[key]:
    ...     print(phrase)
    ‘Is a named person at board level responsible for…’ is rated Met, with 2 pieces of evidence
    ‘Does your board or senior team get a safeguarding report…’ is rated Met but counts as Partially met because no evidence is listed
    """
    try:
        # a reason is given when it has more than spaces: judged once per distinct reason
        given = by_distinct(items["reason"].to_numpy(dtype=object), has_text, False)
        count = _evidence_counts(items)
        key = first_seen(
            *(codes_of(items[c])[0] for c in ("question_id", "answered", "rating")),
            pd.factorize(count)[0],
            given.astype(np.int64),
            *(_sparse_codes(items[c]) for c in ("decided_by", "why")),
        )
    except TypeError:  # a value that cannot be hashed (a malformed row): write every phrase
        return np.arange(len(items)), _phrases(items, options).to_numpy(dtype=object)
    first = first_rows(key)  # numbered as first seen: its first rows, in order, without a sort
    return key, _phrases(items.iloc[first], options).to_numpy(dtype=object)


def _sparse_codes(values: pd.Series) -> np.ndarray:
    """Codes 1.. of the values there are, 0 where missing: a rule decides a few items of a batch.

    One hash pass: a missing value's code, -1, becomes 0.
    """
    return pd.factorize(values.to_numpy(dtype=object))[0].astype(np.int64) + 1


def _evidence_counts(items: pd.DataFrame) -> np.ndarray:
    """Pieces of evidence listed for each item, none where missing, as int64: an items grid's count is that already."""
    count = items["evidence_count"]
    if count.dtype == np.int64:
        return count.to_numpy()
    return count.fillna(0).astype("int64").to_numpy()


def _phrases(items: pd.DataFrame, options: pd.DataFrame) -> pd.Series:
    """`_distinct_phrases`' phrases, written for every row (of a few hundred distinct ones: plain string formatting)."""
    qid = items["question_id"]
    answered_rows = option_rows(options, qid, items["answered"])
    answered = option_column(options, answered_rows, "label")
    counted = option_column(options, option_rows(options, qid, items["rating"]), "label")
    na = np.equal(option_column(options, answered_rows, "not_applicable"), True)
    count = _evidence_counts(items)
    given = _length(items["reason"], na).gt(0).to_numpy()
    rows = zip(
        question_labels(options, qid),
        map(_plain, answered),
        map(_plain, counted),
        na,
        count.tolist(),
        given,
        items["decided_by"].to_numpy(dtype=object),
        map(_plain, items["why"].to_numpy(dtype=object)),
        _present(items["rating"]),
        _present(items["answered"]),
        strict=True,
    )
    return pd.Series([_phrase(*row) for row in rows], index=items.index, dtype=object)


def _plain(value: object) -> object:
    """A part of a sentence: missing values read as empty."""
    return "" if _missing(value) else value


def _missing(value: object) -> Any:
    """`pd.isna(value)`, answered at once for text and None: the parts of phrases are mostly those.

    A phrase reads several parts, and `pd.isna` of a single value costs a microsecond.
    """
    if type(value) is str:
        return False
    return value is None or pd.isna(value)


def _phrase(
    question: str,
    answered: str,
    counted: str,
    na: bool,
    count: int,
    given: bool,
    decided_by: object,
    why: str,
    has_rating: bool,
    was_answered: bool,
) -> str:
    """What the standard's rule read of one item; the more exact description wins.

    `question` is the item's words, quoted; `why` (from the rule that decided) names its rule.
    """
    if not was_answered:
        return f"{question} is not answered"
    if not _missing(decided_by):
        if not has_rating:
            return f"{question} is rated {answered} but is not counted because {why}"
        return f"{question} is rated {answered} but counts as {counted} because {why}"
    if na:
        return f"{question} is rated {answered}, " + ("with a reason" if given else "with no reason given")
    evidence = (
        "no evidence" if count == 0 else f"{count} piece of evidence" if count == 1 else f"{count} pieces of evidence"
    )
    return f"{question} is rated {answered}, with {evidence}"


def _explained(head: list[str], phrases: np.ndarray, gid: np.ndarray) -> list[str]:
    """Each group's `head`, then its rows' phrases in row order ("Answers read: ..."): one str.join per group.

    The explanations are the longest text a batch writes, so each is made in one f-string
    over a list slice; rows already in group order (an items grid) are not sorted again.

    >>> _explained(["B.", "A."], np.array(["a", "b", "c"], dtype=object), np.array([1, 0, 1]))
    ['B. Answers read: b.', 'A. Answers read: a; c.']
    """
    in_order = bool(np.all(gid[1:] >= gid[:-1]))
    texts = (phrases if in_order else phrases[np.argsort(gid, kind="stable")]).tolist()
    bounds = np.concatenate([[0], np.cumsum(np.bincount(gid, minlength=len(head)))]).tolist()
    return [
        f"{h} Answers read: {'; '.join(texts[a:b])}." for h, a, b in zip(head, bounds[:-1], bounds[1:], strict=True)
    ]


def _distinct_explained(
    head_key: np.ndarray, head: np.ndarray, key: np.ndarray, phrases: np.ndarray, gid: np.ndarray
) -> np.ndarray:
    """`_explained` for each group, each distinct explanation written once and taken for every group that reads it.

    A group's explanation is its head (`head[head_key]`) and its rows' phrases (`phrases[key]`)
    in row order, so groups with the same head and the same phrases, in order, read the
    same: a batch's audits repeat many. Each group's phrase numbers are laid out in a row of
    a table (one column per place in the group) and the distinct rows numbered.
    """
    groups = len(head_key)
    order = np.argsort(gid, kind="stable")
    sizes = np.bincount(gid, minlength=groups)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    place = np.arange(len(gid)) - starts[gid[order]]  # each row's place within its group
    read = np.zeros((groups, int(sizes.max()) if groups else 0), dtype=np.int64)  # 0: no row there
    read[gid[order], place] = key[order] + 1
    same = first_seen(head_key, *read.T)
    one = first_rows(same)  # the first group of each distinct explanation, in order
    written = np.zeros(groups, dtype=bool)
    written[one] = True
    rows = written[gid]
    texts = _explained(head[head_key[one]].tolist(), phrases[key[rows]], (np.cumsum(written) - 1)[gid[rows]])
    return np.array(texts, dtype=object)[same]


def standard_rating(items: pd.DataFrame, rule: Rule, options: pd.DataFrame, scale: pd.DataFrame) -> pd.DataFrame:
    """R2: one rating per audit and standard, from its items after R1, R3 and R4.

    Met only when every applicable item counts as `met`; otherwise the first of the declared
    thresholds whose `min_score` the weighted 0-100 score reaches. The score is the mean of
    the items' scores put on 0-100 (`option_frame`'s `score_100`), weighted by each item's
    `weight` and re-normalised over the items that apply, so not applicable items change
    neither the numerator nor the denominator. A standard with an item not answered (or
    answered in a way R3 refuses) is not rated; one where no item applies is not applicable.

    `scale` is the option frame of the standard's rating scale (value, label, score,
    not_applicable), giving the standard's labels. Returns one row per (response_id,
    section_id) with `self_rating`, `score_100`, counts, `rule` and `explanation`.
    """
    met = rule.params["met"]
    thresholds = list(rule.params["thresholds"])
    label = dict(zip(scale["value"], scale["label"], strict=True))
    na_value = next(iter(scale["value"].to_numpy(dtype=object)[scale["not_applicable"].to_numpy(dtype=bool)]), None)

    rows = option_rows(options, items["question_id"], items["rating"])
    score = option_column(options, rows, "score_100")
    rated = _present(items["rating"])
    counted = items["applicable"].to_numpy(dtype=bool) & rated
    counted &= ~np.equal(option_column(options, rows, "not_applicable"), True)
    weight = items["weight"].to_numpy(dtype="float64")
    keys = ["response_id", "section_id"]
    gid = first_seen(*(codes_of(items[k])[0] for k in keys))
    groups = int(gid.max()) + 1 if len(gid) else 0
    first = first_rows(gid)
    sums = {
        "items": np.ones(len(items)),
        "applicable": counted.astype("float64"),
        "met": (counted & _equals(items["rating"], met)).astype("float64"),
        "unanswered": (~rated).astype("float64"),
        "weighted": np.where(counted, score * weight, 0.0),
        "weight": np.where(counted, weight, 0.0),
    }
    total = {name: np.bincount(gid, weights=values, minlength=groups) for name, values in sums.items()}
    n = {name: np.rint(total[name]).astype("int64") for name in ("items", "applicable", "met", "unanswered")}
    with np.errstate(divide="ignore", invalid="ignore"):
        score_100 = np.where(total["weight"] > 0, total["weighted"] / total["weight"], np.nan)

    reached = np.full(groups, None, dtype=object)
    floor = np.full(groups, np.nan)
    for threshold in reversed(thresholds):  # the first threshold reached wins, so write it last
        ok = score_100 >= float(threshold["min_score"])
        reached[ok] = threshold["rating"]
        floor[ok] = float(threshold["min_score"])
    below = pd.isna(reached) & ~np.isnan(score_100)
    reached[below] = thresholds[-1]["rating"] if thresholds else None
    all_met = (n["applicable"] > 0) & (n["met"] == n["applicable"])
    incomplete = n["unanswered"] > 0
    none_apply = (n["applicable"] == 0) & ~incomplete
    rating = reached.copy()
    rating[all_met] = met
    rating[none_apply] = na_value
    rating[incomplete] = None

    # the text before the items read depends on a few numbers: written once per distinct set of them
    head_key = first_seen(
        pd.factorize(rating, use_na_sentinel=False)[0],
        pd.factorize(floor, use_na_sentinel=False)[0],
        pd.factorize(np.rint(score_100), use_na_sentinel=False)[0],
        *(pd.factorize(n[name])[0] for name in ("applicable", "met", "unanswered")),
        below.astype(np.int64),
    )
    one = first_rows(head_key)
    head = _standard_text(
        rule,
        label,
        met,
        na_value,
        rating[one],
        floor[one],
        score_100[one],
        {name: values[one] for name, values in n.items()},
        below[one],
    )
    explanation = _distinct_explained(head_key, head, *_distinct_phrases(items, options), gid)
    return pd.DataFrame(
        {
            # each standard's keys taken from its first item's row: no frame of the items' keys between
            "response_id": _rows_of(items["response_id"], first),
            "section_id": _text_at(items["section_id"], first),
            "self_rating": few_as_text(pd.Series(rating, dtype=object)),
            "score_100": score_100.astype("float64"),
            "items": n["items"],
            "applicable": n["applicable"],
            "met": n["met"],
            "unanswered": n["unanswered"],
            "rule": pd.array([rule.id] * len(explanation), dtype="str"),
            "explanation": pd.array(explanation, dtype="str"),
        }
    )


def _standard_text(
    rule: Rule,
    label: Mapping[Any, Any],
    met: str,
    na_value: object,
    rating: np.ndarray,
    floor: np.ndarray,
    score_100: np.ndarray,
    n: Mapping[str, np.ndarray],
    below: np.ndarray,
) -> np.ndarray:
    """What decided each standard's rating, in words (the explanation before the items read).

    Written per distinct standard (a few hundred in a batch), so plain string formatting.
    """
    met_label = str(label.get(met, met))
    na_label = label.get(na_value, "Not applicable")
    name = rule_name(rule.kind, rule.id)
    lowest = _whole(min((float(t["min_score"]) for t in rule.params["thresholds"]), default=np.nan))
    # the lowest rating is better told by the next one the score did not reach: "is below 50,
    # the least for Partially met", not "reaches 0" (read as "fell to 0") nor "50 reaches 10,
    # the least for Not met" (read as a bar passed)
    ordered = sorted((float(t["min_score"]), str(t["rating"])) for t in rule.params["thresholds"])
    next_up = {ordered[0][0]: ordered[1]} if len(ordered) > 1 else {}
    rows = zip(
        rating.tolist(),
        floor.tolist(),
        score_100.tolist(),
        n["applicable"].tolist(),
        n["met"].tolist(),
        n["unanswered"].tolist(),
        below.tolist(),
        strict=True,
    )
    out = []
    for value, least, score, applicable, met_n, unanswered, is_below in rows:
        rating_label = _plain(label.get(value, np.nan) if value is not None else np.nan)
        if unanswered > 0:
            items = "1 item is" if unanswered == 1 else f"{unanswered} items are"
            out.append(f"Not rated: {items} not answered or cannot be counted {name}.")
        elif applicable == 0:
            out.append(f"{na_label}: no item applies {name}.")
        elif met_n == applicable:
            items = "the 1 item that applies is" if applicable == 1 else f"all {applicable} items that apply are"
            out.append(f"{met_label}: {items} {met_label}, a weighted score of {_whole(score)} out of 100 {name}.")
        else:
            # "counts as", as the items read say: an item rated Met that a rule lowered is not counted Met
            if met_n == 0:
                counts = (
                    f"none of the {applicable} items that apply counts as"
                    if applicable > 1
                    else "the 1 item that applies does not count as"
                )
            else:
                counts = f"{met_n} of the {applicable} items that apply " + ("counts as" if met_n == 1 else "count as")
            scored = f"{rating_label}: {counts} {met_label}, and the weighted score of {_whole(score)} out of 100"
            if is_below:
                out.append(
                    f"{scored} is below {lowest}, the least any rating needs, so it takes the lowest rating {name}."
                )
            elif least in next_up:
                above, better = next_up[least]
                out.append(f"{scored} is below {_whole(above)}, the least for {_plain(label.get(better))} {name}.")
            else:
                out.append(f"{scored} reaches {_whole(least)}, the least for {rating_label} {name}.")
    return np.array(out, dtype=object)


def _whole(value: float) -> str:
    """A whole number for explanations (halves to even, as pandas rounds); '-' where missing."""
    return "-" if np.isnan(value) else str(int(np.rint(value)))


def moderate(standards: pd.DataFrame, moderation: pd.DataFrame | None, scale: pd.DataFrame) -> pd.DataFrame:
    """R6: a moderated rating replaces the self rating in reports; both are kept and compared.

    `moderation` has (`response_id`, `section_id`, `moderated_rating`). Adds
    `moderated_rating`, `reported_rating`, `rating_source` ('self' or 'moderated') and
    `moderation` ('agreed', 'raised' or 'lowered' by the moderator, missing when not
    moderated), and says so at the end of the explanation.
    """
    keys = ["response_id", "section_id"]
    out = standards.drop(columns=["moderated_rating"]) if "moderated_rating" in standards else standards
    if moderation is None or moderation.empty:
        return _unmoderated(out)
    table = moderation.drop_duplicates(keys, keep="last").set_index(keys)["moderated_rating"]
    found = table.reindex(pd.MultiIndex.from_arrays([out["response_id"], out["section_id"]]))
    moderated = pd.Series(found.to_numpy(), index=out.index, dtype="str")
    has = moderated.notna().to_numpy()
    comparison = pd.Series(pd.NA, index=out.index, dtype="str")
    explanation = out["explanation"].astype("str")
    if has.any():  # compared and explained where a moderator rated: a few standards of a batch
        mine_rating, theirs_rating = out["self_rating"][has], moderated[has]
        label = pd.Series(scale["label"].to_numpy(), index=scale["value"])
        score = pd.Series(scale["score"].to_numpy(), index=scale["value"])
        mine, theirs = mine_rating.map(score), theirs_rating.map(score)
        compared = pd.Series(
            np.select([mine.eq(theirs), theirs.gt(mine), theirs.lt(mine)], ["agreed", "raised", "lowered"], default=""),
            index=mine.index,
        ).mask(mine_rating.isna(), pd.NA)
        compared = compared.mask(compared.isna() & theirs_rating.eq(mine_rating), "agreed")
        comparison[has] = compared
        own = mine_rating.map(label).astype("str")
        # "this standard", not "it": the note follows the answers read, and "it" read as the last item
        changed = (
            " The sub-group moderated this standard to "
            + theirs_rating.map(label).astype("str")
            + (", which reports use instead of the agency's own rating, " + own).fillna(
                ", which reports use; the agency's own answers did not rate it"
            )
        )
        # the same rating is not used "instead of" the agency's own: say the sub-group agreed
        agreed = compared.eq("agreed").fillna(False).to_numpy(dtype=bool) & mine_rating.notna().to_numpy()
        note = (
            changed.mask(
                agreed, " The sub-group moderated this standard and agreed with the agency's own rating, " + own
            )
            + f" {rule_name(MODERATION)}."
        )
        explanation[has] = explanation[has] + note.fillna("")
    reported = moderated.fillna(out["self_rating"]) if has.any() else out["self_rating"]
    # the two sources made text once and taken for each standard
    source = pd.array(["self", "moderated"], dtype="str").take(has.astype(np.intp))
    return out.assign(
        moderated_rating=moderated,
        reported_rating=reported.astype("str"),
        rating_source=pd.Series(source, index=out.index),
        moderation=comparison,
        explanation=explanation,
    )


def _unmoderated(standards: pd.DataFrame) -> pd.DataFrame:
    """`moderate` with no moderation: each standard reports its own rating, and no column needs comparing.

    Scoring an audit as it is submitted, before any moderation, takes this way: it builds
    no column it would only find empty, and leaves text columns (as `standard_rating`
    gives them) as they are.
    """
    missing = pd.Series(pd.NA, index=standards.index, dtype="str")
    source = pd.array(np.full(len(standards), "self", dtype=object), dtype="str")
    return standards.assign(
        moderated_rating=missing,
        reported_rating=_as_str(standards["self_rating"]),
        rating_source=pd.Series(source, index=standards.index),
        moderation=missing,
        explanation=_as_str(standards["explanation"]),
    )


#: pandas' text dtype, which the standards' text columns hold.
_STR = pd.api.types.pandas_dtype("str")


def _as_str(column: pd.Series) -> pd.Series:
    """`column.astype("str")`, with no copy of a column that is text already."""
    return column if column.dtype == _STR else column.astype("str")


def action_progress(actions: pd.DataFrame, rule: Rule, as_of: date) -> pd.DataFrame:
    """R7: the RAG status of each action from its progress (per cent done) and due date.

    Overdue (due before `as_of`, not finished) with less than `overdue_red_below` done is red
    whatever else; otherwise red below `red_below`, green from `green_from`, amber between.
    Adds `overdue`, `rag` and `explanation`; `actions` needs `due` and `progress`. An overdue action
    with enough done to stay off red is rated by its progress, and its explanation says it is
    overdue and since when: the rating alone would hide it.
    """
    params: Mapping[str, Any] = rule.params
    red_below, green_from = float(params["red_below"]), float(params["green_from"])
    overdue_red = float(params["overdue_red_below"])
    progress = pd.to_numeric(actions["progress"], errors="coerce").fillna(0).clip(0, 100)
    due = pd.to_datetime(actions["due"], errors="coerce")
    overdue = due.lt(pd.Timestamp(as_of)) & progress.lt(100)
    late_red = overdue & progress.lt(overdue_red)
    rag = pd.Series(
        np.select([late_red, progress.lt(red_below), progress.ge(green_from)], ["red", "red", "green"], "amber"),
        index=actions.index,
        dtype="str",
    )
    done = _fmt(progress) + "% done"
    name = rule_name(rule.kind, rule.id)
    # overdue with enough done is rated by its progress, but says it is overdue, and why not red
    late = (overdue & ~late_red).to_numpy()
    lead = (done + ", ").astype(object)
    if late.any():
        lead[late] = (
            "overdue since " + long_dates(due[late]) + " with " + done[late] + f", at least the {overdue_red:g}%"
            " an overdue action needs; "
        ).to_numpy()
    explanation = (
        rag.str.capitalize()
        + ": "
        + lead
        + pd.Series(
            np.select(
                [progress.lt(red_below), progress.ge(green_from)],
                [f"under the {red_below:g}% needed for amber", f"at least the {green_from:g}% needed for green"],
                f"between the {red_below:g}% needed for amber and the {green_from:g}% needed for green",
            ),
            index=actions.index,
        )
        + f" {name}."
    )
    explanation = explanation.mask(
        late_red,
        "Red: overdue since "
        + long_dates(due)
        + " with "
        + done
        + f", under the {overdue_red:g}% an overdue action needs {name}.",
    )
    return actions.assign(overdue=overdue.astype(bool), rag=rag, explanation=explanation.astype("str"))


def triangulation(
    standards: pd.DataFrame, practitioner: pd.DataFrame, rule: Rule, on: list[str], met_label: str | None = None
) -> pd.DataFrame:
    """R8: flag a standard an agency rates `met` while too few of its practitioners agree.

    `standards` has `on` (e.g. agency_id, cycle), `section_id` and `self_rating`;
    `practitioner` has one row per practitioner answer to a question matching a standard:
    `on`, `section_id`, `positive`, `in_base` (don't know and not applicable are out of the
    base). Each standard gets the practitioners' answers in base, how many were positive,
    their share and `triangulation`: 'flag' (rated met, share below `min_positive_share`),
    'no-flag', 'not-enough-answers' (fewer than `min_respondents`) or 'not-checked' (not
    rated met). `met_label` is how the explanation writes the met rating (its option label).
    """
    n, positive = _practitioner_counts(standards, practitioner, [*on, "section_id"])
    return triangulation_of_counts(standards, n, positive, rule, met_label)


def _practitioner_counts(
    standards: pd.DataFrame, practitioner: pd.DataFrame, keys: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Per standard, the practitioner answers in the base with its `keys` values, and how many are positive."""
    base = practitioner["in_base"].to_numpy(dtype=bool)
    everything = bool(base.all())  # answers matched to standards are all in the base: no copies then
    # each key as codes shared by both sides (equal values, as a join matches them)
    mine, theirs, sizes = [], [], []
    for key in keys:
        code, uniques = codes_of(practitioner[key])
        found = uniques.get_indexer(pd.Index(standards[key].to_numpy(dtype=object), dtype=object))
        theirs.append(code if everything else code[base])
        mine.append(np.where(found < 0, len(uniques), found))
        sizes.append(len(uniques) + 1)  # each key's codes, and one for "not there"
    positive_of = practitioner["positive"].to_numpy(dtype=bool)
    return counts_by_codes(theirs, mine, sizes, positive_of if everything else positive_of[base])


def counts_by_codes(
    theirs: list[np.ndarray], mine: list[np.ndarray], sizes: list[int], positive_of: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per standard, the answers whose key codes (`theirs`, one array per key) equal its own (`mine`), and how many are positive.

    A key's codes run below its size (both sides' codes of one key mean the same values).
    One id per combination of keys, then a count per id.
    """
    counted = len(theirs[0])
    if np.prod(sizes, dtype=float) <= 4 * counted + 1_000_000:  # few combinations: a key is their number
        answer_ids, standard_ids = np.zeros(counted, dtype=np.int64), np.zeros(len(mine[0]), dtype=np.int64)
        for t, m, size in zip(theirs, mine, sizes, strict=True):
            answer_ids *= size  # in place: an answer's id is built in one array
            answer_ids += t
            standard_ids = standard_ids * size + m
        groups = int(np.prod(sizes))
    else:
        ids = first_seen(*(np.concatenate([t, m]) for t, m in zip(theirs, mine, strict=True)))
        answer_ids, standard_ids = ids[:counted], ids[counted:]
        groups = int(ids.max()) + 1 if len(ids) else 0
    n = np.bincount(answer_ids, minlength=groups)[standard_ids].astype("int64")
    positive = np.rint(np.bincount(answer_ids, weights=positive_of, minlength=groups)[standard_ids]).astype("int64")
    return n, positive


def triangulation_of_counts(
    standards: pd.DataFrame, n: np.ndarray, positive: np.ndarray, rule: Rule, met_label: str | None = None
) -> pd.DataFrame:
    """R8 once each standard's practitioner answers in the base (`n`, int64) and positive ones are counted.

    What `triangulation` does after counting, for a caller that counts them its own way
    (`standards.triangulate` counts from codes, without a frame of the answers).
    """
    met = rule.params["met"]
    least_share = float(rule.params["min_positive_share"])
    least_n = int(rule.params["min_respondents"])
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n > 0, positive / np.maximum(n, 1), np.nan)
    rated_met = _equals(standards["self_rating"], met)
    case = np.select([~rated_met, n < least_n, share < least_share], [0, 1, 2], 3)
    # The explanation depends on the case and the numbers its words give: written once per distinct
    # set of them. Not checked gives none and too few answers only the count, so those standards (most
    # of a batch: few rate themselves met) share a few explanations, whatever their shares. The others
    # are keyed by their exact counts, not their rounded share: 1 of 300 rounds to 0 % as none does,
    # but reads "only 0.3 % of", not "none of".
    words_n = np.where(case == 0, 0, n)
    words_positive = np.where(case <= 1, -1, positive)
    key = first_seen(case, words_n, words_positive + 1)  # counts: codes as they are (-1 for none: 0)
    one = first_rows(key)
    text = _triangulation_text(rule, met_label or met, least_n, least_share, case[one], n[one], share[one])
    # Both text columns are made text from their few distinct values and taken by code: making
    # thousands of values text looks at each one.
    status = pd.array(["not-checked", "not-enough-answers", "flag", "no-flag"], dtype="str").take(case)
    return standards.assign(
        practitioner_answers=n,
        practitioner_positive=positive,
        positive_share=share.astype("float64"),
        triangulation=pd.Series(status, index=standards.index, copy=False),
        triangulation_explanation=pd.Series(pd.array(text, dtype="str").take(key), index=standards.index, copy=False),
    )


#: R8 counts the answers in the base only: a practitioner who said "don't know" answered, but is not
#: counted, so "too few answered" says so, or 13 practitioners could read that only 4 answered.
NOT_COUNTED = " (not counting don't know or not applicable)"


def _triangulation_text(
    rule: Rule, met: str, least_n: int, least_share: float, case: np.ndarray, n: np.ndarray, share: np.ndarray
) -> np.ndarray:
    """What R8 found for each standard, in words, by its case (0 not rated met, 1 too few answers, 2 flag, 3 not).

    `met` is the met rating's label. Written once per distinct case and numbers.
    """
    name = rule_name(rule.kind, rule.id)
    count = n.astype(str).astype(object)
    people = np.where(n == 1, " practitioner", " practitioners").astype(object)
    pct = np.array([_whole(value) for value in (share * 100).tolist()], dtype=object)  # few: each in Python
    # none at all reads as words: "no practitioners answered", not "0 practitioners";
    # "none of the 12 practitioners", not "only 0% of 12 practitioners"
    answered = np.where(n == 0, "no practitioners", _text(count, people)).astype(object)
    positive = np.where(
        share > 0,
        _text("only ", pct, "% of ", count, people, " answered positively"),
        np.where(
            n == 1,
            "the 1 practitioner did not answer positively",
            _text("none of the ", count, people, " answered positively"),
        ),
    ).astype(object)
    return np.select(
        [case == 0, case == 1, case == 2],
        [
            np.full(len(case), f"Not checked: the standard is not rated {met} {name}.", dtype=object),
            _text("Not enough answers to check: ", answered, f" answered{NOT_COUNTED}, {least_n} needed {name}."),
            _text(
                f"Flagged: rated {met}, but ",
                positive,
                f", under the {least_share * 100:g}% needed {name}.",
            ),
        ],
        _text("Not flagged: ", pct, "% of ", count, people, f" answered positively {name}."),
    )

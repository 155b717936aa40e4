"""Theme tables: per theme, measure, source, agency or sector, age band and cycle.

Built from stored per-response sums (`surveys.score_survey(...).themes` for surveys,
`audit_theme_scores` for audits), never from answers, so a dashboard costs a group-by over
a few rows per response. Each cell has its respondents, answers in the base, positive (or
compliant) answers, their share, the mean 0-100 score and the change in share since the
source's previous cycle.

`responses` describes each response once: `response_id`, `source` (practitioner, child,
family; audits name theirs in the units), `cycle` (a label that sorts in time order, e.g.
"2025-26"), and for breakdowns `agency_id`, `sector`, `age_band`.

Sources: `self-rating` and `moderated` count standards (rated Met = compliant; the mean is
the standard's weighted score for self-ratings and the moderated rating's place on the scale
for moderation); `practitioner`, `child` and `family` count answers (positive share, mean
0-100 score, don't know and not applicable out of the base).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from questionnaires.model import Questionnaire
from scoring.cells import (
    IdLookup,
    as_column,
    as_grouped,
    codes_of,
    factorize_runs,
    first_rows,
    first_seen,
    natural_ranks,
    sort_ranks,
)
from scoring.frames import memo, option_frame, question_frame, theme_pairs
from scoring.suppression import MARKER_COLUMN, SuppressionPolicy, hidden_cells, suppress

SOURCE_OF_AUDIENCE = {"practitioner": "practitioner", "child": "child", "family": "family"}
AUDIT_SOURCES = ("self-rating", "moderated")
SUM_COLUMNS = ["answers", "positive", "score_sum"]
THEME_TABLE_COLUMNS = [
    "theme",
    "measure",
    "source",
    "cycle",
    "group",
    "age_band",
    "respondents",
    "answers",
    "positive",
    "share",
    "mean_100",
    "change",
]
VALUE_COLUMNS = ["answers", "positive", "share", "mean_100", "change"]

By = Literal["agency", "sector"] | None


def source_of(questionnaire: Questionnaire) -> str:
    """The theme tables' source for a survey's responses.

    >>> from questionnaires import load_all
    >>> source_of(load_all()["child-experience"])
    'child'
    """
    return SOURCE_OF_AUDIENCE.get(questionnaire.audience, questionnaire.audience)


@dataclass(frozen=True, slots=True)
class _AuditThemes:
    """Which (theme, measure) pairs each standard of an audit definition carries, and its rating scale."""

    sections: pd.Index  # the standards
    start: np.ndarray  # per standard: its first pair
    count: np.ndarray  # per standard: how many pairs
    theme_of: np.ndarray  # per pair: code into `themes`
    measure_of: np.ndarray  # per pair: code into `measures`
    themes: np.ndarray  # sorted
    measures: np.ndarray  # sorted
    theme_text: pd.api.extensions.ExtensionArray  # `themes` as text, to be taken by code
    measure_text: pd.api.extensions.ExtensionArray  # `measures` as text
    met: str
    met_at: int  # where `met` is on `scale` (-1: not on it)
    scale: pd.Index  # rating values
    place: np.ndarray  # per value of `scale` (and one past: a value not on it), its 0-100 score
    not_applicable: np.ndarray  # per value of `scale` (and one past), whether it is not applicable


def _audit_themes(questionnaire: Questionnaire) -> _AuditThemes:
    questions = question_frame(questionnaire)
    ratings = questions.loc[questions["type"].eq("rating") & questions["scored"]]
    pairs = theme_pairs(ratings).merge(ratings[["question_id", "section_id"]], on="question_id")
    pairs = pairs[["section_id", "theme", "measure"]].drop_duplicates()
    sections = pd.Index(pd.unique(pairs["section_id"].to_numpy(dtype=object)), dtype=object)
    owner = sections.get_indexer(pairs["section_id"].to_numpy(dtype=object))
    order = np.argsort(owner, kind="stable")
    themes = np.sort(pd.unique(pairs["theme"].to_numpy(dtype=object)))
    measures = np.sort(pd.unique(pairs["measure"].to_numpy(dtype=object)))
    count = np.bincount(owner, minlength=len(sections))
    met = {r.id: r.params["met"] for r in questionnaire.rules.values() if r.kind == "standard_rating"}
    options = option_frame(questionnaire)
    scale = options.loc[options["question_id"].isin(ratings["question_id"])].drop_duplicates("value")
    values = pd.Index(scale["value"].to_numpy(dtype=object), dtype=object)
    met_of_rules = next(iter(met.values()), "met")
    return _AuditThemes(
        sections=sections,
        start=np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64),
        count=count,
        theme_of=pd.Index(themes).get_indexer(pairs["theme"].to_numpy(dtype=object)[order]),
        measure_of=pd.Index(measures).get_indexer(pairs["measure"].to_numpy(dtype=object)[order]),
        themes=themes,
        measures=measures,
        theme_text=pd.array(themes, dtype="str"),
        measure_text=pd.array(measures, dtype="str"),
        met=met_of_rules,
        met_at=int(values.get_indexer([met_of_rules])[0]),
        scale=values,
        place=np.append(scale["score_100"].to_numpy(dtype="float64"), np.nan),
        not_applicable=np.append(scale["not_applicable"].to_numpy(dtype=bool), False),
    )


def audit_theme_scores(questionnaire: Questionnaire, standards: pd.DataFrame) -> pd.DataFrame:
    """Per audit, theme, measure and source (self-rating, moderated): standards rated, met, score sum.

    A standard carries the themes and measures of its rating items. Standards not rated
    (incomplete) or not applicable are left out; moderated rows only where a moderator rated.
    Rows come sorted by audit, theme, measure and source: each rated standard is repeated
    once per pair of its section and counted into bins keyed by those codes, in that order.
    """
    layout = memo(questionnaire, "audit-themes", lambda: _audit_themes(questionnaire))
    response, responses = pd.factorize(standards["response_id"], sort=True)
    section = layout.sections.get_indexer(pd.Index(standards["section_id"].to_numpy(dtype=object), dtype=object))
    n_themes, n_measures = len(layout.themes), len(layout.measures)
    sources = np.array(["moderated", "self-rating"], dtype=object)  # sorted, as the rows are
    keys, positives, scores = [], [], []
    for source, column in ((1, "self_rating"), (0, "moderated_rating")):
        value = layout.scale.get_indexer(pd.Index(standards[column].to_numpy(dtype=object), dtype=object))
        value = np.where(value < 0, len(layout.scale), value)  # a value off the scale scores nothing
        given = standards[column].notna().to_numpy() & ~layout.not_applicable[value]
        rated = np.flatnonzero(given & (section >= 0) & (response >= 0))
        score = standards["score_100"].to_numpy(dtype="float64")[rated] if source == 1 else layout.place[value[rated]]
        if layout.met_at >= 0:  # Met is on the scale: a rating is Met where its place on it is Met's
            positive = value[rated] == layout.met_at
        else:
            positive = standards[column].eq(layout.met).to_numpy(dtype=bool)[rated]
        n = layout.count[section[rated]]
        at = np.repeat(rated, n)
        pair = layout.start[section[at]] + (np.arange(len(at)) - np.repeat(np.cumsum(n) - n, n))
        keys.append(
            ((response[at].astype(np.int64) * n_themes + layout.theme_of[pair]) * n_measures + layout.measure_of[pair])
            * 2
            + source
        )
        positives.append(np.repeat(positive, n))
        scores.append(np.repeat(np.nan_to_num(score, nan=0.0), n))
    key = np.concatenate(keys)
    space = len(responses) * n_themes * n_measures * 2
    if space <= 4 * len(key) + 1_000_000:
        answers = np.bincount(key, minlength=space)
        present = np.flatnonzero(answers)
        cell = key
        answers = answers[present]
    else:
        cell, present = pd.factorize(key, sort=True)
        answers = np.bincount(cell, minlength=len(present))
    size = len(present) if cell is not key else space
    positive = np.bincount(cell, weights=np.concatenate(positives), minlength=size)
    score_sum = np.bincount(cell, weights=np.concatenate(scores), minlength=size)
    if cell is key:
        positive, score_sum = positive[present], score_sum[present]
    rest, source = np.divmod(present, 2)
    rest, measure = np.divmod(rest, n_measures)
    response, theme = np.divmod(rest, n_themes)
    return pd.DataFrame(
        {
            "response_id": np.asarray(responses)[response] if len(responses) else standards["response_id"].iloc[:0],
            # each made text once and taken by code: making 21,000 values text checks each one
            "theme": layout.theme_text.take(theme),
            "measure": layout.measure_text.take(measure),
            "source": pd.array(sources, dtype="str").take(source),
            "answers": answers.astype("int64"),
            "positive": np.rint(positive).astype("int64"),
            "score_sum": score_sum.astype("float64"),
        },
        copy=False,  # fresh arrays: kept as they are rather than copied into one block per dtype
    )


def with_source(units: pd.DataFrame, source: str) -> pd.DataFrame:
    """Per-response sums with a constant `source` column (a categorical: free to add, cheap to group)."""
    return units.assign(source=pd.Categorical.from_codes(np.zeros(len(units), dtype=np.int8), [source]))


@dataclass(frozen=True, slots=True)
class _Summed:
    """Units summed per cell: a cell is a combination of response keys (a group) and unit keys."""

    meta: pd.DataFrame  # the responses, each once
    group_rows: np.ndarray  # per group (combinations of the response keys, first seen first): its first row of `meta`
    group_codes: dict[str, np.ndarray]  # per response key: per group, a code for its value, first seen first
    group: np.ndarray  # per cell: its group
    codes: dict[str, np.ndarray]  # per unit key: per cell, a code into its categories
    categories: dict[str, pd.Index]  # per unit key: the values of its codes (object)
    sums: dict[str, np.ndarray]  # respondents (int64) and SUM_COLUMNS (float64) per cell
    combo: np.ndarray  # per cell: its combination of unit keys (a column of `combo_codes`)
    combo_codes: dict[str, np.ndarray]  # per unit key: per combination, a code into its categories

    def groups(self) -> pd.DataFrame:
        """One row per group: its values of the response keys (with none, a single row of no columns)."""
        if not self.group_codes:
            return pd.DataFrame(index=[0])
        return self.meta[list(self.group_codes)].iloc[self.group_rows].reset_index(drop=True)

    def key_values(self, key: str) -> pd.Series:
        """The value of each of a response key's codes (in first-seen order), in `meta`'s dtype, from
        the codes already made (no hashing)."""
        rows = self.group_rows[first_rows(self.group_codes[key])]
        column = self.meta[key]  # taken from its array, in its dtype: selecting rows of a Series costs more
        return pd.Series(column.array.take(rows), dtype=column.dtype, name=key, copy=False)


def _summed(
    frames: Sequence[pd.DataFrame], responses: pd.DataFrame, unit_keys: Sequence[str], response_keys: Sequence[str]
) -> _Summed:
    """Sum units per unit keys and the keys of their responses: codes, one key, bincounts.

    Cells come ordered by the response keys' combination (numbered as first seen in
    `responses`), then by each unit key's code (categories in the order the frames give
    them). `frames` may be several (one per questionnaire or source), so that their
    categorical columns never have to be concatenated into text. Each frame's rows are
    placed by their response's group (`IdLookup`: one read per row when ids are integers)
    and by the few combinations of unit keys that occur (a survey's themes and measures),
    so a cell's key is its group times those combinations plus its combination.
    """
    meta = _described(responses)
    if response_keys:
        per_response = [_value_codes(meta[k]) for k in response_keys]
        gid = first_seen(*per_response)
        group_rows = first_rows(gid)
        group_codes = {k: first_seen(c[group_rows]) for k, c in zip(response_keys, per_response, strict=True)}
    else:
        gid, group_rows, group_codes = np.zeros(len(meta), dtype=np.int64), np.zeros(1, dtype=np.int64), {}
    n_groups = len(group_rows)

    local = [[codes_of(f[column]) for column in unit_keys] for f in frames]
    categories, in_union = {}, []  # per unit key: the union of the frames' categories, and where each frame's are in it
    for i, column in enumerate(unit_keys):
        categories[column], positions = _union([parts[i][1] for parts in local])
        in_union.append(positions)
    combined, spaces = [], []  # per frame: each row's combination of unit codes, and how many there can be
    for parts in local:
        code = parts[0][0].astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
        for part, part_categories in parts[1:]:
            if len(part_categories) == 1:  # one value (a survey's source): each code 0, times 1 plus 0
                continue
            code *= len(part_categories)
            code += part
        combined.append(code)
        spaces.append(int(np.prod([len(c) for _, c in parts])))
    group_of = IdLookup(meta["response_id"], gid)
    # each frame summed per group and combination of its own codes, when those bins are few: the
    # combinations that occur are read from them (no pass over the rows for that alone)
    binned = [_frame_bins(f, code, n, group_of) for f, code, n in zip(frames, combined, spaces, strict=True)]
    if all(bins is not None for bins in binned):
        seen_in = [bins.seen for bins in binned]  # in rows of described responses (the only ones summed)
    else:
        seen_in = [np.flatnonzero(np.bincount(code, minlength=n)) for code, n in zip(combined, spaces, strict=True)]
    # the combinations that occur, as codes into the union of categories, in the order of those codes
    occurring = []
    for f, (seen, parts) in enumerate(zip(seen_in, local, strict=True)):
        union = []
        rest = seen.copy()
        for i in reversed(range(len(parts))):
            union.append(in_union[i][f][rest % len(parts[i][1])])
            rest //= len(parts[i][1])
        occurring.append(np.stack(union[::-1]) if union else np.zeros((0, len(seen)), dtype=np.int64))
    combos, of_frame = _combinations(occurring, categories, unit_keys)
    width = max(combos.shape[1], 1)

    space = n_groups * width
    names = ["respondents", *SUM_COLUMNS]
    few_cells = space <= 4 * sum(len(f) for f in frames) + 1_000_000
    if few_cells and all(bins is not None for bins in binned):  # each frame's bins added to the cells'
        # The same sums, in the same order, as the frame by frame bins below (each bin sums its rows in
        # order); the cells outside a frame's band of groups are left as they are.
        cells = {
            name: np.zeros((n_groups, width), dtype="int64" if name == "respondents" else "float64") for name in names
        }
        for bins, mine in zip(binned, of_frame, strict=True):  # each frame's combinations among all
            if not len(bins.seen):  # no rows of responses described
                continue
            order = np.argsort(mine, kind="stable")
            band, columns, own = slice(bins.low, bins.low + bins.groups), mine[order], bins.seen[order]
            for name in names:
                cells[name][band, columns] += bins.sums[name][:, own]
        sums = {name: values.reshape(-1) for name, values in cells.items()}
        present = np.flatnonzero(sums["respondents"])
        sums = {name: values[present] for name, values in sums.items()}
    elif few_cells:  # few possible cells: dense bins, frame by frame
        # Each frame is counted in bins of its own combinations only (a survey has a few of all the
        # sources' combinations), then its bins are added to the cells': the same sums, in the
        # same order (a sum of fractions depends on it), in smaller arrays.
        cells = {
            name: np.zeros((n_groups, width), dtype="int64" if name == "respondents" else "float64") for name in names
        }
        for f, code, local_space, seen, mine in zip(frames, combined, spaces, seen_in, of_frame, strict=True):
            if not len(seen):  # no rows
                continue
            rank = np.full(local_space, -1, dtype=np.int64)  # each one's place among them, in the cells' order
            order = np.argsort(mine, kind="stable")
            rank[seen[order]] = np.arange(len(seen))
            key = group_of(f["response_id"].to_numpy())  # the response's group (-1: a response not described)
            ok = key >= 0
            everything = bool(ok.all())
            counted = key if everything else key[ok]
            if not len(counted):  # none of its responses described: nothing to add
                continue
            # Responses are stored by questionnaire, so a frame's groups are a narrow band of all the
            # groups: its bins span only that band (`low` to `high`), and the cells outside it are
            # left as they are (adding nothing to a sum leaves it as it is).
            low, high = int(counted.min()), int(counted.max())
            key *= len(seen)
            key += (rank - low * len(seen))[code]
            if not everything:
                key = key[ok]
            bins = (high - low + 1) * len(seen)
            band, columns = slice(low, high + 1), mine[order]
            cells["respondents"][band, columns] += np.bincount(key, minlength=bins).reshape(-1, len(seen))
            for column in SUM_COLUMNS:
                value = f[column].to_numpy() if everything else f[column].to_numpy()[ok]
                summed = np.bincount(key, weights=value, minlength=bins).reshape(-1, len(seen))
                cells[column][band, columns] += summed
        sums = {name: values.reshape(-1) for name, values in cells.items()}
        present = np.flatnonzero(sums["respondents"])
        sums = {name: values[present] for name, values in sums.items()}
    else:
        keys, weights = [], []
        for f, code, local_space, seen, mine in zip(frames, combined, spaces, seen_in, of_frame, strict=True):
            combo_of = np.full(local_space, -1, dtype=np.int64)
            combo_of[seen] = mine
            key = group_of(f["response_id"].to_numpy())
            ok = key >= 0
            everything = bool(ok.all())
            key *= width
            key += combo_of[code]
            keys.append(key if everything else key[ok])
            weights.append([f[c].to_numpy() if everything else f[c].to_numpy()[ok] for c in SUM_COLUMNS])
        cell, present = pd.factorize(np.concatenate(keys), sort=True)
        sums = {"respondents": np.bincount(cell, minlength=len(present))}
        for i, column in enumerate(SUM_COLUMNS):
            value = np.concatenate([w[i] for w in weights]).astype("float64", copy=False)
            sums[column] = np.bincount(cell, weights=value, minlength=len(present))
    combo = present % width
    return _Summed(
        meta=meta,
        group_rows=group_rows,
        group_codes=group_codes,
        group=present // width,
        codes={column: combos[i][combo] for i, column in enumerate(unit_keys)},
        categories=categories,
        sums=sums,
        combo=combo,
        combo_codes={column: combos[i] for i, column in enumerate(unit_keys)},
    )


@dataclass(frozen=True, slots=True)
class _FrameBins:
    """A frame's units summed per group (in the band of groups its responses fall in) and combination of its codes."""

    low: int  # the band's first group
    groups: int  # how many groups the band spans
    seen: np.ndarray  # the combinations (of the frame's own codes) with rows
    sums: dict[str, np.ndarray]  # respondents and SUM_COLUMNS: a row per group of the band, a column per combination


def _frame_bins(frame: pd.DataFrame, code: np.ndarray, space: int, group_of: IdLookup) -> _FrameBins | None:
    """Sum a frame's units per group and per combination of its own codes (`code`, under `space`); None if those
    bins would be many more than its rows.

    Responses are stored by questionnaire, so a frame's groups are a narrow band of all the
    groups: its bins span only that band, and a survey's combinations are a few dozen.
    Units of responses not described are left out.
    """
    key = group_of(frame["response_id"].to_numpy())  # the response's group (-1: a response not described)
    lowest = int(key.min()) if len(key) else -1
    everything = lowest >= 0
    ok = None if everything else key >= 0
    if not everything:
        key, code = key[ok], code[ok]
    if not len(key):  # none of its responses described: nothing to add
        return _FrameBins(0, 0, np.zeros(0, dtype=np.int64), {})
    low, high = (lowest if everything else int(key.min())), int(key.max())
    groups = high - low + 1
    if groups * space > 4 * len(frame) + 1_000_000:
        return None
    if low:
        key -= low
    key *= space
    key += code
    respondents = np.bincount(key, minlength=groups * space)
    sums = {"respondents": respondents.reshape(groups, space)}
    for column in SUM_COLUMNS:
        value = frame[column].to_numpy() if everything else frame[column].to_numpy()[ok]
        sums[column] = np.bincount(key, weights=value, minlength=groups * space).reshape(groups, space)
    return _FrameBins(low, groups, np.flatnonzero(sums["respondents"].any(axis=0)), sums)


def _union(parts: Sequence[pd.Index]) -> tuple[pd.Index, list[np.ndarray]]:
    """The distinct values of several frames' categories, first seen first (object), and each part's positions in them.

    Categories are a few dozen texts: when all are text they are numbered in a dict, at a few
    microseconds, where a hash table per index costs tens. Anything else (missing values,
    numbers) is numbered as `pd.unique` and `get_indexer` number it.
    """
    values = [part.tolist() for part in parts]
    if all(type(value) is str for part in values for value in part):
        place: dict[str, int] = {}
        for part in values:
            for value in part:
                place.setdefault(value, len(place))
        union = pd.Index(np.array(list(place), dtype=object), dtype=object)
        return union, [np.array([place[value] for value in part], dtype=np.intp) for part in values]
    union = pd.Index(pd.unique(np.concatenate([part.to_numpy(dtype=object) for part in parts])), dtype=object)
    return union, [union.get_indexer(part) for part in parts]


def _combinations(
    occurring: Sequence[np.ndarray], categories: dict[str, pd.Index], unit_keys: Sequence[str]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The distinct combinations of unit codes the frames have (a column each, in the order of their codes, as
    `np.unique(..., axis=1)` sorts them), and per frame, where each of its combinations is among them.

    Each combination is one integer (`_row_keys`), rising with its codes in that order: one sort
    of those integers finds them all and places each frame's, with no index to look them up in.
    """
    keys = [_row_keys(codes, categories, unit_keys) for codes in occurring]
    if not sum(len(k) for k in keys):
        return np.zeros((len(unit_keys), 0), dtype=np.int64), [np.zeros(0, dtype=np.intp) for _ in occurring]
    distinct, place = np.unique(np.concatenate(keys), return_inverse=True)
    combos = np.empty((len(unit_keys), len(distinct)), dtype=np.int64)
    rest = distinct.copy()
    for i in reversed(range(len(unit_keys))):
        rest, combos[i] = np.divmod(rest, len(categories[unit_keys[i]]))
    return combos, np.split(place.reshape(-1), np.cumsum([len(k) for k in keys])[:-1])


def _row_keys(codes: np.ndarray, categories: dict[str, pd.Index], unit_keys: Sequence[str]) -> np.ndarray:
    """One integer per column of `codes` (a combination of unit codes), the same for the same combination."""
    key = np.zeros(codes.shape[1], dtype=np.int64)
    for i, column in enumerate(unit_keys):
        key = key * len(categories[column]) + codes[i]
    return key


def _value_codes(column: pd.Series) -> np.ndarray:
    """Codes 0 and up for a response key, equal for equal values (missing values one code), hashing little.

    `first_seen` numbers the groups they key as they first appear, whatever the numbering
    of each key's codes, so the codes need not be numbered as first seen. Integers in a
    narrow range (agency ids) are each one's distance from the lowest, with no hashing.
    Text comes in runs of one cycle and one age band (responses are stored by
    questionnaire, in order), and hashing text costs more than comparing each value with
    the one before: so text is compared first and only the first value of each run is
    hashed (`factorize_runs`: short runs, and values that cannot be compared such as
    `pd.NA`, are hashed whole). Other values are hashed whole (`pd.factorize`).
    """
    values = column.to_numpy()
    if values.dtype.kind == "i" and len(values):
        low, high = int(values.min()), int(values.max())
        if high - low < 4 * len(values) + 1_000_000:  # no wider than a table of the responses
            return values.astype(np.int64) - low
    if not (column.dtype == object or isinstance(column.dtype, pd.StringDtype)):
        return pd.factorize(column, use_na_sentinel=False)[0]
    return factorize_runs(values, use_na_sentinel=False)[0]


def _described(responses: pd.DataFrame) -> pd.DataFrame:
    """Each response once, as its first row describes it (a repeated id is rare: counted, not hashed, if ids are integers)."""
    ids = responses["response_id"].to_numpy()
    if ids.dtype.kind == "i" and len(ids):
        low, high = int(ids.min()), int(ids.max())
        if high - low < 4 * len(ids) + 1_000_000 and np.bincount(ids - low).max() == 1:
            return responses
    return responses.drop_duplicates("response_id")


def _grouped(
    units: pd.DataFrame | Sequence[pd.DataFrame],
    responses: pd.DataFrame,
    unit_keys: Sequence[str],
    response_keys: Sequence[str],
) -> pd.DataFrame:
    """Sum units per unit keys and the keys of their responses, as a frame (see `_summed`)."""
    summed = _summed([units] if isinstance(units, pd.DataFrame) else list(units), responses, unit_keys, response_keys)
    frame = summed.groups().iloc[summed.group].reset_index(drop=True)
    for column in unit_keys:
        frame[column] = np.asarray(summed.categories[column].take(summed.codes[column]))
    for name, values in summed.sums.items():
        frame[name] = values
    return frame


#: The theme table's keys, in the order its rows are sorted.
_TABLE_ORDER = ["theme", "measure", "source", "group", "age_band", "cycle"]


@dataclass(frozen=True, slots=True)
class _Layout:
    """Distinct cells as pairs: a row of the responses' groups (cycle, group, age band) and a combination of
    theme, measure and source.

    Groups are a few thousand and combinations a few dozen, where cells are tens of thousands:
    what depends on a cell's keys is worked out per group and per combination, and each cell
    reads its own. A cell of a source other than child shows no age band, but all such cells
    have groups of one band (else the cells would not be known distinct), so their groups' band
    sets them apart no more than the missing band they show.
    """

    group: np.ndarray  # per cell: its row of the groups
    combo: np.ndarray  # per cell: its combination
    group_codes: dict[str, np.ndarray]  # cycle, group, age_band: per group, a code into the cells' values
    combo_codes: dict[str, np.ndarray]  # theme, measure, source: per combination, a code into the cells' values

    def of_groups(self, codes: Sequence[np.ndarray]) -> np.ndarray:
        """Per cell, an id of its group's codes (each an array over the groups), numbered per group, first seen first."""
        if not codes:
            return np.zeros(len(self.group), dtype=np.int64)
        return first_seen(*codes)[self.group]


@dataclass(frozen=True, slots=True)
class _Cells:
    """The theme table's cells as codes: per key, a code per cell and the values codes stand for."""

    codes: dict[str, np.ndarray]
    values: dict[str, pd.Series]
    sums: dict[str, np.ndarray]
    distinct: bool = False  # known to be distinct cells: no two share all six keys
    layout: _Layout | None = None  # for distinct cells: each one's group and combination

    def ids(self, *keys: str) -> np.ndarray:
        """One id per distinct combination of these keys, first seen first (a group-by's `ngroup`)."""
        return first_seen(*(self.codes[k] for k in keys))

    def sets(self, *keys: str, per_group: np.ndarray | None = None) -> np.ndarray:
        """One id (0 and up) per distinct combination of these keys, in no particular order: the sets of cells
        sharing them, for suppression and for finding a cell's previous cycle (neither reads the ids' order).

        With a layout and theme, measure and source among the keys, the other keys are numbered
        per group, and a cell's id is its combination's and its group's: no pass per key over
        the cells. `per_group`, with a layout only, is one more key: a code per group.
        """
        layout = self.layout
        if layout is None or not {"theme", "measure", "source"} <= set(keys):
            return self.ids(*keys)
        codes = [layout.group_codes[k] for k in keys if k in layout.group_codes]
        of_group = layout.of_groups(codes if per_group is None else [*codes, per_group])
        key = layout.combo * (int(of_group.max()) + 1) + of_group
        seen = np.zeros(int(key.max()) + 1 if len(key) else 0, dtype=bool)
        seen[key] = True
        return (np.cumsum(seen) - 1)[key]

    def per_cell(self, key: str, per_value: np.ndarray) -> np.ndarray:
        """Something known per value of a key (an array over its codes), for each cell."""
        return per_value[self.codes[key]]


def theme_table(
    units: pd.DataFrame | Sequence[pd.DataFrame],
    responses: pd.DataFrame,
    by: By = None,
    by_age_band: bool = True,
    by_measure: bool = True,
    policy: SuppressionPolicy | None = None,
) -> pd.DataFrame:
    """The theme table: one row per theme, measure, source, cycle, group and age band.

    `units` are per-response sums (`response_id`, `theme`, `measure`, `answers`, `positive`,
    `score_sum`, and `source`, or else the source comes from `responses`), one frame or a
    list of them (one per questionnaire: see `with_source`). `by` breaks
    the table down by agency or sector (`group`); `by_age_band` splits the child source by
    age band. With a `policy`, small cells are suppressed (see `scoring.suppression`) before
    the change since the last cycle is worked out, so a change never reveals a hidden cell.

    The cells are worked on as integer codes (`scoring.cells`) and their keys decoded once,
    sorted: a table by agency has tens of thousands of cells, and grouping, joining and
    sorting them by text would cost more than summing the units.
    """
    frames = [units] if isinstance(units, pd.DataFrame) else list(units)
    if "source" in responses and not all("source" in f for f in frames):
        source = responses.drop_duplicates("response_id").set_index("response_id")["source"]
        frames = [f if "source" in f else f.assign(source=source.reindex(f["response_id"]).to_numpy()) for f in frames]
    if not by_measure:
        frames = [_measures_as_one(f) for f in frames]
    group_col = {"agency": "agency_id", "sector": "sector", None: None}[by]
    response_keys = ["cycle"] + ([group_col] if group_col else [])
    if by_age_band and "age_band" in responses:
        response_keys.append("age_band")
    summed = _summed(frames, responses, ["theme", "measure", "source"], response_keys)
    cells = _theme_cells(summed, group_col)
    if by_age_band:  # audits and other sources have no age band: their cells add up over bands as one
        cells = _regrouped(cells)
    sums = cells.sums
    n = np.where(sums["answers"] > 0, sums["answers"], np.nan)
    columns: dict[str, object] = {
        "respondents": sums["respondents"].astype("int64"),
        "answers": sums["answers"].astype("int64"),
        "positive": sums["positive"].astype("int64"),
    }
    columns["share"] = columns["positive"] / n
    columns["mean_100"] = sums["score_sum"] / n
    if policy is not None:
        ids = []
        if group_col:
            ids.append(cells.sets("theme", "measure", "source", "cycle", "age_band"))
            if by == "agency" and "sector" in responses and cells.layout is not None:  # a key of the groups
                sector = _sector_of_groups(summed, responses, cells.values["group"])
                ids.append(cells.sets("theme", "measure", "source", "cycle", "age_band", per_group=sector))
            elif by == "agency" and "sector" in responses:
                of_group = _sector_codes(responses, cells.values["group"])
                ids.append(first_seen(ids[0], cells.per_cell("group", of_group)))
        if by_age_band:
            ids.append(cells.sets("theme", "measure", "source", "cycle", "group"))
        k = np.array([policy.k_for(s) for s in cells.values["source"]], dtype=np.int64)
        _, hidden = hidden_cells(columns["respondents"], cells.per_cell("source", k), ids)
        for column in ("respondents", "answers", "positive"):
            columns[column] = pd.arrays.IntegerArray(columns[column], hidden.copy())
        for column in ("share", "mean_100"):
            columns[column] = np.where(hidden, np.nan, columns[column])
        columns[MARKER_COLUMN] = hidden
    columns["change"] = _change(cells, columns["share"])
    # age bands by age (4 to 7 before 12 to 17), everything else as text sorts
    ranks = {k: (natural_ranks if k == "age_band" else _sort_ranks)(cells.values[k]) for k in _TABLE_ORDER}
    order = _laid_out_order(cells.layout, ranks) if cells.layout is not None else None
    if order is None:
        order = _sorted_order([cells.per_cell(k, ranks[k]) for k in _TABLE_ORDER])
    # every column taken in order, then one frame made of them all (adding columns one by one costs more)
    table = {k: cells.values[k].array.take(cells.codes[k][order]) for k in THEME_TABLE_COLUMNS[:6]}
    for name in THEME_TABLE_COLUMNS[6:] + ([MARKER_COLUMN] if policy is not None else []):
        table[name] = columns[name][order]
    return pd.DataFrame(table, copy=False)  # fresh arrays: kept as they are, not copied into one block per dtype


def _sort_ranks(values: pd.Series) -> np.ndarray:
    """`sort_ranks` of a key's few values; text or integers ranked by `np.unique`, without a categorical.

    Making an ordered categorical to rank a handful of values costs a fifth of a millisecond;
    text (compared as Python compares it, as pandas sorts it) and integers, with nothing
    missing, are ranked directly. Anything else goes through `sort_ranks`.
    """
    array = values.to_numpy()
    if array.dtype.kind in "iu" or (
        array.dtype == object and len(array) and all(type(value) is str for value in array.tolist())
    ):
        return np.unique(array, return_inverse=True)[1].astype(np.int64).reshape(-1)
    return sort_ranks(values)


def _sector_codes(responses: pd.DataFrame, agencies: pd.Series) -> np.ndarray:
    """Per agency, a code for its sector as its first response gives it (one code per sector, missing one too).

    The cells of one sector's agencies add up to the sector's total, so suppression needs
    each agency's sector: the one its first response names. Those first rows are found
    from the agency ids' codes (`_value_codes`), not by dropping duplicate rows of responses.
    """
    code = _value_codes(responses["agency_id"])
    first = np.full(int(code.max()) + 1 if len(code) else 0, len(code), dtype=np.int64)
    np.minimum.at(first, code, np.arange(len(code)))  # each agency's first response
    first = first[first < len(code)]
    ids = responses["agency_id"].to_numpy()[first]
    sector = pd.Series(responses["sector"].to_numpy()[first], index=pd.Index(ids, dtype=responses["agency_id"].dtype))
    return pd.factorize(sector.reindex(agencies).to_numpy(), use_na_sentinel=False)[0].astype(np.int64)


def _sector_of_groups(summed: _Summed, responses: pd.DataFrame, agencies: pd.Series) -> np.ndarray:
    """Per group, a code for its agency's sector, coded as `_sector_codes` codes it (the sector the agency's
    first response names).

    When every response was described (no id repeated), an agency's first response is the
    first row of its first group (groups are numbered as first seen): the sector is read there,
    once per agency, rather than finding each agency's first among all the responses.
    `agencies` are the agencies' values in the order of their codes.
    """
    agency = summed.group_codes["agency_id"]
    if summed.meta is responses:
        first = summed.group_rows[first_rows(agency)]
        per_agency = pd.factorize(responses["sector"].to_numpy()[first], use_na_sentinel=False)[0].astype(np.int64)
    else:
        per_agency = _sector_codes(responses, agencies)
    return per_agency[agency]


def _sorted_order(ranks: Sequence[np.ndarray]) -> np.ndarray:
    """`np.lexsort` of these ranks (-1 and up), the first most significant: the rows' order, ties as they come.

    The ranks are small, so they are combined into one integer per row and that is sorted
    once (stably, as lexsort is), rather than sorting on six keys in turn.
    """
    key = np.zeros(len(ranks[0]) if ranks else 0, dtype=np.int64)
    span = 1
    for rank in ranks:
        width = int(rank.max()) + 2 if len(rank) else 1  # -1 (missing) sorts first, as 0
        span *= width
        if span > 2**62:  # too many to combine: sort key by key
            return np.lexsort(list(reversed(ranks)))
        key *= width
        key += rank + 1
    return np.argsort(key, kind="stable")


def _laid_out_order(layout: _Layout, ranks: dict[str, np.ndarray]) -> np.ndarray | None:
    """`_sorted_order` of the cells' ranks, from their combinations' order and their groups': None if it cannot tell.

    The table sorts by theme, measure and source (a combination), then by group, age band and
    cycle (a group's keys: a cell of another source than child shows no band, but all of a
    combination's cells then have one band, so a group's band orders them as none would).
    Combinations and groups are few, so each is sorted alone, stably (equal groups in their
    order, as equal cells are); each cell's place is then its combination's times the groups
    plus its group's. Two combinations ranked equal (two missing themes, None and NaN) would
    mix their cells: left to `_sorted_order`.
    """
    combo_ranks = [ranks[k][layout.combo_codes[k]] for k in ("theme", "measure", "source")]
    by_combo = np.lexsort(combo_ranks[::-1])
    if len(by_combo) > 1 and not np.any(np.diff(np.stack(combo_ranks)[:, by_combo], axis=1), axis=0).all():
        return None
    by_group = np.lexsort([ranks[k][layout.group_codes[k]] for k in ("cycle", "age_band", "group")])
    combo_place, group_place = np.empty_like(by_combo), np.empty_like(by_group)
    combo_place[by_combo] = np.arange(len(by_combo))
    group_place[by_group] = np.arange(len(by_group))
    place = combo_place[layout.combo] * len(by_group) + group_place[layout.group]
    space = len(by_combo) * len(by_group)
    if space > 4 * len(place) + 1_000_000:  # places too sparse for a table of them
        return np.argsort(place, kind="stable")
    cell_at = np.full(space, -1, dtype=np.int64)  # the cell at each place, if any: read in order
    cell_at[place] = np.arange(len(place))
    return cell_at[cell_at >= 0]


def _measures_as_one(units: pd.DataFrame) -> pd.DataFrame:
    """Per-response sums with the measures of each theme added together, as one measure "all".

    A response counts once in a cell, whatever the number of its measures there: a response
    with quality and outcome answers on a theme is one respondent, not two, both in the
    table and in the small-number check."""
    keys = [c for c in units.columns if c not in SUM_COLUMNS and c != "measure"]
    summed = units.groupby(keys, observed=True, sort=False, dropna=False)[SUM_COLUMNS].sum().reset_index()
    return summed.assign(measure=pd.Categorical.from_codes(np.zeros(len(summed), dtype=np.int8), ["all"]))


def _theme_cells(summed: _Summed, group_col: str | None) -> _Cells:
    """The six keys of the theme table's cells as codes, their values as the table's columns would hold them.

    Theme, measure and source as assigned from their categories; cycle and group as
    `responses` holds them (group "all" when the table is not broken down); the age band
    only for the child source, missing for every other.
    """
    codes: dict[str, np.ndarray] = {}
    values: dict[str, pd.Series] = {}
    for column in ("theme", "measure", "source"):
        codes[column] = summed.codes[column]
        # as the column is assigned from its cells' values (with no cells, an empty object array)
        values[column] = _as_column(np.asarray(summed.categories[column] if len(summed.group) else [], dtype=object))
    group_codes = {}  # per group
    for column, key in (("cycle", "cycle"), ("group", group_col), ("age_band", "age_band")):
        if key in summed.group_codes:
            group_codes[column], values[column] = summed.group_codes[key], summed.key_values(key)
        else:  # one value for every group: "all", or a missing band (set below)
            group_codes[column] = np.zeros(len(summed.group_rows), dtype=np.int64)
        codes[column] = group_codes[column][summed.group]
    if group_col is None:
        values["group"] = as_column("all")
    child = _equal_to(values["source"], "child")[codes["source"]]
    # Cells are distinct combinations of response and unit keys, so they stay distinct unless cells of
    # other sources carry more than one band: those bands are all made missing below.
    distinct = True
    if "age_band" not in values:  # no bands: missing, as pd.NA where the table set it, NaN where it was masked
        codes["age_band"] = np.where(child, 0, 1)
        values["age_band"] = pd.Series([pd.NA, np.nan], dtype=object)
    elif not child.all():
        bands = values["age_band"]
        hidden = codes["age_band"][~child]
        distinct = not (hidden != hidden[0]).any()
        codes["age_band"] = np.where(child, codes["age_band"], len(bands))
        values["age_band"] = _with_missing(bands)
    if not len(summed.group):  # no cells: empty columns, in the dtypes an empty table's columns have
        values = {name: column.iloc[:0] for name, column in values.items()}
    layout = None
    if distinct and len(summed.group):
        combo_codes = {k: summed.combo_codes[k] for k in ("theme", "measure", "source")}
        layout = _Layout(summed.group, summed.combo, group_codes, combo_codes)
    return _Cells(codes=codes, values=values, sums=summed.sums, distinct=distinct, layout=layout)


def _equal_to(values: pd.Series, text: str) -> np.ndarray:
    """`values.eq(text)` as an array, for a key's few values: compared in Python when all are text (a
    comparison of a Series costs a tenth of a millisecond), else by pandas."""
    items = values.tolist()
    if all(type(value) is str for value in items):
        return np.array([value == text for value in items], dtype=bool)
    return values.eq(text).to_numpy()


def _with_missing(bands: pd.Series) -> pd.Series:
    """The bands and one more value, missing as masking a band makes it (NaN): concatenated, in a new range index.

    Bands are few and held as objects (text and None): the values are put in one array, as
    `pd.concat` would give them at several times the cost; other dtypes are concatenated.
    """
    if bands.dtype != object or not len(bands):
        return pd.concat([bands, bands.iloc[:1].where(np.zeros(1, dtype=bool))], ignore_index=True)
    out = np.empty(len(bands) + 1, dtype=object)
    out[:-1] = bands.to_numpy()
    out[-1] = np.nan
    return pd.Series(out, dtype=object, name=bands.name, copy=False)


def _as_column(values: np.ndarray) -> pd.Series:
    """`as_column` of a few values: text as pandas infers it (`str`), made directly when every value is text.

    Assigning to a frame infers the column's dtype, which costs a tenth of a millisecond
    or more each time; values that are all text become `str`, so they are made so here
    after a look at each (categories are few). Anything else is assigned as before.
    """
    if len(values) and all(type(value) is str for value in values.tolist()):
        return pd.Series(pd.array(values, dtype="str"), name="value")
    return as_column(values)


def _thresholds(sources: pd.Series, policy: SuppressionPolicy) -> pd.Series:
    """Each row's k, by its source (looked up once per source, not once per row)."""
    return sources.map({s: policy.k_for(s) for s in pd.unique(sources)}).astype("int64")


def _regrouped(cells: _Cells) -> _Cells:
    """Sum cells that differ only in an age band that is not shown (sources other than child)."""
    keys = ["theme", "measure", "source", "cycle", "group", "age_band"]
    values = _as_grouped({k: cells.values[k] for k in keys})
    layout = cells.layout  # pairs of a group and a combination: made for distinct cells only (_theme_cells)
    as_they_are = _Cells({k: cells.codes[k] for k in keys}, values, cells.sums, distinct=True, layout=layout)
    if cells.distinct:  # known without numbering the cells by six keys, which costs more
        return as_they_are
    cell = cells.ids(*keys)
    count = int(cell.max()) + 1 if len(cell) else 0
    if count == len(cell):  # no two cells to add up (each source's band is one value): the cells as they are
        return as_they_are
    first = first_rows(cell)
    sums = {name: np.bincount(cell, weights=per_cell, minlength=count) for name, per_cell in cells.sums.items()}
    sums["respondents"] = np.rint(sums["respondents"]).astype("int64")
    return _Cells(codes={k: cells.codes[k][first] for k in keys}, values=values, sums=sums)


def _as_grouped(values: dict[str, pd.Series]) -> dict[str, pd.Series]:
    """`as_grouped`, with columns of text and missing values (age bands) given back without a group-by.

    A group-by gives such a column back as text, missing values as NaN (`str` dtype), or as
    floats when no value is text. Grouping even a few values costs a millisecond or two, so
    these are converted directly, after a look at each of their few values; any other column
    (other types, `pd.NA`) goes through `as_grouped`.
    """
    out: dict[str, pd.Series] = {}
    for name, column in values.items():
        if column.dtype != object or not len(column):
            continue
        items = column.tolist()
        text = [type(v) is str for v in items]
        if not all(t or v is None or (type(v) is float and v != v) for t, v in zip(text, items, strict=True)):
            continue
        if any(text):
            texts = [v if t else np.nan for t, v in zip(text, items, strict=True)]
            out[name] = pd.Series(pd.array(texts, dtype="str"), name=name)
        else:
            out[name] = pd.Series(np.full(len(items), np.nan), name=name)
    rest = as_grouped({name: column for name, column in values.items() if name not in out})
    return {name: out[name] if name in out else rest[name] for name in values}


def _change(cells: _Cells, share: np.ndarray) -> np.ndarray:
    """`add_change` on codes: each cell's share less its share in the source's previous cycle with any cell."""
    source, cycle = cells.codes["source"], cells.codes["cycle"]
    n_cycles = len(cells.values["cycle"])
    rank = _sort_ranks(cells.values["cycle"])
    rank = np.where(rank < 0, len(rank), rank)  # missing cycles sort last here, as they do in add_change
    missing = np.flatnonzero(cells.values["cycle"].isna().to_numpy())
    none = int(missing[0]) if len(missing) else -1  # a missing previous cycle joins a missing cycle's cells
    # (source, cycle) pairs are few: each cell's pair is a code into a small table, not a hashed or searched value
    pair_of_cell = source * n_cycles + cycle
    n_pairs = len(cells.values["source"]) * n_cycles
    pairs = np.flatnonzero(np.bincount(pair_of_cell, minlength=n_pairs)) if len(pair_of_cell) else pair_of_cell
    pair_source, pair_cycle = pairs // n_cycles, pairs % n_cycles
    pairs = pairs[np.lexsort((rank[pair_cycle], pair_source))]
    pair_source, pair_cycle = pairs // n_cycles, pairs % n_cycles
    before = np.full(len(pairs), none, dtype=np.int64)
    same = np.zeros(len(pairs), dtype=bool)
    same[1:] = pair_source[1:] == pair_source[:-1]
    before[1:][same[1:]] = pair_cycle[:-1][same[1:]]
    before[cells.values["source"].isna().to_numpy()[pair_source]] = none  # no source: no previous cycle either
    previous_of_pair = np.full(n_pairs, -1, dtype=np.int64)
    previous_of_pair[pairs] = before
    previous = previous_of_pair[pair_of_cell]
    # the same cell in the previous cycle: the cells' other keys numbered, then a table by number and cycle
    rest = cells.sets("theme", "measure", "source", "group", "age_band")
    row_of = np.full((int(rest.max()) + 1 if len(rest) else 0) * n_cycles, -1, dtype=np.int64)
    row_of[rest * n_cycles + cycle] = np.arange(len(rest))
    row = np.where(previous < 0, -1, row_of[rest * n_cycles + np.maximum(previous, 0)])
    return np.where(row >= 0, share - share[row], np.nan)


def add_change(table: pd.DataFrame, keys: Sequence[str], value: str = "share") -> pd.DataFrame:
    """`change`: the value less the value of the same cell in its source's previous cycle.

    The previous cycle is the one before in the sorted cycles where the source has any data,
    so a survey run every year and an audit every two years each compare with their own last
    round. Missing when either value is missing (no data, or suppressed).

    >>> t = pd.DataFrame({"source": ["child"] * 3, "cycle": ["2024", "2025", "2026"], "share": [0.5, None, 0.75]})
    >>> add_change(t, ["source"])["change"].tolist()
    [nan, nan, nan]
    >>> add_change(t.assign(share=[0.5, 0.6, 0.75]), ["source"])["change"].round(2).tolist()
    [nan, 0.1, 0.15]
    """
    keys = list(keys)
    cycles = table[["source", "cycle"]].drop_duplicates().sort_values(["source", "cycle"], kind="stable")
    cycles["previous"] = cycles.groupby("source", sort=False)["cycle"].shift(1)
    out = table.merge(cycles, on=["source", "cycle"], how="left")
    before = out[[*keys, "cycle", value]].rename(columns={"cycle": "previous", value: "_before"})
    join = list(dict.fromkeys([*keys, "previous"]))
    out = out.merge(before, on=join, how="left")
    out["change"] = (out[value] - out["_before"]).astype("float64")
    return out.drop(columns=["previous", "_before"]).set_axis(table.index)


def question_table(
    scores: pd.DataFrame,
    questions: pd.DataFrame,
    responses: pd.DataFrame,
    by: By = None,
    policy: SuppressionPolicy | None = None,
) -> pd.DataFrame:
    """Per question (its stable key across versions), source, cycle and group: respondents, share, mean.

    `scores` are answer scores (`surveys.score_answers`) of any versions, with `questions`
    the question frames of those versions concatenated, so a question renamed in a new
    version (`same_as`) is one row across cycles.
    """
    stable = questions.drop_duplicates(["key", "question_id"]).set_index("question_id")["stable_key"]
    stable = stable[~stable.index.duplicated(keep="last")]
    base = scores.loc[scores["in_base"].to_numpy(dtype=bool)]
    units = pd.DataFrame(
        {
            "response_id": base["response_id"].to_numpy(),
            "question": pd.Categorical(stable.reindex(base["question_id"].astype("str")).to_numpy()),
            "answers": 1,
            "positive": base["positive"].to_numpy(dtype="int64"),
            "score_sum": base["score_100"].to_numpy(dtype="float64"),
        }
    )
    group_col = {"agency": "agency_id", "sector": "sector", None: None}[by]
    response_keys = ["source", "cycle"] + ([group_col] if group_col else [])
    table = _grouped(units, responses, ["question"], response_keys)
    table["group"] = table[group_col] if group_col else "all"
    n = table["answers"].where(table["answers"].gt(0))
    table = table.assign(
        respondents=table["respondents"].astype("int64"),
        answers=table["answers"].astype("int64"),
        positive=table["positive"].astype("int64"),
        share=table["positive"] / n,
        mean_100=table["score_sum"] / n,
    ).drop(columns=["score_sum", *([group_col] if group_col else [])])
    if policy is not None:
        groups = [["question", "source", "cycle"]] if group_col else []
        k = _thresholds(table["source"], policy)
        table = suppress(table, "respondents", ["answers", "positive", "share", "mean_100"], k, groups)
    table = add_change(table, ["question", "source", "group"])
    columns = [
        "question",
        "source",
        "cycle",
        "group",
        "respondents",
        "answers",
        "positive",
        "share",
        "mean_100",
        "change",
    ]
    columns += [MARKER_COLUMN] if policy is not None else []
    return table.sort_values(["question", "source", "group", "cycle"], kind="stable").reset_index(drop=True)[columns]

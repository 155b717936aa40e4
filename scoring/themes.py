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
from typing import Literal

import numpy as np
import pandas as pd

from questionnaires.model import Questionnaire
from scoring.frames import option_frame, question_frame, theme_pairs
from scoring.suppression import MARKER_COLUMN, SuppressionPolicy, suppress

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


def audit_theme_scores(questionnaire: Questionnaire, standards: pd.DataFrame) -> pd.DataFrame:
    """Per audit, theme, measure and source (self-rating, moderated): standards rated, met, score sum.

    A standard carries the themes and measures of its rating items. Standards not rated
    (incomplete) or not applicable are left out; moderated rows only where a moderator rated.
    """
    questions = question_frame(questionnaire)
    ratings = questions.loc[questions["type"].eq("rating") & questions["scored"]]
    pairs = theme_pairs(ratings).merge(ratings[["question_id", "section_id"]], on="question_id")
    pairs = pairs[["section_id", "theme", "measure"]].drop_duplicates()
    met = {r.id: r.params["met"] for r in questionnaire.rules.values() if r.kind == "standard_rating"}
    met_value = next(iter(met.values()), "met")
    options = option_frame(questionnaire)
    scale = options.loc[options["question_id"].isin(ratings["question_id"])].drop_duplicates("value")
    place = pd.Series(scale["score_100"].to_numpy(), index=scale["value"])

    na = set(scale.loc[scale["not_applicable"], "value"])
    parts = []
    for source, column in (("self-rating", "self_rating"), ("moderated", "moderated_rating")):
        rated = standards.loc[standards[column].notna() & ~standards[column].isin(na)]
        score = rated["score_100"] if source == "self-rating" else rated[column].map(place)
        parts.append(
            pd.DataFrame(
                {
                    "response_id": rated["response_id"].to_numpy(),
                    "section_id": rated["section_id"].to_numpy(),
                    "source": source,
                    "answers": 1,
                    "positive": rated[column].eq(met_value).astype("int64").to_numpy(),
                    "score_sum": score.fillna(0.0).to_numpy(dtype="float64"),
                }
            )
        )
    rows = pd.concat(parts, ignore_index=True).merge(pairs, on="section_id")
    out = rows.groupby(["response_id", "theme", "measure", "source"], sort=True, observed=True)[SUM_COLUMNS].sum()
    return out.reset_index().astype({"source": "str", "theme": "str", "measure": "str"})


def with_source(units: pd.DataFrame, source: str) -> pd.DataFrame:
    """Per-response sums with a constant `source` column (a categorical: free to add, cheap to group)."""
    return units.assign(source=pd.Categorical.from_codes(np.zeros(len(units), dtype=np.int8), [source]))


def _codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes and their categories: free for a categorical, one hash pass otherwise."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(dtype=np.int64), pd.Index(values.cat.categories, dtype=object)
    code, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=False)
    return code.astype(np.int64), pd.Index(uniques, dtype=object)


def _stacked_codes(frames: Sequence[pd.DataFrame], column: str) -> tuple[np.ndarray, pd.Index]:
    """Codes of `column` across several frames, into the union of their categories."""
    parts = [_codes(frame[column]) for frame in frames]
    categories = pd.Index(pd.unique(np.concatenate([c.to_numpy(dtype=object) for _, c in parts])), dtype=object)
    out = [categories.get_indexer(c)[code] for code, c in parts]
    return (np.concatenate(out) if out else np.zeros(0, dtype=np.int64)), categories


def _grouped(
    units: pd.DataFrame | Sequence[pd.DataFrame],
    responses: pd.DataFrame,
    unit_keys: Sequence[str],
    response_keys: Sequence[str],
) -> pd.DataFrame:
    """Sum units per unit keys and the keys of their responses: codes, one key, bincounts.

    `units` may be several frames (one per questionnaire or source), so that their
    categorical columns never have to be concatenated into text.
    """
    frames = [units] if isinstance(units, pd.DataFrame) else list(units)
    meta = responses.drop_duplicates("response_id")
    where = pd.Index(meta["response_id"]).get_indexer(
        np.concatenate([f["response_id"].to_numpy() for f in frames]) if frames else np.zeros(0, dtype=np.int64)
    )
    ok = where >= 0  # units of responses not described are not reported
    if response_keys:
        gid = (
            meta.groupby(list(response_keys), dropna=False, sort=False, observed=True).ngroup().to_numpy(dtype=np.int64)
        )
        gkeys = meta[list(response_keys)].iloc[np.unique(gid, return_index=True)[1]].reset_index(drop=True)
    else:
        gid, gkeys = np.zeros(len(meta), dtype=np.int64), pd.DataFrame(index=[0])
    key = gid[where[ok]]
    space = len(gkeys)
    decoded: list[tuple[str, pd.Index]] = []
    for column in unit_keys:
        code, categories = _stacked_codes(frames, column)
        decoded.append((column, categories))
        key = key * len(categories) + code[ok]
        space *= len(categories)
    values = {c: np.concatenate([f[c].to_numpy(dtype="float64") for f in frames])[ok] for c in SUM_COLUMNS}
    if space <= 4 * len(key) + 1_000_000:  # few possible cells: count into dense bins, no hashing
        respondents = np.bincount(key, minlength=space)
        present = np.flatnonzero(respondents)
        sums = {"respondents": respondents[present]}
        for column in SUM_COLUMNS:
            sums[column] = np.bincount(key, weights=values[column], minlength=space)[present]
    else:
        cell, present = pd.factorize(key, sort=True)
        sums = {"respondents": np.bincount(cell, minlength=len(present))}
        for column in SUM_COLUMNS:
            sums[column] = np.bincount(cell, weights=values[column], minlength=len(present))
    out = {}
    rest = present.copy()
    for column, categories in reversed(decoded):
        out[column] = categories.take(rest % len(categories))
        rest //= len(categories)
    frame = gkeys.iloc[rest].reset_index(drop=True)
    for column, _ in decoded:
        frame[column] = np.asarray(out[column])
    for name, values in sums.items():
        frame[name] = values
    return frame


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
    """
    frames = [units] if isinstance(units, pd.DataFrame) else list(units)
    source = (
        responses.drop_duplicates("response_id").set_index("response_id")["source"] if "source" in responses else None
    )
    frames = [
        f if "source" in f or source is None else f.assign(source=source.reindex(f["response_id"]).to_numpy())
        for f in frames
    ]
    if not by_measure:
        frames = [f.assign(measure="all") for f in frames]
    group_col = {"agency": "agency_id", "sector": "sector", None: None}[by]
    response_keys = ["cycle"] + ([group_col] if group_col else [])
    if by_age_band and "age_band" in responses:
        response_keys.append("age_band")
    table = _grouped(frames, responses, ["theme", "measure", "source"], response_keys)
    table["group"] = table[group_col] if group_col else "all"
    if group_col:
        table = table.drop(columns=group_col)
    if "age_band" not in table:
        table["age_band"] = pd.NA
    table["age_band"] = table["age_band"].where(table["source"].eq("child"))
    # audits and other sources have no age band: their cells add up over bands as one
    if by_age_band:
        table = _regroup(table)
    n = table["answers"].where(table["answers"].gt(0))
    table["answers"] = table["answers"].astype("int64")
    table["positive"] = table["positive"].astype("int64")
    table["respondents"] = table["respondents"].astype("int64")
    table["share"] = table["positive"] / n
    table["mean_100"] = table["score_sum"] / n
    table = table.drop(columns="score_sum")
    if policy is not None:
        groups: list[list[str]] = []
        if group_col:
            groups.append(["theme", "measure", "source", "cycle", "age_band"])
            if by == "agency" and "sector" in responses:
                sector = responses.drop_duplicates("agency_id").set_index("agency_id")["sector"]
                table["_sector"] = sector.reindex(table["group"]).to_numpy()
                groups.append(["theme", "measure", "source", "cycle", "age_band", "_sector"])
        if by_age_band:
            groups.append(["theme", "measure", "source", "cycle", "group"])
        k = _thresholds(table["source"], policy)
        table = suppress(table, "respondents", ["answers", "positive", "share", "mean_100"], k, groups)
        table = table.drop(columns="_sector", errors="ignore")
    table = add_change(table, ["theme", "measure", "source", "group", "age_band"])
    columns = THEME_TABLE_COLUMNS + ([MARKER_COLUMN] if policy is not None else [])
    order = ["theme", "measure", "source", "group", "age_band", "cycle"]
    return table.sort_values(order, kind="stable", na_position="first").reset_index(drop=True)[columns]


def _thresholds(sources: pd.Series, policy: SuppressionPolicy) -> pd.Series:
    """Each row's k, by its source (looked up once per source, not once per row)."""
    return sources.map({s: policy.k_for(s) for s in pd.unique(sources)}).astype("int64")


def _regroup(table: pd.DataFrame) -> pd.DataFrame:
    """Sum rows that differ only in an age band that is not shown (sources other than child)."""
    keys = ["theme", "measure", "source", "cycle", "group", "age_band"]
    sums = ["respondents", *SUM_COLUMNS]
    return table.groupby(keys, dropna=False, sort=False, observed=True)[sums].sum().reset_index()


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

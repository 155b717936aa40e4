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

from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from questionnaires.model import Rule
from scoring.frames import codes

PROBLEM_COLUMNS = ["response_id", "section_id", "question_id", "rule", "message"]

#: R6 is not declared in definitions: a moderated rating always replaces the self rating.
MODERATION = "moderation"


def _applies(items: pd.DataFrame, applies: pd.Series | None) -> pd.Series:
    if applies is None:
        return pd.Series(True, index=items.index)
    return applies.reindex(items.index, fill_value=False).astype(bool)


def option_lookup(options: pd.DataFrame, question_ids: pd.Series, values: pd.Series, column: str) -> pd.Series:
    """`column` of the option (question_id, value) for each row; missing where there is none.

    >>> from questionnaires import load_all
    >>> from scoring.frames import option_frame
    >>> opts = option_frame(load_all()["s11-self-audit"])
    >>> option_lookup(opts, pd.Series(["s1.1", "s1.1"]), pd.Series(["met", "x"]), "label").tolist()
    ['Met', nan]
    """
    q_index = pd.Index(pd.unique(options["question_id"].to_numpy(dtype=object)), dtype=object)
    v_index = pd.Index(pd.unique(options["value"].to_numpy(dtype=object)), dtype=object)
    table = np.full((len(q_index) + 1, len(v_index) + 1), len(options), dtype=np.intp)
    table[q_index.get_indexer(options["question_id"]), v_index.get_indexer(options["value"])] = np.arange(len(options))
    row = table[codes(question_ids, q_index), codes(values, v_index)]
    found = options[column].to_numpy()
    if found.dtype.kind == "f":
        return pd.Series(np.append(found, np.nan)[row], index=question_ids.index)
    return pd.Series(np.append(found.astype(object), None)[row], index=question_ids.index)


def _downgrade(
    items: pd.DataFrame, hit: pd.Series, to: str, rule_id: str, why: pd.Series | str, options: pd.DataFrame
) -> pd.DataFrame:
    """Lower `rating` to `to` where `hit` and `to` scores less than the rating now counted."""
    now = option_lookup(options, items["question_id"], items["rating"], "score")
    target = option_lookup(options, items["question_id"], pd.Series(to, index=items.index), "score")
    lower = hit & items["rating"].notna() & (target < now).fillna(False)
    out = items.copy()
    out["rating"] = out["rating"].mask(lower, to)
    out["decided_by"] = out["decided_by"].mask(lower, rule_id)
    out["why"] = out["why"].mask(lower, why)
    return out


def evidence_for_met(
    items: pd.DataFrame, rule: Rule, options: pd.DataFrame, applies: pd.Series | None = None
) -> pd.DataFrame:
    """R1: an item counted `met` with no evidence listed counts as `downgrade_to` instead.

    Real S11 tools ask that every claim be "backed by evidence"; a claim without any is the
    commonest reason a moderation panel lowers a rating, so the score lowers it first.
    """
    met, to = rule.params["met"], rule.params["downgrade_to"]
    hit = _applies(items, applies) & items["rating"].eq(met) & items["evidence_count"].fillna(0).eq(0)
    return _downgrade(items, hit, to, rule.id, "no evidence is listed", options)


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
    newest: the explanation names it, so an agency can remove a superseded document or
    review it. Evidence without a date is not judged old. `as_of` is the date the audit is
    scored (its submission), so a stored score does not change as the calendar moves.
    """
    years = float(rule.params["max_age_years"])
    cutoff = pd.Timestamp(as_of) - pd.DateOffset(years=int(years), days=round((years % 1) * 365.25))
    types = list(rule.params.get("evidence_types") or [])
    dated = pd.to_datetime(evidence["date"], errors="coerce")
    old = evidence.loc[dated.lt(cutoff) & (evidence["type"].isin(types) if types else True)].assign(date=dated)
    old = old.sort_values(["response_id", "item_id", "date"], kind="stable")
    first = old.drop_duplicates(["response_id", "item_id"]).set_index(["response_id", "item_id"])
    at = pd.MultiIndex.from_frame(first.index.to_frame(index=False)).get_indexer(
        pd.MultiIndex.from_arrays([items["response_id"], items["question_id"]])
    )
    hit = _applies(items, applies) & pd.Series(at >= 0, index=items.index)
    found = first.iloc[at[hit.to_numpy()]]
    limit = f"{years:g} year" + ("" if years == 1 else "s")
    why = pd.Series(pd.NA, index=items.index, dtype=object)
    why[hit] = _text(
        "'",
        found["title"],
        "' (",
        found["type"],
        ") is dated ",
        found["date"].dt.strftime("%Y-%m-%d"),
        f", more than {limit} old",
    )
    return _downgrade(items, hit, rule.params["downgrade_to"], rule.id, why, options)


def _problems(items: pd.DataFrame, hit: pd.Series, rule_id: str, message: np.ndarray) -> pd.DataFrame:
    """Problem rows for the items `hit`; `message` holds one message per hit item, in order."""
    found = items.loc[hit, ["response_id", "section_id", "question_id"]].reset_index(drop=True)
    found = found.astype({"section_id": "str", "question_id": "str"})
    return found.assign(rule=pd.array([rule_id] * len(found), dtype="str"), message=pd.array(message, dtype="str"))


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
    na = option_lookup(options, items["question_id"], items["answered"], "not_applicable").eq(True) & applies_
    least = int(rule.params.get("min_reason_length", 1))
    length = _length(items["reason"], na.to_numpy())
    short = na & length.lt(least) & ~items["mandatory"]
    refused = na & items["mandatory"]
    out = items.copy()
    out["rating"] = out["rating"].mask(refused, pd.NA)
    out["applicable"] = out["applicable"] & ~refused
    out["decided_by"] = out["decided_by"].mask(refused, rule.id)
    out["why"] = out["why"].mask(refused, "a mandatory item cannot be not applicable")
    flagged = short | refused
    qid = items["question_id"][flagged]
    message = np.where(
        refused[flagged].to_numpy(),
        _text(qid, " must be answered: it is required of every agency, so it cannot be not applicable"),
        _text(qid, f" is not applicable: say why, in at least {least} characters"),
    )
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
    hit = _applies(items, applies) & items["answered"].isin(shortfall) & ~items["has_action"].fillna(False)
    mine = items.loc[hit]
    label = option_lookup(options, mine["question_id"], mine["answered"], "label")
    message = _text(
        mine["question_id"],
        " is rated ",
        label,
        ": add an action saying what will be done, who owns it and when it is due",
    )
    return _problems(items, hit, rule.id, message)


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


def _length(text: pd.Series, where: np.ndarray) -> pd.Series:
    """Characters in each text, spaces at the ends not counted; 0 where missing or not asked (`where` false)."""
    out = pd.Series(0, index=text.index, dtype="int64")
    mine = text[where]
    mine = mine.where(mine.map(type, na_action="ignore").eq(str))
    out[where] = mine.str.strip().str.len().fillna(0).to_numpy(dtype="int64")
    return out


def _fmt(values: pd.Series) -> pd.Series:
    """Whole numbers as text for explanations; '-' where missing."""
    return values.round().astype("Int64").astype("str").fillna("-")


def item_phrases(items: pd.DataFrame, options: pd.DataFrame) -> pd.Series:
    """One phrase per item saying what the standard's rule read: the answer and what counted.

    >>> from questionnaires import load_all
    >>> from scoring.frames import option_frame
    >>> opts = option_frame(load_all()["s11-self-audit"])
    >>> items = pd.DataFrame({"question_id": ["s1.1", "s1.2"], "answered": ["met", "met"],
    ...     "rating": ["met", "partially-met"], "decided_by": [None, "evidence-for-met"],
    ...     "why": [None, "no evidence is listed"], "evidence_count": [2, 0], "reason": [None, None],
    ...     "applicable": [True, True]})
    >>> item_phrases(items, opts).tolist()
    ['s1.1 Met (2 pieces of evidence)', 's1.2 rated Met, counted as Partially met by evidence-for-met: no evidence is listed']
    """
    qid = items["question_id"]
    answered = option_lookup(options, qid, items["answered"], "label")
    counted = option_lookup(options, qid, items["rating"], "label")
    na = option_lookup(options, qid, items["answered"], "not_applicable").eq(True).to_numpy()
    count = items["evidence_count"].fillna(0).astype("int64").to_numpy()
    evidence = np.where(count == 1, " piece of evidence)", " pieces of evidence)").astype(object)
    reason = np.where(_length(items["reason"], na).gt(0).to_numpy(), " (reason given)", " (no reason)").astype(object)
    decided = items["decided_by"].notna().to_numpy()
    has_rating = items["rating"].notna().to_numpy()
    was_answered = items["answered"].notna().to_numpy()
    phrase = _text(qid, " ", answered, " (", count.astype(str), evidence)
    cases = [
        (na, lambda m: _text(qid[m], " ", answered[m], reason[m])),
        (
            decided,
            lambda m: _text(
                qid[m],
                " rated ",
                answered[m],
                ", counted as ",
                counted[m],
                " by ",
                items["decided_by"][m],
                ": ",
                items["why"][m],
            ),
        ),
        (
            decided & ~has_rating,
            lambda m: _text(
                qid[m], " rated ", answered[m], ", not counted by ", items["decided_by"][m], ": ", items["why"][m]
            ),
        ),
        (~was_answered, lambda m: _text(qid[m], " not answered")),
    ]
    for mask, build in cases:  # later cases win, as they describe the item more exactly
        if mask.any():
            phrase[mask] = build(mask)
    return pd.Series(phrase, index=items.index, dtype=object)


def _joined(text: np.ndarray, gid: np.ndarray, groups: int, sep: str = "; ") -> np.ndarray:
    """`text` joined with `sep` per group id, in row order: one str.join per group over a slice."""
    order = np.argsort(gid, kind="stable")
    text = text[order]
    bounds = np.concatenate([[0], np.cumsum(np.bincount(gid, minlength=groups))])
    return np.array([sep.join(text[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)], dtype=object)


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
    na_value = next(iter(scale.loc[scale["not_applicable"], "value"]), None)

    counted = items["applicable"] & items["rating"].notna()
    score = option_lookup(options, items["question_id"], items["rating"], "score_100")
    na = option_lookup(options, items["question_id"], items["rating"], "not_applicable").eq(True)
    counted &= ~na
    weight = items["weight"].astype("float64")
    keys = ["response_id", "section_id"]
    gid = items.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    groups = int(gid.max()) + 1 if len(gid) else 0
    first = np.unique(gid, return_index=True)[1]
    out = items[keys].iloc[first].reset_index(drop=True)
    sums = {
        "items": np.ones(len(items)),
        "applicable": counted.to_numpy(dtype="float64"),
        "met": (counted & items["rating"].eq(met)).to_numpy(dtype="float64"),
        "unanswered": items["rating"].isna().to_numpy(dtype="float64"),
        "weighted": (score * weight).where(counted, 0.0).to_numpy(dtype="float64"),
        "weight": weight.where(counted, 0.0).to_numpy(dtype="float64"),
    }
    for name, values in sums.items():
        total = np.bincount(gid, weights=values, minlength=groups)
        out[name] = total if name in ("weighted", "weight") else np.rint(total).astype("int64")
    out["read"] = _joined(item_phrases(items, options).to_numpy(dtype=object), gid, groups)
    out["score_100"] = (out["weighted"] / out["weight"]).where(out["weight"].gt(0))

    reached = pd.Series(pd.NA, index=out.index, dtype="str")
    floor = pd.Series(np.nan, index=out.index)
    for threshold in reversed(thresholds):  # the first threshold reached wins, so write it last
        ok = out["score_100"].ge(float(threshold["min_score"]))
        reached = reached.mask(ok, threshold["rating"])
        floor = floor.mask(ok, float(threshold["min_score"]))
    below = reached.isna() & out["score_100"].notna()
    reached = reached.mask(below, thresholds[-1]["rating"] if thresholds else pd.NA)

    all_met = out["applicable"].gt(0) & out["met"].eq(out["applicable"])
    incomplete = out["unanswered"].gt(0)
    none_apply = out["applicable"].eq(0) & ~incomplete
    rating = reached.mask(all_met, met).mask(none_apply, na_value).mask(incomplete, pd.NA)

    met_label = str(label.get(met, met))
    n_applicable = out["applicable"].to_numpy()
    applicable = n_applicable.astype(str).astype(object)
    noun = np.where(n_applicable == 1, " item", " items").astype(object)
    verb = np.where(out["met"].to_numpy() == 1, " is ", " are ").astype(object)  # "1 of 3 items is", "2 of 3 are"
    rating_label = rating.map(label).to_numpy(dtype=object)
    score_text = _fmt(out["score_100"]).to_numpy(dtype=object)
    reached_at = _fmt(floor).to_numpy(dtype=object)
    unanswered = out["unanswered"].to_numpy()
    counts = _text(out["met"].to_numpy().astype(str), " of ", applicable, " applicable", noun, verb, met_label)
    text = _text(
        rating_label,
        f" by {rule.id}: ",
        counts,
        "; the weighted score ",
        score_text,
        " reaches ",
        reached_at,
        ", the least for ",
        rating_label,
        ".",
    )
    cases = [  # later cases win; each text is built only for its own rows
        (
            below.to_numpy(),
            lambda m: _text(
                rating_label[m],
                f" by {rule.id}: ",
                counts[m],
                "; the weighted score ",
                score_text[m],
                " is below every threshold.",
            ),
        ),
        (
            all_met.to_numpy(),
            lambda m: _text(
                f"{met_label} by {rule.id}: all ",
                applicable[m],
                " applicable",
                noun[m],
                np.where(n_applicable[m] == 1, " is ", " are ").astype(object),
                met_label,
                " (weighted score ",
                score_text[m],
                ").",
            ),
        ),
        (
            none_apply.to_numpy(),
            lambda m: np.full(
                int(m.sum()), f"{label.get(na_value, 'Not applicable')} by {rule.id}: no item applies.", dtype=object
            ),
        ),
        (
            incomplete.to_numpy(),
            lambda m: _text(
                f"Not rated by {rule.id}: ",
                unanswered[m].astype(str).astype(object),
                np.where(unanswered[m] == 1, " item is", " items are").astype(object),
                " not answered or not counted.",
            ),
        ),
    ]
    for mask, build in cases:
        if mask.any():
            text[mask] = build(mask)
    return pd.DataFrame(
        {
            "response_id": out["response_id"],
            "section_id": out["section_id"].astype("str"),
            "self_rating": rating.astype("str"),
            "score_100": out["score_100"].astype("float64"),
            "items": out["items"].astype("int64"),
            "applicable": out["applicable"].astype("int64"),
            "met": out["met"].astype("int64"),
            "unanswered": out["unanswered"].astype("int64"),
            "rule": rule.id,
            "explanation": pd.array(_text(text, " Items read: ", out["read"], "."), dtype="str"),
        }
    ).astype({"rule": "str"})


def moderate(standards: pd.DataFrame, moderation: pd.DataFrame | None, scale: pd.DataFrame) -> pd.DataFrame:
    """R6: a moderated rating replaces the self rating in reports; both are kept and compared.

    `moderation` has (`response_id`, `section_id`, `moderated_rating`). Adds
    `moderated_rating`, `reported_rating`, `rating_source` ('self' or 'moderated') and
    `moderation` ('agreed', 'raised' or 'lowered' by the moderator, missing when not
    moderated), and says so at the end of the explanation.
    """
    keys = ["response_id", "section_id"]
    out = standards.drop(columns=["moderated_rating"], errors="ignore")
    if moderation is None or moderation.empty:
        moderated = pd.Series(pd.NA, index=out.index, dtype="str")
    else:
        table = moderation.drop_duplicates(keys, keep="last").set_index(keys)["moderated_rating"]
        found = table.reindex(pd.MultiIndex.from_arrays([out["response_id"], out["section_id"]]))
        moderated = pd.Series(found.to_numpy(), index=out.index, dtype="str")
    label = pd.Series(scale["label"].to_numpy(), index=scale["value"])
    score = pd.Series(scale["score"].to_numpy(), index=scale["value"])
    mine, theirs = out["self_rating"].map(score), moderated.map(score)
    comparison = pd.Series(
        np.select([mine.eq(theirs), theirs.gt(mine), theirs.lt(mine)], ["agreed", "raised", "lowered"], default=""),
        index=out.index,
    ).mask(moderated.isna() | out["self_rating"].isna(), pd.NA)
    comparison = comparison.mask(moderated.notna() & comparison.isna() & moderated.eq(out["self_rating"]), "agreed")
    note = (
        " Moderated to "
        + moderated.map(label).astype("str")
        + " by the sub-group ("
        + MODERATION
        + ", R6), replacing the self rating "
        + out["self_rating"].map(label).fillna("(not rated)").astype("str")
        + " in reports."
    )
    return out.assign(
        moderated_rating=moderated,
        reported_rating=moderated.fillna(out["self_rating"]).astype("str"),
        rating_source=pd.Series(np.where(moderated.notna(), "moderated", "self"), index=out.index, dtype="str"),
        moderation=comparison.astype("str"),
        explanation=(out["explanation"] + note.fillna("")).astype("str"),
    )


def action_progress(actions: pd.DataFrame, rule: Rule, as_of: date) -> pd.DataFrame:
    """R7: the RAG status of each action from its progress (per cent done) and due date.

    Overdue (due before `as_of`, not finished) with less than `overdue_red_below` done is red
    whatever else; otherwise red below `red_below`, green from `green_from`, amber between.
    Adds `overdue`, `rag` and `explanation`; `actions` needs `due` and `progress`.
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
    explanation = (
        rag.str.capitalize()
        + " by "
        + rule.id
        + ": "
        + done
        + pd.Series(
            np.select(
                [progress.lt(red_below), progress.ge(green_from)],
                [f", under the {red_below:g}% needed for amber", f", at least the {green_from:g}% needed for green"],
                f", between {red_below:g}% and {green_from:g}%",
            ),
            index=actions.index,
        )
        + "."
    )
    explanation = explanation.mask(
        late_red,
        "Red by "
        + rule.id
        + ": overdue since "
        + due.dt.strftime("%Y-%m-%d").astype("str")
        + " with "
        + done
        + f", under the {overdue_red:g}% an overdue action needs.",
    )
    return actions.assign(overdue=overdue.astype(bool), rag=rag, explanation=explanation.astype("str"))


def triangulation(standards: pd.DataFrame, practitioner: pd.DataFrame, rule: Rule, on: list[str]) -> pd.DataFrame:
    """R8: flag a standard an agency rates `met` while too few of its practitioners agree.

    `standards` has `on` (e.g. agency_id, cycle), `section_id` and `self_rating`;
    `practitioner` has one row per practitioner answer to a question matching a standard:
    `on`, `section_id`, `positive`, `in_base` (don't know and not applicable are out of the
    base). Each standard gets the practitioners' answers in base, how many were positive,
    their share and `triangulation`: 'flag' (rated met, share below `min_positive_share`),
    'no-flag', 'not-enough-answers' (fewer than `min_respondents`) or 'not-checked' (not
    rated met).
    """
    met = rule.params["met"]
    least_share = float(rule.params["min_positive_share"])
    least_n = int(rule.params["min_respondents"])
    keys = [*on, "section_id"]
    base = practitioner.loc[practitioner["in_base"].astype(bool)]
    counts = (
        base.assign(positive=base["positive"].astype("int64"))
        .groupby(keys, sort=False, dropna=False, observed=True)["positive"]
        .agg(practitioner_answers="size", practitioner_positive="sum")
        .reset_index()
    )
    for key in keys:  # a few rows: plain values, so they join whatever types the standards' keys have
        counts[key] = counts[key].astype(object)
    plain = standards.assign(**{k: standards[k].astype(object) for k in keys})
    out = plain.merge(counts, on=keys, how="left").set_axis(standards.index)
    out = out.assign(**{k: standards[k] for k in keys})
    n = out["practitioner_answers"].fillna(0).astype("int64")
    positive = out["practitioner_positive"].fillna(0).astype("int64")
    share = (positive / n).where(n.gt(0))
    rated_met = out["self_rating"].eq(met)
    status = np.select(
        [~rated_met, n.lt(least_n), share.lt(least_share)], ["not-checked", "not-enough-answers", "flag"], "no-flag"
    )
    pct = _fmt(share * 100)
    explanation = pd.Series(
        np.select(
            [~rated_met, n.lt(least_n), share.lt(least_share)],
            [
                "Not checked by " + rule.id + ": the standard is not rated " + met + ".",
                "Not enough answers for "
                + rule.id
                + ": "
                + n.astype("str")
                + f" practitioners answered, {least_n} needed.",
                "Flagged by "
                + rule.id
                + ": rated "
                + met
                + " but "
                + pct
                + "% of "
                + n.astype("str")
                + f" practitioners answered positively, under {least_share * 100:g}%.",
            ],
            "Not flagged by "
            + rule.id
            + ": "
            + pct
            + "% of "
            + n.astype("str")
            + " practitioners answered positively.",
        ),
        index=out.index,
    )
    return out.assign(
        practitioner_answers=n,
        practitioner_positive=positive,
        positive_share=share.astype("float64"),
        triangulation=pd.Series(status, index=out.index, dtype="str"),
        triangulation_explanation=explanation.astype("str"),
    )

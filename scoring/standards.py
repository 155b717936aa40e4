"""Score Section 11 audits: items through the declared rules, then one rating per standard.

`score_audits` takes the stored answers of one audit or of a whole cycle (any number of
responses of one questionnaire version) and returns three tables, meant to be stored when an
audit is submitted, moderated or re-scored, so that pages read scores and never re-read
answers:

- `items`: one row per audit and rating item, the rating chosen and the rating that counts;
- `standards`: one row per audit and standard, with the self rating, the weighted 0-100 score,
  the moderated and reported ratings (R6) and an explanation naming the rule that decided and
  the answers it read;
- `problems`: what blocks submission (R3, R5), one row per problem, in words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import chain, repeat

import numpy as np
import pandas as pd

from questionnaires.model import Questionnaire, Rule
from scoring import rules as R
from scoring.cells import IdLookup, as_text, factorize_runs, few_as_text, first_seen, is_in
from scoring.frames import (
    ANSWER_COLUMNS,
    REASON_SUFFIX,
    by_distinct,
    codes,
    has_text,
    iso_dates,
    memo,
    of_type,
    option_frame,
    parse_iso,
    question_frame,
)

EVIDENCE_COLUMNS = ["response_id", "item_id", "evidence_question", "index", "title", "type", "date", "link"]
ACTION_COLUMNS = ["response_id", "item_id", "action_question", "what", "owner", "due"]
#: One row per audit and standard, as `score_audits` returns them (and the store keeps them).
STANDARD_COLUMNS = [
    "response_id",
    "section_id",
    "self_rating",
    "score_100",
    "items",
    "applicable",
    "met",
    "unanswered",
    "rule",
    "moderated_rating",
    "reported_rating",
    "rating_source",
    "moderation",
    "explanation",
]


@dataclass(frozen=True, slots=True)
class AuditScores:
    """What scoring audits yields; each frame is stored as it is."""

    items: pd.DataFrame
    standards: pd.DataFrame
    problems: pd.DataFrame


def _link_answers(
    answers: pd.DataFrame, questions: pd.DataFrame, link: str, items: Iterable[str] | None = None
) -> pd.DataFrame:
    """Answers to the questions that rating items name in `link` ('evidence' or 'action'), with the item id."""
    links = questions.loc[questions[link].notna(), ["question_id", link]]
    if items is not None:
        links = links.loc[links["question_id"].isin(list(items))]
    owner = pd.Series(links["question_id"].to_numpy(), index=pd.Index(links[link]))
    found = answers.loc[answers["question_id"].isin(owner.index), list(ANSWER_COLUMNS)]
    return found.assign(item_id=owner.reindex(found["question_id"]).to_numpy())


def evidence_frame(answers: pd.DataFrame, questions: pd.DataFrame, items: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per piece of evidence listed for a rating item (or for `items` only), its date parsed.

    Entries that are not objects (a malformed row) are dropped rather than stopping a batch.
    """
    found = _link_answers(answers, questions, "evidence", items)
    return _evidence_pieces(
        found["response_id"].to_numpy(),
        found["item_id"].to_numpy(dtype=object),
        found["question_id"].to_numpy(dtype=object),
        found["value"].to_numpy(dtype=object),
    )


def _evidence_pieces(
    response_id: np.ndarray, item_id: np.ndarray, question_id: np.ndarray, value: np.ndarray
) -> pd.DataFrame:
    """`evidence_frame` from evidence answers given as arrays, in the order they are stored."""
    at, entries = _entries(value, _listed(value)[0])

    def field(name: str) -> np.ndarray:
        return _field(entries, name)

    pieces = pd.DataFrame({"response_id": response_id[at], "item_id": item_id[at]})
    made = {
        "response_id": response_id[at],
        "item_id": _text(item_id[at]),
        "evidence_question": _text(question_id[at]),
        "index": pieces.groupby(["response_id", "item_id"], sort=False).cumcount().to_numpy().astype("int64"),
        "title": _text(field("title")),
        "type": _text(field("type")),
        "date": pd.Series(_dates(field("date"))),
        "link": _text(field("link")),
    }
    return pd.DataFrame({column: made[column] for column in EVIDENCE_COLUMNS}, columns=list(EVIDENCE_COLUMNS))


def _entries(value: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each entry of the evidence answers that is an object, and the answer it is listed in, in order.

    `size` is the number of entries of each answer (`_listed`); other entries are malformed and
    dropped rather than stopping a batch.
    """
    listed = size > 0
    at = np.repeat(np.arange(len(value)), size)
    entries = np.fromiter(chain.from_iterable(value[listed]), dtype=object, count=int(size.sum()))
    kept = of_type(entries, dict)
    return at[kept], entries[kept]


def _field(entries: np.ndarray, name: str) -> np.ndarray:
    """One field of each evidence entry (an object), None where it has none."""
    return np.fromiter(map(dict.get, entries, repeat(name)), dtype=object, count=len(entries))


def _text(values: np.ndarray) -> pd.Series:
    """Fields as text, as the evidence table holds them."""
    return as_text(pd.Series(values, dtype=object))


def _dates(values: np.ndarray) -> np.ndarray:
    """Fields as dates, datetime64[ns]: pieces of a batch share few dates, so each distinct one is parsed once."""
    return by_distinct(values, _iso_dates, np.datetime64("NaT", "ns"))


def _listed(value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entries in each evidence answer (its length if a list or a tuple, else none, as malformed), and which are lists.

    One pass over the values' types serves the items' evidence counts (of lists) and R4's pieces.
    """
    kinds = np.fromiter(map(type, value), dtype=object, count=len(value))
    is_list = np.equal(kinds, list)
    listed = is_list | np.equal(kinds, tuple)
    size = np.zeros(len(value), dtype=np.int64)
    size[listed] = np.fromiter(map(len, value[listed]), dtype=np.int64, count=int(listed.sum()))
    return size, is_list


def _iso_dates(values: np.ndarray) -> np.ndarray:
    """`frames.iso_dates` of an array, as datetime64[ns] values: NaT for what is not ISO date text.

    Called on a batch's few distinct dates: the texts are parsed as they are, with no Series between.
    """
    array = np.asarray(values, dtype=object)
    text = of_type(array, str)
    out = np.full(len(array), np.datetime64("NaT", "ns"))
    out[text] = parse_iso(array[text])
    return out


def _is_iso_date(values: np.ndarray) -> np.ndarray:
    """Whether each value is a date written as ISO text, as an action's due date must be."""
    return ~np.isnat(_iso_dates(values))


def action_frame(answers: pd.DataFrame, questions: pd.DataFrame) -> pd.DataFrame:
    """One row per action answer (what, owner, due) with the rating item it is for."""
    found = _link_answers(answers, questions, "action")
    found = found.loc[found["value"].map(type, na_action="ignore").eq(dict)]
    fields = pd.DataFrame.from_records(found["value"].tolist(), columns=["what", "owner", "due"], index=found.index)
    return pd.DataFrame(
        {
            "response_id": found["response_id"],
            "item_id": found["item_id"].astype("str"),
            "action_question": found["question_id"].astype("str"),
            "what": fields["what"].astype("str"),
            "owner": fields["owner"].astype("str"),
            "due": iso_dates(fields["due"]),
        },
        columns=ACTION_COLUMNS,
    ).reset_index(drop=True)


#: What a question that feeds a rating item is to it (`_ItemLayout.feed_kind`).
RATING, REASON, EVIDENCE, ACTION = range(4)


@dataclass(frozen=True, slots=True)
class _ItemLayout:
    """A definition's rating items and the questions that feed them, as arrays: built once per questionnaire."""

    ratings: pd.DataFrame  # the question frame's rows of the rating items, in order
    item_ids: np.ndarray  # object
    item_index: pd.Index  # the same, as the items table's categories: one object, so lookups by them are kept
    feeds: pd.Index  # every question id that feeds an item: its rating, reason, evidence, action
    feed_kind: np.ndarray  # per feed: RATING, REASON, EVIDENCE or ACTION
    feed_item: np.ndarray  # per feed: the item's code
    sections: pd.Index  # the standards the items belong to
    section_of: np.ndarray  # per item: its section's code
    scale: pd.Index  # every value a rating item can take
    na_code: np.ndarray  # per item: its not applicable value's code in `scale`, or -1


def _layout(questionnaire: Questionnaire, questions: pd.DataFrame) -> _ItemLayout:
    ratings = questions.loc[questions["type"].eq("rating") & questions["scored"]].reset_index(drop=True)
    item_ids = ratings["question_id"].to_numpy(dtype=object)
    n_items = len(item_ids)
    kinds = {
        RATING: item_ids,
        REASON: item_ids + REASON_SUFFIX,
        EVIDENCE: ratings["evidence"].to_numpy(dtype=object),
        ACTION: ratings["action"].to_numpy(dtype=object),
    }
    feeds = (
        pd.DataFrame(
            {
                "question_id": pd.Series(np.concatenate(list(kinds.values())), dtype=object),
                "kind": np.repeat(list(kinds), n_items),
                "item": np.tile(np.arange(n_items), len(kinds)),
            }
        )
        .dropna(subset=["question_id"])
        .drop_duplicates("question_id")
    )
    options = option_frame(questionnaire)
    rating_options = options.loc[options["question_id"].isin(item_ids)]
    na_values = rating_options.loc[rating_options["not_applicable"]].drop_duplicates("question_id")
    na_of = pd.Series(na_values["value"].to_numpy(dtype=object), index=na_values["question_id"].to_numpy(dtype=object))
    scale = pd.Index(pd.unique(rating_options["value"].to_numpy(dtype=object)), dtype=object)
    section_of, sections = pd.factorize(ratings["section_id"].to_numpy(dtype=object))
    return _ItemLayout(
        ratings=ratings,
        item_ids=item_ids,
        item_index=pd.Index(item_ids, dtype=object),
        feeds=pd.Index(feeds["question_id"].to_numpy(dtype=object), dtype=object),
        feed_kind=feeds["kind"].to_numpy(dtype=np.int64),
        feed_item=feeds["item"].to_numpy(dtype=np.int64),
        sections=pd.Index(sections, dtype=object),
        section_of=section_of,
        scale=scale,
        na_code=scale.get_indexer(na_of.reindex(item_ids).to_numpy(dtype=object)),
    )


def build_items(
    questionnaire: Questionnaire,
    answers: pd.DataFrame,
    responses: Iterable[object] | None = None,
    questions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The items table the rules read (see `scoring.rules`): one row per response and rating item.

    Every rating item of every response appears, answered or not, so a standard with an
    unanswered item is seen as incomplete. `responses` names the responses to score (by
    default those with any answer). One hash lookup places each answer: its question's code
    says whether it is a rating, a reason, evidence or an action, and which item it is for;
    a response code times the number of items plus the item's code gives its row. Nested
    answers (evidence lists, actions) are read one by one, as they are only Python objects.
    """
    if questions is None:
        layout = memo(questionnaire, "audit-items", lambda: _layout(questionnaire, question_frame(questionnaire)))
    else:
        layout = _layout(questionnaire, questions)
    return _read_items(layout, answers, responses)[0]


@dataclass(frozen=True, slots=True)
class _EvidenceAnswers:
    """The evidence answers placed while reading items, in the order stored: for R4, without a second lookup."""

    item: np.ndarray  # the item's code
    row: np.ndarray  # the item's row in the items grid
    value: np.ndarray
    size: np.ndarray  # entries listed in each (`_listed`)


def _read_items(
    layout: _ItemLayout, answers: pd.DataFrame, responses: Iterable[object] | None
) -> tuple[pd.DataFrame, _EvidenceAnswers]:
    """`build_items`, and the evidence answers it placed."""
    if responses is None and answers["response_id"].dtype.kind in "iu":  # the audits answered, as they come:
        # numbered as first seen, as pd.factorize does, hashing one id per audit: its answers come together
        r_code, ids = factorize_runs(answers["response_id"].to_numpy())
        response_index = pd.Index(ids)
    else:
        ids = pd.unique(answers["response_id"]) if responses is None else pd.unique(pd.Series(list(responses)))
        response_index = pd.Index(ids)
        r_code = response_index.get_indexer(answers["response_id"])
    n_items = len(layout.item_ids)
    size = len(response_index) * n_items

    # audits are stored one after another: the first one's answers are the period its questions may repeat by
    period = int(np.argmax(r_code != r_code[0])) if len(r_code) else 0
    code = _repeating_codes(answers["question_id"], layout.feeds, period)
    value = answers["value"].to_numpy(dtype=object)
    # answers to other questions, or of responses not asked for, are of no kind (-1) and left out; the values
    # are not copied first: each kind takes its own, as taking an object counts a reference on it, a write to
    # memory for each of a batch's answers
    kind = np.where((code >= 0) & (r_code >= 0), layout.feed_kind[code], -1)
    at = r_code * n_items + layout.feed_item[code]  # read for the answers of a kind only

    def of(name: int) -> tuple[np.ndarray, np.ndarray]:
        """Where in the grid the answers of one kind go, and their values (a later duplicate wins)."""
        mine = np.flatnonzero(kind == name)
        return at[mine], value[mine]

    where, values = of(RATING)
    scale_code = codes(values, layout.scale)
    known = scale_code >= 0
    answered = np.full(size, -1, dtype=np.int64)
    answered[where[known]] = scale_code[known]  # a value the scale does not have counts as unanswered

    where, values = of(REASON)
    text = of_type(values, str)
    reason = np.full(size, None, dtype=object)
    reason[where[text]] = values[text]

    where, values = of(EVIDENCE)
    entries, is_list = _listed(values)
    # a row of the grid is an audit's item: the item's code is the row's place in its audit's rows
    evidence = _EvidenceAnswers(item=where % max(n_items, 1), row=where, value=values, size=entries)
    counts = np.zeros(size, dtype=np.int64)
    counts[where[is_list]] = entries[is_list]  # an item's evidence count counts lists only

    where, values = of(ACTION)
    objects = of_type(values, dict)
    if not objects.all():  # stored actions are all objects: only a malformed one is taken out
        where, values = where[objects], values[objects]
    actions = values

    def field(name: str) -> np.ndarray:
        return np.fromiter(map(dict.get, actions, repeat(name)), dtype=object, count=len(actions))

    # judged once per distinct what, owner and due date: a batch's actions repeat them
    complete = (
        by_distinct(field("what"), has_text, False)
        & by_distinct(field("owner"), has_text, False)
        & by_distinct(field("due"), _is_iso_date, False)
    )
    has_action = np.zeros(size, dtype=bool)
    has_action[where[complete]] = True

    item_of = np.tile(np.arange(n_items), len(response_index))
    ratings = layout.ratings
    # the definition's ids and ratings as categoricals (codes into the definition: comparing, grouping and
    # looking options up costs no hashing); other text stays object, as pandas' str dtype checks each value
    # for missing on every comparison
    items = pd.DataFrame(
        {
            "response_id": np.repeat(response_index.to_numpy(), n_items),
            "section_id": pd.Categorical.from_codes(layout.section_of[item_of], layout.sections),
            "question_id": pd.Categorical.from_codes(item_of, layout.item_index),
            "weight": ratings["weight"].to_numpy(dtype="float64")[item_of],
            "mandatory": ratings["mandatory"].to_numpy(dtype=bool)[item_of],
            "answered": pd.Categorical.from_codes(answered, layout.scale),
            "rating": pd.Categorical.from_codes(answered, layout.scale),
            "decided_by": pd.Series(np.full(size, None, dtype=object), dtype=object, copy=False),
            "why": pd.Series(np.full(size, None, dtype=object), dtype=object, copy=False),
            "evidence_count": counts,
            "reason": pd.Series(reason, dtype=object, copy=False),
            "has_action": has_action,
            "applicable": (answered >= 0) & (answered != layout.na_code[item_of]),
        },
        copy=False,  # fresh arrays (and Series of them, made without a copy): kept as they are, not copied again
    )
    return items, evidence


#: Fewer answers than this are looked up at once: comparing them first costs more in its own steps than it saves
#: (a few audits of 165 answers: 0.5 ms against 0.12 ms looked up at once; even from about 6,000 answers).
_LOOKED_UP_AT_ONCE = 4096


def _repeating_codes(values: pd.Series, categories: pd.Index, period: int) -> np.ndarray:
    """`codes(values, categories)` of text categories, looking up only values unlike the one `period` rows before.

    A batch's audits are stored one after another, and audits answering the same questions
    store them in the same order, so an answer's question is most often the one `period`
    rows before (`period` being the first audit's answers). Comparing two strings costs a
    third of a hash lookup: a value equal to the one `period` rows before takes that row's
    code, and only the others (the first audit's, and those after an audit that answered
    other questions) are looked up. A batch of one audit, or of a few (`_LOOKED_UP_AT_ONCE`),
    or of audits whose questions mostly do not repeat so (a sample of them says), is looked
    up as it is.
    """
    array = values.to_numpy(dtype=object)
    size = len(array)
    if not 0 < period < size or size < _LOOKED_UP_AT_ONCE:
        return codes(values, categories)
    same = np.zeros(size, dtype=bool)
    try:
        # where audits answer different questions, few repeat and comparing first costs more than it saves:
        # every 64th answer compared says which (a comparison costs a third of a lookup: half must repeat)
        if np.equal(array[period::64], array[:-period:64]).mean() < 0.5:
            return codes(values, categories)
        np.equal(array[period:], array[:-period], out=same[period:])
    except (TypeError, ValueError):  # values that cannot say whether they are equal (pd.NA): each looked up
        return codes(values, categories)
    read = np.flatnonzero(~same)
    # a row's code is that of the last row read at or above it in steps of `period`: laid out `period` rows
    # to a line, the running maximum down each column of the rows read
    source = np.full(-(-size // period) * period, -1, dtype=np.intp)
    source[read] = read
    lines = source.reshape(-1, period)
    np.maximum.accumulate(lines, axis=0, out=lines)
    found = np.empty(size, dtype=np.intp)
    found[read] = codes(values.iloc[read], categories)
    return found[source[:size]]


def _rules_of(questionnaire: Questionnaire, kind: str) -> list[Rule]:
    return [rule for rule in questionnaire.rules.values() if rule.kind == kind]


def _section_scale(questionnaire: Questionnaire, options: pd.DataFrame, section_id: str) -> pd.DataFrame:
    section = questionnaire.section(section_id)
    first = next((q.id for q in section.questions if q.type == "rating"), None) if section else None
    return options.loc[options["question_id"].eq(first)].reset_index(drop=True)


@dataclass(frozen=True, slots=True)
class _AuditPlan:
    """What scoring an audit reads from its definition besides answers: built once per questionnaire."""

    layout: _ItemLayout
    applies: dict[str, np.ndarray]  # per item rule: per item code, whether the rule applies to it
    scales: dict[str, list[tuple[list[str], pd.DataFrame]]]  # per standard rule: standards on one scale, the scale
    sections: pd.Index  # the definition's standards (text: the standards table's section ids are looked up in it)
    section_order: np.ndarray  # per standard its position, then NaN for a standard not there (as a dict map gives)
    questions: pd.Index  # the definition's questions (text: the problems' question ids are looked up in it)
    question_order: np.ndarray  # per question its position, then NaN for a question not there


def _plan(questionnaire: Questionnaire) -> _AuditPlan:
    questions = question_frame(questionnaire)
    options = option_frame(questionnaire)
    layout = memo(questionnaire, "audit-items", lambda: _layout(questionnaire, questions))
    items = pd.Series(layout.item_ids, dtype=object)
    applies = {
        rule.id: items.isin(
            questions.loc[questions["rules"].map(lambda ids, r=rule: r.id in ids), "question_id"]
        ).to_numpy(dtype=bool)
        for rule in questionnaire.rules.values()
    }
    scales = {}
    for rule in _rules_of(questionnaire, "standard_rating"):
        by_scale: dict[tuple[str, ...], list[str]] = {}
        for section in questionnaire.sections:
            if rule.id in section.rules:
                scale = _section_scale(questionnaire, options, section.id)
                by_scale.setdefault(tuple(scale["value"]), []).append(section.id)
        scales[rule.id] = [(ids, _section_scale(questionnaire, options, ids[0])) for ids in by_scale.values()]
    return _AuditPlan(
        layout=layout,
        applies=applies,
        scales=scales,
        sections=pd.Index([s.id for s in questionnaire.sections], dtype="str"),
        section_order=np.array([s.position for s in questionnaire.sections] + [np.nan], dtype="float64"),
        questions=pd.Index(questions["question_id"].to_numpy(dtype=object), dtype="str"),
        question_order=np.append(questions["position"].to_numpy(dtype="float64"), np.nan),
    )


def score_audits(
    questionnaire: Questionnaire,
    answers: pd.DataFrame,
    as_of: date,
    moderation: pd.DataFrame | None = None,
    responses: Iterable[object] | None = None,
) -> AuditScores:
    """Score one audit or a batch: items through R1, R3, R4 and R5, standards by R2, then R6.

    `answers` holds (`response_id`, `question_id`, `value`) as stored; `as_of` is the date
    evidence ages are measured to (the submission date for a stored score); `moderation`
    holds (`response_id`, `section_id`, `moderated_rating`). Rules run in the order a
    reviewer would apply them: missing evidence (R1), out-of-date evidence (R4), then not
    applicable (R3) and actions (R5), then the standard (R2) and moderation (R6).
    """
    plan = memo(questionnaire, "audit-plan", lambda: _plan(questionnaire))
    options = option_frame(questionnaire)
    items, evidence_answers = _read_items(plan.layout, answers, responses)
    n_responses = len(items) // max(len(plan.layout.item_ids), 1)

    def applies(rule: Rule) -> pd.Series:
        """The items the rule is declared on: the grid repeats the definition's items for each response."""
        return pd.Series(np.tile(plan.applies[rule.id], n_responses), index=items.index, copy=False)

    problems = []
    for rule in _rules_of(questionnaire, "evidence_for_met"):
        items = R.evidence_for_met(items, rule, options, applies(rule))
    for rule in _rules_of(questionnaire, "evidence_age"):
        # only the evidence of items this rule applies to is read, piece by piece: so every piece
        # given is one the rule judges, and no `applies` goes with them to filter them again
        read = plan.applies[rule.id][evidence_answers.item]
        answer, entries = _entries(evidence_answers.value[read], evidence_answers.size[read])
        items = R.evidence_age_of_rows(
            items,
            evidence_answers.row[read][answer],  # each piece's item is a row of the grid: no matching by keys
            _field(entries, "title"),
            _text(_field(entries, "type")),
            _dates(_field(entries, "date")),
            rule,
            options,
            as_of,
        )
    for rule in _rules_of(questionnaire, "not_applicable_reason"):
        items, found = R.not_applicable_reason(items, rule, options, applies(rule))
        problems.append(found)
    for rule in _rules_of(questionnaire, "action_for_shortfall"):
        problems.append(R.action_for_shortfall(items, rule, options, applies(rule)))

    standards = []
    for rule in _rules_of(questionnaire, "standard_rating"):
        for section_ids, scale in plan.scales[rule.id]:  # one call per scale: standards on one scale share labels
            on_scale = is_in(items["section_id"], section_ids)  # the grid's categorical: its categories looked up
            mine = items if on_scale.all() else items.loc[on_scale]
            if mine.empty:
                continue
            rated = R.standard_rating(mine, rule, options, scale)
            standards.append(R.moderate(rated, moderation, scale))
    table = _joined(standards) if standards else pd.DataFrame(columns=STANDARD_COLUMNS)
    table = _by_response(table, plan.section_order[_positions(table["section_id"], plan.sections)])
    found = [p for p in problems if not p.empty]
    problem_table = _joined(found) if found else R.empty_problems(items)
    problem_table = _by_response(
        problem_table, plan.question_order[_positions(problem_table["question_id"], plan.questions)]
    )
    categories = ["section_id", "question_id", "answered", "rating"]
    few = ["decided_by", "why", "reason"]  # a few rule ids, reasons why and reasons given, mostly missing
    text = {column: as_text(items[column]) for column in categories} | {c: few_as_text(items[c]) for c in few}
    return AuditScores(items=items.assign(**text), standards=table[STANDARD_COLUMNS], problems=problem_table)


def _positions(values: pd.Series, ids: pd.Index) -> np.ndarray:
    """`codes(values, ids)` of text ids, as objects; values of the same text dtype looked up in `ids` itself.

    `ids` is the plan's, kept from batch to batch, and so is the hash table pandas builds
    for it on the first lookup: `codes` would make a new index of the values' dtype, and
    hash the ids again, each batch.
    """
    if values.dtype == ids.dtype:
        return ids.get_indexer(values)
    return codes(values, pd.Index(ids, dtype=object))  # other values (an empty table's objects) as objects


def _joined(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The frames one after another, for `_by_response` (which numbers the rows afresh): one alone as it is.

    A batch's standards are mostly on one scale, and its problems mostly of one rule: a
    concatenation of one frame would only copy it.
    """
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _by_response(frame: pd.DataFrame, order: np.ndarray) -> pd.DataFrame:
    """`frame` sorted by response_id, then by `order` (the place asked), stably, with a fresh index.

    A batch's standards usually come in that order already (audits stored by id, standards
    as asked), and a sort of sorted rows gives them back as they are: so it is checked first.
    """
    response = frame["response_id"]
    ids = response.to_numpy()
    same = ids[1:] == ids[:-1]
    if response.is_monotonic_increasing and bool(np.all(order[1:][same] >= order[:-1][same])):
        return frame.reset_index(drop=True)
    ordered = frame.assign(_order=order).sort_values(["response_id", "_order"], kind="stable")
    return ordered.drop(columns="_order").reset_index(drop=True)


def submission_problems(scores: AuditScores) -> pd.DataFrame:
    """The problems that stop an audit being submitted, in the order its items are asked."""
    return scores.problems


def action_status(questionnaire: Questionnaire, actions: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """R7 for a table of actions (`due`, `progress`, any keys), by the questionnaire's declared rule."""
    found = [
        r
        for r in questionnaire.rules.values()
        if r.kind == "action_progress" and r.id in questionnaire.questionnaire_rules
    ]
    if not found:
        return actions.assign(overdue=False, rag=pd.Series(pd.NA, index=actions.index, dtype="str"), explanation=pd.NA)
    return R.action_progress(actions, found[0], as_of)


def practitioner_matches(
    questionnaire: Questionnaire, practitioner_scores: pd.DataFrame, practitioner_questions: pd.DataFrame
) -> pd.DataFrame:
    """Practitioner answer scores for questions that match a standard of `questionnaire`, with that section_id.

    Only answers in the base are kept (the rule counts no others); `section_id` is a
    categorical made from the question's code, so grouping by it costs no hashing.
    """
    keep, section, sections = _matching(questionnaire, practitioner_scores, practitioner_questions)
    return practitioner_scores.loc[keep].assign(section_id=pd.Categorical.from_codes(section, sections))


def _matching(
    questionnaire: Questionnaire, practitioner_scores: pd.DataFrame, practitioner_questions: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Which answer scores `practitioner_matches` keeps, and the section_id of each kept one (codes, sections).

    Answer scores are many (hundreds of thousands in a batch) and their question ids a
    categorical of a few dozen questions: each question's section is found once, and each
    answer reads its question's in the smallest integers that hold them, rather than a
    position among the questions and then a section in 64-bit integers (fresh memory
    costs more than the reads).
    """
    asked = practitioner_scores["question_id"]
    links = _text_links(questionnaire.id, practitioner_questions)
    if links is not None and isinstance(asked.dtype, pd.CategoricalDtype):  # the usual: text ids, a categorical
        section_of_question, sections = links
        small = np.min_scalar_type(-max(len(sections), 1))
        categorical = asked.array
        per_category = [section_of_question.get(c, -1) for c in categorical.categories.tolist()]
        # a missing question (code -1) matches nothing
        section = np.array([*per_category, -1], dtype=small)[categorical.codes]
        keep = (section >= 0) & practitioner_scores["in_base"].to_numpy(dtype=bool)
        return keep, section[keep], pd.Index(sections, dtype=object)
    # the question frame's few rows read as arrays: selecting rows and columns of a frame costs more
    matching = practitioner_questions["matches_questionnaire"].eq(questionnaire.id).to_numpy(dtype=bool)
    questions = pd.Index(practitioner_questions["question_id"].to_numpy(dtype=object)[matching], dtype=object)
    matched = pd.Index(practitioner_questions["matches_section"].to_numpy(dtype=object)[matching], dtype=object)
    sections = pd.Index(pd.unique(matched.to_numpy()), dtype=object)
    small = np.min_scalar_type(-max(len(sections), 1))
    section_of = np.append(sections.get_indexer(matched), -1).astype(small)  # -1: no match
    if isinstance(asked.dtype, pd.CategoricalDtype):  # each category's section, then each answer's by its code
        categorical = asked.array
        per_category = np.append(
            section_of[questions.get_indexer(pd.Index(categorical.categories, dtype=object))], section_of[-1:]
        )
        section = per_category[categorical.codes]  # a missing question (code -1) matches nothing
    else:
        section = section_of[codes(asked, questions)]
    keep = (section >= 0) & practitioner_scores["in_base"].to_numpy(dtype=bool)
    return keep, section[keep], sections


def _text_links(questionnaire_id: str, practitioner_questions: pd.DataFrame) -> tuple[dict[str, int], list[str]] | None:
    """The practitioner questions that match a standard of `questionnaire_id`: each one's code into the sections
    they match (first matched first), and those sections; None unless the links are plain text.

    A question frame has a few dozen rows: read as Python lists, they cost a few microseconds,
    where comparing a column and indexing its values costs a tenth of a millisecond a step. Only
    text ids (each question once) and text or missing links are read so: they match as a
    comparison and a hash lookup of pandas would match them. Anything else is left to `_matching`.
    """
    targets = practitioner_questions["matches_questionnaire"].to_numpy(dtype=object).tolist()
    if not all(type(t) is str or t is None or (type(t) is float and t != t) for t in targets):
        return None
    rows = [i for i, target in enumerate(targets) if target == questionnaire_id]
    questions = practitioner_questions["question_id"].to_numpy(dtype=object)[rows].tolist()
    matched = practitioner_questions["matches_section"].to_numpy(dtype=object)[rows].tolist()
    if not all(type(v) is str for v in (*questions, *matched)) or len(set(questions)) < len(questions):
        return None
    code_of = {section: n for n, section in enumerate(dict.fromkeys(matched))}
    return {question: code_of[section] for question, section in zip(questions, matched, strict=True)}, list(code_of)


def _with_keys(
    frame: pd.DataFrame, keys: list[str], responses: pd.DataFrame | None, known: dict[str, object]
) -> pd.DataFrame:
    """`frame` with the `keys` columns it lacks, looked up in `responses` by response_id (as categoricals).

    `known` keeps what is read from `responses` (their ids, a lookup of their rows by id, each key's codes)
    for the next frame.
    """
    missing = [k for k in keys if k not in frame]
    if not missing:
        return frame
    if responses is None:
        raise ValueError(f"triangulation needs {', '.join(missing)}: give them in the frame or in `responses`")
    if "ids" not in known:
        ids = responses["response_id"].to_numpy()
        # responses come by id, so most often there is nothing to drop: checked by comparing neighbours, no hashing
        ascending = ids.dtype.kind in "iu" and bool(np.all(ids[1:] > ids[:-1]))
        meta = responses if ascending else responses.drop_duplicates("response_id")
        known["ids"] = meta["response_id"]
        known["rows"] = IdLookup(meta["response_id"], np.arange(len(meta)))
        known.update({key: _key_codes(meta[key]) for key in keys if key in meta})
    at = known["rows"](frame["response_id"].to_numpy())
    found = at >= 0
    everything = bool(found.all())
    added = {}
    for key in missing:
        code, categories = known[key]
        added[key] = pd.Categorical.from_codes(code[at if everything else at[found]], categories, validate=False)
    return (frame if everything else frame.loc[found]).assign(**added)


def _counts_by_response_keys(
    practitioner_scores: pd.DataFrame,
    keep: np.ndarray,
    section: np.ndarray,
    sections: pd.Index,
    standards: pd.DataFrame,
    keys: list[str],
    known: dict[str, object],
) -> tuple[np.ndarray, np.ndarray]:
    """Per standard, R8's practitioner answers in the base and positive ones, when both sides' keys come from `responses`.

    `standards` already has its keys from `responses` (by `_with_keys`, which filled
    `known`). The keys are one code per response, made once over the responses, and each
    kept answer gets its response's code once per run of a response's answers: no frame
    of the answers is made, and nothing per answer per key (they are many, and only
    counted). A missing key value is a value of its own (it matches a missing one), as
    when `triangulation` matches the columns.
    """
    columns, sizes = [], []
    for key in keys:
        code, categories = known[key]
        columns.append(np.where(code < 0, len(categories), code))
        sizes.append(len(categories) + 1)
    if np.prod(sizes, dtype=float) <= 2**62:  # the keys' combinations numbered as they are
        of_response = np.zeros(len(known["ids"]), dtype=np.int64)
        for column, size in zip(columns, sizes, strict=True):
            of_response *= size
            of_response += column
        span = int(np.prod(sizes, dtype=float))
    else:  # too many to number: the combinations that occur, numbered as first seen
        of_response = first_seen(*columns)
        span = int(of_response.max()) + 1 if len(of_response) else 1
    mine = of_response[known["rows"](standards["response_id"].to_numpy())]  # all found: `_with_keys`
    theirs = IdLookup(known["ids"], of_response)(practitioner_scores["response_id"].to_numpy()[keep])
    positive = practitioner_scores["positive"].to_numpy(dtype=bool)[keep]
    found = theirs >= 0  # an answer of a response not in `responses` has no keys: it counts for no standard
    if not found.all():
        theirs, section, positive = theirs[found], section[found], positive[found]
    in_section = sections.get_indexer(pd.Index(standards["section_id"].to_numpy(dtype=object), dtype=object))
    in_section = np.where(in_section < 0, len(sections), in_section)  # a section no question matches
    return R.counts_by_codes([theirs, section], [mine, in_section], [span, len(sections) + 1], positive)


def _key_codes(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """`column.factorize()`, its codes in the smallest integers a categorical keeps and its values as objects.

    Text is factorised as Python objects: pandas' own text factorising is twice as slow.
    Text and integers (the usual keys) are factorised by runs: responses come in runs of
    one cycle or agency.
    """
    values = column.to_numpy(dtype=object) if isinstance(column.dtype, pd.StringDtype) else column
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iuO":
        code, uniques = factorize_runs(np.asarray(values))
    else:
        code, uniques = pd.factorize(values)
    categories = pd.Index(np.asarray(uniques), dtype=object)
    return code.astype(np.min_scalar_type(-max(len(categories), 1))), categories


def _met_label(questionnaire: Questionnaire, rule: Rule, sections: list[str]) -> str | None:
    """How the standards' scale labels the rating `rule` checks (its `met`), for R8's explanation; None without one.

    It comes from the definition alone, so it is found once per questionnaire and rule.
    """

    def find() -> str | None:
        scale = _section_scale(questionnaire, option_frame(questionnaire), sections[0]) if sections else None
        return None if scale is None else next(iter(scale.loc[scale["value"].eq(rule.params["met"]), "label"]), None)

    return memo(questionnaire, f"triangulation-met-label:{rule.id}", find)


def triangulate(
    questionnaire: Questionnaire,
    standards: pd.DataFrame,
    practitioner_scores: pd.DataFrame,
    practitioner_questions: pd.DataFrame,
    responses: pd.DataFrame | None = None,
    on: Iterable[str] = ("agency_id",),
) -> pd.DataFrame:
    """R8 for every standard whose section declares it.

    `standards` come from `score_audits`, `practitioner_scores` from `surveys.score_answers`;
    they are matched on the `on` columns (the agency, and the cycle if surveys are paired
    with audit cycles), taken from the frames when they have them or else from `responses`
    (one row per response: `response_id` and the `on` columns), and through the practitioner
    questions' `matches` links to standards.
    """
    keys = list(on)
    known: dict[str, object] = {}
    keep, section, matched_sections = _matching(questionnaire, practitioner_scores, practitioner_questions)
    from_responses = bool(keys) and not any(k in practitioner_scores or k in standards for k in keys)
    standards = _with_keys(standards, keys, responses, known)
    if from_responses:  # both sides' keys are codes of the same responses: the answers are counted from codes
        counts = _counts_by_response_keys(practitioner_scores, keep, section, matched_sections, standards, keys, known)
    else:  # the matching answers with only what R8 reads of them: a batch's practitioner scores are many
        read = ["response_id", "positive", "in_base", *(k for k in keys if k in practitioner_scores)]
        matched = practitioner_scores[list(dict.fromkeys(read))].loc[keep]
        matched = matched.assign(section_id=pd.Categorical.from_codes(section, matched_sections))
        matched = _with_keys(matched, keys, responses, known)
    parts = []
    for rule in _rules_of(questionnaire, "triangulation"):
        sections = [s.id for s in questionnaire.sections if rule.id in s.rules]
        ours = standards["section_id"].isin(sections).to_numpy(dtype=bool)
        mine = standards.loc[ours]
        met_label = _met_label(questionnaire, rule, sections)
        if from_responses:
            parts.append(R.triangulation_of_counts(mine, counts[0][ours], counts[1][ours], rule, met_label))
        else:
            parts.append(R.triangulation(mine, matched, rule, keys, met_label))
    if not parts:
        return standards.iloc[0:0]
    only = parts[0]
    if len(parts) == 1 and not isinstance(only.index, pd.MultiIndex) and only.index.is_monotonic_increasing:
        return only  # one rule (the usual), its rows in order: concatenated and sorted, they come as they are
    return pd.concat(parts).sort_index(kind="stable")


__all__ = [
    "AuditScores",
    "action_frame",
    "action_status",
    "build_items",
    "evidence_frame",
    "practitioner_matches",
    "score_audits",
    "submission_problems",
    "triangulate",
]

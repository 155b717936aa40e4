"""Score survey answers by their scale, and sum them per response and theme.

A choice answer scores what its option scores. Options marked positive count towards the
positive share; "don't know" and "not applicable" options are out of the base: they count in
neither the share nor the mean. Multiple choice answers are positive when any chosen option
is, and score the mean of the chosen options in the base.

The per-answer scores (`score_answers`) and the per response and theme sums
(`response_theme_scores`) are what a submission stores; theme tables are built from the
latter (see `scoring.themes`), so a dashboard never reads answers again.

Everything runs on integer codes: one hash lookup for the question, one for the value (once per
distinct string object, `_value_codes`), then array indexing into small tables built from the
definition. Stored answers come by response, each response's in the order its questions are
asked, so a batch is a few blocks of responses that repeat one order of questions (`_blocks`):
there the question of each answer is known from its place in the block, and only each block's
first response is looked up. Where respondents skip questions there are no such blocks, but
each response still answers in the order questions are asked, so its answers are summed on a
grid of responses x questions (`_dense_theme_sums`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.internals import create_dataframe_from_blocks

from questionnaires.model import Questionnaire
from scoring.cells import first_rows, run_starts
from scoring.frames import codes, memo, option_frame, question_frame, theme_pairs

SCORE_COLUMNS = [
    "response_id",
    "question_id",
    "value",
    "score",
    "score_100",
    "positive",
    "in_base",
    "dont_know",
    "not_applicable",
    "known",
]
THEME_SCORE_COLUMNS = ["response_id", "theme", "measure", "answers", "positive", "score_sum"]


#: Per-answer numbers and flags, in the order of their columns in the answer scores.
NUMBER_COLUMNS = ["score", "score_100"]
FLAG_COLUMNS = ["positive", "in_base", "dont_know", "not_applicable", "known"]


@dataclass(frozen=True, slots=True)
class _Lookup:
    """The definition's choice questions and options as arrays, for indexing by code."""

    questions: pd.Index  # scored choice question ids
    multiple: np.ndarray  # per question: multiple choice
    values: pd.Index  # every option value in the questionnaire
    table: np.ndarray  # [question, value + 1 (last: unknown)] -> option row, or the last (unknown) row
    value_of_row: np.ndarray  # option row -> code into `values` (-1 for the unknown row), small integers
    numbers: np.ndarray  # [NUMBER_COLUMNS, option row]: score, score_100 (NaN for the unknown row)
    flags: np.ndarray  # [FLAG_COLUMNS, option row]: positive (and in the base), in_base, ..., known
    # the same by an answer's place, (question + 1) x stride + value code (`_places`)
    stride: int
    numbers_at: np.ndarray  # [NUMBER_COLUMNS, place]
    flags_at: np.ndarray  # [FLAG_COLUMNS, place]
    value_at: np.ndarray  # per place: code into `values`, -1 for none
    # each question id's and each value's code, by text, for looking up a few (`_few_codes`)
    question_places: dict[str, int]
    value_places: dict[str, int]

    @property
    def unknown(self) -> int:
        """The row of an answer that is not an option of its question."""
        return self.numbers.shape[1] - 1


def _small(code: np.ndarray, categories: pd.Index) -> np.ndarray:
    """Codes in the smallest integers that hold them, as a categorical keeps them: taken per row, they cost less."""
    return code.astype(np.min_scalar_type(-max(len(categories), 1)))


def _lookup(questionnaire: Questionnaire, questions: pd.DataFrame) -> _Lookup:
    scored = questions.loc[questions["scored"], ["question_id", "type"]]
    options = option_frame(questionnaire)
    options = options.loc[options["question_id"].isin(scored["question_id"])].reset_index(drop=True)
    q_index = pd.Index(scored["question_id"].to_numpy(dtype=object), dtype=object)
    v_index = pd.Index(pd.unique(options["value"].to_numpy(dtype=object)), dtype=object)
    unknown = len(options)
    # option rows in the smallest integers that hold them (a multiple choice answer's options are looked up here)
    table = np.full((len(q_index) + 1, len(v_index) + 1), unknown, dtype=np.min_scalar_type(-(unknown + 1)))
    table[q_index.get_indexer(options["question_id"]), v_index.get_indexer(options["value"])] = np.arange(len(options))

    def column(name: str, missing: object) -> np.ndarray:
        return np.append(options[name].to_numpy(), missing)

    in_base = column("in_base", False).astype(bool)
    value_of_row = _small(np.append(v_index.get_indexer(options["value"]), -1), v_index)
    numbers = np.stack([column("score", np.nan).astype("float64"), column("score_100", np.nan).astype("float64")])
    flags = np.stack(
        [
            column("positive", False).astype(bool) & in_base,
            in_base,
            column("dont_know", False).astype(bool),
            column("not_applicable", False).astype(bool),
            np.arange(unknown + 1) < unknown,
        ]
    )
    # each option row again at an answer's place (`_places`): question q's values from
    # (q + 1) x stride on, and just before them (value code -1) the unknown row
    stride = len(v_index) + 1
    place = np.full((len(q_index) + 2, stride), unknown, dtype=np.intp)
    place[1:, :-1] = table[:, :-1]
    place = place.ravel()
    return _Lookup(
        questions=q_index,
        multiple=np.append(scored["type"].eq("multiple_choice").to_numpy(), False),
        values=v_index,
        table=table,
        value_of_row=value_of_row,
        numbers=numbers,
        flags=flags,
        stride=stride,
        numbers_at=numbers[:, place],
        flags_at=flags[:, place],
        value_at=value_of_row[place],
        question_places={text: code for code, text in enumerate(q_index)},
        value_places={text: code for code, text in enumerate(v_index)},
    )


def _lookup_of(questionnaire: Questionnaire) -> _Lookup:
    """The questionnaire's `_Lookup`, built once; its question frame is read only then (a copy costs each call)."""
    return memo(questionnaire, "survey-lookup", lambda: _lookup(questionnaire, question_frame(questionnaire)))


def _places(lookup: _Lookup, q_code: np.ndarray, value_code: np.ndarray) -> np.ndarray:
    """Each answer's place in the `_Lookup` tables by place, from its question and value codes (-1: not an option).

    One intp index per answer, made in place from the value codes, for every take: option
    rows, in small integers, were made intp again (a fresh copy) by each take they indexed.
    """
    place = np.add(q_code, 1, dtype=np.intp)
    place *= lookup.stride
    place += value_code
    return place


class _Addresses:
    """An object array's references read as integers (`__array_interface__` over its memory), holding the array.

    A reference is the address of its object, so while the array holds them two rows hold
    the same address only when they hold the same object: comparing or hashing addresses
    is integer work, where comparing or hashing the objects calls into each object.
    """

    def __init__(self, array: np.ndarray) -> None:
        self.array = array  # the objects, and the memory read, live as long as the integers made from it
        self.__array_interface__ = {
            "shape": array.shape,
            "typestr": np.dtype(np.uintp).str,
            "data": (array.ctypes.data, True),
            "version": 3,
        }


def _addresses(array: np.ndarray) -> np.ndarray:
    """Each row's object address, as integers (see `_Addresses`): one-dimensional object arrays."""
    return np.asarray(_Addresses(np.ascontiguousarray(array)))


def _objects(values: np.ndarray | pd.api.extensions.ExtensionArray) -> np.ndarray | None:
    """The Python objects a column holds, as an object array that is not a copy: None for other columns.

    Text held as Python strings (a "str" column in pandas' own storage) hands out the array
    of its strings; other columns (Arrow strings, categoricals) would make new objects.
    """
    if isinstance(values, np.ndarray):
        return values if values.dtype.kind == "O" and values.ndim == 1 else None
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "python":
        return values.to_numpy(dtype=object)
    return None


#: At most this many values are looked up one by one in a dict (`_few_codes`).
FEW = 64


def _few_codes(
    values: np.ndarray | pd.api.extensions.ExtensionArray, categories: pd.Index, places: dict[str, int]
) -> np.ndarray:
    """`codes(values, categories)` for a few values (a block's first response, each shared string), `places` being
    each category's code by its text.

    pandas' lookup costs some 40 us a call whatever the size, a dict lookup well under one
    a value: a few values that are all text (`str`, as every category is) are looked up in
    `places`; anything else (missing values, lists, numbers, text of other types) by pandas.
    """
    if len(values) <= FEW and all(type(value) is str for value in values):
        return np.fromiter((places.get(value, -1) for value in values), dtype=np.intp, count=len(values))
    return codes(values, categories)


#: Rows whose objects are counted to judge whether a column shares its objects (`_value_codes`).
PROBE = 1024


def _value_codes(
    values: np.ndarray | pd.api.extensions.ExtensionArray, categories: pd.Index, places: dict[str, int]
) -> np.ndarray:
    """`codes(values, categories)`, each distinct object looked up once when the rows share their objects.

    The store decodes each distinct stored text once, so the rows of one choice share one
    string object (`store.results.decoded_values`): numbering the rows by object address
    (integer hashing) and looking up only the first row of each costs a fraction of
    looking up every row. The same object always gets the same code, so the codes are the
    same. Text held as Python strings (a "str" column) is numbered by the addresses of its
    strings, and its first rows looked up as text, as before. A column whose first rows are
    mostly objects of their own (values decoded row by row) is looked up row by row, as
    numbering it by address would gain nothing.
    """
    objects = _objects(values)
    if objects is None:
        return codes(values, categories)
    address = _addresses(objects)
    probe = address[:PROBE]
    if 2 * len(pd.unique(probe)) > len(probe):
        return codes(values, categories)
    code, distinct = pd.factorize(address)
    first = first_rows(code[:PROBE])  # each object's first row: nearly always all among the first rows
    if len(first) < len(distinct):
        first = first_rows(code)
    return _few_codes(values[first], categories, places).take(code)


@dataclass(frozen=True, slots=True)
class SurveyScores:
    """What scoring survey responses yields; both frames are stored as they are."""

    answers: pd.DataFrame  # one row per answer to a scored question (SCORE_COLUMNS)
    themes: pd.DataFrame  # one row per response, theme and measure (THEME_SCORE_COLUMNS)


@dataclass(frozen=True, slots=True)
class _Scored:
    """Per-answer results as arrays, before they become frames."""

    response: np.ndarray
    question: np.ndarray  # code into _Lookup.questions
    value: np.ndarray  # code into _Lookup.values of the answer's option, -1 for none (not an option, or several)
    numbers: np.ndarray  # [NUMBER_COLUMNS, answer]
    flags: np.ndarray  # [FLAG_COLUMNS, answer]
    joined: pd.Series | None  # multiple choice answers' values joined with "; ", by position
    blocks: tuple[_Block, ...] | None  # the rows as blocks of responses repeating one order of questions, if they are

    @property
    def score_100(self) -> np.ndarray:
        return self.numbers[1]

    @property
    def positive(self) -> np.ndarray:
        return self.flags[0]

    @property
    def in_base(self) -> np.ndarray:
        return self.flags[1]


@dataclass(frozen=True, slots=True)
class _Block:
    """Consecutive responses that answer the same questions in the same order: response r's j-th
    answer is row `start + r * len(questions) + j`."""

    start: int  # its first row
    responses: int
    questions: np.ndarray  # the question code of each of a response's answers, in order

    @property
    def stop(self) -> int:
        return self.start + self.responses * len(self.questions)


#: Blocks beyond which answers are looked up one by one: each block costs a few small lookups.
MOST_BLOCKS = 64


def _response_starts(response: np.ndarray) -> np.ndarray | None:
    """Each response's first row, when the rows come grouped by response with rising ids; else None.

    Grouped by response when each response's id is above the one before: one comparison a
    response, rather than a pass over every row.
    """
    if not len(response):
        return None
    try:
        starts = np.flatnonzero(run_starts(response))
        if not np.greater(response[starts[1:]], response[starts[:-1]]).all():
            return None
    except (TypeError, ValueError):  # response ids that cannot be ordered
        return None
    return starts


def _blocks(response: np.ndarray, ids: np.ndarray) -> list[tuple[int, int, int]] | None:
    """The rows as blocks of responses repeating one order of questions: (first row, responses, answers each).

    Rows must come grouped by response (response ids never decreasing); responses of equal
    length that follow one another are compared answer by answer with the previous one (an
    equality test, cheaper than a hash lookup), and a block ends where one differs. None
    when the rows are not grouped so, or make more than `MOST_BLOCKS` blocks (answers of
    varying questions), or hold question ids that cannot be compared (malformed rows): then
    every answer is looked up.
    """
    starts = _response_starts(response)
    if starts is None:
        return None
    lengths = np.diff(np.append(starts, len(response)))
    runs = np.flatnonzero(np.append(True, lengths[1:] != lengths[:-1]))  # first response of each run of equal lengths
    if len(runs) > MOST_BLOCKS:
        return None
    blocks: list[tuple[int, int, int]] = []
    for first, last in zip(runs, np.append(runs[1:], len(starts)), strict=True):
        k = int(lengths[first])
        grid = ids[starts[first] : starts[first] + (last - first) * k].reshape(-1, k)
        try:
            equal = np.equal(grid[1:], grid[:-1])
        except (TypeError, ValueError):  # an id whose comparison is not a truth value: a malformed row
            return None
        if equal.all():  # one order throughout, as usual: one pass over the flags, not a reduction per response
            cuts = np.array([0, last - first])
        else:
            cuts = np.concatenate([[0], np.flatnonzero(~equal.all(axis=1)) + 1, [last - first]])
        if len(blocks) + len(cuts) - 1 > MOST_BLOCKS:
            return None
        blocks.extend((int(starts[first + a]), int(b - a), k) for a, b in zip(cuts[:-1], cuts[1:], strict=True))
    return blocks


def _question_codes(
    column: pd.Series, response: np.ndarray, questions: pd.Index, places: dict[str, int]
) -> tuple[np.ndarray, list[_Block] | None]:
    """Each answer's code into `questions` (-1 for a question not scored), and its blocks if it has some.

    Ids held as Python strings are compared (`_blocks`) before any lookup, so that only each
    block's first response is looked up; other columns (categoricals, Arrow strings) have
    cheap codes of their own, and their blocks are found on those codes.
    """
    dtype = column.dtype
    if (isinstance(dtype, np.dtype) and dtype.kind == "O") or (
        isinstance(dtype, pd.StringDtype) and dtype.storage == "python"
    ):
        ids = column.to_numpy(dtype=object)
        found = _blocks(response, ids)
        if found is None:
            return codes(column, questions), None
        q_code = np.empty(len(ids), dtype=np.min_scalar_type(-max(len(questions), 1)))  # as small as a categorical's
        blocks = []
        for start, responses, k in found:
            block = _Block(start, responses, _few_codes(ids[start : start + k], questions, places))
            q_code[block.start : block.stop] = np.tile(block.questions, responses)
            blocks.append(block)
        return q_code, blocks
    q_code = codes(column, questions)
    found = _blocks(response, q_code)
    if found is None:
        return q_code, None
    return q_code, [_Block(start, responses, q_code[start : start + k]) for start, responses, k in found]


def _scored_blocks(blocks: list[_Block] | None) -> tuple[_Block, ...] | None:
    """The blocks of the scored answers alone, once the others are left out (the rows that stay keep their order)."""
    if blocks is None:
        return None
    out, start = [], 0
    for block in blocks:
        questions = block.questions[block.questions >= 0]
        if len(questions):
            out.append(_Block(start, block.responses, questions))
            start += block.responses * len(questions)
    return tuple(out)


def _score(lookup: _Lookup, answers: pd.DataFrame) -> _Scored:
    response = answers["response_id"].to_numpy()
    q_code, blocks = _question_codes(answers["question_id"], response, lookup.questions, lookup.question_places)
    keep = q_code >= 0
    everything = bool(keep.all())
    q_code = q_code if everything else q_code[keep]
    column = answers["value"]
    # text is looked up as text (no Python objects made, no guessing their type); anything
    # else as objects, among them multiple choice answers (lists)
    values = column.array if isinstance(column.dtype, pd.StringDtype) else column.to_numpy(dtype=object)
    values = values if everything else values[keep]
    response = response if everything else response[keep]
    blocks = _scored_blocks(blocks)
    # most surveys have no multiple choice question: then no answer is flagged (a pass and a
    # fresh array the length of the batch saved), and `multiple` is left empty, never read
    multiple = lookup.multiple[q_code] if lookup.multiple.any() else np.zeros(0, dtype=bool)
    several = bool(multiple.any())
    if several:
        raw = np.asarray(values, dtype=object)
        single = ~multiple
        value_code = np.full(len(q_code), -1, dtype=np.intp)  # a multiple choice answer is no one option
        value_code[single] = _value_codes(raw[single], lookup.values, lookup.value_places)
    else:
        value_code = _value_codes(values, lookup.values, lookup.value_places)
    place = _places(lookup, q_code, value_code)
    # one take per table: every number, then every flag, of each answer's option
    numbers, flags = np.take(lookup.numbers_at, place, axis=1), np.take(lookup.flags_at, place, axis=1)
    value = lookup.value_at.take(place)
    if not several:
        return _Scored(
            response=response, question=q_code, value=value, numbers=numbers, flags=flags, joined=None, blocks=blocks
        )
    at = np.flatnonzero(multiple)
    chosen = pd.Series(raw[at], index=at).explode()
    chosen = chosen[chosen.notna()]
    code = lookup.table[q_code[chosen.index.to_numpy()], codes(chosen, lookup.values)]
    base = lookup.flags[1][code]
    parts = pd.DataFrame(
        {
            "at": chosen.index.to_numpy(),
            "score": np.where(base, lookup.numbers[0][code], np.nan),
            "score_100": np.where(base, lookup.numbers[1][code], np.nan),
            **{name: lookup.flags[i][code] for i, name in enumerate(FLAG_COLUMNS)},
        }
    )
    per = parts.groupby("at").agg(
        score=("score", "mean"),
        score_100=("score_100", "mean"),
        positive=("positive", "any"),
        in_base=("in_base", "any"),
        dont_know=("dont_know", "all"),
        not_applicable=("not_applicable", "all"),
        known=("known", "all"),
    )
    where = per.index.to_numpy()
    for i, name in enumerate(NUMBER_COLUMNS):
        numbers[i][where] = per[name].to_numpy()
    for i, name in enumerate(FLAG_COLUMNS):
        flags[i][where] = per[name].to_numpy()
    empty = np.setdiff1d(at, where)  # nothing chosen: nothing scored, out of the base
    flags[FLAG_COLUMNS.index("known")][empty] = True
    flags[FLAG_COLUMNS.index("in_base")][empty] = False
    joined = pd.Series(raw[at], index=at).map(_join, na_action="ignore")
    return _Scored(
        response=response, question=q_code, value=value, numbers=numbers, flags=flags, joined=joined, blocks=blocks
    )


def _join(values: object) -> str | None:
    if isinstance(values, list | tuple):
        return "; ".join(str(v) for v in values)
    return None


def _answer_frame(lookup: _Lookup, scored: _Scored) -> pd.DataFrame:
    """The answer scores; question_id and value as categoricals (built from codes at no cost, small to store).

    The numbers and the flags each come as one block, handed to pandas as the frame's blocks
    (`_frame_of_blocks`) rather than copied into one: a million answers' scores are a few
    dozen megabytes, and joining frames of them cost half a millisecond a call, most of the
    time a small batch takes.
    """
    value = pd.Categorical.from_codes(scored.value, lookup.values, validate=False)
    if scored.joined is not None:
        value = pd.Series(value).astype("str")
        value.iloc[scored.joined.index.to_numpy()] = scored.joined.to_numpy()
        value = value.array
    question = pd.Categorical.from_codes(scored.question, lookup.questions, validate=False)
    return _frame_of_blocks(
        [_column(scored.response), question, value, scored.numbers, scored.flags], _COLUMNS["answers"]
    )


#: Kinds of numpy arrays that pandas keeps as they are in a column (others it may infer anew: text as "str").
_AS_THEY_ARE = "biuf"


def _column(values: np.ndarray) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """Values as the block of one column of a frame that `pd.Series(values, copy=False)` would make: not copied.

    Numbers and flags are taken as they are; other ids (text, dates) as pandas infers them.
    """
    if not (isinstance(values, np.ndarray) and values.dtype.kind in _AS_THEY_ARE):
        column = pd.Series(values, copy=False)
        values = column.array if isinstance(column.dtype, pd.api.extensions.ExtensionDtype) else column.to_numpy()
    return values.reshape(1, -1) if isinstance(values, np.ndarray) else values


#: The frames' columns, made once (30 us each time) and copied for each frame, which may rename its own in place.
_COLUMNS = {"answers": pd.Index(SCORE_COLUMNS), "themes": pd.Index(THEME_SCORE_COLUMNS)}


def _frame_of_blocks(blocks: list[np.ndarray | pd.api.extensions.ExtensionArray], columns: pd.Index) -> pd.DataFrame:
    """A frame whose blocks are these, in order and as they are: 2-D arrays (a row per column) or extension arrays.

    What joining frames of these blocks (`pd.concat`) gives, without its checks and
    alignment: the arrays are of one length and each its columns' final dtype (`_column`).
    """
    placed, first = [], 0
    for block in blocks:
        width = block.shape[0] if isinstance(block, np.ndarray) else 1
        placed.append((block, np.arange(first, first + width)))
        first += width
    length = blocks[0].shape[-1] if isinstance(blocks[0], np.ndarray) else len(blocks[0])
    return create_dataframe_from_blocks(placed, index=pd.RangeIndex(length), columns=columns.copy())


@dataclass(frozen=True, slots=True)
class _Pairs:
    """Each scored question's (theme, measure) pairs, flattened for indexing by question code."""

    count: np.ndarray  # per question
    start: np.ndarray  # per question, into `pair`
    pair: np.ndarray  # pair codes, grouped by question
    themes: pd.Index
    measures: pd.Index
    theme_of: np.ndarray  # per pair
    measure_of: np.ndarray  # per pair
    slots: tuple[np.ndarray, ...]  # per slot i: per question (and one past the last), its i-th pair code or -1


def _pairs(questions: pd.DataFrame, order: pd.Index) -> _Pairs:
    pairs = theme_pairs(questions)
    keys = pairs[["theme", "measure"]].drop_duplicates()
    themes = pd.Index(sorted(set(keys["theme"])), dtype=object)
    measures = pd.Index(sorted(set(keys["measure"])), dtype=object)
    pair_index = pd.MultiIndex.from_frame(keys)
    pair_code = pair_index.get_indexer(pd.MultiIndex.from_frame(pairs[["theme", "measure"]]))
    owner = order.get_indexer(pairs["question_id"])
    pair_code, owner = pair_code[owner >= 0], owner[owner >= 0]
    sort = np.argsort(owner, kind="stable")
    count = np.bincount(owner, minlength=len(order))
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.intp)
    return _Pairs(
        count=count,
        start=start,
        pair=pair_code[sort],
        themes=themes,
        measures=measures,
        theme_of=_small(themes.get_indexer(pair_index.get_level_values(0)), themes),
        measure_of=_small(measures.get_indexer(pair_index.get_level_values(1)), measures),
        slots=tuple(
            np.append(np.where(i < count, pair_code[sort][np.minimum(start + i, len(sort) - 1)], -1), -1)
            for i in range(int(count.max()) if len(count) else 0)
        ),
    )


def _response_codes(response: np.ndarray, in_order: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..R-1 for response ids; a run-length pass when rows come ordered by response."""
    if in_order is None:
        in_order = pd.Index(response).is_monotonic_increasing
    if len(response) and in_order:
        change = run_starts(response)
        return np.cumsum(change) - 1, response[change]
    code, keys = pd.factorize(response)
    return code, np.asarray(keys)


def _theme_sums(
    pairs: _Pairs,
    response: np.ndarray,
    question: np.ndarray,
    positive: np.ndarray,
    score_100: np.ndarray,
    base: np.ndarray | None = None,
) -> pd.DataFrame:
    """Sum the answers in the base (where `base`, or all of them) per (response, theme, measure).

    A question carries one to a few (theme, measure) pairs. When the table of responses x
    pairs is small enough (it nearly always is: a response touches most pairs), answers are
    counted into it once per pair slot: every answer to its question's first pair, then the
    answers whose question has a second pair to that one, and so on, each slot three
    bincounts over a key response x pairs + pair, with no hashing; an answer out of the base
    counts into one bin past the table. Otherwise each answer is repeated once per pair of
    its question and the keys are factorised.
    """
    width = max(len(pairs.theme_of), 1)
    in_order = len(response) == 0 or pd.Index(response).is_monotonic_increasing
    r_code, r_keys = _response_codes(response, in_order) if in_order or base is None else (None, None)
    if base is not None and (r_code is None or len(r_keys) * width > 4 * len(question) + 1_000_000):
        response, question, positive, score_100 = response[base], question[base], positive[base], score_100[base]
        r_code, r_keys = _response_codes(response, in_order)
        base = None  # responses numbered as their first answer in the base comes
    cells = len(r_keys) * width
    if cells <= 4 * len(question) + 1_000_000:
        answers = np.zeros(cells + 1, dtype=np.int64)
        positives = np.zeros(cells + 1)
        sums = np.zeros(cells + 1)
        row_key = r_code.astype(np.int64) * width
        for i, slot in enumerate(pairs.slots):
            rows, weights = None, (positive, score_100)
            if i:  # a second or later pair: only the answers to questions that have one
                rows = np.flatnonzero(slot[question] >= 0)
                weights = (positive[rows], score_100[rows])
            pair = slot[question if rows is None else question[rows]]
            counted = pair >= 0 if base is None else (pair >= 0) & (base if rows is None else base[rows])
            key = np.where(counted, (row_key if rows is None else row_key[rows]) + pair, cells)  # last bin: not counted
            answers += np.bincount(key, minlength=cells + 1)
            positives += np.bincount(key, weights=weights[0], minlength=cells + 1)
            sums += np.bincount(key, weights=weights[1], minlength=cells + 1)
        present = np.flatnonzero(answers[:cells])
        answers, positives, sums = answers[present], positives[present], sums[present]
    else:
        n = pairs.count[question]
        rows = np.repeat(np.arange(len(question)), n)
        offset = np.arange(len(rows)) - np.repeat(np.cumsum(n) - n, n)
        pair = pairs.pair[pairs.start[question][rows] + offset]
        key = r_code[rows].astype(np.int64) * width + pair
        group, present = pd.factorize(key, sort=True)
        answers = np.bincount(group, minlength=len(present))
        positives = np.bincount(group, weights=positive[rows], minlength=len(present))
        sums = np.bincount(group, weights=score_100[rows], minlength=len(present))
    which = present % width
    return _theme_frame(
        pairs, r_keys[present // width], pairs.theme_of[which], pairs.measure_of[which], answers, positives, sums
    )


def _theme_frame(
    pairs: _Pairs,
    response: np.ndarray,
    theme: np.ndarray,
    measure: np.ndarray,
    answers: np.ndarray,
    positives: np.ndarray,
    sums: np.ndarray,
) -> pd.DataFrame:
    """The theme sums' frame: one row per (response, pair) that has answers in the base, from fresh arrays.

    `theme` and `measure` are codes into the pairs' themes and measures; `positives` may be
    counts or sums of 0/1 weights (floats, rounded here).
    """
    return _frame_of_blocks(
        [
            _column(response),
            pd.Categorical.from_codes(theme, pairs.themes, validate=False),
            pd.Categorical.from_codes(measure, pairs.measures, validate=False),
            _column(answers.astype("int64", copy=False)),
            _column((np.rint(positives) if positives.dtype.kind == "f" else positives).astype("int64", copy=False)),
            _column(sums),
        ],
        _COLUMNS["themes"],
    )


def _block_theme_sums(
    pairs: _Pairs,
    blocks: Sequence[_Block],
    response: np.ndarray,
    positive: np.ndarray,
    score_100: np.ndarray,
    base: np.ndarray,
) -> pd.DataFrame | None:
    """`_theme_sums` of answers in blocks (see `_Block`): by columns of a block rather than by answer.

    In a block, each column (a question) counts into the same pairs for every response, so
    the table of pairs x responses is filled a column at a time, each column added to a
    pair's row of the table, with no key per answer. The sums add columns in the order
    `_theme_sums` adds answers (pair slot by slot, each slot's answers in row order), so
    that they come out the same to the last bit. None when there are no pairs, or that
    table would be too big for the answers (then `_theme_sums` does it).
    """
    width = len(pairs.theme_of)
    responses = sum(block.responses for block in blocks)
    if not width or responses * width > 4 * len(response) + 1_000_000:
        return None
    # a cell counts at most each column of a response once per pair slot
    tables = _Tables.empty(width, responses, max(len(block.questions) for block in blocks) * len(pairs.slots))
    first = []  # each response's first row
    top = 0
    for block in blocks:
        k, rows, out = len(block.questions), slice(block.start, block.stop), slice(top, top + block.responses)
        grid = (base[rows].reshape(-1, k), positive[rows].reshape(-1, k), score_100[rows].reshape(-1, k))
        tables.part(out).add_columns(pairs, block.questions, grid)
        first.append(np.arange(block.start, block.stop, k))
        top += block.responses
    return _cells(pairs, response[np.concatenate(first)], tables)


#: An answer's flags and score as theme sums count them: in the base, positive, score on 0-100.
_Counted = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True, slots=True)
class _Tables:
    """Tables of (theme, measure) pairs x responses that answers are added into, read into a frame by `_cells`."""

    answers: np.ndarray  # answers in the base, in the smallest integers that hold them
    positives: np.ndarray  # positive answers, in the same integers
    sums: np.ndarray  # sums of 0-100 scores

    @classmethod
    def empty(cls, width: int, responses: int, most: int) -> _Tables:
        """Tables at zero whose cells count up to `most` answers: a byte a cell, nearly always, a few hundred kB."""
        count = np.min_scalar_type(most)
        shape = (width, responses)
        return cls(np.zeros(shape, dtype=count), np.zeros(shape, dtype=count), np.zeros(shape))

    def part(self, responses: slice) -> _Tables:
        """The cells of a stretch of responses, as views."""
        return _Tables(self.answers[:, responses], self.positives[:, responses], self.sums[:, responses])

    def add_columns(self, pairs: _Pairs, questions: np.ndarray, grid: _Counted) -> None:
        """Add answers in a grid (a row per response, a column per question of `questions`), column by column: the
        order in which `_theme_sums` adds each response's answers, when the columns are in the order of its rows.

        The first pair slot's sums add straight into the total (from zero, as a slot's own sum
        does); each later slot's into a sum of its own, added after, as one bincount each.
        """
        (in_base, good, scores), (answers, positives, sums) = grid, (self.answers, self.positives, self.sums)
        pair = [slot[questions] for slot in pairs.slots]  # per slot: each column's pair, or -1
        into = [sums, *(np.zeros(sums.shape) for _ in pairs.slots[1:])]
        for column in range(len(questions)):  # a column's arrays are small: made and dropped one at a time
            counted = in_base[:, column]
            positive_column = good[:, column] & counted
            score = np.where(counted, scores[:, column], 0.0)
            for slot, sum_of_slot in zip(pair, into, strict=True):
                if slot[column] >= 0:
                    answers[slot[column]] += counted
                    positives[slot[column]] += positive_column
                    sum_of_slot[slot[column]] += score
        for sum_of_slot in into[1:]:
            sums += sum_of_slot

    def add_answers(self, pairs: _Pairs, question: np.ndarray, at: np.ndarray, answered: _Counted) -> None:
        """Add answers one by one (`at`: each one's response's place), as `_theme_sums` does.

        Its bincounts, keyed by pair and response: slot by slot, each slot's answers in the
        order given (each response's in row order), into cells at zero for the responses of
        these answers.
        """
        (in_base, good, scores), (answers, positives, sums) = answered, (self.answers, self.positives, self.sums)
        width, responses = answers.shape
        cells = width * responses
        for slot in pairs.slots:
            pair = slot[question]
            counted = (pair >= 0) & in_base
            key = pair[counted].astype(np.intp) * responses + at[counted]
            answers += np.bincount(key, minlength=cells).reshape(width, responses).astype(answers.dtype)
            positives += (
                np.bincount(key[good[counted]], minlength=cells).reshape(width, responses).astype(answers.dtype)
            )
            sums += np.bincount(key, weights=scores[counted], minlength=cells).reshape(width, responses)


def _on_grid(answered: _Counted, cell: np.ndarray, shape: tuple[int, int]) -> _Counted:
    """Answers' flags and scores in their cells of a grid of questions x responses (`shape`), zero (out of the base)
    elsewhere, each seen a row per response.

    Laid out question by question, so that each column the grid is summed by is one stretch.
    """

    def put(values: np.ndarray) -> np.ndarray:
        grid = np.zeros(shape[0] * shape[1], dtype=values.dtype)
        grid[cell] = values
        return grid.reshape(shape).T

    in_base, good, scores = answered
    return put(in_base), put(good), put(scores)


def _dense_theme_sums(
    pairs: _Pairs,
    response: np.ndarray,
    question: np.ndarray,
    positive: np.ndarray,
    score_100: np.ndarray,
    base: np.ndarray,
) -> pd.DataFrame | None:
    """`_theme_sums` of answers grouped by response, each response's in the order questions are asked: by columns.

    Respondents who skip optional questions break the blocks of one order of questions
    (`_blocks`), but still answer in the order the questions are asked, so each answer has
    a cell of its own in a grid of responses x scored questions (a skipped question's cell
    is out of the base), summed column by column as a block is (`_Tables.add_columns`), in the
    order of each response's rows. A response whose answers are not so (a question twice,
    or out of order) is added answer by answer (`_Tables.add_answers`). None when the rows are not
    grouped by response with rising ids, or the grid or tables would be too big for the
    answers (then `_theme_sums` does it).
    """
    width, questions = len(pairs.theme_of), len(pairs.count)
    starts = _response_starts(response)
    if starts is None or not width or len(starts) * max(width, questions) > 4 * len(question) + 1_000_000:
        return None
    responses = len(starts)
    lengths = np.diff(np.append(starts, len(question)))
    place = np.repeat(np.arange(responses), lengths)  # each answer's response's place, in row order
    later = np.empty(len(question), dtype=bool)  # each answer's question asked after the one before it
    np.greater(question[1:], question[:-1], out=later[1:])
    later[starts] = True
    odd = np.zeros(responses, dtype=bool)
    odd[place[~later]] = True  # a question twice or out of order
    rest = np.flatnonzero(odd[place]) if odd.any() else np.zeros(0, dtype=np.intp)
    cell = question.astype(np.intp) * responses + place  # each answer's cell in the grid, question by question
    answered = (base, positive, score_100)
    if len(rest):  # an odd response's cells stay out of the base: its answers are added one by one below
        cell = np.delete(cell, rest)
        answered = (np.delete(base, rest), np.delete(positive, rest), np.delete(score_100, rest))
    longest = max(questions, int(lengths[odd].max()) if len(rest) else 0)
    tables = _Tables.empty(width, responses, longest * len(pairs.slots))
    tables.add_columns(pairs, np.arange(questions), _on_grid(answered, cell, (questions, responses)))
    if len(rest):
        tables.add_answers(pairs, question[rest], place[rest], (base[rest], positive[rest], score_100[rest]))
    return _cells(pairs, response[starts], tables)


#: Cells of a table of pairs x responses read into the frame at a time (see `_cells`).
CELLS = 1 << 16


def _cells(pairs: _Pairs, response: np.ndarray, tables: _Tables) -> pd.DataFrame:
    """The theme sums' frame from tables of pairs x responses (`response`: each column's id): its cells with answers.

    The frame runs by response, then pair, across the tables' layout, so each stretch of
    responses is turned (a copy of `CELLS` cells at most, in cache and reused) and its cells
    with answers picked straight into the frame's columns, made once at their length: no
    index per row, and no copy of a whole table or column made only to be dropped.
    """
    answers, positives, sums = tables.answers, tables.positives, tables.sums
    width, responses = answers.shape
    per_response = np.add.reduce(answers != 0, axis=0, dtype=np.intp)
    ends = np.cumsum(per_response)
    rows = int(ends[-1]) if len(ends) else 0
    theme = np.empty(rows, dtype=pairs.theme_of.dtype)
    measure = np.empty(rows, dtype=pairs.measure_of.dtype)
    counts = np.empty(rows, dtype=np.int64)
    positive = np.empty(rows, dtype=np.int64)
    score_sum = np.empty(rows)
    step = max(CELLS // width, 1)
    themes, measures = np.tile(pairs.theme_of, step), np.tile(pairs.measure_of, step)  # a stretch's pairs, in order
    narrow = np.empty(step * width, dtype=answers.dtype)  # a stretch's counts, before they are widened
    for start in range(0, responses, step):
        stop = min(start + step, responses)
        first, last = (int(ends[start - 1]) if start else 0), int(ends[stop - 1])
        turned = answers[:, start:stop].T.ravel()  # by response, then pair
        found = turned != 0
        cells, picked = len(found), narrow[: last - first]
        counts[first:last] = np.compress(found, turned, out=picked)
        positive[first:last] = np.compress(found, positives[:, start:stop].T, out=picked)
        np.compress(found, sums[:, start:stop].T, out=score_sum[first:last])
        np.compress(found, themes[:cells], out=theme[first:last])
        np.compress(found, measures[:cells], out=measure[first:last])
    return _theme_frame(pairs, np.repeat(response, per_response), theme, measure, counts, positive, score_sum)


def score_survey(questionnaire: Questionnaire, answers: pd.DataFrame) -> SurveyScores:
    """Score responses (one or a batch) and sum them per theme in one pass over the answers.

    `answers` holds (`response_id`, `question_id`, `value`) as stored. Answers to questions
    that are not scored (text, numbers, profile questions) are left out. An answer whose value
    is not an option of its question (`known` false) scores nothing and is out of the base,
    rather than failing a batch. `score_100` is the score on the question's 0-100 range.

    >>> from questionnaires import load_all
    >>> family = load_all()["family-experience"]
    >>> answers = pd.DataFrame({"response_id": [1, 1, 2], "question_id": ["told-what", "told-why", "told-what"],
    ...                         "value": ["agree", "dont-know", "disagree"]})
    >>> scores = score_survey(family, answers)
    >>> scores.answers[["response_id", "question_id", "score", "positive", "in_base"]]
       response_id question_id  score  positive  in_base
    0            1   told-what    4.0      True     True
    1            1    told-why    NaN     False    False
    2            2   told-what    2.0     False     True
    >>> scores.themes[scores.themes.theme == "being-informed"]
       response_id           theme  measure  answers  positive  score_sum
    1            1  being-informed  quality        1         1       75.0
    3            2  being-informed  quality        1         0       25.0
    """
    lookup = _lookup_of(questionnaire)
    scored = _score(lookup, answers)
    pairs = memo(questionnaire, "survey-pairs", lambda: _pairs(question_frame(questionnaire), lookup.questions))
    sums = (scored.response, scored.positive, scored.score_100, scored.in_base)
    themes = _block_theme_sums(pairs, scored.blocks, *sums) if scored.blocks else None  # none: nothing scored
    if themes is None:
        themes = _dense_theme_sums(pairs, scored.response, scored.question, *sums[1:])
    if themes is None:
        themes = _theme_sums(pairs, scored.response, scored.question, *sums[1:])
    return SurveyScores(answers=_answer_frame(lookup, scored), themes=themes)


def score_answers(questionnaire: Questionnaire, answers: pd.DataFrame) -> pd.DataFrame:
    """One row per answer to a scored choice question: its option, score and base (see `score_survey`)."""
    lookup = _lookup_of(questionnaire)
    return _answer_frame(lookup, _score(lookup, answers))


def response_theme_scores(scores: pd.DataFrame, questions: pd.DataFrame) -> pd.DataFrame:
    """Per response, theme and measure: answers in the base, how many positive, sum of 0-100 scores.

    What a submission stores for the theme tables, here rebuilt from stored answer scores
    (after a change of themes, say). Small (a response touches a few themes), additive (sums,
    not shares, so groups add up) and enough for respondents (a row means the response
    answered at least one question of the theme in the base), the positive share
    (`positive / answers`) and the mean score (`score_sum / answers`).
    """
    order = pd.Index(questions.loc[questions["scored"], "question_id"].to_numpy(dtype=object), dtype=object)
    base = scores.loc[scores["in_base"].to_numpy(dtype=bool)]
    question = codes(base["question_id"], order)
    ok = question >= 0
    return _theme_sums(
        _pairs(questions, order),
        base["response_id"].to_numpy()[ok],
        question[ok],
        base["positive"].to_numpy(dtype=bool)[ok],
        base["score_100"].to_numpy(dtype="float64")[ok],
    )


def aggregate(scores: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Respondents, answers in base, positive share and mean score per group of answer scores.

    `scores` is `score_answers`' output with any grouping columns added. Don't know and not
    applicable answers count in `answers_total` only, never in the base.

    >>> s = pd.DataFrame({"q": ["a", "a", "a"], "response_id": [1, 2, 3], "score": [5.0, 2.0, None],
    ...                   "score_100": [100.0, 25.0, None], "positive": [True, False, False],
    ...                   "in_base": [True, True, False]})
    >>> aggregate(s, ["q"]).iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'q': 'a', 'answers_total': 3, 'respondents': 2, 'positive': 1, 'positive_share': 0.5,
     'mean_score': 3.5, 'mean_100': 62.5}
    """
    base = scores["in_base"].astype(bool)
    work = pd.DataFrame(
        {
            **{column: scores[column] for column in by},
            "answers_total": 1,
            "respondents": base.astype("int64"),
            "positive": (scores["positive"].astype(bool) & base).astype("int64"),
            "score": scores["score"].where(base, 0.0).fillna(0.0),
            "score_100": scores["score_100"].where(base, 0.0).fillna(0.0),
        }
    )
    out = work.groupby(list(by), sort=True, dropna=False, observed=True).sum().reset_index()
    n = out["respondents"].where(out["respondents"].gt(0))
    out["positive_share"] = out["positive"] / n
    out["mean_score"] = out["score"] / n
    out["mean_100"] = out["score_100"] / n
    return out.drop(columns=["score", "score_100"])

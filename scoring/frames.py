"""Definitions and stored answers as DataFrames: the tables every other scoring module reads.

A definition is a handful of frozen objects; the rules and aggregations want it as tables they
can join to a million answers without a Python loop per answer. So a questionnaire becomes a
question frame (one row per question) and an option frame (one row per question and option),
and stored answers (`response_id`, `question_id`, `value` as the store decodes it) become typed
columns, plus separate tables for the nested answers (evidence lists and actions).

Lookups from answers to questions and options go through integer codes (`codes`), the cheapest
way pandas has to join millions of rows to a few dozen definition rows.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from questionnaires.model import Question, Questionnaire
from questionnaires.wording import quoted
from scoring.cells import factorize_repeats

#: The suffix under which a rating's not applicable reason is stored: `s1.1__reason`.
REASON_SUFFIX = "__reason"

#: Question types whose answer is one option value.
SINGLE_CHOICE_TYPES = frozenset({"single_choice", "rating", "yes_no"})

ANSWER_COLUMNS = ("response_id", "question_id", "value")

#: Characters of a question's words an explanation quotes: enough to know it, short enough to read a list.
QUESTION_LABEL_LENGTH = 60

T = TypeVar("T")
_MEMO: dict[int, tuple[Questionnaire, dict[str, Any]]] = {}
_MEMO_SIZE = 64
_MEMO_LOCK = threading.Lock()


def is_scored(question: Question) -> bool:
    """A question is scored when it is a choice question, not a profile question, with option scores.

    >>> from questionnaires.model import Option, Question
    >>> q = Question("q", "yes_no", "Safe?", ("feeling-safe",), "outcome", "s", 0,
    ...              options=(Option("yes", "Yes", score=1.0, positive=True), Option("no", "No", score=0.0)))
    >>> is_scored(q)
    True
    >>> is_scored(Question("t", "long_text", "Anything else?", ("feeling-safe",), "quality", "s", 1))
    False
    """
    return question.scored and question.is_choice and any(o.score is not None for o in question.options)


def stable_ids(questionnaires: Iterable[Questionnaire]) -> dict[tuple[str, int, str], str]:
    """(questionnaire id, version, question id) -> the id of the question in its earliest version.

    A question keeps its id across versions unless it says `same_as`; following those links
    (through every version given) to the first one gives one key per thing asked, so trends
    span versions. A link to a version that is not given stops at the id it names.
    """
    by_key = {(q.id, q.version): q for q in questionnaires}
    out: dict[tuple[str, int, str], str] = {}

    def resolve(qid: str, version: int, question_id: str, seen: frozenset[tuple[int, str]]) -> str:
        cached = out.get((qid, version, question_id))
        if cached is not None:
            return cached
        questionnaire = by_key.get((qid, version))
        question = questionnaire.question(question_id) if questionnaire else None
        if question is None or question.same_as is None or (version, question_id) in seen:
            return question_id
        link = question.same_as
        return resolve(qid, link.version, link.question, seen | {(version, question_id)})

    for (qid, version), questionnaire in sorted(by_key.items()):
        for question in questionnaire.questions:
            out[(qid, version, question.id)] = resolve(qid, version, question.id, frozenset())
    return out


def stable_question_key(questionnaire: Questionnaire, question_id: str, versions: Iterable[Questionnaire] = ()) -> str:
    """`questionnaire-id:question-id` of the earliest version asking the same thing.

    >>> from questionnaires import load_all
    >>> s11 = load_all()["s11-self-audit"]
    >>> stable_question_key(s11, "s1.1")
    's11-self-audit:s1.1'
    """
    ids = stable_ids([questionnaire, *versions])
    return f"{questionnaire.id}:{ids.get((questionnaire.id, questionnaire.version, question_id), question_id)}"


def memo(questionnaire: Questionnaire, name: str, build: Callable[[], T]) -> T:
    """`build()`, once per questionnaire object and name: tables derived from a definition.

    Definitions are frozen, so what is derived from one never changes; a batch that scores
    many responses, or a page that scores one, should not rebuild them each call. Frames
    handed out are shallow copies, safe to change under pandas' copy-on-write.
    """
    with _MEMO_LOCK:  # pages may score from several threads
        entry = _MEMO.get(id(questionnaire))
        if entry is None or entry[0] is not questionnaire:  # the entry holds the object, so its id is not reused
            if len(_MEMO) >= _MEMO_SIZE:
                _MEMO.pop(next(iter(_MEMO)))
            entry = (questionnaire, {})
            _MEMO[id(questionnaire)] = entry
        found = name in entry[1]
        value = entry[1].get(name)
    if not found:  # built outside the lock: a build may itself ask for other tables
        value = build()
        with _MEMO_LOCK:
            value = entry[1].setdefault(name, value)
    return value.copy(deep=False) if isinstance(value, pd.DataFrame) else value


def question_frame(questionnaire: Questionnaire, versions: Iterable[Questionnaire] = ()) -> pd.DataFrame:
    """One row per question, in the order the questionnaire asks them.

    `versions` are the other versions of the same questionnaire, so that `stable_key` follows
    `same_as` links all the way back. `age_bands` are the bands the question is asked in (its
    own, or else its section's; empty for every band). `scored` is true for choice questions
    with option scores (see `is_scored`): only those count in shares and means.
    """
    versions = tuple(versions)
    if not versions:
        return memo(questionnaire, "questions", lambda: _question_frame(questionnaire, ()))
    return _question_frame(questionnaire, versions)


def _question_frame(questionnaire: Questionnaire, versions: tuple[Questionnaire, ...]) -> pd.DataFrame:
    ids = stable_ids([questionnaire, *versions])
    rows = [
        {
            "questionnaire": questionnaire.id,
            "version": questionnaire.version,
            "key": questionnaire.key,
            "question_id": q.id,
            "section_id": q.section_id,
            "position": position,
            "type": q.type,
            "text": q.text,
            "measure": q.measure,
            "weight": float(q.weight),
            "scale": q.scale,
            "scored": is_scored(q),
            "mandatory": q.mandatory,
            "evidence": q.evidence,
            "action": q.action,
            "themes": tuple(q.themes),
            "rules": tuple(q.rules),
            "age_bands": tuple(q.age_bands or section.age_bands),
            "matches_questionnaire": q.matches.questionnaire if q.matches else None,
            "matches_section": q.matches.section if q.matches else None,
            "stable_key": f"{questionnaire.id}:{ids[(questionnaire.id, questionnaire.version, q.id)]}",
        }
        for position, (section, q) in enumerate((s, q) for s in questionnaire.sections for q in s.questions)
    ]
    frame = pd.DataFrame(rows)
    for column in ("measure", "scale", "evidence", "action", "matches_questionnaire", "matches_section"):
        frame[column] = frame[column].astype("str")
    return frame


def option_frame(questionnaire: Questionnaire) -> pd.DataFrame:
    """One row per choice question and option, with the option's score put on 0-100.

    `score_100` puts each question's scale on 0 (its lowest score) to 100 (its highest), so
    that a mean over questions on different scales (a 1-5 agreement scale, a 0-100 faces
    scale, yes/no) means one thing. Don't know and not applicable options have no score and
    are out of every base (`in_base` false). `question_label` is the question's words,
    quoted and shortened, as explanations name it (never by its id).
    """
    return memo(questionnaire, "options", lambda: _option_frame(questionnaire))


def _option_frame(questionnaire: Questionnaire) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for q in questionnaire.questions:
        if not q.is_choice:
            continue
        question_label = quoted(q.text, QUESTION_LABEL_LENGTH)
        scores = [o.score for o in q.options if o.score is not None and o.in_base]
        low, high = (min(scores), max(scores)) if scores else (0.0, 0.0)
        for position, o in enumerate(q.options):
            if o.score is None or not o.in_base:
                score_100 = np.nan
            elif high > low:
                score_100 = (o.score - low) / (high - low) * 100.0
            else:
                score_100 = 100.0 if o.positive else 0.0
            rows.append(
                {
                    "question_id": q.id,
                    "value": o.value,
                    "label": o.label,
                    "position": position,
                    "score": np.nan if o.score is None else float(o.score),
                    "score_100": score_100,
                    "positive": o.positive,
                    "dont_know": o.dont_know,
                    "not_applicable": o.not_applicable,
                    "in_base": o.in_base,
                    "colour": o.colour,
                    "question_label": question_label,
                }
            )
    frame = pd.DataFrame(
        rows,
        columns=[
            "question_id",
            "value",
            "label",
            "position",
            "score",
            "score_100",
            "positive",
            "dont_know",
            "not_applicable",
            "in_base",
            "colour",
            "question_label",
        ],
    )
    frame["colour"] = frame["colour"].astype("str")
    return frame.astype({"position": "int64", "score": "float64", "score_100": "float64"})


def theme_pairs(questions: pd.DataFrame) -> pd.DataFrame:
    """(question_id, theme, measure) for every scored question and each of its themes.

    >>> from questionnaires import load_all
    >>> pairs = theme_pairs(question_frame(load_all()["family-experience"]))
    >>> pairs[pairs.question_id == "told-what"].theme.tolist()
    ['family-involvement', 'being-informed']
    """
    scored = questions.loc[questions["scored"], ["question_id", "themes", "measure"]]
    pairs = scored.explode("themes").dropna(subset=["themes"]).rename(columns={"themes": "theme"})
    pairs["theme"] = pairs["theme"].astype("str")
    return pairs[["question_id", "theme", "measure"]].reset_index(drop=True)


def codes(values: pd.Series | np.ndarray, categories: pd.Index) -> np.ndarray:
    """Position of each value in `categories`, -1 where it is not there (one hash lookup each).

    Values that cannot be looked up (a list where a string belongs, from a malformed row) get -1
    rather than stopping a batch.

    >>> codes(pd.Series(["b", "x", "a"]), pd.Index(["a", "b"])).tolist()
    [1, -1, 0]
    >>> codes(pd.Series(["a", ["a"], None], dtype=object), pd.Index(["a"])).tolist()
    [0, -1, -1]
    >>> codes(pd.Series(["b", None, "a"], dtype="category"), pd.Index(["a", "b"])).tolist()
    [1, -1, 0]
    """
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        found = categories.get_indexer(pd.Index(values.cat.categories, dtype=object))
        return np.append(found, -1)[values.cat.codes.to_numpy()]  # a missing value (code -1) is not there
    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, pd.StringDtype) and categories.inferred_type in ("string", "empty"):
        return pd.Index(categories, dtype=dtype).get_indexer(values)  # text to text: no cast, no inference
    if isinstance(dtype, np.dtype) and dtype.kind == "O":  # as an object Index: else get_indexer makes it text first
        values = pd.Index(values, dtype=object, copy=False)
    try:
        return categories.get_indexer(values)
    except TypeError:  # an unhashable value in the column: only malformed rows take this path
        array = np.asarray(values, dtype=object)
        hashable = np.fromiter((isinstance(v, str) for v in array), dtype=bool, count=len(array))
        out = np.full(len(array), -1, dtype=np.intp)
        out[hashable] = categories.get_indexer(array[hashable])
        return out


def of_type(values: np.ndarray | pd.Series, kind: type) -> np.ndarray:
    """Whether each value is exactly of `kind` (text, a list, a dict): what a stored value must be to be read.

    >>> of_type(np.array(["a", ["a"], None, 1], dtype=object), str).tolist()
    [True, False, False, False]
    """
    array = np.asarray(values, dtype=object)
    return np.fromiter(map(type, array), dtype=object, count=len(array)) == kind


def has_text(values: np.ndarray | pd.Series) -> np.ndarray:
    """Whether each value is text with something in it besides spaces.

    >>> has_text(np.array(["a", " ", "", None, " b "], dtype=object)).tolist()
    [True, False, False, False, True]
    """
    array = np.asarray(values, dtype=object)
    text = of_type(array, str)
    found = array[text]
    filled = np.fromiter(map(len, found), dtype=np.int64, count=len(found)) > 0
    filled &= ~np.fromiter(map(str.isspace, found), dtype=bool, count=len(found))
    out = np.zeros(len(array), dtype=bool)
    out[text] = filled
    return out


def by_distinct(values: np.ndarray, judge: Callable[[np.ndarray], np.ndarray], missing: object) -> np.ndarray:
    """`judge(values)`, worked out once per distinct value and taken back for each: typed answers repeat.

    A batch's actions often share an owner or a due date, so judging each distinct value
    (text or not, a date or not) costs a hash pass instead of several Python passes over
    every value. `judge` must answer equal values alike (pandas holds 1, 1.0 and True as one
    value) and gives `missing` for None and NaN, which are not looked up. Values that cannot
    be hashed (a list where text belongs, from a malformed row) are judged one by one.

    >>> by_distinct(np.array(["a", " ", "a", None], dtype=object), has_text, False).tolist()
    [True, False, True, False]
    """
    try:
        code, distinct = factorize_repeats(values)  # a batch's values often come in runs: compared, not hashed
    except TypeError:
        return judge(values)
    return np.append(judge(np.asarray(distinct, dtype=object)), missing)[code]


def iso_dates(values: pd.Series) -> pd.Series:
    """ISO date text as datetimes; anything else (a number, a list, bad text) as NaT.

    >>> iso_dates(pd.Series(["2025-03-14", 20250314, "14/03/2025", None], dtype=object)).tolist()
    [Timestamp('2025-03-14 00:00:00'), NaT, NaT, NaT]
    """
    array = values.to_numpy(dtype=object)
    code, uniques = pd.factorize(np.where(of_type(array, str), array, None))  # each distinct text parsed once
    found = np.append(parse_iso(np.asarray(uniques, dtype=object)), np.datetime64("NaT", "ns"))
    return pd.Series(found[code], index=values.index, name=values.name, dtype="datetime64[ns]")


#: A plain day, `YYYY-MM-DD`: what answers' dates almost always are.
_PLAIN_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

#: The years datetime64[ns] holds whole; days outside them are left to pandas.
_PLAIN_YEARS = ("1678", "2261")

#: Distinct texts at most this many are checked for plain days one by one; more go to pandas at once.
_PLAIN_DAYS_AT_MOST = 64


def parse_iso(texts: np.ndarray) -> np.ndarray:
    """Distinct ISO date texts as datetime64[ns], NaT where not a date: what `pd.to_datetime(format="ISO8601")` gives.

    A batch's dates are a few distinct plain days, and pandas' parser costs a millisecond to
    set up for them: plain days are read by numpy, which refuses an impossible day (a 30
    February) as pandas does, and anything else (times, months, bad text) goes to pandas.
    """
    low, high = _PLAIN_YEARS
    plain = len(texts) <= _PLAIN_DAYS_AT_MOST and all(
        _PLAIN_DAY.fullmatch(text) and low <= text[:4] <= high for text in texts
    )
    if plain:
        try:
            return np.array(texts.tolist(), dtype="datetime64[D]").astype("datetime64[ns]")
        except ValueError:  # a day that does not exist: pandas makes it NaT
            pass
    parsed = pd.to_datetime(pd.Series(texts, dtype=object), format="ISO8601", errors="coerce")
    return parsed.to_numpy(dtype="datetime64[ns]")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def answers_frame(rows: Iterable[tuple[Any, str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Stored (response_id, question_id, value) rows as a frame with those three columns."""
    if isinstance(rows, pd.DataFrame):
        return rows
    frame = pd.DataFrame(list(rows), columns=list(ANSWER_COLUMNS))
    frame["value"] = frame["value"].astype(object)
    return frame


def typed_answers(answers: pd.DataFrame, questions: pd.DataFrame) -> pd.DataFrame:
    """One row per stored answer, its value in the column its type calls for.

    `value_text` holds choice values (several joined with "; "), text, and evidence and
    actions as JSON text; `value_num` numbers (and the number of evidence items);
    `value_date` dates. A not applicable reason (`s1.1__reason`) comes as text under its own id.
    Answers to questions the definition does not have are dropped.
    """
    answers = answers.loc[:, list(ANSWER_COLUMNS)]
    base_id = answers["question_id"].str.removesuffix(REASON_SUFFIX)
    is_reason = answers["question_id"].str.endswith(REASON_SUFFIX)
    kinds = pd.Series(questions["type"].to_numpy(), index=pd.Index(questions["question_id"]))
    kind = pd.Series(kinds.reindex(base_id).to_numpy(), index=answers.index, dtype="str")
    kind = kind.mask(is_reason & kind.notna(), "reason")
    out = answers.assign(type=kind).loc[kind.notna()]
    kind = out["type"]
    value = out["value"]
    single = kind.isin([*SINGLE_CHOICE_TYPES, "short_text", "long_text", "reason"])
    text = value.where(single)
    multiple = kind.eq("multiple_choice")
    if multiple.any():
        text = text.mask(multiple, value.where(multiple).str.join("; "))
    nested = kind.isin(["evidence", "action"])
    if nested.any():
        text = text.mask(nested, value.where(nested).map(_json, na_action="ignore"))
    number = pd.to_numeric(value.where(kind.eq("number")), errors="coerce")
    evidence = kind.eq("evidence")
    if evidence.any():
        number = number.mask(evidence, value.where(evidence).str.len())
    date = iso_dates(value.where(kind.eq("date")))
    return pd.DataFrame(
        {
            "response_id": out["response_id"].to_numpy(),
            "question_id": out["question_id"].astype("str").to_numpy(),
            "type": kind.astype("str").to_numpy(),
            "value_text": text.astype("str").to_numpy(),
            "value_num": number.astype("float64").to_numpy(),
            "value_date": date.astype("datetime64[ns]").to_numpy(),
        }
    )

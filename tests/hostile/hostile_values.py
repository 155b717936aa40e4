"""Hostile form posts built from questionnaire definitions, and the check of what got stored.

A post is a list of (name, bytes) pairs, encoded by hand: the test client would refuse to send
a lone surrogate, but a browser or a script can send its bytes (`%ED%A0%80`), invalid UTF-8
or a NUL, and names may repeat. For each question the strategies pick a valid answer, nothing,
or something hostile: values outside the options, wrong types, huge or odd unicode text, numbers
out of range, impossible dates, parts of repeated groups with bad indexes, and answers to
questions that are hidden or belong to another page.

`answer_problems` is the oracle: it checks stored answers against the definition objects
(options, min/max, lengths, dates, evidence types), written apart from the form code so that
a fault there shows up here.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_from_bytes

from hypothesis import strategies as st

from questionnaires.conditions import evaluate
from questionnaires.model import Question, Questionnaire, Section

Pair = tuple[str, bytes]
TODAY = dt.date.today()
SEP = "__"
REASON = "__reason"

# Strings that have broken form handling somewhere: numbers Python reads oddly, digits that
# are not 0-9, markup, control characters, right-to-left overrides, option-like words.
ODD_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\t\r\n",
    "\u202egnp.exe",
    "\ufeff",
    "𝕏🙂",
    "²",
    "١٢",
    "٢٠٢٤",
    "0",
    "-1",
    "+1",
    "1e309",
    "-1e309",
    "1e-400",
    "nan",
    "NaN",
    "inf",
    "-Infinity",
    "1_000",
    "0x1f",
    "1.5",
    "1,000",
    "10%",
    "9" * 5000,
    "99999999999999999999",
    "31",
    "32",
    "13",
    "29",
    "00",
    "0000",
    "12345",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "{{ 7 * 7 }}",
    "%s%n",
    "yes",
    "no",
    "dont-know",
    "met",
    "not-met",
    "not-applicable",
    "https://example.org/policy.pdf",
    "javascript:alert(1)",
    "http://a b",
    "https://" + "a" * 600,
]
# Bytes a client can send that are not text: lone surrogates as UTF-8, overlong NUL, stray bytes.
RAW_BYTES = [b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xc0\x80", b"\xff\xfe", b"\xc3\x28", b"a\xe2\x82", b"\x00"]

any_char = st.one_of(
    st.characters(),  # every code point except surrogates...
    st.integers(0xD800, 0xDFFF).map(chr),  # ...and those too (sent as their UTF-8 bytes)
    st.sampled_from(["\x00", "\u200b", "\u202e", "\r", "\n"]),
)
# past every length limit (200, 2,000, 5,000 and 20,000 characters), and now and then past the
# 1 MiB a post may be once percent-encoded
huge_text = st.builds(
    lambda n, c: c * n,
    st.sampled_from([201, 2_001, 5_001, 20_001, 120_000]),
    st.sampled_from(["x", "é", "🙂", "\x00", " "]),
)
hostile_text = st.one_of(
    st.sampled_from(ODD_TEXT),
    st.text(any_char, max_size=40),
    huge_text,
)
hostile_value = st.one_of(
    hostile_text.map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from(RAW_BYTES),
)


def encode(pairs: list[Pair]) -> bytes:
    """application/x-www-form-urlencoded, byte for byte as given."""
    return b"&".join(
        quote_from_bytes(k.encode("utf-8", "surrogatepass")).encode() + b"=" + quote_from_bytes(v).encode()
        for k, v in pairs
    )


def post(client: Any, url: str, pairs: list[Pair]) -> Any:
    return client.post(url, data=encode(pairs), content_type="application/x-www-form-urlencoded")


def _b(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _date_pairs(prefix: str, day: dt.date) -> list[Pair]:
    return [
        (f"{prefix}-day", _b(str(day.day))),
        (f"{prefix}-month", _b(str(day.month))),
        (f"{prefix}-year", _b(str(day.year))),
    ]


# --- valid answers, so that the accepting path is taken often too ------------------------------

some_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=60).filter(
    lambda s: s.strip()
)


def _dates_between(low: dt.date | None, high: dt.date | None) -> st.SearchStrategy[dt.date]:
    return st.dates(min_value=low or dt.date(1900, 1, 1), max_value=high or dt.date(2100, 12, 31))


@st.composite
def valid_pairs(draw: st.DrawFn, question: Question) -> list[Pair]:
    """What a browser would send for a well-formed answer to the question."""
    q, name = question, question.id
    if q.type in ("single_choice", "yes_no", "rating"):
        option = draw(st.sampled_from(q.options))  # may be not applicable on a mandatory item
        pairs = [(name, _b(option.value))]
        if q.type == "rating" and option.not_applicable:
            pairs.append((name + SEP + "reason", _b(draw(some_text))))
        return pairs
    if q.type == "multiple_choice":
        chosen = draw(st.lists(st.sampled_from(q.options), min_size=1, max_size=len(q.options), unique=True))
        return [(name, _b(o.value)) for o in chosen]
    if q.type in ("short_text", "long_text"):
        return [(name, _b(draw(some_text)))]
    if q.type == "number":
        low = int(q.min) if q.min is not None else -1000
        high = int(q.max) if q.max is not None else 1000
        return [(name, _b(str(draw(st.integers(low, high)))))]
    if q.type == "date":
        return _date_pairs(name, draw(_dates_between(q.not_before, q.not_after)))
    if q.type == "evidence":
        pairs: list[Pair] = []
        for index in range(draw(st.integers(1, 3))):
            row = f"{name}{SEP}{index}{SEP}"
            pairs.append((row + "title", _b(draw(some_text))))
            pairs.append((row + "type", _b(draw(st.sampled_from(q.evidence_types)).value)))
            pairs += _date_pairs(row + "date", draw(st.dates(dt.date(2000, 1, 1), TODAY)))
            if draw(st.booleans()):
                pairs.append((row + "link", b"https://example.org/evidence"))
        return pairs
    if q.type == "action":
        return [
            (name + SEP + "what", _b(draw(some_text))),
            (name + SEP + "owner", _b(draw(some_text))),
            *_date_pairs(name + SEP + "due", draw(st.dates(TODAY, TODAY + dt.timedelta(days=800)))),
        ]
    raise AssertionError(f"no valid answer known for {q.type}")


def input_names(question: Question) -> list[str]:
    """Every input name the question's field reads (first evidence row only)."""
    name = question.id
    dated = {"date": [name], "evidence": [f"{name}{SEP}0{SEP}date"], "action": [f"{name}{SEP}due"]}.get(
        question.type, []
    )
    names = [f"{d}-{part}" for d in dated for part in ("day", "month", "year")]
    if question.type == "evidence":
        names += [f"{name}{SEP}0{SEP}{part}" for part in ("title", "type", "link")]
    elif question.type == "action":
        names += [f"{name}{SEP}what", f"{name}{SEP}owner"]
    elif question.type != "date":
        names.append(name)
    if question.type == "rating":
        names.append(name + REASON)
    return names


@st.composite
def hostile_pairs(draw: st.DrawFn, question: Question) -> list[Pair]:
    """Something a browser would never send for this question."""
    names = input_names(question)
    kind = draw(st.integers(0, 4))
    if kind == 0:  # hostile values in the question's own inputs
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names)))
        return [(n, draw(hostile_value)) for n in chosen]
    if kind == 1:  # the same input many times, valid and not
        name = draw(st.sampled_from(names))
        return [
            (name, draw(st.one_of(hostile_value, st.sampled_from([_b(o.value) for o in question.options] or [b"x"]))))
            for _ in range(draw(st.integers(2, 30)))
        ]
    if kind == 2:  # sub-fields with bad indexes and parts
        index = draw(st.sampled_from(["-1", "999", "x", "", "0" * 5, "1e3", "²", "\x00", "0", "20", "21", "50"]))
        part = draw(
            st.sampled_from(["title", "type", "link", "date-day", "what", "owner", "due-year", "reason", "", "__"])
        )
        return [
            (f"{question.id}{SEP}{index}{SEP}{part}", draw(hostile_value)),
            (f"{question.id}{SEP}{part}", draw(hostile_value)),
        ]
    if kind == 3:  # more evidence rows than allowed, or a row with a missing part
        rows = draw(st.integers(1, question.max_items + 3))
        pairs: list[Pair] = []
        for index in range(rows):
            row = f"{question.id}{SEP}{index}{SEP}"
            pairs += [(row + "title", b"Policy"), (row + "type", b"policy")] + _date_pairs(row + "date", TODAY)
        return pairs
    # a valid answer with one part replaced
    pairs = draw(valid_pairs(question))
    if pairs:
        i = draw(st.integers(0, len(pairs) - 1))
        pairs[i] = (pairs[i][0], draw(hostile_value))
    return pairs


@st.composite
def section_post(draw: st.DrawFn, questionnaire: Questionnaire, section: Section, band: str | None) -> list[Pair]:
    """A page's post: each question answered validly, left out, or sent something hostile;
    plus answers to questions of other pages and bands, and names nobody asked for."""
    pairs: list[Pair] = []
    for question in section.questions:  # every question, also those hidden or for another band
        how = draw(st.sampled_from(["valid", "valid", "valid", "missing", "hostile"]))
        if how == "valid":
            pairs += draw(valid_pairs(question))
        elif how == "hostile":
            pairs += draw(hostile_pairs(question))
    others = [q for q in questionnaire.questions if q.section_id != section.id]
    if others and draw(st.booleans()):
        pairs += draw(valid_pairs(draw(st.sampled_from(others))))
    extra = st.tuples(
        st.sampled_from(["q:x", "band", "code", "__", "q.1", "csrf_token", "x" * 300, "\x00", "\ud800"]), hostile_value
    )
    pairs += draw(st.lists(extra, max_size=3))
    return draw(st.permutations(pairs)) if draw(st.booleans()) else pairs


# --- the oracle ---------------------------------------------------------------------------------

URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)


def _text_ok(value: Any, limit: int | None) -> bool:
    return (
        isinstance(value, str)
        and value.strip() == value
        and value != ""
        and "\x00" not in value
        and (limit is None or len(value) <= limit)
    )


def _iso(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def value_problem(question: Question, value: Any) -> str | None:
    """Why `value` is not an answer the definition allows for `question`, or None."""
    q = question
    offered = {o.value: o for o in q.offered_options}
    if q.type in ("single_choice", "yes_no", "rating"):
        return None if isinstance(value, str) and value in offered else f"not one of the options: {value!r}"
    if q.type == "multiple_choice":
        if not (isinstance(value, list) and value and all(isinstance(v, str) and v in offered for v in value)):
            return f"not a list of offered options: {value!r}"
        if len(set(value)) != len(value):
            return "an option chosen twice"
        lone = [v for v in value if not offered[v].in_base]
        if lone and len(value) > 1:
            return "a 'don't know' option chosen with others"
        if q.max_selected and len(value) > q.max_selected:
            return "more options than allowed"
        if q.min_selected and len(value) < q.min_selected and not lone:
            return "fewer options than required"
        return None
    if q.type in ("short_text", "long_text"):
        return None if _text_ok(value, q.max_length) else f"text not allowed: {value!r:.80}"
    if q.type == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"not a number: {value!r:.80}"
        if q.integer and not float(value).is_integer():
            return "not a whole number"
        if (q.min is not None and value < q.min) or (q.max is not None and value > q.max):
            return f"{value} is out of range"
        return None
    if q.type == "date":
        day = _iso(value)
        if day is None:
            return f"not a date: {value!r:.80}"
        if (q.not_before and day < q.not_before) or (q.not_after and day > q.not_after):
            return f"{day} is out of range"
        return None
    if q.type == "evidence":
        if not (isinstance(value, list) and 1 <= len(value) <= q.max_items):
            return "not a list of 1 to max_items pieces of evidence"
        types = {t.value for t in q.evidence_types}
        for item in value:
            if not isinstance(item, Mapping) or set(item) != {"title", "type", "date", "link"}:
                return f"a malformed piece of evidence: {item!r:.80}"
            day = _iso(item["date"])
            link = item["link"]
            if not _text_ok(item["title"], 200) or item["type"] not in types or day is None or day > TODAY:
                return f"a piece of evidence not allowed: {item!r:.120}"
            if link is not None and not (_text_ok(link, 500) and URL.match(link)):
                return f"a link not allowed: {link!r:.80}"
        return None
    if q.type == "action":
        if not isinstance(value, Mapping) or set(value) != {"what", "owner", "due"}:
            return f"a malformed action: {value!r:.80}"
        if not (_text_ok(value["what"], 2000) and _text_ok(value["owner"], 200) and _iso(value["due"])):
            return f"an action not allowed: {value!r:.120}"
        return None
    return f"unknown question type {q.type}"


def answer_problems(
    questionnaire: Questionnaire, answers: Mapping[str, Any], band: str | None = None, saved: Section | None = None
) -> list[str]:
    """Everything wrong with a response's stored answers; [] when every value is allowed.

    With `saved`, the page just saved must also hold no answer to a question it did not ask
    (hidden by a condition, or for another age band).
    """
    problems = []
    for key, value in answers.items():
        question = questionnaire.question(key.removesuffix(REASON))
        if question is None:
            problems.append(f"{key}: not a question of {questionnaire.key}")
            continue
        if not question.for_band(band) or questionnaire.section(question.section_id) not in questionnaire.sections_for(
            band
        ):
            problems.append(f"{key}: not asked in age band {band}")
        if key.endswith(REASON):
            rating = question.option(answers.get(question.id)) if isinstance(answers.get(question.id), str) else None
            if question.type != "rating" or rating is None or not rating.not_applicable:
                problems.append(f"{key}: a reason without a not applicable rating")
            elif not _text_ok(value, 2000):
                problems.append(f"{key}: reason not allowed: {value!r:.80}")
            continue
        problem = value_problem(question, value)
        if problem:
            problems.append(f"{key}: {problem}")
    if saved is not None:
        before = {
            k: v
            for k, v in answers.items()
            if questionnaire.question(k.removesuffix(REASON)) is not None
            and questionnaire.question(k.removesuffix(REASON)).section_id != saved.id
        }
        for question in saved.questions:
            if question.id in answers and not evaluate(question.show_if, before):
                problems.append(f"{question.id}: answered though its condition hides it")
            if question.id in answers:
                before[question.id] = answers[question.id]
    return problems

"""Words of concern: finding free text from children and families that may disclose harm.

A child who writes "he hits me" in an anonymous survey must not wait for the next report to be
read. Answers to free-text questions are matched, when they are submitted, against a list of
words and phrases of concern; a match becomes a flag for the safeguarding lead (store/concerns.py).

Matching is deliberately plain, so that a lead can predict it and change it:

- case, accents and apostrophes do not matter ("DON'T", "don’t" and "dont" are one word);
- only whole words match ("hit me" does not match "white mess", "hurt" does not match "hurtle");
- a phrase matches across any run of spaces, line breaks and punctuation ("hit... me");
- inflections are listed in the word list ("hurt", "hurts", "hurting"), never guessed by a
  stemmer: a lead can read exactly what is matched.

The list is a text file, one word or phrase a line, `#` starting a comment (`concern_words.txt`
beside this module is the default; `CONCERN_WORDS_FILE` replaces it). Pure: no Flask, no
database; the store and the pages call in with text and frames.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from questionnaires.model import Questionnaire

#: Question types whose answers are free text, the only answers that are matched.
FREE_TEXT_TYPES = frozenset({"short_text", "long_text"})

#: The columns `flag_answers` returns: one row per answer that matched.
FLAG_COLUMNS = ("response_id", "question_id", "words")

DEFAULT_WORDS_FILE = Path(__file__).with_name("concern_words.txt")

# Apostrophes join a word rather than split it: children type "dont" as often as "don't".
_APOSTROPHES = re.compile("['\u2019\u2018\u02bc\u0060]")
_NOT_WORD = re.compile(r"[\W_]+")
_WORD_CHAR = re.compile(r"[^\W_]")


class WordListError(ValueError):
    """A word list that cannot be used, with every problem found, each with its line number."""

    def __init__(self, source: str, problems: list[tuple[int, str]]):
        self.source = source
        self.problems = problems
        lines = "; ".join(f"line {n}: {message}" for n, message in problems)
        super().__init__(f"{source}: {lines}")


def _fold(text: str) -> str:
    """Accents off, case folded, apostrophes out (shared by both ways of normalising)."""
    if text.isascii():  # most answers: nothing to decompose
        return _APOSTROPHES.sub("", text.lower())
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _APOSTROPHES.sub("", bare.casefold())


def normalise(text: str) -> str:
    """Text as it is matched: lower case, no accents or apostrophes, words one space apart.

    >>> normalise("  He HIT   me!!  ")
    'he hit me'
    >>> normalise("I don’t feel SAFE at home")
    'i dont feel safe at home'
    >>> normalise("Café\\nnaïve_self-harm")
    'cafe naive self harm'
    >>> normalise("?!")
    ''
    """
    return _NOT_WORD.sub(" ", _fold(text)).strip()


def _normalise_mapped(text: str) -> tuple[str, list[int]]:
    """`normalise(text)` and, for each of its characters, the index in `text` it came from.

    Built one character at a time, so a match in the normalised text can be highlighted in the
    text as written; separators map to the character that started them.
    """
    out: list[str] = []
    origin: list[int] = []
    for i, char in enumerate(text):
        for piece in _fold(char):
            if _WORD_CHAR.match(piece):
                out.append(piece)
                origin.append(i)
            elif out and out[-1] != " ":
                out.append(" ")
                origin.append(i)
    if out and out[-1] == " ":
        out.pop()
        origin.pop()
    return "".join(out), origin


def _trie(entries: Iterable[str]) -> str:
    """One regular expression for many entries, sharing their common beginnings.

    Tried at every word of every answer, so it must be quick: a plain alternation tries each
    entry in turn, a trie only follows the letters that are there. Greedy, so the longest entry
    that fits wins, falling back to a shorter one ("hurting" over "hurt").

    >>> _trie(["hit", "hits", "hurt", "hurting"])
    'h(?:its?|urt(?:ing)?)'
    >>> _trie([])
    '(?!)'
    """
    root: dict[str, Any] = {}
    for entry in entries:
        node = root
        for char in entry:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            return body + "?" if len(branches) == 1 and len(body) == 1 else f"(?:{body})?"
        return body

    return pattern(root) or r"(?!)"


@dataclass(frozen=True)
class ConcernWords:
    """A checked list of words and phrases of concern, ready to match.

    `entries` are normalised and unique, in the order of the file. One compiled pattern matches
    them all; at each word it takes the longest entry that fits ("hit me" over "hit").

    >>> words = ConcernWords.from_lines(["hurt", "hit me", "# a comment", "", "no food"], "test")
    >>> words.entries
    ('hurt', 'hit me', 'no food')
    >>> words.matches("Dad HIT... me and it HURT. There was no\\nfood.")
    ('hit me', 'hurt', 'no food')
    >>> words.matches("White mess, nothing hurtful")
    ()
    """

    entries: tuple[str, ...]
    source: str = "<list>"
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # a lookahead at each word start, so overlapping entries ("kill me", "me alone") all count
        object.__setattr__(self, "pattern", re.compile(rf"\b(?=({_trie(self.entries)})\b)"))

    @classmethod
    def from_lines(cls, lines: Iterable[str], source: str = "<list>") -> ConcernWords:
        """Read a list: one entry a line, `#` starts a comment, blank lines are skipped.

        Raises WordListError naming every line that has nothing to match (only punctuation),
        and a list with no entry at all: an empty list would silently flag nothing.
        """
        entries: dict[str, None] = {}
        problems: list[tuple[int, str]] = []
        for number, line in enumerate(lines, start=1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            entry = normalise(text)
            if not entry:
                problems.append((number, f"{text!r} has no letters or digits to match"))
                continue
            entries.setdefault(entry, None)
        if not entries and not problems:
            problems.append((0, "the list has no words: every line is blank or a comment"))
        if problems:
            raise WordListError(source, problems)
        return cls(tuple(entries), source)

    def matches(self, text: str) -> tuple[str, ...]:
        """The entries found in `text`, each once, in the order they first appear."""
        return tuple(dict.fromkeys(self.pattern.findall(normalise(text))))

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where the entries are in `text` as written: (start, end) pairs, merged where they overlap.

        >>> words = ConcernWords.from_lines(["hit me", "scared"])
        >>> text = "He Hit… me. I’m SCARED"
        >>> [text[a:b] for a, b in words.spans(text)]
        ['Hit… me', 'SCARED']
        """
        normal, origin = _normalise_mapped(text)
        found: list[tuple[int, int]] = []
        for match in self.pattern.finditer(normal):
            start, end = origin[match.start(1)], origin[match.end(1) - 1] + 1
            if found and start <= found[-1][1]:
                found[-1] = (found[-1][0], max(found[-1][1], end))
            else:
                found.append((start, end))
        return found


def parse_words(text: str, source: str = "<list>") -> ConcernWords:
    return ConcernWords.from_lines(text.splitlines(), source)


def load_words(path: str | Path) -> ConcernWords:
    """A word list file (UTF-8); raises WordListError for a file that is missing or unusable."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise WordListError(str(path), [(0, f"cannot be read: {error}")]) from error
    return parse_words(text, str(path))


@lru_cache(maxsize=1)
def default_words() -> ConcernWords:
    """The shipped list, read once."""
    return load_words(DEFAULT_WORDS_FILE)


def highlight(text: str, words: ConcernWords) -> list[tuple[str, bool]]:
    """`text` cut into pieces, each marked True where it is a word of concern.

    The pieces are plain text: whoever shows them escapes them (a child's answer may hold
    markup), then marks the matched ones.

    >>> highlight("I am <b>scared</b>", ConcernWords.from_lines(["scared"]))
    [('I am <b>', False), ('scared', True), ('</b>', False)]
    >>> highlight("All fine", ConcernWords.from_lines(["scared"]))
    [('All fine', False)]
    """
    pieces: list[tuple[str, bool]] = []
    at = 0
    for start, end in words.spans(text):
        if start > at:
            pieces.append((text[at:start], False))
        pieces.append((text[start:end], True))
        at = end
    if at < len(text) or not pieces:
        pieces.append((text[at:], False))
    return pieces


def free_text_ids(questionnaire: Questionnaire) -> frozenset[str]:
    """The ids of the questionnaire's free-text questions, the only answers matched."""
    return frozenset(q.id for q in questionnaire.questions if q.type in FREE_TEXT_TYPES)


def flag_answers(answers: pd.DataFrame, questionnaire: Questionnaire, words: ConcernWords) -> pd.DataFrame:
    """One row per free-text answer that matches: `response_id`, `question_id`, `words` (a list).

    `answers` is the long form the store gives (`response_id`, `question_id`, `value`), for
    responses to this questionnaire. Answers to other questions, and values that are not text,
    are left alone: a choice whose value happens to be "hurt" is not a disclosure.

    >>> from questionnaires import load_all
    >>> child = load_all()["child-experience"]
    >>> answers = pd.DataFrame({
    ...     "response_id": [1, 1, 2, 3],
    ...     "question_id": ["safe-home.age-8-11", "anything-else.age-8-11", "anything-else.age-8-11",
    ...                     "anything-else.age-12-17"],
    ...     "value": ["no", "My brother HITS me", "I like school", "I feel unsafe, scared"],
    ... })
    >>> flag_answers(answers, child, ConcernWords.from_lines(["hits me", "scared", "unsafe"]))
       response_id              question_id              words
    0            1   anything-else.age-8-11          [hits me]
    1            3  anything-else.age-12-17  [unsafe, scared]
    """
    ids = free_text_ids(questionnaire)
    text = answers[answers["question_id"].isin(ids)]
    text = text[text["value"].map(lambda v: isinstance(v, str))]
    if text.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FLAG_COLUMNS})
    found = text["value"].map(normalise).str.findall(words.pattern)
    found = found.map(lambda hits: list(dict.fromkeys(hits)))
    flagged = text.assign(words=found)[found.map(bool)]
    return flagged.loc[:, list(FLAG_COLUMNS)].reset_index(drop=True)

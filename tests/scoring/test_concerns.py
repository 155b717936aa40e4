"""Words of concern: what is matched, what is not, and the shipped list."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from questionnaires import load_all
from scoring import concerns
from scoring.concerns import ConcernWords, WordListError, flag_answers, highlight, load_words, normalise

SHIPPED = load_all()
CHILD = SHIPPED["child-experience"]
FAMILY = SHIPPED["family-experience"]
WORDS = ConcernWords.from_lines(["hurt", "hurts", "hit me", "no food at home", "scared", "self harm", "strasse"])
PROPERTY = settings(max_examples=300, deadline=None, database=None)


# --- the shipped list ------------------------------------------------------------------------


def test_the_shipped_list_is_a_usable_size_and_names_the_obvious_disclosures() -> None:
    words = concerns.default_words()
    assert 40 <= len(words.entries) <= 80
    for entry in ("hurt", "hit me", "scared", "unsafe", "abuse", "touched me", "self harm", "kill myself", "run away"):
        assert entry in words.entries
    assert words.matches("There is no food at home most days") == ("no food",)
    assert words.matches("I want to KILL MYSELF") == ("kill myself",)


def test_every_shipped_entry_is_found_in_a_sentence_and_is_already_normal() -> None:
    words = concerns.default_words()
    for entry in words.entries:
        assert normalise(entry) == entry
        assert entry in words.matches(f"Something happened: {entry.upper()}, really.") or any(
            longer in words.matches(f"Something happened: {entry}, really.") and entry in longer
            for longer in words.entries
        ), entry


def test_the_shipped_list_does_not_flag_ordinary_answers() -> None:
    words = concerns.default_words()
    ordinary = [
        "I like my teacher because she listens to me.",
        "There should be more things to do after school.",
        "My social worker keeps changing.",
        "It would help if adults explained things more.",
        "Our social worker was kind and always rang back.",
        "We had to tell our story to too many people.",
        "I feel safe at my youth club.",
        "The white chess set was hurtled across the room when we won.",
    ]
    assert [words.matches(text) for text in ordinary] == [()] * len(ordinary)


# --- matching --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("He HIT ME", ("hit me",)),
        ("he hit\n\n   me yesterday", ("hit me",)),
        ("he hit... me!", ("hit me",)),
        ("He hit—me", ("hit me",)),
        ("I am scared", ("scared",)),
        ("I am SCARÉD", ("scared",)),
        ("Ｓｃａｒｅｄ", ("scared",)),  # full-width letters
        ("Self-harm", ("self harm",)),
        ("self_harm", ("self harm",)),
        ("There is no food at home.", ("no food at home",)),
        ("It hurts and it hurt", ("hurts", "hurt")),
        ("hurt hurt hurt", ("hurt",)),
        ("It hurt, he hit me", ("hurt", "hit me")),
        ("Straße", ("strasse",)),
    ],
)
def test_case_accents_punctuation_and_spacing_do_not_matter(text: str, found: tuple[str, ...]) -> None:
    assert WORDS.matches(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "hurtle, unhurt, hurtful",  # whole words only
        "white mess",  # "hit me" across the inside of other words
        "hit the ball to me",  # a phrase's words must be next to each other
        "scaredy-cat",
        "",
        "   ",
    ],
)
def test_parts_of_words_and_broken_phrases_do_not_match(text: str) -> None:
    assert WORDS.matches(text) == ()


def test_punctuation_between_the_words_of_a_phrase_never_splits_it() -> None:
    """Erring towards a flag: "no food, at home..." matches too, as a lead would want to read it."""
    assert WORDS.matches("no food, at home we eat well") == ("no food at home",)


def test_inflections_are_matched_only_when_listed() -> None:
    words = ConcernWords.from_lines(["hurt"])
    assert words.matches("it hurts") == ()
    assert words.matches("it was hurting") == ()
    assert ConcernWords.from_lines(["hurt", "hurts"]).matches("it hurts") == ("hurts",)


def test_apostrophes_join_words_however_they_are_typed() -> None:
    words = ConcernWords.from_lines(["don't feel safe"])
    assert words.entries == ("dont feel safe",)
    for typed in ("I don't feel safe", "I don’t feel safe", "I dont feel safe", "I DON`T FEEL SAFE"):
        assert words.matches(typed) == ("dont feel safe",), typed
    assert words.matches("I don t feel safe") == ()


def test_overlapping_entries_are_all_reported_and_the_longest_wins_at_one_place() -> None:
    words = ConcernWords.from_lines(["kill me", "me alone", "kill"])
    assert words.matches("he will kill me alone") == ("kill me", "me alone")
    assert words.matches("kill") == ("kill",)


# --- reading a list --------------------------------------------------------------------------


def test_a_list_skips_comments_blank_lines_and_duplicates() -> None:
    words = concerns.parse_words("# heading\n\nHit me  # trailing comment\nhit   me\n  scared\n", "mine.txt")
    assert words.entries == ("hit me", "scared")
    assert words.source == "mine.txt"


def test_a_list_with_unusable_lines_names_each_one() -> None:
    with pytest.raises(WordListError) as error:
        concerns.parse_words("hurt\n!!!\nscared\n---\n", "bad.txt")
    assert error.value.problems == [
        (2, "'!!!' has no letters or digits to match"),
        (4, "'---' has no letters or digits to match"),
    ]
    assert str(error.value).startswith("bad.txt: line 2:")


def test_an_empty_list_is_refused_since_it_would_flag_nothing() -> None:
    with pytest.raises(WordListError, match="the list has no words"):
        concerns.parse_words("# only a comment\n\n")


def test_a_missing_or_unreadable_file_is_refused(tmp_path) -> None:
    with pytest.raises(WordListError, match="cannot be read"):
        load_words(tmp_path / "missing.txt")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\xfa hurt")
    with pytest.raises(WordListError, match="cannot be read"):
        load_words(binary)
    mine = tmp_path / "mine.txt"
    mine.write_text("\ufeffpetrified\n", encoding="utf-8")
    assert load_words(mine).entries == ("petrified",)


# --- highlighting ----------------------------------------------------------------------------


def test_highlight_marks_the_words_as_written() -> None:
    assert highlight("He Hit… me & I’m SCARED", WORDS) == [
        ("He ", False),
        ("Hit… me", True),
        (" & I’m ", False),
        ("SCARED", True),
    ]
    assert highlight("Straße", WORDS) == [("Straße", True)]
    assert highlight("", WORDS) == [("", False)]


@PROPERTY
@given(st.text())
def test_normalising_one_character_at_a_time_agrees_with_the_whole_text(text: str) -> None:
    assert concerns._normalise_mapped(text)[0] == normalise(text)


VOCABULARY = ["hurt", "Hit", "me", "ME!", "no", "food", "at", "home", "scaréd", "self-harm", "Straße", "\n", "...", " "]


@PROPERTY
@given(st.lists(st.sampled_from(VOCABULARY), max_size=12).map("".join) | st.text())
def test_highlighting_keeps_the_text_and_marks_exactly_what_matches(text: str) -> None:
    pieces = highlight(text, WORDS)
    assert "".join(piece for piece, _ in pieces) == text
    marked = " ".join(piece for piece, is_marked in pieces if is_marked)
    assert bool(WORDS.matches(text)) == any(is_marked for _, is_marked in pieces)
    assert set(WORDS.matches(marked)) == set(WORDS.matches(text))


# --- over an answers frame -------------------------------------------------------------------


def test_only_free_text_answers_of_the_questionnaire_are_flagged() -> None:
    answers = pd.DataFrame(
        {
            "response_id": [1, 1, 2, 2, 3, 4],
            "question_id": [
                "safe-home.age-8-11",  # a choice: its value is never free text
                "anything-else.age-8-11",
                "anything-else.age-12-17",
                "not-a-question",
                "anything-else.age-8-11",
                "anything-else.age-8-11",
            ],
            "value": ["hurt", "He HIT me, it hurts", "scared", "scared", None, ["hurt"]],
        }
    )
    flagged = flag_answers(answers, CHILD, WORDS)
    assert list(flagged.columns) == ["response_id", "question_id", "words"]
    assert flagged.to_dict("records") == [
        {"response_id": 1, "question_id": "anything-else.age-8-11", "words": ["hit me", "hurts"]},
        {"response_id": 2, "question_id": "anything-else.age-12-17", "words": ["scared"]},
    ]


def test_family_free_text_is_flagged_and_an_empty_frame_gives_an_empty_frame() -> None:
    answers = pd.DataFrame(
        {"response_id": [7, 8], "question_id": ["anything-else", "relationship"], "value": ["No food at home", "x"]}
    )
    assert flag_answers(answers, FAMILY, WORDS).to_dict("records") == [
        {"response_id": 7, "question_id": "anything-else", "words": ["no food at home"]}
    ]
    empty = flag_answers(answers.iloc[0:0], FAMILY, WORDS)
    assert empty.empty and list(empty.columns) == ["response_id", "question_id", "words"]
    nothing = flag_answers(answers.assign(value="All good"), FAMILY, WORDS)
    assert nothing.empty and list(nothing.columns) == ["response_id", "question_id", "words"]


def test_the_frame_and_one_answer_at_a_time_agree() -> None:
    texts = [
        "I like school",
        "My step dad hits me when he is drunk",
        "I'm scared to go home, there's no food",
        "I want to kill myself",
        "Nobody looks after me. I ran away last week",
        "SELF-HARM",
        "",
    ] * 3
    words = concerns.default_words()
    answers = pd.DataFrame({"response_id": range(len(texts)), "question_id": "anything-else.age-12-17", "value": texts})
    flagged = flag_answers(answers, CHILD, words)
    expected = {i: list(words.matches(t)) for i, t in enumerate(texts) if words.matches(t)}
    assert dict(zip(flagged["response_id"], flagged["words"], strict=True)) == expected
    assert len(expected) == 15


def test_an_entry_is_matched_whole_when_a_longer_one_shares_its_beginning() -> None:
    words = ConcernWords.from_lines(["hurt", "hurting", "hit", "hit me"])
    assert words.matches("it was hurting") == ("hurting",)
    assert words.matches("it hurt") == ("hurt",)
    assert words.matches("hurtin hits") == ()
    assert words.matches("he hit mexico") == ("hit",)
    assert words.matches("he hit me") == ("hit me",)


SHIPPED_VOCABULARY = sorted({w for entry in concerns.default_words().entries for w in entry.split()})


@PROPERTY
@given(st.lists(st.sampled_from([*SHIPPED_VOCABULARY, "the", "and", "mess", ",", "!"]), max_size=15).map(" ".join))
def test_matching_agrees_with_searching_for_each_entry_on_its_own(text: str) -> None:
    """The one quick pattern finds what a slow search for each entry in turn finds: an entry is
    reported, or a longer entry starting with it was found at the same place."""
    words = concerns.default_words()
    normal = normalise(text)
    reference = {e for e in words.entries if re.search(rf"\b{re.escape(e)}\b", normal)}
    found = set(words.matches(text))
    assert found <= reference
    assert all(e in found or any(r.startswith(e + " ") for r in found) for e in reference)

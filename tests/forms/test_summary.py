"""Answers in words for check-answers pages."""

from __future__ import annotations

from datetime import date

from forms.summary import NOT_PROVIDED, answer_text, summary_rows
from questionnaires import Questionnaire


def test_answers_in_words(minimal: Questionnaire) -> None:
    q = minimal.question
    answers = {
        "colour": "blue",
        "shades": ["light", "dark"],
        "item": "not-applicable",
        "item__reason": "No such service",
        "item-evidence": [{"title": "Policy <v2>", "type": "policy", "date": date(2024, 1, 5), "link": None}],
        "item-action": {"what": "Write it", "owner": "Lead", "due": date(2027, 1, 2)},
        "staff": 12,
        "reviewed": date(2021, 6, 1),
    }
    assert answer_text(q("colour"), answers) == "Blue"
    assert answer_text(q("shades"), answers) == "Light, Dark"
    assert answer_text(q("item"), answers) == "Not applicable: No such service"
    assert (
        str(answer_text(q("item-evidence"), answers))
        == '<ul class="govuk-list"><li>Policy &lt;v2&gt; (Policy, 5 January 2024)</li></ul>'
    )
    assert answer_text(q("item-action"), answers) == "Write it (owner: Lead; due 2 January 2027)"
    carried = {"item-action": {"what": "Write it", "owner": "Lead", "due": None}}  # its past date left behind
    assert answer_text(q("item-action"), carried) == "Write it (owner: Lead; no due date yet)"
    assert answer_text(q("staff"), answers) == "12"
    assert answer_text(q("reviewed"), answers) == "1 June 2021"
    assert answer_text(q("story"), answers) == NOT_PROVIDED


def test_rows_only_for_questions_asked(minimal: Questionnaire) -> None:
    rows = summary_rows(minimal.section("second"), {"agree": "yes"}, {"agree", "story"})
    assert rows == [
        {"key": {"text": "Do you agree?"}, "value": {"text": "Yes"}},
        {"key": {"text": "Tell us more"}, "value": {"text": NOT_PROVIDED}},
    ]


def test_long_text_keeps_its_lines_and_escapes_each(minimal: Questionnaire) -> None:
    story = minimal.question("story")
    assert story.type == "long_text"
    typed = "First point.\nSecond <b>point</b>.\r\n\r\nThird point."
    shown = answer_text(story, {"story": typed})
    assert str(shown) == "First point.<br>Second &lt;b&gt;point&lt;/b&gt;.<br><br>Third point."
    [row] = summary_rows(minimal.section("second"), {"story": typed}, {"story"})
    assert row["value"] == {"html": shown}, "markup, so the summary list does not escape the breaks"
    assert answer_text(story, {"story": "One line"}) == "One line"

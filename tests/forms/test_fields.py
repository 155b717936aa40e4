"""forms/fields.py reading what was posted: evidence rows and actions are read from the names
posted, whatever else, in whatever order and with whatever gaps a browser or a script sends.

Fields find their posted inputs in one pass over the form's names rather than asking for every
name a row could have; these tests pin that down against reading every possible name one by one.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import CombinedMultiDict, FileStorage, MultiDict

from forms import build_form_class
from forms.fields import ActionField, EvidenceField, typed_text
from questionnaires import Questionnaire

EVIDENCE = "item-evidence"
ROW_PARTS = ("title", "type", "link")
DATE_PARTS = ("day", "month", "year")


@pytest.fixture
def ctx(app: Flask):
    with app.test_request_context(method="POST"):
        yield


def first_section(minimal: Questionnaire, pairs: list[tuple[str, str]] | MultiDict | CombinedMultiDict) -> Any:
    formdata = pairs if not isinstance(pairs, list) else MultiDict(pairs)
    form = build_form_class(minimal, minimal.section("first"))(formdata=formdata)
    form.validate()
    return form


def row(index: int | str, title: str = "Policy", kind: str = "policy", day: str = "3") -> list[tuple[str, str]]:
    prefix = f"{EVIDENCE}__{index}__"
    return [
        (prefix + "title", title),
        (prefix + "type", kind),
        (prefix + "date-day", day),
        (prefix + "date-month", "4"),
        (prefix + "date-year", "2024"),
    ]


def item(title: str, day: int = 3) -> dict[str, Any]:
    return {"title": title, "type": "policy", "date": date(2024, 4, day), "link": None}


RATED = [("colour", "blue"), ("item", "met"), ("mandatory-item", "met")]


def test_rows_are_read_in_index_order_whatever_the_gaps_and_the_order_posted(ctx, minimal: Questionnaire) -> None:
    form = first_section(minimal, RATED + row(7, "Minutes", day="9") + row(2, "Policy"))
    assert form.field(EVIDENCE).answer == [item("Policy"), item("Minutes", 9)]
    assert form.error_list() == []


def test_errors_name_a_row_by_its_place_in_the_list_not_its_posted_index(ctx, minimal: Questionnaire) -> None:
    form = first_section(minimal, RATED + row(3, kind="") + row(9, title=""))
    assert dict(form.error_list()) == {
        f"{EVIDENCE}__0__type": "Select the type of evidence 1 for ‘Is the policy in place?’",
        f"{EVIDENCE}__1__title": "Enter the title of evidence 2 for ‘Is the policy in place?’",
    }


@pytest.mark.parametrize("index", ["01", "+1", " 1", "1 ", "١", "-1", "1.0", "x", "", "99999999999999999999", "21"])
def test_an_index_no_row_has_is_not_read(ctx, minimal: Questionnaire, index: str) -> None:
    """Row names are written `__3__`; anything else (and rows past max_items + 1) is not a row."""
    form = first_section(minimal, RATED + row(0) + row(index, "Not a row"))
    assert form.field(EVIDENCE).answer == [item("Policy")]
    assert form.error_list() == []


def test_inputs_no_row_has_are_not_read(ctx, minimal: Questionnaire) -> None:
    unknown = [
        (f"{EVIDENCE}__1__colour", "red"),
        (f"{EVIDENCE}__1__title__x", "Not a title"),
        (f"{EVIDENCE}__1", "Not a row"),
        (f"{EVIDENCE}__", "Nothing"),
        (f"{EVIDENCE}1__1__title", "Another field's name"),
    ]
    form = first_section(minimal, RATED + unknown + row(0))
    assert form.field(EVIDENCE).answer == [item("Policy")]
    assert form.error_list() == []


def test_a_row_of_blank_or_unknown_inputs_is_no_row(ctx, minimal: Questionnaire) -> None:
    blank = [(f"{EVIDENCE}__1__{part}", " ") for part in (*ROW_PARTS, "date-day", "date-month", "date-year")]
    form = first_section(minimal, RATED + row(0) + blank + [(f"{EVIDENCE}__2__colour", "red")])
    assert form.field(EVIDENCE).rows == [
        {"title": "Policy", "type": "policy", "link": "", "date": {"day": "3", "month": "4", "year": "2024"}}
    ]


def test_an_input_posted_twice_reads_its_first_value(ctx, minimal: Questionnaire) -> None:
    form = first_section(minimal, RATED + row(0, "First") + [(f"{EVIDENCE}__0__title", "Second")])
    assert form.field(EVIDENCE).answer == [item("First")]


def test_the_row_past_the_limit_is_read_and_refused(ctx, minimal: Questionnaire) -> None:
    limit = minimal.question(EVIDENCE).max_items
    every = [pair for index in range(limit + 1) for pair in row(index, f"Policy {index}")]
    form = first_section(minimal, RATED + every)
    assert len(form.field(EVIDENCE).rows) == limit + 1
    assert dict(form.error_list()) == {
        f"{EVIDENCE}__0__title": f"You can add up to {limit} pieces of evidence for ‘Is the policy in place?’"
    }
    fewer = [pair for index in (*range(limit), limit + 1) for pair in row(index, f"Policy {index}")]
    assert first_section(minimal, RATED + fewer).error_list() == []


def test_rows_read_the_same_from_a_form_with_files(ctx, minimal: Questionnaire) -> None:
    """Flask-WTF reads a form posted with files as the files and the fields combined."""
    posted = RATED + row(4, "Minutes") + row(1)
    files = MultiDict([("upload", FileStorage(filename="x.txt"))])
    combined = first_section(minimal, CombinedMultiDict([files, MultiDict(posted)]))
    assert (
        combined.field(EVIDENCE).answer
        == first_section(minimal, posted).field(EVIDENCE).answer
        == [item("Policy"), item("Minutes")]
    )


def test_action_inputs_not_posted_are_no_action(ctx, minimal: Questionnaire) -> None:
    shortfall = [("colour", "blue"), ("item", "not-met"), ("mandatory-item", "met")]
    form = first_section(minimal, shortfall)
    assert form.field("item-action").answer is None
    assert dict(form.error_list()) == {"item-action__what": "Add an action for ‘Is the policy in place?’"}
    partly = first_section(
        minimal, [*shortfall, ("item-action__owner", "Lead"), ("item-action__due-year", str(date.today().year + 3))]
    )
    assert partly.field("item-action").answer == {"what": "", "owner": "Lead", "due": None}
    assert dict(partly.error_list()) == {
        "item-action__what": "Enter what will be done for ‘Is the policy in place?’",
        "item-action__due-day": "The due date of the action for ‘Is the policy in place?’ must include a day and a month",
    }


def test_typed_text_of_a_name_not_posted_is_empty() -> None:
    assert typed_text(MultiDict([("a", " x\x00y ")]), "a") == "xy"
    assert typed_text(MultiDict([("a", "x")]), "b") == ""
    assert typed_text({}, "b") == ""


# Against reading every name a row or an action could have, one by one (what a reader of the
# definition would expect): junk, gaps, order and duplicates change nothing else.


def text_of(formdata: MultiDict, name: str) -> str:
    return (formdata.get(name) or "").replace("\x00", "").strip()


def date_of(formdata: MultiDict, prefix: str) -> dict[str, str]:
    return {part: (formdata.get(f"{prefix}-{part}") or "").strip() for part in DATE_PARTS}


def rows_name_by_name(formdata: MultiDict, max_items: int, name: str = EVIDENCE) -> list[dict[str, Any]]:
    rows = []
    for index in range(max_items + 1):
        prefix = f"{name}__{index}__"
        found: dict[str, Any] = {part: text_of(formdata, prefix + part) for part in ROW_PARTS}
        found["date"] = date_of(formdata, prefix + "date")
        if any(found[part] for part in ROW_PARTS) or any(found["date"].values()):
            rows.append(found)
    return rows


INDEXES = st.sampled_from(["0", "1", "2", "7", "19", "20", "21", "01", "+1", "١", "-1", "x", "", "1" * 25])
PARTS = st.sampled_from(["title", "type", "link", "date-day", "date-month", "date-year", "colour", "", "title__x"])
VALUES = st.sampled_from(["", " ", "Policy", "policy", "other", "3", " 12 ", "2024", "\x00", "https://example.org/a"])
EVIDENCE_NAMES = st.builds(lambda i, p: f"{EVIDENCE}__{i}__{p}", INDEXES, PARTS) | st.sampled_from(
    [EVIDENCE, f"{EVIDENCE}__", f"{EVIDENCE}__3", f"{EVIDENCE}3__0__title", "item"]
)
ACTION_NAMES = st.sampled_from(
    [f"item-action__{part}" for part in ("what", "owner", "due-day", "due-month", "due-year", "due", "x", "")]
)
POSTS = st.lists(st.tuples(EVIDENCE_NAMES | ACTION_NAMES, VALUES), max_size=60)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=POSTS)
def test_evidence_and_actions_read_what_reading_every_name_would(ctx, minimal: Questionnaire, pairs) -> None:
    formdata = MultiDict(RATED[:1] + [("item", "not-met")] + pairs)
    form = first_section(minimal, formdata)
    evidence: EvidenceField = form.field(EVIDENCE)
    assert evidence.rows == rows_name_by_name(formdata, minimal.question(EVIDENCE).max_items)
    action: ActionField = form.field("item-action")
    expected = {part: text_of(formdata, f"item-action__{part}") for part in ("what", "owner")}
    assert action.typed == {**expected, "due": date_of(formdata, "item-action__due")}
    # the same rows and action posted plainly (one name each, rows numbered from 0) read the same
    plain = MultiDict(RATED[:1] + [("item", "not-met")])
    for index, found in enumerate(evidence.rows):
        for part in ROW_PARTS:
            plain.add(f"{EVIDENCE}__{index}__{part}", found[part])
        for part in DATE_PARTS:
            plain.add(f"{EVIDENCE}__{index}__date-{part}", found["date"][part])
    for part in ("what", "owner"):
        plain.add(f"item-action__{part}", action.typed[part])
    for part in DATE_PARTS:
        plain.add(f"item-action__due-{part}", action.typed["due"][part])
    again = first_section(minimal, plain)
    assert again.answers() == form.answers()
    assert again.error_list() == form.error_list()


S11_EVIDENCE = ["s1.1-evidence", "s1.2-evidence", "s1.3-evidence"]
S11_NAMES = st.builds(
    lambda field, i, p: f"{field}__{i}__{p}", st.sampled_from(S11_EVIDENCE + ["s1.1", "s1.1-evidence_"]), INDEXES, PARTS
)


@cache
def _s11() -> Questionnaire:
    from questionnaires import load_all

    return load_all()["s11-self-audit"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(S11_NAMES, VALUES), max_size=60))
def test_each_evidence_list_of_a_page_reads_its_own_names(ctx, pairs) -> None:
    """A standard with several evidence lists: each reads the rows its own names give, as reading
    every name it could have one by one would, whatever the other lists were sent."""
    s11 = _s11()
    section = s11.section("s1")
    assert {q.id for q in section.questions} >= set(S11_EVIDENCE)
    formdata = MultiDict([(q.id, "met") for q in section.questions if q.type == "rating"] + pairs)
    form = build_form_class(s11, section)(formdata=formdata)
    for name in S11_EVIDENCE:
        field: EvidenceField = form.field(name)
        assert field.rows == rows_name_by_name(formdata, field.question.max_items, name), name


# ---------------------------------------------------------------------------------------------
# Adding and removing rows; messages that say which row and which answer
# ---------------------------------------------------------------------------------------------


def pressed(minimal: Questionnaire, pairs: list[tuple[str, str]]) -> tuple[Any, bool]:
    """The first page as posted with a button, the button handled as the views handle it."""
    formdata = MultiDict(pairs)
    form = build_form_class(minimal, minimal.section("first"))(formdata=formdata)
    return form, form.change_evidence(formdata)


def titles(form: Any) -> list[str]:
    return [r["title"] for r in form.field(EVIDENCE).rows]


def test_add_shows_an_empty_row_with_the_keyboard_in_it(ctx, minimal: Questionnaire) -> None:
    form, changed = pressed(minimal, RATED + row(0, "Policy") + [("add-evidence", EVIDENCE)])
    field = form.field(EVIDENCE)
    assert changed and field.row_count() == 2 and titles(form) == ["Policy"]
    assert field.focus == f"{EVIDENCE}__1__title"
    form, _ = pressed(minimal, RATED + [("add-evidence", EVIDENCE)])  # nothing typed: two empty rows
    assert form.field(EVIDENCE).row_count() == 2 and form.field(EVIDENCE).focus == f"{EVIDENCE}__1__title"


def test_remove_takes_out_the_row_posted_under_its_index(ctx, minimal: Questionnaire) -> None:
    """Rows are named by their place on the page that was posted; a blank row there is not kept,
    so the row under index 2 is the second kept row, not the third."""
    rows = row(0, "Policy") + row(2, "Minutes") + row(3, "Report")
    form, changed = pressed(minimal, RATED + rows + [("remove-evidence", f"{EVIDENCE}__2")])
    field = form.field(EVIDENCE)
    assert changed and titles(form) == ["Policy", "Report"]
    assert [i["title"] for i in field.answer] == ["Policy", "Report"] and field.row_count() == 2
    assert field.focus == EVIDENCE, "the keyboard stays on the list"
    form, changed = pressed(minimal, RATED + rows + [("remove-evidence", f"{EVIDENCE}__1")])  # the blank one
    assert changed and titles(form) == ["Policy", "Minutes", "Report"]


def test_removing_the_only_row_leaves_one_empty_row(ctx, minimal: Questionnaire) -> None:
    form, changed = pressed(minimal, RATED + row(0, "Policy") + [("remove-evidence", f"{EVIDENCE}__0")])
    field = form.field(EVIDENCE)
    assert changed and field.rows == [] and field.answer is None and field.row_count() == 1


@pytest.mark.parametrize(
    "button",
    [
        ("add-evidence", "colour"),
        ("add-evidence", "nothing"),
        ("remove-evidence", EVIDENCE),
        ("remove-evidence", f"{EVIDENCE}__x"),
        ("remove-evidence", f"{EVIDENCE}__-1"),
        ("remove-evidence", f"{EVIDENCE}__١"),
        ("remove-evidence", f"{EVIDENCE}__99999999999999999999"),
        ("remove-evidence", "colour__0"),
        ("remove-evidence", ""),
    ],
)
def test_a_button_naming_no_row_of_the_page_changes_nothing(ctx, minimal: Questionnaire, button) -> None:
    form, changed = pressed(minimal, RATED + row(0, "Policy") + [button])
    assert not changed and titles(form) == ["Policy"] and form.field(EVIDENCE).row_count() == 1


def test_evidence_messages_name_the_row_and_the_item_it_is_evidence_for(ctx) -> None:
    """An S11 standard asks "What evidence shows this?" of each of its items: a message that
    said only "Enter a title for evidence 1" was the same for every item's list."""
    s11 = _s11()
    section = s11.section("s1")
    first = s11.question("s1.1")
    pairs = [(q.id, "met") for q in section.questions if q.type == "rating"]
    pairs += [("s1.1-evidence__0__type", "policy"), ("s1.2-evidence__0__type", "policy")]
    pairs += [("s1.2-evidence__1__title", "Minutes"), ("s1.2-evidence__1__date-day", "3")]
    form = build_form_class(s11, section)(formdata=MultiDict(pairs))
    form.validate()
    one, two = f"‘{first.text}’", "‘Does your board or senior team get a safeguarding report at least once a year…’"
    assert dict(form.error_list()) == {
        "s1.1-evidence__0__title": f"Enter the title of evidence 1 for {one}",
        "s1.1-evidence__0__date-day": f"Enter the date of evidence 1 for {one}, like 27 3 2024",
        "s1.2-evidence__0__title": f"Enter the title of evidence 1 for {two}",
        "s1.2-evidence__0__date-day": f"Enter the date of evidence 1 for {two}, like 27 3 2024",
        "s1.2-evidence__1__type": f"Select the type of evidence 2 for {two}",
        "s1.2-evidence__1__date-month": f"The date of evidence 2 for {two} must include a month and a year",
    }


def test_a_too_long_answer_names_its_question_and_the_item_it_follows(ctx, minimal: Questionnaire) -> None:
    form = build_form_class(minimal, minimal.section("second"))(formdata=MultiDict({"story": "x" * 5001}))
    form.validate()
    assert (
        dict(form.error_list())["story"]
        == "Your answer to ‘Tell us more’ must be 5,000 characters or fewer (it is 5,001)"
    )
    s11 = _s11()
    section = s11.section("s1")
    pairs = [(q.id, "met") for q in section.questions if q.type == "rating"]
    pairs += [("s1.1-narrative", "x" * 5001), ("s1.2-narrative", "y" * 6000)]
    form = build_form_class(s11, section)(formdata=MultiDict(pairs))
    form.validate()
    going_well = "‘What is going well here, and what could be better?’"
    assert dict(form.error_list()) == {
        "s1.1-narrative": f"Your answer to {going_well} for ‘{s11.question('s1.1').text}’ must be 5,000 characters "
        "or fewer (it is 5,001)",
        "s1.2-narrative": f"Your answer to {going_well} for ‘Does your board or senior team get a safeguarding "
        "report at least once a year…’ must be 5,000 characters or fewer (it is 6,000)",
    }

"""The form builder: one field per question asked, conditions and validation as the definition says."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from forms import FIELD_TYPES, UnknownQuestionType, build_form_class, field_key
from forms.fields import field_for
from questionnaires import Questionnaire


@pytest.fixture
def ctx(app: Flask):
    with app.test_request_context(method="POST"):
        yield


def post(questionnaire: Questionnaire, section: str, data: dict[str, Any], prior: dict[str, Any] | None = None):
    form_class = build_form_class(questionnaire, questionnaire.section(section), prior=prior)
    form = form_class(formdata=MultiDict(data), prior=prior)
    valid = form.validate()
    return form, valid


def errors(form) -> dict[str, str]:
    return dict(form.error_list())


NEXT_YEAR = date.today().year + 1  # a due date must not have passed: always in the future
VALID_FIRST = {
    "colour": "blue",
    "item": "met",
    "item-evidence__0__title": "Safeguarding policy",
    "item-evidence__0__type": "policy",
    "item-evidence__0__date-day": "3",
    "item-evidence__0__date-month": "4",
    "item-evidence__0__date-year": "2024",
    "mandatory-item": "met",
}


def test_every_question_type_has_a_field_builder(minimal: Questionnaire) -> None:
    types = {q.type for q in minimal.questions}
    assert types == set(FIELD_TYPES)


def test_unknown_question_type_raises(minimal: Questionnaire) -> None:
    odd = dataclasses.replace(minimal.question("colour"), type="slider")
    with pytest.raises(UnknownQuestionType, match="slider"):
        field_for(odd)


def test_valid_page_gives_typed_answers(ctx, minimal: Questionnaire) -> None:
    form, valid = post(minimal, "first", {**VALID_FIRST, "shades": ["light", "dark"]})
    assert valid, form.error_list()
    assert form.answers() == {
        "colour": "blue",
        "shades": ["light", "dark"],
        "item": "met",
        "item-evidence": [{"title": "Safeguarding policy", "type": "policy", "date": date(2024, 4, 3), "link": None}],
        "mandatory-item": "met",
    }


def test_required_questions_are_reported_in_page_order(ctx, minimal: Questionnaire) -> None:
    form, valid = post(minimal, "first", {})
    assert not valid
    assert [anchor for anchor, _ in form.error_list()] == ["colour", "item", "mandatory-item"]
    assert errors(form)["colour"] == "Select an answer to ‘Which colour?’"


@pytest.mark.parametrize(
    ("data", "anchor", "message"),
    [
        ({"colour": "green"}, "colour", "Select one of the options shown for ‘Which colour?’"),
        ({"shades": ["light", "purple"]}, "shades", "Select from the options shown for ‘Which shades?’"),
        (
            {"shades": ["light", "none"]},
            "shades",
            "Select ‘None of these’ on its own for ‘Which shades?’, or other options without it",
        ),
        (
            {"shades": ["light", "dark", "none"]},
            "shades",
            "Select ‘None of these’ on its own for ‘Which shades?’, or other options without it",
        ),
        (
            {"mandatory-item": "not-applicable"},
            "mandatory-item",
            "‘Is there a designated lead?’ applies to every agency, so it cannot be marked not applicable",
        ),
        (
            {"item": "not-applicable"},
            "item__reason",
            "Explain why ‘Is the policy in place?’ does not apply to your agency",
        ),
        (
            {"item": "not-applicable", "item__reason": "n/a"},
            "item__reason",
            "The reason ‘Is the policy in place?’ does not apply must be at least 5 characters",
        ),
        (
            {"item-evidence__1__title": "Minutes"},
            "item-evidence__1__type",
            "Select the type of evidence 2 for ‘Is the policy in place?’",
        ),
        (
            {"item-evidence__1__title": "Minutes", "item-evidence__1__type": "other"},
            "item-evidence__1__date-day",
            "Enter the date of evidence 2 for ‘Is the policy in place?’, like 27 3 2024",
        ),
        (
            {
                "item-evidence__0__title": "P",
                "item-evidence__0__type": "policy",
                "item-evidence__0__date-day": "1",
                "item-evidence__0__date-month": "1",
                "item-evidence__0__date-year": "2020",
                "item-evidence__0__link": "javascript:alert(1)",
            },
            "item-evidence__0__link",
            "Enter the link to evidence 1 for ‘Is the policy in place?’ as a web address starting https://",
        ),
        ({"item": "not-met"}, "item-action__what", "Add an action for ‘Is the policy in place?’"),
        (
            {"item": "not-met", "item-action__what": "Rewrite the policy"},
            "item-action__owner",
            "Enter who owns the action for ‘Is the policy in place?’",
        ),
        (
            {
                "item": "not-met",
                "item-action__what": "Rewrite",
                "item-action__owner": "Head",
                "item-action__due-day": "31",
                "item-action__due-month": "2",
                "item-action__due-year": str(NEXT_YEAR),
            },
            "item-action__due-day",
            "The due date of the action for ‘Is the policy in place?’ must be a real date",
        ),
        (
            {
                "item": "not-met",
                "item-action__what": "Rewrite",
                "item-action__owner": "Head",
                "item-action__due-day": "31",
                "item-action__due-month": "12",
                "item-action__due-year": str(NEXT_YEAR - 2),
            },
            "item-action__due-day",
            "The due date of the action for ‘Is the policy in place?’ must be today or in the future",
        ),
    ],
)
def test_invalid_answers_are_refused_with_a_clear_message(ctx, minimal, data, anchor, message) -> None:
    form, valid = post(minimal, "first", {**VALID_FIRST, **data})
    assert not valid
    assert errors(form)[anchor] == message
    assert anchor.split("__")[0] not in form.answers(), "nothing invalid is offered for storage"


def test_nul_characters_never_reach_the_answers(ctx, minimal: Questionnaire) -> None:
    """A script can post NUL; PostgreSQL text columns (an action's text) refuse it."""
    form, valid = post(
        minimal,
        "first",
        {
            **VALID_FIRST,
            "item": "not-met",
            "item-evidence__0__title": "Policy\x00 2024",
            "item-action__what": "\x00Rewrite",
            "item-action__owner": "Head\x00",
            "item-action__due-day": "1",
            "item-action__due-month": "2",
            "item-action__due-year": str(NEXT_YEAR + 3),
        },
    )
    assert valid, errors(form)
    answers = form.answers()
    assert answers["item-evidence"][0]["title"] == "Policy 2024"
    assert answers["item-action"] == {"what": "Rewrite", "owner": "Head", "due": date(NEXT_YEAR + 3, 2, 1)}


def test_unknown_option_value_is_never_stored(ctx, minimal: Questionnaire) -> None:
    form, valid = post(minimal, "first", {**VALID_FIRST, "colour": "<script>"})
    assert not valid
    assert "colour" not in form.answers()


def test_typed_input_is_kept_for_the_next_render(ctx, minimal: Questionnaire) -> None:
    form, _ = post(
        minimal,
        "second",
        {"agree": "yes", "staff": "twelve", "reviewed-day": "31", "reviewed-month": "2", "reviewed-year": "2021"},
    )
    assert form.field("staff").typed == "twelve"
    assert form.field("reviewed").typed == {"day": "31", "month": "2", "year": "2021"}
    assert errors(form)["staff"] == "Your answer to ‘How many staff?’ must be a number, like 12"
    assert errors(form)["reviewed-day"] == "The date for ‘When was it reviewed?’ must be a real date"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1.5", "must be a whole number, like 12"),
        ("-1", "must be between 0 and 1000"),
        ("1001", "must be between 0 and 1000"),
        ("nan", "must be a number, like 12"),
        ("inf", "must be a number, like 12"),
    ],
)
def test_number_limits(ctx, minimal, typed, message) -> None:
    form, valid = post(minimal, "second", {"agree": "yes", "staff": typed})
    assert not valid
    assert errors(form)["staff"] == f"Your answer to ‘How many staff?’ {message}"


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ({"min": 5, "max": None}, "Your answer to ‘How many staff?’ must be 5 or more"),
        ({"min": None, "max": -1}, "Your answer to ‘How many staff?’ must be -1 or less"),
    ],
)
def test_number_with_one_limit_names_its_question(ctx, minimal, bounds, message) -> None:
    staff = dataclasses.replace(minimal.question("staff"), **bounds)
    section = minimal.section("second")
    changed = dataclasses.replace(section, questions=tuple(staff if q.id == "staff" else q for q in section.questions))
    form_class = build_form_class(minimal, changed)
    form = form_class(formdata=MultiDict({"agree": "yes", "staff": "0"}))
    assert not form.validate()
    assert errors(form)["staff"] == message


@pytest.mark.parametrize(
    ("limits", "chosen", "message"),
    [
        ({"min_selected": 2}, ["light"], "Select at least 2 options for ‘Which shades?’"),
        ({"max_selected": 1}, ["light", "dark"], "Select no more than 1 option for ‘Which shades?’"),
    ],
)
def test_checkbox_limits_name_their_question(ctx, minimal, limits, chosen, message) -> None:
    shades = dataclasses.replace(minimal.question("shades"), **limits)
    section = minimal.section("first")
    changed = dataclasses.replace(
        section, questions=tuple(shades if q.id == "shades" else q for q in section.questions)
    )
    form = build_form_class(minimal, changed)(formdata=MultiDict({**VALID_FIRST, "shades": chosen}))
    assert not form.validate()
    assert errors(form)["shades"] == message


def test_number_with_thousands_separator(ctx, minimal) -> None:
    form, valid = post(minimal, "second", {"agree": "yes", "staff": "1,000"})
    assert valid, form.error_list()
    assert form.answers()["staff"] == 1000


@pytest.mark.parametrize(
    ("parts", "anchor", "message"),
    [
        (("", "2", "2021"), "reviewed-day", "must include a day"),
        (("1", "", ""), "reviewed-month", "must include a month and a year"),
        (("1", "13", "2021"), "reviewed-month", "must be a real date"),
        (("32", "13", "2021"), "reviewed-day", "must be a real date"),
        (("31", "4", "2021"), "reviewed-day", "must be a real date"),
        (("1", "2", "21"), "reviewed-year", "must include a year with 4 numbers, like 2024"),
        (("a", "2", "2021"), "reviewed-day", "must be a real date, written in numbers, like 27 3 2024"),
        (("31", "12", "1999"), "reviewed-day", "must be on or after 1 January 2000"),
    ],
)
def test_date_checks(ctx, minimal, parts, anchor, message) -> None:
    """Each message names the question (a page can ask for more than one date) and links to the
    box that is wrong, the first of them when more than one is."""
    day, month, year = parts
    form, valid = post(
        minimal, "second", {"agree": "yes", "reviewed-day": day, "reviewed-month": month, "reviewed-year": year}
    )
    assert not valid
    assert errors(form) == {anchor: f"The date for ‘When was it reviewed?’ {message}"}


# show_if / required_if, with each condition operator the fixture uses
def test_equals_show_if_and_required_if(ctx, minimal) -> None:
    form, valid = post(minimal, "second", {"agree": "no"})
    assert not valid
    assert errors(form) == {"why": "Enter an answer to ‘Why not?’"}
    form, valid = post(minimal, "second", {"agree": "yes", "why": "kept out"})
    assert valid
    assert "why" not in form.answers(), "an answer to a question that is not asked is dropped"


def test_all_not_and_gt_conditions(ctx, minimal) -> None:
    # trained shows when staff > 0 and agree is not dont-know
    form, valid = post(minimal, "second", {"agree": "yes", "staff": "10", "trained": "4"})
    assert valid
    assert form.answers()["trained"] == 4
    form, valid = post(minimal, "second", {"agree": "dont-know", "staff": "10", "trained": "4"})
    assert valid
    assert "trained" not in form.answers()
    form, valid = post(minimal, "second", {"agree": "yes", "staff": "0", "trained": "4"})
    assert "trained" not in form.answers()


def test_hidden_questions_are_not_validated(ctx, minimal) -> None:
    form, valid = post(minimal, "second", {"agree": "yes", "staff": "0", "trained": "not a number"})
    assert valid, form.error_list()


def test_any_and_answered_required_if(ctx, minimal) -> None:
    # reviewed is required when colour is red (an earlier page) or story is answered
    form, valid = post(minimal, "second", {"agree": "yes", "story": "Something"})
    assert errors(form) == {"reviewed-day": "Enter a date for ‘When was it reviewed?’"}
    form, valid = post(minimal, "second", {"agree": "yes"}, prior={"colour": "red"})
    assert errors(form) == {"reviewed-day": "Enter a date for ‘When was it reviewed?’"}
    form, valid = post(minimal, "second", {"agree": "yes"}, prior={"colour": "blue"})
    assert valid


def test_gte_on_dates(ctx, minimal) -> None:
    base = {"agree": "yes", "reviewed-month": "6", "reviewed-year": "2021", "after": "yes"}
    form, _ = post(minimal, "second", {**base, "reviewed-day": "1"})
    assert form.answers()["after"] == "yes"
    form, _ = post(minimal, "second", {**base, "reviewed-year": "2019", "reviewed-day": "1"})
    assert "after" not in form.answers()


def test_in_condition_on_a_rating(ctx, minimal) -> None:
    action = {
        "item-action__what": "Review it",
        "item-action__owner": "Lead",
        "item-action__due-day": "1",
        "item-action__due-month": "9",
        "item-action__due-year": str(NEXT_YEAR),
    }
    form, valid = post(minimal, "first", {**VALID_FIRST, "item": "partially-met", **action})
    assert valid, form.error_list()
    assert form.answers()["item-action"] == {"what": "Review it", "owner": "Lead", "due": date(NEXT_YEAR, 9, 1)}
    form, valid = post(minimal, "first", {**VALID_FIRST, **action})
    assert valid
    assert "item-action" not in form.answers(), "an action for an item rated met is not asked"


def test_question_depending_on_an_earlier_page_is_left_out_when_false(app, minimal) -> None:
    q = minimal
    with_red = build_form_class(q, q.section("second"), prior={"agree": "no"})
    assert "why" in {x.id for x in with_red.questions}
    # a show_if on a question of the same page keeps the field (revealed in place)
    assert {x.id for x in build_form_class(q, q.section("second")).questions} >= {"why", "trained", "after"}


def test_two_forms_built_in_a_row_share_nothing(ctx, minimal) -> None:
    first = build_form_class(minimal, minimal.section("first"))
    second = build_form_class(minimal, minimal.section("first"))
    assert first is not second
    a = first(formdata=MultiDict({"colour": "green"}))
    b = second(formdata=MultiDict({"colour": "blue"}))
    a.validate()
    b.validate()
    assert a.field("colour") is not b.field("colour")
    assert errors(a)["colour"] == "Select one of the options shown for ‘Which colour?’"
    assert "colour" not in errors(b)
    assert a.field("item").question is b.field("item").question  # the definition is shared, frozen
    assert not hasattr(first, "colour") and field_key("colour") in dir(first)


def test_stored_answers_fill_the_form(app, minimal) -> None:
    with app.test_request_context(method="GET"):
        form_class = build_form_class(minimal, minimal.section("first"))
        form = form_class(
            answers={
                "colour": "blue",
                "item": "not-applicable",
                "item__reason": "We have no staff",
                "item-action": {"what": "A", "owner": "B", "due": "2027-01-02"},
            }
        )
        assert form.field("colour").answer == "blue"
        assert form.field("item").reason == "We have no staff"
        assert form.field("item-action").typed["due"] == {"day": "2", "month": "1", "year": "2027"}


def test_age_band_questions(app) -> None:
    from questionnaires import load_all

    child = load_all()["child-experience"]
    for band in child.age_bands:
        for section in child.sections_for(band.id):
            form_class = build_form_class(child, section, band.id)
            assert form_class.questions, section.id
            assert all(q.for_band(band.id) for q in form_class.questions)


def test_fields_are_made_once_per_definition_object_page_and_questions(ctx, minimal) -> None:
    """What a page's classes are made of is kept (their unbound fields, WTForms' Meta) while each
    build still gives a class of its own; a definition loaded again gets fields of its own."""
    first = build_form_class(minimal, minimal.section("first"))
    again = build_form_class(minimal, minimal.section("first"))
    assert first is not again
    assert first._unbound_fields == again._unbound_fields and first._wtforms_meta is again._wtforms_meta
    section = minimal.section("first")
    relabelled = with_question(minimal, "colour", text="Which colour now?")
    assert relabelled.key == minimal.key, "the same name and version, other content"
    form = build_form_class(relabelled, relabelled.section("first"))(formdata=MultiDict({}))
    assert form.field("colour").question.text == "Which colour now?"
    assert build_form_class(minimal, section)(formdata=MultiDict({})).field("colour").question.text == "Which colour?"


def test_other_questions_asked_other_fields(ctx, minimal) -> None:
    """A question whose condition looks at an earlier page: asked or not, the page's fields follow."""
    asks = with_question(minimal, "agree", show_if={"question": "colour", "equals": "red"})
    second = asks.section("second")
    red = build_form_class(asks, second, prior={"colour": "red"})
    blue = build_form_class(asks, second, prior={"colour": "blue"})
    assert "agree" in {q.id for q in red.questions} and "agree" not in {q.id for q in blue.questions}
    assert field_key("agree") in dict(red._unbound_fields) and field_key("agree") not in dict(blue._unbound_fields)
    assert "agree" in {f.question.id for f in red(formdata=MultiDict({})).answer_fields()}
    assert "agree" not in {f.question.id for f in blue(formdata=MultiDict({})).answer_fields()}
    again = build_form_class(asks, second, prior={"colour": "red"})
    assert again._unbound_fields == red._unbound_fields


def with_question(questionnaire: Questionnaire, question_id: str, **changes: Any) -> Questionnaire:
    """A copy of the definition (same id and version) with one question changed."""
    return dataclasses.replace(
        questionnaire,
        sections=tuple(
            dataclasses.replace(
                s,
                questions=tuple(dataclasses.replace(q, **changes) if q.id == question_id else q for q in s.questions),
            )
            for s in questionnaire.sections
        ),
    )


def _random_post(section, rng) -> dict[str, str]:
    """A page as a person might post it: options given or not (now and then one not offered), text
    or blanks, evidence and actions whole, partial or badly typed."""
    data: dict[str, str] = {}
    for q in section.questions:
        if q.is_choice:
            values = [o.value for o in q.options] + ["", "not-an-option"]
            data[q.id] = rng.choice(values)
            if rng.random() < 0.3:
                data[q.id + "__reason"] = rng.choice(["", "Not here", "We have no such service at all"])
        elif q.type == "evidence":
            for n in range(rng.randint(0, 2)):
                row = f"{q.id}__{n}__"
                data[row + "title"] = rng.choice(["", "Policy"])
                data[row + "type"] = rng.choice(["", q.evidence_types[0].value])
                data.update(
                    {row + "date-day": "3", row + "date-month": rng.choice(["4", "13"]), row + "date-year": "2024"}
                )
        elif q.type == "action":
            if rng.random() < 0.5:
                data.update({q.id + "__what": rng.choice(["", "Train"]), q.id + "__owner": "Lead"})
                data.update(
                    {q.id + "__due-day": "2", q.id + "__due-month": "1", q.id + "__due-year": str(NEXT_YEAR + 3)}
                )
        else:
            data[q.id] = rng.choice(["", "Some words"])
    return data


def test_answers_decide_what_is_asked_as_visible_does(ctx) -> None:
    """The answers a page stores are the valid ones to the questions `visible` says are asked,
    for every S11 standard, whatever was posted (`answers` decides that in one pass)."""
    import random

    from questionnaires import load_all

    s11 = load_all()["s11-self-audit"]
    rng = random.Random(7)
    for _ in range(60):
        section = rng.choice(s11.sections)
        other = rng.choice([s for s in s11.sections if s is not section])
        prior = {q.id: "met" for q in other.questions if q.type == "rating"}
        form_class = build_form_class(s11, section, prior=prior)
        form = form_class(formdata=MultiDict(_random_post(section, rng)), prior=prior)
        form.validate()
        expected: dict[str, Any] = {}
        for field in form.answer_fields():
            if field.answer is not None and not field.error_parts and form.visible(field.question):
                expected.update(field.answers())
        assert form.answers() == expected


def test_a_cleared_choice_is_left_out_of_the_page_kept_as_a_draft(ctx, minimal: Questionnaire) -> None:
    """Pressing "Clear my answer" shows the page again without the choice; a draft kept of that
    page (an audit page keeps one, `as_shown`) must not bring the choice back."""
    data = MultiDict({"agree": "yes", "after": "no", "clear-answer": "after"})
    form = build_form_class(minimal, minimal.section("second"))(formdata=data)
    assert form.change_page(data)
    assert form.field("after").data is None and form.field("agree").data == "yes"
    assert form.as_shown([["agree", "yes"], ["after", "no"]]) == [["agree", "yes"]]

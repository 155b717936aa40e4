"""GOV.UK macro parameters built from a bound form."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from forms import build_form_class
from forms.render import error_summary, page_views
from questionnaires import Questionnaire, load_all


@pytest.fixture
def views(app: Flask, minimal: Questionnaire):
    def make(section: str, data: dict | None = None):
        with app.test_request_context(method="POST"):
            form = build_form_class(minimal, minimal.section(section))(formdata=MultiDict(data or {}))
            if data is not None:
                form.validate()
            return form, {v["id"]: v for v in page_views(form)}

    return make


def test_each_question_gets_its_govuk_component(views) -> None:
    _, first = views("first")
    assert {k: v["kind"] for k, v in first.items()} == {
        "colour": "radios",
        "shades": "checkboxes",
        "item": "radios",
        "item-evidence": "evidence",
        "item-action": "action",
        "mandatory-item": "radios",
    }
    _, second = views("second")
    assert second["staff"]["kind"] == "input" and second["staff"]["params"]["inputmode"] == "numeric"
    assert second["story"]["kind"] == "textarea"
    assert second["reviewed"]["kind"] == "date"
    assert [i["name"] for i in second["reviewed"]["params"]["items"]] == ["day", "month", "year"]


def test_a_long_answer_with_a_maximum_counts_its_characters(views) -> None:
    """The template shows a GOV.UK character count for these parameters (maxlength given)."""
    _, second = views("second")
    params = second["story"]["params"]
    assert params["maxlength"] == 5000  # long_text's default maximum
    assert params["textareaDescriptionText"] == "You can enter up to 5,000 characters"
    assert "maxlength" not in second["staff"]["params"]


def test_a_childs_character_count_speaks_of_letters_and_spaces(app: Flask) -> None:
    """On the child survey the count's hint and running messages avoid "characters", as its
    error does; the family survey's keep GOV.UK Frontend's words."""
    shipped = load_all()
    counts = {}
    for qid in ("child-experience", "family-experience"):
        questionnaire = shipped[qid]
        band = questionnaire.age_bands[1].id if questionnaire.age_bands else None
        section = next(
            s for s in questionnaire.sections_for(band) if any(q.type == "long_text" for q in s.questions_for(band))
        )
        with app.test_request_context(method="POST"):
            form = build_form_class(questionnaire, section, band)(formdata=MultiDict({}))
            counts[qid] = next(v["params"] for v in page_views(form) if v["kind"] == "textarea")
    child, family = counts["child-experience"], counts["family-experience"]
    assert child["textareaDescriptionText"] == "You can write up to 2,000 letters and spaces"
    assert child["charactersOverLimitText"]["other"] == "Your answer is %{count} letters or spaces too long"
    assert child["charactersUnderLimitText"]["one"] == "You can write 1 more letter or space"
    assert family["textareaDescriptionText"] == "You can enter up to 3,000 characters"
    assert "charactersOverLimitText" not in family and "charactersUnderLimitText" not in family


def test_not_applicable_gets_a_reason_box_unless_mandatory(views) -> None:
    _, first = views("first")
    item = first["item"]
    assert item["params"]["items"][-1]["value"] == "not-applicable"
    assert item["params"]["items"][-2] == {"divider": "or"}
    assert item["reason"]["name"] == "item__reason"
    assert json.loads(item["reason_condition"]["json"]) == {"question": "item", "equals": "not-applicable"}
    assert "reason" not in first["mandatory-item"]
    assert [i.get("value") for i in first["mandatory-item"]["params"]["items"]] == ["met", "partially-met", "not-met"]


def test_exclusive_option_in_checkboxes(views) -> None:
    _, first = views("first")
    items = first["shades"]["params"]["items"]
    assert items[-2] == {"divider": "or"}
    assert items[-1]["behaviour"] == "exclusive"


def test_same_page_conditions_are_described_and_serialised(views) -> None:
    _, second = views("second")
    condition = second["why"]["condition"]
    assert json.loads(condition["json"]) == {"question": "agree", "equals": "no"}
    assert condition["note"] == "you answered 'No' to 'Do you agree?'"
    assert second["agree"]["condition"] is None
    # a condition on an earlier page is decided on the server, not revealed in place
    assert second["reviewed"]["condition"] is None


def test_errors_are_placed_on_their_component_and_summarised(views) -> None:
    form, first = views("first", {"colour": "nope", "item": "not-met", "item-action__due-day": "40"})
    assert first["colour"]["params"]["errorMessage"] == {"text": "Select one of the options shown for ‘Which colour?’"}
    assert first["item-action"]["parts"]["what"]["errorMessage"] == {
        "text": "Enter what will be done for ‘Is the policy in place?’"
    }
    assert first["item-action"]["error"] is None, "a part's error shows on the part alone, not twice"
    due = first["item-action"]["parts"]["due"]
    assert (
        due["errorMessage"]["text"]
        == "The due date of the action for ‘Is the policy in place?’ must include a month and a year"
    )
    summary = error_summary(form)
    assert summary["titleText"] == "There is a problem"
    assert {
        "href": "#item-action__due-month",
        "text": "The due date of the action for ‘Is the policy in place?’ must include a month and a year",
    } in summary["errorList"]


def test_typed_values_are_shown_again(views) -> None:
    _, second = views("second", {"agree": "yes", "staff": "many", "story": "<script>x</script>"})
    assert second["staff"]["params"]["value"] == "many"
    assert second["story"]["params"]["value"] == "<script>x</script>"  # escaped by the macro
    assert second["agree"]["params"]["value"] == "yes"


def test_a_missing_action_is_reported_once_on_its_fieldset(views) -> None:
    form, first = views("first", {"colour": "blue", "item": "not-met"})
    action = first["item-action"]
    messages = dict(form.error_list())
    assert messages["item-action__what"].startswith("Add an action")
    assert action["error"] == {"text": messages["item-action__what"]}
    assert action["parts"]["what"]["errorMessage"] is None


@pytest.fixture
def pressed(app: Flask, minimal: Questionnaire):
    """The first page's views after a button was pressed, handled as the views handle it."""

    def make(data: dict):
        with app.test_request_context(method="POST"):
            formdata = MultiDict(data)
            form = build_form_class(minimal, minimal.section("first"))(formdata=formdata)
            assert form.change_evidence(formdata)
            return {v["id"]: v for v in page_views(form)}

    return make


def test_each_evidence_row_has_a_remove_button_that_says_which_row(views, pressed) -> None:
    first = pressed({"item-evidence__0__title": "Policy", "add-evidence": "item-evidence"})["item-evidence"]
    assert [row["remove"]["value"] for row in first["rows"]] == ["item-evidence__0", "item-evidence__1"]
    remove = first["rows"][1]["remove"]
    assert remove["name"] == "remove-evidence" and "govuk-button--secondary" in remove["classes"]
    assert remove["html"] == (
        'Remove<span class="govuk-visually-hidden"> evidence 2 for ‘Is the policy in place?’</span>'
    )
    assert first["add"]["html"] == (
        'Add another piece of evidence<span class="govuk-visually-hidden"> for ‘Is the policy in place?’</span>'
    ), "one add button per item: a list of buttons tells them apart"
    _, fresh = views("first")
    assert [row["remove"] for row in fresh["item-evidence"]["rows"]] == [None], "one empty row: nothing to remove"
    _, one = views("first", {"item-evidence__0__title": "Policy"})
    assert one["item-evidence"]["rows"][0]["remove"]["value"] == "item-evidence__0", "a typed row can be cleared"


def test_the_keyboard_goes_to_the_row_added_or_to_the_list_a_row_left(views, pressed) -> None:
    added = pressed({"item-evidence__0__title": "Policy", "add-evidence": "item-evidence"})["item-evidence"]
    assert [row["title"]["attributes"] for row in added["rows"]] == [None, {"autofocus": ""}]
    assert not added["focused"]
    removed = pressed({"item-evidence__0__title": "Policy", "remove-evidence": "item-evidence__0"})["item-evidence"]
    assert removed["focused"] and removed["fieldset_id"] == "item-evidence"
    assert [row["title"]["attributes"] for row in removed["rows"]] == [None]
    _, shown = views("first", {"item-evidence__0__title": "Policy"})
    assert not shown["item-evidence"]["focused"] and shown["item-evidence"]["rows"][0]["title"]["attributes"] is None

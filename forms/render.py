"""Turn a bound section form into parameters for the GOV.UK macros in templates/govuk/.

Parameters are built here, in Python, and the page template only hands each to its macro: that
keeps the page template flat, and rendering a long S11 page costs one macro call per question
rather than a template per field. Nothing here touches the database or the request.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import Any

from markupsafe import Markup, escape

from forms.builder import ADD_EVIDENCE, CLEAR_ANSWER, REMOVE_EVIDENCE, SectionForm
from forms.dates import PARTS
from forms.fields import (
    SEP,
    ActionField,
    AnswerField,
    DateField,
    EvidenceField,
    MultipleChoiceField,
    NumberField,
    RatingField,
    SingleChoiceField,
    TextField,
)
from questionnaires.conditions import describe, referenced_questions
from questionnaires.model import Option, Question
from questionnaires.wording import quoted

LONG_TEXT_ROWS = 5
FACE_SVG = {
    # simple line faces drawn here; the text label beside each says the same in words
    "happy": '<path d="M14 26 Q20 32 26 26" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round"/>',
    "ok": '<path d="M14 27 H26" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round"/>',
    "sad": '<path d="M14 30 Q20 24 26 30" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round"/>',
}


def face(kind: str) -> Markup:
    return Markup(
        '<svg class="app-face" viewBox="0 0 40 40" width="40" height="40" aria-hidden="true" focusable="false">'
        '<circle cx="20" cy="20" r="17" fill="none" stroke="currentColor" stroke-width="2.5"/>'
        '<circle cx="14" cy="16" r="2.2" fill="currentColor"/><circle cx="26" cy="16" r="2.2" fill="currentColor"/>'
        f"{FACE_SVG[kind]}</svg>"
    )


def _error(field: AnswerField, anchor: str | None = None) -> dict[str, str] | None:
    message = field.error_parts.get(anchor or field.anchor)
    return {"text": message} if message else None


def _hint(question: Question) -> dict[str, str] | None:
    return {"text": question.hint} if question.hint else None


def _legend(question: Question, single: bool) -> dict[str, Any]:
    if single:
        return {"text": question.text, "classes": "govuk-fieldset__legend--l", "isPageHeading": True}
    return {"text": question.text, "classes": "govuk-fieldset__legend--m"}


def _label(question: Question, single: bool) -> dict[str, Any]:
    if single:
        return {"text": question.text, "classes": "govuk-label--l", "isPageHeading": True}
    return {"text": question.text, "classes": "govuk-label--m"}


def _item(option: Option, index: int) -> dict[str, Any]:
    item: dict[str, Any] = {"value": option.value}
    if option.face:
        item["html"] = face(option.face) + Markup(" ") + escape(option.label)
    else:
        item["text"] = option.label
    if option.hint:
        item["hint"] = {"text": option.hint}
    return item


def _choice_items(question: Question, field: AnswerField) -> list[dict[str, Any]]:
    options = question.offered_options
    items = []
    for index, option in enumerate(options):
        if (option.dont_know or option.not_applicable) and index == len(options) - 1 and index > 0:
            items.append({"divider": "or"})
        items.append(_item(option, index))
    return items


def clear_button(field: SingleChoiceField) -> Markup:
    """ "Clear my answer", under the options of a question that may be skipped: a submit button
    (it works without JavaScript: the page comes back with the question unanswered), looking like
    a link so it is not mistaken for Continue. static/clear_answer.js clears the choice in place
    instead, and shows the button only while an option is chosen. The hidden words say which
    question it clears, for a page of several."""
    return (
        Markup('<p class="govuk-body app-clear-answer">')
        + Markup('<button type="submit" class="govuk-link app-clear-answer__button" name="{}" value="{}">').format(
            CLEAR_ANSWER, field.name
        )
        + Markup('Clear my answer<span class="govuk-visually-hidden"> to {}</span></button></p>').format(
            quoted(field.question.text)
        )
    )


def radios(field: AnswerField, single: bool) -> dict[str, Any]:
    q = field.question
    params: dict[str, Any] = {
        "name": field.name,
        "fieldset": {"legend": _legend(q, single)},
        "hint": _hint(q),
        "errorMessage": _error(field),
        "items": _choice_items(q, field),
        "value": field.answer,
    }
    if isinstance(field, SingleChoiceField) and field.clearable:
        params["formGroup"] = {"afterInputs": {"html": clear_button(field)}}
        if field.cleared:  # the page is back after "Clear my answer": the keyboard is on its question
            params["fieldset"]["attributes"] = {"tabindex": "-1", "autofocus": ""}
    if any(o.face for o in q.offered_options):
        params["classes"] = "app-radios--faces"
    elif q.type == "yes_no" and not q.dont_know:
        params["classes"] = "govuk-radios--inline"
    return params


def reason_textarea(field: RatingField) -> dict[str, Any]:
    return {
        "name": field.reason_name,
        "id": field.reason_name,
        "label": {"text": "Why does this not apply to your agency?"},
        "rows": 3,
        "value": field.reason,
        "errorMessage": _error(field, field.reason_name),
    }


def checkboxes(field: MultipleChoiceField, single: bool) -> dict[str, Any]:
    q = field.question
    items = []
    for index, option in enumerate(q.offered_options):
        item = _item(option, index)
        if not option.in_base:
            items.append({"divider": "or"})
            item["behaviour"] = "exclusive"
        items.append(item)
    return {
        "name": field.name,
        "fieldset": {"legend": _legend(q, single)},
        "hint": {"text": q.hint} if q.hint else {"text": "Select all that apply."},
        "errorMessage": _error(field),
        "items": items,
        "values": field.answer or [],
    }


def text_input(field: TextField | NumberField, single: bool) -> dict[str, Any]:
    q = field.question
    params: dict[str, Any] = {
        "name": field.name,
        "id": field.name,
        "label": _label(q, single),
        "hint": _hint(q),
        "errorMessage": _error(field),
    }
    if isinstance(field, NumberField):
        params.update(
            value=field.typed,
            classes="govuk-input--width-10",
            inputmode="decimal" if not q.integer else "numeric",
            spellcheck=False,
        )
        if q.suffix:
            params["suffix"] = {"text": q.suffix}
    else:
        params["value"] = field.answer or ""
    return params


def textarea(field: TextField, single: bool) -> dict[str, Any]:
    """With a maximum length, the parameters of a GOV.UK character count (the template's choice),
    so people see how many characters they have left; the limit is still checked on the server."""
    q = field.question
    params: dict[str, Any] = {
        "name": field.name,
        "id": field.name,
        "label": _label(q, single),
        "hint": _hint(q),
        "errorMessage": _error(field),
        "rows": LONG_TEXT_ROWS,
        "value": field.answer or "",
    }
    if q.max_length:  # the number written as the server's message writes it: 5,000
        params.update(
            maxlength=q.max_length, textareaDescriptionText=f"You can enter up to {q.max_length:,} characters"
        )
        if field.audience == "child":  # "characters" is not a word a child of 8 knows: as the error says it
            params.update(
                textareaDescriptionText=f"You can write up to {q.max_length:,} letters and spaces", **CHILD_COUNT
            )
    return params


#: The character count's running messages for a child (GOV.UK Frontend's own say "characters"),
#: in the words of the child survey's "too long" error (forms.fields.TextField.too_long).
CHILD_COUNT: dict[str, Any] = {
    "charactersUnderLimitText": {
        "one": "You can write 1 more letter or space",
        "other": "You can write %{count} more letters or spaces",
    },
    "charactersAtLimitText": "You cannot write any more",
    "charactersOverLimitText": {
        "one": "Your answer is 1 letter or space too long",
        "other": "Your answer is %{count} letters or spaces too long",
    },
}


def _date_items(prefix: str, typed: dict[str, str], bad: Iterable[str]) -> list[dict[str, Any]]:
    bad = set(bad)
    widths = {"day": 2, "month": 2, "year": 4}
    return [
        {
            "name": part,
            "id": f"{prefix}-{part}",
            "value": typed.get(part, ""),
            "classes": f"govuk-input--width-{widths[part]}" + (" govuk-input--error" if part in bad else ""),
        }
        for part in PARTS
    ]


def _bad_parts(anchor_of: dict[str, str], prefix: str) -> tuple[str, ...]:
    """Which of a date's boxes to mark: the one named in the error, or all of them."""
    for part in PARTS:
        if f"{prefix}-{part}" in anchor_of:
            return PARTS if part == "day" else (part,)
    return ()


def date_input(field: DateField, single: bool) -> dict[str, Any]:
    q = field.question
    hint = q.hint or f"For example, 27 3 {date.today().year}"
    message = next(iter(field.error_parts.values()), None)
    return {
        "id": field.name,
        "namePrefix": field.name,
        "fieldset": {"legend": _legend(q, single)},
        "hint": {"text": hint},
        "errorMessage": {"text": message} if message else None,
        "items": _date_items(field.name, field.typed, field.bad_parts()),
    }


def evidence_rows(field: EvidenceField) -> list[dict[str, Any]]:
    q = field.question
    rows = []
    count = field.row_count()
    removable = count > 1 or bool(field.rows)  # a lone empty row has nothing to remove
    for index in range(count):
        typed = (
            field.rows[index]
            if index < len(field.rows)
            else {"title": "", "type": "", "link": "", "date": dict.fromkeys(PARTS, "")}
        )
        date_prefix = field.row_name(index, "date")
        date_error = next((m for a, m in field.error_parts.items() if a.startswith(date_prefix)), None)
        title = field.row_name(index, "title")
        rows.append(
            {
                "number": index + 1,
                "title": {
                    "name": title,
                    "id": title,
                    "label": {"text": "Title", "classes": "govuk-label--s"},
                    "value": typed["title"],
                    "errorMessage": _error(field, title),
                    # the row just added: the keyboard goes to it when the page comes back
                    "attributes": {"autofocus": ""} if field.focus == title else None,
                },
                "type": {
                    "name": field.row_name(index, "type"),
                    "idPrefix": field.row_name(index, "type"),
                    "fieldset": {"legend": {"text": "Type", "classes": "govuk-fieldset__legend--s"}},
                    "classes": "govuk-radios--small",
                    "items": [{"value": t.value, "text": t.label} for t in q.evidence_types],
                    "value": typed["type"],
                    "errorMessage": _error(field, field.row_name(index, "type")),
                },
                "date": {
                    "id": date_prefix,
                    "namePrefix": date_prefix,
                    "fieldset": {"legend": {"text": "Date of the document", "classes": "govuk-fieldset__legend--s"}},
                    "hint": {"text": "The date it was written, last reviewed or last held. For example, 27 3 2024"},
                    "errorMessage": {"text": date_error} if date_error else None,
                    "items": _date_items(date_prefix, typed["date"], _bad_parts(field.error_parts, date_prefix)),
                },
                "link": {
                    "name": field.row_name(index, "link"),
                    "id": field.row_name(index, "link"),
                    "label": {"text": "Link (optional)", "classes": "govuk-label--s"},
                    "hint": {"text": "Where a reviewer can read it, starting https://"},
                    "type": "url",
                    "spellcheck": False,
                    "value": typed["link"],
                    "errorMessage": _error(field, field.row_name(index, "link")),
                },
                "remove": {
                    # the GOV.UK "add another" pattern: the button says which row it removes
                    "html": Markup("Remove")
                    + Markup('<span class="govuk-visually-hidden"> ')
                    + escape(field.row_named(index))
                    + Markup("</span>"),
                    "classes": "govuk-button--secondary",
                    "name": REMOVE_EVIDENCE,
                    "value": f"{field.name}{SEP}{index}",
                }
                if removable
                else None,
            }
        )
    return rows


def _whole_action_error(field: ActionField) -> dict[str, str] | None:
    """The error about the action as a whole (none given when one is needed), shown once, on its
    fieldset. It is kept under the first part's id, where the summary links, as a part's own
    error is ("Enter what will be done"), which shows on that part alone."""
    message = field.error_parts.get(field.part_name("what"))
    return {"text": message} if message and message == field.required_message else None


def action_parts(field: ActionField) -> dict[str, Any]:
    due = field.part_name("due")
    whole = _whole_action_error(field) is not None
    due_error = next((m for a, m in field.error_parts.items() if a.startswith(due)), None)
    return {
        "what": {
            "name": field.part_name("what"),
            "id": field.part_name("what"),
            "label": {"text": "What will be done", "classes": "govuk-label--s"},
            "rows": 3,
            "value": field.typed["what"],
            "errorMessage": None if whole else _error(field, field.part_name("what")),
        },
        "owner": {
            "name": field.part_name("owner"),
            "id": field.part_name("owner"),
            "label": {"text": "Who owns it", "classes": "govuk-label--s"},
            "hint": {"text": "A role or a name"},
            "value": field.typed["owner"],
            "errorMessage": _error(field, field.part_name("owner")),
        },
        "due": {
            "id": due,
            "namePrefix": due,
            "fieldset": {"legend": {"text": "Due date", "classes": "govuk-fieldset__legend--s"}},
            "hint": {"text": f"For example, 27 3 {date.today().year + 1}"},
            "errorMessage": {"text": due_error} if due_error else None,
            "items": _date_items(due, field.typed["due"], _bad_parts(field.error_parts, due)),
        },
    }


def question_view(
    form: SectionForm, field: AnswerField, single: bool, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """What the page template needs for one question: the macro to call and its parameters.

    `labels`: `_labels(form)`, when the caller has it already (page_views makes it once a page).
    """
    q = field.question
    view: dict[str, Any] = {"id": q.id, "question": q, "condition": None}
    if isinstance(field, RatingField):
        view.update(kind="radios", params=radios(field, single))
        na = q.not_applicable_option
        if na is not None and not q.mandatory:
            # revealed by conditions.js like any conditional question, not by GOV.UK's conditional
            # radios: their aria-expanded on a radio is invalid ARIA (govuk-frontend issue 979)
            view["reason"] = reason_textarea(field)
            view["reason_condition"] = {
                "json": json.dumps({"question": q.id, "equals": na.value}, separators=(",", ":")),
                "prior": "{}",
                "note": f"you chose '{na.label}'",
            }
    elif isinstance(field, MultipleChoiceField):
        view.update(kind="checkboxes", params=checkboxes(field, single))
    elif q.type in ("single_choice", "yes_no"):
        view.update(kind="radios", params=radios(field, single))
    elif isinstance(field, NumberField) or q.type == "short_text":
        view.update(kind="input", params=text_input(field, single))
    elif q.type == "long_text":
        view.update(kind="textarea", params=textarea(field, single))
    elif isinstance(field, DateField):
        view.update(kind="date", params=date_input(field, single))
    elif isinstance(field, EvidenceField):
        view.update(
            kind="evidence",
            legend=_legend(q, single),
            hint=q.hint,
            prompts=q.prompts,
            error=_error(field),
            rows=evidence_rows(field),
            can_add=field.row_count() < q.max_items,
            add={
                "name": ADD_EVIDENCE,
                "value": q.id,
                # one such button per item on a standard: the hidden words tell a list of buttons apart
                "html": Markup("Add another piece of evidence")
                + Markup('<span class="govuk-visually-hidden"> for ')
                + escape(field.list_named)
                + Markup("</span>"),
            },
            fieldset_id=field.fieldset_id,
            focused=field.focus == field.fieldset_id,  # a row was removed: the keyboard stays on the list
        )
    elif isinstance(field, ActionField):
        view.update(
            kind="action",
            legend=_legend(q, single),
            hint=q.hint,
            error=_whole_action_error(field),
            parts=action_parts(field),
        )
    else:  # a registered type with no view is a programming error, not a user one
        raise TypeError(f"no view for question type {q.type!r}")
    if q.show_if is not None and form.same_page_conditions(q):
        view["condition"] = {
            "json": json.dumps(_jsonable(q.show_if), separators=(",", ":")),
            "prior": json.dumps(
                {k: _jsonable(v) for k, v in form.prior.items() if k in referenced_questions(q.show_if)},
                separators=(",", ":"),
            ),
            "note": describe(q.show_if, labels if labels is not None else _labels(form)),
        }
    return view


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _labels(form: SectionForm) -> dict[str, str]:
    labels: dict[str, str] = {}
    for question in form.questionnaire.questions:
        labels[question.id] = question.text
        for option in question.options:
            labels[f"{question.id}={option.value}"] = option.label
    return labels


def page_views(form: SectionForm) -> list[dict[str, Any]]:
    """Views for every question on the page, in order."""
    fields = list(form.answer_fields())
    single = len(fields) == 1
    # the words for conditions, made once a page rather than once per conditional question
    labels = _labels(form) if any(field.question.show_if is not None for field in fields) else None
    return [question_view(form, field, single, labels) for field in fields]


def view_keys(form: SectionForm) -> list[tuple[Any, ...]]:
    """One key per question of the page, covering everything its markup depends on.

    The definition version, band and question; whether it is the page's only question; the
    field's typed state and errors; the questions on the page (same-page conditions) and the
    earlier answers its condition looks at; and the year (date hints give an example date).
    Two requests with equal keys produce identical markup for that question.
    """
    fields = list(form.answer_fields())
    single = len(fields) == 1
    page = (form.questionnaire.key, form.band, tuple(f.question.id for f in fields), single, date.today().year)
    keys = []
    for field in fields:
        q = field.question
        prior = tuple((k, repr(form.prior.get(k))) for k in referenced_questions(q.show_if)) if q.show_if else ()
        keys.append((*page, q.id, field.name, prior, field.state()))
    return keys


def error_summary(form: SectionForm) -> dict[str, Any] | None:
    errors = form.error_list()
    if not errors:
        return None
    return {
        "titleText": "There is a problem",
        "errorList": [{"href": f"#{anchor}", "text": text} for anchor, text in errors],
    }

"""Build a fresh WTForms form class for one section of a questionnaire, on every request.

A class per request (WTForms' "dynamic form composition") means no request can leak fields,
choices or errors into another, and a definition version loaded by an administrator takes
effect at once. Which questions are asked, and which must be answered, depends on answers
(show-if, required-if), so `SectionForm.validate` walks the questions in order and decides.

What the class is made of is immutable and the same for every request that asks the same
questions of the same definition objects: the unbound fields (a field class and its
arguments: the frozen question, its name) and WTForms' Meta class. Making them again was about
a twentieth of a short page's time, so they are kept (see `_page_fields`); each request still
gets its own class, and each form its own bound fields, data and errors.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from itertools import pairwise
from typing import Any

from flask import g
from flask_wtf import FlaskForm
from flask_wtf.csrf import _FlaskFormCSRF
from wtforms.validators import ValidationError

from forms.fields import SEP, AnswerField, EvidenceField, SingleChoiceField, field_for
from questionnaires.conditions import evaluate, is_answered, referenced_questions
from questionnaires.model import Question, Questionnaire, Section
from security import check_csrf, csrf_token

_log = logging.getLogger("flask_wtf.csrf")  # where flask_wtf logs a refused token

ADD_EVIDENCE = "add-evidence"  # the button that adds a row to an evidence list (its question id)
REMOVE_EVIDENCE = "remove-evidence"  # the button that removes one (question id, SEP, row index)
CLEAR_ANSWER = "clear-answer"  # the button that takes back an optional choice (its question id)


class _CSRF(_FlaskFormCSRF):
    """flask_wtf's CSRF token and check, made and run more cheaply: the token comes from
    security.csrf_token (not signed anew on every request) and is checked by security.check_csrf
    (flask_wtf's checks, without a new serializer each time)."""

    def generate_csrf_token(self, csrf_token_field: Any) -> str:
        return csrf_token(self.meta.csrf_secret, self.meta.csrf_field_name)

    def validate_csrf_token(self, form: Any, field: Any) -> None:
        if g.get("csrf_valid", False):  # already checked by CSRFProtect, as flask_wtf skips it
            return
        try:
            check_csrf(field.data, self.meta.csrf_secret, self.meta.csrf_time_limit, self.meta.csrf_field_name)
        except ValidationError as error:
            _log.info(error.args[0])
            raise


class SectionForm(FlaskForm):
    """One page of questions. Subclasses carry the fields and the context below."""

    questionnaire: Questionnaire
    section: Section
    band: str | None
    questions: tuple[Question, ...]

    class Meta:
        csrf_class = _CSRF

    def __init__(
        self,
        *args: Any,
        answers: Mapping[str, Any] | None = None,
        prior: Mapping[str, Any] | None = None,
        stored_answer: Callable[[str], Any] | None = None,
        **kwargs: Any,
    ):
        """`answers`: stored answers to show (ignored when a POST is read); `prior`: answers
        given on other pages, which the conditions on this page may look at; `stored_answer`:
        the answer saved before a POST, by question id, looked up only when a check needs it
        (a past due date may stay only if it was saved before)."""
        self.prior = dict(prior or {})
        self._stored_answer = stored_answer
        # the button change_page obeyed (add or remove an evidence row, clear an answer) and the
        # list, row or field it changed; None until one does
        self._page_change: tuple[str, str] | None = None
        stored = answers or {}
        data = {field_key(q.id): stored_value(q, stored) for q in self.questions if q.id in stored}
        super().__init__(*args, data=data, **kwargs)

    def stored_answer(self, question_id: str) -> Any:
        """The answer saved before this post (None when the form was built without them)."""
        return self._stored_answer(question_id) if self._stored_answer is not None else None

    def answer_fields(self) -> Iterator[AnswerField]:
        for question in self.questions:
            yield self[field_key(question.id)]

    def field(self, question_id: str) -> AnswerField:
        return self[field_key(question_id)]

    def visible(self, question: Question) -> bool:
        """Is the question asked, given the answers so far (page answers up to it, and prior)?"""
        return evaluate(question.show_if, self.answers_before(question))

    def answers_before(self, question: Question) -> dict[str, Any]:
        answers = dict(self.prior)
        for field in self.answer_fields():
            if field.question.position >= question.position:
                break
            answers.update({field.question.id: field.answer} if field.answer is not None else {})
        return answers

    def validate(self, extra_validators: Mapping[str, Any] | None = None) -> bool:
        super().validate(extra_validators)
        return self._ask_and_require()

    def check_kept(self) -> bool:
        """Check answers kept as typed (a draft, or what "Save and come back later" could not
        save) as a save checks them, and leave errors only on those a save could not store: the
        page shown again says what still needs correcting. True if nothing does. The CSRF token
        is not checked: nothing is being sent."""
        for field in self.answer_fields():
            field.validate(self)
        self._ask_and_require()
        for field in self.answer_fields():
            if not field.cannot_save:
                field.error_parts, field.errors = {}, []
        return not self.error_list()

    def _ask_and_require(self) -> bool:
        """Clear the questions not asked and fail those that must be answered and are not, in
        the page's order (each depends on the answers before it); True if no field has an error."""
        answers = dict(self.prior)
        for field in self.answer_fields():
            question = field.question
            if not evaluate(question.show_if, answers):
                field.clear()
                answers.pop(question.id, None)
                continue
            required = question.required or (
                question.required_if is not None and evaluate(question.required_if, answers)
            )
            if required and not field.errors and not is_answered(field.answer):
                field.fail(field.required_message)
                field.errors.append(field.required_message)
            if field.answer is not None and not field.errors:
                answers[question.id] = field.answer
            else:
                answers.pop(question.id, None)
        return not self.error_list()

    def error_list(self) -> list[tuple[str, str]]:
        """(input id, message) for the error summary, in the order of the page."""
        out: list[tuple[str, str]] = []
        csrf = getattr(self, "csrf_token", None)
        if csrf is not None and csrf.errors:
            out.append(
                (
                    "main-content",
                    "This page was open too long, so we could not save it. Your answers are still here: check them and continue.",
                )
            )
        for field in self.answer_fields():
            out.extend(field.error_parts.items())
        return out

    @property
    def csrf_expired(self) -> bool:
        csrf = getattr(self, "csrf_token", None)
        return bool(csrf is not None and csrf.errors)

    def csrf_valid(self) -> bool:
        """Check the CSRF token alone, for a button that stores something without saving the
        page (its other answers are not checked); a refused token shows as `validate` shows it."""
        csrf = getattr(self, "csrf_token", None)
        return csrf is None or csrf.validate(self)

    def answers(self) -> dict[str, Any]:
        """What to store: valid answers to the questions that are asked, nothing for the others.

        Whether each is asked is `visible`, decided in one pass: the answers before a question
        are those before it on the page, gathered on the way (as `answers_before` gathers them
        for one question, when the page's questions are in the order of their positions)."""
        if any(a.position >= b.position for a, b in pairwise(self.questions)):
            return self._answers_one_by_one()
        out: dict[str, Any] = {}
        before = dict(self.prior)
        for field in self.answer_fields():
            answer = field.answer
            if answer is None:
                continue
            if not field.error_parts and evaluate(field.question.show_if, before):
                out.update(field.answers())
            before[field.question.id] = answer
        return out

    def _answers_one_by_one(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field in self.answer_fields():
            if field.answer is not None and not field.error_parts and self.visible(field.question):
                out.update(field.answers())
        return out

    def change_page(self, formdata: Mapping[str, Any]) -> bool:
        """Whether the button pressed changes the page rather than saving it (an evidence row added
        or removed, an answer cleared): then it is shown again as typed, with the change."""
        return self.change_evidence(formdata) or self.clear_answer(formdata) is not None

    def clear_answer(self, formdata: Mapping[str, Any]) -> SingleChoiceField | None:
        """Take back an optional choice, if the button pressed was its "Clear my answer" (radios
        cannot be unselected): the field, now unanswered, or None. Nothing is checked or saved; a
        button naming a question that is not on this page, or must be answered, changes nothing."""
        question_id = formdata.get(CLEAR_ANSWER)
        if not question_id or question_id not in {q.id for q in self.questions}:
            return None
        field = self.field(question_id)
        if not isinstance(field, SingleChoiceField) or not field.clearable:
            return None
        field.take_back()
        self._page_change = (CLEAR_ANSWER, field.name)
        return field

    def change_evidence(self, formdata: Mapping[str, Any]) -> bool:
        """Add or remove an evidence row, if the button pressed was "Add another piece of
        evidence" or a row's "Remove": then the page is shown again as typed, with the change
        and nothing checked or saved; True if so. A button naming no evidence list on this page
        changes nothing and is not one of these (False)."""
        adding = self._evidence_list(formdata.get(ADD_EVIDENCE))
        if adding is not None:
            adding.add_row()
            self._page_change = (ADD_EVIDENCE, adding.name)
            return True
        question_id, _, index = (formdata.get(REMOVE_EVIDENCE) or "").rpartition(SEP)
        removing = self._evidence_list(question_id)
        if removing is not None and index.isascii() and index.isdigit() and len(index) <= 4:
            removing.remove_row(int(index))
            self._page_change = (REMOVE_EVIDENCE, removing.row_name(int(index), ""))
            return True
        return False

    def as_shown(self, items: list[list[str]]) -> list[list[str]]:
        """A post's typed inputs (name and value, without the button pressed) as the page
        `change_page` made from them shows them: without the inputs of the row removed or the
        choice cleared, and with the list a row was added to noted under ADD_EVIDENCE (an empty
        row posts nothing that says it is there). A draft kept of them comes back as the page was
        left (`show_added_row`)."""
        if self._page_change is None:
            return items
        button, name = self._page_change
        if button == ADD_EVIDENCE:
            return [*items, [ADD_EVIDENCE, name]]
        if button == CLEAR_ANSWER:  # the choice taken back, or the draft would bring it back
            return [[key, value] for key, value in items if key != name]
        return [[key, value] for key, value in items if not key.startswith(name)]

    def show_added_row(self, formdata: Mapping[str, Any]) -> None:
        """Show the empty row a kept draft notes (`as_shown`) as added to its list. The keyboard
        is not moved to it, as it is just after "Add another piece of evidence": the person is
        coming back to the page, whose top says what was restored."""
        adding = self._evidence_list(formdata.get(ADD_EVIDENCE))
        if adding is not None:
            adding.add_row()
            adding.focus = None

    def _evidence_list(self, question_id: str | None) -> EvidenceField | None:
        if not question_id or question_id not in {q.id for q in self.questions}:
            return None
        field = self.field(question_id)
        return field if isinstance(field, EvidenceField) else None

    def same_page_conditions(self, question: Question) -> bool:
        """Whether the question's show-if looks at questions on this page (revealed in place)."""
        here = {q.id for q in self.questions}
        return any(ref in here for ref in referenced_questions(question.show_if))


def field_key(question_id: str) -> str:
    """The form's own key for a question's field; a colon keeps it clear of the form's methods."""
    return f"q:{question_id}"


def stored_value(question: Question, stored: Mapping[str, Any]) -> Any:
    """A stored answer in the shape its field loads (a rating carries its N/A reason)."""
    if question.type == "rating":
        return {"value": stored.get(question.id), "reason": stored.get(f"{question.id}{SEP}reason")}
    return stored.get(question.id)


def _min_reason_length(questionnaire: Questionnaire, question: Question) -> int:
    for rule_id in question.rules:
        rule = questionnaire.rules.get(rule_id)
        if rule is not None and rule.kind == "not_applicable_reason":
            return int(rule.params.get("min_reason_length", 1))
    return 1


UnboundFields = list[tuple[str, Any]]

MAX_PAGES = 1_000
_pages: dict[tuple[int, int, str | None, tuple[str, ...]], tuple[Questionnaire, Section, UnboundFields]] = {}
_pages_lock = threading.Lock()


def _page_fields(
    questionnaire: Questionnaire, section: Section, band: str | None, asked: list[Question]
) -> UnboundFields:
    """The unbound fields for these questions, made once per definition object, page and band.

    Keyed by the definition objects themselves (their ids, checked with `is` on the way out; the
    entry keeps them alive, so the ids cannot be reused), never by name and version: a definition
    loaded again, or another one with the same key (the tests make many), gets fields of its own.
    """
    key = (id(questionnaire), id(section), band, tuple(q.id for q in asked))
    found = _pages.get(key)
    if found is not None and found[0] is questionnaire and found[1] is section:
        return found[2]
    fields: UnboundFields = []
    followed = section.items_followed()
    for question in asked:
        extra: dict[str, Any] = {
            "name": question.id,
            "item": followed.get(question.id),
            "audience": questionnaire.audience,
        }
        if question.type == "rating":
            extra["min_reason_length"] = _min_reason_length(questionnaire, question)
        fields.append((field_key(question.id), field_for(question, extra)))
    with _pages_lock:
        if len(_pages) >= MAX_PAGES:
            _pages.clear()
        _pages[key] = (questionnaire, section, fields)
    return fields


@cache
def _wtforms_meta() -> type:
    """The Meta class WTForms makes for a form class on its first use, from the Meta classes
    of its ancestors; the same for every SectionForm subclass (they add none of their own)."""
    return type("Meta", tuple(c.__dict__["Meta"] for c in SectionForm.__mro__ if "Meta" in c.__dict__), {})


def form_meta() -> Any:
    """A SectionForm's meta object as a new form gets it (CSRF on or off, its secret and field
    name, read from the app's config), without building a form."""
    return _wtforms_meta()()


def build_form_class(
    questionnaire: Questionnaire, section: Section, band: str | None = None, prior: Mapping[str, Any] | None = None
) -> type[SectionForm]:
    """A new SectionForm subclass with one field per question asked on this page.

    Questions for another age band are left out, and so are questions whose show-if looks only
    at earlier pages and is false for `prior`: they are not asked at all.
    """
    prior = prior or {}
    page_ids = {q.id for q in section.questions}
    asked: list[Question] = []
    for question in section.questions_for(band):
        refs = referenced_questions(question.show_if)
        if refs and not any(r in page_ids for r in refs) and not evaluate(question.show_if, prior):
            continue
        asked.append(question)
    fields = _page_fields(questionnaire, section, band, asked)
    attrs: dict[str, Any] = dict(fields)
    attrs.update(questionnaire=questionnaire, section=section, band=band, questions=tuple(asked))
    form_class = type(f"{section.id.title().replace('-', '')}Form", (SectionForm,), attrs)
    # WTForms would find the fields by scanning dir() of the new class, and make its Meta class,
    # on first use; we know both, so say so (a measurable part of a short page's time)
    form_class._unbound_fields = list(fields)
    form_class._wtforms_meta = _wtforms_meta()
    return form_class

"""WTForms fields for each question type, and the registry that picks one per type.

Each field reads what was typed, keeps it so an invalid page can be shown again exactly as typed,
turns it into a Python answer (`answer`), and records errors per input (`error_parts`) so the
error summary can link to the exact box. Whether a question is asked or required depends on
other answers, so that is decided for the whole page in `forms.builder.SectionForm.validate`;
the fields here only check that an answer is well formed and within what the definition allows.
Fields never render themselves: `forms.render` turns them into GOV.UK macro parameters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from wtforms import Field
from wtforms.utils import unset_value

from forms.dates import PARTS, date_part_names, parse_date, parts_of, read_parts, typed_date
from questionnaires.model import Audience, Question
from questionnaires.wording import long_date, quoted

SEP = "__"  # joins a question id to its parts; question ids never contain it
URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)


class UnknownQuestionType(ValueError):
    """A definition names a question type that no field is registered for."""


def typed_text(formdata: Any, name: str) -> str:
    """What was typed in one box, trimmed, without NUL characters.

    Browsers never send a NUL, but a script can; PostgreSQL's text columns refuse it, so a NUL
    kept here would fail the save (or, in an action's text, the submission) with a server error.
    """
    # `in` first: werkzeug's `get` finds a missing name by raising and catching BadRequestKeyError,
    # and most names a page could post (a not applicable reason, an unused action) are not posted
    value = formdata.get(name) if name in formdata else None
    return (value or "").replace("\x00", "").strip()


class AnswerField(Field):
    """Common behaviour: read formdata or stored answers; expose `answer` and `error_parts`."""

    required_verb = "Answer"

    def __init__(
        self,
        *args: Any,
        question: Question,
        item: Question | None = None,
        audience: Audience | None = None,
        **kwargs: Any,
    ):
        """`item`: the rated item this question follows on its page, if any (see `named`);
        `audience`: who answers the questionnaire, so a message can be worded for them (a child
        of 8 reads "too long", not "characters")."""
        super().__init__(*args, **kwargs)
        self.question = question
        self.item = item
        self.audience = audience
        self.answer: Any = None
        self.error_parts: dict[str, str] = {}

    # WTForms calls process() with the posted form, or with None and the stored answer.
    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        self.process_errors = []
        self.error_parts = {}
        if formdata is not None:
            self.read(formdata)
        else:
            self.load(None if data is unset_value else data)
        self.data = self.answer

    def read(self, formdata: Any) -> None:
        raise NotImplementedError

    def load(self, answer: Any) -> None:
        self.answer = answer

    def pre_validate(self, form: Any) -> None:
        self.check()
        if self.error_parts:
            self.errors.extend(self.error_parts.values())

    def check(self) -> None:
        """Add `error_parts` for an answer that is badly formed or outside the definition."""

    def state(self) -> tuple[Any, ...]:
        """Everything about this field that its markup depends on, hashable (a cache key)."""
        return (self.answer, tuple(self.error_parts.items()))

    def fail(self, message: str, anchor: str | None = None) -> None:
        self.error_parts.setdefault(anchor or self.anchor, message)

    @property
    def anchor(self) -> str:
        """The id of the first input, where the error summary takes the person."""
        return self.name

    @property
    def for_item(self) -> str:
        """` for ‘the item’` in a message, or nothing: an S11 standard asks its follow-ups
        ("What is going well here…", an action) of every item, so their words alone do not say
        which one a message is about."""
        return f" for {quoted(self.item.text)}" if self.item is not None else ""

    @property
    def named(self) -> str:
        """The question, quoted for a message, with the item it follows."""
        return quoted(self.question.text) + self.for_item

    @property
    def your_answer(self) -> str:
        """`Your answer to ‘the question’`: what a message about a typed answer says is wrong
        ("… must be a number"), as GOV.UK's say "[whatever it is] must be…"."""
        return f"Your answer to {self.named}"

    @property
    def required_message(self) -> str:
        return f"{self.required_verb} {quoted(self.question.text)}"

    @property
    def cannot_save(self) -> bool:
        """Whether what was typed cannot be saved as it stands (once checked): it is badly formed,
        or outside what the definition allows. A blank answer to a question that must be answered
        can be: "Save and come back later" saves it blank, and only submission needs it."""
        messages = list(self.error_parts.values())
        return bool(messages) and messages != [self.required_message]

    def clear(self) -> None:
        """Forget the answer and its errors: the question is not asked."""
        self.answer = None
        self.data = None
        self.error_parts = {}
        self.errors = []

    def answers(self) -> dict[str, Any]:
        """Stored answers this field gives, keyed by question id (and `id__part` for extras)."""
        return {} if self.answer is None else {self.question.id: self.answer}


class SingleChoiceField(AnswerField):
    required_verb = "Select an answer to"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.cleared = False  # "Clear my answer" was pressed: the keyboard goes to the question

    @property
    def clearable(self) -> bool:
        """Whether the answer can be taken back. A radio, once chosen, cannot be unselected, so a
        question that may be skipped offers "Clear my answer"; one that must be answered, always
        or when other answers say so, does not (clearing it would only lead to an error)."""
        return not self.question.required and self.question.required_if is None

    def take_back(self) -> None:
        """No answer, as if none had been chosen, and the keyboard on the question."""
        self.clear()
        self.cleared = True

    def read(self, formdata: Any) -> None:
        value = formdata.get(self.name)
        self.answer = value if value else None

    def state(self) -> tuple[Any, ...]:
        return (*super().state(), self.cleared)

    def check(self) -> None:
        if self.answer is None or self.answer in {o.value for o in self.question.offered_options}:
            return
        option = self.question.option(self.answer)
        if option is not None and option.not_applicable:
            self.fail(f"{quoted(self.question.text)} applies to every agency, so it cannot be marked not applicable")
        else:
            self.fail(f"Select one of the options shown for {quoted(self.question.text)}")


class RatingField(SingleChoiceField):
    """A rating with its not applicable reason, revealed under the not applicable option (R3)."""

    def __init__(self, *args: Any, min_reason_length: int = 1, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.min_reason_length = min_reason_length
        self.reason = ""

    @property
    def reason_name(self) -> str:
        return f"{self.name}{SEP}reason"

    @property
    def is_not_applicable(self) -> bool:
        option = self.question.option(self.answer) if self.answer else None
        return bool(option and option.not_applicable)

    def read(self, formdata: Any) -> None:
        super().read(formdata)
        self.reason = typed_text(formdata, self.reason_name)

    def state(self) -> tuple[Any, ...]:
        return (*super().state(), self.reason)

    def load(self, answer: Any) -> None:
        if isinstance(answer, Mapping):
            self.answer, self.reason = answer.get("value"), answer.get("reason") or ""
        else:
            self.answer, self.reason = answer, ""

    def check(self) -> None:
        super().check()
        if self.error_parts or not self.is_not_applicable:
            return
        # named: a standard has several items, each with its own reason box
        named = quoted(self.question.text)
        if not self.reason:
            self.fail(f"Explain why {named} does not apply to your agency", self.reason_name)
        elif len(self.reason) < self.min_reason_length:
            self.fail(
                f"The reason {named} does not apply must be at least {self.min_reason_length} characters",
                self.reason_name,
            )
        elif len(self.reason) > 2000:
            self.fail(f"The reason {named} does not apply must be 2,000 characters or fewer", self.reason_name)

    def answers(self) -> dict[str, Any]:
        out = super().answers()
        if self.answer is not None and self.is_not_applicable:
            out[self.reason_name] = self.reason
        return out


class MultipleChoiceField(AnswerField):
    required_verb = "Select at least one answer to"

    def read(self, formdata: Any) -> None:
        values = [v for v in formdata.getlist(self.name) if v]
        self.answer = list(dict.fromkeys(values)) or None

    def load(self, answer: Any) -> None:
        self.answer = list(answer) if answer else None

    def state(self) -> tuple[Any, ...]:
        return (tuple(self.answer or ()), tuple(self.error_parts.items()))

    def check(self) -> None:
        if not self.answer:
            return
        offered = {o.value: o for o in self.question.offered_options}
        if any(v not in offered for v in self.answer):
            self.fail(f"Select from the options shown for {quoted(self.question.text)}")
            return
        lone = [offered[v] for v in self.answer if not offered[v].in_base]
        if lone and len(self.answer) > 1:
            self.fail(f"Select {quoted(lone[0].label)} on its own for {self.named}, or other options without it")
        q = self.question
        if q.min_selected and len(self.answer) < q.min_selected and not lone:
            self.fail(f"Select at least {_options(q.min_selected)} for {self.named}")
        if q.max_selected and len(self.answer) > q.max_selected:
            self.fail(f"Select no more than {_options(q.max_selected)} for {self.named}")


def _options(count: int) -> str:
    """`1 option`, `2 options`."""
    return f"{count} option" if count == 1 else f"{count} options"


class TextField(AnswerField):
    required_verb = "Enter an answer to"

    def read(self, formdata: Any) -> None:
        value = typed_text(formdata, self.name).replace("\r\n", "\n")
        self.answer = value or None

    def check(self) -> None:
        limit = self.question.max_length
        if self.answer and limit and len(self.answer) > limit:
            self.fail(self.too_long(limit))

    def too_long(self, limit: int) -> str:
        """What to say when the answer is over `limit`: the GOV.UK "must be … or fewer" for
        adults; for a child, in the child survey's short sentences and without "characters" (a
        word a child of 8 may not know), how many to take out. Taking out that many letters or
        spaces always makes it fit, as every character counts, so "at least" keeps it true."""
        over = len(self.answer) - limit
        if self.audience == "child":
            some = "1 letter or space" if over == 1 else f"{over:,} letters or spaces"
            return f"Your answer is too long. Please take out at least {some}."
        return f"{self.your_answer} must be {limit:,} characters or fewer (it is {len(self.answer):,})"


class NumberField(AnswerField):
    required_verb = "Enter a number for"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.typed = ""

    def read(self, formdata: Any) -> None:
        self.typed = (formdata.get(self.name) or "").strip()
        self.answer = None
        if not self.typed:
            return
        text = self.typed.replace(",", "")
        try:
            number = float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:
            self.answer = self.typed  # kept only to be reported by check()
            return
        self.answer = number

    def load(self, answer: Any) -> None:
        self.answer = answer
        self.typed = "" if answer is None else f"{answer:g}" if isinstance(answer, float) else str(answer)

    def state(self) -> tuple[Any, ...]:
        return (self.typed, tuple(self.error_parts.items()))

    def check(self) -> None:
        q = self.question
        value = self.answer
        if value is None:
            return
        if isinstance(value, str) or (isinstance(value, float) and not math.isfinite(value)):
            self.fail(f"{self.your_answer} must be a number, like 12")
            return
        if q.integer:
            if isinstance(value, float) and not value.is_integer():
                self.fail(f"{self.your_answer} must be a whole number, like 12")
                return
            self.answer = int(value)
        if q.min is not None and value < q.min or q.max is not None and value > q.max:
            if q.min is not None and q.max is not None:
                self.fail(f"{self.your_answer} must be between {q.min:g} and {q.max:g}")
            elif q.min is not None:
                self.fail(f"{self.your_answer} must be {q.min:g} or more")
            else:
                self.fail(f"{self.your_answer} must be {q.max:g} or less")


class DateField(AnswerField):
    required_verb = "Enter a date for"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.typed: dict[str, str] = parts_of(None)
        self.parse_error: tuple[str, tuple[str, ...]] | None = None

    @property
    def anchor(self) -> str:
        return f"{self.name}-day"

    @property
    def date_named(self) -> str:
        """`The date for ‘When was the workshop?’`, what every message about the date names."""
        return f"The date for {self.named}"

    def read(self, formdata: Any) -> None:
        self.typed = read_parts(formdata, self.name)
        self.answer, error, wrong = parse_date(self.typed, self.date_named)
        self.parse_error = (error, wrong) if error else None

    def load(self, answer: Any) -> None:
        self.answer = date.fromisoformat(answer) if isinstance(answer, str) else answer
        self.typed = parts_of(self.answer)

    def state(self) -> tuple[Any, ...]:
        return (tuple(self.typed.items()), self.bad_parts(), tuple(self.error_parts.items()))

    def bad_parts(self) -> tuple[str, ...]:
        if not self.error_parts:
            return ()
        return self.parse_error[1] if self.parse_error else PARTS

    def check(self) -> None:
        if self.parse_error:
            message, wrong = self.parse_error
            self.fail(message, f"{self.name}-{wrong[0]}")
            return
        q = self.question
        if self.answer is None:
            return
        if q.not_before and self.answer < q.not_before:
            self.fail(f"{self.date_named} must be on or after {long_date(q.not_before)}")
        elif q.not_after and self.answer > q.not_after:
            self.fail(f"{self.date_named} must be on or before {long_date(q.not_after)}")


class EvidenceField(AnswerField):
    """A repeatable list of evidence: title, type, date and an optional link per row.

    Rows are added and removed by buttons that post the page (so they work without JavaScript);
    the page comes back with what was typed and `focus` says where the keyboard should be.
    """

    required_verb = "Add at least one piece of evidence for"
    ROW_PARTS = ("title", "type", "link")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.rows: list[dict[str, Any]] = []
        self.indexes: list[int] = []  # the index each row was posted under (blank rows leave gaps)
        self.extra_rows = 0
        self.focus: str | None = None  # the id to put the keyboard focus on when the page comes back

    def row_name(self, index: int, part: str) -> str:
        return f"{self.name}{SEP}{index}{SEP}{part}"

    @property
    def anchor(self) -> str:
        return self.row_name(0, "title")

    @property
    def fieldset_id(self) -> str:
        """The id of the list's fieldset, where the focus goes when a row is removed."""
        return self.name

    def read(self, formdata: Any) -> None:
        posted, indexes = self._posted(formdata)
        self.rows, self.indexes, self.focus = [], [], None
        for index in range(self.question.max_items + 1):
            if str(index) not in indexes:
                continue  # none of this row's inputs was posted: it reads as blank, and is left out
            row: dict[str, Any] = {p: typed_text(posted, self.row_name(index, p)) for p in self.ROW_PARTS}
            row["date"] = read_parts(posted, self.row_name(index, "date"))
            if any(row[p] for p in self.ROW_PARTS) or any(row["date"].values()):
                self.rows.append(row)
                self.indexes.append(index)
        self.answer = self._items() or None

    def add_row(self) -> None:
        """Show an empty row after the others, with the keyboard in its first box."""
        self.extra_rows = 1
        self.focus = self.row_name(self.row_count() - 1, "title")

    def remove_row(self, index: int) -> None:
        """Take out the row posted under `index` (a blank one was never kept, so it just goes);
        the list closes up, and a list left empty shows one empty row, as a new page does."""
        if index in self.indexes:
            at = self.indexes.index(index)
            del self.rows[at], self.indexes[at]
        self.extra_rows = 0
        self.answer = self._items() or None
        self.focus = self.fieldset_id

    def _posted(self, formdata: Any) -> tuple[dict[str, Any], set[str]]:
        """This field's posted inputs (name -> what `formdata.get` gives) and the row indexes they name,
        as written (`3` for row_name(3, ...), but also `03` or `x`, which no row reads).

        A row has six inputs and a list up to `max_items + 1` rows, nearly all of them not posted:
        looking each name up in the posted form raises and catches an exception per missing name
        (werkzeug's `get`), so the posted names are found once, in one pass over the form's names.
        """
        prefix = self.name + SEP
        posted: dict[str, Any] = {}
        indexes: set[str] = set()
        for key in self._names_under(formdata, prefix):
            posted[key] = formdata.get(key)
            indexes.add(key[len(prefix) :].partition(SEP)[0])
        return posted, indexes

    def _names_under(self, formdata: Any, prefix: str) -> list[str]:
        """The posted names that start with `prefix` (this field's name and SEP), in posted order.

        A page has several evidence lists: the form's names are grouped by what comes before
        their first SEP once for the form (kept on it with the formdata they came from), and each
        list takes its group; a field outside a form, or whose name holds or ends in part of SEP,
        looks itself."""
        form = self._form
        if form is None or SEP in self.name or self.name.endswith("_"):  # then a head is not the name
            return [key for key in formdata if isinstance(key, str) and key.startswith(prefix)]
        kept = form.__dict__.get("_names_by_head")
        if kept is None or kept[0] is not formdata:
            groups: dict[str, list[str]] = {}
            for key in formdata:
                if isinstance(key, str):
                    head, sep, _ = key.partition(SEP)
                    if sep:
                        groups.setdefault(head, []).append(key)
            kept = form.__dict__["_names_by_head"] = (formdata, groups)
        return kept[1].get(self.name, [])

    def _items(self) -> list[dict[str, Any]]:
        items = []
        for row in self.rows:
            when = typed_date(row["date"])
            items.append({"title": row["title"], "type": row["type"], "date": when, "link": row["link"] or None})
        return items

    def load(self, answer: Any) -> None:
        self.rows, self.focus = [], None
        for item in answer or []:
            when = item.get("date")
            when = date.fromisoformat(when) if isinstance(when, str) else when
            self.rows.append(
                {
                    "title": item.get("title") or "",
                    "type": item.get("type") or "",
                    "link": item.get("link") or "",
                    "date": parts_of(when),
                }
            )
        self.indexes = list(range(len(self.rows)))
        self.answer = self._items() or None

    @property
    def list_named(self) -> str:
        """The list, quoted for a message: by the item it follows, whose evidence it is, or else
        by its own question (an S11 standard asks "What evidence shows this?" of every item)."""
        return quoted((self.item or self.question).text)

    def row_named(self, index: int) -> str:
        """One row, for a message: `evidence 2 for ‘Is a named person at board level…’`."""
        return f"evidence {index + 1} for {self.list_named}"

    def check(self) -> None:
        q = self.question
        types = {t.value for t in q.evidence_types}
        if len(self.rows) > q.max_items:
            self.fail(f"You can add up to {q.max_items} pieces of evidence for {self.list_named}")
            return
        for index, row in enumerate(self.rows):
            named = self.row_named(index)
            title, date_day = self.row_name(index, "title"), f"{self.row_name(index, 'date')}-day"
            if not row["title"]:
                self.fail(f"Enter the title of {named}", title)
            elif len(row["title"]) > 200:
                self.fail(f"The title of {named} must be 200 characters or fewer", title)
            if row["type"] not in types:
                self.fail(f"Select the type of {named}", self.row_name(index, "type"))
            when, error, wrong = parse_date(row["date"], f"The date of {named}")
            if error:
                self.fail(error, f"{self.row_name(index, 'date')}-{wrong[0]}")
            elif when is None:
                self.fail(f"Enter the date of {named}, like 27 3 2024", date_day)
            elif when > date.today():
                self.fail(f"The date of {named} must be today or in the past", date_day)
            if row["link"] and (len(row["link"]) > 500 or not URL.match(row["link"])):
                self.fail(f"Enter the link to {named} as a web address starting https://", self.row_name(index, "link"))

    def state(self) -> tuple[Any, ...]:
        rows = tuple((r["title"], r["type"], r["link"], tuple(r["date"].items())) for r in self.rows)
        return (rows, self.extra_rows, self.focus, tuple(self.error_parts.items()))

    def row_count(self) -> int:
        """Rows to show: those typed, plus an empty one to add to, plus any asked for."""
        return min(self.question.max_items, max(1, len(self.rows) + (0 if self.rows else 1)) + self.extra_rows)


class ActionField(AnswerField):
    """An action for a shortfall: what will be done, who owns it, and by when (R5)."""

    required_verb = "Add an action for"
    TEXT_PARTS = ("what", "owner")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.typed: dict[str, Any] = {"what": "", "owner": "", "due": parts_of(None)}
        self.stored_answer: Callable[[str], Any] = _nothing_stored

    def part_name(self, part: str) -> str:
        return f"{self.name}{SEP}{part}"

    @property
    def anchor(self) -> str:
        return self.part_name("what")

    def read(self, formdata: Any) -> None:
        # only the names posted (an action is mostly not): see typed_text
        names = [self.part_name(p) for p in self.TEXT_PARTS] + list(date_part_names(self.part_name("due")).values())
        posted = {name: formdata.get(name) for name in names if name in formdata}
        self.typed = {p: typed_text(posted, self.part_name(p)) for p in self.TEXT_PARTS}
        self.typed["due"] = read_parts(posted, self.part_name("due"))
        self._set_answer()

    def state(self) -> tuple[Any, ...]:
        typed = (self.typed["what"], self.typed["owner"], tuple(self.typed["due"].items()))
        return (typed, tuple(self.error_parts.items()))

    def _set_answer(self) -> None:
        due = typed_date(self.typed["due"])
        blank = not (self.typed["what"] or self.typed["owner"] or any(self.typed["due"].values()))
        self.answer = None if blank else {"what": self.typed["what"], "owner": self.typed["owner"], "due": due}

    def load(self, answer: Any) -> None:
        answer = answer or {}
        due = answer.get("due")
        due = date.fromisoformat(due) if isinstance(due, str) else due
        self.typed = {"what": answer.get("what") or "", "owner": answer.get("owner") or "", "due": parts_of(due)}
        self._set_answer()

    def pre_validate(self, form: Any) -> None:
        # the answer saved before this post, asked for only when a due date has passed
        self.stored_answer = getattr(form, "stored_answer", _nothing_stored)
        super().pre_validate(form)

    @property
    def required_message(self) -> str:
        if self.item is None:
            return super().required_message
        return f"Add an action{self.for_item}"

    def check(self) -> None:
        if self.answer is None:
            return
        item = self.for_item
        if not self.typed["what"]:
            self.fail(f"Enter what will be done{item}", self.part_name("what"))
        elif len(self.typed["what"]) > 2000:
            self.fail(f"What will be done{item} must be 2,000 characters or fewer", self.part_name("what"))
        if not self.typed["owner"]:
            self.fail(f"Enter who owns the action{item}", self.part_name("owner"))
        elif len(self.typed["owner"]) > 200:
            self.fail(f"The owner of the action{item} must be 200 characters or fewer", self.part_name("owner"))
        due, error, wrong = parse_date(self.typed["due"], f"The due date of the action{item}")
        if error:
            self.fail(error, f"{self.part_name('due')}-{wrong[0]}")
        elif due is None:
            example = f"27 3 {date.today().year + 1}"  # a due date must not have passed: as the hint, next year
            self.fail(f"Enter the due date of the action{item}, like {example}", f"{self.part_name('due')}-day")
        elif due < date.today() and not self._due_as_stored(due):
            self.fail(
                f"The due date of the action{item} must be today or in the future", f"{self.part_name('due')}-day"
            )

    def _due_as_stored(self, due: date) -> bool:
        """Whether a past due date is the one already saved: an action that fell overdue stays
        as it was when its page is saved again (R7 reports it); only a new past date is refused."""
        stored = self.stored_answer(self.question.id)
        before = stored.get("due") if isinstance(stored, dict) else None
        return before == due or before == due.isoformat()


def _nothing_stored(question_id: str) -> None:
    """No answers stored before the post (a form built without them)."""
    return None


FieldFactory = Callable[[Question, Mapping[str, Any]], Field]


def _simple(cls: type[AnswerField]) -> FieldFactory:
    def make(question: Question, extra: Mapping[str, Any]) -> Any:
        return cls(label=question.text, question=question, **extra)

    return make


FIELD_TYPES: dict[str, FieldFactory] = {
    "single_choice": _simple(SingleChoiceField),
    "yes_no": _simple(SingleChoiceField),
    "rating": _simple(RatingField),
    "multiple_choice": _simple(MultipleChoiceField),
    "short_text": _simple(TextField),
    "long_text": _simple(TextField),
    "number": _simple(NumberField),
    "date": _simple(DateField),
    "evidence": _simple(EvidenceField),
    "action": _simple(ActionField),
}


def field_for(question: Question, extra: Mapping[str, Any] | None = None) -> Any:
    """An unbound WTForms field for a question; an unregistered type fails loudly."""
    try:
        factory = FIELD_TYPES[question.type]
    except KeyError:
        raise UnknownQuestionType(
            f"no form field is registered for question type {question.type!r} (question {question.id!r})"
        ) from None
    return factory(question, extra or {})

"""The baseline for bench/pages.py: the benchmarked pages as a bare Flask app would write them.

One route per benchmarked page, at the same path as the real preview page, rendering
bench/templates/baseline_page.html: a plain HTML page whose <form> writes the same inputs as
the real page (same names, options and number of inputs, labels and legends, and the same
hint texts) with plain <fieldset>/<legend>/<label>/<input>/<textarea> markup. No GOV.UK
macros, no WTForms, no database, no session, no security headers.

What each page writes is worked out once, at start-up, from the same definition objects the
real app reads (questionnaires.load_all()), into a flat list of items for one template loop.
The naming rules below copy forms/fields.py and forms/render.py; bench/pages.py checks that
both apps write the same input names before it measures anything.

Serve it with: gunicorn --chdir /work/main --no-control-socket 'bench.baseline_app:create_app()'
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from flask import Flask, render_template

from questionnaires import Question, Questionnaire, Section, load_all
from questionnaires.conditions import evaluate, referenced_questions

HERE = Path(__file__).resolve().parent

SEP = "__"  # as forms.fields.SEP
DATE_PARTS = (("day", "Day"), ("month", "Month"), ("year", "Year"))
# texts forms/render.py writes around the inputs of evidence and action questions
REASON_LABEL = "Why does this not apply to your agency?"
EVIDENCE_DATE_HINT = "The date it was written, last reviewed or last held. For example, 27 3 2024"
LINK_HINT = "Where a reviewer can read it, starting https://"
ADD_EVIDENCE = "Add another piece of evidence"

Item = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# Which pages


def asked_questions(section: Section, band: str | None) -> tuple[Question, ...]:
    """The questions the real page asks with no earlier answers (as forms.builder.build_form_class)."""
    page_ids = {q.id for q in section.questions}
    asked = []
    for question in section.questions_for(band):
        refs = referenced_questions(question.show_if)
        if refs and not any(r in page_ids for r in refs) and not evaluate(question.show_if, {}):
            continue
        asked.append(question)
    return tuple(asked)


def largest_section(questionnaire: Questionnaire, bands: tuple[str | None, ...]) -> tuple[Section, str | None]:
    """The section (and band) with the most questions asked on one page; the first one on a tie."""
    candidates = [
        (section, band)
        for band in bands
        for section in questionnaire.sections
        if section.for_band(band) and asked_questions(section, band)
    ]
    return max(candidates, key=lambda pair: len(asked_questions(*pair)))


def pick_pages(questionnaires: dict[str, Questionnaire] | None = None) -> list[dict[str, Any]]:
    """The benchmarked pages: the largest S11 standard, and the largest child survey page."""
    questionnaires = questionnaires if questionnaires is not None else load_all()
    pages = []
    for label, questionnaire_id, bands in (
        ("S11 standard", "s11-self-audit", (None,)),
        ("child survey", "child-experience", ("age-8-11", "age-12-17")),
    ):
        questionnaire = questionnaires[questionnaire_id]
        section, band = largest_section(questionnaire, bands)
        path = f"/preview/{questionnaire.id}/{section.id}" + (f"?band={band}" if band else "")
        pages.append(
            {
                "label": label,
                "questionnaire": questionnaire,
                "section": section,
                "band": band,
                "path": path,
                "questions": len(asked_questions(section, band)),
            }
        )
    return pages


# ---------------------------------------------------------------------------------------------
# What each page writes: a flat list of items, one template loop


def _choice(kind: str, name: str, legend: str, hint: str | None, options: list[Item]) -> list[Item]:
    return [{"kind": "choice", "type": kind, "name": name, "legend": legend, "hint": hint, "options": options}]


def _options(name: str, pairs: list[tuple[str, str, str | None]]) -> list[Item]:
    """Radio or checkbox options with the ids the GOV.UK macros give them (name, name-2, ...)."""
    return [
        {"id": name if index == 1 else f"{name}-{index}", "value": value, "label": label, "hint": hint}
        for index, (value, label, hint) in enumerate(pairs, start=1)
    ]


def _text(control: str, name: str, label: str, hint: str | None = None, rows: int = 0, type_: str = "text") -> Item:
    return {"kind": "text", "control": control, "name": name, "label": label, "hint": hint, "rows": rows, "type": type_}


def _date(prefix: str, legend: str, hint: str | None) -> Item:
    parts = [{"name": f"{prefix}-{part}", "label": label} for part, label in DATE_PARTS]
    return {"kind": "date", "legend": legend, "hint": hint, "parts": parts}


def _open(legend: str, hint: str | None = None, prompts: tuple[str, ...] = ()) -> Item:
    return {"kind": "open", "legend": legend, "hint": hint, "prompts": prompts}


CLOSE: Item = {"kind": "close"}


def question_items(question: Question) -> list[Item]:
    """The items one question writes, with the names forms/fields.py gives its inputs."""
    q = question
    pairs = [(o.value, o.label, o.hint) for o in q.offered_options]
    if q.type in ("single_choice", "yes_no", "rating"):
        items = _choice("radio", q.id, q.text, q.hint, _options(q.id, pairs))
        if q.type == "rating" and q.not_applicable_option is not None and not q.mandatory:
            items[0]["reason"] = {"name": f"{q.id}{SEP}reason", "label": REASON_LABEL}
        return items
    if q.type == "multiple_choice":
        return _choice("checkbox", q.id, q.text, q.hint or "Select all that apply.", _options(q.id, pairs))
    if q.type in ("short_text", "number"):
        return [_text("input", q.id, q.text, q.hint)]
    if q.type == "long_text":
        return [_text("textarea", q.id, q.text, q.hint, rows=5)]
    if q.type == "date":
        return [_date(q.id, q.text, q.hint or f"For example, 27 3 {date.today().year}")]
    if q.type == "evidence":
        row = f"{q.id}{SEP}0{SEP}"  # a blank page shows one row
        types = _options(f"{row}type", [(t.value, t.label, None) for t in q.evidence_types])
        items = [
            _open(q.text, q.hint, q.prompts),
            {"kind": "heading", "text": "Evidence 1"},
            _text("input", f"{row}title", "Title"),
            *_choice("radio", f"{row}type", "Type", None, types),
            _date(f"{row}date", "Date of the document", EVIDENCE_DATE_HINT),
            _text("input", f"{row}link", "Link (optional)", LINK_HINT, type_="url"),
        ]
        if q.max_items > 1:  # room for another row: the "add another" button
            items.append({"kind": "button", "name": "add-evidence", "value": q.id, "text": ADD_EVIDENCE})
        return [*items, CLOSE]
    if q.type == "action":
        return [
            _open(q.text, q.hint),
            _text("textarea", f"{q.id}{SEP}what", "What will be done", rows=3),
            _text("input", f"{q.id}{SEP}owner", "Who owns it", "A role or a name"),
            _date(f"{q.id}{SEP}due", "Due date", "For example, 27 3 2027"),
            CLOSE,
        ]
    raise TypeError(f"no baseline markup for question type {q.type!r}")


def page_items(section: Section, band: str | None) -> list[Item]:
    return [item for question in asked_questions(section, band) for item in question_items(question)]


# ---------------------------------------------------------------------------------------------
# The app


def create_app() -> Flask:
    app = Flask(__name__, template_folder=str(HERE / "templates"))
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    for number, page in enumerate(pick_pages()):
        context = {
            "title": page["section"].title,
            "caption": page["questionnaire"].title,
            "description": page["section"].description,
            "action": page["path"],
            "items": page_items(page["section"], page["band"]),
        }

        def view(context: dict[str, Any] = context) -> str:
            return render_template("baseline_page.html", **context)

        app.add_url_rule(page["path"].partition("?")[0], endpoint=f"page{number}", view_func=view)
    return app

"""Preview any section of any shipped questionnaire, and check answers without storing them.

Open in demo mode (administrators get it with accounts); lets every form be tried in a browser.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request

from catalogue import all_questionnaires, get_or_404, section_or_404
from forms import build_form_class
from forms.render import error_summary
from forms.summary import summary_rows
from questionnaires import Questionnaire
from views.question_html import blank_page, question_html

bp = Blueprint("preview", __name__, url_prefix="/preview")


@bp.before_request
def only_in_demo_mode() -> None:
    if not current_app.config["DEMO_MODE"]:
        abort(404)


def _band(questionnaire: Questionnaire) -> str | None:
    band = request.args.get("band") or None
    if band is not None and questionnaire.age_band(band) is None:
        abort(404)
    return band


@bp.get("/")
def index() -> str:
    return render_template("questionnaire/preview_index.html", questionnaires=all_questionnaires())


@bp.get("/<questionnaire_id>/")
def questionnaire(questionnaire_id: str) -> str:
    questionnaire = get_or_404(questionnaire_id)
    band = _band(questionnaire)
    return render_template("questionnaire/preview_questionnaire.html", questionnaire=questionnaire, band=band)


@bp.route("/<questionnaire_id>/<section_id>", methods=["GET", "POST"])
def section(questionnaire_id: str, section_id: str) -> str:
    questionnaire = get_or_404(questionnaire_id)
    band = _band(questionnaire)
    section = section_or_404(questionnaire, section_id, band)
    checked = None
    if request.method == "GET":  # nothing answered: the same page for everyone but its token
        form, questions = blank_page(questionnaire, section, band)
        errors = None
    else:
        form = build_form_class(questionnaire, section, band)()
        # a POST; an evidence row added or removed, an answer cleared: the page again, as typed, nothing checked
        if not form.change_page(request.form) and form.validate():
            answers = form.answers()
            checked = summary_rows(section, answers, {q.id for q in form.questions if form.visible(q)})
        questions, errors = question_html(form), error_summary(form)
    return render_template(
        "questionnaire/preview_section.html",
        questionnaire=questionnaire,
        section=section,
        band=band,
        form=form,
        questions=questions,
        errors=errors,
        checked=checked,
        has_errors=errors is not None,
    )

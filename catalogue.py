"""The questionnaire definitions the app serves, checked once when the app starts.

If any shipped definition has a problem the app still starts (so that `flask questionnaires
validate` can say what is wrong), but every page answers 503 and the log lists the problems:
a broken file never reaches a respondent.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, abort, current_app, request

from questionnaires import DefinitionError, Questionnaire, Section, load_all

_checked: dict[tuple[str, tuple[tuple[str, int, int], ...]], dict[str, Questionnaire]] = {}


def _load(directory: str) -> dict[str, Questionnaire]:
    """load_all, remembered while no file in the folder changes (several apps in one process)."""
    files = tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in Path(directory).glob("*.json")))
    key = (str(Path(directory).resolve()), files)
    if key not in _checked:
        _checked.clear()
        _checked[key] = load_all(directory)
    return _checked[key]


def init_app(app: Flask) -> None:
    try:
        app.extensions["questionnaires"] = _load(app.config["DEFINITIONS_DIR"])
        app.extensions["questionnaire_problems"] = None
    except DefinitionError as error:
        app.logger.error("questionnaire definitions refused:\n%s", error)
        app.extensions["questionnaires"] = {}
        app.extensions["questionnaire_problems"] = error

    @app.before_request
    def refuse_when_broken() -> None:
        if app.extensions["questionnaire_problems"] is not None and request.endpoint not in ("static", "pages.assets"):
            abort(503)


def loaded() -> list[Questionnaire]:
    """Every loaded version of every questionnaire."""
    return [q for key, q in current_app.extensions["questionnaires"].items() if "@" in key]


def all_questionnaires() -> list[Questionnaire]:
    """The newest version of each questionnaire, in title order."""
    found = current_app.extensions["questionnaires"]
    return sorted((q for key, q in found.items() if "@" not in key), key=lambda q: q.title)


def get_or_404(questionnaire_id: str) -> Questionnaire:
    questionnaire = current_app.extensions["questionnaires"].get(questionnaire_id)
    if questionnaire is None or "@" in questionnaire_id:
        abort(404)
    return questionnaire


def section_or_404(questionnaire: Questionnaire, section_id: str, band: str | None) -> Section:
    section = questionnaire.section(section_id)
    if section is None or not section.for_band(band) or not section.questions_for(band):
        abort(404)
    return section

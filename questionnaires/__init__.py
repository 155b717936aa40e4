"""Questionnaire definitions: the JSON format, its checker and the frozen objects it yields.

Pure Python: nothing here imports Flask, WTForms or peewee, so the definitions can be checked
and used by the web forms, the scoring and the command line alike.
"""

from questionnaires.errors import DefinitionError, Problem
from questionnaires.loader import (
    DEFINITIONS_DIR,
    THEMES_FILE,
    load_all,
    load_definition,
    load_file,
    load_files,
    load_themes,
)
from questionnaires.model import Option, Question, Questionnaire, Scale, Section, Theme

__all__ = [
    "DEFINITIONS_DIR",
    "THEMES_FILE",
    "DefinitionError",
    "Option",
    "Problem",
    "Question",
    "Questionnaire",
    "Scale",
    "Section",
    "Theme",
    "load_all",
    "load_definition",
    "load_file",
    "load_files",
    "load_themes",
]

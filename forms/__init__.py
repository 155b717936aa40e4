"""Web forms built from questionnaire definitions: WTForms classes and their GOV.UK rendering.

Depends on `questionnaires` only; never on `scoring` or the database.
"""

from forms.builder import SectionForm, build_form_class, field_key
from forms.fields import FIELD_TYPES, UnknownQuestionType

__all__ = ["FIELD_TYPES", "SectionForm", "UnknownQuestionType", "build_form_class", "field_key"]

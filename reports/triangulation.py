"""R8 for an audit cycle: the agencies' Met ratings beside their own practitioners' answers.

Practitioner survey rounds that open in the same financial year as the cycle are the ones
compared; their questions name the standard they match (`matches` in the definition).
"""

from __future__ import annotations

import pandas as pd

from questionnaires.model import Questionnaire
from scoring import question_frame, triangulate
from store import results
from store.models import AuditCycle, QuestionnaireVersion
from store.questionnaires import definition


def with_triangulation(
    questionnaire: Questionnaire, cycle: AuditCycle, standards: pd.DataFrame, audits: pd.DataFrame
) -> pd.DataFrame:
    """The cycle's stored standards with R8's columns (triangulation, practitioner counts, share)."""
    period = results.period_of(cycle.opens_on)
    surveys = results.survey_responses()
    practitioners = surveys.loc[surveys["source"].eq("practitioner") & surveys["cycle"].eq(period)]
    if standards.empty or practitioners.empty:
        return standards
    versions = pd.unique(practitioners["version_id"])
    questions = pd.concat(
        [question_frame(definition(QuestionnaireVersion.get_by_id(int(v)))) for v in versions], ignore_index=True
    ).drop_duplicates("question_id")
    scores = results.answer_scores(practitioners["response_id"].tolist())
    meta = pd.concat([audits, practitioners], ignore_index=True)
    checked = triangulate(questionnaire, standards, scores, questions, responses=meta, on=("agency_id",))
    added = [c for c in checked.columns if c not in standards.columns]
    # only standards whose section declares R8 come back: the others keep empty columns
    return standards.join(checked[added])

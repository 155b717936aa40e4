"""The analysts' files: what each one holds, which collection it is for, and how it is built.

A file is a kind (standards, themes, answers-long, answers-wide) of a collection (an audit
cycle or a survey round; themes span every period). `build` returns a `scoring.Export`, which
`scoring.stream` writes as CSV, XLSX or JSON in bounded memory; raw answers are read from the
database a chunk at a time while the file is written.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from reports.triangulation import with_triangulation
from scoring import (
    Export,
    RawCounts,
    SuppressionPolicy,
    answers_long,
    answers_wide,
    raw_counts,
    standards_export,
    theme_export,
    theme_table,
)
from store import results
from store.models import Agency, AuditCycle, QuestionnaireVersion, SurveyRound
from store.questionnaires import definition

FORMATS = ("csv", "xlsx", "json")


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    describes: str
    collections: tuple[str, ...]  # "cycle", "round", or "all" (every period)


KINDS = {
    k.name: k
    for k in (
        Kind(
            "standards",
            "Scored results per agency and standard",
            "One row per agency and standard: self, moderated and reported rating, weighted score, triangulation with practitioners, and how the rating was decided.",
            ("cycle",),
        ),
        Kind(
            "themes",
            "Theme tables",
            "One row per theme, Essex measure, source, period and group: respondents, positive or compliant share, mean score and change since the last period. Small groups are suppressed.",
            ("all",),
        ),
        Kind(
            "answers-long",
            "Raw answers, long",
            "One row per answer, typed, with the response's period, agency, sector and age band; a small group's agency and sector read c.",
            ("cycle", "round"),
        ),
        Kind(
            "answers-wide",
            "Raw answers, wide",
            "One row per response and one column per question, in the order asked.",
            ("cycle", "round"),
        ),
    )
}
GROUPINGS = {"all": None, "sector": "sector", "agency": "agency"}


class NotFound(LookupError):
    """The file asked for does not exist (unknown kind, format, collection or grouping)."""


def build(
    kind: str,
    policy: SuppressionPolicy,
    cycle: AuditCycle | None = None,
    survey_round: SurveyRound | None = None,
    by: str = "all",
) -> Export:
    """The export of `kind` for the collection given; raises NotFound when they do not fit."""
    results.catch_up()
    if kind == "themes":
        if by not in GROUPINGS:
            raise NotFound(f"themes are grouped by {', '.join(GROUPINGS)}, not '{by}'")
        return _themes(policy, by)
    if kind not in KINDS:
        raise NotFound(f"there is no download called '{kind}'")
    if kind == "standards":
        if cycle is None:
            raise NotFound("scored results are for an audit cycle")
        return _standards(cycle, policy)
    if (cycle is None) == (survey_round is None):
        raise NotFound("raw answers are for one audit cycle or one survey round")
    if cycle is not None:
        questionnaire = definition(cycle.questionnaire)
        responses = results.audit_responses([cycle])
    else:
        questionnaire = definition(survey_round.questionnaire)
        responses = results.survey_responses([survey_round])
    chunks = results.answer_chunks(responses["response_id"].tolist())
    builder = answers_long if kind == "answers-long" else answers_wide
    export = builder(questionnaire, chunks, responses, policy)
    return _renamed(export, _collection_name(cycle, survey_round) + "-" + kind)


def raw_file_counts(
    policy: SuppressionPolicy, cycles: list[AuditCycle], rounds: list[SurveyRound]
) -> dict[str, RawCounts]:
    """For the downloads page: each collection's raw answer files, how many responses they hold
    and leave out, keyed as the files' query ("cycle=ID", "round=ID").

    Every cycle's responses are read in one query, every round's in another and their
    questionnaires in a third, then counted a collection at a time: the page's reads do not
    grow with the collections listed."""
    results.catch_up()
    version_ids = sorted({c.questionnaire_id for c in [*cycles, *rounds]})
    versions = {v.id: v for v in QuestionnaireVersion.select().where(QuestionnaireVersion.id.in_(version_ids))}
    counts = {}
    readers = (("cycle", cycles, results.audit_responses), ("round", rounds, results.survey_responses))
    for name, collections, read in readers:
        if not collections:  # an empty list would read every collection's responses
            continue
        responses = read(collections)
        parts = dict(tuple(responses.groupby("collection_id", sort=False)))
        for collection in collections:
            mine = parts.get(collection.id, responses.iloc[:0])
            counts[f"{name}={collection.id}"] = raw_counts(
                definition(versions[collection.questionnaire_id]), mine, policy
            )
    return counts


def _standards(cycle: AuditCycle, policy: SuppressionPolicy) -> Export:
    questionnaire = definition(cycle.questionnaire)
    responses = results.audit_responses([cycle])
    standards = with_triangulation(questionnaire, cycle, results.standards_frame(cycle), responses)
    return _renamed(
        standards_export(questionnaire, standards, responses, policy), _collection_name(cycle, None) + "-standards"
    )


def theme_rows(
    policy: SuppressionPolicy, by: str = "all", by_measure: bool = True, by_age_band: bool = True
) -> pd.DataFrame:
    """The theme table over every stored score, suppressed, with agencies named (the pages' table too)."""
    responses = pd.concat([results.audit_responses(), results.survey_responses()], ignore_index=True)
    units = results.theme_units()
    table = theme_table(
        units, responses, by=GROUPINGS[by], by_measure=by_measure, by_age_band=by_age_band, policy=policy
    )
    if by == "agency":
        names = {a.id: a.name for a in Agency.select(Agency.id, Agency.name)}
        table["group"] = table["group"].map(lambda g: names.get(g, g) if pd.notna(g) else "No agency")
    elif by == "sector":  # children's, families' and workshop answers belong to no agency's sector
        table["group"] = table["group"].astype(object).where(table["group"].notna(), "No sector")
    return table


def _themes(policy: SuppressionPolicy, by: str) -> Export:
    name = "themes" if by == "all" else f"themes-by-{by}"
    sheet = "Themes" if by == "all" else f"Themes by {by}"
    return theme_export(theme_rows(policy, by), policy, name=name, sheet=sheet)


def _collection_name(cycle: AuditCycle | None, survey_round: SurveyRound | None) -> str:
    """A file name part from the collection's name: letters, digits and hyphens only."""
    raw = cycle.name if cycle is not None else survey_round.name if survey_round is not None else "all"
    slug = "".join(c.lower() if c.isalnum() else "-" for c in raw)
    return "-".join(part for part in slug.split("-") if part) or "collection"


def _renamed(export: Export, name: str) -> Export:
    """The export under the file name the collection gives it; its sheet keeps its short name."""
    return replace(export, name=name)

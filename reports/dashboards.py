"""The dashboards' tables: heat map, themes across sources, trends, action progress and returns.

Each function reads stored scores (`store.results`), runs the pure tables of `scoring`, and
returns plain rows for a template, every figure already through suppression. Words go with
every colour (a rating's label, "c" with its meaning), so nothing depends on seeing colour.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from questionnaires.model import Questionnaire
from reports.downloads import theme_rows
from reports.triangulation import with_triangulation
from scoring import SUPPRESSED, SuppressionPolicy, action_status, source_of
from scoring.cells import natural_key
from scoring.figures import percent_text, percentage, shown_share
from scoring.rules import rule_name
from scoring.suppression import cells_to_hide
from store import results
from store.models import Agency, Audit, AuditCycle, Response, SurveyLink, SurveyRound
from store.questionnaires import definition
from store.scores import SCORED_STATUSES

SOURCES = ("self-rating", "moderated", "practitioner", "child", "family")
SOURCE_NAMES = {
    "self-rating": "Agencies’ own ratings",
    "moderated": "Moderated ratings",
    "practitioner": "Practitioners",
    "child": "Children and young people",
    "family": "Parents and carers",
}
MEASURES = ("quantity", "quality", "outcome")
MEASURE_NAMES = {"quantity": "How much we did", "quality": "How well we did it", "outcome": "Is anyone better off"}
BAND_NAMES = {"age-4-7": "aged 4 to 7", "age-8-11": "aged 8 to 11", "age-12-17": "aged 12 to 17"}
STATUS_NAMES = {
    "not-started": "Not started",
    "in-progress": "In progress",
    "submitted": "Submitted",
    "reopened": "Reopened",
    None: "No audit yet",
}
RATING_TAGS = {"green": "govuk-tag--green", "amber": "govuk-tag--yellow", "red": "govuk-tag--red"}
RAG_WORDS = {"red": "Red", "amber": "Amber", "green": "Green"}


def latest_cycle() -> AuditCycle | None:
    """The newest cycle with a submitted audit, or else the newest cycle."""
    with_results = (
        AuditCycle.select()
        .join(Audit)
        .where(Audit.status.in_(SCORED_STATUSES))
        .order_by(AuditCycle.opens_on.desc(), AuditCycle.id.desc())
        .first()
    )
    return with_results or AuditCycle.select().order_by(AuditCycle.opens_on.desc(), AuditCycle.id.desc()).first()


def cell_text(row: Any) -> dict[str, Any]:
    """One suppressed-or-shown figure for a page: share and respondents, or `c` and why."""
    if bool(getattr(row, "suppressed", False)):
        return {"text": SUPPRESSED, "title": "Hidden: too few respondents", "share": None, "n": None}
    n = int(row.respondents)
    return {"text": f"{percent_text(row.share)} ({n})" if n else "No answers", "share": row.share, "n": n}


# ---------------------------------------------------------------------------------------------
# Heat map
# ---------------------------------------------------------------------------------------------


@dataclass
class HeatMap:
    cycle: AuditCycle
    sections: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    totals: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)


def _rating_tag(options: dict[str, Any], value: Any) -> dict[str, Any] | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    option = options.get(value)
    if option is None:
        return {"text": str(value), "classes": "govuk-tag--grey"}
    return {"text": option.label, "classes": RATING_TAGS.get(option.colour or "", "govuk-tag--grey")}


def _scale(questionnaire: Questionnaire) -> dict[str, Any]:
    for question in questionnaire.questions:
        if question.type == "rating":
            return {o.value: o for o in question.options}
    return {}


def heat_map(cycle: AuditCycle, policy: SuppressionPolicy) -> HeatMap:
    """Agency by standard: the reported rating (moderated where there is one), the self-rating
    beside it when they differ, and R8's flag where practitioners do not bear out a Met."""
    results.catch_up()
    questionnaire = definition(cycle.questionnaire)
    options = _scale(questionnaire)
    responses = results.audit_responses([cycle])
    standards = with_triangulation(questionnaire, cycle, results.standards_frame(cycle), responses)
    sections = [{"number": n, "id": s.id, "title": s.title} for n, s in enumerate(questionnaire.sections, start=1)]
    by_audit: dict[int, dict[str, Any]] = {}
    for row in standards.itertuples(index=False):
        by_audit.setdefault(row.audit_id, {})[row.section_id] = row
    audits = {a.agency_id: a for a in Audit.select().where(Audit.cycle == cycle)}
    rows, flags = [], []
    for agency in Agency.select().order_by(Agency.name):
        audit = audits.get(agency.id)
        scored = by_audit.get(audit.id, {}) if audit else {}
        cells = []
        for section in sections:
            found = scored.get(section["id"])
            if found is None:
                cells.append({"reported": None, "self": None, "flag": False})
                continue
            flagged = getattr(found, "triangulation", None) == "flag"
            cells.append(
                {
                    "reported": _rating_tag(options, found.reported_rating),
                    "self": _rating_tag(options, found.self_rating)
                    if found.rating_source == "moderated" and found.moderated_rating != found.self_rating
                    else None,
                    "flag": flagged,
                }
            )
            if flagged:
                k = policy.k_for("practitioner")
                few = found.practitioner_answers < k
                flags.append(
                    {
                        "agency": agency.name,
                        "section": section,
                        "explanation": "Flagged: rated Met, but too few of its practitioners answered positively;"
                        f" fewer than {k} answered, so the figures are hidden {rule_name('triangulation')}."
                        if few
                        else found.triangulation_explanation,
                    }
                )
        rows.append(
            {
                "agency": agency,
                "status": STATUS_NAMES[audit.status if audit else None],
                "cells": cells,
                "scored": bool(scored),
            }
        )
    totals = []
    for section in sections:
        mine = standards.loc[standards["section_id"].eq(section["id"])]
        counts = mine["reported_rating"].value_counts()
        totals.append({o.label: int(counts.get(v, 0)) for v, o in options.items()})
    return HeatMap(cycle, sections, rows, totals, flags)


# ---------------------------------------------------------------------------------------------
# Themes across sources, and their trends
# ---------------------------------------------------------------------------------------------


def periods(table: pd.DataFrame) -> list[str]:
    return sorted(pd.unique(table["cycle"].dropna()).tolist())


def theme_matrix(policy: SuppressionPolicy, period: str | None) -> dict[str, Any]:
    """Per theme: one row per source (children by age band), one cell per Essex measure, for a period."""
    results.catch_up()
    table = theme_rows(policy)
    all_periods = periods(table)
    period = period if period in all_periods else (all_periods[-1] if all_periods else None)
    mine = table.loc[table["cycle"].eq(period)]
    themes = []
    for theme, rows in mine.groupby("theme", sort=True):
        lines = []
        for source in SOURCES:
            of_source = rows.loc[rows["source"].eq(source)]
            bands = (
                [None]
                if source != "child"
                else sorted(pd.unique(of_source["age_band"].dropna()).tolist(), key=natural_key)
            )
            for band in bands:
                cells = of_source if band is None else of_source.loc[of_source["age_band"].eq(band)]
                if cells.empty:
                    continue
                by_measure = {r.measure: cell_text(r) for r in cells.itertuples(index=False)}
                name = SOURCE_NAMES[source] + (f" {BAND_NAMES.get(band, band)}" if band else "")
                lines.append({"source": name, "cells": [by_measure.get(m) for m in MEASURES]})
        themes.append({"theme": theme, "lines": lines})
    return {"period": period, "periods": all_periods, "themes": themes}


def theme_bars(policy: SuppressionPolicy, period: str | None) -> list[dict[str, Any]]:
    """Overall share per theme and source in a period (all measures together): the chart's figures."""
    table = theme_rows(policy, by_measure=False, by_age_band=False)
    mine = table.loc[table["cycle"].eq(period)]
    bars = []
    order = {source: n for n, source in enumerate(SOURCES)}
    mine = mine.assign(_order=mine["source"].map(order)).sort_values(["theme", "_order"], kind="stable")
    for row in mine.itertuples(index=False):
        shown = cell_text(row)
        bars.append({"group": row.theme, "label": SOURCE_NAMES.get(row.source, row.source), **shown})
    return bars


def trends(policy: SuppressionPolicy) -> dict[str, Any]:
    """Per theme and source, the share in each period and the change since the one before."""
    results.catch_up()
    table = theme_rows(policy, by_measure=False, by_age_band=False)
    all_periods = periods(table)
    themes = []
    for theme, rows in table.groupby("theme", sort=True):
        lines = []
        for source in SOURCES:
            of_source = rows.loc[rows["source"].eq(source)].set_index("cycle")
            if of_source.empty:
                continue
            cells = []
            for period in all_periods:
                if period not in of_source.index:
                    cells.append(None)
                    continue
                row = of_source.loc[period]
                shown = cell_text(row)
                change = row["change"]
                if shown["share"] is None or change is None or pd.isna(change):
                    shown["change"] = ""
                else:
                    change = shown_share(change)  # as the download holds it: "no change" when it rounds to 0
                    shown["change"] = f"{'up' if change > 0 else 'down' if change < 0 else 'no change'}" + (
                        f" {percentage(abs(change))} points" if change else ""
                    )
                cells.append(shown)
            lines.append({"source": SOURCE_NAMES[source], "cells": cells})
        themes.append({"theme": theme, "lines": lines})
    return {"periods": all_periods, "themes": themes}


# ---------------------------------------------------------------------------------------------
# Actions and returns
# ---------------------------------------------------------------------------------------------


def action_rows(cycle: AuditCycle, today: dt.date) -> list[dict[str, Any]]:
    """The cycle's actions with their R7 status: overdue first, then red, amber, green, by due date."""
    questionnaire = definition(cycle.questionnaire)
    actions = results.actions_frame(cycle)
    if actions.empty:
        return []
    status = action_status(questionnaire, actions, today)
    order = {"red": 0, "amber": 1, "green": 2}
    status = status.assign(
        _late=~status["overdue"].astype(bool),
        _rag=status["rag"].map(order).fillna(3),
        _due=pd.to_datetime(status["due"]),
    ).sort_values(["_late", "_rag", "_due", "agency"], kind="stable")
    subjects = {q.action: q for q in questionnaire.questions if q.action}
    rows = []
    for row in status.itertuples(index=False):
        item = subjects.get(row.question_id)
        rows.append(
            {
                "agency": row.agency,
                "item": f"{item.id}: {item.text}" if item else row.question_id,
                "what": row.what,
                "owner": row.owner,
                "due": row.due,
                "progress": int(row.progress or 0),
                "overdue": bool(row.overdue),
                "rag": row.rag,
                "rag_text": RAG_WORDS.get(row.rag, "Not rated"),
                "rag_class": RATING_TAGS.get("amber" if row.rag == "amber" else row.rag, "govuk-tag--grey"),
                "explanation": row.explanation,
            }
        )
    return rows


def returns(cycle: AuditCycle, policy: SuppressionPolicy | None = None) -> dict[str, Any]:
    """How many agencies have submitted the cycle's audit, and survey responses per round and agency.

    A reopened audit counts as returned, as on the heat map: it was submitted, its scores from
    that submission stay in every report until the agency submits again, and the sub-group
    asked for the change, so it is still that agency's return, being corrected. Its row says
    it is reopened, and the headline how many are.

    An anonymous survey's responses by agency are counts of respondents like any other: under
    k they read `c`, with another hidden so the round's total less the rest cannot give them.
    """
    policy = policy or SuppressionPolicy()
    audits = {a.agency_id: a for a in Audit.select().where(Audit.cycle == cycle)}
    agencies = list(Agency.select().order_by(Agency.name))
    rows = []
    for agency in agencies:
        status = audits[agency.id].status if agency.id in audits else None
        rows.append(
            {
                "agency": agency,
                "status": STATUS_NAMES[status],
                "reopened": status == "reopened",
                "submitted_at": audits[agency.id].submitted_at if agency.id in audits else None,
                "returned": status in SCORED_STATUSES,
            }
        )
    returned = sum(1 for r in rows if r["returned"])
    period = results.period_of(cycle.opens_on)
    rounds = []
    for survey_round in SurveyRound.select().order_by(SurveyRound.opens_on.desc()):
        if results.period_of(survey_round.opens_on) != period:
            continue
        counts = (
            Response.select(SurveyLink.agency, Response.id)
            .join(SurveyLink)
            .where((SurveyLink.round == survey_round) & (Response.status == "submitted"))
            .tuples()
        )
        per_agency: dict[int | None, int] = {}
        for agency_id, _ in counts:
            per_agency[agency_id] = per_agency.get(agency_id, 0) + 1
        names = {a.id: a.name for a in agencies}
        by_agency = sorted(
            ((names.get(a, "No agency (partnership-wide link)"), n) for a, n in per_agency.items()),
            key=lambda p: p[0],
        )
        total: int | str = sum(per_agency.values())
        questionnaire = definition(survey_round.questionnaire)
        if questionnaire.anonymous and by_agency:
            k = policy.k_for(source_of(questionnaire))
            _, hidden = cells_to_hide(pd.DataFrame({"n": [n for _, n in by_agency]}), "n", k, [[]])
            by_agency = [(name, SUPPRESSED if h else n) for (name, n), h in zip(by_agency, hidden, strict=True)]
            total = SUPPRESSED if int(total) < k else total
        rounds.append({"round": survey_round, "total": total, "agencies": by_agency})
    return {
        "rows": rows,
        "returned": returned,
        "reopened": sum(1 for r in rows if r["reopened"]),
        "total": len(agencies),
        "rate": percent_text(returned / len(agencies)) if agencies else "",
        "rounds": rounds,
    }

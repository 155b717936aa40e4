"""Results for the sub-group and analysts: dashboards and downloads, read from stored scores.

Every page is a table (charts come with the table behind them), every figure has passed the
suppression in `scoring.suppression`, and downloads stream the same figures. The tables are
built in `reports/`; these views read the query, pick the collection and render.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, stream_with_context
from werkzeug.wrappers import Response

from accounts.session import role
from reports import dashboards, downloads
from reports.policy import policy_from
from scoring import SUPPRESSED, stream
from scoring.export import dictionary_csv, media_type
from store.models import SECTOR_NAMES, AuditCycle, SurveyRound

bp = Blueprint("results", __name__, url_prefix="/results")
ROLES = ("reviewer", "analyst", "admin")
ID = re.compile(r"[0-9]{1,9}")  # PostgreSQL's integer ids stop at ten digits


def _policy() -> Any:
    return policy_from(current_app.config)


def _row_id(raw: str) -> int | None:
    """An id from the query string: ASCII digits only (`isdigit` also takes '²', which `int` refuses)."""
    return int(raw) if ID.fullmatch(raw) else None


def _cycle(required: bool = True) -> AuditCycle | None:
    """The audit cycle named by `?cycle=ID`, or the latest with results; a wrong id is a 404."""
    raw = request.args.get("cycle")
    if raw is None or raw == "":
        cycle = dashboards.latest_cycle()
    else:
        cycle = AuditCycle.get_or_none(AuditCycle.id == _row_id(raw))
        if cycle is None:
            abort(404)
    if cycle is None and required:
        return None
    return cycle


def _cycles() -> list[AuditCycle]:
    return list(AuditCycle.select().order_by(AuditCycle.opens_on.desc(), AuditCycle.id.desc()))


@bp.get("/")
@role(*ROLES)
def index() -> str:
    return render_template("results/index.html", cycle=_cycle(required=False))


@bp.get("/heat-map")
@role(*ROLES)
def heat_map() -> str:
    cycle = _cycle()
    data = dashboards.heat_map(cycle, _policy()) if cycle else None
    return render_template("results/heat_map.html", cycle=cycle, cycles=_cycles(), data=data)


@bp.get("/themes")
@role(*ROLES)
def themes() -> str:
    policy = _policy()
    matrix = dashboards.theme_matrix(policy, request.args.get("period"))
    if request.args.get("period") and request.args["period"] != matrix["period"]:
        abort(404)
    bars: dict[str, list[dict[str, Any]]] = {}
    for bar in dashboards.theme_bars(policy, matrix["period"]) if matrix["period"] else []:
        bars.setdefault(bar["group"], []).append(bar)
    return render_template(
        "results/themes.html",
        matrix=matrix,
        bars=bars,
        measures=dashboards.MEASURES,
        measure_names=dashboards.MEASURE_NAMES,
        k=policy.k,
        suppressed=SUPPRESSED,
    )


@bp.get("/trends")
@role(*ROLES)
def trends() -> str:
    policy = _policy()
    return render_template("results/trends.html", data=dashboards.trends(policy), k=policy.k, suppressed=SUPPRESSED)


@bp.get("/actions")
@role(*ROLES)
def actions() -> str:
    cycle = _cycle()
    today = dt.date.today()
    rows = dashboards.action_rows(cycle, today) if cycle else []
    return render_template("results/actions.html", cycle=cycle, cycles=_cycles(), rows=rows, today=today)


@bp.get("/returns")
@role(*ROLES)
def returns() -> str:
    cycle = _cycle()
    return render_template(
        "results/returns.html",
        cycle=cycle,
        cycles=_cycles(),
        data=dashboards.returns(cycle, _policy()) if cycle else None,
        k=_policy().k,
        suppressed=SUPPRESSED,
        sector_names=SECTOR_NAMES,
    )


@bp.get("/downloads")
@role(*ROLES)
def download_list() -> str:
    rounds = list(SurveyRound.select().order_by(SurveyRound.opens_on.desc(), SurveyRound.id.desc()))
    cycles = _cycles()
    return render_template(
        "results/downloads.html",
        cycles=cycles,
        rounds=rounds,
        counts=downloads.raw_file_counts(_policy(), cycles, rounds),
        kinds=downloads.KINDS,
        formats=downloads.FORMATS,
        groupings=downloads.GROUPINGS,
        k=_policy().k,
    )


def _export(kind: str) -> Any:
    """The export the query asks for, or 404 when it names nothing that exists."""
    cycle = survey_round = None
    if request.args.get("cycle"):
        cycle = AuditCycle.get_or_none(AuditCycle.id == _row_id(request.args["cycle"]))
        if cycle is None:
            abort(404)
    if request.args.get("round"):
        raw = request.args["round"]
        survey_round = SurveyRound.get_or_none(SurveyRound.id == _row_id(raw))
        if survey_round is None:
            abort(404)
    try:
        return downloads.build(kind, _policy(), cycle, survey_round, request.args.get("by", "all"))
    except downloads.NotFound:
        abort(404)


@bp.get("/downloads/<kind>.<fmt>")
@role(*ROLES)
def download(kind: str, fmt: str) -> Response:
    """The file, streamed: the database is read a chunk at a time as it is sent."""
    if fmt not in downloads.FORMATS:
        abort(404)
    export = _export(kind)
    body = stream(export, fmt)
    response = Response(stream_with_context(body), content_type=media_type(fmt))
    response.headers["Content-Disposition"] = f'attachment; filename="{export.name}.{fmt}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/downloads/<kind>.dictionary.csv")
@role(*ROLES)
def dictionary(kind: str) -> Response:
    """A CSV file's data dictionary (XLSX and JSON files carry theirs inside)."""
    export = _export(kind)
    response = Response(dictionary_csv(export.dictionary), content_type=media_type("csv"))
    response.headers["Content-Disposition"] = f'attachment; filename="{export.name}-dictionary.csv"'
    return response

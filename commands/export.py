"""`flask --app app export KIND`: the analysts' downloads, for scripts and scheduled jobs.

The same files as the Downloads page (`reports/downloads.py`), through the same suppression,
written to a file or standard output as they are built, so a million answers never sit in
memory.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

import click
from flask import current_app
from flask.cli import with_appcontext

from reports import downloads
from reports.policy import policy_from
from scoring import stream
from scoring.export import dictionary_csv
from store.models import AuditCycle, SurveyRound


def _named(model: type, name: str | None, what: str) -> object | None:
    if name is None:
        return None
    found = model.get_or_none(model.name == name)
    if found is None:
        names = ", ".join(f"'{m.name}'" for m in model.select().order_by(model.opens_on)) or "none yet"
        raise click.UsageError(f"There is no {what} called '{name}'. Choose one of: {names}.")
    return found


@click.command("export", help="Write an analyst's download: standards, themes, answers-long or answers-wide.")
@click.argument("kind", type=click.Choice(sorted(downloads.KINDS)))
@click.option("--cycle", "cycle_name", help="The audit cycle, by name (standards, answers).")
@click.option("--round", "round_name", help="The survey round, by name (answers).")
@click.option(
    "--by",
    type=click.Choice(sorted(downloads.GROUPINGS)),
    default="all",
    show_default=True,
    help="Themes: one table for the partnership, or by sector or agency.",
)
@click.option("--format", "fmt", type=click.Choice(downloads.FORMATS), default="csv", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The file to write (default: standard output).",
)
@click.option(
    "--dictionary",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the data dictionary as CSV here.",
)
@with_appcontext
def command(
    kind: str,
    cycle_name: str | None,
    round_name: str | None,
    by: str,
    fmt: str,
    output: Path | None,
    dictionary: Path | None,
) -> None:
    with current_app.extensions["database"].connection_context():
        cycle = _named(AuditCycle, cycle_name, "audit cycle")
        survey_round = _named(SurveyRound, round_name, "survey round")
        try:
            export = downloads.build(kind, policy_from(current_app.config), cycle, survey_round, by)
        except downloads.NotFound as error:
            raise click.UsageError(f"{error}: give --cycle or --round as the kind needs.") from error
        if fmt == "xlsx" and output is None:
            raise click.UsageError("An XLSX file cannot go to standard output: give --output FILE.xlsx.")
        if output is None:
            _write(stream(export, fmt), sys.stdout)
        else:
            with output.open(
                "wb" if fmt == "xlsx" else "w",
                encoding=None if fmt == "xlsx" else "utf-8",
                newline="" if fmt != "xlsx" else None,
            ) as out:
                _write(stream(export, fmt), out)
            click.echo(f"Wrote {output}", err=True)
        if dictionary is not None:
            dictionary.write_text(dictionary_csv(export.dictionary), encoding="utf-8", newline="")
            click.echo(f"Wrote {dictionary}", err=True)


def _write(pieces: object, out: IO) -> None:
    for piece in pieces:  # type: ignore[attr-defined]
        out.write(piece)

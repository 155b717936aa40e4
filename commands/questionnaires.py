"""`flask --app app questionnaires validate [FILE...]`: check definition files before loading them."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from catalogue import loaded as loaded_questionnaires
from questionnaires import DefinitionError, Questionnaire, load_files

group = AppGroup("questionnaires", help="Check questionnaire definitions.")


def summary(questionnaire: Questionnaire) -> str:
    q = questionnaire
    anonymous = "anonymous " if q.anonymous else ""
    bands = f", age bands {', '.join(b.id for b in q.age_bands)}" if q.age_bands else ""
    return (
        f"ok {q.source}: {q.id} version {q.version}, {anonymous}{q.audience}, "
        f"{len(q.sections)} sections, {len(q.questions)} questions{bands}"
    )


@group.command("validate")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check FILES (by default every shipped definition) and report every problem at once."""
    shipped_dir = Path(current_app.config["DEFINITIONS_DIR"])
    paths = list(files) or sorted(shipped_dir.glob("*.json"))
    if not paths:
        raise click.ClickException(f"no definition files found in {shipped_dir}")
    given = {p.resolve() for p in paths}
    context = [q for q in loaded_questionnaires() if Path(q.source).resolve() not in given]
    try:
        loaded = load_files(paths, context=context)
    except DefinitionError as error:
        click.echo(str(error), err=True)
        raise SystemExit(1) from None
    for questionnaire in loaded:
        click.echo(summary(questionnaire))

"""`flask --app app db upgrade|status`: bring the database schema up to date, safely."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from store.db import pending, upgrade
from store.questionnaires import sync_shipped

group = AppGroup("db", help="Database schema.")


@group.command("upgrade")
def upgrade_command() -> None:
    """Apply every pending migration (each in its own transaction; existing data is kept), then
    store any shipped questionnaire version the database does not have yet."""
    database = current_app.extensions["database"]
    applied = upgrade(database)
    click.echo("\n".join(f"applied {name}" for name in applied) or "the database schema is up to date")
    with database.connection_context(), database.atomic():
        added = sync_shipped(current_app.extensions["questionnaires"])
    click.echo("\n".join(f"loaded questionnaire {key}" for key in added) or "the shipped questionnaires are loaded")


@group.command("status")
def status_command() -> None:
    """List pending migrations; exit 1 when there are any."""
    waiting = pending(current_app.extensions["database"])
    click.echo("\n".join(f"pending {name}" for name in waiting) or "the database is up to date")
    if waiting:
        raise SystemExit(1)

"""`flask --app app ...` commands, one module per group."""

from __future__ import annotations

from flask import Flask

from commands import concerns, db, demo, export, questionnaires, scores


def init_app(app: Flask) -> None:
    app.cli.add_command(questionnaires.group)
    app.cli.add_command(db.group)
    app.cli.add_command(demo.command)
    app.cli.add_command(scores.group)
    app.cli.add_command(export.command)
    app.cli.add_command(concerns.group)

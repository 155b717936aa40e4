"""`flask --app app scores update|rebuild`: stored scores, kept up to date outside page loads.

Pages catch up on new submissions themselves, but a cron job running `scores update` keeps
them from ever paying for a backlog; `scores rebuild` scores everything again from the
answers, for after a rule, a theme or a scale has changed.
"""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext

from store.models import AuditCycle
from store.scores import pending_count, rescore, score_pending


@click.group("scores", help="Work out and store the scores that results pages and downloads read.")
def group() -> None:
    pass


@group.command("update", help="Score every submitted response that has no stored scores yet.")
@with_appcontext
def update() -> None:
    with current_app.extensions["database"].connection_context():
        started = time.perf_counter()
        waiting = pending_count()
        done = score_pending()
        click.echo(f"Scored {done} of {waiting} waiting responses in {time.perf_counter() - started:.1f} s.")


@group.command("rebuild", help="Score again from the answers: every audit and survey response, or one cycle's audits.")
@click.option("--cycle", "cycle_name", help="Only the audits of the audit cycle with this name.")
@with_appcontext
def rebuild(cycle_name: str | None) -> None:
    with current_app.extensions["database"].connection_context():
        cycles = []
        if cycle_name:
            cycle = AuditCycle.get_or_none(AuditCycle.name == cycle_name)
            if cycle is None:
                names = ", ".join(c.name for c in AuditCycle.select().order_by(AuditCycle.opens_on)) or "none"
                raise click.ClickException(f"There is no audit cycle called '{cycle_name}'. Cycles: {names}.")
            cycles = [cycle]
        started = time.perf_counter()
        audits, responses = rescore(cycles, everything=not cycles)
        click.echo(
            f"Scored {audits} audits and {responses} survey responses again in {time.perf_counter() - started:.1f} s."
        )

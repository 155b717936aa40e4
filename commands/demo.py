"""`flask --app app demo`: a database with a whole partnership in it, ready to click through.

Brings the schema up to date, stores the shipped questionnaires, then fills an empty database
with the demo partnership (store/demo.py) and prints how to sign in as each role and where
the survey links are. It never adds to a database that already has agencies: `--reset`
empties it first, after asking.
"""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext

from store import demo
from store.db import upgrade
from store.models import ROLE_NAMES
from store.questionnaires import sync_shipped
from store.scores import score_pending

ADDRESS = "http://127.0.0.1:5000"
STATUS_WORDS = {
    "not-started": "audit not started",
    "in-progress": "audit in progress",
    "submitted": "audit submitted",
    "reopened": "audit reopened by a reviewer",
}


@click.command("demo", help="Create a demo database: agencies, users of every role, audits and survey answers.")
@click.option("--reset", is_flag=True, help="Delete everything in the database first (asks unless --yes).")
@click.option("--yes", is_flag=True, help="Do not ask before --reset deletes everything.")
@click.option("--seed", type=int, default=demo.DEFAULT_SEED, show_default=True, help="Same seed, same data.")
@with_appcontext
def command(reset: bool, yes: bool, seed: int) -> None:
    database = current_app.extensions["database"]
    for name in upgrade(database):
        click.echo(f"applied migration {name}")
    with database.connection_context():
        if reset:
            if not yes:
                click.confirm(
                    "This deletes every agency, user, audit and survey answer in the database. Continue?", abort=True
                )
            demo.empty_all()
            click.echo("Deleted everything in the database.")
        with database.atomic():
            sync_shipped(current_app.extensions["questionnaires"])
        if demo.populated():
            click.echo("The demo data is already there: the database has agencies. Use --reset to start again.")
            _sign_in_help()
            return
        started = time.perf_counter()
        try:
            created = demo.create(seed=seed)
        except demo.DemoError as error:
            raise click.ClickException(str(error)) from error
        score_pending()  # the dashboards open on scored results
        _report(created, time.perf_counter() - started, seed)


def _sign_in_help() -> None:
    click.echo(f"\nStart the app with `FLASK_DEMO_MODE=true .venv/bin/flask --app app run`, then open {ADDRESS}")


def _report(created: demo.Created, seconds: float, seed: int) -> None:
    counts = ", ".join(f"{number} {what}" for what, number in created.counts.items())
    click.echo(f"Created the demo partnership in {seconds:.1f} s (seed {seed}): {counts}.")
    click.echo(f"\nSign in at {ADDRESS}/sign-in with any of these email addresses and the password: {created.password}")
    click.echo("(a demo password, printed for all to see: never put demo data on a live service)\n")
    width = max(len(email) for _, _, email, _ in created.users)
    for role, name, email, agency in created.users:
        where = f"{agency}: {STATUS_WORDS[created.audits[agency]]}" if agency else ""
        click.echo(f"  {ROLE_NAMES[role]:<14} {email:<{width}}  {name}{f' ({where})' if where else ''}")
    click.echo("\nAnonymous survey links:\n")
    current = None
    for round_name, label, path, mode in created.links:
        if round_name != current:
            click.echo(f"  {round_name}")
            current = round_name
        click.echo(f"    {label}: {ADDRESS}{path} ({mode})")
    for path, codes in created.codes.items():
        click.echo(f"\n  Unused single-use codes for {ADDRESS}{path}/<code>:")
        click.echo("    " + "  ".join(codes))
    _sign_in_help()

"""`flask --app app concerns notify`: email the safeguarding lead about flags not emailed yet.

A flag is emailed when it is made; this sends again those whose email failed (the mail server
was down or refused) or never went (the app stopped first). Run it by hand after fixing the
mail settings, or from cron. One line per flag; exit code 1 if any flag is still unsent.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

import notify
from store import concerns


@click.group("concerns", help="Flags of words of concern in children's and families' answers.")
def group() -> None:
    pass


@group.command("notify", help="Email the safeguarding lead about every flag not emailed yet.")
@click.option("--base-url", help="The platform's address for the link in the email (default: BASE_URL).")
@with_appcontext
def notify_command(base_url: str | None) -> None:
    settings = current_app.extensions.get("mail")
    base = base_url or current_app.config.get("BASE_URL")
    with current_app.extensions["database"].connection_context():
        waiting = [flag.id for flag in concerns.unsent()]
        if not waiting:
            click.echo("No flag is waiting for an email.")
            return
        if settings is None:
            why = current_app.extensions.get("mail_problem") or "SMTP_HOST and SAFEGUARDING_LEAD_EMAIL are not set"
            problem = f"emails are off: {why}"
        elif not base:
            problem = "BASE_URL is not set, so the email could not say where to read it (or give --base-url)"
        else:
            problem = notify.notify_flags(settings, waiting, notify.flags_url(base, waiting))
    for flag_id in waiting:
        click.echo(f"flag {flag_id}: " + (f"not sent: {problem}" if problem else "emailed"))
    if problem:
        raise SystemExit(1)

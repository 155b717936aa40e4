"""A partnership with scored results, served live for the reviewer's and analyst's journeys.

Its own server and SQLite database, apart from the demo server of conftest.py, so every figure
the journeys check is known here: two audit cycles (last year's closed, this year's open) with
two agencies' submitted audits in each, a moderation already recorded, twelve practitioners who
do not know the safeguarding policy (so R8 flags a Met standard) and three children of one age
band (fewer than the threshold of ten, so their figures are hidden as "c" and their raw answers
left out). The rows are made through the store's own functions (tests/builders.py), as the
platform itself would make them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from peewee import Database

from accounts.passwords import hash_password
from app import create_app
from store import scores
from store.db import db, upgrade
from store.models import Agency, Audit, AuditCycle, User
from store.questionnaires import sync_shipped
from store.results import period_of
from tests import builders
from tests.browser.serving import serving
from tests.browser.steps import PASSWORD

TODAY = dt.date.today()
# this year's collections all open on one day, so they fall in one financial year whatever today is
THIS_YEAR = TODAY - dt.timedelta(days=10)
LAST_YEAR = THIS_YEAR.replace(year=THIS_YEAR.year - 1, day=min(THIS_YEAR.day, 28))
MODERATION_NOTE = "Training records for agency staff were not attached"


def cycle_name(opens_on: dt.date) -> str:
    """'2026 to 2027' for a cycle opening in the financial year 2026-27."""
    start = int(period_of(opens_on)[:4])
    return f"{start} to {start + 1}"


@dataclass
class World:
    """The live server and what is in its database."""

    url: str
    app: Flask
    database: Database
    emails: dict[str, str]  # police-lead, health-lead, reviewer, analyst
    previous: AuditCycle
    current: AuditCycle
    police: Audit  # this year's, rated short on s1.2
    health: Audit  # this year's, its s5 moderated down already
    practitioner_round: str
    child_round: str
    child_round_id: int


def _users(police: Agency, health: Agency) -> dict[str, User]:
    hashed = hash_password(PASSWORD)

    def make(key: str, name: str, role: str, agency: Agency | None = None) -> User:
        return User.create(
            email=f"{key}@results.example.org", name=name, password_hash=hashed, role=role, agency=agency
        )

    return {
        "police-lead": make("police-lead", "Sam Whitfield", "agency", police),
        "health-lead": make("health-lead", "Priya Shah", "agency", health),
        "reviewer": make("reviewer", "Ruth Ellis", "reviewer"),
        "analyst": make("analyst", "Ben Clarke", "analyst"),
    }


def _fill(app: Flask) -> dict:
    sync_shipped(app.extensions["questionnaires"])
    police = Agency.create(name="Shire Police", sector="police")
    health = Agency.create(name="Shire Community Health", sector="health")
    Agency.create(name="Riverside Academy Trust", sector="education")  # has not started: Returns shows it
    users = _users(police, health)

    previous = builders.audit_cycle(cycle_name(LAST_YEAR), opens_on=LAST_YEAR)
    builders.submitted_audit(police, previous, users["police-lead"], {"s1.2": "not-met", "s5.2": "not-met"})
    builders.submitted_audit(health, previous, users["health-lead"], {"s3.1": "partially-met"})
    AuditCycle.update(is_open=False).where(AuditCycle.id == previous.id).execute()

    current = builders.audit_cycle(cycle_name(THIS_YEAR), opens_on=THIS_YEAR)
    police_audit = builders.submitted_audit(police, current, users["police-lead"], {"s1.2": "not-met"})
    health_audit = builders.submitted_audit(health, current, users["health-lead"])
    scores.moderate(health_audit, "s5", "partially-met", MODERATION_NOTE, users["reviewer"])

    practitioners = builders.survey_round("practitioner-s11-survey", "Practitioners' survey", opens_on=THIS_YEAR)
    link = builders.survey_link(practitioners, "Police staff", police)
    builders.submitted_responses(link, 12, lambda i: {"policy-known": "no", "dsl-known": "yes" if i % 4 else "no"})
    children = builders.survey_round("child-experience", "Children's survey", opens_on=THIS_YEAR)
    builders.submitted_responses(
        builders.survey_link(children, "School"), 3, lambda i: {"safe-home.age-8-11": "always"}, band="age-8-11"
    )
    scores.score_pending()
    return {
        "emails": {key: user.email for key, user in users.items()},
        "previous": previous,
        "current": current,
        "police": police_audit,
        "health": health_audit,
        "practitioner_round": practitioners.name,
        "child_round": children.name,
        "child_round_id": children.id,
    }


@contextmanager
def served(folder: Path) -> Iterator[World]:
    """The app, CSRF on as people get it, on a free loopback port, over a database filled above."""
    url = f"sqlite:///{folder / 'results.sqlite3'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "results-journeys", "DATABASE_URL": url})
    database = app.extensions["database"]
    db.initialize(database)
    with database.connection_context():
        upgrade(database)
        made = _fill(app)
    with serving(app) as address:
        yield World(address, app, database, **made)

"""The baseline for bench/submit.py: storing one page of survey answers as a bare Flask app would.

One route, POST /s/<slug>/q/<section_id>, at the path of the real survey page. It builds the
WTForms form the real page builds (forms.build_form_class, on the questionnaire version the
link's round uses, read from the same database), validates the post with it, and inserts one
response (submitted) and its answer rows with peewee in one transaction, then redirects (303)
to the next page as the real page does. No CSRF token, no session, no link checks, no drafts: the question is
what the platform adds to validating and storing the same answers.

For the s11 scenario, a second route, POST /audit/<audit_id>/<section_id>, at the path of the real
standard's page: it builds the WTForms form the real page builds for that standard (on the
questionnaire version of the audit's cycle), validates the post, and replaces that audit's
answers to the standard in one transaction (an upsert of the answers given, a delete of the
standard's others), then redirects (302) to the task list as the real page does. No CSRF token,
no session, no sign-in or access checks, no revision (edit conflicts), no audit trail, no
drafts. (The real page also gives the form the audit's other answers, for conditions that look
at other standards; the S11 definition has none, so the bare form asks the same questions.)

The database is DATABASE_URL, opened with store.db.make_database: the same SQLite pragmas
(WAL, synchronous=NORMAL, foreign keys, cache size, busy timeout) or the same PostgreSQL
defaults as the app. Each worker opens one connection on its first query and keeps it.

Serve it with: DATABASE_URL=... gunicorn --chdir /work/main --no-control-socket 'bench.baseline_submit:create_app()'
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from flask import Flask, abort, redirect
from peewee import EXCLUDED

from forms import build_form_class
from questionnaires import Questionnaire
from store.audits import section_keys
from store.db import db, make_database
from store.models import Answer, Audit, AuditCycle, QuestionnaireVersion, Response, SurveyLink, SurveyRound, week_of
from store.questionnaires import definition


def _links() -> dict[str, tuple[int, int, Questionnaire]]:
    """slug -> (link id, questionnaire version id, definition), read once at start-up."""
    query = (
        SurveyLink.select(SurveyLink, SurveyRound, QuestionnaireVersion).join(SurveyRound).join(QuestionnaireVersion)
    )
    return {link.slug: (link.id, link.round.questionnaire.id, definition(link.round.questionnaire)) for link in query}


def _audits() -> dict[int, tuple[int, Questionnaire]]:
    """audit id -> (its response id, the definition of its cycle's version), read once at start-up."""
    query = (
        Response.select(Response, Audit, AuditCycle, QuestionnaireVersion)
        .join(Audit)
        .join(AuditCycle)
        .join(QuestionnaireVersion)
    )
    return {row.audit.id: (row.id, definition(row.audit.cycle.questionnaire)) for row in query}


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["WTF_CSRF_ENABLED"] = False  # no session, so no token to check
    db.initialize(make_database(os.environ["DATABASE_URL"]))
    links = _links()  # connects: the connection stays open for the worker's life
    audits = _audits()

    @app.post("/s/<slug>/q/<section_id>")
    def save(slug: str, section_id: str) -> Any:
        link_id, version_id, questionnaire = links.get(slug) or abort(404)
        sections = questionnaire.sections_for(None)
        index = next((i for i, s in enumerate(sections) if s.id == section_id), None)
        if index is None:
            abort(404)
        section = sections[index]
        form = build_form_class(questionnaire, section)()
        if not form.validate():
            return {"errors": form.error_list()}, 422
        answers = form.answers()
        with db.atomic():
            response = Response.create(
                questionnaire=version_id, link=link_id, status="submitted", week=week_of(dt.date.today())
            )
            if answers:
                Answer.insert_many(
                    [{"response": response.id, "question_id": key, "value": value} for key, value in answers.items()]
                ).execute()
        after = f"q/{sections[index + 1].id}" if index + 1 < len(sections) else "check"
        return redirect(f"/s/{slug}/{after}", code=303)  # where the real page sends the respondent

    @app.post("/audit/<int:audit_id>/<section_id>")
    def save_standard(audit_id: int, section_id: str) -> Any:
        response_id, questionnaire = audits.get(audit_id) or abort(404)
        section = questionnaire.section(section_id) or abort(404)
        form = build_form_class(questionnaire, section)()
        if not form.validate():
            return {"errors": form.error_list()}, 422
        answers = form.answers()
        removed = sorted(section_keys(section) - answers.keys())
        with db.atomic():
            Answer.delete().where((Answer.response == response_id) & Answer.question_id.in_(removed)).execute()
            if answers:
                rows = [{"response": response_id, "question_id": key, "value": value} for key, value in answers.items()]
                (
                    Answer.insert_many(rows)
                    .on_conflict(
                        conflict_target=[Answer.response, Answer.question_id], update={Answer.value: EXCLUDED.value}
                    )
                    .execute()
                )
        return redirect("/audit/")  # where the real page sends the agency user (a 302)

    return app

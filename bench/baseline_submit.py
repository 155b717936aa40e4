"""The baseline for bench/submit.py: storing one page of survey answers as a bare Flask app would.

One route, POST /s/<slug>/q/<section_id>, at the path of the real survey page. It builds the
WTForms form the real page builds (forms.build_form_class, on the questionnaire version the
link's round uses, read from the same database), validates the post with it, and inserts one
response (submitted) and its answer rows with peewee in one transaction, then redirects (303)
to the next page as the real page does. No CSRF token, no session, no link checks, no drafts: the question is
what the platform adds to validating and storing the same answers.

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

from forms import build_form_class
from questionnaires import Questionnaire
from store.db import db, make_database
from store.models import Answer, QuestionnaireVersion, Response, SurveyLink, SurveyRound, week_of
from store.questionnaires import definition


def _links() -> dict[str, tuple[int, int, Questionnaire]]:
    """slug -> (link id, questionnaire version id, definition), read once at start-up."""
    query = (
        SurveyLink.select(SurveyLink, SurveyRound, QuestionnaireVersion).join(SurveyRound).join(QuestionnaireVersion)
    )
    return {link.slug: (link.id, link.round.questionnaire.id, definition(link.round.questionnaire)) for link in query}


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["WTF_CSRF_ENABLED"] = False  # no session, so no token to check
    db.initialize(make_database(os.environ["DATABASE_URL"]))
    links = _links()  # connects: the connection stays open for the worker's life

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

    return app

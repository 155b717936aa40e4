"""The platform's tables.

Answers are one row per question (long form), so a questionnaire version can add or drop
questions without a schema change, and analysts get long-form data directly. Anonymous
responses carry no name, email, IP address or time: only the Monday of the week they were
submitted in. Schema changes go through migrations/ (`flask --app app db upgrade`).

A foreign key that begins a unique index of two or more columns (an answer's response, in its
(response, question) key) has no index of its own (`index=False`, migration 0006): the wider
index finds a response's rows as well, and every insert would write both. PostgreSQL also chose
the narrower one for a standard's page, reading all of an audit's answers to keep a page's
twenty (it guesses a response's answers from the average, a survey response's handful).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from store.db import BaseModel

ROLES = ("agency", "reviewer", "analyst", "admin")
ROLE_NAMES = {"agency": "Agency user", "reviewer": "Reviewer", "analyst": "Analyst", "admin": "Administrator"}
SECTORS = (
    "local-authority",
    "health",
    "police",
    "education",
    "probation-and-justice",
    "voluntary-and-community",
    "housing",
    "other",
)
SECTOR_NAMES = {
    "local-authority": "Local authority",
    "health": "Health",
    "police": "Police",
    "education": "Education",
    "probation-and-justice": "Probation and youth justice",
    "voluntary-and-community": "Voluntary and community",
    "housing": "Housing",
    "other": "Other",
}
AUDIT_STATUSES = ("not-started", "in-progress", "submitted", "reopened")
SECTION_STATUSES = ("not-started", "in-progress", "completed")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def week_of(day: dt.date) -> dt.date:
    """The Monday of the week: all an anonymous response records of when it was given."""
    return day - dt.timedelta(days=day.weekday())


def week_began(day: dt.date | None = None) -> dt.datetime:
    """Midnight at the start of the week of `day` (today, UTC, if not given): all a concern flag
    keeps of when it was made or emailed. A flag is made in the transaction that submits a
    child's answers, so its time to the minute would be the submission's, which the response
    itself does not keep (DESIGN.md section 6: no exact timestamp that could identify a child)."""
    return dt.datetime.combine(week_of(day or utcnow().date()), dt.time())


class JSONField(TextField):
    """JSON text; dates become ISO strings (answers decode them again by question type)."""

    def db_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return encode_json(value)

    def python_value(self, value: str | None) -> Any:
        return None if value is None else json.loads(value)


def _iso(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


# What JSONField stores, made by one encoder: json.dumps with any option builds a new encoder on
# every call, which took longer than encoding a short answer (a section save encodes dozens)
encode_json = json.JSONEncoder(default=_iso, ensure_ascii=False, separators=(",", ":")).encode


class Agency(BaseModel):
    name = CharField(max_length=200, unique=True)
    sector = CharField(max_length=40, choices=[(s, SECTOR_NAMES[s]) for s in SECTORS])
    created_at = DateTimeField(default=utcnow)


class User(BaseModel):
    email = CharField(max_length=254, unique=True)
    name = CharField(max_length=200)
    password_hash = CharField(max_length=255)
    role = CharField(max_length=20, choices=[(r, ROLE_NAMES[r]) for r in ROLES])
    agency = ForeignKeyField(Agency, null=True, backref="users", on_delete="RESTRICT")
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    last_sign_in = DateTimeField(null=True)


class QuestionnaireVersion(BaseModel):
    """A checked definition as it was loaded; answers point at the version they answered."""

    questionnaire_id = CharField(max_length=60)
    version = IntegerField()
    title = CharField(max_length=2000)
    audience = CharField(max_length=20)
    loaded_at = DateTimeField(default=utcnow)
    loaded_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    # On SQLite, a random number the database sets anew whenever a row is inserted or its
    # definition written (triggers, migration 0004): readers compare it instead of reading the
    # definition's text (store.questionnaires.version_stamp). PostgreSQL stamps every row version
    # itself (xmin), so it stays empty there.
    stamp = BigIntegerField(null=True)
    # last, as in SQLite's table (migration 0005): its text runs on into overflow pages, which
    # SQLite would walk to reach any column stored after it
    definition = JSONField()

    class Meta:
        indexes = ((("questionnaire_id", "version"), True),)

    @property
    def key(self) -> str:
        return f"{self.questionnaire_id}@{self.version}"


class AuditCycle(BaseModel):
    name = CharField(max_length=200)
    questionnaire = ForeignKeyField(QuestionnaireVersion, on_delete="RESTRICT")
    opens_on = DateField()
    closes_on = DateField()
    is_open = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)


class Audit(BaseModel):
    """One agency's self-audit in one cycle; `revision` counts every save, for edit conflicts."""

    cycle = ForeignKeyField(AuditCycle, backref="audits", on_delete="RESTRICT", index=False)
    agency = ForeignKeyField(Agency, backref="audits", on_delete="RESTRICT")
    status = CharField(max_length=20, default="not-started")
    revision = IntegerField(default=0)
    submitted_at = DateTimeField(null=True)
    submitted_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    declaration = TextField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("cycle", "agency"), True),)


class SectionState(BaseModel):
    """Where one standard of one audit stands, and its own revision for edit conflicts."""

    audit = ForeignKeyField(Audit, backref="sections", on_delete="CASCADE", index=False)
    section_id = CharField(max_length=60)
    status = CharField(max_length=20, default="not-started")
    revision = IntegerField(default=0)
    updated_at = DateTimeField(default=utcnow)
    # no index: every save sets it (an index page more to write), and nothing reads by it
    updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+", index=False)

    class Meta:
        indexes = ((("audit", "section_id"), True),)


class SurveyRound(BaseModel):
    name = CharField(max_length=200)
    questionnaire = ForeignKeyField(QuestionnaireVersion, on_delete="RESTRICT")
    opens_on = DateField()
    closes_on = DateField()
    is_open = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)


class SurveyLink(BaseModel):
    """An anonymous link to a round: per workshop or agency, one response per device or tokens."""

    round = ForeignKeyField(SurveyRound, backref="links", on_delete="CASCADE")
    slug = CharField(max_length=64, unique=True)
    label = CharField(max_length=200)
    agency = ForeignKeyField(Agency, null=True, on_delete="SET NULL", backref="links")
    mode = CharField(
        max_length=20, default="device", choices=[("device", "One response per device"), ("tokens", "Single-use codes")]
    )
    is_active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)


class SurveyToken(BaseModel):
    """A single-use code; only its hash is kept, and it is spent when a response is submitted."""

    link = ForeignKeyField(SurveyLink, backref="tokens", on_delete="CASCADE")
    token_hash = CharField(max_length=64, unique=True)
    used_on = DateField(null=True)


class Response(BaseModel):
    """A set of answers: an agency's audit (one per audit) or one anonymous survey response."""

    questionnaire = ForeignKeyField(QuestionnaireVersion, on_delete="RESTRICT")
    audit = ForeignKeyField(Audit, null=True, unique=True, backref="response", on_delete="CASCADE")
    link = ForeignKeyField(SurveyLink, null=True, backref="responses", on_delete="SET NULL")
    age_band = CharField(max_length=60, null=True)
    status = CharField(max_length=20, default="draft")
    submission_key = CharField(max_length=64, null=True, unique=True)
    week = DateField(null=True)
    # whether its scores are stored (not when: a time would tell when an anonymous response came)
    scored = BooleanField(default=False)


class Answer(BaseModel):
    response = ForeignKeyField(Response, backref="answers", on_delete="CASCADE", index=False)
    question_id = CharField(max_length=80)
    value = JSONField()

    class Meta:
        indexes = ((("response", "question_id"), True),)


class Action(BaseModel):
    """An improvement action for an S11 shortfall, kept apart so progress can be updated later."""

    audit = ForeignKeyField(Audit, backref="actions", on_delete="CASCADE", index=False)
    question_id = CharField(max_length=80)
    what = TextField()
    owner = CharField(max_length=200)
    due = DateField()
    progress = IntegerField(default=0)
    progress_note = TextField(null=True)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("audit", "question_id"), True),)


class Draft(BaseModel):
    """What someone typed on a page but has not saved: survives a closed tab or browser."""

    user = ForeignKeyField(User, backref="drafts", on_delete="CASCADE", index=False)
    path = CharField(max_length=300)
    form = JSONField()
    base_revision = IntegerField(null=True)
    saved_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "path"), True),)


class KeptPost(BaseModel):
    """A form posted after its session or token had expired, kept until the person signs in."""

    token_hash = CharField(max_length=64, unique=True)
    path = CharField(max_length=300)
    form = JSONField()
    created_at = DateTimeField(default=utcnow)


class AuditEvent(BaseModel):
    """The audit trail: who changed what, when, from what, to what.

    A section save writes one row holding every answer it changed (store.audits._save_trail;
    store.trail.changes reads it as one change an answer), and every index is a page more to
    write with each row, so the trail keeps only the indexes something reads by: its audit (an
    audit's history), and the time of the few kinds the administrators' history lists
    (`ADMIN_HISTORY_KINDS`, a partial index that save and status rows never touch). Nothing
    reads the trail by user (accounts are deactivated, never deleted), so `user` has none.
    """

    at = DateTimeField(default=utcnow)
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+", index=False)
    audit = ForeignKeyField(Audit, null=True, backref="events", on_delete="CASCADE")
    kind = CharField(max_length=40)
    target = CharField(max_length=120)
    before = JSONField(null=True)
    after = JSONField(null=True)


ADMIN_HISTORY_KINDS = ("admin", "audit")  # the trail's kinds store.admin.admin_history lists
AuditEvent.add_index(
    AuditEvent.index(AuditEvent.at, name="auditevent_admin_at").where(AuditEvent.kind.in_(ADMIN_HISTORY_KINDS))
)


class Moderation(BaseModel):
    """A reviewer's moderated rating and challenge note for one standard of one audit (R6).

    Kept beside the agency's own rating, never over it: reports use the moderated rating
    where there is one and show both.
    """

    audit = ForeignKeyField(Audit, backref="moderations", on_delete="CASCADE", index=False)
    section_id = CharField(max_length=60)
    rating = CharField(max_length=40, null=True)
    note = TextField(null=True)
    by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("audit", "section_id"), True),)


class StandardScore(BaseModel):
    """One standard's stored rating for one audit, as `scoring.score_audits` worked it out."""

    audit = ForeignKeyField(Audit, backref="standard_scores", on_delete="CASCADE", index=False)
    section_id = CharField(max_length=60)
    self_rating = CharField(max_length=40, null=True)
    score_100 = FloatField(null=True)
    items = IntegerField(default=0)
    applicable = IntegerField(default=0)
    met = IntegerField(default=0)
    unanswered = IntegerField(default=0)
    rule = CharField(max_length=60, null=True)
    moderated_rating = CharField(max_length=40, null=True)
    reported_rating = CharField(max_length=40, null=True)
    rating_source = CharField(max_length=20, null=True)
    moderation = TextField(null=True)
    explanation = TextField(null=True)

    class Meta:
        indexes = ((("audit", "section_id"), True),)


class ItemScore(BaseModel):
    """One rating item's stored outcome: what the agency chose, what counts, and which rule decided."""

    audit = ForeignKeyField(Audit, backref="item_scores", on_delete="CASCADE", index=False)
    section_id = CharField(max_length=60)
    question_id = CharField(max_length=80)
    answered = CharField(max_length=40, null=True)
    rating = CharField(max_length=40, null=True)
    decided_by = CharField(max_length=60, null=True)
    why = TextField(null=True)
    evidence_count = IntegerField(default=0)
    applicable = BooleanField(default=True)

    class Meta:
        indexes = ((("audit", "question_id"), True),)


class AnswerScore(BaseModel):
    """One scored survey answer: its option's score and whether it counts in the base."""

    response = ForeignKeyField(Response, backref="answer_scores", on_delete="CASCADE", index=False)
    question_id = CharField(max_length=80)
    value = TextField(null=True)
    score = FloatField(null=True)
    score_100 = FloatField(null=True)
    positive = BooleanField(default=False)
    in_base = BooleanField(default=False)
    dont_know = BooleanField(default=False)
    not_applicable = BooleanField(default=False)
    known = BooleanField(default=True)

    class Meta:
        indexes = ((("response", "question_id"), True),)


class ThemeScore(BaseModel):
    """Per response, theme, measure and source: the additive sums theme tables are built from."""

    response = ForeignKeyField(Response, backref="theme_scores", on_delete="CASCADE", index=False)
    theme = CharField(max_length=60)
    measure = CharField(max_length=20)
    source = CharField(max_length=20)
    answers = IntegerField()
    positive = IntegerField()
    score_sum = FloatField()

    class Meta:
        indexes = ((("response", "theme", "measure", "source"), True),)


class ConcernFlag(BaseModel):
    """A free-text answer in a child or family survey that matched a word of concern.

    Made in the transaction that submits the response, so no flag is ever missed; the lead is
    emailed afterwards (the email says only that there is a flag to read, never its text).
    When it was made and emailed are kept to the week, as the response's own time is.
    """

    response = ForeignKeyField(Response, backref="concern_flags", on_delete="CASCADE", index=False)
    question_id = CharField(max_length=80)
    words = JSONField()
    status = CharField(max_length=20, default="new")
    created_at = DateTimeField(default=week_began)  # the week only, as the response keeps
    notified_at = DateTimeField(null=True)  # the week only: the email goes at once
    notify_error = TextField(null=True)
    handled_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    handled_at = DateTimeField(null=True)
    note = TextField(null=True)

    class Meta:
        indexes = ((("response", "question_id"), True),)


MODELS = [
    Agency,
    User,
    QuestionnaireVersion,
    AuditCycle,
    Audit,
    SectionState,
    SurveyRound,
    SurveyLink,
    SurveyToken,
    Response,
    Answer,
    Action,
    Draft,
    KeptPost,
    AuditEvent,
    Moderation,
    StandardScore,
    ItemScore,
    AnswerScore,
    ThemeScore,
    ConcernFlag,
]

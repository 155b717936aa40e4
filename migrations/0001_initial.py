"""The first schema: agencies, users, questionnaire versions, cycles, audits, surveys, answers.

Frozen copies of the models as they were (never import the live models here), generated
with peewee's migration runner and edited by hand: JSON columns are TEXT; Python-side
defaults live in the models, not the schema.
"""

from peewee import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)


def up(migrator, db):
    class Agency(Model):
        name = CharField(unique=True, max_length=200)
        sector = CharField(max_length=40)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "agency"

    db.create_tables([Agency])

    class User(Model):
        email = CharField(unique=True, max_length=254)
        name = CharField(max_length=200)
        password_hash = CharField()
        role = CharField(max_length=20)
        agency = ForeignKeyField(Agency, null=True, on_delete="RESTRICT")
        active = BooleanField(default=True)
        created_at = DateTimeField()
        last_sign_in = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "user"

    db.create_tables([User])

    class QuestionnaireVersion(Model):
        questionnaire_id = CharField(max_length=60)
        version = IntegerField()
        title = CharField(max_length=2000)
        audience = CharField(max_length=20)
        definition = TextField()
        loaded_at = DateTimeField()
        loaded_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

        class Meta:
            database = db
            table_name = "questionnaire_version"
            indexes = ((("questionnaire_id", "version"), True),)

    db.create_tables([QuestionnaireVersion])

    class AuditCycle(Model):
        name = CharField(max_length=200)
        questionnaire = ForeignKeyField(QuestionnaireVersion, on_delete="RESTRICT")
        opens_on = DateField()
        closes_on = DateField()
        is_open = BooleanField(default=True)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "audit_cycle"

    db.create_tables([AuditCycle])

    class Audit(Model):
        cycle = ForeignKeyField(AuditCycle, on_delete="RESTRICT")
        agency = ForeignKeyField(Agency, on_delete="RESTRICT")
        status = CharField(max_length=20, default="not-started")
        revision = IntegerField(default=0)
        submitted_at = DateTimeField(null=True)
        submitted_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        declaration = TextField(null=True)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "audit"
            indexes = ((("cycle", "agency"), True),)

    db.create_tables([Audit])

    class Action(Model):
        audit = ForeignKeyField(Audit, on_delete="CASCADE")
        question_id = CharField(max_length=80)
        what = TextField()
        owner = CharField(max_length=200)
        due = DateField()
        progress = IntegerField(default=0)
        progress_note = TextField(null=True)
        updated_at = DateTimeField()

        class Meta:
            database = db
            table_name = "action"
            indexes = ((("audit", "question_id"), True),)

    db.create_tables([Action])

    class SurveyRound(Model):
        name = CharField(max_length=200)
        questionnaire = ForeignKeyField(QuestionnaireVersion, on_delete="RESTRICT")
        opens_on = DateField()
        closes_on = DateField()
        is_open = BooleanField(default=True)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "survey_round"

    db.create_tables([SurveyRound])

    class SurveyLink(Model):
        round = ForeignKeyField(SurveyRound, on_delete="CASCADE")
        slug = CharField(unique=True, max_length=64)
        label = CharField(max_length=200)
        agency = ForeignKeyField(Agency, null=True, on_delete="SET NULL")
        mode = CharField(max_length=20, default="device")
        is_active = BooleanField(default=True)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "survey_link"

    db.create_tables([SurveyLink])

    class Response(Model):
        questionnaire = ForeignKeyField(QuestionnaireVersion, on_delete="RESTRICT")
        audit = ForeignKeyField(Audit, unique=True, null=True, on_delete="CASCADE")
        link = ForeignKeyField(SurveyLink, null=True, on_delete="SET NULL")
        age_band = CharField(null=True, max_length=60)
        status = CharField(max_length=20, default="draft")
        submission_key = CharField(unique=True, null=True, max_length=64)
        week = DateField(null=True)

        class Meta:
            database = db
            table_name = "response"

    db.create_tables([Response])

    class Answer(Model):
        response = ForeignKeyField(Response, on_delete="CASCADE")
        question_id = CharField(max_length=80)
        value = TextField()

        class Meta:
            database = db
            table_name = "answer"
            indexes = ((("response", "question_id"), True),)

    db.create_tables([Answer])

    class AuditEvent(Model):
        at = DateTimeField(index=True)
        user = ForeignKeyField(User, null=True, on_delete="SET NULL")
        audit = ForeignKeyField(Audit, null=True, on_delete="CASCADE")
        kind = CharField(max_length=40)
        target = CharField(max_length=120)
        before = TextField(null=True)
        after = TextField(null=True)

        class Meta:
            database = db
            table_name = "audit_event"

    db.create_tables([AuditEvent])

    class Draft(Model):
        user = ForeignKeyField(User, on_delete="CASCADE")
        path = CharField(max_length=300)
        form = TextField()
        base_revision = IntegerField(null=True)
        saved_at = DateTimeField()

        class Meta:
            database = db
            table_name = "draft"
            indexes = ((("user", "path"), True),)

    db.create_tables([Draft])

    class KeptPost(Model):
        token_hash = CharField(unique=True, max_length=64)
        path = CharField(max_length=300)
        form = TextField()
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "kept_post"

    db.create_tables([KeptPost])

    class SectionState(Model):
        audit = ForeignKeyField(Audit, on_delete="CASCADE")
        section_id = CharField(max_length=60)
        status = CharField(max_length=20, default="not-started")
        revision = IntegerField(default=0)
        updated_at = DateTimeField()
        updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

        class Meta:
            database = db
            table_name = "section_state"
            indexes = ((("audit", "section_id"), True),)

    db.create_tables([SectionState])

    class SurveyToken(Model):
        link = ForeignKeyField(SurveyLink, on_delete="CASCADE")
        token_hash = CharField(unique=True, max_length=64)
        used_on = DateField(null=True)

        class Meta:
            database = db
            table_name = "survey_token"

    db.create_tables([SurveyToken])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("survey_token"))
    migrator.migrate(migrator.drop_table("section_state"))
    migrator.migrate(migrator.drop_table("kept_post"))
    migrator.migrate(migrator.drop_table("draft"))
    migrator.migrate(migrator.drop_table("audit_event"))
    migrator.migrate(migrator.drop_table("answer"))
    migrator.migrate(migrator.drop_table("response"))
    migrator.migrate(migrator.drop_table("survey_link"))
    migrator.migrate(migrator.drop_table("survey_round"))
    migrator.migrate(migrator.drop_table("action"))
    migrator.migrate(migrator.drop_table("audit"))
    migrator.migrate(migrator.drop_table("audit_cycle"))
    migrator.migrate(migrator.drop_table("questionnaire_version"))
    migrator.migrate(migrator.drop_table("user"))
    migrator.migrate(migrator.drop_table("agency"))

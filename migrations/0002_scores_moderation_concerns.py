"""Stored scores, moderation and concern flags.

Pages read scores, never answers (DESIGN.md section 4): an audit's standards and items are
scored when it is submitted or moderated, a survey response when it is submitted, and the
rows land here. `response.scored` says they are there (a flag, not a time: a time would
tell when an anonymous response arrived); a submitted response without is waiting for
`flask --app app scores update`. Frozen copies of the models as they were.
"""

from peewee import BooleanField, CharField, DateTimeField, FloatField, ForeignKeyField, IntegerField, Model, TextField


def up(migrator, db):
    class Agency(Model):
        class Meta:
            database = db
            table_name = "agency"

    class User(Model):
        class Meta:
            database = db
            table_name = "user"

    class Audit(Model):
        class Meta:
            database = db
            table_name = "audit"

    class Response(Model):
        class Meta:
            database = db
            table_name = "response"

    migrator.migrate(migrator.add_column("response", "scored", BooleanField(default=False)))

    class Moderation(Model):
        audit = ForeignKeyField(Audit, on_delete="CASCADE")
        section_id = CharField(max_length=60)
        rating = CharField(max_length=40, null=True)
        note = TextField(null=True)
        by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        at = DateTimeField()

        class Meta:
            database = db
            table_name = "moderation"
            indexes = ((("audit", "section_id"), True),)

    class StandardScore(Model):
        audit = ForeignKeyField(Audit, on_delete="CASCADE")
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
            database = db
            table_name = "standard_score"
            indexes = ((("audit", "section_id"), True),)

    class ItemScore(Model):
        audit = ForeignKeyField(Audit, on_delete="CASCADE")
        section_id = CharField(max_length=60)
        question_id = CharField(max_length=80)
        answered = CharField(max_length=40, null=True)
        rating = CharField(max_length=40, null=True)
        decided_by = CharField(max_length=60, null=True)
        why = TextField(null=True)
        evidence_count = IntegerField(default=0)
        applicable = BooleanField(default=True)

        class Meta:
            database = db
            table_name = "item_score"
            indexes = ((("audit", "question_id"), True),)

    class AnswerScore(Model):
        response = ForeignKeyField(Response, on_delete="CASCADE")
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
            database = db
            table_name = "answer_score"
            indexes = ((("response", "question_id"), True),)

    class ThemeScore(Model):
        response = ForeignKeyField(Response, on_delete="CASCADE")
        theme = CharField(max_length=60)
        measure = CharField(max_length=20)
        source = CharField(max_length=20)
        answers = IntegerField()
        positive = IntegerField()
        score_sum = FloatField()

        class Meta:
            database = db
            table_name = "theme_score"
            indexes = ((("response", "theme", "measure", "source"), True),)

    class ConcernFlag(Model):
        response = ForeignKeyField(Response, on_delete="CASCADE")
        question_id = CharField(max_length=80)
        words = TextField()
        status = CharField(max_length=20, default="new")
        created_at = DateTimeField()
        notified_at = DateTimeField(null=True)
        notify_error = TextField(null=True)
        handled_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        handled_at = DateTimeField(null=True)
        note = TextField(null=True)

        class Meta:
            database = db
            table_name = "concern_flag"
            indexes = ((("response", "question_id"), True),)

    db.create_tables([Moderation, StandardScore, ItemScore, AnswerScore, ThemeScore, ConcernFlag])


def down(migrator, db):
    for table in ("concern_flag", "theme_score", "answer_score", "item_score", "standard_score", "moderation"):
        migrator.migrate(migrator.drop_table(table))
    migrator.migrate(migrator.drop_column("response", "scored"))

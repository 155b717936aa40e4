"""A stamp for each questionnaire version row on SQLite, kept by the database.

Every audit page and survey link read compared the version's stored definition (150 KB for the
S11 self-audit) with the one last decoded, to see an edited definition at once. On SQLite that
read the text's overflow pages on every request, and with several server processes each one's
page cache is emptied by the others' commits, so it read them from the file again each time.
The stamp stands for the text: triggers set it to a new random number when a row is inserted
and whenever its definition is written, by any code or by hand, so a reader compares the stamp
and reads the text only when the stamp is new. PostgreSQL stamps row versions itself (xmin and
ctid): the column stays empty there.
"""

from peewee import BigIntegerField, SqliteDatabase

TRIGGERS = (
    'CREATE TRIGGER IF NOT EXISTS "questionnaire_version_stamp_insert" AFTER INSERT ON "questionnaire_version" '
    'BEGIN UPDATE "questionnaire_version" SET "stamp" = random() WHERE "id" = NEW."id"; END',
    'CREATE TRIGGER IF NOT EXISTS "questionnaire_version_stamp_update" '
    'AFTER UPDATE OF "definition" ON "questionnaire_version" '
    'BEGIN UPDATE "questionnaire_version" SET "stamp" = random() WHERE "id" = NEW."id"; END',
)


def up(migrator, db):
    migrator.migrate(migrator.add_column("questionnaire_version", "stamp", BigIntegerField(null=True)))
    if isinstance(db, SqliteDatabase):
        for trigger in TRIGGERS:
            db.execute_sql(trigger)
        db.execute_sql('UPDATE "questionnaire_version" SET "stamp" = random()')


def down(migrator, db):
    if isinstance(db, SqliteDatabase):
        db.execute_sql('DROP TRIGGER IF EXISTS "questionnaire_version_stamp_insert"')
        db.execute_sql('DROP TRIGGER IF EXISTS "questionnaire_version_stamp_update"')
    migrator.migrate(migrator.drop_column("questionnaire_version", "stamp"))

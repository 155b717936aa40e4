"""Concern flags made before the flags kept only the week keep only the week too.

A flag is made in the transaction that submits a child's or family's answers, so its time to
the minute was the submission's, which the anonymous response itself does not keep (DESIGN.md
section 6: no exact timestamp that could identify a child). Flags now store the Monday of the
week they were made and emailed; this cuts the flags stored before
that change the same way. The reviewer's handled_at is about staff and keeps its minute.

Done in Python, row by row, so that SQLite and PostgreSQL give the same Monday. down() cannot
bring back the minutes, which is the point: it leaves the rows as they are.
"""

import datetime as dt

from peewee import SqliteDatabase


def week_began(value):
    """Midnight at the start of the value's week (Monday), as the app now stores a flag's times."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands back the text peewee wrote
        value = dt.datetime.fromisoformat(value)
    day = value.date() if isinstance(value, dt.datetime) else value
    return dt.datetime.combine(day - dt.timedelta(days=day.weekday()), dt.time())


def up(migrator, db):
    rows = db.execute_sql('SELECT "id", "created_at", "notified_at" FROM "concern_flag"').fetchall()
    text = isinstance(db, SqliteDatabase)  # kept as text there, as peewee writes it
    update = f'UPDATE "concern_flag" SET "created_at" = {db.param}, "notified_at" = {db.param} WHERE "id" = {db.param}'
    for flag_id, *times in rows:  # a partnership's flags are few: one statement each
        cut = [week_began(t) for t in times]
        db.execute_sql(update, [*(str(c) if text and c is not None else c for c in cut), flag_id])


def down(migrator, db):
    """The minutes are gone for good: nothing to put back."""

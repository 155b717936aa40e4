"""On SQLite, the questionnaire version's definition moves to the end of its row.

SQLite stores a row's values one after another; a long one runs on into a chain of overflow
pages, each naming the next. To read a value stored after it, SQLite walks that chain page by
page. The definition (about 90 KB for the S11 self-audit, some twenty pages) sat before
`loaded_at`, `loaded_by_id` and the `stamp` of migration 0004, which every audit page and
survey link reads so as not to read the definition: reading the stamp walked its pages all the
same. In one process that costs little (the pages stay in the cache), but with several server
processes each one's commits empty the others' caches, so every read fetched the chain again.
With the definition last, no other column is behind it: on these machines, with another
connection committing between reads, a standard page's one query took 155 µs before and 130
after.

SQLite cannot move a column, so the table is rebuilt as its documentation says (make the new
table, copy the rows, drop the old one, give the new one its name, put back its indexes and
triggers), with foreign keys off, outside the runner's transaction since that setting cannot
change inside one, and checked before the commit. PostgreSQL keeps long values apart from the
row (TOAST), so its column order costs nothing and is left as it is.
"""

from peewee import SqliteDatabase

atomic = False  # PRAGMA foreign_keys cannot change inside a transaction: up() opens its own

TABLE = "questionnaire_version"
NEW_TABLE = """CREATE TABLE "questionnaire_version_rebuilt" (
    "id" INTEGER NOT NULL PRIMARY KEY,
    "questionnaire_id" VARCHAR(60) NOT NULL,
    "version" INTEGER NOT NULL,
    "title" VARCHAR(2000) NOT NULL,
    "audience" VARCHAR(20) NOT NULL,
    "loaded_at" DATETIME NOT NULL,
    "loaded_by_id" INTEGER,
    "stamp" INTEGER,
    "definition" TEXT NOT NULL,
    FOREIGN KEY ("loaded_by_id") REFERENCES "user" ("id") ON DELETE SET NULL
)"""
COLUMNS = '"id", "questionnaire_id", "version", "title", "audience", "loaded_at", "loaded_by_id", "stamp", "definition"'


def up(migrator, db):
    if isinstance(db, SqliteDatabase):
        _rebuild(db)


def down(migrator, db):
    """Nothing to undo: no code reads the columns by position, and 0004's down() drops the stamp
    from whichever order it finds."""


def _rebuild(db):
    """Make TABLE anew as NEW_TABLE says, with its rows, every index and trigger as it was, and
    every foreign key still met."""
    keys_on = db.execute_sql("PRAGMA foreign_keys").fetchone()[0]
    db.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        with db.atomic():
            kept = [
                sql
                for (sql,) in db.execute_sql(
                    "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger')"
                    " AND sql IS NOT NULL ORDER BY type, name",
                    (TABLE,),
                ).fetchall()
            ]
            db.execute_sql(NEW_TABLE)
            db.execute_sql(f'INSERT INTO "questionnaire_version_rebuilt" ({COLUMNS}) SELECT {COLUMNS} FROM "{TABLE}"')
            db.execute_sql(f'DROP TABLE "{TABLE}"')
            db.execute_sql(f'ALTER TABLE "questionnaire_version_rebuilt" RENAME TO "{TABLE}"')
            for sql in kept:
                db.execute_sql(sql)
            broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"rebuilding {TABLE} would break foreign keys: {broken}")
    finally:
        if keys_on:
            db.execute_sql("PRAGMA foreign_keys = ON")

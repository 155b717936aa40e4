"""Foreign keys lose the index of their own where a unique index of more columns begins with them.

An answer's (response, question) index finds a response's answers as well as its own index on
the response does, so every answer stored wrote two indexes to do the work of one; the same
held for ten other tables (scores, moderations, drafts, section states...). What was also worse:
PostgreSQL planned a standard's page with the narrower index. It guesses how many answers a
response has from the average, a survey response's handful, so it took the response's index and
filtered, reading all of an audit's 120-odd answers (and the dead versions of those saved since
the last vacuum) to keep the page's twenty. With only the wider index it still reads them all,
but every insert writes one index fewer: in `bench/submit.py`'s default run, the PostgreSQL
server's CPU per S11 save fell from 1.75 ms to 1.41 (docs/benchmarks.md, session 14).

Every constraint stays; only the indexes go, and down() puts them back. Rows are untouched.
"""

# table -> the index that goes, on the key column a wider unique index begins with
COVERED = {
    "action": ("action_audit_id", "audit_id"),
    "answer": ("answer_response_id", "response_id"),
    "answer_score": ("answerscore_response_id", "response_id"),
    "audit": ("audit_cycle_id", "cycle_id"),
    "concern_flag": ("concernflag_response_id", "response_id"),
    "draft": ("draft_user_id", "user_id"),
    "item_score": ("itemscore_audit_id", "audit_id"),
    "moderation": ("moderation_audit_id", "audit_id"),
    "section_state": ("sectionstate_audit_id", "audit_id"),
    "standard_score": ("standardscore_audit_id", "audit_id"),
    "theme_score": ("themescore_response_id", "response_id"),
}


def up(migrator, db):
    for name, _ in COVERED.values():
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')


def down(migrator, db):
    for table, (name, column) in COVERED.items():
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")')

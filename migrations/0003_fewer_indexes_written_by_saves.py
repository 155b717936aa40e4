"""Fewer indexes for a section save to write.

A save writes about a dozen audit-trail rows and its standard's state; each index on them is a
page more in the save's commit. The trail's index on `at` becomes a partial one, on the kinds
the administrators' history lists (answer and status rows never touch it); its index on `user`
and the section state's on `updated_by` go, since nothing reads by them (accounts are
deactivated, never deleted). Rows are untouched.
"""

ADMIN_AT = (
    'CREATE INDEX IF NOT EXISTS "auditevent_admin_at" ON "audit_event" ("at") WHERE ("kind" IN (\'admin\', \'audit\'))'
)


def up(migrator, db):
    migrator.migrate(
        migrator.drop_index("audit_event", "auditevent_at"),
        migrator.drop_index("audit_event", "auditevent_user_id"),
        migrator.drop_index("section_state", "sectionstate_updated_by_id"),
    )
    db.execute_sql(ADMIN_AT)


def down(migrator, db):
    db.execute_sql('DROP INDEX IF EXISTS "auditevent_admin_at"')
    migrator.migrate(
        migrator.add_index("audit_event", ("at",), False),
        migrator.add_index("audit_event", ("user_id",), False),
        migrator.add_index("section_state", ("updated_by_id",), False),
    )

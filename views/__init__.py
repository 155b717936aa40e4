"""Blueprints, page-wide template settings and error pages."""

from __future__ import annotations

from flask import Flask
from jinja2 import BytecodeCache, StrictUndefined
from jinja2.bccache import Bucket

from views import admin, audits, auth, errors, pages, preview, surveys


class SharedBytecodeCache(BytecodeCache):
    """Compiled templates shared by every app in the process: tests build many apps."""

    _store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self._store:
            bucket.bytecode_from_string(self._store[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._store[bucket.key] = bucket.bytecode_to_string()


def init_app(app: Flask) -> None:
    app.jinja_env.bytecode_cache = SharedBytecodeCache()
    app.jinja_env.undefined = StrictUndefined
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    pages.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(preview.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(audits.bp)
    app.register_blueprint(surveys.bp)
    app.register_blueprint(admin.bp)
    errors.init_app(app)

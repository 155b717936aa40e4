"""Blueprints, page-wide template settings and error pages."""

from __future__ import annotations

from flask import Flask
from jinja2 import BytecodeCache, StrictUndefined
from jinja2.bccache import Bucket
from werkzeug.routing import IntegerConverter

from views import admin, audits, auth, concerns, errors, moderation, pages, preview, results, review, surveys
from views.chrome import memoize_macros

GOVUK_MACRO_FILES = ("govuk/forms.html", "govuk/content.html", "govuk/page.html")


class SharedBytecodeCache(BytecodeCache):
    """Compiled templates shared by every app in the process: tests build many apps."""

    _store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self._store:
            bucket.bytecode_from_string(self._store[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._store[bucket.key] = bucket.bytecode_to_string()


class DatabaseId(IntegerConverter):
    """`<int:...>` in every route: a row id, so at most PostgreSQL's largest integer.

    A larger number would reach the database and fail there (a 500); this way it is the same
    404 as any id that does not exist.
    """

    def __init__(self, map, *args, **kwargs) -> None:  # werkzeug's own signature
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = DatabaseId  # before any route is added
    app.jinja_env.bytecode_cache = SharedBytecodeCache()
    app.jinja_env.undefined = StrictUndefined
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    # The GOV.UK macros are globals, so hot pages need no {% from %} import: Jinja re-checks
    # an import's globals on every render, a measurable part of a short page's time.
    for name in GOVUK_MACRO_FILES:
        module = app.jinja_env.get_template(name).module
        app.jinja_env.globals.update({k: getattr(module, k) for k in dir(module) if k.startswith("govuk")})
    memoize_macros(app)  # the page chrome's macros: markup kept per distinct parameters
    pages.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(preview.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(audits.bp)
    app.register_blueprint(surveys.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(moderation.bp)
    app.register_blueprint(results.bp)
    concerns.init_app(app)
    app.register_blueprint(concerns.bp)
    errors.init_app(app)

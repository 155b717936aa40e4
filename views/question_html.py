"""Question markup for a page, rendered once per distinct state and then reused.

Rendering GOV.UK markup for a long S11 page costs about 2 ms (hundreds of escaped values and
macro calls), several times what the rest of the request costs. A question's markup depends
only on the definition and on the state that forms.render.view_keys puts in its key, so the
markup of a blank question, or of one with the same answers as before, is taken from a
bounded cache. CSRF tokens and nonces are not in question markup, so nothing secret is shared.

A page nobody has answered yet (a GET with no answers: every preview, each survey page before
its first save) is the same for everyone but its CSRF token: `blank_page` keeps its question
markup once per definition object, page, band and year, and then gives a `BlankForm` (the CSRF
token, made as the form makes it) instead of building and binding a WTForms form.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date
from types import SimpleNamespace
from typing import Any

from flask import current_app
from markupsafe import Markup

from forms.builder import SectionForm, build_form_class, form_meta
from forms.render import page_views, view_keys
from questionnaires import Questionnaire, Section
from security import csrf_token

MAX_ENTRIES = 20_000
# (id of the definition object, *view key) -> (that object, markup): the object is checked with
# `is` and kept alive by its entry, so a definition built again from edited content (same id and
# version, another object) never gets markup of the old one
_cache: OrderedDict[tuple[Any, ...], tuple[Questionnaire, Markup]] = OrderedDict()
_lock = threading.Lock()


def _macro() -> Any:
    return current_app.jinja_env.get_template("questionnaire/_question.html").module.question


def _use_cache() -> bool:
    return not (current_app.debug or current_app.config.get("TEMPLATES_AUTO_RELOAD"))


def question_html(form: SectionForm) -> list[Markup]:
    """The markup of every question on the page, in order."""
    questionnaire = form.questionnaire
    keys = [(id(questionnaire), *key) for key in view_keys(form)]
    use_cache = _use_cache()
    found: list[Markup | None] = [None] * len(keys)
    if use_cache:
        with _lock:
            for i, key in enumerate(keys):
                entry = _cache.get(key)
                if entry is not None and entry[0] is questionnaire:
                    found[i] = entry[1]
                    _cache.move_to_end(key)
    if all(html is not None for html in found):
        return found  # type: ignore[return-value]
    macro = _macro()
    views = page_views(form)
    out = []
    for key, html, view in zip(keys, found, views, strict=True):
        if html is None:
            html = Markup(macro(view))
            if use_cache:
                with _lock:
                    _cache[key] = (questionnaire, html)
                    if len(_cache) > MAX_ENTRIES:
                        _cache.popitem(last=False)
        out.append(html)
    return out


class BlankForm:
    """What a page's template reads of a form nobody has answered: `meta.csrf` and, when it is
    on, `csrf_token.current_token`, the token a SectionForm would write (made the same way, by
    forms.builder's CSRF class: security.csrf_token with the form's secret and field name)."""

    def __init__(self) -> None:
        self.meta = form_meta()
        if self.meta.csrf:
            self.csrf_token = SimpleNamespace(
                current_token=csrf_token(self.meta.csrf_secret, self.meta.csrf_field_name)
            )


MAX_BLANK_PAGES = 1_000
_blank: dict[tuple[int, int, str | None, int], tuple[Questionnaire, Section, list[Markup]]] = {}


def blank_page(questionnaire: Questionnaire, section: Section, band: str | None) -> tuple[Any, list[Markup]]:
    """The form and question markup of a page with no answers (on this page or any other).

    The first time, the WTForms form is built and its markup rendered as for any page; after
    that, the markup is the same and the form a BlankForm. Keyed by the definition objects
    themselves, checked with `is` (the entry keeps them alive), as forms.builder keys its fields,
    and by the year (date hints show an example date). Only for a GET: a POST is read by a form.
    """
    key = (id(questionnaire), id(section), band, date.today().year)
    found = _blank.get(key) if _use_cache() else None
    if found is not None and found[0] is questionnaire and found[1] is section:
        return BlankForm(), found[2]
    form = build_form_class(questionnaire, section, band)()
    questions = question_html(form)
    if _use_cache() and not form.error_list():
        with _lock:
            if len(_blank) >= MAX_BLANK_PAGES:
                _blank.clear()
            _blank[key] = (questionnaire, section, questions)
    return form, questions

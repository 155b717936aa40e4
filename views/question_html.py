"""Question markup for a page, rendered once per distinct state and then reused.

Rendering GOV.UK markup for a long S11 page costs about 2 ms (hundreds of escaped values and
macro calls), several times what the rest of the request costs. A question's markup depends
only on the definition and on the state that forms.render.view_keys puts in its key, so the
markup of a blank question, or of one with the same answers as before, is taken from a
bounded cache. CSRF tokens and nonces are not in question markup, so nothing secret is shared.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from flask import current_app
from markupsafe import Markup

from forms.builder import SectionForm
from forms.render import page_views, view_keys

MAX_ENTRIES = 20_000
_cache: OrderedDict[tuple[Any, ...], Markup] = OrderedDict()
_lock = threading.Lock()


def _macro() -> Any:
    return current_app.jinja_env.get_template("questionnaire/_question.html").module.question


def question_html(form: SectionForm) -> list[Markup]:
    """The markup of every question on the page, in order."""
    keys = view_keys(form)
    use_cache = not (current_app.debug or current_app.config.get("TEMPLATES_AUTO_RELOAD"))
    with _lock:
        found = [_cache.get(key) for key in keys] if use_cache else [None] * len(keys)
        for key, html in zip(keys, found, strict=True):
            if html is not None:
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
                    _cache[key] = html
                    if len(_cache) > MAX_ENTRIES:
                        _cache.popitem(last=False)
        out.append(html)
    return out

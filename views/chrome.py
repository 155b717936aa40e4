"""The page chrome's GOV.UK macros, rendered once per distinct set of parameters and then reused.

Every page calls the same few macros around its content: the service navigation in
templates/layout.html, a back link, a button. A macro call walks dozens of `'x' in params`
tests and escapes every value, which on a short page (a child's survey page of three questions)
is a sizeable part of the request, yet the markup is a pure function of the parameters: the
macros read nothing else (no request, no session, no globals). So `memoize_macros` replaces
those globals with wrappers that key the markup on the parameters, frozen:

- the key holds every value *with its type*, recursively, so a `str` and a `Markup` of the same
  text (escaped, or not) and `True` and `1` never share an entry;
- the navigation items are parameters, so a signed-in person's navigation (their role's links,
  Sign out) and a visitor's (Sign in) have different keys: one can never appear on the other's
  page, and whichever item is active is in the key too;
- a parameter that cannot be frozen (a `caller` block, an undefined value, any other object)
  means the macro is simply called, exactly as without the cache.

Nothing per request or secret is ever a parameter of these macros (CSRF tokens and CSP nonces
are written by the templates themselves), so nothing secret is kept. The footer and phase
banner are literal text in layout.html, written without any call: they need no cache, and
whatever links the footer has appear as they are.

The cache belongs to one app's Jinja environment, is bounded, and is not used when templates
may change under a running app (debug, TEMPLATES_AUTO_RELOAD).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

from flask import Flask
from markupsafe import Markup

# used on (nearly) every page, with few distinct parameter sets
CHROME_MACROS = ("govukServiceNavigation", "govukBackLink", "govukButton")
MAX_ENTRIES = 2_000

_TYPED_SCALARS = frozenset({int, float, bool, type(None), Markup})


class Unfreezable(Exception):
    """A parameter whose value cannot safely be part of a key: call the macro instead."""


def freeze(value: Any) -> Hashable:
    """A hashable key equal for two values only when the macro would render them the same.

    Every container starts with its type and every scalar but a plain `str` is paired with its
    type, so the key says exactly what the value is (it runs on every page, so it is kept lean).

    >>> freeze({"text": "Back", "href": "/"}) == freeze({"text": "Back", "href": "/"})
    True
    >>> freeze({"text": "<b>"}) == freeze({"text": Markup("<b>")})
    False
    >>> freeze([True]) == freeze([1]), freeze([]) == freeze(()), freeze({}) == freeze([])
    (False, False, False)
    """
    kind = type(value)
    if kind is str:
        return value
    if kind is dict:
        return (dict, *[(freeze(k), freeze(v)) for k, v in value.items()])
    if kind is list or kind is tuple:
        return (kind, *[freeze(v) for v in value])
    if kind in _TYPED_SCALARS:
        return (kind, value)
    raise Unfreezable(kind.__name__)


class MemoizedMacro:
    """Calls `macro(params)` once per distinct frozen `params`; anything else goes straight through."""

    jinja_pass_arg = None  # what Jinja looks for on every call: nothing to pass (saves a failed lookup)

    def __init__(self, macro: Callable[..., Any], enabled: Callable[[], bool]):
        self.macro = macro
        self._enabled = enabled
        self._cache: dict[Hashable, Markup] = {}
        self._lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) != 1 or not self._enabled():
            return self.macro(*args, **kwargs)
        try:
            key = freeze(args[0])
        except Unfreezable:
            return self.macro(*args)
        html = self._cache.get(key)
        if html is None:
            html = Markup(self.macro(*args))
            with self._lock:
                if len(self._cache) >= MAX_ENTRIES:
                    self._cache.clear()  # a few renders to fill it again; never unbounded
                self._cache[key] = html
        return html

    def __len__(self) -> int:
        return len(self._cache)


def memoize_macros(app: Flask, names: tuple[str, ...] = CHROME_MACROS) -> None:
    """Replace these GOV.UK macro globals (views.init_app registers them) with memoized ones."""

    def enabled() -> bool:
        return not (app.debug or app.config.get("TEMPLATES_AUTO_RELOAD"))

    for name in names:
        app.jinja_env.globals[name] = MemoizedMacro(app.jinja_env.globals[name], enabled)

"""Our GOV.UK Jinja macros render the Design System's markup.

Every fixture that govuk-frontend ships for a component we implement
(node_modules/govuk-frontend/dist/govuk/components/<name>/fixtures.json, a
list of {name, options, html}) is rendered with our macro and the fixture's
options, and compared with the fixture's html in a canonical form:

- tags in order, each with its attributes sorted (attribute order is free);
  a bare boolean attribute equals the same attribute with an empty value;
  whitespace inside `class` is collapsed (class="a  b " == class="a b");
- text with character references decoded and every run of whitespace
  collapsed to one space; text that is only whitespace (indentation between
  tags) is dropped. Leading and trailing spaces of real text are kept, so a
  lost space such as "Change<span> name</span>" is still caught.

Fixtures whose options we do not support are listed in SKIPPED with a reason;
today every fixture of every implemented component is supported.

The templates are rendered with a plain jinja2 Environment (autoescape,
StrictUndefined), so these tests need no Flask app. They need the npm
package: run `npm ci` in the project root first.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader, StrictUndefined

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
GOVUK_FRONTEND = ROOT / "node_modules" / "govuk-frontend"
COMPONENTS = GOVUK_FRONTEND / "dist" / "govuk" / "components"
GOVUK_FRONTEND_VERSION = "6.3.0"

if not (COMPONENTS / "radios" / "fixtures.json").is_file():
    pytest.fail(
        f"govuk-frontend fixtures not found under {COMPONENTS}: "
        "run `npm ci` in the project root (it installs the pinned govuk-frontend "
        f"{GOVUK_FRONTEND_VERSION} from package-lock.json), then run the tests again.",
        pytrace=False,
    )
_installed = json.loads((GOVUK_FRONTEND / "package.json").read_text(encoding="utf-8"))["version"]
if _installed != GOVUK_FRONTEND_VERSION:
    pytest.fail(
        f"node_modules has govuk-frontend {_installed}, the project pins {GOVUK_FRONTEND_VERSION}: "
        "run `npm ci` in the project root.",
        pytrace=False,
    )

# component (fixtures folder) -> (template file, macro name)
MACROS: dict[str, tuple[str, str]] = {
    "label": ("govuk/forms.html", "govukLabel"),
    "hint": ("govuk/forms.html", "govukHint"),
    "error-message": ("govuk/forms.html", "govukErrorMessage"),
    "fieldset": ("govuk/forms.html", "govukFieldset"),
    "input": ("govuk/forms.html", "govukInput"),
    "textarea": ("govuk/forms.html", "govukTextarea"),
    "character-count": ("govuk/forms.html", "govukCharacterCount"),
    "radios": ("govuk/forms.html", "govukRadios"),
    "checkboxes": ("govuk/forms.html", "govukCheckboxes"),
    "date-input": ("govuk/forms.html", "govukDateInput"),
    "error-summary": ("govuk/forms.html", "govukErrorSummary"),
    "button": ("govuk/forms.html", "govukButton"),
    "tag": ("govuk/content.html", "govukTag"),
    "inset-text": ("govuk/content.html", "govukInsetText"),
    "warning-text": ("govuk/content.html", "govukWarningText"),
    "details": ("govuk/content.html", "govukDetails"),
    "panel": ("govuk/content.html", "govukPanel"),
    "notification-banner": ("govuk/content.html", "govukNotificationBanner"),
    "table": ("govuk/content.html", "govukTable"),
    "summary-list": ("govuk/content.html", "govukSummaryList"),
    "task-list": ("govuk/content.html", "govukTaskList"),
    "skip-link": ("govuk/page.html", "govukSkipLink"),
    "back-link": ("govuk/page.html", "govukBackLink"),
    "phase-banner": ("govuk/page.html", "govukPhaseBanner"),
    "service-navigation": ("govuk/page.html", "govukServiceNavigation"),
}

# Field components: supported fixtures must stay the large majority.
FIELD_COMPONENTS = {
    "radios",
    "checkboxes",
    "input",
    "textarea",
    "character-count",
    "date-input",
    "error-summary",
    "error-message",
    "hint",
    "label",
    "fieldset",
}

# Fixtures we deliberately do not render, per component: {fixture name: reason}.
# Every fixture of every implemented component passes today, so each list is
# empty; add an entry (with its reason) only for an option we choose not to
# support, e.g. `attributes` in the `{value, optional}` form.
SKIPPED: dict[str, dict[str, str]] = {component: {} for component in MACROS}


def load_fixtures(component: str) -> list[dict]:
    data = json.loads((COMPONENTS / component / "fixtures.json").read_text(encoding="utf-8"))
    return data["fixtures"]


FIXTURES = {component: load_fixtures(component) for component in MACROS}


@pytest.fixture(scope="module")
def env() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined)


_WS = re.compile(r"\s+")


class _Canonical(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[tuple] = []

    def handle_starttag(self, tag, attrs):
        canonical = []
        for name, value in attrs:
            value = "" if value is None else value
            if name == "class":
                value = _WS.sub(" ", value).strip()
            canonical.append((name, value))
        self.out.append(("<", tag, tuple(sorted(canonical))))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self.out.append(("</", tag))

    def handle_endtag(self, tag):
        self.out.append(("</", tag))

    def handle_data(self, data):
        text = _WS.sub(" ", data)
        if not text.strip():
            return
        if self.out and self.out[-1][0] == "text":
            self.out[-1] = ("text", self.out[-1][1] + text)
        else:
            self.out.append(("text", text))


def canonical(html: str) -> list[tuple]:
    parser = _Canonical()
    parser.feed(html)
    parser.close()
    return parser.out


def render(env: Environment, component: str, options: dict) -> str:
    template, macro = MACROS[component]
    return str(getattr(env.get_template(template).module, macro)(options))


def _cases():
    for component, fixtures in FIXTURES.items():
        skipped = SKIPPED[component]
        for fixture in fixtures:
            if fixture["name"] not in skipped:
                yield pytest.param(component, fixture, id=f"{component}: {fixture['name']}")


def _first_difference(got: list, want: list) -> str:
    for index, (a, b) in enumerate(zip(got, want, strict=False)):
        if a != b:
            return f"at item {index}:\n  got  {a!r}\n  want {b!r}"
    return f"lengths differ: got {len(got)} items, want {len(want)}"


@pytest.mark.parametrize(("component", "fixture"), list(_cases()))
def test_macro_matches_fixture(env, component, fixture):
    html = render(env, component, fixture["options"])
    got, want = canonical(html), canonical(fixture["html"])
    assert got == want, (
        f"{component} fixture {fixture['name']!r} differs {_first_difference(got, want)}\n"
        f"--- rendered ---\n{html}\n--- expected ---\n{fixture['html']}"
    )


# An attribute glued to the previous one (class="a"id="b") is tolerated by
# html.parser, so the canonical comparison would not see it.
_GLUED_ATTRIBUTE = re.compile(r'="[^"]*"(?=[^\s/>])')


@pytest.mark.parametrize(("component", "fixture"), list(_cases()))
def test_attributes_are_separated(env, component, fixture):
    html = render(env, component, fixture["options"])
    glued = [html[max(0, m.start() - 30) : m.end() + 10] for m in _GLUED_ATTRIBUTE.finditer(html)]
    assert not glued, f"attributes without a space between them: {glued}"


@pytest.mark.parametrize("component", sorted(MACROS))
def test_skip_list_is_explicit_and_current(component):
    names = {fixture["name"] for fixture in FIXTURES[component]}
    assert FIXTURES[component], f"no fixtures for {component}"
    stale = set(SKIPPED[component]) - names
    assert not stale, f"SKIPPED[{component!r}] names fixtures that do not exist: {sorted(stale)}"
    assert all(reason.strip() for reason in SKIPPED[component].values()), "every skip needs a reason"
    if component in FIELD_COMPONENTS:
        supported = len(names) - len(SKIPPED[component])
        assert supported >= 0.75 * len(names), f"{component}: only {supported} of {len(names)} fixtures supported"


def test_every_public_macro_is_checked_against_fixtures(env):
    """A macro added to templates/govuk/ must get its fixtures checked here."""
    checked = {(template, macro) for template, macro in MACROS.values()}
    for path in sorted((TEMPLATES / "govuk").glob("*.html")):
        template = f"govuk/{path.name}"
        module = env.get_template(template).module
        public = {name for name in dir(module) if name.startswith("govuk")}
        missing = {name for name in public if (template, name) not in checked}
        assert not missing, f"{template}: macros without fixture tests: {sorted(missing)}"


def test_call_blocks_for_content(env):
    """Macros that accept content through {% call %}, as the Nunjucks ones do."""
    page = env.from_string(
        '{% from "govuk/forms.html" import govukFieldset %}'
        '{% from "govuk/content.html" import govukDetails, govukInsetText %}'
        "{% call govukFieldset({'legend': {'text': 'Legend'}}) %}<p>inside</p>{% endcall %}"
        "{% call govukDetails({'summaryText': 'More'}) %}<p>details</p>{% endcall %}"
        "{% call govukInsetText({}) %}<p>inset</p>{% endcall %}"
    ).render()
    assert canonical(page) == canonical(
        '<fieldset class="govuk-fieldset"><legend class="govuk-fieldset__legend"> Legend </legend>'
        "<p>inside</p></fieldset>"
        '<details class="govuk-details"><summary class="govuk-details__summary">'
        '<span class="govuk-details__summary-text"> More </span></summary>'
        '<div class="govuk-details__text"><p>details</p></div></details>'
        '<div class="govuk-inset-text"><p>inset</p></div>'
    )


def test_text_is_escaped_and_none_or_zero_values_render_sensibly(env):
    module = env.get_template("govuk/forms.html").module
    html = str(
        module.govukRadios(
            {
                "name": "q1",
                "value": "b",
                "fieldset": {"legend": {"text": "<b>Legend</b>"}},
                "items": [
                    {"value": "a", "text": "A & <A>"},
                    {"value": "b", "text": "B"},
                    {"value": None, "text": "Other"},
                ],
            }
        )
    )
    assert "&lt;b&gt;Legend&lt;/b&gt;" in html and "A &amp; &lt;A&gt;" in html
    assert 'value="b" checked' in html and 'value="a" checked' not in html
    assert 'value=""' in html and "None" not in html
    table = str(env.get_template("govuk/content.html").module.govukTable({"rows": [[{"text": 0}, {"text": None}]]}))
    cells = re.findall(r'<td class="govuk-table__cell">([^<]*)</td>', table)
    assert cells == ["0", ""]


# ---------------------------------------------------------------- layout.html

PAGE = (
    '{% extends "layout.html" %}'
    "{% block title %}Check your answers{% endblock %}"
    '{% block beforeContent %}<a href="/back" class="govuk-back-link">Back</a>{% endblock %}'
    '{% block content %}<h1 class="govuk-heading-l">Check your answers</h1>{% endblock %}'
    "{% block scripts %}<script nonce=\"{{ csp_nonce|default('') }}\">window.pageScript = 1</script>{% endblock %}"
)


@pytest.fixture(scope="module")
def page_env() -> Environment:
    return Environment(
        loader=ChoiceLoader([DictLoader({"page.html": PAGE}), FileSystemLoader(str(TEMPLATES))]),
        autoescape=True,
        undefined=StrictUndefined,
    )


def test_layout_renders_without_optional_context(page_env):
    html = page_env.get_template("page.html").render()
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="en" class="govuk-template">' in html
    assert '<body class="govuk-template__body">' in html
    assert "<title>Check your answers – Safeguarding audits and surveys</title>" in html
    assert '<main class="govuk-main-wrapper" id="main-content">' in html


def test_layout_error_title_and_nonces(page_env):
    html = page_env.get_template("page.html").render(csp_nonce="n0nce", has_errors=True)
    assert "<title>Error: Check your answers – Safeguarding audits and surveys</title>" in html
    inline_scripts = re.findall(r"<script\b(?![^>]*\bsrc=)[^>]*>", html)
    assert len(inline_scripts) == 3
    assert all('nonce="n0nce"' in tag for tag in inline_scripts), inline_scripts
    assert (
        "<script nonce=\"n0nce\">document.body.className += ' js-enabled' + ('noModule' in "
        "HTMLScriptElement.prototype ? ' govuk-frontend-supported' : '');</script>"
    ) in html
    assert (
        '<script type="module" nonce="n0nce">'
        "import {initAll} from '/assets/govuk-frontend.min.js'; initAll()</script>"
    ) in html
    # GOV.UK Frontend is initialised before the page's own scripts run.
    assert html.index("initAll()") < html.index("window.pageScript")


def test_layout_structure(page_env):
    html = page_env.get_template("page.html").render(
        service_navigation_items=[{"href": "/audits", "text": "Audits", "current": True}],
    )
    order = [
        "js-enabled",
        'class="govuk-skip-link"',
        '<header class="govuk-template__header">',
        'class="govuk-service-navigation"',
        'class="govuk-phase-banner',
        "</header>",
        'class="govuk-back-link"',
        'id="main-content"',
        '<footer class="govuk-template__footer">',
        "initAll()",
    ]
    positions = [html.index(marker) for marker in order]
    assert positions == sorted(positions), dict(zip(order, positions, strict=True))
    assert '<a href="#main-content" class="govuk-skip-link" data-module="govuk-skip-link">' in html
    assert '<a href="/" class="govuk-service-navigation__link">' in html
    assert "Safeguarding audits and surveys" in html
    assert 'href="/audits" aria-current="page"' in html
    assert html.index("/assets/govuk-frontend.min.css") < html.index("/static/app.css")
    assert 'href="/accessibility"' in html and 'href="/privacy"' in html
    # Not a GOV.UK service: no crown, no GOV.UK header, no Crown copyright or OGL.
    for forbidden in (
        "govuk-header",
        "govuk-logo",
        "Crown copyright",
        "govuk-footer__crown",
        "Open Government Licence",
        "govuk-icon",
        "favicon",
    ):
        assert forbidden not in html, forbidden


def test_static_app_css_exists():
    assert (ROOT / "static" / "app.css").is_file()


def test_package_pins_govuk_frontend():
    package = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    assert package["dependencies"] == {"govuk-frontend": GOVUK_FRONTEND_VERSION}
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/govuk-frontend"]["version"] == GOVUK_FRONTEND_VERSION

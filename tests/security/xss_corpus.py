"""A corpus of hostile text, and checks that a page (or a download) shows it harmlessly.

For any test that puts typed text on a page or in a file, e.g. the results pages and downloads:

    from tests.security.xss_corpus import assert_cells_safe, assert_page_clean, payloads

    for payload in payloads():
        ...type it into a field, open each page that shows it...
        assert_page_clean(html, shown=[payload])   # every payload on the page shows as typed
        assert_cells_safe(rows_of_a_csv)           # no cell starts a spreadsheet formula

The page check parses the HTML (html.parser, as a browser would tokenise it) instead of looking
for substrings: a payload that broke out would show up as a script without the page's nonce, an
event-handler attribute, a javascript: address, a dangerous element or a style expression, and
the payload itself would no longer be found, character for character, in one piece of text or
one attribute value (so `{{7*7}}` shown as 49 fails too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser

PAYLOADS: tuple[str, ...] = (
    # script elements, plain and disguised
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//xss.example/x.js></SCRIPT>",
    "<script>alert(String.fromCharCode(88,83,83))</script>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<!--<script>alert(1)//-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    # breaking out of where the text is put: attributes, textareas, titles
    '"><script>alert(1)</script>',
    "'><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    '" onmouseover="alert(1)',
    "' onfocus='alert(1)' autofocus='",
    '" autofocus onfocus=alert(1) x="',
    "`onmouseover=alert(1)`",
    # event handlers
    "<img src=x onerror=alert(1)>",
    '<img src="x" onerror="alert(document.cookie)">',
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    # SVG and MathML
    "<svg onload=alert(1)>",
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '"><svg/onload=alert(1)>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    # javascript: and other dangerous addresses
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.domain)",
    '<a href="javascript:alert(1)">click</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<object data="javascript:alert(1)">',
    '<embed src="javascript:alert(1)">',
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    '<base href="//xss.example/">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<form action="https://xss.example/"><button>Send</button></form>',
    # CSS
    '<div style="background:url(javascript:alert(1))">',
    '<div style="width: expression(alert(1))">',
    "x:expression(alert(1))",
    "<style>@import 'http://xss.example/x.css';</style>",
    # template injection (Jinja and others)
    "{{7*7}}",
    "{{ config.items() }}",
    "{% for x in range(3) %}loop{% endfor %}",
    "{{''.__class__.__mro__[1].__subclasses__()}}",
    "${7*7} #{7*7} <%= 7*7 %>",
    # escapes and look-alikes
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "＜script＞alert(1)＜/script＞",
    "Zoë said «no» – 👍 \u202eevil\u202c",
    # spreadsheet formulas (CSV/XLSX injection)
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://xss.example/","click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"})
NEVER_ON_A_PAGE = frozenset({"iframe", "object", "embed", "frame", "frameset", "applet", "base", "math", "marquee"})
SAFE_SCHEMES = ("http:", "https:", "mailto:", "tel:")


def payloads() -> Iterator[str]:
    """Every payload, once each, in a fixed order."""
    yield from PAYLOADS


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.texts: list[str] = []
        self.in_head = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)

    def _element(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "body":
            self.in_head = False
        if tag in NEVER_ON_A_PAGE:
            self.problems.append(f"a <{tag}> element")
        own_stylesheet = tag == "link" and re.match(r"^/[^/\\]", values.get("href", "")) is not None
        if tag in ("meta", "link", "style") and not self.in_head and not own_stylesheet:
            self.problems.append(f"a <{tag}> element in the body")
        if tag == "script" and "nonce" not in values and not values.get("src", "").startswith("/"):
            self.problems.append(f"a script without the page's nonce: {values}")
        for name, value in values.items():
            self.texts.append(value)
            if name.startswith("on"):
                self.problems.append(f"an event handler attribute {name}={value!r} on <{tag}>")
            if name == "style" and re.search(r"expression|url\(|javascript|@import", value, re.IGNORECASE):
                self.problems.append(f"a style attribute {value!r} on <{tag}>")
            if name in URL_ATTRIBUTES:
                address = re.sub(r"[\x00-\x20]", "", value).lower()
                scheme = re.match(r"^[a-z][a-z0-9+.-]*:", address)
                if scheme and not address.startswith(SAFE_SCHEMES):
                    self.problems.append(f"a {scheme.group(0)} address in {name} on <{tag}>: {value!r}")

    def handle_data(self, data: str) -> None:
        self.texts.append(data)


def page_problems(html: str, shown: Iterable[str] = ()) -> list[str]:
    """What is wrong with a page that shows `shown` (text typed by someone): [] when nothing."""
    page = _Page()
    page.feed(html)
    page.close()
    problems = list(page.problems)
    for text in shown:
        if not any(text in piece for piece in page.texts):
            problems.append(f"{text!r} is not on the page as typed")
    return problems


def assert_page_clean(html: str, shown: Iterable[str] = ()) -> None:
    """No injected script, handler, address, element or style; and each of `shown` as typed."""
    problems = page_problems(html, shown)
    assert not problems, "\n".join(problems)


def assert_cells_safe(cells: Iterable[object]) -> None:
    """No cell of a CSV or XLSX download starts what a spreadsheet would run as a formula."""
    risky = [cell for cell in cells if isinstance(cell, str) and cell.startswith(FORMULA_STARTS)]
    assert not risky, f"cells a spreadsheet would run as formulas: {risky}"

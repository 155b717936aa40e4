"""A plain HTTP client that uses the app as a browser without JavaScript would.

Standard library only (urllib and http.cookiejar: the project installs no HTTP client). Each
Browser keeps its own cookies, reads the forms on a page (hidden fields with their CSRF token,
checked radios, typed text) and sends them back with the button pressed. Redirects are followed
by hand, so a request that dies on the way (a worker killed under it) is known and can be sent
again exactly as it was, cookies and all, as a person pressing the button again would.
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from urllib.parse import urlencode, urljoin, urlsplit

# What a request that died under the client looks like: the connection reset or closed with no
# answer (a killed worker), refused, or timed out.
DIED = (OSError, http.client.HTTPException)


@dataclass
class Page:
    status: int
    path: str
    html: str
    headers: dict[str, str]

    def forms(self) -> list[Form]:
        parser = FormParser()
        parser.feed(self.html)
        parser.close()
        return parser.forms

    def form(self, action: str | None = None) -> Form:
        """The page's form that posts to `action` (default: the page itself)."""
        wanted = action or self.path
        for form in self.forms():
            if form.method == "post" and (form.action or self.path) == wanted:
                return form
        raise AssertionError(f"no form posting to {wanted} on {self.path} ({self.status})")


@dataclass
class Form:
    method: str
    action: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # what a browser would send as it is
    radios: dict[str, list[str]] = field(default_factory=dict)  # every radio group and its values
    textareas: list[str] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def value(self, name: str) -> str | None:
        return next((v for k, v in self.fields if k == name), None)

    def set(self, name: str, value: str) -> None:
        """Type or choose `value` for `name`, replacing what the page had."""
        self.fields = [(k, v) for k, v in self.fields if k != name] + [(name, value)]

    def data(self, button: tuple[str, str] | None = None) -> list[tuple[str, str]]:
        return self.fields + ([button] if button else [])


class FormParser(HTMLParser):
    """Forms and their successful controls (HTML's form submission rules, the parts used here)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.form: Form | None = None
        self.textarea: tuple[str, list[str]] | None = None
        self.select: str | None = None
        self.select_value: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.form = Form(a.get("method", "get").lower(), a.get("action", ""))
            self.forms.append(self.form)
            return
        if self.form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind == "radio":
                self.form.radios.setdefault(name, []).append(a.get("value", "on"))
            if kind in ("radio", "checkbox"):
                if "checked" in a:
                    self.form.fields.append((name, a.get("value", "on")))
            elif kind in ("submit", "button", "image"):
                self.form.buttons.append((name, a.get("value", "")))
            elif kind != "file":
                self.form.fields.append((name, a.get("value", "")))
        elif tag == "button" and name:
            self.form.buttons.append((name, a.get("value", "")))
        elif tag == "textarea" and name:
            self.textarea = (name, [])
            self.form.textareas.append(name)
        elif tag == "select" and name:
            self.select, self.select_value = name, None
        elif tag == "option" and self.select is not None and ("selected" in a or self.select_value is None):
            self.select_value = a.get("value", "")

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.textarea[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self.textarea is not None and self.form is not None:
            text = "".join(self.textarea[1])
            self.form.fields.append((self.textarea[0], text[1:] if text.startswith("\n") else text))
            self.textarea = None
        elif tag == "select" and self.select is not None and self.form is not None:
            self.form.fields.append((self.select, self.select_value or ""))
            self.select = None
        elif tag == "form":
            self.form = None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the 3xx comes back as an HTTPError: Browser follows it itself


class Tally:
    """Every answer the server gave, by status, and every request that died; shared by threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.died = 0
        self.requests = 0
        self.failures: list[str] = []  # 5xx answers, with what was asked

    def answered(self, method: str, path: str, page: Page) -> None:
        with self.lock:
            self.requests += 1
            self.statuses[page.status] += 1
            if page.status >= 500 and len(self.failures) < 20:
                self.failures.append(f"{page.status} {method} {path}: {page.html[:300]}")

    def lost(self) -> None:
        with self.lock:
            self.requests += 1
            self.died += 1


class Browser:
    """One person's browser: cookies, forms, redirects, and pressing the button again when a
    request died with no answer (at most `retries` times, `pause` seconds apart)."""

    def __init__(self, base: str, tally: Tally, retries: int = 0, pause: float = 0.2, timeout: float = 30):
        self.base = base
        self.tally = tally
        self.retries = retries
        self.pause = pause
        self.timeout = timeout
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirects)

    def _once(self, method: str, path: str, data: list[tuple[str, str]] | None) -> Page:
        body = urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(urljoin(self.base, path), data=body, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                page = Page(response.status, path, response.read().decode(), dict(response.headers))
        except urllib.error.HTTPError as error:  # 3xx (not followed by urllib), 4xx, 5xx
            with error:
                page = Page(error.code, path, error.read().decode(errors="replace"), dict(error.headers))
        self.tally.answered(method, path, page)
        return page

    def request(self, method: str, path: str, data: list[tuple[str, str]] | None = None, hops: int = 10) -> Page:
        """One request, sent again as it was if it died; then its redirect, the same way."""
        for attempt in range(self.retries + 1):
            try:
                page = self._once(method, path, data)
                break
            except DIED:
                self.tally.lost()
                if attempt == self.retries:
                    raise
                time.sleep(self.pause)
        if page.status not in (301, 302, 303, 307, 308) or hops == 0:
            return page
        location = urlsplit(urljoin(self.base + path, page.headers["Location"]))
        return self.request("GET", location.path + (f"?{location.query}" if location.query else ""), hops=hops - 1)

    def get(self, path: str) -> Page:
        return self.request("GET", path)

    def post(self, path: str, data: list[tuple[str, str]]) -> Page:
        return self.request("POST", path, data)

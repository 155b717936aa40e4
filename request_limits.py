"""Limits on what one request may be and how often a client may ask, for the pages anyone can reach.

Bodies: a request whose Content-Length is over MAX_CONTENT_LENGTH is refused before anything
reads it, and so is a form with more than MAX_FORM_PARTS fields (werkzeug counts the parts of
multipart forms itself, but not of ordinary url-encoded ones, which is what every page posts).
Both get the same kind of GOV.UK page as every other error, with status 413.

Rates: the anonymous survey pages, the single-use code a child types and the sign-in form are
counted per client and refused with a 429 page past the limits in config (RATELIMIT_*, rate
strings like "600 per minute"). The defaults are generous enough that a whole class answering on
a school's wifi, behind one address, is never stopped, while a script hammering a page is.
Wrong codes and failed sign-ins are what is counted there (a right one costs nothing), so a class
typing its codes uses none of the allowance, and a password guesser is stopped after a few tries
per account however many addresses it uses.

Anonymity: a client is known to the counters only by an HMAC of its address under the app's
secret key (IPv6 by its /64, which is one household or device). The counters live in memory, or
in Redis when REDIS_URL is set (so that every app process behind a load balancer shares them),
and expire with their window: no address is ever stored or logged. X-Forwarded-For is believed
only for the number of proxies TRUSTED_PROXY_COUNT says are in front of the app: otherwise
anyone could name a new address with each request.

Nothing typed is lost: a survey page refused for its rate carries what was posted in hidden
fields of the 429 page, whose button sends it again once the wait is over. Passwords are never
carried; the sign-in page is simply asked again.

The counting itself is Flask-Limiter's (limits' fixed windows and its Redis storage; in one
process, the small ProcessCounters below; a survey page's one count is made by
count_survey_page on the limiter's own storage, skipping its per-request work):
one Limiter per app, so the test suite's many apps never share counters by accident, with the
rules below as application-wide limits that each pick their own requests, so no view needs a
decorator.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flask import Flask, current_app, g, render_template, request
from flask.wrappers import Response
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded
from flask_limiter._limits import RuntimeLimit
from limits import RateLimitItem, parse
from limits.storage import Storage
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

DEFAULTS: dict[str, Any] = {
    "REDIS_URL": None,  # redis://host:6379/0: counters shared by every app process
    "TRUSTED_PROXY_COUNT": 0,  # proxies in front of the app whose X-Forwarded-For is believed
    "RATELIMIT_SURVEY_PAGES": "1200 per minute",  # survey pages opened, per client
    "RATELIMIT_SURVEY_POSTS": "600 per minute",  # survey pages sent, per client
    "RATELIMIT_WRONG_CODES": "60 per 10 minutes",  # single-use codes that did not work, per client
    "RATELIMIT_SIGN_IN_ACCOUNT": "10 per minute",  # failed sign-ins, per email address
    "RATELIMIT_SIGN_IN_CLIENT": "60 per minute",  # failed sign-ins, per client
}
KEY_PREFIX = "safeguarding"
REDIS_TIMEOUT_SECONDS = 2  # a stalled Redis costs a request this much, then the in-memory fallback counts


# ---------------------------------------------------------------------------------------------
# Counters in this process, when there is no Redis


class ProcessCounters(Storage):
    """Fixed-window counters in this process's memory (`process://`), each dropped when touched
    after its window, and all expired ones swept once a minute.

    limits' own memory storage starts a timer thread whenever a count is made after its last one
    finished: on a loaded machine that thread start cost milliseconds per request, more than the
    page itself. These counters need no thread.
    """

    STORAGE_SCHEME = ["process"]
    SWEEP_SECONDS = 60

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any) -> None:
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (count, when its window ends)
        self._lock = threading.Lock()
        self._next_sweep = 0.0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception]:
        return ValueError

    def _live(self, key: str, now: float) -> tuple[int, float] | None:
        found = self._counts.get(key)
        if found is not None and found[1] <= now:
            del self._counts[key]
            return None
        return found

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        with self._lock:
            if now >= self._next_sweep:
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
                self._next_sweep = now + self.SWEEP_SECONDS
            count, ends = self._live(key, now) or (0, now + expiry)
            self._counts[key] = (count + amount, ends)
            return count + amount

    def get(self, key: str) -> int:
        with self._lock:
            found = self._live(key, time.time())
        return found[0] if found else 0

    def get_expiry(self, key: str) -> float:
        with self._lock:
            found = self._live(key, time.time())
        return found[1] if found else time.time()

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._lock:
            count, self._counts = len(self._counts), {}
        return count

    def clear(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)

    def keys(self) -> list[str]:
        """The keys counted now (the tests look for addresses in them)."""
        with self._lock:
            return list(self._counts)


# ---------------------------------------------------------------------------------------------
# Who is asking: keyed hashes, never addresses


def _keyed(kind: str, value: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, f"rate-limit|{kind}|{value}".encode(), hashlib.sha256).hexdigest()[:32]


def client_address(address: str | None) -> str:
    """The part of an address that names one client: IPv4 whole, IPv6 by its /64.

    >>> client_address("203.0.113.7")
    '203.0.113.7'
    >>> client_address("2001:db8:1:2:aaaa::1") == client_address("2001:db8:1:2:bbbb::9")
    True
    >>> client_address("::ffff:203.0.113.7")
    '203.0.113.7'
    """
    try:
        parsed = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return address or "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def client_key() -> str:
    return _keyed("client", client_address(request.remote_addr))


def account_key() -> str:
    """The email address typed on the sign-in form, hashed; counted whether or not it exists."""
    try:
        email = request.form.get("email", "")
    except HTTPException:  # an unreadable body is refused elsewhere; it must not break counting
        email = ""
    return _keyed("account", email.strip().lower())


# ---------------------------------------------------------------------------------------------
# Which requests each rule counts


def _survey_get() -> bool:
    return request.blueprint == "surveys" and request.method == "GET"


def _survey_post() -> bool:
    return request.blueprint == "surveys" and request.method == "POST"


def _code_attempt() -> bool:
    """A code in a link, or one typed on a link's first page (only code links take a post there)."""
    return request.endpoint == "surveys.start_with_code" or (
        request.endpoint == "surveys.start" and request.method == "POST"
    )


def _wrong_code(response: Response) -> bool:
    """A refusal, or the code page shown again with its problem (a right code redirects)."""
    return response.status_code >= 400 or (request.method == "POST" and response.status_code == 200)


def _sign_in_post() -> bool:
    return request.endpoint == "auth.sign_in" and request.method == "POST"


def _failed_sign_in(response: Response) -> bool:
    return response.status_code != 302


@dataclass(frozen=True)
class Rule:
    scope: str
    setting: str
    applies: Callable[[], bool]
    key: Callable[[], str] = client_key
    counts: Callable[[Response], bool] | None = None  # None: every request it applies to
    carries_post: bool = False  # its 429 page offers to send the refused post again


RULES = (
    Rule("survey-pages", "RATELIMIT_SURVEY_PAGES", _survey_get),
    Rule("survey-posts", "RATELIMIT_SURVEY_POSTS", _survey_post, carries_post=True),
    Rule("wrong-codes", "RATELIMIT_WRONG_CODES", _code_attempt, counts=_wrong_code),
    Rule("sign-in-account", "RATELIMIT_SIGN_IN_ACCOUNT", _sign_in_post, key=account_key, counts=_failed_sign_in),
    Rule("sign-in-client", "RATELIMIT_SIGN_IN_CLIENT", _sign_in_post, counts=_failed_sign_in),
)
RULES_BY_SCOPE = {rule.scope: rule for rule in RULES}
_SURVEY_RULES = {"GET": RULES_BY_SCOPE["survey-pages"], "POST": RULES_BY_SCOPE["survey-posts"]}

ADVICE = {
    "survey-pages": "A lot of pages have been opened from your internet connection in a short time. "
    "This can happen when many people share the same wifi.",
    "survey-posts": "A lot of answers have been sent from your internet connection in a short time. "
    "This can happen when many people share the same wifi.",
    "wrong-codes": "A lot of codes that did not work have been tried from your internet connection.",
    "sign-in-account": "There have been too many attempts to sign in to this account.",
    "sign-in-client": "There have been too many attempts to sign in from your internet connection.",
}


def _application_limit(app: Flask, rule: Rule) -> ApplicationLimit:
    return ApplicationLimit(
        limit_provider=lambda: app.config[rule.setting],
        key_function=rule.key,
        scope=rule.scope,
        exempt_when=lambda: not rule.applies(),
        deduct_when=rule.counts,
    )


# ---------------------------------------------------------------------------------------------
# The survey pages' own count, without the limiter's per-request work


@lru_cache(maxsize=32)
def _rate(text: str) -> RateLimitItem:
    return parse(text)


def count_survey_page() -> None:
    """Count a survey page against its one rule here, as Flask-Limiter would, in a fraction of
    its time (working out and parsing its limits for every request was a tenth of a page save).

    Same counter (the limiter's own storage and key: prefix, keyed client, scope), same
    fixed window, same 429. Only when the page's rule is the only one that applies (a code in
    the link is also counted as a code attempt: that request is left to the limiter), and only
    while the storage answers: a storage error, or a storage already found dead, leaves the
    request to Flask-Limiter, which falls back to counting in memory, checks for the storage's
    recovery, or lets the request through, exactly as before.
    """
    if request.blueprint != "surveys" or _code_attempt():
        return
    rule = _SURVEY_RULES.get(request.method)
    limiter: Limiter | None = current_app.extensions.get("rate_limiter")
    if rule is None or limiter is None or not limiter.enabled or limiter._storage_dead:
        return
    item = _rate(current_app.config[rule.setting])
    args = (KEY_PREFIX, client_key(), rule.scope)
    try:
        allowed = limiter.limiter.hit(item, *args)
    except Exception:  # the limiter counts this request itself, with its fallback
        return
    g.survey_page_counted = True
    if not allowed:
        g.rate_limit_reset_at = limiter.limiter.get_window_stats(item, *args).reset_time
        raise RateLimitExceeded(RuntimeLimit(item, client_key, rule.scope, shared=True))


def _left_to_the_limiter() -> bool:
    """Flask-Limiter's request filter: a request is exempt there when no rule applies, or when
    its survey page was counted already (count_survey_page)."""
    return bool(g.get("survey_page_counted")) or not any(rule.applies() for rule in RULES)


# ---------------------------------------------------------------------------------------------
# Bodies


class TooManyParts(RequestEntityTooLarge):
    """A form with more fields than MAX_FORM_PARTS."""


def refuse_oversized() -> None:
    """Before anything reads the body (the rate limiter's sign-in count reads the form): too long,
    too many url-encoded fields, or too many multipart parts (werkzeug's count) is a 413 here."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    if request.method != "POST":
        return
    # a chunked body: werkzeug stops reading at the limit without a word, which would hand the
    # page a form cut short; what is read is cached, and the form is parsed from that
    chunked = limit and request.content_length is None and request.environ.get("wsgi.input_terminated")
    if chunked and len(request.get_data(cache=True)) >= limit and request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()
    if request.mimetype == "application/x-www-form-urlencoded":
        parts = current_app.config.get("MAX_FORM_PARTS")
        if parts and request.get_data(cache=True).count(b"&") >= parts:
            raise TooManyParts()
    request.form  # noqa: B018 -- parsed now, so werkzeug's refusals are raised here and not swallowed later


def too_large(error: RequestEntityTooLarge) -> tuple[str, int]:
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    within_size = limit is not None and request.content_length is not None and request.content_length <= limit
    title, again = "What you sent is too large", "Go back to the page, check it and try again."
    if isinstance(error, TooManyParts):
        title = "What you sent has too many parts"
        advice = f"A page can send at most {current_app.config.get('MAX_FORM_PARTS') or 0:,} answers at once. {again}"
    elif within_size:  # werkzeug's own limits on a multipart form: its parts, or one part's size
        advice = f"It had too many answers, or an answer that was too long. {again}"
    else:
        advice = "Shorten your longest answers, or send fewer pieces of evidence at once, and try again."
    return render_template("errors/error.html", title=title, advice=advice, code=413), 413


# ---------------------------------------------------------------------------------------------
# The 429 page


def wait_words(seconds: int) -> str:
    """
    >>> wait_words(1), wait_words(45), wait_words(60), wait_words(61), wait_words(600)
    ('1 second', '45 seconds', '1 minute', '2 minutes', '10 minutes')
    """
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _carried_fields() -> list[tuple[str, str]]:
    """What was posted, to send again: everything but passwords (the token is needed to send it)."""
    try:
        return [(k, v) for k, v in request.form.items(multi=True) if "password" not in k.lower()]
    except HTTPException:
        return []


def too_many(error: RateLimitExceeded) -> Response:
    limiter: Limiter = current_app.extensions["rate_limiter"]
    current = limiter.current_limit
    reset_at = g.get("rate_limit_reset_at")
    if reset_at is None:
        reset_at = current.window.reset_time if current is not None else time.time() + error.limit.limit.get_expiry()
    seconds = max(1, math.ceil(reset_at - time.time()))
    rule = RULES_BY_SCOPE.get(str(error.limit.scope))
    carried = _carried_fields() if rule is not None and rule.carries_post and request.method == "POST" else []
    anonymous = request.blueprint == "surveys"
    page = render_template(
        "errors/too_many_requests.html",
        reason=ADVICE.get(rule.scope if rule else "", ADVICE["survey-pages"]),
        wait=wait_words(seconds),
        carried=carried,
        action=request.full_path if request.query_string else request.path,
        signing_in=rule is not None and rule.scope.startswith("sign-in"),
        codes=rule is not None and rule.scope == "wrong-codes",
        **({"service_navigation_items": []} if anonymous else {}),
    )
    response = current_app.response_class(page, status=429, mimetype="text/html")
    response.headers["Retry-After"] = str(seconds)
    return response


# ---------------------------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    proxies = int(app.config.get("TRUSTED_PROXY_COUNT") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.before_request(refuse_oversized)  # before the limiter's own hook, which may read the form
    app.before_request(count_survey_page)  # before the limiter's hook, which then skips the page
    app.register_error_handler(RequestEntityTooLarge, too_large)
    app.register_error_handler(RateLimitExceeded, too_many)

    redis_url = app.config.get("REDIS_URL")
    limiter = Limiter(
        client_key,
        storage_uri=redis_url or "process://",
        storage_options={"socket_timeout": REDIS_TIMEOUT_SECONDS, "socket_connect_timeout": REDIS_TIMEOUT_SECONDS}
        if redis_url
        else {},
        strategy="fixed-window",
        key_prefix=KEY_PREFIX,
        headers_enabled=False,
        swallow_errors=True,  # a counting failure never turns an answer away
        in_memory_fallback_enabled=bool(redis_url),  # Redis unreachable: count in this process meanwhile
        fail_on_first_breach=True,
        application_limits=[_application_limit(app, rule) for rule in RULES],
    )
    limiter.init_app(app)
    # Most requests (every signed-in page, the previews, assets) are ones no rule applies to: say
    # so first, and the limiter skips working out and parsing its limits for them, about a quarter
    # of a short page's time. A request that some rule applies to is checked exactly as before.
    limiter.request_filter(_left_to_the_limiter)
    app.extensions["rate_limiter"] = limiter

"""Limits on what one request may be and how often a client may ask, for the pages anyone can reach.

Bodies: a request whose Content-Length is over MAX_CONTENT_LENGTH is refused before anything
reads it, and so is a form with more than MAX_FORM_PARTS fields (werkzeug counts the parts of
multipart forms itself, but not of ordinary url-encoded ones, which is what every page posts).
Both get the same kind of GOV.UK page as every other error, with status 413.

Rates: the anonymous survey pages, the single-use code a child types and the sign-in form are
counted per client and refused with a 429 page past the limits in config (RATELIMIT_*, rate
strings like "600 per minute"; RATELIMIT_ENABLED false, read when the app is made, turns them
off). The defaults are generous enough that a whole class answering on a school's wifi, behind
one address, is never stopped, while a script hammering a page is. Wrong codes and failed
sign-ins are what is counted there (a right one costs nothing), so a class typing its codes uses
none of the allowance, and a password guesser is stopped after a few tries per account however
many addresses it uses.

Anonymity: a client is known to the counters only by an HMAC of its address under the app's
secret key (IPv6 by its /64, which is one household or device). The counters live in memory, or
in Redis when REDIS_URL is set (so that every app process behind a load balancer shares them),
and expire with their window: no address is ever stored or logged. X-Forwarded-For is believed
only for the number of proxies TRUSTED_PROXY_COUNT says are in front of the app: otherwise
anyone could name a new address with each request.

Nothing typed is lost: a survey page refused for its rate carries what was posted in hidden
fields of the 429 page, whose button sends it again once the wait is over. Passwords are never
carried; the sign-in page is simply asked again.

The counting is our own few lines on the `limits` library (its fixed windows and Redis storage;
in one process, the small ProcessCounters below), not Flask-Limiter: that extension's
before/after/teardown hooks worked out and parsed its limits on every request, including the
many no rule applies to (signed-in pages, previews, assets), about a tenth of a short page's
time. Here one before-request hook looks at the endpoint and returns at once unless the request
is a survey page or a sign-in post; only a request some rule applies to touches the counters,
and only one whose count depends on its answer (a code, a sign-in) adds an after-request step.
One RateLimits per app, so the test suite's many apps never share counters by accident.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flask import Flask, after_this_request, current_app, g, render_template, request
from flask.wrappers import Response
from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "REDIS_URL": None,  # redis://host:6379/0: counters shared by every app process
    "TRUSTED_PROXY_COUNT": 0,  # proxies in front of the app whose X-Forwarded-For is believed
    "RATELIMIT_ENABLED": True,  # false: nothing is counted or refused (read when the app is made)
    "RATELIMIT_SURVEY_PAGES": "1200 per minute",  # survey pages opened, per client
    "RATELIMIT_SURVEY_POSTS": "600 per minute",  # survey pages sent, per client
    "RATELIMIT_WRONG_CODES": "60 per 10 minutes",  # single-use codes that did not work, per client
    "RATELIMIT_SIGN_IN_ACCOUNT": "10 per minute",  # failed sign-ins, per email address
    "RATELIMIT_SIGN_IN_CLIENT": "60 per minute",  # failed sign-ins, per client
}
KEY_PREFIX = "safeguarding"
REDIS_TIMEOUT_SECONDS = 2  # a stalled Redis costs a request this much, then the in-memory fallback counts
REDIS_RECHECK_SECONDS = 5  # while Redis is down, it is asked whether it is back at most this often


# ---------------------------------------------------------------------------------------------
# Counters in this process: without Redis, or while Redis is down


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

ADVICE = {
    "survey-pages": "A lot of pages have been opened from your internet connection in a short time. "
    "This can happen when many people share the same wifi.",
    "survey-posts": "A lot of answers have been sent from your internet connection in a short time. "
    "This can happen when many people share the same wifi.",
    "wrong-codes": "A lot of codes that did not work have been tried from your internet connection.",
    "sign-in-account": "There have been too many attempts to sign in to this account.",
    "sign-in-client": "There have been too many attempts to sign in from your internet connection.",
}


def may_apply(endpoint: str | None) -> bool:
    """Whether any rule can apply to a request for this endpoint: the hook's first test, which
    every other request (signed-in pages, previews, assets, pages not found) stops at.

    >>> may_apply("surveys.section"), may_apply("auth.sign_in"), may_apply("preview.page"), may_apply(None)
    (True, True, False, False)
    """
    return endpoint is not None and (endpoint.startswith("surveys.") or endpoint == "auth.sign_in")


# ---------------------------------------------------------------------------------------------
# Counting


@lru_cache(maxsize=32)
def _rate(text: str) -> RateLimitItem:
    """A rate from config, parsed once per distinct string (read per request: tests change it)."""
    return parse(text)


class RateLimited(TooManyRequests):
    """A request past one rule's limit; the 429 page says why, and how long is left of the window."""

    def __init__(self, rule: Rule, reset_at: float) -> None:
        super().__init__()
        self.rule = rule
        self.reset_at = reset_at


Counted = tuple[Rule, RateLimitItem, tuple[str, str, str]]


class RateLimits:
    """The counters of one app (`app.extensions["rate_limiter"]`), which count_request and
    count_answer (the hooks, below) count with.

    The rules that apply to a request are counted in fixed windows, each under KEY_PREFIX, its
    keyed client (or account) and its scope, in the order of RULES (shorter window units first,
    as Flask-Limiter sorted them); the first one past its limit refuses the request, and the
    rules after it are not counted. A rule that counts on the answer (a wrong code, a failed
    sign-in) is only tested before the view (is there room for one more?), and the view's
    response decides afterwards whether it costs one: a right code or a good password costs
    nothing, and a refusal of such a request counts as a failure, as it did with Flask-Limiter.

    With Redis, a count that fails (Redis down, or slower than REDIS_TIMEOUT_SECONDS) is made
    again in this process's memory, and so is every count after it until Redis answers a ping,
    asked at most every REDIS_RECHECK_SECONDS by the request that finds the time has come. An
    error counting in memory, or without Redis, is logged and the request goes on: counting
    never turns a request away, only a limit does.
    """

    def __init__(self, redis_url: str | None, enabled: bool = True) -> None:
        self.enabled = enabled
        self.fallback: ProcessCounters | None = None
        if redis_url:
            timeouts = {"socket_timeout": REDIS_TIMEOUT_SECONDS, "socket_connect_timeout": REDIS_TIMEOUT_SECONDS}
            self.storage: Storage = storage_from_string(redis_url, **timeouts)
            self.fallback = ProcessCounters()
        else:
            self.storage = ProcessCounters()
        self._main = FixedWindowRateLimiter(self.storage)
        self._spare = FixedWindowRateLimiter(self.fallback) if self.fallback is not None else None
        self.storage_down = False  # counting in self.fallback until self.storage answers again
        self._recheck_at = 0.0

    @property
    def counters(self) -> FixedWindowRateLimiter:
        return self._spare if self.storage_down and self._spare is not None else self._main

    def count(self, rules: list[Rule]) -> None:
        """Count this request against the rules that apply to it; RateLimited past a limit."""
        try:
            items = sorted(
                ((rule, _rate(current_app.config[rule.setting])) for rule in rules),
                key=lambda pair: pair[1].GRANULARITY.seconds,
            )
        except Exception:  # a rate config cannot parse: not the visitor's fault
            log.exception("rate limit not counted: a RATELIMIT_* setting is not a rate")
            return
        if self.storage_down and time.time() >= self._recheck_at:
            self._recheck()
        counters = self.counters
        try:
            refusal = self._count_on(counters, items)
        except Exception:
            if counters is self._main and self._spare is not None:
                self._fail_over()
                try:
                    refusal = self._count_on(self._spare, items)
                except Exception:
                    log.exception("rate limit not counted, in memory either: the request goes on")
                    return
            else:
                log.exception("rate limit not counted: the request goes on")
                return
        if refusal is not None:
            raise refusal

    def _count_on(
        self, counters: FixedWindowRateLimiter, items: list[tuple[Rule, RateLimitItem]]
    ) -> RateLimited | None:
        on_answer: list[Counted] = []
        refusal = None
        for rule, item in items:
            ids = (KEY_PREFIX, rule.key(), rule.scope)
            if rule.counts is None:
                allowed = counters.hit(item, *ids)
            else:
                on_answer.append((rule, item, ids))
                allowed = counters.test(item, *ids)
            if not allowed:
                refusal = RateLimited(rule, self._reset_at(counters, item, ids))
                break
        if on_answer:  # the only requests that take an after-request step: a code, a sign-in
            g.rate_limit_on_answer = on_answer
            after_this_request(count_answer)
        return refusal

    def count_answer(self, on_answer: list[Counted], response: Response) -> Response:
        """Charge the rules tested before the view whose answer counts (see count_answer below)."""
        costs = [(item, ids) for rule, item, ids in on_answer if rule.counts and rule.counts(response)]
        if not costs:
            return response
        counters = self.counters
        try:
            for item, ids in costs:
                counters.hit(item, *ids)
        except Exception:
            if counters is self._main and self._spare is not None:
                self._fail_over()
                try:
                    for item, ids in costs:
                        self._spare.hit(item, *ids)
                except Exception:
                    log.exception("failure not counted, in memory either")
            else:
                log.exception("failure not counted")
        return response

    @staticmethod
    def _reset_at(counters: FixedWindowRateLimiter, item: RateLimitItem, ids: tuple[str, ...]) -> float:
        try:
            return counters.get_window_stats(item, *ids).reset_time
        except Exception:  # the count was made, but its window cannot be read: a whole window
            return time.time() + item.get_expiry()

    def _fail_over(self) -> None:
        log.warning("rate-limit storage unreachable: counting in this process until it answers", exc_info=True)
        self.storage_down = True
        self._recheck_at = time.time() + REDIS_RECHECK_SECONDS

    def _recheck(self) -> None:
        self._recheck_at = time.time() + REDIS_RECHECK_SECONDS  # first, so other threads do not ask too
        if self.storage.check():  # limits' Redis storage: a ping, False on any error
            self.storage_down = False
            log.warning("rate-limit storage answers again: counting there")


def count_request() -> None:
    """The one rate-limit hook on every request: it returns at once unless some rule may apply.

    A plain function (not a method, nor a new function per request), so the app's memory of which
    hooks are plain holds it; the counters are looked up only for a request that is counted."""
    if not may_apply(request.endpoint):
        return
    rules = [rule for rule in RULES if rule.applies()]
    if rules:
        current_app.extensions["rate_limiter"].count(rules)


def count_answer(response: Response) -> Response:
    """After the view, for a request counted on its answer only (after_this_request): a wrong code
    or a failed sign-in, or a refusal of one, costs one; a right one costs nothing."""
    return current_app.extensions["rate_limiter"].count_answer(g.rate_limit_on_answer, response)


# ---------------------------------------------------------------------------------------------
# Bodies


class TooManyParts(RequestEntityTooLarge):
    """A form with more fields than MAX_FORM_PARTS."""


def refuse_oversized() -> None:
    """Before anything reads the body (the sign-in counts read the form): too long,
    too many url-encoded fields, or too many multipart parts (werkzeug's count) is a 413 here."""
    environ = request.environ
    if not environ.get("CONTENT_LENGTH") and environ.get("REQUEST_METHOD") != "POST":
        return  # most requests: a page asked for, no body to weigh (a microsecond, not five)
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


def too_many(error: RateLimited) -> Response:
    seconds = max(1, math.ceil(error.reset_at - time.time()))
    rule = error.rule
    carried = _carried_fields() if rule.carries_post and request.method == "POST" else []
    anonymous = request.blueprint == "surveys"
    page = render_template(
        "errors/too_many_requests.html",
        reason=ADVICE[rule.scope],
        wait=wait_words(seconds),
        carried=carried,
        action=request.full_path if request.query_string else request.path,
        signing_in=rule.scope.startswith("sign-in"),
        codes=rule.scope == "wrong-codes",
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
    app.before_request(refuse_oversized)  # before the counting, which reads the sign-in form's email
    app.register_error_handler(RequestEntityTooLarge, too_large)
    limits = RateLimits(app.config.get("REDIS_URL"), enabled=bool(app.config["RATELIMIT_ENABLED"]))
    app.extensions["rate_limiter"] = limits
    if limits.enabled:
        app.before_request(count_request)
        app.register_error_handler(RateLimited, too_many)

"""Rate limits on the pages anyone can reach (request_limits): survey pages and posts, wrong
single-use codes, failed sign-ins per account and per client; the 429 page; counting by a keyed
hash of the address, in memory or in a real Redis shared by two apps, and in memory while that
Redis is down; no counting at all for the requests no rule applies to.

Limits are set tiny through config so a few requests reach them. Windows are "per minute", and a
fake clock (the one request_limits and its in-process counters read) moves past them to show the
counters reset, so nothing here waits or depends on how fast the machine is.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

import request_limits
from app import create_app
from store import surveys
from store.models import Answer, Response, User
from tests.conftest import PASSWORD, sign_in_as
from tests.security.world import forms_on, make_link

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
SCHOOL = {"REMOTE_ADDR": "198.51.100.20"}
ELSEWHERE = {"REMOTE_ADDR": "192.0.2.99"}


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The time as request_limits (and its in-process counters) see it; tests move it forward."""
    fake = Clock()
    monkeypatch.setattr(request_limits, "time", fake)
    return fake


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def assert_too_many(response: Any, *words: str) -> int:
    """The 429 page: GOV.UK layout, what happened, how long to wait; returns Retry-After."""
    assert response.status_code == 429, response.status_code
    page = text(response)
    html = response.get_data(as_text=True)
    assert 'class="govuk-template"' in html and "govuk-heading-l" in html
    assert "Too many requests" in page and "Wait " in page
    for phrase in words:
        assert phrase in page, phrase
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    return retry_after


# --- survey pages and posts ---------------------------------------------------------------------


def test_survey_pages_are_limited_per_client_and_the_count_resets(app: Flask, db: Any, clock: Clock) -> None:
    app.config["RATELIMIT_SURVEY_PAGES"] = "3 per minute"
    link = make_link("family-experience")
    client = app.test_client()
    for _ in range(3):
        assert client.get(f"/s/{link.slug}", environ_base=SCHOOL).status_code == 200
    refused = client.get(f"/s/{link.slug}", environ_base=SCHOOL)
    wait = assert_too_many(refused, "same wifi")
    assert f"Wait {wait} seconds" in text(refused) or "Wait 1 minute" in text(refused)
    assert "Sign in" not in text(refused), "survey pages never offer to sign in"

    other = app.test_client().get(f"/s/{link.slug}", environ_base=ELSEWHERE)
    assert other.status_code == 200, "another address has its own count"

    clock.now += 30
    assert client.get(f"/s/{link.slug}", environ_base=SCHOOL).status_code == 429, "still the same window"
    clock.now += 31
    assert client.get(f"/s/{link.slug}", environ_base=SCHOOL).status_code == 200, "a new window"


def test_a_refused_survey_post_says_how_long_is_left_of_its_window(app: Flask, db: Any, clock: Clock) -> None:
    app.config["RATELIMIT_SURVEY_POSTS"] = "1 per minute"
    link = make_link("family-experience")
    client = app.test_client()
    url = f"/s/{link.slug}/q/about-you"
    assert client.post(url, data={"anything-else": "first"}, environ_base=SCHOOL).status_code == 303
    clock.now += 40
    refused = client.post(url, data={"anything-else": "second"}, environ_base=SCHOOL)
    assert assert_too_many(refused) == 20, "the wait is what is left of the window, not a whole one"
    assert "Wait 20 seconds" in text(refused)
    assert client.get(url, environ_base=SCHOOL).status_code == 200, "opening pages has its own count"


def test_a_refused_survey_page_keeps_what_was_typed_and_sends_it_again(app: Flask, db: Any, clock: Clock) -> None:
    app.config["RATELIMIT_SURVEY_POSTS"] = "2 per minute"
    link = make_link("family-experience")
    client = app.test_client()
    url = f"/s/{link.slug}/q/about-you"
    for _ in range(2):
        assert client.post(url, data={"anything-else": "warm up"}, environ_base=SCHOOL).status_code == 303
    typed = 'The social worker listened.\nBut "nobody" called back <soon> & we waited'
    refused = client.post(url, data={"anything-else": typed, "relationship": "parent"}, environ_base=SCHOOL)
    assert_too_many(refused, "Your answers have not been sent yet, but they are not lost", "Send my answers again")
    stored = Answer.get(Answer.question_id == "anything-else")
    assert stored.value == "warm up", "the refused page was not saved"

    (form,) = forms_on(refused.get_data(as_text=True))
    assert form["action"] == url and form["method"] == "post"
    assert dict(form["fields"]) == {"anything-else": typed, "relationship": "parent"}, "every answer carried, exactly"

    clock.now += 61
    again = client.post(form["action"], data=dict(form["fields"]), environ_base=SCHOOL)
    assert again.status_code == 303
    assert Answer.get(Answer.question_id == "anything-else").value == typed
    assert Response.select().count() == 1


def test_the_page_is_carried_with_its_query_and_token_but_never_a_password(app: Flask, db: Any) -> None:
    app.config["RATELIMIT_SURVEY_POSTS"] = "1 per minute"
    link = make_link("family-experience")
    client = app.test_client()
    url = f"/s/{link.slug}/q/about-you?change=1"
    client.post(url, data={"anything-else": "first"}, environ_base=SCHOOL)
    refused = client.post(
        url, data={"anything-else": "second", "csrf_token": "tok", "password": "hunter2"}, environ_base=SCHOOL
    )
    assert refused.status_code == 429
    (form,) = forms_on(refused.get_data(as_text=True))
    assert form["action"] == url
    assert dict(form["fields"]) == {"anything-else": "second", "csrf_token": "tok"}
    assert "hunter2" not in refused.get_data(as_text=True)


# --- single-use codes ---------------------------------------------------------------------------


def test_wrong_codes_are_limited_and_right_ones_cost_nothing(app: Flask, db: Any, clock: Clock) -> None:
    app.config["RATELIMIT_WRONG_CODES"] = "2 per minute"
    link = make_link("child-experience", mode="tokens")
    codes = surveys.create_codes(link, 5)
    for code in codes[:3]:  # a class typing its codes: each one right, one after another
        tablet = app.test_client()
        assert tablet.post(f"/s/{link.slug}", data={"code": code}, environ_base=SCHOOL).status_code == 303
    tablet = app.test_client()
    for wrong in ("AAAA-BBBB-CCCC", "DDDD-EEEE-FFFF"):
        page = tablet.post(f"/s/{link.slug}", data={"code": wrong}, environ_base=SCHOOL)
        assert page.status_code == 200 and "We could not find this code" in text(page)
    refused = tablet.post(f"/s/{link.slug}", data={"code": codes[3]}, environ_base=SCHOOL)
    assert_too_many(refused, "codes that did not work", "try your code again")
    by_link = tablet.get(f"/s/{link.slug}/{codes[3]}", environ_base=SCHOOL)
    assert by_link.status_code == 429, "a code in the link counts the same"
    clock.now += 61
    assert tablet.get(f"/s/{link.slug}/{codes[3]}", environ_base=SCHOOL).status_code == 200


# --- sign-in ------------------------------------------------------------------------------------


def test_failed_sign_ins_are_limited_per_account(app: Flask, users: dict[str, User], clock: Clock) -> None:
    app.config["RATELIMIT_SIGN_IN_ACCOUNT"] = "3 per minute"
    lead, reviewer = users["agency"], users["reviewer"]
    for _ in range(4):  # signing in successfully costs nothing
        assert app.test_client().post("/sign-in", data={"email": lead.email, "password": PASSWORD}).status_code == 302
    guesser = app.test_client()
    for n in range(3):
        wrong = guesser.post("/sign-in", data={"email": lead.email.upper(), "password": f"guess {n}"})
        assert wrong.status_code == 200 and "Enter a correct email address and password" in text(wrong)
    from_elsewhere = app.test_client().post(
        "/sign-in", data={"email": f" {lead.email} ", "password": PASSWORD}, environ_base=ELSEWHERE
    )
    assert_too_many(from_elsewhere, "too many attempts to sign in to this account", "forgotten your password")
    assert PASSWORD not in from_elsewhere.get_data(as_text=True)
    assert not forms_on(from_elsewhere.get_data(as_text=True)), "nothing posted is carried: sign in again"
    assert "/sign-in" in from_elsewhere.get_data(as_text=True)
    assert User.get_by_id(lead.id).last_sign_in is not None  # from the first four

    other = app.test_client().post("/sign-in", data={"email": reviewer.email, "password": PASSWORD})
    assert other.status_code == 302, "other accounts are not affected"
    clock.now += 61
    assert app.test_client().post("/sign-in", data={"email": lead.email, "password": PASSWORD}).status_code == 302


def test_failed_sign_ins_are_limited_per_client(app: Flask, users: dict[str, User]) -> None:
    app.config["RATELIMIT_SIGN_IN_CLIENT"] = "3 per minute"
    client = app.test_client()
    for n in range(3):
        client.post("/sign-in", data={"email": f"nobody{n}@example.org", "password": "x"}, environ_base=SCHOOL)
    refused = client.post("/sign-in", data={"email": users["analyst"].email, "password": PASSWORD}, environ_base=SCHOOL)
    assert_too_many(refused, "too many attempts to sign in from your internet connection")
    elsewhere = app.test_client().post(
        "/sign-in", data={"email": users["analyst"].email, "password": PASSWORD}, environ_base=ELSEWHERE
    )
    assert elsewhere.status_code == 302


# --- the defaults let a school class through ----------------------------------------------------


def test_a_class_of_thirty_behind_one_address_is_never_limited_by_the_defaults(app: Flask, db: Any) -> None:
    """Thirty children on the school's wifi answer the child survey on their own tablets, all
    at once: every page of every journey is answered, none refused."""
    link = make_link("child-experience")
    band = "age-8-11"
    tablets: list[FlaskClient] = [app.test_client() for _ in range(30)]
    statuses = []
    for tablet in tablets:
        statuses.append(tablet.get(f"/s/{link.slug}", environ_base=SCHOOL).status_code)
        statuses.append(tablet.post(f"/s/{link.slug}/age", data={"band": band}, environ_base=SCHOOL).status_code)
    from questionnaires import load_all

    child = load_all()["child-experience"]
    for section in child.sections_for(band):
        for tablet in tablets:
            url = f"/s/{link.slug}/q/{section.id}"
            statuses.append(tablet.get(url, environ_base=SCHOOL).status_code)
            data = {q.id: q.offered_options[0].value for q in section.questions if q.is_choice}
            statuses.append(tablet.post(url, data=data, environ_base=SCHOOL).status_code)
    for tablet in tablets:
        check = tablet.get(f"/s/{link.slug}/check", environ_base=SCHOOL)
        key = re.search(r'name="submission_key" type="hidden" value="([0-9a-f]{32})"', check.get_data(as_text=True))
        sent = tablet.post(f"/s/{link.slug}/check", data={"submission_key": key.group(1)}, environ_base=SCHOOL)
        statuses += [check.status_code, sent.status_code]
    assert 429 not in statuses
    assert Response.select().where(Response.status == "submitted").count() == 30


# --- who is counted: keyed hashes, proxies ------------------------------------------------------


def _storage_keys(app: Flask) -> list[str]:
    return app.extensions["rate_limiter"].storage.keys()


def test_counters_hold_a_keyed_hash_of_the_address_never_the_address(app: Flask, db: Any) -> None:
    link = make_link("family-experience")
    app.test_client().get(f"/s/{link.slug}", environ_base={"REMOTE_ADDR": "203.0.113.77"})
    app.test_client().get(f"/s/{link.slug}", environ_base={"REMOTE_ADDR": "2001:db8:5:6:1::7"})
    keys = _storage_keys(app)
    assert len(keys) == 2
    assert not [k for k in keys if "203.0.113" in k or "2001:db8" in k]
    with app.test_request_context(environ_base={"REMOTE_ADDR": "203.0.113.77"}):
        hashed = request_limits.client_key()
        app.config["SECRET_KEY"] = "another-secret"
        assert request_limits.client_key() != hashed, "keyed by the app's secret: not a plain hash to look up"
    assert any(hashed in k for k in keys)


def test_forwarded_addresses_are_believed_only_behind_the_configured_proxies(database_url: str, app: Flask) -> None:
    """Without TRUSTED_PROXY_COUNT a client cannot escape its count by naming other addresses;
    with one proxy, each forwarded client has its own count, and only the proxy's entry is used."""
    for proxies, separate in ((0, False), (1, True)):
        limited = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test-secret",
                "DATABASE_URL": database_url,
                "TRUSTED_PROXY_COUNT": proxies,
                "RATELIMIT_SURVEY_PAGES": "2 per minute",
            }
        )
        client = limited.test_client()
        got = [
            client.get("/s/no-such-link", headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code for n in range(3)
        ]
        assert (429 not in got) == separate, (proxies, got)
        if separate:  # a forged entry before the proxy's own does not make a new client
            spoofed = [
                client.get("/s/no-such-link", headers={"X-Forwarded-For": f"10.9.9.{n}, 198.51.100.0"}).status_code
                for n in range(2)
            ]
            assert spoofed == [404, 429]


# --- Redis --------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_redis(port: int) -> subprocess.Popen[bytes]:
    """A real redis-server on a loopback port, saving nothing to disk, once it answers (a bounded
    wait for start-up, not a timing check)."""
    if not shutil.which(REDIS_SERVER):
        raise RuntimeError("redis-server is missing: apt-get install -y redis-server (CI's .ci/run does this)")
    server = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        + ["--daemonize", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    connection = redis.Redis.from_url(f"redis://127.0.0.1:{port}/0")
    try:
        for _ in range(200):
            try:
                connection.ping()
                return server
            except redis.ConnectionError:
                if server.poll() is not None:
                    raise RuntimeError("redis-server exited at start") from None
                time.sleep(0.05)
        raise RuntimeError("redis-server did not answer")
    except BaseException:
        _stop(server)
        raise
    finally:
        connection.close()


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A real redis-server on a free loopback port, for this module only."""
    port = _free_port()
    server = _start_redis(port)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(server)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


def _app_on(database_url: str, **config: Any) -> Flask:
    return create_app({"TESTING": True, "SECRET_KEY": "shared-secret", "DATABASE_URL": database_url, **config})


def test_two_apps_share_one_count_through_redis(
    app: Flask, database_url: str, redis_url: str, redis_client: redis.Redis
) -> None:
    """Two app processes behind a load balancer: a client's requests to either count once."""
    settings = {"REDIS_URL": redis_url, "RATELIMIT_SURVEY_PAGES": "3 per minute"}
    first, second = _app_on(database_url, **settings), _app_on(database_url, **settings)
    address = {"REMOTE_ADDR": "203.0.113.5"}
    assert first.test_client().get("/s/no-such-link", environ_base=address).status_code == 404
    assert second.test_client().get("/s/no-such-link", environ_base=address).status_code == 404
    assert first.test_client().get("/s/no-such-link", environ_base=address).status_code == 404
    assert_too_many(second.test_client().get("/s/no-such-link", environ_base=address))
    assert first.test_client().get("/s/no-such-link", environ_base={"REMOTE_ADDR": "203.0.113.6"}).status_code == 404

    keys = [k.decode() for k in redis_client.keys("*")]
    assert len(keys) == 2 and all(k.startswith("LIMITS:LIMITER/safeguarding/") for k in keys), keys
    assert not [k for k in keys if "203.0.113" in k], "no address in Redis"
    assert all(0 < redis_client.ttl(k) <= 60 for k in keys), "every counter expires with its window"

    apart = [_app_on(database_url, RATELIMIT_SURVEY_PAGES="3 per minute") for _ in range(2)]
    got = [apart[n % 2].test_client().get("/s/no-such-link", environ_base=address).status_code for n in range(4)]
    assert got == [404] * 4, "without Redis, each process counts on its own"


def test_sign_in_failures_are_shared_through_redis(
    app: Flask, database_url: str, users: dict[str, User], redis_client: redis.Redis, redis_url: str
) -> None:
    settings = {"REDIS_URL": redis_url, "RATELIMIT_SIGN_IN_ACCOUNT": "2 per minute"}
    first, second = _app_on(database_url, **settings), _app_on(database_url, **settings)
    email = users["admin"].email
    assert first.test_client().post("/sign-in", data={"email": email, "password": "nope"}).status_code == 200
    assert second.test_client().post("/sign-in", data={"email": email, "password": "nope"}).status_code == 200
    assert_too_many(first.test_client().post("/sign-in", data={"email": email, "password": PASSWORD}))
    assert not [k for k in redis_client.keys("*") if email.encode() in k]


def test_an_unreachable_redis_never_turns_a_request_away(app: Flask, database_url: str) -> None:
    """Counting falls back to the process's memory: pages still answer, and limits still hold."""
    down = _app_on(database_url, REDIS_URL=f"redis://127.0.0.1:{_free_port()}/0", RATELIMIT_SURVEY_PAGES="2 per minute")
    got = [down.test_client().get("/s/no-such-link").status_code for _ in range(3)]
    assert got == [404, 404, 429]


def test_counting_moves_to_memory_while_redis_is_down_and_back_once_it_answers(
    app: Flask, database_url: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis stops mid-window: the next requests are counted in this process's memory (the limit
    still holds there), Redis is asked again only every REDIS_RECHECK_SECONDS, and once it
    answers the counting goes back to it."""
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = _start_redis(port)
    try:
        shared = _app_on(database_url, REDIS_URL=url, RATELIMIT_SURVEY_PAGES="3 per minute")
        limits: request_limits.RateLimits = shared.extensions["rate_limiter"]
        pings: list[bool] = []
        check = limits.storage.check
        monkeypatch.setattr(limits.storage, "check", lambda: pings.append(check()) or pings[-1])

        def page() -> int:
            return shared.test_client().get("/s/no-such-link").status_code

        assert page() == 404
        store = redis.Redis.from_url(url)
        assert [int(store.get(k)) for k in store.keys("*")] == [1], "counted in Redis while it answers"
        store.close()

        _stop(server)
        assert [page() for _ in range(4)] == [404, 404, 404, 429], "counted afresh in memory, and refused past it"
        assert len(limits.fallback.keys()) == 1
        clock.now += request_limits.REDIS_RECHECK_SECONDS - 1
        assert page() == 429 and pings == [], "Redis is not asked again before its time"
        clock.now += 2
        assert page() == 429 and pings == [False], "asked once: still down, so still memory"

        server = _start_redis(port)  # back, and empty (it saves nothing)
        assert page() == 429 and pings == [False], "not asked again before its time"
        clock.now += request_limits.REDIS_RECHECK_SECONDS + 1
        assert page() == 404 and pings == [False, True], "Redis answers: the count is there again"
        store = redis.Redis.from_url(url)
        assert [int(store.get(k)) for k in store.keys("*")] == [1]
        store.close()
    finally:
        _stop(server)


def test_requests_no_rule_applies_to_touch_no_counter(
    app: Flask, users: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signed-in pages, previews, assets, the sign-in page itself and pages not found are never
    counted: not one call reaches the counters (only survey pages and sign-in posts do)."""
    limits: request_limits.RateLimits = app.extensions["rate_limiter"]
    calls: list[str] = []
    for name in ("incr", "get", "get_expiry", "clear"):
        method = getattr(limits.storage, name)
        monkeypatch.setattr(limits.storage, name, lambda *a, _m=method, _n=name, **k: calls.append(_n) or _m(*a, **k))
    client = sign_in_as(app.test_client(), users["agency"])
    calls.clear()  # the sign-in post was counted (tested, not charged: it worked)
    link = make_link("family-experience")
    for url in ("/", "/audit/", "/preview/child-experience/age-12-17-adults?band=age-12-17", "/static/app.css"):
        response = client.get(url)
        response.close()  # the asset is a file
        assert response.status_code == 200, url
    anonymous = app.test_client()
    assert anonymous.get("/sign-in").status_code == 200
    assert anonymous.get("/no-such-page").status_code == 404
    assert anonymous.head(f"/s/{link.slug}").status_code == 200, "a HEAD is not a page opened"
    assert calls == []
    assert anonymous.get(f"/s/{link.slug}").status_code == 200
    assert calls == ["incr"], "a survey page is one count"


def test_the_hook_s_first_test_lets_through_every_endpoint_a_rule_applies_to(app: Flask) -> None:
    """The hook stops at request_limits.may_apply for most requests: no endpoint it turns away
    (any method, in the whole url map, including routes added later) is one a rule applies to."""
    from flask import request

    applied = set()
    for url_rule in app.url_map.iter_rules():
        for method in sorted(url_rule.methods or ()):
            with app.test_request_context("/", method=method):
                request.url_rule = url_rule
                applies = [rule.scope for rule in request_limits.RULES if rule.applies()]
                if applies:
                    assert request_limits.may_apply(url_rule.endpoint), (url_rule, method, applies)
                    applied.update(applies)
    assert applied == set(request_limits.RULES_BY_SCOPE), "every rule applies somewhere"


def test_rate_limits_can_be_switched_off(database_url: str, app: Flask) -> None:
    off = _app_on(database_url, RATELIMIT_ENABLED=False, RATELIMIT_SURVEY_PAGES="1 per minute")
    assert [off.test_client().get("/s/no-such-link").status_code for _ in range(3)] == [404] * 3
    assert off.extensions["rate_limiter"].storage.keys() == []

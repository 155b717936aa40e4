"""security.py: the CSP nonce and the CSRF tokens it makes for flask_wtf to check."""

from __future__ import annotations

import re

import pytest
from flask import Flask, g, session
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms import ValidationError

import security
from security import CSRF_REUSE_SECONDS, check_csrf, csrf_token

CHILD_PAGE = "/preview/child-experience/age-12-17-adults?band=age-12-17"


@pytest.fixture
def csrf_app(app: Flask) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def token_on(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None, "the page has no CSRF token"
    return found.group(1)


def test_the_token_is_one_flask_wtf_accepts_and_makes_for_the_request(csrf_app: Flask) -> None:
    with csrf_app.test_request_context():
        token = csrf_token()
        validate_csrf(token)  # raises if not
        assert generate_csrf() == token == g.csrf_token, "one token per request, whoever asks"
        assert session["csrf_token"] and session["csrf_token"] not in token


def test_pages_carry_a_token_that_is_accepted(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    token = token_on(client.get(CHILD_PAGE).get_data(as_text=True))
    refused = client.post(CHILD_PAGE, data={"csrf_token": "forged"}).get_data(as_text=True)
    assert "This page was open too long" in refused
    accepted = client.post(CHILD_PAGE, data={"csrf_token": token}).get_data(as_text=True)
    assert "This page was open too long" not in accepted


def test_a_session_keeps_its_signed_token_a_short_while_then_it_is_signed_again(
    csrf_app: Flask, clock: list[float]
) -> None:
    client = csrf_app.test_client()
    first = token_on(client.get(CHILD_PAGE).get_data(as_text=True))
    clock[0] += CSRF_REUSE_SECONDS - 1
    assert token_on(client.get(CHILD_PAGE).get_data(as_text=True)) == first
    clock[0] += 2
    later = token_on(client.get(CHILD_PAGE).get_data(as_text=True))
    assert later != first
    for token in (first, later):  # both still within the time limit: both accepted
        assert "This page was open too long" not in client.post(CHILD_PAGE, data={"csrf_token": token}).get_data(
            as_text=True
        )


def test_reuse_never_makes_a_token_live_longer_than_the_time_limit(csrf_app: Flask, clock: list[float]) -> None:
    client = csrf_app.test_client()
    token = token_on(client.get(CHILD_PAGE).get_data(as_text=True))
    clock[0] += csrf_app.config["WTF_CSRF_TIME_LIMIT"] + 1
    fresh = token_on(client.get(CHILD_PAGE).get_data(as_text=True))
    assert fresh != token, "a page shown after the limit gets a freshly signed token"
    page = client.post(CHILD_PAGE, data={"csrf_token": token}).get_data(as_text=True)
    assert "This page was open too long" in page, "the old token has expired, as it would have without reuse"
    assert "This page was open too long" not in client.post(CHILD_PAGE, data={"csrf_token": fresh}).get_data(
        as_text=True
    )


def test_a_token_only_ever_goes_to_the_session_that_holds_its_secret(csrf_app: Flask) -> None:
    one, other = csrf_app.test_client(), csrf_app.test_client()
    token_one = token_on(one.get(CHILD_PAGE).get_data(as_text=True))
    token_other = token_on(other.get(CHILD_PAGE).get_data(as_text=True))
    assert token_one != token_other
    assert token_on(one.get(CHILD_PAGE).get_data(as_text=True)) == token_one
    page = other.post(CHILD_PAGE, data={"csrf_token": token_one}).get_data(as_text=True)
    assert "This page was open too long" in page, "another session's token is refused"


def test_a_new_secret_key_signs_anew(csrf_app: Flask) -> None:
    with csrf_app.test_request_context():
        session["csrf_token"] = "a" * 40
        first = csrf_token()
    csrf_app.config["WTF_CSRF_SECRET_KEY"] = "another-key"
    with csrf_app.test_request_context():
        session["csrf_token"] = "a" * 40
        second = csrf_token()
        validate_csrf(second)
        with pytest.raises(ValidationError):
            validate_csrf(first)
    assert first != second


def test_what_it_keeps_is_bounded(csrf_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(security, "CSRF_MAX_SIGNED", 5)
    for number in range(12):
        with csrf_app.test_request_context():
            session["csrf_token"] = f"{number:040d}"
            csrf_token()
    assert len(security._signed) <= 5


def test_a_fresh_nonce_is_in_the_header_and_the_page(client: FlaskClient) -> None:
    pages = [client.get(CHILD_PAGE) for _ in range(2)]
    nonces = [page.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0] for page in pages]
    assert nonces[0] != nonces[1]
    for page, nonce in zip(pages, nonces, strict=True):
        html = page.get_data(as_text=True)
        assert html.count(f'nonce="{nonce}"') == 2 and "nonce=" not in html.replace(f'nonce="{nonce}"', "")


def test_a_response_without_a_page_still_gets_a_nonce(client: FlaskClient) -> None:
    with client.get("/assets/govuk-frontend.min.css") as response:
        assert re.search(r"'nonce-[A-Za-z0-9_-]{20,}'", response.headers["Content-Security-Policy"])


# check_csrf: flask_wtf's validate_csrf, cheaper. Every case, each refused for the same reason.


def _cases(app: Flask) -> list[tuple[str, object, dict[str, str]]]:
    with app.test_request_context():
        good = csrf_token()
        secret = session["csrf_token"]
    other = security._csrf_serializer("another-key").dumps(secret)
    return [
        ("accepted", good, {"csrf_token": secret}),
        ("missing", "", {"csrf_token": secret}),
        ("no secret in the session", good, {}),
        ("forged", "forged." + good, {"csrf_token": secret}),
        ("another key", other, {"csrf_token": secret}),
        ("another session's", good, {"csrf_token": "0" * 40}),
    ]


def _outcome(check: object, token: object, held: dict[str, str], app: Flask) -> str:
    with app.test_request_context():
        session.update(held)
        try:
            check(token)  # type: ignore[operator]
        except ValidationError as error:
            return str(error.args[0])
    return "accepted"


def test_check_csrf_decides_as_flask_wtf_does(csrf_app: Flask, clock: list[float]) -> None:
    for label, token, held in _cases(csrf_app):
        ours = _outcome(security.check_csrf, token, held, csrf_app)
        assert ours == _outcome(validate_csrf, token, held, csrf_app), label
        assert (ours == "accepted") is (label == "accepted"), label
    label, token, held = _cases(csrf_app)[0]
    clock[0] += csrf_app.config.get("WTF_CSRF_TIME_LIMIT", 3600) + 1
    assert _outcome(security.check_csrf, token, held, csrf_app) == "The CSRF token has expired."
    assert _outcome(validate_csrf, token, held, csrf_app) == "The CSRF token has expired."


def test_checking_tokens_derives_the_signing_key_once(csrf_app: Flask, derived: list[str | bytes | None]) -> None:
    security._csrf_serializer.cache_clear()
    for _ in range(4):
        with csrf_app.test_request_context("/", method="POST"):
            token = csrf_token()
            check_csrf(token)
            with pytest.raises(ValidationError, match="invalid"):
                check_csrf(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert len(derived) == 1, "one key, derived once for every token made and checked"


def test_a_token_checked_before_still_expires(csrf_app: Flask, clock: list[float]) -> None:
    """A token whose signature was checked is not checked again (accounts.cookie.KeepsItsSigner),
    but its age is, on every post: the same token, posted again after the time limit, is refused."""
    label, token, held = _cases(csrf_app)[0]
    assert [_outcome(security.check_csrf, token, held, csrf_app) for _ in range(2)] == ["accepted"] * 2
    clock[0] += csrf_app.config.get("WTF_CSRF_TIME_LIMIT", 3600) + 1
    assert _outcome(security.check_csrf, token, held, csrf_app) == "The CSRF token has expired."
    assert _outcome(security.check_csrf, token, {"csrf_token": "0" * 40}, csrf_app) == "The CSRF token has expired."
    clock[0] -= 2
    assert _outcome(security.check_csrf, token, {"csrf_token": "0" * 40}, csrf_app) == "The CSRF tokens do not match."

"""accounts/session.py's cookie sessions: the serializer is made once per keys, and nothing else
about the signed cookie changes (a cookie signed with another key is still refused); the
signed-in user, read on every request, only while their account is active and not idle."""

from __future__ import annotations

import hashlib
import re
import time

from flask import Flask
from flask.sessions import SecureCookieSessionInterface, session_json_serializer
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from accounts.session import CookieSessions, current_user
from store.models import User
from tests.conftest import sign_in_as

CHILD_PAGE = "/preview/child-experience/age-12-17-adults?band=age-12-17"


def test_the_serializer_is_made_once_per_keys(app: Flask) -> None:
    sessions = app.session_interface
    assert isinstance(sessions, CookieSessions)
    first = sessions.get_signing_serializer(app)
    assert sessions.get_signing_serializer(app) is first
    app.config["SECRET_KEY_FALLBACKS"] = ["an-old-key"]
    with_fallback = sessions.get_signing_serializer(app)
    assert with_fallback is not first
    app.config["SECRET_KEY"] = "a-new-key"
    assert sessions.get_signing_serializer(app) not in (first, with_fallback)


def test_it_signs_and_reads_exactly_as_flask_does(app: Flask) -> None:
    ours = app.session_interface.get_signing_serializer(app)
    flasks = SecureCookieSessionInterface().get_signing_serializer(app)
    assert ours is not None and flasks is not None
    value = {"csrf_token": "abc", "surveys": {"x": {"band": "age-8-11"}}}
    assert flasks.loads(ours.dumps(value)) == value
    assert ours.loads(flasks.dumps(value)) == value


def flask_style(key: str) -> URLSafeTimedSerializer:
    """A serializer signing as Flask's sessions do, with this key."""
    return URLSafeTimedSerializer(
        key,
        salt="cookie-session",
        serializer=session_json_serializer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )


def test_a_cookie_signed_with_another_key_is_refused(app: Flask, users: dict[str, User]) -> None:
    signed_in = {"user_id": users["admin"].id, "seen": int(time.time()), "_permanent": True}
    for key, accepted in (("not-the-secret", False), (app.secret_key, True)):
        client = app.test_client()
        client.set_cookie("session", flask_style(key).dumps(signed_in))
        page = client.get(CHILD_PAGE).get_data(as_text=True)
        assert ("Sign out" in page) is accepted, key
        assert ("Sign in" in page) is not accepted, key


def test_no_key_no_session(app: Flask) -> None:
    app.secret_key = None
    app.config["SECRET_KEY"] = None
    assert app.session_interface.get_signing_serializer(app) is None


# The signed-in user is looked up on every request (a query compiled once: store.prepared),
# so what an admin changes about an account takes effect on the next request.


def signed_in_client(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    sign_in_as(client, user)
    return client


def test_the_signed_in_user_is_read_afresh_on_every_request(app: Flask, users: dict[str, User]) -> None:
    client = signed_in_client(app, users["agency"])
    assert "Your self-audit" in client.get(CHILD_PAGE).get_data(as_text=True)
    User.update(role="analyst", name="Renamed Analyst").where(User.id == users["agency"].id).execute()
    page = client.get(CHILD_PAGE).get_data(as_text=True)
    assert "Results" in page and "Your self-audit" not in page
    with app.test_request_context():
        app.preprocess_request()  # no session: nobody signed in
        assert current_user() is None


def test_a_deactivated_or_deleted_account_ends_its_sessions(app: Flask, users: dict[str, User]) -> None:
    colleague, other = signed_in_client(app, users["colleague"]), signed_in_client(app, users["other-agency"])
    User.update(active=False).where(User.id == users["colleague"].id).execute()
    assert colleague.get("/session").get_json()["signed_in"] is False
    User.update(active=True).where(User.id == users["colleague"].id).execute()
    assert colleague.get("/session").get_json()["signed_in"] is False  # the session ended for good
    assert other.get("/session").get_json()["signed_in"] is True
    users["other-agency"].delete_instance()
    assert other.get("/session").get_json()["signed_in"] is False


def test_a_session_ends_when_idle_even_for_an_active_account(app: Flask, users: dict[str, User]) -> None:
    client = signed_in_client(app, users["reviewer"])
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - app.config["SESSION_IDLE_MINUTES"] * 60 - 1
    assert client.get("/session").get_json()["signed_in"] is False
    with client.session_transaction() as session:
        session["seen"] = int(time.time())
    assert client.get("/session").get_json()["signed_in"] is False  # signing in again is the only way back


def test_requests_keep_a_session_alive_rewriting_its_cookie_at_most_once_a_minute(
    app: Flask, users: dict[str, User]
) -> None:
    """Every signed-in request keeps the session alive, but the cookie is signed again only when
    its last-seen time is a minute old (a thirtieth of the idle limit): most pages and saves set
    no cookie, so two tabs do not overwrite each other's session. The time left is never
    overstated, and staying signed in from the timeout warning is exact."""
    client = signed_in_client(app, users["reviewer"])
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    client.get("/review/")  # the first page puts the session's CSRF token in it
    assert "Set-Cookie" not in client.get("/review/").headers
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - 59
    assert "Set-Cookie" not in client.get("/review/").headers
    assert idle - 61 <= client.get("/session").get_json()["seconds_left"] <= idle - 59
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - idle + 5  # five seconds before it ends
    assert "Set-Cookie" in client.get("/review/").headers
    assert client.get("/session").get_json()["seconds_left"] >= idle - 2
    page = client.get("/review/").get_data(as_text=True)
    assert idle - 2 <= int(re.search(r'data-seconds-left="(\d+)"', page).group(1)) <= idle
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - 30
    assert client.post("/session/extend").get_json() == {"signed_in": True, "seconds_left": idle}
    assert client.get("/session").get_json()["seconds_left"] >= idle - 1

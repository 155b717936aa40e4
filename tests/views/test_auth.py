"""Signing in and out, the idle timeout, and where people are sent afterwards."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from store.models import User
from tests.conftest import PASSWORD, sign_in_as


def test_sign_in_and_out(client: FlaskClient, users: dict[str, User]) -> None:
    assert "Sign in" in client.get("/sign-in").get_data(as_text=True)
    response = client.post("/sign-in", data={"email": "POLICE-LEAD@example.org ", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/session").get_json()["signed_in"] is True
    assert client.post("/sign-out").status_code == 302
    assert client.get("/session").get_json() == {"signed_in": False, "seconds_left": 0}


@pytest.mark.parametrize(
    ("email", "password"),
    [("police-lead@example.org", "wrong password here"), ("nobody@example.org", PASSWORD), ("", "")],
)
def test_wrong_details_are_refused_without_saying_which(client: FlaskClient, users, email, password) -> None:
    page = client.post("/sign-in", data={"email": email, "password": password})
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "There is a problem" in body
    assert "<title>Error: Sign in" in body
    assert client.get("/session").get_json()["signed_in"] is False


def test_inactive_users_cannot_sign_in(client: FlaskClient, users) -> None:
    User.update(active=False).where(User.id == users["agency"].id).execute()
    page = client.post("/sign-in", data={"email": users["agency"].email, "password": PASSWORD})
    assert "Enter a correct email address and password" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/preview/", "/preview/"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_after_sign_in_only_paths_on_this_site(client: FlaskClient, users, target, expected) -> None:
    response = client.post(
        "/sign-in", query_string={"next": target}, data={"email": users["admin"].email, "password": PASSWORD}
    )
    assert response.headers["Location"] == expected


def test_session_ends_after_being_idle(app: Flask, client: FlaskClient, users) -> None:
    sign_in_as(client, users["analyst"])
    left = client.get("/session").get_json()["seconds_left"]
    assert 0 < left <= app.config["SESSION_IDLE_MINUTES"] * 60
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - app.config["SESSION_IDLE_MINUTES"] * 60 - 1
    assert client.get("/session").get_json()["signed_in"] is False
    page = client.get("/sign-in").get_data(as_text=True)
    assert "You were signed out because you had not done anything for a while" in page or "Sign in" in page


def test_passwords_are_hashed_with_scrypt(users) -> None:
    assert users["admin"].password_hash.startswith("scrypt:")
    assert PASSWORD not in users["admin"].password_hash

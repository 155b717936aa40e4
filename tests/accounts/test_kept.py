"""Forms kept in the session cookie while the database is unavailable (accounts.kept)."""

from __future__ import annotations

import random

from flask import Flask, session
from werkzeug.datastructures import MultiDict

from accounts.kept import MAX_SESSION_COOKIE, forget_unsent, keep_in_session, take


def test_a_form_kept_in_the_session_is_given_back_once_for_its_own_page(app: Flask) -> None:
    form = MultiDict([("csrf_token", "t0k3n"), ("s1.1", "met"), ("s1.1-narrative", "Typed"), ("save", "later")])
    with app.test_request_context("/audit/1/s1", method="POST"):
        assert keep_in_session("/audit/1/s1", form) is True
        assert "t0k3n" not in str(session["unsent"]), "the CSRF token is not kept"
        assert take("/audit/1/s2") is None, "another page does not get it"
        kept = take("/audit/1/s1")
        assert kept is not None and kept.getlist("s1.1-narrative") == ["Typed"] and kept.get("save") == "later"
        assert take("/audit/1/s1") is None, "taken once"


def test_a_password_is_never_kept_and_an_empty_form_keeps_nothing(app: Flask) -> None:
    with app.test_request_context("/sign-in", method="POST"):
        assert keep_in_session("/sign-in", MultiDict([("password", "secret"), ("csrf_token", "x")])) is False
        assert "unsent" not in session
        assert keep_in_session("/sign-in", MultiDict([("email", "a@b.org"), ("new-password", "secret")])) is True
        assert "secret" not in str(session["unsent"])


def test_a_form_too_large_for_a_cookie_is_not_kept_and_leaves_the_session_alone(app: Flask) -> None:
    noise = "".join(f"{i * 2654435761 % 4294967296:08x}" for i in range(MAX_SESSION_COOKIE // 4))
    with app.test_request_context("/audit/1/s1", method="POST"):
        session["user_id"] = 7
        assert keep_in_session("/audit/1/s1", MultiDict([("s1.1-narrative", noise)])) is False
        assert dict(session) == {"user_id": 7}


def test_each_page_keeps_its_own_form_and_a_page_sent_again_forgets_it(app: Flask) -> None:
    with app.test_request_context("/", method="POST"):
        assert keep_in_session("/audit/1/s1", MultiDict([("s1.1-narrative", "first page")]))
        assert keep_in_session("/audit/1/s2", MultiDict([("s2.1-narrative", "second page")]))
        assert keep_in_session("/audit/1/s3", MultiDict([("s3.1-narrative", "third page")]))
        forget_unsent("/audit/1/s3")
        assert take("/audit/1/s3") is None
        assert take("/audit/1/s2")["s2.1-narrative"] == "second page"
        assert take("/audit/1/s1")["s1.1-narrative"] == "first page"
        assert "unsent" not in session


def test_a_newer_form_makes_room_by_dropping_the_oldest(app: Flask) -> None:
    def noise(seed: int) -> str:  # random text: about a third of what the cookie holds, compressed
        return random.Random(seed).randbytes(MAX_SESSION_COOKIE // 4).hex()

    with app.test_request_context("/", method="POST"):
        for n in range(1, 5):
            assert keep_in_session(f"/audit/1/s{n}", MultiDict([("text", noise(n * 1000))]))
        assert take("/audit/1/s1") is None, "the oldest made room"
        assert take("/audit/1/s4")["text"] == noise(4000), "the newest is always kept"

"""Emailing the safeguarding lead, against a real SMTP server on a free loopback port (aiosmtpd).

What must hold: a flagged submission emails every lead address once, saying where to read it and
nothing of the answer; a server that refuses, or cannot do what the settings ask, leaves the
flag unsent with the reason, for the page to show and the command to retry; and the child's
page never depends on the mail server.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import Flask

import notify
from app import create_app
from store.models import ConcernFlag
from tests.conftest import sign_in_as
from tests.views.test_concerns import BAND, CHILD, WORRY, child_answers

LEADS = "lead@example.org, deputy.lead@example.org"
SENDER = "platform@example.org"


def free_port() -> int:
    """A loopback port nobody listens on (the system picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """What the SMTP server received: envelopes with their sender, recipients and content."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


class Server:
    def __init__(self, inbox: Inbox, port: int) -> None:
        self.inbox, self.port = inbox, port


def serve(**options: Any) -> Iterator[Server]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield Server(inbox, port)
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[Server]:
    yield from serve()


def check_login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"mailer", b"s3cret pass")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_with_login() -> Iterator[Server]:
    yield from serve(authenticator=check_login, auth_require_tls=False)


def mail_app(app: Flask, **config: Any) -> Flask:
    """An app on the test database (the `app` fixture emptied it) with these mail settings."""
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "SMTP_HOST": "127.0.0.1",
        "SAFEGUARDING_LEAD_EMAIL": LEADS,
        "MAIL_FROM": SENDER,
        "SMTP_TIMEOUT": 5,
    }
    return create_app(settings | config)


def submit_worry(app: Flask, text: str = WORRY) -> ConcernFlag:
    with app.extensions["database"].connection_context():
        flag = child_answers(app.test_client(), text)
    notify.wait(30)
    assert flag is not None
    with app.extensions["database"].connection_context():
        return ConcernFlag.get_by_id(flag.id)


# --- the email --------------------------------------------------------------------------------


def test_a_flagged_answer_emails_every_lead_where_to_read_it_and_nothing_more(app: Flask, smtp: Server) -> None:
    flagged = mail_app(app, SMTP_PORT=smtp.port, BASE_URL="https://audits.example.org/")
    flag = submit_worry(flagged)

    [envelope] = smtp.inbox.envelopes
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == ["lead@example.org", "deputy.lead@example.org"]
    [mail] = smtp.inbox.messages()
    assert mail["Subject"] == "A new safeguarding flag needs reading"
    assert mail["From"] == SENDER and mail["To"] == "lead@example.org, deputy.lead@example.org"
    body = mail.get_content()
    assert f"https://audits.example.org/review/concerns/{flag.id}" in body
    raw = envelope.content.decode("utf-8", "replace").lower()
    where = ("workshop at the library", "spring round", CHILD.title.lower(), CHILD.age_band(BAND).label.lower())
    for secret in ("hits me", "step dad", "scared", "drinks", *where):
        assert secret not in raw, secret
    assert flag.notified_at is not None and flag.notify_error is None


def test_without_base_url_the_link_uses_the_address_the_survey_was_answered_at(app: Flask, smtp: Server) -> None:
    flag = submit_worry(mail_app(app, SMTP_PORT=smtp.port))
    [mail] = smtp.inbox.messages()
    assert f"http://localhost/review/concerns/{flag.id}" in mail.get_content()


def test_an_answer_without_words_of_concern_sends_nothing(app: Flask, smtp: Server) -> None:
    flagged = mail_app(app, SMTP_PORT=smtp.port)
    with flagged.extensions["database"].connection_context():
        assert child_answers(flagged.test_client(), "I like my youth club") is None
    notify.wait(30)
    assert smtp.inbox.envelopes == []


def test_a_login_is_used_when_configured(app: Flask, smtp_with_login: Server) -> None:
    good = mail_app(app, SMTP_PORT=smtp_with_login.port, SMTP_USERNAME="mailer", SMTP_PASSWORD="s3cret pass")
    assert submit_worry(good).notified_at is not None
    assert len(smtp_with_login.inbox.envelopes) == 1

    bad = mail_app(app, SMTP_PORT=smtp_with_login.port, SMTP_USERNAME="mailer", SMTP_PASSWORD="wrong")
    flag = submit_worry(bad)
    assert flag.notified_at is None
    assert flag.notify_error == "the mail server refused the username and password (535)"
    assert "wrong" not in flag.notify_error
    assert len(smtp_with_login.inbox.envelopes) == 1


# --- failures are kept, never in the child's way ----------------------------------------------


def test_a_refused_connection_is_recorded_and_the_child_still_gets_their_thank_you(app: Flask) -> None:
    broken = mail_app(app, SMTP_PORT=free_port())  # nothing listens there
    flag = submit_worry(broken)  # child_answers asserts the 303 to the thank-you page
    assert flag.notified_at is None
    assert flag.notify_error == "the mail server refused the connection"


def test_starttls_required_but_not_offered_sends_nothing_in_the_clear(app: Flask, smtp: Server) -> None:
    flag = submit_worry(mail_app(app, SMTP_PORT=smtp.port, SMTP_STARTTLS=True))
    assert smtp.inbox.envelopes == []
    assert flag.notified_at is None and "does not offer STARTTLS" in flag.notify_error


def test_with_emails_off_no_email_is_tried(app: Flask) -> None:
    off = mail_app(app, SMTP_HOST="", SAFEGUARDING_LEAD_EMAIL="")
    assert off.extensions["mail"] is None
    flag = submit_worry(off)
    assert (flag.notified_at, flag.notify_error) == (None, None)


# --- settings ---------------------------------------------------------------------------------


def test_settings_are_read_with_sensible_defaults() -> None:
    assert notify.settings_from({}) is None
    settings = notify.settings_from({"SMTP_HOST": "mail.example.org", "SAFEGUARDING_LEAD_EMAIL": "a@x.org; b@y.org"})
    assert (settings.port, settings.recipients, settings.sender, settings.starttls) == (
        25,
        ("a@x.org", "b@y.org"),
        "a@x.org",
        False,
    )
    tls = notify.settings_from(
        {
            "SMTP_HOST": "mail.example.org",
            "SAFEGUARDING_LEAD_EMAIL": ["a@x.org"],
            "SMTP_STARTTLS": "true",
            "SMTP_USERNAME": "u",
            "SMTP_PASSWORD": "hunter2-secret",
        }
    )
    assert (tls.port, tls.starttls, tls.username) == (587, True, "u")
    assert tls.password == "hunter2-secret" and "hunter2" not in repr(tls)  # settings may be logged


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"SMTP_HOST": "h"}, "SAFEGUARDING_LEAD_EMAIL is not"),
        ({"SAFEGUARDING_LEAD_EMAIL": "a@x.org"}, "SMTP_HOST is not"),
        ({"SMTP_HOST": "h", "SAFEGUARDING_LEAD_EMAIL": "not an address"}, "which is not an email address"),
        ({"SMTP_HOST": "h", "SAFEGUARDING_LEAD_EMAIL": "a@x.org\nBcc: z@evil.example"}, "not an email address"),
        ({"SMTP_HOST": "h", "SAFEGUARDING_LEAD_EMAIL": "a@x.org", "MAIL_FROM": "me"}, "MAIL_FROM has 'me'"),
        ({"SMTP_HOST": "h", "SAFEGUARDING_LEAD_EMAIL": "a@x.org", "SMTP_PORT": "smtp"}, "SMTP_PORT must be a number"),
        ({"SMTP_HOST": "h", "SAFEGUARDING_LEAD_EMAIL": "a@x.org", "SMTP_PORT": 70000}, "between 1 and 65535"),
        ({"SMTP_HOST": "h", "SAFEGUARDING_LEAD_EMAIL": "a@x.org", "SMTP_STARTTLS": "maybe"}, "true or false"),
        ({"SMTP_HOST": "h", "SAFEGUARDING_LEAD_EMAIL": "a@x.org", "SMTP_USERNAME": "u"}, "both SMTP_USERNAME"),
    ],
)
def test_bad_settings_say_which_and_why(config: dict[str, Any], problem: str) -> None:
    with pytest.raises(notify.MailSettingsError, match=problem):
        notify.settings_from(config)


def test_bad_settings_turn_emails_off_and_the_page_says_why(app: Flask, users: dict[str, Any]) -> None:
    misconfigured = mail_app(app, SAFEGUARDING_LEAD_EMAIL="")
    assert misconfigured.extensions["mail"] is None
    with misconfigured.extensions["database"].connection_context():
        client = sign_in_as(misconfigured.test_client(), users["reviewer"])
        page = client.get("/review/concerns/").get_data(as_text=True)
    assert "Emails to the safeguarding lead are off: SMTP_HOST is set but SAFEGUARDING_LEAD_EMAIL is not" in page


def test_the_message_counts_several_flags() -> None:
    settings = notify.MailSettings("h", 25, SENDER, ("a@x.org",))
    mail = notify.message(settings, 3, "https://a.example/review/concerns")
    assert mail["Subject"] == "3 new safeguarding flags need reading"
    assert "3 answers" in mail.get_content() and "https://a.example/review/concerns" in mail.get_content()
    assert notify.flags_url("https://a.example/", [4]) == "https://a.example/review/concerns/4"
    assert notify.flags_url("https://a.example", [4, 5]) == "https://a.example/review/concerns"

"""`flask --app app concerns notify`: flags whose email failed are sent again, one line per flag."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from store.models import ConcernFlag
from tests.test_notify import Server, free_port, mail_app, serve, submit_worry


@pytest.fixture
def smtp() -> Iterator[Server]:
    yield from serve()


def run(app: Flask, *args: str) -> tuple[int, list[str]]:
    result = app.test_cli_runner().invoke(args=["concerns", "notify", *args])
    return result.exit_code, result.output.splitlines()


def test_flags_the_server_refused_are_sent_once_it_works(app: Flask, smtp: Server) -> None:
    down = mail_app(app, SMTP_PORT=free_port(), BASE_URL="https://audits.example.org")
    first, second = submit_worry(down), submit_worry(down, "There is no food at home")
    assert first.notify_error == second.notify_error == "the mail server refused the connection"

    assert run(down) == (
        1,
        [
            f"flag {first.id}: not sent: the mail server refused the connection",
            f"flag {second.id}: not sent: the mail server refused the connection",
        ],
    )
    assert smtp.inbox.envelopes == []

    fixed = mail_app(app, SMTP_PORT=smtp.port, BASE_URL="https://audits.example.org")
    assert run(fixed) == (0, [f"flag {first.id}: emailed", f"flag {second.id}: emailed"])
    [mail] = smtp.inbox.messages()
    assert mail["Subject"] == "2 new safeguarding flags need reading"
    assert "https://audits.example.org/review/concerns\r\n" in mail.get_content()  # the list: several flags
    with fixed.extensions["database"].connection_context():
        flags = list(ConcernFlag.select())
    assert all(f.notified_at is not None and f.notify_error is None for f in flags) and len(flags) == 2

    assert run(fixed) == (0, ["No flag is waiting for an email."])
    assert len(smtp.inbox.envelopes) == 1


def test_with_emails_off_or_no_address_to_link_to_nothing_is_sent(app: Flask, smtp: Server) -> None:
    off = mail_app(app, SMTP_HOST="", SAFEGUARDING_LEAD_EMAIL="")
    flag = submit_worry(off)
    code, lines = run(off)
    assert code == 1
    assert lines == [f"flag {flag.id}: not sent: emails are off: SMTP_HOST and SAFEGUARDING_LEAD_EMAIL are not set"]

    no_base = mail_app(app, SMTP_PORT=smtp.port)
    code, lines = run(no_base)
    assert code == 1 and lines[0].startswith(f"flag {flag.id}: not sent: BASE_URL is not set")
    assert smtp.inbox.envelopes == []

    assert run(no_base, "--base-url", "https://sg.example.org") == (0, [f"flag {flag.id}: emailed"])
    assert f"https://sg.example.org/review/concerns/{flag.id}" in smtp.inbox.messages()[0].get_content()

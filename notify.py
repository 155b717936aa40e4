"""Emailing the safeguarding lead that a new concern flag needs reading.

The email says only that there is something to read and where: never the child's words, the
survey, the agency or anything else that could identify anyone, since email leaves the platform
and may be read on a shared or lost device. The lead signs in to read the flag.

Sent after the submission has committed, from a background thread with a short timeout, so a
slow or broken mail server never delays the child's thank-you page and never loses a flag: a
flag whose email failed keeps the error (the review page shows it) and `flask --app app concerns
notify` sends it again. Settings (app config, or FLASK_-prefixed environment variables):

- SMTP_HOST, SMTP_PORT (25, or 587 with STARTTLS), SMTP_USERNAME, SMTP_PASSWORD,
  SMTP_STARTTLS (true to require TLS before logging in or sending), SMTP_TIMEOUT (seconds, 10);
- MAIL_FROM (the sender), SAFEGUARDING_LEAD_EMAIL (one address, or several separated by commas);
- BASE_URL, the address people use to reach the platform (https://audits.example.org), for the
  link in the email. Set it in production: without it the link is built from the Host header of
  the request that made the flag, which the client sends.

Without SMTP_HOST or SAFEGUARDING_LEAD_EMAIL emails are off, and the review page says so.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from flask import Flask

from store import concerns

SUBJECT = "A new safeguarding flag needs reading"
DEFAULT_TIMEOUT = 10.0
ADDRESS = re.compile(r"[^@\s<>,;:\"'()\[\]]+@[^@\s<>,;:\"'()\[\]]+\.[^@\s<>,;:\"'()\[\]]+")

_running: set[threading.Thread] = set()
_running_lock = threading.Lock()


class MailSettingsError(ValueError):
    """Mail settings that cannot work; the message says which setting and why."""


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout: float = DEFAULT_TIMEOUT


def _address(value: str, setting: str) -> str:
    """One plain address (name@domain.tld), checked: it goes into a mail header."""
    text = value.strip()
    if not ADDRESS.fullmatch(text):
        raise MailSettingsError(f"{setting} has {text!r}, which is not an email address")
    return text


def _flag(value: Any, setting: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    raise MailSettingsError(f"{setting} must be true or false, not {value!r}")


def _number(value: Any, setting: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise MailSettingsError(f"{setting} must be a number, not {value!r}") from None
    if not low <= number <= high:
        raise MailSettingsError(f"{setting} must be between {low:g} and {high:g}, not {value!r}")
    return number


def settings_from(config: Mapping[str, Any]) -> MailSettings | None:
    """The mail settings, None when emails are off; raises MailSettingsError for bad ones."""
    host = str(config.get("SMTP_HOST") or "").strip()
    leads = config.get("SAFEGUARDING_LEAD_EMAIL") or ()
    if isinstance(leads, str):
        leads = [part for part in leads.replace(";", ",").split(",") if part.strip()]
    recipients = tuple(_address(str(a), "SAFEGUARDING_LEAD_EMAIL") for a in leads)
    if not host and not recipients:
        return None
    if not host:
        raise MailSettingsError("SAFEGUARDING_LEAD_EMAIL is set but SMTP_HOST is not: no server to send through")
    if not recipients:
        raise MailSettingsError("SMTP_HOST is set but SAFEGUARDING_LEAD_EMAIL is not: nobody to email")
    starttls = _flag(config.get("SMTP_STARTTLS", False), "SMTP_STARTTLS")
    port = int(_number(config.get("SMTP_PORT") or (587 if starttls else 25), "SMTP_PORT", 1, 65535))
    username = str(config.get("SMTP_USERNAME") or "").strip() or None
    password = config.get("SMTP_PASSWORD") or None
    if bool(username) != bool(password):
        raise MailSettingsError("set both SMTP_USERNAME and SMTP_PASSWORD, or neither")
    sender = _address(str(config.get("MAIL_FROM") or recipients[0]), "MAIL_FROM")
    timeout = _number(config.get("SMTP_TIMEOUT") or DEFAULT_TIMEOUT, "SMTP_TIMEOUT", 1, 120)
    return MailSettings(
        host, port, sender, recipients, username, str(password) if password else None, starttls, timeout
    )


def message(settings: MailSettings, count: int, url: str) -> EmailMessage:
    """The email: how many flags and where to read them; nothing from the answers."""
    mail = EmailMessage()
    mail["Subject"] = SUBJECT if count == 1 else f"{count} new safeguarding flags need reading"
    mail["From"] = settings.sender
    mail["To"] = ", ".join(settings.recipients)
    mail["Message-ID"] = make_msgid(domain=settings.sender.split("@")[1])
    what = "An answer" if count == 1 else f"{count} answers"
    mail.set_content(
        f"{what} in a children's or families' survey matched a word of concern and "
        f"{'needs' if count == 1 else 'need'} reading by the safeguarding lead.\n\n"
        f"Sign in to read {'it' if count == 1 else 'them'}:\n{url}\n\n"
        "This email does not contain the answer or anything about who gave it, on purpose.\n"
    )
    return mail


def send(settings: MailSettings, mail: EmailMessage) -> None:
    """Hand the email to the SMTP server; raises OSError or smtplib.SMTPException on failure."""
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as server:
        server.ehlo()
        if settings.starttls:
            server.starttls(context=ssl.create_default_context())  # refuses a server without STARTTLS
            server.ehlo()
        if settings.username and settings.password:
            server.login(settings.username, settings.password)
        server.send_message(mail)


def describe(error: BaseException) -> str:
    """A line for the review page and the command: what went wrong, without the password."""
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return "the mail server does not offer STARTTLS, so nothing was sent (SMTP_STARTTLS is on)"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return f"the mail server refused the username and password ({error.smtp_code})"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return f"the mail server refused the recipients: {', '.join(sorted(error.recipients))}"
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return f"the mail server answered {error.smtp_code}: {text}"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "the mail server did not answer in time"
    if isinstance(error, ConnectionRefusedError):
        return "the mail server refused the connection"
    if isinstance(error, socket.gaierror):
        return "the mail server's name could not be found"
    return f"{type(error).__name__}: {error}"


def notify_flags(settings: MailSettings, flag_ids: Iterable[int], url: str) -> str | None:
    """Email about these flags and record the outcome on each; returns the error, or None if sent.

    Needs a database connection (the caller's, or the background thread's own).
    """
    ids = sorted(set(flag_ids))
    if not ids:
        return None
    try:
        send(settings, message(settings, len(ids), url))
    except (OSError, smtplib.SMTPException, ValueError) as error:
        problem = describe(error)
        concerns.mark_failed(ids, problem)
        return problem
    concerns.mark_notified(ids)
    return None


def flags_url(base: str, flag_ids: list[int]) -> str:
    """Where to read: the flag itself when there is one, else the list."""
    base = base.rstrip("/")
    return f"{base}/review/concerns/{flag_ids[0]}" if len(flag_ids) == 1 else f"{base}/review/concerns"


def send_in_background(app: Flask, settings: MailSettings, flag_ids: list[int], url: str) -> threading.Thread:
    """Email from a thread of its own, with its own database connection, and return the thread."""
    database = app.extensions["database"]

    def run() -> None:
        try:
            with database.connection_context():
                notify_flags(settings, flag_ids, url)
        except Exception:  # the flags stay unsent and the command retries them
            app.logger.exception("emailing the safeguarding lead about flags %s failed", flag_ids)
        finally:
            with _running_lock:
                _running.discard(threading.current_thread())

    thread = threading.Thread(target=run, name="notify-safeguarding-lead", daemon=True)
    with _running_lock:
        _running.add(thread)
    thread.start()
    return thread


def wait(timeout: float | None = None) -> None:
    """Wait for emails being sent in the background (tests; a clean shutdown)."""
    with _running_lock:
        threads = list(_running)
    for thread in threads:
        thread.join(timeout)

"""Security headers on every response, a fresh CSP nonce per request, and the pages' CSRF tokens.

CSRF tokens are flask_wtf's (the session holds a random secret; a page carries it signed with a
timestamp, and a post's token is checked against the session and WTF_CSRF_TIME_LIMIT), made and
checked here more cheaply: see csrf_token and check_csrf.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request, session
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from wtforms.validators import ValidationError

from accounts.cookie import DerivedOnceSigner, KeepsItsSigner

FIXED = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"))
CSP_BEFORE_NONCE = "default-src 'self'; script-src 'self' 'nonce-"
CSP_AFTER_NONCE = (
    "'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

CSRF_SALT = "wtf-csrf-token"  # flask_wtf's: its validate_csrf checks the tokens made here
CSRF_REUSE_SECONDS = 60
CSRF_MAX_SIGNED = 10_000
_signed: dict[tuple[Any, str], tuple[float, str]] = {}
_signed_lock = threading.Lock()


def nonce() -> str:
    """This request's CSP nonce, made when first asked for (by a template or the headers)."""
    value = g.get("csp_nonce")
    if value is None:
        value = g.csp_nonce = secrets.token_urlsafe(16)
    return value


@lru_cache(maxsize=8)
def _csrf_serializer(secret_key: Any) -> URLSafeTimedSerializer:
    """flask_wtf's token serializer, made once per key, with one signer deriving the key once
    (accounts.cookie)."""
    return KeepsItsSigner(secret_key, salt=CSRF_SALT, signer=DerivedOnceSigner)


def _csrf_settings(secret_key: Any, token_key: str | None) -> tuple[Any, str]:
    """The key that signs CSRF tokens and the session field that holds their secret, as flask_wtf
    reads them: given, else WTF_CSRF_SECRET_KEY or SECRET_KEY, and WTF_CSRF_FIELD_NAME."""
    config = current_app.config
    secret_key = secret_key if secret_key is not None else config.get("WTF_CSRF_SECRET_KEY", current_app.secret_key)
    field = token_key if token_key is not None else config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if secret_key is None or field is None:
        raise RuntimeError("A secret key and a field name are required to use CSRF.")
    return secret_key, field


def check_csrf(data: Any, secret_key: Any = None, time_limit: Any = None, token_key: str | None = None) -> None:
    """flask_wtf.csrf.validate_csrf, the same checks in the same order with the same messages,
    without making a serializer and deriving its key on every post (`_csrf_serializer`).

    Raises ValidationError when the token is missing, the session has no secret, the token is
    older than WTF_CSRF_TIME_LIMIT (None: no limit), not signed with the key, or not this
    session's."""
    secret_key, field = _csrf_settings(secret_key, token_key)
    time_limit = time_limit if time_limit is not None else current_app.config.get("WTF_CSRF_TIME_LIMIT", 3600)
    if not data:
        raise ValidationError("The CSRF token is missing.")
    if field not in session:
        raise ValidationError("The CSRF session token is missing.")
    try:
        token = _csrf_serializer(secret_key).loads(data, max_age=time_limit)
    except SignatureExpired as error:
        raise ValidationError("The CSRF token has expired.") from error
    except BadData as error:
        raise ValidationError("The CSRF token is invalid.") from error
    if not hmac.compare_digest(session[field], token):
        raise ValidationError("The CSRF tokens do not match.")


def csrf_token(secret_key: Any = None, token_key: str | None = None) -> str:
    """The signed CSRF token for this request: what flask_wtf.csrf.generate_csrf() returns, made cheaply.

    The same token: the session's secret under WTF_CSRF_FIELD_NAME (made if missing), signed by
    itsdangerous with WTF_CSRF_SECRET_KEY or SECRET_KEY and flask_wtf's salt, kept in `g` for the
    rest of the request (where generate_csrf looks too). Signing it on every request costs about
    a tenth of a short page, so the serializer is made once per key, and a session's signed token
    is reused for up to CSRF_REUSE_SECONDS. The timestamp it carries is then at most that old: a
    token expires at most a minute *before* WTF_CSRF_TIME_LIMIT says, never after. Signed tokens
    are kept by (key, session secret), so a token only ever goes to the session holding its
    secret, as before; a new session secret (signing in clears the session) gets a new token.
    """
    secret_key, field = _csrf_settings(secret_key, token_key)
    token = g.get(field)
    if token is not None:
        return token
    if field not in session:
        session[field] = hashlib.sha1(os.urandom(64)).hexdigest()
    raw = session[field]
    if not isinstance(raw, str):  # only ever a str from here or flask_wtf: start again, as flask_wtf does
        raw = session[field] = hashlib.sha1(os.urandom(64)).hexdigest()
    now = time.time()
    kept = _signed.get((secret_key, raw))
    if kept is not None and now - kept[0] < CSRF_REUSE_SECONDS:
        token = kept[1]
    else:
        token = _csrf_serializer(secret_key).dumps(raw)
        with _signed_lock:
            if len(_signed) >= CSRF_MAX_SIGNED:
                _signed.clear()  # only costs signing again
            _signed[(secret_key, raw)] = (now, token)
    setattr(g, field, token)
    return token


def posted_from_own_pages() -> bool:
    """Whether the request comes from one of the app's own pages, as far as the browser says.

    For a post that cannot carry a valid CSRF token (its session has ended, so its token with
    it) and that the app still acts on: keeping it for after signing in. A browser names the
    site a request comes from (Sec-Fetch-Site, or else Origin on a post), so a form another
    site sends is told apart; a request naming neither is not a browser's cross-site post. The
    host alone is compared, so a proxy that ends TLS (the scheme the app sees differs) does not
    turn the person's own posts away.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("Origin")
    if origin is not None:
        return urlsplit(origin).netloc == request.host
    return True


def init_app(app: Flask) -> None:
    @app.context_processor
    def template_nonce() -> dict[str, str]:
        return {"csp_nonce": nonce()}

    @app.after_request
    def headers(response: Response) -> Response:
        headers = response.headers
        present = {key.lower() for key, _ in headers.items()}
        for name, value in FIXED:
            if name.lower() not in present:
                headers.add(name, value)
        if "content-security-policy" not in present:
            headers.add("Content-Security-Policy", CSP_BEFORE_NONCE + nonce() + CSP_AFTER_NONCE)
        # pages, files and JSON alike hold what people typed: kept by no cache, shared or the
        # browser's, once they sign out; only what sets its own rule (the assets) is cached
        if "cache-control" not in present:
            headers.add("Cache-Control", "no-store")
        return response

"""Security headers on every response, and a fresh CSP nonce per request for inline scripts."""

from __future__ import annotations

import secrets

from flask import Flask, Response, g

FIXED = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"))
CSP_BEFORE_NONCE = "default-src 'self'; script-src 'self' 'nonce-"
CSP_AFTER_NONCE = (
    "'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def init_app(app: Flask) -> None:
    @app.before_request
    def make_nonce() -> None:
        g.csp_nonce = secrets.token_urlsafe(16)

    @app.context_processor
    def nonce() -> dict[str, str]:
        return {"csp_nonce": g.get("csp_nonce", "")}

    @app.after_request
    def headers(response: Response) -> Response:
        nonce = g.get("csp_nonce", "")
        headers = response.headers
        present = {key.lower() for key, _ in headers.items()}
        for name, value in FIXED:
            if name.lower() not in present:
                headers.add(name, value)
        if "content-security-policy" not in present:
            headers.add("Content-Security-Policy", CSP_BEFORE_NONCE + nonce + CSP_AFTER_NONCE)
        if "cache-control" not in present and response.mimetype == "text/html":
            headers.add("Cache-Control", "no-store")
        return response

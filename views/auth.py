"""Sign in and out; the session status the timeout warning asks for."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, g, jsonify, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from accounts import session as accounts
from accounts.passwords import check_password
from store.models import User, utcnow

bp = Blueprint("auth", __name__)


class SignInForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired("Enter your email address"), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password"), Length(max=200)])


def safe_next(target: str | None) -> str:
    """Only a path on this site: never send someone to another site after signing in."""
    if not target:
        return url_for("pages.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("pages.home")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target):  # a header cannot hold them: never a 500
        return url_for("pages.home")
    return target


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    form = SignInForm()
    problem = None
    if form.validate_on_submit():
        # without NUL: PostgreSQL cannot compare text holding one (a 500), and no address has one
        user = User.get_or_none(User.email == form.email.data.replace("\x00", "").strip().lower())
        if user is not None and user.active and check_password(user.password_hash, form.password.data):
            accounts.sign_in(user)
            User.update(last_sign_in=utcnow()).where(User.id == user.id).execute()
            return redirect(safe_next(request.args.get("next")))
        check_password(None, form.password.data or "")
        problem = "Enter a correct email address and password"
    elif "csrf_token" in form.errors:
        problem = "This page was open too long. Enter your email address and password again"
    return render_template(
        "auth/sign_in.html",
        form=form,
        problem=problem,
        expired=bool(request.args.get("expired")) or g.get("session_expired", False),
        has_errors=bool(problem or form.errors),
    )


@bp.route("/sign-out", methods=["GET", "POST"])
def sign_out() -> Response:
    accounts.sign_out()
    return redirect(url_for("auth.signed_out"))


@bp.get("/signed-out")
def signed_out() -> str:
    return render_template("auth/signed_out.html")


@bp.get("/session")
def session_status() -> Response:
    """Seconds left before the session ends, for the timeout warning; does not extend it."""
    if g.get("user") is None:
        return jsonify(signed_in=False, seconds_left=0)
    return jsonify(signed_in=True, seconds_left=accounts.seconds_left())


@bp.post("/session/extend")
def extend_session() -> Response:
    """Any signed-in request extends the session (to within a minute); this one does only that, exactly."""
    if g.get("user") is None:
        return jsonify(signed_in=False, seconds_left=0)
    session["seen"] = int(time.time())
    return jsonify(signed_in=True, seconds_left=accounts.idle_seconds())

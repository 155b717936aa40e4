"""The start page, the accessibility statement, the privacy notice and the GOV.UK assets."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, current_app, render_template, send_from_directory
from werkzeug.wrappers import Response

from accounts.session import idle_seconds

bp = Blueprint("pages", __name__)


def init_app(app: Flask) -> None:
    assets = Path(app.config["GOVUK_FRONTEND_DIR"])
    if not (assets / "govuk-frontend.min.css").is_file():
        raise RuntimeError(f"GOV.UK Frontend assets not found in {assets}: run `npm ci` in the project folder first")


@bp.get("/assets/<path:filename>")
def assets(filename: str) -> Response:
    """GOV.UK Frontend's CSS, JavaScript, fonts and images, served here: no CDN.

    The package keeps its CSS and JS in dist/govuk/ and its fonts and images in
    dist/govuk/assets/, while the CSS asks for all of them under /assets/.
    """
    root = Path(current_app.config["GOVUK_FRONTEND_DIR"])
    folder = root / "assets" if filename.startswith(("fonts/", "images/", "manifest.json")) else root
    return send_from_directory(folder, filename, max_age=86400)


@bp.get("/favicon.ico")
def favicon() -> tuple[str, int]:
    """No icon: GOV.UK's crown icons are for GOV.UK services only."""
    return "", 204


@bp.get("/")
def home() -> str:
    return render_template("pages/home.html")


@bp.get("/accessibility")
def accessibility() -> str:
    """The accessibility statement (GOV.UK's model), with this service's own figures.

    The idle time is the one in force; ACCESSIBILITY_CONTACT (an email address) is where the
    partnership wants problems reported, when it has set one."""
    idle = idle_seconds()
    return render_template(
        "pages/accessibility.html",
        idle=f"{idle // 60} minutes" if idle >= 120 else f"{idle} seconds",
        contact=current_app.config.get("ACCESSIBILITY_CONTACT"),
    )


@bp.get("/privacy")
def privacy() -> str:
    """The privacy notice. PRIVACY_CONTACT (an email address) is the partnership's data
    protection contact, when it has set one."""
    return render_template("pages/privacy.html", contact=current_app.config.get("PRIVACY_CONTACT"))

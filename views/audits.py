"""Placeholder replaced by the audits journey (issue 3)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("audits", __name__)

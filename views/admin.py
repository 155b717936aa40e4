"""Placeholder replaced by the admin journey (issue 3)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__)

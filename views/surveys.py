"""Placeholder replaced by the surveys journey (issue 3)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("surveys", __name__)

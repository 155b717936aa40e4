"""Fixtures shared by every test: the app (demo mode, a throwaway instance folder), its client."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from app import create_app
from questionnaires import Questionnaire, load_file

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def app() -> Flask:
    return create_app(
        {
            "TESTING": True,
            "DEMO_MODE": True,
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
        }
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def minimal() -> Questionnaire:
    """A small definition with every question type, condition operator and rule kind."""
    return load_file(FIXTURES / "questionnaires" / "minimal.json")

"""Fixtures for the store's tests of audits: an audit in the open cycle (tests/conftest.py)."""

from __future__ import annotations

import pytest

from questionnaires.model import Questionnaire
from store import audits
from store.models import Audit, AuditCycle, User


@pytest.fixture
def audit(cycle: AuditCycle, users: dict[str, User], s11: Questionnaire) -> Audit:
    """The police agency's audit in the cycle, with its standards' states."""
    made = audits.audit_for(users["agency"].agency, cycle, users["agency"])
    audits.section_states(made, s11)
    return made

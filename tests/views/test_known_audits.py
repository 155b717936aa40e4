"""What a server process keeps of the audits and users it read a standard's page for."""

from __future__ import annotations

import pytest
from flask import Flask

from questionnaires.model import Questionnaire
from store import audits as store
from store.models import Audit, AuditCycle, User
from views import known_audits as known_module
from views.known_audits import KnownAudits, known_audits


@pytest.fixture
def audit(cycle: AuditCycle, users: dict[str, User], s11: Questionnaire) -> Audit:
    cycle.is_open = True
    cycle.save()
    made = store.audit_for(users["agency"].agency_id, cycle, users["agency"])
    store.section_states(made, s11)
    return made


def read(audit: Audit, user: User) -> store.PageRead:
    found = store.audit_with_section(audit.id, "s1", user.id, "/p")
    assert found is not None
    return found


def test_only_a_read_by_someone_who_could_change_the_audit_is_kept(audit: Audit, users: dict[str, User]) -> None:
    known = KnownAudits()
    for someone in ("other-agency", "reviewer", "admin"):
        known.remember(read(audit, users[someone]))
    assert known.for_save(users["other-agency"].id, audit.id) is None and known.audits == {}
    known.remember(read(audit, users["agency"]))
    user, facts = known.for_save(users["agency"].id, audit.id)
    assert (user.id, user.role, user.agency_id) == (users["agency"].id, "agency", users["agency"].agency_id)
    assert not user.password_hash and "password_hash" not in str(known.users)  # not kept where it is not needed
    assert (facts.audit_id, facts.response_id) == (audit.id, store.response_of(audit).id)
    assert facts.version_id == audit.cycle.questionnaire_id and facts.questionnaire.section("s1") is not None
    # nor by someone who could once: the audit submitted, or its cycle closed; and what was kept
    # of the audit goes when a read finds that
    changes = [
        (Audit.update(status="submitted"), Audit.update(status="in-progress")),
        (AuditCycle.update(is_open=False), AuditCycle.update(is_open=True)),
    ]
    for change, undo in changes:
        change.execute()
        known.remember(read(audit, users["agency"]))
        assert known.for_save(users["agency"].id, audit.id) is None
        undo.execute()
        known.remember(read(audit, users["agency"]))
        assert known.for_save(users["agency"].id, audit.id) is not None


def test_each_request_gets_its_own_copy_of_the_user(audit: Audit, users: dict[str, User]) -> None:
    known = KnownAudits()
    known.remember(read(audit, users["agency"]))
    first, _ = known.for_save(users["agency"].id, audit.id)
    first.name, first.role = "Changed in a request", "admin"
    again, _ = known.for_save(users["agency"].id, audit.id)
    assert (again.name, again.role) == (users["agency"].name, "agency") and again is not first


def test_what_is_kept_is_bounded(audit: Audit, users: dict[str, User], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(known_module, "LIMIT", 3)
    known = KnownAudits()
    found = read(audit, users["agency"])
    for n in range(10):
        found.audit.id = n  # another audit, as far as the memory can tell
        known.remember(found)
        assert len(known.audits) <= 3 and len(known.users) <= 3
    assert known.for_save(users["agency"].id, 9) is not None


def test_each_app_keeps_one_memory(app: Flask, db: object) -> None:
    with app.test_request_context():
        first = known_audits()
        assert first is known_audits()
    other = Flask(__name__)
    with other.test_request_context():
        assert known_audits() is not first

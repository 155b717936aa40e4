"""After a run: what the clients were told, checked against what the database holds.

Read straight from the database the server wrote (not through the app), with the store's own
answer loader. Every acknowledged survey response is there exactly once with every answer it
was sent with; nothing is there that no client sent; every acknowledged save is in the audit and
in its trail; every acknowledged audit submission happened exactly once, with its trail entry.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from store.answers import load_answers
from store.audits import response_of
from store.db import db, make_database
from store.models import Audit, AuditEvent, Response, SurveyLink, User
from store.trail import changes
from tests.system.people import Ledger
from tests.system.servers import Seeded

IDENTITY = "anything-else"  # the free-text question each respondent types their own text into


@dataclass
class Stored:
    responses: int  # submitted responses of the link
    saves_checked: int
    audits_submitted: int


def check(url: str, seeded: Seeded, ledger: Ledger, strict_submissions: bool = True) -> Stored:
    """Assert the database agrees with the ledger; `strict_submissions`: no audit was submitted
    without its acknowledgement reaching the client (false when requests may have died)."""
    database = make_database(url)
    before = db.obj
    db.initialize(database)
    try:
        with database.connection_context():
            return _check(seeded, ledger, strict_submissions)
    finally:
        database.close()
        db.initialize(before)


def _check(seeded: Seeded, ledger: Ledger, strict_submissions: bool) -> Stored:
    link = SurveyLink.get(SurveyLink.slug == seeded.slug)
    submitted = list(Response.select().where((Response.link == link) & (Response.status == "submitted")))
    stored = {r.id: load_answers(r) for r in submitted}
    identities = Counter(str(answers.get(IDENTITY)) for answers in stored.values())
    duplicated = {i: n for i, n in identities.items() if n > 1}
    assert not duplicated, f"responses stored more than once: {duplicated}"
    missing = set(ledger.responses) - set(identities)
    assert not missing, f"{len(missing)} acknowledged responses are not in the database: {sorted(missing)[:5]}"
    unknown = set(identities) - ledger.responses_sent
    assert not unknown, f"responses stored that no client sent: {sorted(unknown)[:5]}"
    by_identity = {str(a.get(IDENTITY)): a for a in stored.values()}
    for identity, sent in ledger.responses.items():
        answers = by_identity[identity]
        lost = {q: v for q, v in sent.items() if str(answers.get(q)) != v}
        assert not lost, f"response {identity}: answers not stored as sent: {lost} (stored {answers})"

    saves = 0
    users = {u.email: u for u in User.select()}
    for agent in seeded.agents:
        audit = Audit.get_by_id(agent.audit_id)
        answers = load_answers(response_of(audit))
        user = users[agent.email]
        for (email, question), acknowledged in ledger.saves.items():
            if email != agent.email:
                continue
            sent = ledger.saves_sent[(email, question)]
            # the last acknowledged text, or a later one whose acknowledgement was lost
            allowed = sent[sent.index(acknowledged[-1]) :]
            assert answers.get(question) in allowed, f"{email} {question}: {answers.get(question)!r} not in {allowed}"
            theirs = AuditEvent.select().where((AuditEvent.audit == audit) & (AuditEvent.user == user))
            trail = {c.after for c in changes(theirs) if c.kind == "answer" and c.target == question}
            untraced = [text for text in acknowledged if text not in trail]
            assert not untraced, f"{email} {question}: saves with no trail entry: {untraced}"
            saves += len(acknowledged)
        events = list(
            AuditEvent.select().where(
                (AuditEvent.audit == audit)
                & (AuditEvent.kind == "status")
                & (AuditEvent.target == "audit")
                & (AuditEvent.after == "submitted")
            )
        )
        if agent.email in ledger.submitted:
            assert audit.status == "submitted" and audit.submitted_by_id == user.id, f"{agent.email}: not submitted"
            assert response_of(audit).status == "submitted"
            assert len(events) == 1 and events[0].user_id == user.id, f"{agent.email}: {len(events)} submissions"
        elif strict_submissions or not agent.submits:
            assert audit.status != "submitted" and not events, f"{agent.email}: submitted, never acknowledged"
        else:
            assert len(events) == (1 if audit.status == "submitted" else 0)
    return Stored(len(submitted), saves, sum(1 for a in seeded.agents if a.email in ledger.submitted))

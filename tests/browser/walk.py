"""Every page of the app, as each role reaches it: the GET routes of `app.url_map` with real ids
from the demo partnership, so a page added later is visited without anyone remembering to.

Shared by the walks over every page (test_accessibility.py scans each with axe, test_reflow.py
checks each fits a narrow screen). A route whose arguments have no example here fails the walk,
naming the argument to add.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from store import demo
from store.audits import open_cycle
from store.models import Agency, Audit, ConcernFlag, QuestionnaireVersion, SurveyLink, SurveyRound, User
from tests.browser.conftest import Server

ROLES = ("visitor", "agency", "reviewer", "analyst", "admin")
# not pages: files, JSON for the timeout warning, and signing out (which would end the run's session)
SKIP = {"static", "pages.assets", "auth.sign_out", "auth.session_status"}
DEMO_EMAILS = {
    "agency": f"police.lead@{demo.EMAIL_DOMAIN}",
    "reviewer": f"reviewer@{demo.EMAIL_DOMAIN}",
    "analyst": f"analyst@{demo.EMAIL_DOMAIN}",
    "admin": f"admin@{demo.EMAIL_DOMAIN}",
}


@dataclass
class Examples:
    """Argument values for URLs: shared ones, those of one endpoint, and the audits each role sees."""

    shared: dict[str, Any]
    per_endpoint: dict[str, dict[str, Any]]
    audits: dict[str, list[int]]

    def urls(self, server: Server, role: str) -> Iterator[str]:
        app = server.app
        with app.test_request_context():
            for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
                if rule.endpoint in SKIP or "GET" not in rule.methods or "." in rule.rule.rsplit("/", 1)[-1]:
                    continue  # not a page, or a file to download (its address ends in a file name)
                audits = self.audits[role] if "audit_id" in rule.arguments else [None]
                for audit_id in audits:
                    values = {}
                    for name in rule.arguments:
                        given = {**self.shared, **self.per_endpoint.get(rule.endpoint, {}), "audit_id": audit_id}
                        choices = getattr(rule._converters[name], "items", None)
                        if choices:  # <any(open, close):change>: the first word
                            values[name] = sorted(choices)[0]
                        elif name in given:
                            values[name] = given[name]
                        else:
                            pytest.fail(
                                f"no example value for <{name}> of {rule.rule}: add one to demo_examples() in {__file__}"
                            )
                    yield app.url_for(rule.endpoint, **values)


def demo_examples(server: Server) -> Examples:
    """The ids to put in each route's address, from the demo partnership on the server."""
    with server.rows():
        police = Agency.get(Agency.name == "Shire Police")
        cycle = open_cycle()
        own = Audit.get((Audit.agency == police) & (Audit.cycle == cycle))
        earlier = Audit.get((Audit.agency == police) & (Audit.cycle != cycle) & (Audit.status == "submitted"))
        other = Audit.get((Audit.agency != police) & (Audit.cycle == cycle) & (Audit.status == "submitted"))
        workshop = SurveyRound.get(SurveyRound.name.startswith("Neglect"))
        device = SurveyLink.get((SurveyLink.round == workshop) & (SurveyLink.mode == "device"))
        codes = SurveyLink.get((SurveyLink.round == workshop) & (SurveyLink.mode == "tokens"))
        child = SurveyLink.get(SurveyLink.label == "Schools and youth groups")
        return Examples(
            shared={
                "section_id": "s1",
                "cycle_id": cycle.id,
                "round_id": workshop.id,
                "link_id": codes.id,
                "user_id": User.get(User.email == f"police.deputy@{demo.EMAIL_DOMAIN}").id,
                "agency_id": police.id,
                "version_id": QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "s11-self-audit").id,
                "questionnaire_id": "s11-self-audit",
                "slug": child.slug,
                "flag_id": _first_id(ConcernFlag),
            },
            per_endpoint={
                "surveys.section": {"slug": device.slug, "section_id": "about"},
                "surveys.start_with_code": {
                    "slug": codes.slug,
                    "code": server.demo.codes[f"/s/{codes.slug}"][0],
                },
            },
            audits={
                "visitor": [own.id],
                "agency": [own.id, earlier.id],
                "reviewer": [other.id],
                "analyst": [other.id],
                "admin": [other.id, own.id],
            },
        )


def _first_id(model: Any) -> int:
    """The first row's id, or 0 (a page that is not found) when there is none."""
    row = model.select(model.id).order_by(model.id).first()
    return row.id if row is not None else 0

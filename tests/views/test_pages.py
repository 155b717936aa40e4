"""The pages for everyone: the accessibility statement, and the footer link that reaches it."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from store.models import User
from tests.conftest import sign_in_as

# GOV.UK's model statement, in this order
SECTIONS = [
    "How accessible this service is",
    "Feedback and contact information",
    "Reporting accessibility problems with this service",
    "Enforcement procedure",
    "Technical information about this service’s accessibility",
    "Compliance status",
    "Non-accessible content",
    "What we are doing to improve accessibility",
    "Preparation of this accessibility statement",
]


def headings(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", h).strip() for h in re.findall(r"<h[23][^>]*>(.*?)</h[23]>", html, re.S)]


def test_statement_follows_the_model_and_says_how_it_was_tested(client: FlaskClient) -> None:
    page = client.get("/accessibility")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<h1 class="govuk-heading-l">Accessibility statement for Safeguarding audits and surveys</h1>' in html
    found = headings(html)
    assert [h for h in found if h in SECTIONS] == SECTIONS
    for words in (
        "Web Content Accessibility Guidelines version 2.2</a> AA standard",
        "Equality and Human Rights Commission (EHRC)",
        "Equality Advisory and Support Service (EASS)",
        "axe-core",
        "with the keyboard alone, with and without JavaScript",
        "This statement was prepared on",
    ):
        assert words in html, words


def test_statement_gives_the_idle_time_in_force(app: Flask, client: FlaskClient) -> None:
    assert "do nothing for 30 minutes" in client.get("/accessibility").get_data(as_text=True)
    app.config["SESSION_IDLE_MINUTES"] = 20
    assert "do nothing for 20 minutes" in client.get("/accessibility").get_data(as_text=True)


def test_problems_go_to_the_contact_the_partnership_sets(app: Flask, client: FlaskClient) -> None:
    html = client.get("/accessibility").get_data(as_text=True)
    assert "mailto:" not in html
    assert html.count("your safeguarding partnership's business unit") == 2
    app.config["ACCESSIBILITY_CONTACT"] = "lscp@shire.example.org"
    html = client.get("/accessibility").get_data(as_text=True)
    assert html.count('<a class="govuk-link" href="mailto:lscp@shire.example.org">lscp@shire.example.org</a>') == 2
    assert "business unit" not in html


def test_contact_is_escaped(app: Flask, client: FlaskClient) -> None:
    app.config["ACCESSIBILITY_CONTACT"] = '"><script>alert(1)</script>'
    html = client.get("/accessibility").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html


def test_every_page_links_to_the_statement_from_its_footer(client: FlaskClient, users: dict[str, User]) -> None:
    link = '<a class="govuk-footer__link" href="/accessibility">Accessibility statement</a>'
    for path in ("/", "/sign-in", "/privacy", "/no-such-page"):
        assert link in client.get(path).get_data(as_text=True), path
    sign_in_as(client, users["agency"])
    assert link in client.get("/audit/").get_data(as_text=True)


def test_the_home_page_names_the_service_once_in_its_title(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "<title>Safeguarding audits and surveys</title>" in page
    other = client.get("/accessibility").get_data(as_text=True)
    assert re.search(r"<title>[^<]+ – Safeguarding audits and surveys</title>", other), "other pages keep the name"


def test_the_privacy_notice_says_who_is_responsible_and_how_to_complain(app: Flask, client: FlaskClient) -> None:
    html = client.get("/privacy").get_data(as_text=True).replace("&#39;", "'")
    assert "data controller" in html and "Information Commissioner's Office" in html
    assert "they cannot contact you" in html, "no promise of help the service cannot keep"
    assert "so that they can help" not in html
    assert "your safeguarding partnership's data protection officer" in html and "mailto:" not in html
    app.config["PRIVACY_CONTACT"] = "dpo@shire.example.org"
    html = client.get("/privacy").get_data(as_text=True)
    assert '<a class="govuk-link" href="mailto:dpo@shire.example.org">dpo@shire.example.org</a>' in html


def test_the_beta_banner_asks_for_feedback_only_where_it_can_be_sent(app: Flask, client: FlaskClient) -> None:
    """The phase banner links to feedback by email; with no address set it offers none (a
    sentence asking for feedback with no way to give it is a dead end)."""
    html = client.get("/").get_data(as_text=True)
    assert "This is a new service." in html and "feedback" not in html.lower()
    app.config["ACCESSIBILITY_CONTACT"] = "lscp@shire.example.org"
    html = client.get("/").get_data(as_text=True)
    assert (
        'href="mailto:lscp%40shire.example.org?subject=Feedback%20on%20Safeguarding%20audits%20and%20surveys"' in html
    )
    app.config["FEEDBACK_CONTACT"] = "beta@shire.example.org"
    for path in ("/", "/sign-in", "/accessibility"):
        html = client.get(path).get_data(as_text=True)
        assert '<a class="govuk-link" href="mailto:beta%40shire.example.org?subject=' in html, path
        assert "feedback (opens your email program)</a> will help us to improve it." in html, path
    app.config["FEEDBACK_CONTACT"] = '"><script>alert(1)</script>'
    assert "<script>alert(1)</script>" not in client.get("/").get_data(as_text=True)

"""Forged requests (CSRF) with CSRF protection on, as it is outside the tests: every POST route of
the app, posted by someone who may use it with a form that would change something, refuses a
missing or forged token with a page that says so, and changes nothing in the database. The same
form with the page's own token does make its change, so each refusal is the token's doing.

Forgeries: no token; a made-up one; a real token of another person's session (the classic
attack: the attacker's own token); one signed with another secret. A token that has merely
expired keeps what was typed (the page comes back with it), and a form posted after the session
itself expired is kept until the person signs in again (accounts/kept.py), token or not.

Two routes need no token, on purpose: signing out (a link signs out too, and it changes nothing
stored) and extending the session (any request does that). Routes added later that are not in
CASES still get the generic check: no 500 and nothing stored, whatever is posted.
"""

from __future__ import annotations

import time
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from store.models import (
    Agency,
    KeptPost,
)
from tests.conftest import PASSWORD
from tests.security.world import (
    CASES,
    ROLE_OF_AREA,
    changed_tables,
    csrf_token_on,
    forms_on,
    s11_section,
    sign_in,
    snapshot,
)

EXEMPT = {
    "auth.sign_out": "a link (GET) signs out as well, and signing out stores nothing",
    "auth.extend_session": "any request extends the session; this one does nothing else",
}
REFUSED = (  # what the pages say when a token is missing, forged or expired
    "This page was open too long",
    "This page was open for too long",
)


# --- forged tokens ------------------------------------------------------------------------------


def _raw_token(client: FlaskClient) -> str:
    with client.session_transaction() as session:
        return session["csrf_token"]


def forgeries(app: Flask, client: FlaskClient) -> dict[str, str | None]:
    """Tokens an attacker could send, for a client whose session holds a token already."""
    someone_else = app.test_client()
    their_token = csrf_token_on(someone_else.get("/sign-in").get_data(as_text=True))
    other_secret = URLSafeTimedSerializer("not-the-app-secret", salt="wtf-csrf-token").dumps(_raw_token(client))
    return {"missing": None, "made up": "forged-token", "another session's": their_token, "other secret": other_secret}


def expired_token(app: Flask, client: FlaskClient) -> str:
    """This session's own token, signed nine hours ago (the limit is eight)."""

    class NineHoursAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 9 * 3600

    serializer = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token", signer=NineHoursAgo)
    return serializer.dumps(_raw_token(client))


def _says_refused(client: FlaskClient, response: Any) -> bool:
    """The page (or, after a redirect, the page it leads to) says the post was not accepted."""
    if response.mimetype == "application/json":
        return response.status_code == 400 and response.get_json() == {"kept": False, "reason": "expired"}
    if response.status_code in (302, 303):
        response = client.get(response.headers["Location"])
    page = unescape(response.get_data(as_text=True))
    return any(words in page for words in REFUSED)


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_a_missing_or_forged_token_is_refused_and_changes_nothing(
    csrf_app: Flask, world: dict[str, Any], endpoint: str
) -> None:
    case = CASES[endpoint]
    client = csrf_app.test_client()
    if case.role != "visitor":
        sign_in(client, world["users"][case.role])
    if case.before:
        case.before(world, client)
    url = case.url(world)
    token = csrf_token_on(client.get(case.page(world) if case.page else url).get_data(as_text=True))
    data = case.data(world, client)
    database = csrf_app.extensions["database"]
    before = snapshot(database)
    for kind, forged in forgeries(csrf_app, client).items():
        sent = data | ({"csrf_token": forged} if forged is not None else {})
        response = client.post(url, data=sent)
        assert response.status_code < 500, (kind, response.status_code)
        assert changed_tables(before, snapshot(database)) == [], f"{kind} token: something was stored"
        assert _says_refused(client, response), f"{kind} token: the page does not say why nothing happened"
    accepted = client.post(url, data=data | {"csrf_token": token})
    assert accepted.status_code < 500
    assert _says_refused(client, accepted) is False, "the page's own token is accepted"
    if case.changes:
        assert changed_tables(before, snapshot(database)), "with its own token the same post makes its change"


def test_every_post_route_changes_nothing_without_its_token(csrf_app: Flask, world: dict[str, Any]) -> None:
    """Every POST route in the app, including any added after CASES was written, posted empty
    and with each forgery by the role it is for: never a 500, never anything stored."""
    database = csrf_app.extensions["database"]
    clients: dict[str, FlaskClient] = {}
    for role in ("visitor", "admin", "reviewer", "agency"):
        clients[role] = csrf_app.test_client()
        if role != "visitor":
            sign_in(clients[role], world["users"][role])
        clients[role].get("/sign-in")  # a token in every session
    values = {
        "audit_id": world["own"].id,
        "section_id": "s1",
        "cycle_id": world["cycle"].id,
        "round_id": world["round"].id,
        "link_id": world["codes_link"].id,
        "user_id": world["users"]["colleague"].id,
        "agency_id": world["agencies"]["health"].id,
        "version_id": world["s11"].id,
        "questionnaire_id": "family-experience",
        "slug": world["family"].slug,
        "code": world["codes"][1],
    }
    problems = []
    with csrf_app.test_request_context():
        routes = [
            (rule.endpoint, rule)
            for rule in csrf_app.url_map.iter_rules()
            if "POST" in rule.methods and rule.endpoint not in EXEMPT
        ]
        urls = {}
        for endpoint, rule in routes:
            args = {}
            for name in rule.arguments:
                converter = rule._converters[name]
                args[name] = sorted(converter.items)[0] if hasattr(converter, "items") else values.get(name, 1)
            urls[endpoint] = csrf_app.url_for(endpoint, **args)
    assert set(CASES) <= set(urls), "CASES names routes that no longer exist"
    for endpoint, url in urls.items():  # pages may make their rows when first opened: not a change
        clients[ROLE_OF_AREA.get(endpoint.split(".")[0], "visitor")].get(url)
    before = snapshot(database)
    for endpoint, url in sorted(urls.items()):
        client = clients[ROLE_OF_AREA.get(endpoint.split(".")[0], "visitor")]
        for kind, forged in forgeries(csrf_app, client).items():
            response = client.post(url, data={"csrf_token": forged} if forged else {})
            after = snapshot(database)
            changed = changed_tables(before, after)
            if response.status_code in (302, 303) and "/sign-in" in response.headers.get("Location", ""):
                # a route for a role this client has not: the post is kept for after signing in
                # (accounts/kept.py), which is all that may be stored
                changed = [name for name in changed if name != "kept_post"]
            if response.status_code >= 500:
                problems.append(f"{endpoint} ({kind}): {response.status_code}")
            elif changed:
                problems.append(f"{endpoint} ({kind}): stored something in {changed}")
            before = after
    assert not problems, "\n".join(problems)


def test_the_routes_without_a_token_change_nothing_stored(csrf_app: Flask, world: dict[str, Any]) -> None:
    client = csrf_app.test_client()
    sign_in(client, world["users"]["agency"])
    before = snapshot(csrf_app.extensions["database"])
    assert client.post("/session/extend").get_json()["signed_in"] is True
    assert client.post("/sign-out").status_code == 302
    assert changed_tables(before, snapshot(csrf_app.extensions["database"])) == []
    assert set(EXEMPT) <= {rule.endpoint for rule in csrf_app.url_map.iter_rules()}


# --- expired tokens and expired sessions keep what was typed --------------------------------------


def test_an_expired_token_brings_the_page_back_with_what_was_typed(csrf_app: Flask, world: dict[str, Any]) -> None:
    child = csrf_app.test_client()
    url = f"/s/{world['family'].slug}/q/about-you"
    child.get(url)
    typed = "Nobody explained what would happen next"
    page = child.post(url, data={"anything-else": typed, "csrf_token": expired_token(csrf_app, child)})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "This page was open too long" in unescape(html)
    fields = dict(max(forms_on(html), key=lambda f: len(f["fields"]))["fields"])
    assert fields["anything-else"] == typed
    assert child.post(url, data=fields).status_code == 303, "sent again as shown, with the page's fresh token"

    lead = csrf_app.test_client()
    sign_in(lead, world["users"]["agency"])
    data = s11_section(world, lead) | {"s1.2-narrative": "Typed before lunch, sent after"}
    before = snapshot(csrf_app.extensions["database"])
    page = lead.post(f"/audit/{world['own'].id}/s1", data=data | {"csrf_token": expired_token(csrf_app, lead)})
    assert changed_tables(before, snapshot(csrf_app.extensions["database"])) == []
    html = unescape(page.get_data(as_text=True))
    assert "This page was open too long" in html and "Typed before lunch, sent after" in html


@pytest.mark.parametrize(
    ("headers", "kept"),
    [
        ({"Sec-Fetch-Site": "cross-site", "Origin": "https://forms.example"}, False),
        ({"Sec-Fetch-Site": "same-site", "Origin": "https://other.localhost"}, False),
        ({"Origin": "https://forms.example"}, False),
        ({"Origin": "null"}, False),
        ({"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}, True),
        ({"Origin": "https://localhost"}, True),  # TLS ended by a proxy: the host is what counts
        ({}, True),
    ],
)
def test_a_form_another_site_posts_while_signed_out_is_not_kept(
    csrf_app: Flask, world: dict[str, Any], headers: dict[str, str], kept: bool
) -> None:
    """Another site's page can post a form in the person's browser, with no session cookie
    (SameSite) and so no token: kept, it would come back after signing in as "what you typed"."""
    stranger = csrf_app.test_client()
    sent = stranger.post(
        f"/audit/{world['own'].id}/s1", data={"s1.2-narrative": "Planted by another site"}, headers=headers
    )
    assert sent.status_code == 302 and "/sign-in" in sent.headers["Location"]
    assert KeptPost.select().count() == (1 if kept else 0)
    with stranger.session_transaction() as session:
        assert ("kept" in session) is kept


def test_a_form_sent_after_the_session_expired_is_kept_until_sign_in(csrf_app: Flask, world: dict[str, Any]) -> None:
    """The session ended while the page was open: the post is kept (its token is not needed, and
    not kept), the person signs in, sees what they typed and sends it with a fresh token."""
    admin = csrf_app.test_client()
    sign_in(admin, world["users"]["admin"])
    token = csrf_token_on(admin.get("/admin/agencies/new").get_data(as_text=True))
    with admin.session_transaction() as session:
        session["seen"] = int(time.time()) - 3 * 3600
    sent = admin.post(
        "/admin/agencies/new", data={"name": "Shire Youth Trust", "sector": "housing", "csrf_token": token}
    )
    assert sent.status_code == 302 and "/sign-in" in sent.headers["Location"]
    assert Agency.get_or_none(Agency.name == "Shire Youth Trust") is None
    (kept,) = KeptPost.select()
    assert ["csrf_token", token] not in kept.form

    sign_in_page = admin.get(sent.headers["Location"])
    signed = admin.post(
        sent.headers["Location"],
        data={
            "email": world["users"]["admin"].email,
            "password": PASSWORD,
            "csrf_token": csrf_token_on(sign_in_page.get_data(as_text=True)),
        },
    )
    assert signed.status_code == 302 and signed.headers["Location"] == "/admin/agencies/new"
    page = admin.get("/admin/agencies/new").get_data(as_text=True)
    assert "We kept what you typed" in unescape(page)
    fields = dict(max(forms_on(page), key=lambda f: len(f["fields"]))["fields"])
    assert fields["name"] == "Shire Youth Trust" and fields["csrf_token"] != token
    assert fields["sector"] == "housing", "the radio chosen is chosen again"
    assert admin.post("/admin/agencies/new", data=fields).status_code == 302
    assert Agency.get_or_none(Agency.name == "Shire Youth Trust") is not None

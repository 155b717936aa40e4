"""Oversized bodies and forms with very many fields (request_limits): a clear GOV.UK 413 page,
never a 500, and nothing stored, for every POST route; and the characters sign-in could not take.

MAX_CONTENT_LENGTH is 1 MiB and MAX_FORM_PARTS 1,000: the 2 MiB post carries a form that would
otherwise make its change (the same form without the padding does, checked here too), so the
refusal is the size's doing, not a validation error's.
"""

from __future__ import annotations

import io
import re
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import EnvironBuilder, encode_multipart
from werkzeug.wrappers import Request

from store.models import Answer, QuestionnaireVersion
from tests.conftest import PASSWORD, sign_in_as
from tests.security.world import (
    CASES,
    ROLE_OF_AREA,
    changed_tables,
    csrf_token_on,
    make_link,
    sign_in,
    snapshot,
)

MiB = 1024 * 1024
PADDING = "x" * (2 * MiB)


def body_of(response: Any) -> str:
    return response.get_data(as_text=True)


def assert_too_large(response: Any, title: str = "What you sent is too large") -> None:
    assert response.status_code == 413, response.status_code
    page = unescape(response.get_data(as_text=True))
    assert 'class="govuk-template"' in page and f'<h1 class="govuk-heading-l">{title}</h1>' in page
    assert "try again" in page and "Traceback" not in page


def test_the_limits_are_what_the_pages_say(app: Flask) -> None:
    assert app.config["MAX_CONTENT_LENGTH"] == MiB
    assert app.config["MAX_FORM_PARTS"] == 1000


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_two_mebibytes_to_any_form_are_refused_and_store_nothing(
    csrf_app: Flask, world: dict[str, Any], endpoint: str
) -> None:
    case = CASES[endpoint]
    client = csrf_app.test_client()
    if case.role != "visitor":
        sign_in(client, world["users"][case.role])
    if case.before:
        case.before(world, client)
    url = case.url(world)
    data = case.data(world, client) | {
        "csrf_token": csrf_token_on(client.get(case.page(world) if case.page else url).get_data(as_text=True))
    }
    database = csrf_app.extensions["database"]
    before = snapshot(database)
    title = "The file is too large" if endpoint == "admin.new_questionnaire" else "What you sent is too large"
    assert_too_large(client.post(url, data=data | {"padding": PADDING}), title)
    assert_too_large(client.post(url, data={**data, "s1.1-narrative": PADDING, "anything-else": PADDING}), title)
    assert changed_tables(before, snapshot(database)) == []
    if case.changes:
        assert client.post(url, data=data).status_code < 500
        assert changed_tables(before, snapshot(database)), "without the padding, the same post makes its change"


def every_post_route(app: Flask, world: dict[str, Any]) -> dict[str, tuple[FlaskClient, str]]:
    """endpoint -> (a client signed in as the role it is for, its address), for every POST route,
    including routes that read no form (signing out) and any added after CASES was written."""
    clients: dict[str, FlaskClient] = {}
    for role in ("visitor", "admin", "reviewer", "agency"):
        clients[role] = app.test_client()
        if role != "visitor":
            sign_in(clients[role], world["users"][role])
    known = {"slug": world["family"].slug, "section_id": "s1", "questionnaire_id": "family-experience"}
    out = {}
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "POST" not in rule.methods:
                continue
            args = {
                name: sorted(rule._converters[name].items)[0]
                if hasattr(rule._converters[name], "items")
                else known.get(name, world["own"].id)
                for name in rule.arguments
            }
            client = clients[ROLE_OF_AREA.get(rule.endpoint.split(".")[0], "visitor")]
            out[rule.endpoint] = (client, app.url_for(rule.endpoint, **args))
    return out


def test_every_post_route_refuses_two_mebibytes(csrf_app: Flask, world: dict[str, Any]) -> None:
    routes = every_post_route(csrf_app, world)
    database = csrf_app.extensions["database"]
    before = snapshot(database)
    wrong = []
    for endpoint, (client, url) in sorted(routes.items()):
        response = client.post(url, data={"padding": PADDING})
        title = "The file is too large" if endpoint == "admin.new_questionnaire" else "What you sent is too large"
        if response.status_code != 413 or title not in response.get_data(as_text=True):
            wrong.append(f"{endpoint}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
    assert changed_tables(before, snapshot(database)) == []
    admin = routes["admin.new_agency"][0]
    assert admin.get("/admin/").status_code == 200, "signing out read no body, and did not happen"


def test_sign_in_takes_characters_no_header_or_database_can_hold(app: Flask, users: dict[str, Any]) -> None:
    """A NUL in the email address (PostgreSQL cannot compare text holding one) and a line break in
    the address to go back to (no header can hold one) were each a 500 before."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    admin = users["admin"]
    wrong = app.test_client().post("/sign-in", data={"email": "admin\x00@example.org", "password": "x"})
    assert wrong.status_code == 200 and "Enter a correct email address and password" in unescape(body_of(wrong))
    for target in ("/admin/%0d%0aSet-Cookie:%20session=forged", "/admin/%00", "/admin/%7f"):
        signed = app.test_client().post(f"/sign-in?next={target}", data={"email": admin.email, "password": PASSWORD})
        assert signed.status_code == 302 and signed.headers["Location"] == "/", target
        assert "Set-Cookie: session=forged" not in str(signed.headers)


def test_a_large_upload_and_a_body_without_a_length_are_refused(csrf_app: Flask, world: dict[str, Any]) -> None:
    admin = csrf_app.test_client()
    sign_in(admin, world["users"]["admin"])
    token = csrf_token_on(admin.get("/admin/questionnaires/new").get_data(as_text=True))
    versions = QuestionnaireVersion.select().count()
    # encoded here, in memory: the test client would spool so large a body to a file of its own
    boundary, body = encode_multipart(
        MultiDict({"csrf_token": token, "file": FileStorage(io.BytesIO(b"{" + b" " * (2 * MiB) + b"}"), "huge.json")})
    )
    upload = admin.post(
        "/admin/questionnaires/new", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert_too_large(upload, "The file is too large")
    assert QuestionnaireVersion.select().count() == versions

    # sent in chunks, with no Content-Length to check first: refused as it is read
    child = csrf_app.test_client()
    url = f"/s/{world['family'].slug}/q/about-you"
    token = csrf_token_on(child.get(url).get_data(as_text=True))
    body = f"csrf_token={token}&anything-else=hello&padding={PADDING}".encode()
    environ = EnvironBuilder(
        path=url, method="POST", input_stream=io.BytesIO(body), content_type="application/x-www-form-urlencoded"
    ).get_environ()
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True  # what a server says of a chunked body it has framed
    assert_too_large(child.open(Request(environ)))
    assert Answer.select().count() == 0


def test_a_form_with_more_fields_than_any_page_sends_is_refused(app: Flask, db: Any) -> None:
    link = make_link("family-experience")
    client = app.test_client()
    url = f"/s/{link.slug}/q/about-you"
    many = [("anything-else", "hello")] + [(f"f{n}", "") for n in range(1000)]  # 1,001 fields, a few kB
    refused = client.post(url, data=MultiDict(many))
    assert_too_large(refused, "What you sent has too many parts")
    assert "at most 1,000 answers" in unescape(refused.get_data(as_text=True))
    # werkzeug counts multipart parts itself (give or take the last one, as its buffer falls)
    more = many + [(f"g{n}", "") for n in range(500)]
    refused = client.post(url, data=MultiDict(more), content_type="multipart/form-data")
    assert refused.status_code == 413 and "too many answers" in unescape(refused.get_data(as_text=True))
    assert Answer.select().count() == 0

    accepted = client.post(url, data=MultiDict(many[:1000]))  # 1,000 fields is still a form
    assert accepted.status_code == 303
    assert Answer.get().value == "hello"


class Unreadable(io.RawIOBase):
    """A body that fails the test if anything reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise AssertionError("the body was read before the size check refused it")


def navigation_of(response: Any) -> list[str]:
    """The link texts of the service navigation in the page's header (not the service's name)."""
    header = re.search(r'<header class="govuk-template__header">(.*?)</header>', body_of(response), re.S).group(1)
    items = re.findall(r'<li class="govuk-service-navigation__item[^"]*">\s*<a [^>]*>(.*?)</a>', header, re.S)
    return [unescape(text.strip()) for text in items]


def test_the_too_large_page_knows_who_is_signed_in_without_reading_the_body(app: Flask, users: dict[str, Any]) -> None:
    """The size check runs before anything reads the body, but after the user is loaded from the
    session cookie (a header): the 413 page's header is the signed-in person's own, with their
    navigation and "Sign out", not "Sign in"; a session that has ended shows "Sign in" again."""
    client = app.test_client()
    sign_in_as(client, users["admin"])
    signed_in = navigation_of(client.get("/admin/"))
    assert "Sign out" in signed_in and "Sign in" not in signed_in
    unread = {"wsgi.input": Unreadable(), "CONTENT_LENGTH": str(2 * MiB)}
    refused = client.post("/admin/agencies/new", environ_overrides=unread)
    assert_too_large(refused)
    assert navigation_of(refused) == signed_in
    assert client.get("/admin/").status_code == 200, "still signed in"

    with client.session_transaction() as session:
        session["seen"] = 0  # idle far longer than the limit
    refused = client.post("/admin/agencies/new", environ_overrides=unread)
    assert_too_large(refused)
    assert navigation_of(refused) == ["Sign in"]
    assert client.get("/admin/").status_code == 302, "the session that ended stays ended"

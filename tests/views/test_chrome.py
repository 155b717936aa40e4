"""The page chrome's memoized GOV.UK macros (views/chrome.py): the same markup as the macros,
and never one person's navigation on another's page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import Markup

from store.models import User
from tests.conftest import sign_in_as
from views.chrome import CHROME_MACROS, MAX_ENTRIES, MemoizedMacro, freeze

LAYOUT = Path(__file__).resolve().parents[2] / "templates" / "layout.html"
CHILD_PAGE = "/preview/child-experience/age-12-17-adults?band=age-12-17"


def navigation_links(html: str) -> list[str]:
    """The texts of the service navigation's links, in order."""
    nav = re.search(r'<ul class="govuk-service-navigation__list".*?</ul>', html, re.S)
    assert nav is not None, "the page has no service navigation"
    return [re.sub(r"<[^>]+>", "", text).strip() for text in re.findall(r"<a [^>]*>(.*?)</a>", nav.group(0), re.S)]


def test_the_chrome_macros_are_memoized_in_the_app(app: Flask) -> None:
    for name in CHROME_MACROS:
        assert isinstance(app.jinja_env.globals[name], MemoizedMacro), name


@pytest.mark.parametrize("name", CHROME_MACROS)
def test_memoized_markup_is_the_macros_markup(app: Flask, name: str) -> None:
    memoized = app.jinja_env.globals[name]
    params: dict[str, dict[str, Any]] = {
        "govukServiceNavigation": {
            "serviceName": "Safeguarding audits and surveys",
            "serviceUrl": "/",
            "navigation": [
                {"href": "/audit/", "text": "Your self-audit", "active": True},
                {"href": "/sign-out", "text": "Sign out"},
            ],
        },
        "govukBackLink": {"href": "/preview/child-experience/?band=age-8-11", "text": "Back to <the survey>"},
        "govukButton": {"text": "Check these answers", "preventDoubleClick": True},
    }
    with app.test_request_context():
        first, again = memoized(params[name]), memoized(params[name])
        assert first == memoized.macro(params[name])
        assert again is first, "the second call is served from the cache"


def test_a_visitors_and_a_signed_in_persons_navigation_never_mix(
    app: Flask, client: FlaskClient, users: dict[str, User]
) -> None:
    # the same page, in turn: a visitor, a reviewer, a visitor again, an admin, a visitor again
    assert navigation_links(client.get(CHILD_PAGE).get_data(as_text=True)) == ["Sign in"]
    reviewer = sign_in_as(app.test_client(), users["reviewer"])
    assert navigation_links(reviewer.get(CHILD_PAGE).get_data(as_text=True)) == [
        "Audits to review",
        "Results",
        "Sign out",
    ]
    assert navigation_links(client.get(CHILD_PAGE).get_data(as_text=True)) == ["Sign in"]
    admin = sign_in_as(app.test_client(), users["admin"])
    admin_links = navigation_links(admin.get(CHILD_PAGE).get_data(as_text=True))
    assert "Administration" in admin_links and "Sign in" not in admin_links and "Audits to review" not in admin_links
    assert navigation_links(client.get(CHILD_PAGE).get_data(as_text=True)) == ["Sign in"]
    # and a reviewer after an admin sees their own links, not the admin's
    assert "Administration" not in navigation_links(reviewer.get(CHILD_PAGE).get_data(as_text=True))


def test_the_active_item_is_part_of_the_key(client: FlaskClient) -> None:
    sign_in = client.get("/sign-in").get_data(as_text=True)
    assert 'href="/sign-in" aria-current="true"' in sign_in
    elsewhere = client.get(CHILD_PAGE).get_data(as_text=True)
    assert 'href="/sign-in"' in elsewhere and "aria-current" not in elsewhere


def test_survey_pages_have_no_navigation_whoever_visited_before(client: FlaskClient) -> None:
    client.get(CHILD_PAGE)  # a visitor's navigation is in the cache
    page = client.get("/s/no-such-link").get_data(as_text=True)  # a survey page: navigation []
    assert "govuk-service-navigation__list" not in page and "Sign in" not in page


def test_every_footer_link_in_the_layout_is_on_the_pages(
    app: Flask, client: FlaskClient, users: dict[str, User]
) -> None:
    """The footer is written by layout.html on every page, not cached: whatever it links to
    (a link added to it later included) is on a visitor's page and a signed-in person's."""
    footer = re.search(r"<footer.*?</footer>", LAYOUT.read_text(encoding="utf-8"), re.S)
    assert footer is not None
    links = re.findall(r'<a class="govuk-footer__link" href="([^"]+)">([^<]+)</a>', footer.group(0))
    assert ("/accessibility", "Accessibility statement") in links
    signed_in = sign_in_as(app.test_client(), users["analyst"])
    for page in (client.get(CHILD_PAGE), client.get("/"), signed_in.get(CHILD_PAGE), client.get("/s/no-such-link")):
        html = page.get_data(as_text=True)
        for href, text in links:
            assert f'<a class="govuk-footer__link" href="{href}">{text}</a>' in html, (href, page.request.path)


def test_the_key_tells_apart_what_renders_differently() -> None:
    assert freeze({"text": "<b>"}) != freeze({"text": Markup("<b>")}), "escaped text and markup"
    assert freeze({"active": True}) != freeze({"active": 1})
    assert freeze({"active": False}) != freeze({"active": None}) != freeze({})
    assert freeze(["a"]) != freeze(("a",)) != freeze("a")
    assert freeze({"a": [{"b": 1}]}) != freeze({"a": [{"b": 2}]})
    assert freeze({"a": [{"b": 1}]}) == freeze({"a": [{"b": 1}]})


class Counting:
    """A stand-in macro that says how often it was called."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        return f"<p>{args!r} {kwargs!r}</p>"


def test_equal_parameters_render_once_different_ones_again() -> None:
    macro = Counting()
    memoized = MemoizedMacro(macro, lambda: True)
    assert memoized({"text": "A"}) == memoized({"text": "A"})
    assert macro.calls == 1
    assert memoized({"text": "B"}) != memoized({"text": "A"})
    assert macro.calls == 2
    assert isinstance(memoized({"text": "A"}), Markup)


def test_what_cannot_be_keyed_is_rendered_every_time() -> None:
    macro = Counting()
    memoized = MemoizedMacro(macro, lambda: True)
    for _ in range(2):
        memoized({"text": object()})  # an object of unknown kind
        memoized({"text": "A"}, caller=lambda: "inside")  # a {% call %} block
        memoized({"text": "A"}, {"extra": 1})  # more than the parameters
    assert macro.calls == 6 and len(memoized) == 0


def test_no_cache_while_templates_may_change() -> None:
    macro = Counting()
    enabled = False
    memoized = MemoizedMacro(macro, lambda: enabled)
    memoized({"text": "A"})
    memoized({"text": "A"})
    assert macro.calls == 2
    enabled = True
    memoized({"text": "A"})
    memoized({"text": "A"})
    assert macro.calls == 3


def test_the_cache_is_bounded() -> None:
    memoized = MemoizedMacro(Counting(), lambda: True)
    for number in range(MAX_ENTRIES + 10):
        memoized({"text": str(number)})
    assert len(memoized) <= MAX_ENTRIES


def test_debug_apps_do_not_cache(database_url: str) -> None:
    from app import create_app

    app = create_app({"TESTING": True, "DEBUG": True, "SECRET_KEY": "x", "DATABASE_URL": database_url})
    button = app.jinja_env.globals["govukButton"]
    with app.test_request_context():
        button({"text": "Continue"})
    assert len(button) == 0

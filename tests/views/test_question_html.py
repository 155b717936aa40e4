"""Question markup kept per state, and pages nobody has answered shown without building a form."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask

from forms import build_form_class
from questionnaires import load_definition
from views import question_html as module
from views.question_html import BlankForm, blank_page, question_html

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _child(app: Flask):
    child = app.extensions["questionnaires"]["child-experience"]
    return child, child.sections_for("age-12-17")[0]


@pytest.mark.parametrize("csrf", [True, False])
def test_a_blank_page_is_the_markup_and_token_a_form_gives(app: Flask, csrf: bool) -> None:
    app.config["WTF_CSRF_ENABLED"] = csrf
    child, section = _child(app)
    module._blank.clear()
    with app.test_request_context("/"):
        form = build_form_class(child, section, "age-12-17")()
        expected = question_html(form)
        first_form, first = blank_page(child, section, "age-12-17")
        again_form, again = blank_page(child, section, "age-12-17")
        assert first == expected and again == expected
        assert not isinstance(first_form, BlankForm), "built the first time"
        assert isinstance(again_form, BlankForm), "not built again"
        assert again_form.meta.csrf is csrf
        if csrf:
            assert again_form.csrf_token.current_token == form.csrf_token.current_token


def test_a_blank_page_token_is_accepted_when_the_page_is_sent(app: Flask) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    url = "/preview/child-experience/age-12-17-adults?band=age-12-17"
    client.get(url)  # the form is built, the markup kept
    html = client.get(url).get_data(as_text=True)  # a BlankForm writes the token
    token = TOKEN.search(html).group(1)
    sent = client.post(url, data={"csrf_token": token}).get_data(as_text=True)
    assert "This page was open too long" not in sent
    assert "These answers are valid" in sent, "checked as any form is (the child questions are optional)"
    refused = client.post(url, data={"csrf_token": "not-a-token"}).get_data(as_text=True)
    assert "This page was open too long" in refused


def test_another_definition_object_or_band_gets_its_own_page(app: Flask) -> None:
    child, section = _child(app)
    module._blank.clear()
    raw = json.loads(Path(child.source).read_text(encoding="utf-8-sig"))
    reloaded = load_definition({**raw, "title": "Reloaded"}, source="reloaded")  # same id and version
    with app.test_request_context("/"):
        blank_page(child, section, "age-12-17")
        form, _ = blank_page(reloaded, reloaded.section(section.id), "age-12-17")
        assert not isinstance(form, BlankForm), "never another object's entry"
        assert form.questionnaire is reloaded


def test_nothing_is_kept_while_templates_may_change(app: Flask) -> None:
    app.config["TEMPLATES_AUTO_RELOAD"] = True
    child, section = _child(app)
    module._blank.clear()
    with app.test_request_context("/"):
        for _ in range(2):
            form, _ = blank_page(child, section, "age-12-17")
            assert not isinstance(form, BlankForm)
    assert module._blank == {}

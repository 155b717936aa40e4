"""The preview pages: every section of every shipped questionnaire renders and validates."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from forms.fields import quoted
from questionnaires import load_all

SHIPPED = load_all()
PAGES = [
    (q.id, band.id if band else None, section.id)
    for key, q in sorted(SHIPPED.items())
    if "@" in key
    for band in (q.age_bands or (None,))
    for section in q.sections_for(band.id if band else None)
]


def url(questionnaire: str, section: str, band: str | None = None) -> str:
    return f"/preview/{questionnaire}/{section}" + (f"?band={band}" if band else "")


class Page(HTMLParser):
    """Just enough of a page to assert on: ids, names, checked inputs, error summary links."""

    def __init__(self, html: str):
        super().__init__()
        self.ids: list[str] = []
        self.inputs: dict[str, list[dict[str, str | None]]] = {}
        self.summary_links: list[str] = []
        self.textareas: dict[str, str] = {}
        self._in_summary = False
        self._textarea: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "input" and a.get("name"):
            self.inputs.setdefault(a["name"], []).append(a)
        if tag == "textarea":
            self._textarea = a.get("name")
            self.textareas[self._textarea] = ""
        if "govuk-error-summary__list" in (a.get("class") or ""):
            self._in_summary = True
        if tag == "a" and self._in_summary:
            self.summary_links.append(a["href"])

    def handle_endtag(self, tag):
        if tag == "ul":
            self._in_summary = False
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.textareas[self._textarea] += data

    def value(self, name: str) -> str | None:
        return self.inputs[name][0].get("value")

    def checked(self, name: str) -> list[str]:
        return [i["value"] for i in self.inputs.get(name, []) if "checked" in i]


@pytest.mark.parametrize(("questionnaire", "band", "section"), PAGES)
def test_every_page_renders_and_asks_for_its_required_answers(
    client: FlaskClient, questionnaire, band, section
) -> None:
    page = client.get(url(questionnaire, section, band))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    parsed = Page(html)
    assert len(parsed.ids) == len(set(parsed.ids)), "ids on a page are unique"
    definition = SHIPPED[questionnaire]
    for question in definition.section(section).questions_for(band):
        assert str(escape(question.text)) in html
    posted = client.post(url(questionnaire, section, band), data={})
    assert posted.status_code == 200
    required = [q for q in definition.section(section).questions_for(band) if q.required]
    body = posted.get_data(as_text=True)
    if required:
        assert "There is a problem" in body
        assert body.count("<title>Error: ") == 1
        links = Page(body).summary_links
        assert all(link[1:] in Page(body).ids for link in links), "every error links to an element on the page"
    else:
        assert "These answers are valid. Nothing was stored." in body


def test_s11_page_keeps_typed_input_and_shows_errors(client: FlaskClient) -> None:
    data = {
        "s2.1": "partially-met",
        "s2.1-narrative": "Our policy is <b>old</b>",
        "s2.1-evidence__0__title": "Child protection policy",
        "s2.1-evidence__0__type": "policy",
        "s2.1-evidence__0__date-day": "31",
        "s2.1-evidence__0__date-month": "2",
        "s2.1-evidence__0__date-year": "2023",
        "s2.1-action__owner": "Head of service",
    }
    page = client.post("/preview/s11-self-audit/s2", data=data)
    html = page.get_data(as_text=True)
    parsed = Page(html)
    assert parsed.checked("s2.1") == ["partially-met"]
    assert parsed.textareas["s2.1-narrative"].strip() == "Our policy is <b>old</b>"
    assert "Our policy is &lt;b&gt;old&lt;/b&gt;" in html, "typed text is escaped"
    assert parsed.value("s2.1-evidence__0__title") == "Child protection policy"
    assert parsed.value("s2.1-evidence__0__date-day") == "31"
    assert parsed.value("s2.1-action__owner") == "Head of service"
    assert "#s2.1-evidence__0__date-day" in parsed.summary_links
    assert "#s2.1-action__what" in parsed.summary_links
    item = quoted(SHIPPED["s11-self-audit"].question("s2.1").text)
    assert f"The date of evidence 1 for {item} must be a real date" in html
    assert "Enter what will be done" in html


def test_not_applicable_reason_is_asked_when_not_applicable_is_chosen(client: FlaskClient) -> None:
    html = client.get("/preview/s11-self-audit/s4").get_data(as_text=True)
    assert (
        'id="s4.1__reason-question" data-show-if="{&#34;question&#34;:&#34;s4.1&#34;,&#34;equals&#34;:&#34;not-applicable&#34;}"'
        in html
    )
    assert 'name="s4.1__reason"' in html
    assert "Only answer this if you chose &#39;Not applicable&#39;." in html
    posted = client.post("/preview/s11-self-audit/s4", data={"s4.1": "not-applicable"}).get_data(as_text=True)
    assert "#s4.1__reason" in Page(posted).summary_links


def test_mandatory_items_do_not_offer_not_applicable(client: FlaskClient) -> None:
    mandatory = [q for q in SHIPPED["s11-self-audit"].questions if q.mandatory]
    assert mandatory
    for question in mandatory:
        html = client.get(f"/preview/s11-self-audit/{question.section_id}").get_data(as_text=True)
        assert "not-applicable" not in Page(html).checked(question.id)
        assert [i["value"] for i in Page(html).inputs[question.id]] == ["met", "partially-met", "not-met"]


def test_valid_post_shows_the_answers_and_stores_nothing(client: FlaskClient) -> None:
    data = {
        "sector": "health",
        "years-with-children": "7",
        "workshop-date-day": "3",
        "workshop-date-month": "10",
        "workshop-date-year": "2026",
    }
    definition = SHIPPED["practitioner-workshop"]
    section = definition.sections[0]
    allowed = {o.value for q in section.questions for o in q.options}
    data = {
        k: v
        for k, v in data.items()
        if k.split("-day")[0].split("-month")[0].split("-year")[0] in {q.id for q in section.questions} or v in allowed
    }
    page = client.post(url("practitioner-workshop", section.id), data=data)
    body = page.get_data(as_text=True)
    assert "These answers are valid. Nothing was stored." in body, re.findall(
        r'govuk-error-message">(.*?)<', body, re.S
    )


def test_conditional_question_is_revealed_in_place_and_explained_without_javascript(client: FlaskClient) -> None:
    definition = SHIPPED["practitioner-workshop"]
    section = definition.question("follow-up-format").section_id
    html = client.get(url("practitioner-workshop", section)).get_data(as_text=True)
    assert 'class="app-conditional-question" id="follow-up-format-question"' in html
    assert "Only answer this if you answered &#39;Yes&#39; to" in html
    body = client.post(url("practitioner-workshop", section), data={"follow-up-consent": "yes"}).get_data(as_text=True)
    assert "#follow-up-format" in Page(body).summary_links
    body = client.post(
        url("practitioner-workshop", section), data={"follow-up-consent": "no", "follow-up-format": "online"}
    ).get_data(as_text=True)
    assert "These answers are valid" in body
    assert "A 10-minute online survey" not in body.split("Your answers to")[1], "the hidden answer is dropped"


def test_evidence_rows_can_be_added_without_javascript(client: FlaskClient) -> None:
    html = client.post(
        "/preview/s11-self-audit/s1", data={"add-evidence": "s1.1-evidence", "s1.1-evidence__0__title": "Board minutes"}
    ).get_data(as_text=True)
    parsed = Page(html)
    assert parsed.value("s1.1-evidence__0__title") == "Board minutes"
    assert "s1.1-evidence__1__title" in parsed.inputs
    assert "There is a problem" not in html


def test_evidence_rows_can_be_removed_without_javascript(client: FlaskClient) -> None:
    rows = {"s1.1-evidence__0__title": "Board minutes", "s1.1-evidence__1__title": "Policy", "s1.1": "met"}
    html = client.post("/preview/s11-self-audit/s1", data={**rows, "remove-evidence": "s1.1-evidence__0"}).get_data(
        as_text=True
    )
    parsed = Page(html)
    assert parsed.value("s1.1-evidence__0__title") == "Policy" and "s1.1-evidence__1__title" not in parsed.inputs
    assert parsed.checked("s1.1") == ["met"]
    assert "There is a problem" not in html


def test_an_optional_answer_can_be_cleared_without_javascript(client: FlaskClient) -> None:
    """The preview shows the survey's "Clear my answer" and does what the survey does: the page
    again, that question unanswered, the rest as typed, nothing checked."""
    typed = {"sector": "health", "years-with-children": "12"}
    html = client.post(url("practitioner-workshop", "about"), data={**typed, "clear-answer": "sector"}).get_data(
        as_text=True
    )
    parsed = Page(html)
    assert parsed.checked("sector") == [] and parsed.value("years-with-children") == "12"
    assert "There is a problem" not in html and "These answers are valid" not in html


def test_child_pages_use_faces_with_words_and_always_offer_dont_know(client: FlaskClient) -> None:
    child = SHIPPED["child-experience"]
    for band in child.age_bands:
        for section in child.sections_for(band.id):
            for question in section.questions_for(band.id):
                if question.is_choice:
                    assert any(o.dont_know for o in question.options), question.id
    young = child.sections_for("age-4-7")[1]
    html = client.get(url("child-experience", young.id, "age-4-7")).get_data(as_text=True)
    assert "app-face" in html and 'aria-hidden="true"' in html
    assert "Happy" in html and "I don" in html
    assert child.support.heading in html


@pytest.mark.parametrize(
    "path",
    [
        "/preview/nope/",
        "/preview/nope/s1",
        "/preview/s11-self-audit/nope",
        "/preview/s11-self-audit@1/s1",
        "/preview/child-experience/?band=age-99",
        "/preview/child-experience/nope?band=age-4-7",
    ],
)
def test_unknown_questionnaire_section_or_band_is_404(client: FlaskClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 404
    assert "Page not found" in page.get_data(as_text=True)


def test_child_section_for_another_band_is_404(client: FlaskClient) -> None:
    child = SHIPPED["child-experience"]
    only_young = next(s for s in child.sections if s.age_bands == ("age-4-7",))
    assert client.get(url("child-experience", only_young.id, "age-12-17")).status_code == 404


def test_preview_is_closed_outside_demo_mode(app: Flask) -> None:
    app.config["DEMO_MODE"] = False
    assert app.test_client().get("/preview/").status_code == 404


def test_csrf_expiry_keeps_answers(app: Flask) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    body = client.post("/preview/s11-self-audit/s2", data={"s2.1-narrative": "Kept"}).get_data(as_text=True)
    assert "This page was open too long" in body
    assert "Kept" in body
    assert "CSRF" not in body


def test_index_lists_every_questionnaire(client: FlaskClient) -> None:
    html = client.get("/preview/").get_data(as_text=True)
    for key, q in SHIPPED.items():
        if "@" in key:
            assert str(escape(q.title)) in html

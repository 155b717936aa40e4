"""The anonymous survey journeys through the test client: every audience, link mode and refusal."""

from __future__ import annotations

import datetime as dt
import json
import re
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from peewee import Database, PostgresqlDatabase

from questionnaires import Question, Questionnaire, load_all
from store import surveys
from store.models import Answer, QuestionnaireVersion, Response, SurveyLink, SurveyRound, SurveyToken, week_of

SHIPPED = load_all()
CHILD = SHIPPED["child-experience"]
SUPPORT = "If something is worrying you, please tell an adult you trust."
FAMILY_SUPPORT = "If a child is in danger right now, call 999."
IP = "203.0.113.77"
AGENT = "Unmistakable-Agent/9.9 (child tablet)"


def make_link(questionnaire_id: str, mode: str = "device", **round_changes: Any) -> SurveyLink:
    today = dt.date.today()
    values = {
        "name": "Spring round",
        "questionnaire": QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == questionnaire_id),
        "opens_on": today - dt.timedelta(days=3),
        "closes_on": today + dt.timedelta(days=3),
    }
    values.update(round_changes)
    return surveys.create_link(SurveyRound.create(**values), "Workshop at the library", mode)


def page_text(response) -> str:
    return unescape(response.get_data(as_text=True))


def submission_key(html: str) -> str:
    return re.search(r'name="submission_key" type="hidden" value="([0-9a-f]{32})"', html).group(1)


def valid_answer(question: Question) -> dict[str, Any]:
    """Form data answering a question with a valid value ("I don't know" when offered)."""
    options = question.offered_options
    if question.type == "multiple_choice":
        return {question.id: [options[0].value, options[2].value]}
    if question.is_choice:
        dont_know = next((o for o in options if o.dont_know), None)
        return {question.id: (dont_know or options[0]).value}
    if question.type == "number":
        return {question.id: "12"}
    if question.type == "date":
        day = dt.date.today() - dt.timedelta(days=2)
        return {
            f"{question.id}-day": str(day.day),
            f"{question.id}-month": str(day.month),
            f"{question.id}-year": str(day.year),
        }
    return {question.id: "Sometimes <b>I</b> feel worried at the park"}


def answer_every_page(
    client: FlaskClient,
    questionnaire: Questionnaire,
    first_url: str,
    band: str | None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> str:
    """Follow the survey from its first page to the check page, answering every question."""
    environ = environ or {}
    url = first_url
    for section in questionnaire.sections_for(band):
        assert url.endswith(f"/q/{section.id}"), url
        page = client.get(url, environ_base=environ)
        assert page.status_code == 200
        data: dict[str, Any] = {}
        for question in section.questions_for(band):
            if question.show_if is None:
                data.update(valid_answer(question))
        data.update({k: v for k, v in (overrides or {}).items() if k in {q.id for q in section.questions}})
        sent = client.post(url, data=data, environ_base=environ)
        assert sent.status_code == 303, page_text(sent)
        url = sent.headers["Location"]
    assert url.endswith("/check")
    return url


def send(client: FlaskClient, check_url: str, environ: dict[str, str] | None = None):
    page = client.get(check_url, environ_base=environ or {})
    assert page.status_code == 200
    key = submission_key(page.get_data(as_text=True))
    return client.post(check_url, data={"submission_key": key}, environ_base=environ or {})


def submitted(link: SurveyLink) -> list[Response]:
    return list(Response.select().where((Response.link == link) & (Response.status == "submitted")))


# --- children -----------------------------------------------------------------------------------


@pytest.mark.parametrize("band", [b.id for b in CHILD.age_bands])
def test_a_child_chooses_their_age_and_answers_to_the_end(client: FlaskClient, db: Database, band: str) -> None:
    link = make_link("child-experience")
    start = client.get(f"/s/{link.slug}")
    html = page_text(start)
    assert start.status_code == 200
    assert CHILD.title in html and CHILD.description in html
    assert SUPPORT in html, "who to talk to, before the first question"
    assert "at least 10 people" in html and "Start now" in html
    assert f'href="/s/{link.slug}/age"' in html
    age = client.get(f"/s/{link.slug}/age")
    age_html = page_text(age)
    assert "How old are you?" in age_html and "If an adult is helping you, they can choose for you" in age_html
    assert all(b.label in age_html for b in CHILD.age_bands)
    assert SUPPORT in age_html
    chosen = client.post(f"/s/{link.slug}/age", data={"band": band})
    assert chosen.status_code == 303
    first = CHILD.sections_for(band)[0]
    assert chosen.headers["Location"] == f"/s/{link.slug}/q/{first.id}"

    page = page_text(client.get(chosen.headers["Location"]))
    assert SUPPORT in page, "the support message is on every page"
    assert "I don" in page and "know" in page, "I don't know is always offered"
    if CHILD.age_band(band).assisted:
        assert "app-radios--faces" in page and "<svg" in page, "faces, with their text labels"

    check_url = answer_every_page(client, CHILD, chosen.headers["Location"], band)
    check = client.get(check_url).get_data(as_text=True)
    assert CHILD.age_band(band).label in unescape(check) and SUPPORT in unescape(check)
    typed = [q for s in CHILD.sections_for(band) for q in s.questions_for(band) if q.type == "long_text"]
    assert bool(typed) == ("Sometimes &lt;b&gt;I&lt;/b&gt; feel worried" in check), "free text shown, escaped"
    assert "<b>I</b>" not in check
    done = send(client, check_url)
    assert done.status_code == 303 and done.headers["Location"] == f"/s/{link.slug}/thank-you"
    thanks = page_text(client.get(done.headers["Location"]))
    assert "govuk-panel--confirmation" in thanks and "Thank you" in thanks and SUPPORT in thanks

    [response] = submitted(link)
    assert response.age_band == band
    asked = {q.id for s in CHILD.sections_for(band) for q in s.questions_for(band)}
    stored = {a.question_id: a.value for a in Answer.select().where(Answer.response == response)}
    assert set(stored) == asked
    assert all(v == "dont-know" for k, v in stored.items() if not k.startswith("anything-else"))


@pytest.mark.parametrize("band", [b.id for b in CHILD.age_bands])
def test_the_link_can_give_the_age_band(client: FlaskClient, db: Database, band: str) -> None:
    link = make_link("child-experience")
    first = CHILD.sections_for(band)[0]
    start = page_text(client.get(f"/s/{link.slug}?band={band}"))
    assert f'href="/s/{link.slug}/q/{first.id}"' in start, "no age question when the link gives it"
    assert client.get(f"/s/{link.slug}/age").headers["Location"] == f"/s/{link.slug}/q/{first.id}"
    check_url = answer_every_page(client, CHILD, f"/s/{link.slug}/q/{first.id}", band)
    check = page_text(client.get(check_url))
    assert f"/s/{link.slug}/age" not in check, "the age given by the link cannot be changed"
    assert send(client, check_url).status_code == 303
    [response] = submitted(link)
    assert response.age_band == band


@pytest.mark.parametrize("band", ["age-99", "", "<script>"])
def test_a_link_with_an_unknown_band_is_not_found(client: FlaskClient, db: Database, band: str) -> None:
    link = make_link("child-experience")
    page = client.get(f"/s/{link.slug}", query_string={"band": band})
    assert page.status_code == 404
    assert "We could not find this survey" in page_text(page)


def test_a_child_who_does_not_choose_an_age_is_asked_again(client: FlaskClient, db: Database) -> None:
    link = make_link("child-experience")
    client.get(f"/s/{link.slug}")
    for data in ({}, {"band": "age-18-99"}):
        page = client.post(f"/s/{link.slug}/age", data=data)
        html = page_text(page)
        assert page.status_code == 200 and "<title>Error: " in html and "Select how old you are" in html
    first = client.get(f"/s/{link.slug}/q/{CHILD.sections[0].id}")
    assert first.status_code == 302 and first.headers["Location"] == f"/s/{link.slug}/age"
    assert Response.select().count() == 0


@pytest.mark.parametrize("answered", [False, True], ids=["blank page", "after an answer"])
def test_a_page_of_one_question_is_titled_by_it_and_shows_what_its_section_says_first(
    client: FlaskClient, db: Database, answered: bool
) -> None:
    link = make_link("child-experience")
    client.get(f"/s/{link.slug}")
    client.post(f"/s/{link.slug}/age", data={"band": "age-4-7"})
    home = SHIPPED["child-experience"].section("age-4-7-home")
    if answered:  # the page is then rendered from a form, not the blank page kept for everyone
        client.post(f"/s/{link.slug}/q/{home.id}", data={"safe-home.age-4-7": "happy"})
    html = page_text(client.get(f"/s/{link.slug}/q/{home.id}"))
    [question] = home.questions_for("age-4-7")
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert title.strip().startswith(f"{question.text} – "), "the title says what the page's heading says"
    assert f'<div class="govuk-inset-text">{home.description}</div>' in html, "the helping adult is told how"
    assert html.index(home.description) < html.index(question.text, html.index("</title>"))
    several = next(s for s in SHIPPED["family-experience"].sections if len(s.questions) > 1)
    family = make_link("family-experience")
    client.get(f"/s/{family.slug}")
    titled = page_text(client.get(f"/s/{family.slug}/q/{several.id}"))
    assert re.search(r"<title>\s*" + re.escape(several.title) + " – ", titled), "several questions: the section"


def test_the_youngest_childrens_pages_ask_them_to_tell_a_person_not_to_write(client: FlaskClient, db: Database) -> None:
    """Children aged 4 to 7 answer with faces and write nothing: the "if you are worried" text on
    their pages asks them to tell a person, without talking of writing it here."""
    link = make_link("child-experience")
    client.get(f"/s/{link.slug}")
    client.post(f"/s/{link.slug}/age", data={"band": "age-4-7"})
    child = SHIPPED["child-experience"]
    assert not [q for s in child.sections_for("age-4-7") for q in s.questions_for("age-4-7") if "text" in q.type]
    html = page_text(client.get(f"/s/{link.slug}/q/age-4-7-home"))
    assert "If you are worried" in html and "Please tell a person too." in html
    assert "writ" not in html[html.index("If you are worried") :].split("</div>")[0]


def test_changing_the_age_warns_first_then_asks_that_ages_questions(client: FlaskClient, db: Database) -> None:
    link = make_link("child-experience")
    client.get(f"/s/{link.slug}")
    warning = "the answers you have already given will be removed"
    assert warning not in page_text(client.get(f"/s/{link.slug}/age")), "nothing answered yet: nothing to lose"
    client.post(f"/s/{link.slug}/age", data={"band": "age-8-11"})
    client.post(f"/s/{link.slug}/q/age-8-11-safe", data={"safe-home.age-8-11": "always"})
    assert warning in page_text(client.get(f"/s/{link.slug}/age?change=1"))
    same = client.post(f"/s/{link.slug}/age?change=1", data={"band": "age-8-11"})
    assert same.headers["Location"] == f"/s/{link.slug}/check" and Answer.select().count() == 1
    moved = client.post(f"/s/{link.slug}/age?change=1", data={"band": "age-12-17"})
    first = SHIPPED["child-experience"].sections_for("age-12-17")[0]
    assert moved.headers["Location"] == f"/s/{link.slug}/q/{first.id}", "the new age's questions, not the check page"
    [draft] = Response.select()
    assert draft.age_band == "age-12-17" and Answer.select().count() == 0


# --- taking back an answer ------------------------------------------------------------------------


def chosen(html: str, name: str) -> str | None:
    """The value of the radio checked in the group `name`, or None."""
    found = re.search(rf'name="{re.escape(name)}" type="radio" value="([^"]*)" checked', html)
    return found.group(1) if found else None


def clear_button(name: str, text: str) -> str:
    return (
        f'name="clear-answer" value="{name}">Clear my answer'
        f'<span class="govuk-visually-hidden"> to ‘{text}’</span></button>'
    )


def test_clear_my_answer_takes_back_a_choice_and_keeps_everything_else(client: FlaskClient, db: Database) -> None:
    """A parent who chose an answer they did not mean clears it: the page comes back with that
    question unanswered and the rest as typed (a changed answer not saved yet included), the
    keyboard on the question; nothing else is saved or sent. The draft no longer has it, so it does
    not come back on the page, nor with a send from a check page opened in another tab before."""
    family = SHIPPED["family-experience"]
    link = make_link("family-experience")
    client.get(f"/s/{link.slug}")
    first = f"/s/{link.slug}/q/informed"
    check_url = answer_every_page(client, family, first, None, {"told-what": "agree", "told-why": "agree"})
    other_tab = submission_key(client.get(check_url).get_data(as_text=True))
    typed = {"told-what": "agree", "told-why": "disagree", "understood": "dont-know"}
    page = client.post(f"{first}?change=1", data={**typed, "clear-answer": "told-what"})
    html = page_text(page)
    assert page.status_code == 200 and "There is a problem" not in html
    assert chosen(html, "told-what") is None
    assert (chosen(html, "told-why"), chosen(html, "understood")) == ("disagree", "dont-know"), "as typed"
    assert re.search(r'<fieldset class="govuk-fieldset"[^>]*tabindex="-1" autofocus', html)
    assert html.count("autofocus") == 1, "the keyboard on the question cleared, and only there"
    [draft] = Response.select()
    assert draft.status == "draft" and not submitted(link)
    stored = {a.question_id: a.value for a in Answer.select().where(Answer.response == draft)}
    assert "told-what" not in stored and stored["told-why"] == "agree", "only the cleared answer changes"
    again = page_text(client.get(first))
    assert chosen(again, "told-what") is None and chosen(again, "told-why") == "agree", "it does not come back"

    sent = client.post(check_url, data={"submission_key": other_tab})
    assert sent.status_code == 303
    [response] = submitted(link)
    assert Answer.get_or_none((Answer.response == response) & (Answer.question_id == "told-what")) is None
    assert Answer.get((Answer.response == response) & (Answer.question_id == "told-why")).value == "agree"


@pytest.mark.parametrize("band", [b.id for b in CHILD.age_bands])
def test_a_child_can_clear_every_answer_in_their_age_band(client: FlaskClient, db: Database, band: str) -> None:
    """Every question a child is asked may be skipped: each has "Clear my answer", whose hidden
    words name the question, and clears it."""
    link = make_link("child-experience")
    client.get(f"/s/{link.slug}")
    client.post(f"/s/{link.slug}/age", data={"band": band})
    for section in CHILD.sections_for(band):
        url = f"/s/{link.slug}/q/{section.id}"
        html = page_text(client.get(url))
        questions = [q for q in section.questions_for(band) if q.is_choice]
        for question in questions:
            assert clear_button(question.id, question.text) in html
        answers = {q.id: q.options[0].value for q in questions}
        for question in questions:
            cleared = page_text(client.post(url, data={**answers, "clear-answer": question.id}))
            assert chosen(cleared, question.id) is None
            assert all(chosen(cleared, q.id) == answers[q.id] for q in questions if q is not question)
    assert Response.select().count() == 0, "nothing saved: there was no draft to take it from"


def test_only_a_question_that_may_be_skipped_can_be_cleared(client: FlaskClient, db: Database) -> None:
    """A question that must be answered has no "Clear my answer", and a post naming one, or a
    question not on the page, is the page's Continue: saved as chosen, nothing cleared."""
    workshop = SHIPPED["practitioner-workshop"]
    link = make_link("practitioner-workshop")
    client.get(f"/s/{link.slug}")
    about = page_text(client.get(f"/s/{link.slug}/q/about"))
    assert clear_button("sector", workshop.question("sector").text) in about
    reaction = page_text(client.get(f"/s/{link.slug}/q/reaction"))
    assert "Clear my answer" not in reaction
    for named in ("relevance", "sector", "no-such-question"):
        sent = client.post(
            f"/s/{link.slug}/q/reaction", data={"relevance": "4", "delivery": "2", "clear-answer": named}
        )
        assert sent.status_code == 303
        assert {a.question_id: a.value for a in Answer.select()} == {"relevance": "4", "delivery": "2"}
    follow_up = page_text(client.get(f"/s/{link.slug}/q/follow-up"))
    assert 'value="follow-up-consent"' in follow_up and 'value="follow-up-format"' not in follow_up, (
        "not a question required when another answer says so"
    )


def test_clearing_an_answer_takes_back_the_follow_up_it_led_to(client: FlaskClient, db: Database) -> None:
    """A practitioner who said Yes to a follow-up survey, and chose how, clears the Yes and goes
    back to the check page without Continue (its Back link, or the check page in another tab). The
    follow-up question is no longer asked, so its answer leaves the draft with the Yes: it is not
    on the check page, not sent, and not there if they come back to the page."""
    workshop = SHIPPED["practitioner-workshop"]
    link = make_link("practitioner-workshop")
    client.get(f"/s/{link.slug}")
    chose = {"follow-up-consent": "yes", "follow-up-format": "online"}
    check_url = answer_every_page(client, workshop, f"/s/{link.slug}/q/about", None, chose)
    assert {a.question_id: a.value for a in Answer.select() if a.question_id in chose} == chose
    page = f"/s/{link.slug}/q/follow-up?change=1"
    cleared = client.post(page, data={**chose, "clear-answer": "follow-up-consent"})
    assert cleared.status_code == 200 and chosen(page_text(cleared), "follow-up-consent") is None
    assert not [a for a in Answer.select() if a.question_id in chose], "the Yes and what it led to"
    assert "How would you prefer to give that feedback?" not in page_text(client.get(check_url))
    assert send(client, check_url).status_code == 303
    [response] = submitted(link)
    sent = {a.question_id for a in Answer.select().where(Answer.response == response)}
    assert not sent & set(chose) and "sector" in sent, "everything else is sent as answered"


def test_an_answer_no_longer_asked_is_not_sent(client: FlaskClient, db: Database) -> None:
    """A draft can hold the answer to a question its other answers no longer ask (a definition
    whose follow-up sits on another page than the question it follows, changed since): the check
    page does not list it, so the send leaves it out too; what is sent is what was confirmed."""
    workshop = SHIPPED["practitioner-workshop"]
    link = make_link("practitioner-workshop")
    client.get(f"/s/{link.slug}")
    check_url = answer_every_page(client, workshop, f"/s/{link.slug}/q/about", None, {"follow-up-consent": "no"})
    [draft] = Response.select().where(Response.link == link)
    Answer.create(response=draft, question_id="follow-up-format", value="online")  # left from before
    assert "How would you prefer to give that feedback?" not in page_text(client.get(check_url))
    assert send(client, check_url).status_code == 303
    [response] = submitted(link)
    sent = {a.question_id: a.value for a in Answer.select().where(Answer.response == response)}
    assert "follow-up-format" not in sent and sent["follow-up-consent"] == "no" and "sector" in sent


def test_clearing_with_an_expired_token_changes_no_draft(app: Flask, client: FlaskClient, db: Database) -> None:
    """The draft is written only after the CSRF token is checked: a stale page's clearing shows
    the page cleared, says it was open too long, and the draft keeps the answer until a fresh
    page clears it (or Continue saves the page without it)."""
    link = make_link("practitioner-workshop")
    client.get(f"/s/{link.slug}")
    client.post(f"/s/{link.slug}/q/about", data={"sector": "health"})
    app.config["WTF_CSRF_ENABLED"] = True
    stale = client.post(
        f"/s/{link.slug}/q/about", data={"sector": "health", "clear-answer": "sector", "csrf_token": "x"}
    )
    html = page_text(stale)
    assert stale.status_code == 200 and "This page was open too long" in html and chosen(html, "sector") is None
    assert Answer.get(Answer.question_id == "sector").value == "health"
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    fresh = client.post(
        f"/s/{link.slug}/q/about", data={"sector": "health", "clear-answer": "sector", "csrf_token": token}
    )
    assert fresh.status_code == 200 and "There is a problem" not in page_text(fresh)
    assert Answer.select().count() == 0 and not submitted(link)


# --- practitioners and families ------------------------------------------------------------------


def test_a_practitioner_answers_the_workshop_survey_with_its_conditional_question(
    client: FlaskClient, db: Database
) -> None:
    workshop = SHIPPED["practitioner-workshop"]
    link = make_link("practitioner-workshop")
    start = page_text(client.get(f"/s/{link.slug}"))
    assert workshop.title in start and SUPPORT not in start
    check_url = answer_every_page(
        client, workshop, f"/s/{link.slug}/q/{workshop.sections[0].id}", None, {"follow-up-consent": "no"}
    )
    follow_up = f"/s/{link.slug}/q/follow-up"
    # yes, then the format is required; the question is on the page, explained without JavaScript
    page = client.post(follow_up, data={"follow-up-consent": "yes"})
    html = page_text(page)
    assert page.status_code == 200 and "There is a problem" in html
    assert "How would you prefer to give that feedback?" in html and "Only answer this if" in html
    assert client.post(follow_up, data={"follow-up-consent": "yes", "follow-up-format": "online"}).status_code == 303
    # no, then a format sent anyway is not stored, and the old one is removed
    assert client.post(follow_up, data={"follow-up-consent": "no", "follow-up-format": "online"}).status_code == 303
    check = page_text(client.get(check_url))
    assert "How would you prefer to give that feedback?" not in check
    assert send(client, check_url).status_code == 303
    [response] = submitted(link)
    stored = {a.question_id: a.value for a in Answer.select().where(Answer.response == response)}
    assert stored["follow-up-consent"] == "no" and "follow-up-format" not in stored
    assert stored["years-with-children"] == 12
    assert stored["relevance"] == "1"


def test_the_check_page_writes_a_date_in_words(client: FlaskClient, db: Database) -> None:
    """A practitioner checking their answers reads "6 October 2026", as GOV.UK writes dates, not
    the stored 2026-10-06."""
    workshop = SHIPPED["practitioner-workshop"]
    link = make_link("practitioner-workshop")
    client.get(f"/s/{link.slug}")
    check_url = answer_every_page(client, workshop, f"/s/{link.slug}/q/about", None, {"follow-up-consent": "no"})
    answered = dt.date.today() - dt.timedelta(days=2)  # the date valid_answer gives
    check = page_text(client.get(check_url))
    assert f"{answered.day} {answered:%B %Y}" in check and answered.isoformat() not in check


def test_a_required_answer_missing_at_check_blocks_sending(client: FlaskClient, db: Database) -> None:
    survey = SHIPPED["practitioner-s11-survey"]
    link = make_link("practitioner-s11-survey")
    client.get(f"/s/{link.slug}")
    last = survey.sections[-1]
    assert client.post(f"/s/{link.slug}/q/{last.id}", data={"role": "manager"}).status_code == 303
    check = client.get(f"/s/{link.slug}/check")
    html = page_text(check)
    assert "There is a problem" in html and "Send your answers" not in html
    first_question = survey.sections[0].questions[0]
    assert f"Answer ‘{first_question.text}’" in html
    assert f'href="/s/{link.slug}/q/{survey.sections[0].id}?change=1"' in html
    refused = client.post(f"/s/{link.slug}/check", data={"submission_key": surveys.new_submission_key()})
    assert refused.status_code == 200 and submitted(link) == []


def test_a_family_member_answers_the_family_survey(client: FlaskClient, db: Database) -> None:
    family = SHIPPED["family-experience"]
    link = make_link("family-experience")
    start = page_text(client.get(f"/s/{link.slug}"))
    assert FAMILY_SUPPORT in start
    page = page_text(client.get(f"/s/{link.slug}/q/{family.sections[0].id}"))
    assert FAMILY_SUPPORT in page
    check_url = answer_every_page(client, family, f"/s/{link.slug}/q/{family.sections[0].id}", None)
    check = page_text(client.get(check_url))
    services = family.question("services").options
    assert f"{services[0].label}, {services[2].label}" in check
    assert send(client, check_url).status_code == 303
    thanks = page_text(client.get(f"/s/{link.slug}/thank-you"))
    assert FAMILY_SUPPORT in thanks
    [response] = submitted(link)
    services = Answer.get((Answer.response == response) & (Answer.question_id == "services")).value
    assert services == [family.question("services").options[0].value, family.question("services").options[2].value]


def test_a_long_answer_shows_how_many_characters_are_left_and_the_server_still_checks(
    client: FlaskClient, db: Database
) -> None:
    """The GOV.UK character count: its limit for the JavaScript, words for a browser without it,
    and no maxlength on the box (which would cut what was typed without a word). Too long an
    answer is refused, by the server's length check, and kept as typed."""
    family = SHIPPED["family-experience"]
    question = family.question("anything-else")
    section = next(s for s in family.sections if question in s.questions)
    link = make_link("family-experience")
    url = f"/s/{link.slug}/q/{section.id}"
    html = client.get(url).get_data(as_text=True)
    group = re.search(r'<div class="govuk-form-group govuk-character-count"[^>]*>', html).group(0)
    assert 'data-module="govuk-character-count"' in group and 'data-maxlength="3000"' in group
    box = re.search(r'<textarea [^>]*id="anything-else"[^>]*>', html).group(0)
    assert "govuk-js-character-count" in box and "maxlength" not in box
    assert 'aria-describedby="anything-else-info ' in box
    info = re.search(
        r'<div id="anything-else-info" class="govuk-hint govuk-character-count__message">(.*?)</div>', html, re.S
    )
    assert info.group(1).strip() == "You can enter up to 3,000 characters"

    data = {k: v for q in section.questions if q.show_if is None for k, v in valid_answer(q).items()}
    data["anything-else"] = "a" * 3001
    sent = client.post(url, data=data)
    assert sent.status_code == 200
    page = page_text(sent)
    assert re.search(r"Your answer to ‘[^’]+’ must be 3,000 characters or fewer \(it is 3,001\)", page)
    assert 'data-maxlength="3000"' in page and "a" * 3001 + "</textarea>" in page


def error_messages(html: str, anchor: str) -> tuple[str, str]:
    """The error summary's link to `anchor` and the inline message above that box, as text."""
    summary = re.search(r'<a href="#' + re.escape(anchor) + r'">(.*?)</a>', html, re.S).group(1)
    inline = re.search(r'<p id="' + re.escape(anchor) + r'-error" class="govuk-error-message">(.*?)</p>', html, re.S)
    return summary.strip(), re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", inline.group(1))).strip()


@pytest.mark.parametrize(
    ("band", "over", "take_out"), [("age-8-11", 120, "120 letters or spaces"), ("age-12-17", 1, "1 letter or space")]
)
def test_a_child_whose_answer_is_too_long_is_told_in_words_a_child_knows(
    client: FlaskClient, db: Database, band: str, over: int, take_out: str
) -> None:
    """A child of 8 may not know "characters": the child survey says the answer is too long and
    how much to take out, in the summary and above the box; a family's page keeps the GOV.UK
    wording, and neither page saves the answer."""
    link = make_link("child-experience")
    client.get(f"/s/{link.slug}")
    client.post(f"/s/{link.slug}/age", data={"band": band})
    [section] = [s for s in CHILD.sections_for(band) if any(q.type == "long_text" for q in s.questions_for(band))]
    [question] = section.questions_for(band)
    sent = client.post(f"/s/{link.slug}/q/{section.id}", data={question.id: "a" * (question.max_length + over)})
    html = page_text(sent)
    assert sent.status_code == 200 and "<title>Error: " in html
    message = f"Your answer is too long. Please take out at least {take_out}."
    assert error_messages(html, question.id) == (message, f"Error: {message}")
    assert "characters or fewer" not in html

    family = SHIPPED["family-experience"]
    asked = family.question("anything-else")
    page = next(s for s in family.sections if asked in s.questions)
    family_link = make_link("family-experience")
    data = {k: v for q in page.questions if q.show_if is None for k, v in valid_answer(q).items()}
    data[asked.id] = "a" * (asked.max_length + over)
    html = page_text(client.post(f"/s/{family_link.slug}/q/{page.id}", data=data))
    grown_up = f"Your answer to ‘{asked.text}’ must be 3,000 characters or fewer (it is {3000 + over:,})"
    assert error_messages(html, asked.id) == (grown_up, f"Error: {grown_up}")
    assert Answer.select().count() == 0


@pytest.mark.parametrize(
    ("typed", "href", "message"),
    [
        ({"workshop-date-day": "31", "workshop-date-month": "2"}, "workshop-date-day", "must be a real date"),
        ({"workshop-date-day": "3", "workshop-date-month": "13"}, "workshop-date-month", "must be a real date"),
        ({"workshop-date-day": "3"}, "workshop-date-month", "must include a month"),
    ],
)
def test_a_wrong_date_names_its_question_and_marks_the_box_that_is_wrong(
    client: FlaskClient, db: Database, typed: dict[str, str], href: str, message: str
) -> None:
    """A reviewer walking the workshop survey read "The date must be a real date", which does not
    say which date: the message names the question, in the summary and above the boxes, and
    the summary's link goes to the box that is wrong, the only one outlined in red."""
    link = make_link("practitioner-workshop")
    client.get(f"/s/{link.slug}")
    sent = client.post(f"/s/{link.slug}/q/about", data={"workshop-date-year": "2025", **typed})
    assert sent.status_code == 200
    page = page_text(sent)
    expected = f"The date for ‘When was the workshop?’ {message}"
    assert f'<a href="#{href}">{expected}</a>' in page
    assert f'<span class="govuk-visually-hidden">Error:</span> {expected}' in page
    marked = re.findall(r'<input class="[^"]*govuk-input--error[^"]*" id="(workshop-date-[a-z]+)"', page)
    assert marked == [href]
    assert Answer.select().count() == 0


def test_a_number_out_of_range_names_its_question(client: FlaskClient, db: Database) -> None:
    link = make_link("practitioner-workshop")
    client.get(f"/s/{link.slug}")
    asked = "Your answer to ‘How many years have you worked with children or families?’"
    for typed, message in (("61", "must be between 0 and 60"), ("two", "must be a number, like 12")):
        page = page_text(client.post(f"/s/{link.slug}/q/about", data={"years-with-children": typed}))
        assert f'<a href="#years-with-children">{asked} {message}</a>' in page


def test_change_links_come_back_to_the_check_page(client: FlaskClient, db: Database) -> None:
    family = SHIPPED["family-experience"]
    link = make_link("family-experience")
    client.get(f"/s/{link.slug}")
    check_url = answer_every_page(client, family, f"/s/{link.slug}/q/{family.sections[0].id}", None)
    html = client.get(check_url).get_data(as_text=True)
    change = f"/s/{link.slug}/q/about-you?change=1"
    assert f'href="{change}"' in html
    page = client.get(change)
    assert f'href="/s/{link.slug}/check"' in page.get_data(as_text=True), "Back goes to the check page"
    saved = client.post(change, data={"relationship": "carer"})
    assert saved.headers["Location"] == check_url
    assert "Foster carer or another paid carer" in page_text(client.get(check_url))


# --- one response per device, single-use codes ---------------------------------------------------


def test_a_device_link_takes_one_response_per_device(app: Flask, client: FlaskClient, db: Database) -> None:
    family = SHIPPED["family-experience"]
    link = make_link("family-experience")
    first = f"/s/{link.slug}/q/{family.sections[0].id}"
    client.get(f"/s/{link.slug}")
    done = send(client, answer_every_page(client, family, first, None))
    cookie = next(h for h in done.headers.getlist("Set-Cookie") if h.startswith("answered="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and f"Path=/s/{link.slug}" in cookie
    assert "Max-Age=" in cookie
    for url in (f"/s/{link.slug}", first, f"/s/{link.slug}/check"):
        again = client.get(url)
        assert again.status_code == 409
        assert "You have already answered this survey on this device" in page_text(again)
        assert "thank you: your answers have been sent" in page_text(again)
        assert "If you have not answered it yet, someone else has answered on this device" in page_text(again)
    assert client.post(first, data={"told-what": "agree"}).status_code == 409
    # another device (another browser) can answer
    other = app.test_client()
    assert other.get(f"/s/{link.slug}").status_code == 200
    assert send(other, answer_every_page(other, family, first, None)).status_code == 303
    assert len(submitted(link)) == 2


def test_a_code_is_used_once_even_from_two_devices(app: Flask, db: Database) -> None:
    workshop = SHIPPED["practitioner-workshop"]
    link = make_link("practitioner-workshop", mode="tokens")
    [code] = surveys.create_codes(link, 1)
    first = f"/s/{link.slug}/q/{workshop.sections[0].id}"
    one, two = app.test_client(), app.test_client()
    for client in (one, two):
        start = client.get(f"/s/{link.slug}/{code}")
        assert start.status_code == 200 and "Your code can only be used once" in page_text(start)
    check_one = answer_every_page(one, workshop, first, None, {"follow-up-consent": "no"})
    check_two = answer_every_page(two, workshop, first, None, {"follow-up-consent": "no"})
    page_two = two.get(check_two)
    assert send(one, check_one).status_code == 303
    late = two.post(check_two, data={"submission_key": submission_key(page_two.get_data(as_text=True))})
    assert late.status_code == 410 and "This code has already been used" in page_text(late)
    assert len(submitted(link)) == 1
    assert Response.select().where(Response.link == link).count() == 1, "the second draft is not kept"
    assert SurveyToken.get().used_on == dt.date.today()
    for client in (one, two, app.test_client()):
        again = client.get(f"/s/{link.slug}/{code}")
        assert again.status_code == 410 and "This code has already been used" in page_text(again)
    assert one.get(first).status_code == 410


def test_a_code_link_asks_for_the_code_and_refuses_bad_ones(client: FlaskClient, db: Database) -> None:
    workshop = SHIPPED["practitioner-workshop"]
    link = make_link("practitioner-workshop", mode="tokens")
    [code, used] = surveys.create_codes(link, 2)
    SurveyToken.update(used_on=dt.date.today()).where(
        SurveyToken.token_hash == surveys.code_hash(surveys.normalise_code(used))
    ).execute()
    ask = client.get(f"/s/{link.slug}")
    assert ask.status_code == 200 and "Enter your code" in page_text(ask)
    inner = client.get(f"/s/{link.slug}/q/about")
    assert inner.status_code == 302 and inner.headers["Location"] == f"/s/{link.slug}", "no code yet: asked for it"
    for typed, message in [
        ("", "Enter your code"),
        ("ZZZZ-ZZZZ-ZZZZ", "We could not find this code. Check it and try again"),
        ("<script>", "We could not find this code. Check it and try again"),
        (used, "This code has already been used. If you have not answered yet, ask the person who gave you"),
    ]:
        page = client.post(f"/s/{link.slug}", data={"code": typed})
        html = page_text(page)
        assert page.status_code == 200 and "<title>Error: " in html and message in html, typed
    accepted = client.post(f"/s/{link.slug}", data={"code": f" {code.lower().replace('-', ' ')} "})
    assert accepted.status_code == 303 and accepted.headers["Location"] == f"/s/{link.slug}"
    start = page_text(client.get(f"/s/{link.slug}"))
    assert "Start now" in start and f'href="/s/{link.slug}/q/about"' in start
    check_url = answer_every_page(client, workshop, f"/s/{link.slug}/q/about", None, {"follow-up-consent": "no"})
    assert send(client, check_url).status_code == 303
    assert len(submitted(link)) == 1 and SurveyToken.select().where(SurveyToken.used_on.is_null()).count() == 0
    assert Response.select().count() == 1


def test_codes_made_elsewhere_work_and_a_shared_tablet_takes_one_code_after_another(
    client: FlaskClient, db: Database
) -> None:
    """The administration pages draw their own codes (ten characters): only the hash decides."""
    workshop = SHIPPED["practitioner-workshop"]
    link = make_link("practitioner-workshop", mode="tokens")
    codes = ["K7QM4TPX9W", "UVLU2345AB"]
    SurveyToken.insert_many([{"link": link.id, "token_hash": surveys.code_hash(c)} for c in codes]).execute()
    for code in codes:  # one person after another on the same device
        assert client.post(f"/s/{link.slug}", data={"code": code}).status_code == 303
        check_url = answer_every_page(client, workshop, f"/s/{link.slug}/q/about", None, {"follow-up-consent": "no"})
        assert send(client, check_url).status_code == 303
        assert client.get(f"/s/{link.slug}/thank-you").status_code == 200
        assert client.get(f"/s/{link.slug}/q/about").status_code == 410, "after sending, the code is spent"
    assert len(submitted(link)) == 2


def test_a_new_code_on_a_shared_device_does_not_see_the_last_persons_answers(client: FlaskClient, db: Database) -> None:
    link = make_link("practitioner-workshop", mode="tokens")
    first, second = surveys.create_codes(link, 2)
    client.get(f"/s/{link.slug}/{first}")
    client.post(f"/s/{link.slug}/q/reaction", data={"relevance": "4", "delivery": "2"})
    assert Response.select().count() == 1
    client.get(f"/s/{link.slug}/{second}")
    page = client.get(f"/s/{link.slug}/q/reaction").get_data(as_text=True)
    assert "checked" not in page
    assert Response.select().count() == 0, "the abandoned draft is discarded"


# --- kind refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "status", "message"),
    [
        ("closed-round", 410, "This survey has closed"),
        ("past-round", 410, "This survey has closed"),
        ("inactive-link", 410, "This survey has closed"),
        ("future-round", 404, "This survey is not open yet"),
        ("unknown-slug", 404, "We could not find this survey"),
        ("unknown-code", 404, "We could not find this code"),
        ("code-on-device-link", 404, "We could not find this survey"),
    ],
)
def test_closed_and_unknown_links_get_a_kind_page(
    client: FlaskClient, db: Database, setup: str, status: int, message: str
) -> None:
    today = dt.date.today()
    changes = {
        "closed-round": {"is_open": False},
        "past-round": {"opens_on": today - dt.timedelta(days=30), "closes_on": today - dt.timedelta(days=1)},
        "future-round": {"opens_on": today + dt.timedelta(days=2)},
    }.get(setup, {})
    link = make_link("child-experience", mode="tokens" if setup == "unknown-code" else "device", **changes)
    url = f"/s/{link.slug}"
    if setup == "inactive-link":
        SurveyLink.update(is_active=False).execute()
    elif setup == "unknown-slug":
        url = "/s/no-such-survey"
    elif setup in ("unknown-code", "code-on-device-link"):
        surveys.create_codes(link, 1) if link.mode == "tokens" else None
        url = f"{url}/ABCD-EFGH-JKMN"
    refused_link = setup in ("closed-round", "past-round", "inactive-link", "future-round")
    for path in (url, f"/s/{link.slug}/q/age-8-11-safe", f"/s/{link.slug}/check") if refused_link else (url,):
        page = client.get(path)
        html = page_text(page)
        assert page.status_code == status
        assert f'<h1 class="govuk-heading-l">{message}</h1>' in html
        assert "Traceback" not in html
        if setup not in ("unknown-slug",):
            assert SUPPORT in html, "a child turned away is still told who to talk to"
    assert Response.select().count() == 0


def test_a_survey_that_closes_midway_refuses_to_send(client: FlaskClient, db: Database) -> None:
    family = SHIPPED["family-experience"]
    link = make_link("family-experience")
    client.get(f"/s/{link.slug}")
    check_url = answer_every_page(client, family, f"/s/{link.slug}/q/{family.sections[0].id}", None)
    key = submission_key(client.get(check_url).get_data(as_text=True))
    SurveyRound.update(is_open=False).execute()
    page = client.post(check_url, data={"submission_key": key})
    assert page.status_code == 410 and "This survey has closed" in page_text(page)
    assert submitted(link) == [] and Response.get().status == "draft"


# --- exactly once, nothing invalid, nothing identifying ------------------------------------------


def test_double_submission_makes_one_response(client: FlaskClient, db: Database) -> None:
    family = SHIPPED["family-experience"]
    link = make_link("family-experience")
    client.get(f"/s/{link.slug}")
    check_url = answer_every_page(client, family, f"/s/{link.slug}/q/{family.sections[0].id}", None)
    key = submission_key(client.get(check_url).get_data(as_text=True))
    responses = [client.post(check_url, data={"submission_key": key}) for _ in range(3)]
    assert [r.status_code for r in responses] == [303, 303, 303]
    assert {r.headers["Location"] for r in responses} == {f"/s/{link.slug}/thank-you"}
    assert "Thank you" in page_text(client.get(f"/s/{link.slug}/thank-you"))
    [response] = submitted(link)
    assert response.submission_key == key
    assert Response.select().count() == 1


def test_a_double_click_from_a_stale_session_finds_the_same_response(app: Flask, db: Database) -> None:
    """The second click carries the cookie from before the first was answered."""
    family = SHIPPED["family-experience"]
    link = make_link("family-experience")
    client = app.test_client()
    client.get(f"/s/{link.slug}")
    check_url = answer_every_page(client, family, f"/s/{link.slug}/q/{family.sections[0].id}", None)
    key = submission_key(client.get(check_url).get_data(as_text=True))
    session_cookie = client.get_cookie("session").value
    assert client.post(check_url, data={"submission_key": key}).status_code == 303
    stale = app.test_client()
    stale.set_cookie("session", session_cookie)
    second = stale.post(check_url, data={"submission_key": key})
    assert second.status_code == 303 and second.headers["Location"] == f"/s/{link.slug}/thank-you"
    assert stale.get(second.headers["Location"]).status_code == 200
    assert len(submitted(link)) == 1 and Response.select().count() == 1


def test_sending_from_a_second_tab_after_the_first_says_thank_you(app: Flask, db: Database) -> None:
    """Two tabs of the same check page carry different keys. The second sent says the answers
    were sent, never the first question again as if they had been lost: a thank-you while the
    first tab's answer is still on its way, the device's "already answered" once it has landed.
    One response is stored."""
    family = SHIPPED["family-experience"]
    link = make_link("family-experience")
    client = app.test_client()
    client.get(f"/s/{link.slug}")
    check_url = answer_every_page(client, family, f"/s/{link.slug}/q/{family.sections[0].id}", None)
    first_tab = submission_key(client.get(check_url).get_data(as_text=True))
    second_tab = submission_key(client.get(check_url).get_data(as_text=True))
    assert first_tab != second_tab
    session_cookie = client.get_cookie("session").value
    assert client.post(check_url, data={"submission_key": first_tab}).status_code == 303
    in_flight = app.test_client()  # sent before the first tab's answer set the cookie
    in_flight.set_cookie("session", session_cookie)
    second = in_flight.post(check_url, data={"submission_key": second_tab})
    assert second.status_code == 303 and second.headers["Location"] == f"/s/{link.slug}/thank-you"
    assert "Thank you" in page_text(in_flight.get(second.headers["Location"]))
    after = client.post(check_url, data={"submission_key": second_tab})  # once the first one landed
    assert after.status_code == 409 and "your answers have been sent" in page_text(after)
    assert len(submitted(link)) == 1 and Response.select().count() == 1


class _Counted:
    """A driver cursor whose statements are noted (BEGIN and COMMIT included: peewee runs them on
    a cursor of its own, not through execute_sql)."""

    def __init__(self, cursor, statements: list[str]):
        self._cursor, self._statements = cursor, statements

    def execute(self, sql, *args, **kwargs):
        word = sql.split()[0].upper()
        # PostgreSQL: a compiled query is prepared on the server once per connection (PREPARE,
        # tested in tests/store/test_prepared.py), then run by name: every one these pages run
        # by name is a read (compiled writes are the S11 pages')
        if word != "PREPARE":
            self._statements.append("SELECT" if word == "EXECUTE" else word)
        return self._cursor.execute(sql, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


def round_trips(app: Flask, request) -> list[str]:
    """The statements (their first words) one request sends to the database, in order."""
    database = app.extensions["database"]
    statements: list[str] = []
    real = database.cursor
    database.cursor = lambda *a, **k: _Counted(real(*a, **k), statements)
    try:
        response = request()
    finally:
        del database.cursor
    assert response.status_code == 303, page_text(response)
    return statements


def test_the_first_page_makes_the_draft_with_its_answers_in_one_statement_on_postgresql(
    app: Flask, client: FlaskClient, db: Database
) -> None:
    """The link, then the draft and its answers together: one statement, atomic by itself, on
    PostgreSQL; a transaction of its own on SQLite. Either way every answer is stored."""
    survey = SHIPPED["practitioner-s11-survey"]
    link = make_link("practitioner-s11-survey")
    client.get(f"/s/{link.slug}")
    first = survey.sections[0]
    data = {k: v for q in first.questions if q.show_if is None for k, v in valid_answer(q).items()}
    made = round_trips(app, lambda: client.post(f"/s/{link.slug}/q/{first.id}", data=data))
    if isinstance(db, PostgresqlDatabase):
        assert made == ["SELECT", "WITH"]
    else:
        assert made[0] == "SELECT" and made[1] == "BEGIN" and made[-1] == "COMMIT"
    [draft] = Response.select().where(Response.link == link)
    assert (draft.status, draft.week, draft.age_band, draft.scored) == ("draft", week_of(dt.date.today()), None, False)
    stored = {a.question_id: a.value for a in Answer.select().where(Answer.response == draft)}
    assert stored == data and len(stored) == len(first.questions)  # choices: stored as posted


def test_a_page_save_and_a_send_take_three_round_trips(app: Flask, client: FlaskClient, db: Database) -> None:
    """The link, the draft with its answers (and, for a send, whether its key was sent already)
    in one query, then one write on its own: a respondent's wait, and the database's work."""
    survey = SHIPPED["practitioner-s11-survey"]
    link = make_link("practitioner-s11-survey")
    client.get(f"/s/{link.slug}")
    first, second = survey.sections[0], survey.sections[1]
    data = {k: v for q in first.questions if q.show_if is None for k, v in valid_answer(q).items()}
    assert client.post(f"/s/{link.slug}/q/{first.id}", data=data).status_code == 303
    data = {k: v for q in second.questions if q.show_if is None for k, v in valid_answer(q).items()}
    saved = round_trips(app, lambda: client.post(f"/s/{link.slug}/q/{second.id}", data=data))
    assert saved == ["SELECT", "SELECT", "INSERT"]
    check_url = answer_every_page(client, survey, f"/s/{link.slug}/q/{first.id}", None)
    key = submission_key(client.get(check_url).get_data(as_text=True))
    sent = round_trips(app, lambda: client.post(check_url, data={"submission_key": key}))
    assert sent == ["SELECT", "SELECT", "UPDATE"]
    [response] = submitted(link)
    assert response.submission_key == key and Answer.select().where(Answer.response == response).count() > 0
    again = round_trips(app, lambda: client.post(check_url, data={"submission_key": key}))
    assert again == ["SELECT", "SELECT"], "a second click finds the key with the draft's read"
    assert Response.select().count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {"relevance": "11", "delivery": "5"},
        {"relevance": "4", "delivery": "<script>alert(1)</script>"},
        {"relevance": "", "delivery": "5"},
        {"relevance": "not-applicable", "delivery": "5"},
    ],
)
def test_invalid_values_are_refused_and_never_stored(client: FlaskClient, db: Database, data) -> None:
    link = make_link("practitioner-workshop")
    client.get(f"/s/{link.slug}")
    page = client.post(f"/s/{link.slug}/q/reaction", data=data)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "There is a problem" in html
    assert "<script>alert(1)</script>" not in html
    assert Answer.select().count() == 0 and Response.select().count() == 0


def test_unknown_numbers_and_multiple_choices_are_refused(client: FlaskClient, db: Database) -> None:
    workshop_link = make_link("practitioner-workshop")
    client.get(f"/s/{workshop_link.slug}")
    page = client.post(f"/s/{workshop_link.slug}/q/about", data={"years-with-children": "61"})
    assert page.status_code == 200 and "There is a problem" in page_text(page)
    family_link = make_link("family-experience")
    client.get(f"/s/{family_link.slug}")
    page = client.post(f"/s/{family_link.slug}/q/together", data={"services": ["health", "aliens"]})
    assert page.status_code == 200 and "There is a problem" in page_text(page)
    assert Answer.select().count() == 0


def test_unknown_pages_of_a_survey_are_not_found(client: FlaskClient, db: Database) -> None:
    link = make_link("child-experience")
    client.get(f"/s/{link.slug}?band=age-8-11")
    for path in ("q/no-such-page", "q/age-4-7-home", "q/age-12-17-safe"):
        assert client.get(f"/s/{link.slug}/{path}").status_code == 404
    assert client.get(f"/s/{link.slug}/check").headers["Location"] == f"/s/{link.slug}/q/age-8-11-safe"
    assert client.get(f"/s/{link.slug}/thank-you").status_code == 302


def test_a_draft_is_not_counted_as_submitted(client: FlaskClient, db: Database) -> None:
    link = make_link("practitioner-workshop")
    client.get(f"/s/{link.slug}")
    assert client.post(f"/s/{link.slug}/q/reaction", data={"relevance": "4", "delivery": "5"}).status_code == 303
    [draft] = Response.select()
    assert draft.status == "draft" and draft.submission_key is None
    assert submitted(link) == [] and surveys.submitted_count(link) == 0
    # and coming back shows what was saved
    assert 'value="4" checked' in client.get(f"/s/{link.slug}/q/reaction").get_data(as_text=True)


def test_answers_carry_nothing_that_identifies_the_respondent(client: FlaskClient, db: Database) -> None:
    environ = {"REMOTE_ADDR": IP, "HTTP_USER_AGENT": AGENT, "HTTP_X_FORWARDED_FOR": IP}
    link = make_link("child-experience")
    band = "age-12-17"
    client.get(f"/s/{link.slug}?band={band}", environ_base=environ)
    first = f"/s/{link.slug}/q/{CHILD.sections_for(band)[0].id}"
    check_url = answer_every_page(client, CHILD, first, band, environ=environ)
    assert send(client, check_url, environ).status_code == 303

    [response] = submitted(link)
    columns = {c.name for c in db.get_columns("response")}
    assert columns == {
        "id",
        "questionnaire_id",
        "audit_id",
        "link_id",
        "age_band",
        "status",
        "submission_key",
        "week",
        "scored",
    }
    assert {c.name for c in db.get_columns("answer")} == {"id", "response_id", "question_id", "value"}
    assert response.week == week_of(dt.date.today()) and response.week.weekday() == 0
    assert type(response.week) is dt.date
    assert (response.link_id, response.age_band, response.audit_id) == (link.id, band, None)
    assert re.fullmatch(r"[0-9a-f]{32}", response.submission_key)
    # nothing typed into the request (address, user agent, time) reached any table
    for table in db.get_tables():
        dump = repr(db.execute_sql(f'SELECT * FROM "{table}"').fetchall())
        assert IP not in dump and "Unmistakable-Agent" not in dump, table
        if table in ("response", "answer"):
            assert not re.search(r"\d:\d\d", dump), f"no time of day in {table}: {dump}"


def test_an_expired_token_keeps_what_was_typed(app: Flask, client: FlaskClient, db: Database) -> None:
    link = make_link("practitioner-workshop")
    client.get(f"/s/{link.slug}")
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.post(f"/s/{link.slug}/q/reaction", data={"relevance": "4", "delivery": "2", "csrf_token": "stale"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "This page was open too long" in html
    assert 'value="4" checked' in html and 'value="2" checked' in html
    assert Answer.select().count() == 0
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    saved = client.post(f"/s/{link.slug}/q/reaction", data={"relevance": "4", "delivery": "2", "csrf_token": token})
    assert saved.status_code == 303 and Answer.select().count() == 2


def test_a_page_posted_after_the_session_was_lost_is_still_saved(app: Flask, db: Database) -> None:
    link = make_link("child-experience")
    fresh = app.test_client()  # no session: the browser was closed and the tab restored
    page = fresh.post(f"/s/{link.slug}/q/age-8-11-safe", data={"band": "age-8-11", "safe-home.age-8-11": "mostly"})
    assert page.status_code == 303 and page.headers["Location"] == f"/s/{link.slug}/q/age-8-11-out-and-online"
    [draft] = Response.select()
    assert draft.age_band == "age-8-11" and Answer.get().value == "mostly"


def test_pages_that_change_nothing_in_the_session_do_not_send_it_again(client: FlaskClient, db: Database) -> None:
    """The draft's id is kept when the first page is saved; later pages leave the session as it
    is (no Set-Cookie), and the draft still collects every page and is sent once."""
    workshop = SHIPPED["practitioner-workshop"]
    link = make_link("practitioner-workshop")
    sent_cookies = []
    for section in workshop.sections_for(None):
        data: dict[str, Any] = {}
        for question in section.questions_for(None):
            if question.show_if is None:
                data.update(valid_answer(question))
        data.update({"follow-up-consent": "no"} if "follow-up-consent" in data else {})
        saved = client.post(f"/s/{link.slug}/q/{section.id}", data=data)
        assert saved.status_code == 303, page_text(saved)
        sent_cookies.append([h for h in saved.headers.getlist("Set-Cookie") if h.startswith("session=")])
    assert sent_cookies[0], "the first page keeps the new draft in the session"
    assert not any(sent_cookies[1:]), "later pages change nothing in it"
    assert send(client, f"/s/{link.slug}/check").status_code == 303
    [response] = submitted(link)
    stored = {a.question_id for a in Answer.select().where(Answer.response == response)}
    assert {q.id for s in workshop.sections_for(None) for q in s.questions_for(None) if q.show_if is None} <= stored


def test_a_definition_edited_in_the_database_is_what_the_next_request_shows(client: FlaskClient, db: Database) -> None:
    """Links, definitions and question markup are kept between requests; an edited row is not."""
    workshop = SHIPPED["practitioner-workshop"]
    link = make_link("practitioner-workshop")
    about, sector = workshop.sections[0], workshop.sections[0].questions[1]
    url = f"/s/{link.slug}/q/{about.id}"
    client.get(f"/s/{link.slug}")
    for _ in range(2):  # a page nobody has answered, then from what was kept
        assert sector.text in page_text(client.get(url))
    answered = client.post(url, data=valid_answer(sector))
    assert answered.status_code == 303
    assert sector.text in page_text(client.get(url)), "shown again with its answer"
    version = QuestionnaireVersion.get(QuestionnaireVersion.questionnaire_id == "practitioner-workshop")
    edited = json.loads(json.dumps(version.definition))
    edited["sections"][0]["questions"][1]["text"] = "In which sector do you work, edited?"
    QuestionnaireVersion.update(definition=edited).where(QuestionnaireVersion.id == version.id).execute()
    newcomer = client.application.test_client()
    newcomer.get(f"/s/{link.slug}")
    for page in (client.get(url), newcomer.get(url)):  # with an answer, and nobody's answers
        assert "In which sector do you work, edited?" in page_text(page) and sector.text not in page_text(page)

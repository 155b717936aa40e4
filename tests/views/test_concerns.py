"""The safeguarding lead's pages for words of concern, and what the surveys tell a child first."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from flask.testing import FlaskClient
from peewee import Database

from questionnaires import load_all
from store import concerns
from store.models import AuditEvent, ConcernFlag, User
from tests.conftest import sign_in_as
from tests.views.test_surveys import answer_every_page, make_link, send

SHIPPED = load_all()
CHILD = SHIPPED["child-experience"]
FAMILY = SHIPPED["family-experience"]
BAND = "age-12-17"
FREE_TEXT = f"anything-else.{BAND}"
WORRY = "My step dad HITS me\nwhen he drinks. I'm scared to go home."


def child_answers(client: FlaskClient, text: str, agency: Any = None) -> ConcernFlag | None:
    """A child answers the whole survey through the pages, with `text` as their free text."""
    link = make_link("child-experience")
    if agency is not None:
        link.agency = agency
        link.save()
    client.get(f"/s/{link.slug}?band={BAND}")
    first = f"/s/{link.slug}/q/{CHILD.sections_for(BAND)[0].id}"
    sent = send(client, answer_every_page(client, CHILD, first, BAND, overrides={FREE_TEXT: text}))
    assert sent.status_code == 303
    return ConcernFlag.select().order_by(ConcernFlag.id.desc()).first()


def text_of(response: Any) -> str:
    return unescape(response.get_data(as_text=True))


# --- who may see the flags --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"), [("reviewer", True), ("admin", True), ("agency", False), ("analyst", False)]
)
def test_only_reviewers_and_administrators_see_flags(
    app, client: FlaskClient, db: Database, users: dict[str, User], agencies, role: str, allowed: bool
) -> None:
    flag = child_answers(app.test_client(), WORRY)
    sign_in_as(client, users[role])
    pages = (client.get("/review/concerns/"), client.get(f"/review/concerns/{flag.id}"))
    posted = client.post(f"/review/concerns/{flag.id}", data={"status": "handled", "note": "done"})
    if allowed:
        assert [p.status_code for p in pages] == [200, 200]
        assert "HITS me" in text_of(pages[0]) and "HITS me" in text_of(pages[1])
        assert posted.status_code == 303
    else:
        assert [p.status_code for p in (*pages, posted)] == [404, 404, 404]
        assert "HITS" not in text_of(pages[0]) + text_of(pages[1])
        assert ConcernFlag.get_by_id(flag.id).status == "new"


def test_visitors_are_sent_to_sign_in_and_unknown_flags_are_not_found(
    app, client: FlaskClient, db: Database, users
) -> None:
    flag = child_answers(app.test_client(), WORRY)
    for url in ("/review/concerns/", f"/review/concerns/{flag.id}"):
        response = client.get(url)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert client.post(f"/review/concerns/{flag.id}", data={"status": "seen"}).status_code == 302
    assert ConcernFlag.get_by_id(flag.id).status == "new"
    sign_in_as(client, users["reviewer"])
    assert client.get(f"/review/concerns/{flag.id + 1}").status_code == 404
    assert client.get("/review/concerns/?page=9").status_code == 404
    assert client.get("/review/concerns/?page=nonsense").status_code == 200


# --- the list ---------------------------------------------------------------------------------


def test_the_list_shows_when_where_from_the_question_and_the_marked_answer(
    app, client: FlaskClient, db: Database, users, agencies
) -> None:
    flag = child_answers(app.test_client(), WORRY, agency=agencies["health"])
    child_answers(app.test_client(), "I like my youth club")  # not flagged
    sign_in_as(client, users["reviewer"])
    html = client.get("/review/concerns/").get_data(as_text=True)
    assert html.count("<mark>") == 2
    assert "My step dad <mark>HITS me</mark>\nwhen he drinks. I&#39;m <mark>scared to go home</mark>." in html
    page = unescape(html)
    assert "youth club" not in page
    assert "Spring round" in page and "Workshop at the library" in page and "Shire Community Health" in page
    assert "Age: 12 to 17" in page or re.search(r"Age: [^<]*12[^<]*17", page)
    assert CHILD.question(FREE_TEXT).text in page
    assert "Week answered" in page and "Week of " in page
    assert not re.search(r"\d{1,2}:\d\d[ap]m", page), "the week is all there is to go on: no time of day"
    assert "New" in page and f"/review/concerns/{flag.id}" in page
    assert "Emails to the safeguarding lead are off" in page and "Not emailed: emails are off" in page


def test_an_answer_with_markup_is_shown_as_text(app, client: FlaskClient, db: Database, users) -> None:
    flag = child_answers(app.test_client(), '<script>alert("hurt")</script> he hits me <b>now</b>')
    assert flag is not None and flag.words == ["hurt", "hits me"]
    sign_in_as(client, users["reviewer"])
    for url in ("/review/concerns/", f"/review/concerns/{flag.id}"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<b>now" not in html
        assert (
            "&lt;script&gt;alert(&#34;<mark>hurt</mark>&#34;)&lt;/script&gt; he <mark>hits me</mark> &lt;b&gt;now&lt;/b&gt;"
            in html
        )


def test_the_review_index_links_to_the_flags_with_the_number_of_new_ones(
    app, client: FlaskClient, db: Database, users
) -> None:
    sign_in_as(client, users["reviewer"])
    assert "no new flags to read" in text_of(client.get("/review/"))
    child_answers(app.test_client(), WORRY)
    child_answers(app.test_client(), "I feel unsafe at school")
    page = text_of(client.get("/review/"))
    assert "2 new flags" in page and 'href="/review/concerns/"' in page
    concerns.set_status(ConcernFlag.get(), "seen", None, users["reviewer"])
    assert "<strong>1 new flag</strong>" in text_of(client.get("/review/"))


# --- handling a flag --------------------------------------------------------------------------


def test_a_reviewer_marks_a_flag_seen_then_handled_with_a_note(app, client: FlaskClient, db: Database, users) -> None:
    flag = child_answers(app.test_client(), WORRY)
    sign_in_as(client, users["reviewer"])
    page = text_of(client.get(f"/review/concerns/{flag.id}"))
    assert "Words matched" in page and "hits me, scared to go home" in page and "Nobody yet" in page
    assert "Week of " in page and not re.search(r"\d{1,2}:\d\d[ap]m", page), "the week only, as the list says"

    done = client.post(f"/review/concerns/{flag.id}", data={"status": "seen", "note": ""})
    assert done.status_code == 303 and done.headers["Location"].endswith("/review/concerns/")
    assert f"Flag {flag.id} is marked seen" in text_of(client.get("/review/concerns/"))
    assert ConcernFlag.get_by_id(flag.id).status == "seen"

    refused = client.post(f"/review/concerns/{flag.id}", data={"status": "handled", "note": "   "})
    assert refused.status_code == 200
    assert "Say what was done" in text_of(refused) and "govuk-error-summary" in refused.get_data(as_text=True)
    assert ConcernFlag.get_by_id(flag.id).status == "seen"

    note = "Rang the school's designated safeguarding lead; the class is known. Ref SG-4471."
    assert client.post(f"/review/concerns/{flag.id}", data={"status": "handled", "note": note}).status_code == 303
    stored = ConcernFlag.get_by_id(flag.id)
    assert (stored.status, stored.note, stored.handled_by_id) == ("handled", note, users["reviewer"].id)
    events = AuditEvent.select().where(AuditEvent.target == f"concern-flag:{flag.id}").order_by(AuditEvent.id)
    assert [e.after["status"] for e in events] == ["seen", "handled"]
    page = text_of(client.get(f"/review/concerns/{flag.id}"))
    assert note in page and "Reviewer" in page and "Handled" in page


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({}, "Select whether you have read this flag or handled it"),
        ({"status": "new"}, "Select whether you have read this flag or handled it"),
        ({"status": "<b>seen</b>"}, "Select whether you have read this flag or handled it"),
        ({"status": "handled", "note": "x" * 2001}, "The note must be 2,000 characters or fewer"),
    ],
)
def test_bad_posts_change_nothing_and_say_why(
    app, client: FlaskClient, db: Database, users, data: dict[str, str], problem: str
) -> None:
    flag = child_answers(app.test_client(), WORRY)
    sign_in_as(client, users["admin"])
    page = client.post(f"/review/concerns/{flag.id}", data=data)
    assert page.status_code == 200 and problem in text_of(page)
    assert ConcernFlag.get_by_id(flag.id).status == "new"
    assert AuditEvent.select().count() == 0


def test_an_expired_form_changes_nothing(app, client: FlaskClient, db: Database, users) -> None:
    flag = child_answers(app.test_client(), WORRY)
    sign_in_as(client, users["reviewer"])
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.post(f"/review/concerns/{flag.id}", data={"status": "seen", "csrf_token": "stale"})
    assert page.status_code == 200 and "This page was open too long" in text_of(page)
    assert ConcernFlag.get_by_id(flag.id).status == "new"


def test_an_email_that_failed_is_shown_on_the_pages(app, client: FlaskClient, db: Database, users) -> None:
    flag = child_answers(app.test_client(), WORRY)
    concerns.mark_failed([flag.id], "the mail server refused the connection")
    sign_in_as(client, users["reviewer"])
    for url in ("/review/concerns/", f"/review/concerns/{flag.id}"):
        assert "Email not sent: the mail server refused the connection" in text_of(client.get(url))
    assert "could not be emailed" in text_of(client.get("/review/concerns/"))


def test_an_emailed_flag_says_so_without_a_time_of_day(app, client: FlaskClient, db: Database, users) -> None:
    flag = child_answers(app.test_client(), WORRY)
    concerns.mark_notified([flag.id])
    sign_in_as(client, users["reviewer"])
    for url in ("/review/concerns/", f"/review/concerns/{flag.id}"):
        page = text_of(client.get(url))
        assert "Emailed" in page and not re.search(r"\d{1,2}:\d\d[ap]m", page)


# --- before a child types ---------------------------------------------------------------------


@pytest.mark.parametrize("questionnaire", [CHILD, FAMILY], ids=lambda q: q.id)
def test_every_free_text_question_says_who_to_talk_to_before_the_box(
    app, client: FlaskClient, db: Database, questionnaire
) -> None:
    link = make_link(questionnaire.id)
    bands = [b.id for b in questionnaire.age_bands] or [None]
    checked = 0
    for band in bands:
        client.get(f"/s/{link.slug}" + (f"?band={band}" if band else ""))
        for section in questionnaire.sections_for(band):
            for question in section.questions_for(band):
                if question.type not in ("short_text", "long_text"):
                    continue
                html = text_of(client.get(f"/s/{link.slug}/q/{section.id}"))
                box = html.index(f'name="{question.id}"')
                before = html[:box]
                assert "call 999" in before[before.index(question.text) :], (question.id, "no 999 before the box")
                assert "Childline" in before or "children's services" in before, question.id
                checked += 1
    assert checked >= 1


@pytest.mark.parametrize("questionnaire_id", ["child-experience", "family-experience"])
def test_the_start_page_says_a_worrying_answer_is_read_by_a_person(
    client: FlaskClient, db: Database, questionnaire_id: str
) -> None:
    link = make_link(questionnaire_id)
    page = text_of(client.get(f"/s/{link.slug}"))
    assert "a person whose job is to keep children safe will read it" in page


def test_practitioners_are_not_told_about_flags(client: FlaskClient, db: Database) -> None:
    link = make_link("practitioner-workshop")
    assert "keep children safe will read it" not in text_of(client.get(f"/s/{link.slug}"))


# --- the word list the app uses ---------------------------------------------------------------


def test_a_configured_word_list_replaces_the_shipped_one(app, tmp_path, users) -> None:
    from app import create_app

    mine = tmp_path / "words.txt"
    mine.write_text("# our partnership's own list\npetrified\n", encoding="utf-8")
    custom = create_app(
        {"TESTING": True, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False, "DATABASE_URL": app.config["DATABASE_URL"]}
        | {"CONCERN_WORDS_FILE": str(mine)}
    )
    assert custom.extensions["concern_words"].entries == ("petrified",)
    with custom.extensions["database"].connection_context():
        assert child_answers(custom.test_client(), WORRY) is None
        flag = child_answers(custom.test_client(), "I am PETRIFIED of him")
    assert flag is not None and flag.words == ["petrified"]


@pytest.mark.parametrize("content", [None, "# nothing but comments\n", "hurt\n???\n"])
def test_an_unusable_word_list_stops_the_app_starting(app, tmp_path, content: str | None) -> None:
    from app import create_app

    path = tmp_path / "words.txt"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(RuntimeError, match="CONCERN_WORDS_FILE cannot be used, so no answer could be flagged"):
        create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "t",
                "CONCERN_WORDS_FILE": str(path),
                "DATABASE_URL": app.config["DATABASE_URL"],
            }
        )

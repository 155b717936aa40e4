"""Anonymous surveys on a phone, through the real links (/s/<slug>), to the thank-you page.

A child answers the children's survey in each age band, with and without JavaScript, with the
keyboard alone (a switch or a keyboard user's way through): every page fits a phone's width,
passes axe, and the answers are stored exactly once, even when Send is pressed twice. A
practitioner answers the workshop survey on a phone through a device link (the phone is then
thanked, not asked again) and through a single-use code typed from a card (the code cannot be
used twice).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, Route, expect

from questionnaires import load_all
from store.answers import load_answers
from store.models import Response, SurveyLink, SurveyRound
from store.surveys import create_codes, create_link
from tests.browser.axe import violations
from tests.browser.conftest import Server
from tests.browser.steps import answer_with_keyboard, fits_a_phone

SHIPPED = load_all()
CHILD = SHIPPED["child-experience"]
WORKSHOP = SHIPPED["practitioner-workshop"]
ANYTHING_ELSE = "I like my football club."


def new_link(server: Server, questionnaire_id: str, mode: str = "device") -> SurveyLink:
    """A link of its own in the demo's open round, so counts are this test's alone."""
    with server.rows():
        survey_round = next(
            r for r in SurveyRound.select() if r.questionnaire.questionnaire_id == questionnaire_id and r.is_open
        )
        return create_link(survey_round, f"Browser test {mode} link", mode)


def submitted(server: Server, link: SurveyLink) -> list[Response]:
    with server.rows():
        return list(Response.select().where((Response.link == link.id) & (Response.status == "submitted")))


SCANNED: set[object] = set()  # kinds of page already scanned by this module's tests


def check_page(page: Page, kind: object, scan: bool) -> None:
    """Fits a phone; and passes axe, scanned once for each kind of page (the same questions
    on another page, the start page of another band, look the same to axe)."""
    fits_a_phone(page)
    if scan and kind not in SCANNED:
        assert violations(page) == [], kind
        SCANNED.add(kind)


def tab_to(page: Page, name: str, max_keys: int = 60) -> None:
    """Tab until the button or link called `name` has the focus."""
    for _ in range(max_keys):
        page.keyboard.press("Tab")
        if page.evaluate("() => (document.activeElement.innerText || '').trim()") == name:
            return
    raise AssertionError(f"Tab never reached {name!r} on {page.url}")


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
@pytest.mark.parametrize("band", [b.id for b in CHILD.age_bands])
def test_child_answers_on_a_phone_with_the_keyboard_alone(
    server: Server, new_page: Callable[..., Page], shots, band: str, js: bool
) -> None:
    link = new_link(server, "child-experience")
    page = new_page(phone=True, js=js)
    page.goto(f"{server.url}/s/{link.slug}")
    expect(page.get_by_role("heading", level=1, name=CHILD.title)).to_be_visible()
    expect(page.get_by_text(CHILD.support.heading)).to_be_visible()  # who to talk to, before any question
    check_page(page, "start", js)
    shots(page, "start")
    answer_with_keyboard(page)  # Start now

    expect(page.get_by_role("heading", name="How old are you?")).to_be_visible()
    check_page(page, "age", js)
    position = [b.id for b in CHILD.age_bands].index(band)
    answer_with_keyboard(page, choose={"band": position})

    sections = CHILD.sections_for(band)
    first = sections[0].questions_for(band)[0]
    expected: dict[str, str] = {}
    for number, section in enumerate(sections):
        questions = section.questions_for(band)
        expect(page.get_by_text(questions[0].text, exact=True).first).to_be_visible()
        check_page(page, tuple((q.type, q.scale) for q in questions), js)
        if number == 0:
            shots(page, "first-question")
        answer_with_keyboard(page, choose={first.id: 1}, text=ANYTHING_ELSE)
        for question in questions:
            expected[question.id] = ANYTHING_ELSE if question.type == "long_text" else question.options[0].value
    expected[first.id] = first.options[1].value

    expect(page.get_by_role("heading", name="Check your answers before sending them")).to_be_visible()
    expect(page.get_by_text(first.options[1].label, exact=True).first).to_be_visible()
    check_page(page, ("check", band), js)
    shots(page, "check")
    tab_to(page, "Send your answers")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # pressed twice: stored once all the same
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    check_page(page, "thank you", js)
    shots(page, "thank-you")

    responses = submitted(server, link)
    assert len(responses) == 1
    assert responses[0].age_band == band
    with server.rows():
        assert load_answers(responses[0]) == expected

    # the same phone, the same link again: thanked, not asked again, and nothing more is stored
    page.goto(f"{server.url}/s/{link.slug}")
    expect(page.get_by_role("heading", name="You have already answered this survey on this device")).to_be_visible()
    assert len(submitted(server, link)) == 1


def tab_to_clear(page: Page, max_keys: int = 20) -> None:
    """Tab until a "Clear my answer" button has the focus."""
    for _ in range(max_keys):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.name") == "clear-answer":
            return
    raise AssertionError(f"Tab never reached Clear my answer on {page.url}")


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_a_child_clears_a_face_they_did_not_mean_and_it_is_not_sent(
    server: Server, new_page: Callable[..., Page], shots, js: bool
) -> None:
    """A child of 4 to 7, with the keyboard alone, answers every page, goes back to the first,
    chooses another face, then clears it ("You can skip any question"). With JavaScript it is
    cleared in place, the keyboard on the question, and the button shows only while a face is
    chosen; without, the page comes back cleared. Sent straight from the check page (as from
    another tab, without Continue), the response has no answer to it: the draft lost it too."""
    band = "age-4-7"
    link = new_link(server, "child-experience")
    page = new_page(phone=True, js=js)
    page.goto(f"{server.url}/s/{link.slug}")
    answer_with_keyboard(page)  # Start now
    answer_with_keyboard(page, choose={"band": 0})
    sections = CHILD.sections_for(band)
    [first] = sections[0].questions_for(band)
    clear = page.get_by_role("button", name=f"Clear my answer to ‘{first.text}’")
    if js:
        expect(clear).to_be_hidden()  # nothing chosen yet: nothing to clear
    else:
        expect(clear).to_be_visible()
    for _ in sections:
        answer_with_keyboard(page)  # the first face, Happy, on every page
    expect(page.get_by_role("heading", name="Check your answers before sending them")).to_be_visible()
    check_url = page.url

    page.get_by_role("link", name=f"Change {first.text}").click()
    group = page.get_by_role("group", name=first.text)
    expect(group.get_by_label("Happy")).to_be_checked()
    page.keyboard.press("Tab")  # to the skip link, then on: the keyboard reaches the chosen face
    while page.evaluate("() => document.activeElement.type") != "radio":
        page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # another face: OK
    expect(group.get_by_label("OK")).to_be_checked()
    expect(clear).to_be_visible()
    check_page(page, "clear my answer", js)  # axe runs in the page: with JavaScript only
    shots(page, "face-chosen")
    tab_to_clear(page)
    if js:
        with page.expect_response(lambda r: r.request.method == "POST"):  # the draft's copy goes too
            page.keyboard.press("Enter")
        expect(page.get_by_role("status")).to_have_text(
            "Your answer is cleared. You can choose again or leave it blank."
        )
        expect(clear).to_be_hidden()
    else:
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(clear).to_be_visible()
    for face in ("Happy", "OK", "Sad"):
        expect(group.get_by_label(face)).not_to_be_checked()
    expect(group).to_be_focused()
    shots(page, "cleared")
    check_page(page, "cleared", js)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.name") == first.id, "Tab goes on to its faces"

    page.goto(check_url)  # not Continue: the check page, as a second tab would send it
    expect(page.get_by_role("heading", name="Check your answers before sending them")).to_be_visible()
    tab_to(page, "Send your answers")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    (response,) = submitted(server, link)
    with server.rows():
        answers = load_answers(response)
    assert first.id not in answers
    assert answers == {q.id: "happy" for s in sections[1:] for q in s.questions_for(band)}


def test_a_new_choice_after_clearing_is_kept_however_slow_the_clearing(server: Server, page: Page) -> None:
    """With JavaScript the draft's copy of a cleared answer is taken back in the background. A
    face chosen again and continued before that post lands must not be undone by it: Continue
    waits for the clearing, then saves the new face."""
    link = new_link(server, "child-experience")
    page.goto(f"{server.url}/s/{link.slug}?band=age-4-7")
    page.get_by_role("button", name="Start now").click()
    [first] = CHILD.sections_for("age-4-7")[0].questions_for("age-4-7")
    group = page.get_by_role("group", name=first.text)
    group.get_by_label("Happy").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("link", name="Back").click()
    expect(group.get_by_label("Happy")).to_be_checked()

    held = []  # the clearing's post, held back until the test lets it go
    clearing = "clear-answer=" + quote(first.id)
    page.route(
        "**/q/*", lambda route: held.append(route) if clearing in (route.request.post_data or "") else route.continue_()
    )
    page.get_by_role("button", name=f"Clear my answer to ‘{first.text}’").click()
    expect(group.get_by_label("Happy")).not_to_be_checked()
    group.get_by_label("Sad").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_timeout(300)
    assert len(held) == 1, "the clearing was sent"
    expect(group.get_by_label("Sad")).to_be_checked()  # still here: Continue waits for the clearing
    held[0].continue_()
    expect(page.get_by_role("heading", name=CHILD.sections_for("age-4-7")[1].questions[0].text)).to_be_visible()
    with server.rows():
        (draft,) = Response.select().where(Response.link == link.id)
        assert load_answers(draft) == {first.id: "sad"}


def test_a_choice_is_kept_when_an_earlier_clearing_lands_after_a_later_one(server: Server, page: Page) -> None:
    """A child clears a face, chooses another, clears that too and chooses a third; on a slow
    connection the first clearing is still on its way when the second has landed. Continue waits
    for both, so the first cannot land after the page is saved and take the third face away."""
    link = new_link(server, "child-experience")
    page.goto(f"{server.url}/s/{link.slug}?band=age-4-7")
    page.get_by_role("button", name="Start now").click()
    [first] = CHILD.sections_for("age-4-7")[0].questions_for("age-4-7")
    group = page.get_by_role("group", name=first.text)
    clear = page.get_by_role("button", name=f"Clear my answer to ‘{first.text}’")
    group.get_by_label("Happy").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("link", name="Back").click()
    expect(group.get_by_label("Happy")).to_be_checked()

    held = []  # the first clearing's post, held back until the test lets it go; later ones go on
    clearing = "clear-answer=" + quote(first.id)

    def hold_the_first(route: Route) -> None:
        if clearing in (route.request.post_data or "") and not held:
            held.append(route)
        else:
            route.continue_()

    page.route("**/q/*", hold_the_first)
    clear.click()
    group.get_by_label("OK").check()
    with page.expect_response(lambda r: r.request.method == "POST"):  # the second clearing lands
        clear.click()
    group.get_by_label("Sad").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_timeout(300)
    assert len(held) == 1, "the first clearing was sent"
    expect(group.get_by_label("Sad")).to_be_checked()  # still here: Continue waits for the first clearing too
    held[0].continue_()
    expect(page.get_by_role("heading", name=CHILD.sections_for("age-4-7")[1].questions[0].text)).to_be_visible()
    with server.rows():
        (draft,) = Response.select().where(Response.link == link.id)
        assert load_answers(draft) == {first.id: "sad"}


def answer_workshop(page: Page) -> None:
    """A practitioner taps through the workshop survey, answering every page."""
    page.get_by_role("button", name="Start now").tap()
    expect(page.get_by_role("heading", name=WORKSHOP.sections[0].title)).to_be_visible()
    page.get_by_label("Day", exact=True).fill("4")
    page.get_by_label("Month", exact=True).fill("11")
    page.get_by_label("Year", exact=True).fill("2026")
    page.get_by_label("Health", exact=True).tap()
    page.get_by_label("How many years have you worked with children or families?").fill("12")
    page.get_by_role("button", name="Continue").tap()
    for section_id in ("reaction", "before", "after"):
        section = WORKSHOP.section(section_id)
        expect(page.get_by_role("heading", name=section.title)).to_be_visible()
        fits_a_phone(page)
        for question in section.questions:
            group = page.get_by_role("group", name=question.text)
            group.get_by_label(question.options[3 if section_id != "before" else 1].label).tap()
        page.get_by_role("button", name="Continue").tap()
    page.get_by_role("textbox").fill("Use the neglect toolkit at my next home visit.")
    page.get_by_role("button", name="Continue").tap()
    page.get_by_label("Yes", exact=True).tap()
    page.get_by_label("A short conversation arranged by my organiser").tap()
    page.get_by_role("button", name="Continue").tap()
    expect(page.get_by_role("heading", name="Check your answers before sending them")).to_be_visible()
    fits_a_phone(page)
    page.get_by_role("button", name="Send your answers").tap()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()


def test_practitioner_answers_a_workshop_device_link_on_a_phone(
    server: Server, new_page: Callable[..., Page], shots
) -> None:
    link = new_link(server, "practitioner-workshop")
    page = new_page(phone=True)
    page.goto(f"{server.url}/s/{link.slug}")
    expect(page.get_by_role("heading", level=1, name=WORKSHOP.title)).to_be_visible()
    fits_a_phone(page)
    shots(page, "start")
    answer_workshop(page)
    shots(page, "thank-you")
    (response,) = submitted(server, link)
    with server.rows():
        answers = load_answers(response)
    assert answers["workshop-date"] == "2026-11-04" and answers["sector"] == "health"
    assert (answers["neglect-before"], answers["neglect-after"]) == ("2", "4")
    assert answers["follow-up-format"] == "conversation"

    page.goto(f"{server.url}/s/{link.slug}")
    expect(page.get_by_role("heading", name="You have already answered this survey on this device")).to_be_visible()
    shots(page, "already-answered")
    assert violations(page) == []

    other = new_page(phone=True)  # a colleague's phone may still answer
    other.goto(f"{server.url}/s/{link.slug}")
    expect(other.get_by_role("button", name="Start now")).to_be_visible()
    assert len(submitted(server, link)) == 1


def test_practitioner_types_a_single_use_code_on_a_phone(server: Server, new_page: Callable[..., Page], shots) -> None:
    link = new_link(server, "practitioner-workshop", mode="tokens")
    with server.rows():
        code, spare = create_codes(link, 2)
    page = new_page(phone=True)
    page.goto(f"{server.url}/s/{link.slug}")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    fits_a_phone(page)
    page.get_by_role("button", name="Continue").tap()  # nothing typed
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter your code")
    page.get_by_label("Enter your code").fill("ZZZZ-ZZZZ-ZZZZ")
    page.get_by_role("button", name="Continue").tap()
    expect(page.locator(".govuk-error-summary")).to_contain_text("We could not find this code")
    shots(page, "unknown-code")
    assert violations(page) == []
    page.get_by_label("Enter your code").fill(code.lower().replace("-", " "))  # as read off a card
    page.get_by_role("button", name="Continue").tap()
    expect(page.get_by_text("Your code can only be used once.")).to_be_visible()
    shots(page, "start")
    answer_workshop(page)
    shots(page, "thank-you")
    assert len(submitted(server, link)) == 1

    # the code is spent: on another phone, typed or in a link, it is refused kindly
    other = new_page(phone=True)
    other.goto(f"{server.url}/s/{link.slug}/{code}")
    expect(other.get_by_role("heading", name="This code has already been used")).to_be_visible()
    fits_a_phone(other)
    shots(other, "code-used")
    assert violations(other) == []
    other.goto(f"{server.url}/s/{link.slug}/{spare}")  # the next person's code still works
    expect(other.get_by_role("button", name="Start now")).to_be_visible()
    assert len(submitted(server, link)) == 1


def test_a_child_is_told_how_much_more_they_can_write_in_words_they_know(server: Server, phone: Page, shots) -> None:
    """The child survey's character count speaks as its "too long" error does: letters and
    spaces, not "characters", a word a child of 8 may not know; the page still passes axe."""
    band = "age-8-11"
    section = next(s for s in CHILD.sections_for(band) if any(q.type == "long_text" for q in s.questions_for(band)))
    question = next(q for q in section.questions_for(band) if q.type == "long_text")
    link = new_link(server, "child-experience")
    phone.goto(f"{server.url}/s/{link.slug}?band={band}")
    phone.get_by_role("button", name="Start now").click()
    phone.goto(f"{server.url}/s/{link.slug}/q/{section.id}")
    expect(phone.get_by_text(f"You can write up to {question.max_length:,} letters and spaces")).to_be_attached()
    status = phone.locator(".govuk-character-count__status")
    expect(status).to_have_text(f"You can write {question.max_length:,} more letters or spaces")
    box = phone.get_by_label(question.text)
    box.press_sequentially("I like my teacher")
    expect(status).to_have_text(f"You can write {question.max_length - 17:,} more letters or spaces")
    box.fill("a" * (question.max_length + 2))
    box.press("End")
    expect(status).to_have_text("Your answer is 2 letters or spaces too long")
    shots(phone, "child-too-long")
    assert violations(phone) == []


def test_a_parent_sees_how_many_characters_are_left_as_they_type(server: Server, phone: Page, shots) -> None:
    """The GOV.UK character count under a free-text answer: the count follows the typing, says
    when the answer is too long, and the page still passes axe with the count showing."""
    family = SHIPPED["family-experience"]
    question = family.question("anything-else")
    section = next(s for s in family.sections if question in s.questions)
    link = new_link(server, "family-experience")
    phone.goto(f"{server.url}/s/{link.slug}")
    phone.goto(f"{server.url}/s/{link.slug}/q/{section.id}")
    status = phone.locator(".govuk-character-count__status")
    expect(status).to_have_text("You have 3,000 characters remaining")
    box = phone.get_by_label(question.text)
    box.press_sequentially(ANYTHING_ELSE)
    expect(status).to_have_text(f"You have {3000 - len(ANYTHING_ELSE):,} characters remaining")
    shots(phone, "counting")
    assert violations(phone) == []
    box.fill("a" * 3002)
    box.press("End")
    expect(status).to_have_text("You have 2 characters too many")
    shots(phone, "too-many")
    assert violations(phone) == []

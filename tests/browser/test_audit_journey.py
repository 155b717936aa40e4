"""An agency lead completes and submits the Section 11 self-audit over two visits, in Chromium.

First visit: sign in, open the task list, answer two standards (ratings, a description,
evidence, not applicable with a reason, an action for each shortfall), leave one shortfall
without its action, sign out. Second visit, another day in a new browser: everything is still
there; answer the rest; check answers, where submission is refused until the missing action is
given; fix it; forget the declaration, then confirm it and submit; see the submitted audit,
which can no longer be changed; update the progress of an action later.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from questionnaires import load_all
from store.answers import load_answers
from store.audits import response_of
from store.models import Action, Audit, User
from tests.browser.axe import violations
from tests.browser.conftest import Server
from tests.browser.steps import by_id, fill_date, sign_in_from_start, sign_out

S11 = load_all()["s11-self-audit"]
TITLES = {s.id: s.title for s in S11.sections}
TODAY = dt.date.today()
DUE = TODAY + dt.timedelta(days=90)


def rate(page: Page, item: str, value: str) -> None:
    page.locator(f"input[name='{item}'][value='{value}']").check()


def give_action(page: Page, item: str, what: str, owner: str) -> None:
    expect(by_id(page, f"{item}-action__what")).to_be_visible()  # revealed by the shortfall
    by_id(page, f"{item}-action__what").fill(what)
    by_id(page, f"{item}-action__owner").fill(owner)
    fill_date(page, f"{item}-action__due", DUE)


def save(page: Page, section_id: str, completed: bool = True) -> None:
    if completed:
        page.get_by_label("Yes, I’ve completed this section").check()
        page.get_by_role("button", name="Save and continue").click()
    else:
        page.get_by_label("No, I’ll come back to it later").check()
        page.get_by_role("button", name="Save and come back later").click()
    expect(page.get_by_text(f"We saved your answers to ‘{TITLES[section_id]}’.")).to_be_visible()


def open_standard(page: Page, section_id: str) -> None:
    page.get_by_role("link", name=TITLES[section_id], exact=True).click()
    expect(page.get_by_role("heading", level=1, name=TITLES[section_id])).to_be_visible()


def lead_on_standard(server: Server, new_page: Callable[..., Page], name: str, section_id: str) -> tuple[User, Page]:
    """A new agency's lead, signed in, on one of its standards' pages from the task list."""
    (lead,) = server.agency_with_users(name)
    page = new_page()
    sign_in_from_start(page, server.url, lead.email)
    page.get_by_role("link", name="Your self-audit").click()
    open_standard(page, section_id)
    return lead, page


def status_of(page: Page, section_id: str) -> str:
    row = page.locator(".govuk-task-list__item").filter(has=page.get_by_role("link", name=TITLES[section_id]))
    return " ".join(row.locator(".govuk-task-list__status").inner_text().split())


def test_agency_lead_completes_and_submits_over_two_visits(
    server: Server, new_page: Callable[..., Page], shots
) -> None:
    (lead,) = server.agency_with_users("Jo Lead")

    # --- first visit ----------------------------------------------------------------------
    page = new_page()
    sign_in_from_start(page, server.url, lead.email)
    page.get_by_role("link", name="Your self-audit").click()
    expect(page.get_by_role("heading", name="Your Section 11 self-audit")).to_be_visible()
    expect(page.get_by_text(f"You have completed 0 of {len(TITLES)} standards.")).to_be_visible()
    assert status_of(page, "s1") == "Not yet started"
    shots(page, "task-list-empty")

    open_standard(page, "s1")
    rate(page, "s1.1", "met")
    by_id(page, "s1.1-narrative").fill("Our chief executive is the named lead; it is in her job description.")
    by_id(page, "s1.1-evidence__0__title").fill("Chief executive's job description")
    page.locator("input[name='s1.1-evidence__0__type'][value='role-description']").check()
    fill_date(page, "s1.1-evidence__0__date", TODAY - dt.timedelta(days=200))
    rate(page, "s1.2", "partially-met")
    give_action(page, "s1.2", "Add a safeguarding report to every board meeting", "Head of quality")
    rate(page, "s1.3", "met")
    rate(page, "s1.4", "not-met")
    give_action(page, "s1.4", "Run a yearly check of safeguarding practice", "Safeguarding lead")
    shots(page, "standard-1-answered")
    save(page, "s1")
    assert status_of(page, "s1") == "Completed"

    open_standard(page, "s4")
    rate(page, "s4.1", "not-applicable")
    expect(by_id(page, "s4.1__reason")).to_be_visible()
    by_id(page, "s4.1__reason").fill("We are a sports club: we make no decisions about individual children.")
    rate(page, "s4.2", "met")
    rate(page, "s4.3", "met")
    rate(page, "s4.4", "partially-met")  # its action is left for later: submission must wait for it
    shots(page, "standard-4-part-done")
    save(page, "s4", completed=False)
    assert status_of(page, "s4") == "In progress"
    sign_out(page)
    shots(page, "signed-out")

    # --- second visit, in a new browser ---------------------------------------------------
    page = new_page()
    sign_in_from_start(page, server.url, lead.email)
    page.get_by_role("link", name="Your self-audit").click()
    expect(page.get_by_text(f"You have completed 1 of {len(TITLES)} standards.")).to_be_visible()
    assert (status_of(page, "s1"), status_of(page, "s4")) == ("Completed", "In progress")
    open_standard(page, "s1")
    expect(page.locator("input[name='s1.1'][value='met']")).to_be_checked()
    expect(by_id(page, "s1.1-narrative")).to_have_value(re.compile("named lead"))
    expect(by_id(page, "s1.1-evidence__0__title")).to_have_value("Chief executive's job description")
    expect(by_id(page, "s1.4-action__owner")).to_have_value("Safeguarding lead")
    expect(by_id(page, "s1.4-action__due-year")).to_have_value(str(DUE.year))
    shots(page, "standard-1-still-there")
    page.get_by_role("link", name="Back to your self-audit").click()

    for section in S11.sections:
        if section.id in ("s1", "s4"):
            continue
        open_standard(page, section.id)
        for question in section.questions:
            if question.type == "rating":
                rate(page, question.id, "met")
        save(page, section.id)
    expect(page.get_by_text(f"You have completed {len(TITLES) - 1} of {len(TITLES)} standards.")).to_be_visible()

    # checking and submitting cannot start while a standard is unfinished; the check page, which
    # says what is left to do, is reached by its own link
    task = page.locator(".govuk-task-list__item").filter(has_text="Check your answers and submit")
    expect(task.get_by_role("link")).to_have_count(0)
    expect(task.locator(".govuk-task-list__status--cannot-start-yet")).to_have_text("Cannot start yet")
    expect(task).to_contain_text("You can do this when you have completed every standard.")
    shots(page, "task-list-cannot-submit-yet")
    assert violations(page) == []
    page.get_by_role("link", name="View your answers so far and what is left to do").click()
    blockers = page.locator("#cannot-submit")
    expect(blockers.get_by_role("heading", name="You cannot submit yet")).to_be_visible()
    expect(blockers.get_by_role("link", name=TITLES["s4"])).to_be_visible()
    expect(page.get_by_role("button", name="Submit your Section 11 self-audit")).to_have_count(0)
    shots(page, "check-blocked")  # axe: this state is scanned with every route in test_accessibility.py
    blockers.get_by_role("listitem").get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(r"/s4#s4\.4-action__what$"))
    give_action(page, "s4.4", "Ask families about every service change before it starts", "Club secretary")
    save(page, "s4")

    page.get_by_role("link", name="Check your answers and submit").click()
    expect(page.get_by_role("heading", name="Check your answers before submitting your self-audit")).to_be_visible()
    expect(page.locator("#cannot-submit")).to_have_count(0)
    expect(page.get_by_text("We are a sports club", exact=False)).to_be_visible()
    page.get_by_role("button", name="Submit your Section 11 self-audit").click()  # no declaration yet
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link", name="Select the box to confirm the declaration")).to_be_visible()
    assert page.title().startswith("Error: ")
    shots(page, "declaration-missing")
    assert violations(page) == []
    with server.rows():
        assert Audit.get(Audit.agency == lead.agency_id).status == "in-progress"

    page.get_by_label("I confirm this declaration").check()
    page.get_by_role("button", name="Submit your Section 11 self-audit").click()
    expect(page.get_by_role("heading", name="Self-audit submitted")).to_be_visible()
    expect(page.get_by_text("Your self-audit has 3 actions.")).to_be_visible()
    shots(page, "submitted")
    with server.rows():
        audit = Audit.get(Audit.agency == lead.agency_id)
        assert (audit.status, audit.submitted_by_id) == ("submitted", lead.id)
        stored = load_answers(response_of(audit))
        assert stored["s4.1"] == "not-applicable" and stored["s4.1__reason"].startswith("We are a sports club")
        assert stored["s1.1-evidence"][0]["title"] == "Chief executive's job description"
        actions = {a.question_id: a for a in Action.select().where(Action.audit == audit)}
        assert set(actions) == {"s1.2-action", "s1.4-action", "s4.4-action"}
        assert actions["s4.4-action"].owner == "Club secretary" and actions["s4.4-action"].due == DUE

    # the submitted audit can be read, not changed
    page.get_by_role("link", name="View your submitted answers").click()
    expect(page.get_by_role("heading", name="Your Section 11 self-audit answers")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^Change"))).to_have_count(0)
    shots(page, "submitted-answers")
    page.goto(f"{server.url}/audit/{audit.id}/s1")
    expect(page.get_by_text("so its answers cannot be changed")).to_be_visible()
    expect(page.locator("main input[type=radio], main textarea")).to_have_count(0)
    page.get_by_role("link", name="Back to your self-audit").click()  # where it was opened from
    expect(page.get_by_text("You submitted this self-audit on")).to_be_visible()
    expect(page.get_by_role("link", name="Check your answers and submit")).to_have_count(0)

    # later: progress on the actions
    page.get_by_role("link", name="Update progress on your actions").click()
    expect(page.get_by_role("heading", name="Your actions")).to_be_visible()
    progress = page.get_by_role("textbox", name="How much is done")
    expect(progress).to_have_count(3)
    item = page.locator(".app-action").filter(has_text="Ask families about every service change")
    item.get_by_role("textbox", name="How much is done").fill("150")
    page.get_by_role("button", name="Save progress").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter progress as a whole number from 0 to 100")
    expect(item.get_by_role("textbox", name="How much is done")).to_have_value("150")  # kept to correct
    shots(page, "progress-error")
    item.get_by_role("textbox", name="How much is done").fill("40")
    item.get_by_role("textbox", name="Note on progress (optional)").fill("Asked at the spring open day.")
    page.get_by_role("button", name="Save progress").click()
    expect(page.get_by_text("Your progress was saved.")).to_be_visible()
    expect(item.get_by_role("textbox", name="How much is done")).to_have_value("40")
    shots(page, "progress-saved")
    with server.rows():
        action = Action.get((Action.audit == audit) & (Action.question_id == "s4.4-action"))
        assert (action.progress, action.progress_note) == (40, "Asked at the spring open day.")
        assert User.get_by_id(lead.id).last_sign_in is not None


def test_enter_in_a_text_box_saves_what_was_typed_instead_of_adding_evidence(
    server: Server, new_page: Callable[..., Page], shots
) -> None:
    """Enter presses a form's first submit button; on an S11 page that would be "Add another
    piece of evidence" had the page not put "Save and come back later" first, off screen."""
    lead, page = lead_on_standard(server, new_page, "Sam Enter", "s1")
    rate(page, "s1.1", "met")
    page.locator("input[name='s1.1-evidence__0__type'][value='minutes']").check()
    fill_date(page, "s1.1-evidence__0__date", TODAY - dt.timedelta(days=30))
    by_id(page, "s1.1-evidence__0__title").fill("Board minutes, March")
    by_id(page, "s1.1-evidence__0__title").press("Enter")

    expect(page.get_by_text(f"We saved your answers to ‘{TITLES['s1']}’.")).to_be_visible()
    assert status_of(page, "s1") == "In progress"
    shots(page, "saved-by-enter")
    with server.rows():
        stored = load_answers(response_of(Audit.get(Audit.agency == lead.agency_id)))
    assert stored["s1.1"] == "met" and stored["s1.1-evidence"][0]["title"] == "Board minutes, March"

    # assistive technology and the keyboard meet only the visible button of that name
    open_standard(page, "s1")
    expect(page.get_by_role("button", name="Save and come back later")).to_have_count(1)  # the visible one
    expect(page.locator("button.app-default-submit")).not_to_be_in_viewport()


def test_evidence_rows_are_added_and_removed_and_the_keyboard_stays_with_them(
    server: Server, new_page: Callable[..., Page], shots
) -> None:
    """Add another piece of evidence comes back with the keyboard in the new row; a row typed by
    mistake, which would stop the standard being completed, is removed, and the keyboard stays on
    its list. The page with two rows, and with their errors, passes axe."""
    (lead,) = server.agency_with_users("Ali Evidence")
    page = new_page()
    sign_in_from_start(page, server.url, lead.email)
    page.get_by_role("link", name="Your self-audit").click()
    open_standard(page, "s1")
    for item in ("s1.1", "s1.2", "s1.3", "s1.4"):
        rate(page, item, "met")
    by_id(page, "s1.1-evidence__0__title").fill("Chief executive's job description")
    page.locator("input[name='s1.1-evidence__0__type'][value='role-description']").check()
    fill_date(page, "s1.1-evidence__0__date", TODAY - dt.timedelta(days=200))
    page.locator("button[name='add-evidence'][value='s1.1-evidence']").click()

    added = by_id(page, "s1.1-evidence__1__title")
    expect(added).to_be_focused()
    assert page.evaluate("document.activeElement.id") == "s1.1-evidence__1__title"
    expect(added).to_be_in_viewport()
    expect(by_id(page, "s1.1-evidence__0__title")).to_have_value("Chief executive's job description")
    expect(page.locator("input[name='s1.1']:checked")).to_have_value("met")
    shots(page, "row-added")
    assert violations(page) == []

    page.keyboard.type("Board minu")  # typed where the focus is, then left half done
    page.get_by_label("Yes, I’ve completed this section").check()
    page.get_by_role("button", name="Save and continue").click()
    item = "‘Is a named person at board level responsible for safeguarding children?’"
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link", name=f"Select the type of evidence 2 for {item}")).to_be_visible()
    expect(summary.get_by_role("link", name=f"Enter the date of evidence 2 for {item}, like 27 3 2024")).to_be_visible()
    summary.get_by_role("link", name=f"Enter the date of evidence 2 for {item}, like 27 3 2024").click()
    expect(by_id(page, "s1.1-evidence__1__date-day")).to_be_focused()
    shots(page, "row-errors")
    assert violations(page) == []

    page.get_by_role("button", name=f"Remove evidence 2 for {item}").click()
    expect(by_id(page, "s1.1-evidence__1__title")).to_have_count(0)
    expect(page.locator(".govuk-error-summary")).to_have_count(0)
    expect(by_id(page, "s1.1-evidence")).to_be_focused()
    assert page.evaluate("document.activeElement.id") == "s1.1-evidence"
    expect(by_id(page, "s1.1-evidence__0__title")).to_have_value("Chief executive's job description")
    shots(page, "row-removed")
    save(page, "s1")
    assert status_of(page, "s1") == "Completed"
    with server.rows():
        stored = load_answers(response_of(Audit.get(Audit.agency == lead.agency_id)))
    assert [e["title"] for e in stored["s1.1-evidence"]] == ["Chief executive's job description"]


def test_evidence_rows_are_added_and_removed_without_javascript(
    server: Server, new_page: Callable[..., Page], shots
) -> None:
    (lead,) = server.agency_with_users("Noor Nojs")
    page = new_page(js=False)
    sign_in_from_start(page, server.url, lead.email)
    page.get_by_role("link", name="Your self-audit").click()
    open_standard(page, "s2")
    by_id(page, "s2.1-evidence__0__title").fill("Child protection policy")
    page.locator("button[name='add-evidence'][value='s2.1-evidence']").click()
    expect(by_id(page, "s2.1-evidence__1__title")).to_be_focused()
    by_id(page, "s2.1-evidence__1__title").fill("Typed by mistake")
    page.locator("button[name='remove-evidence'][value='s2.1-evidence__1']").click()
    expect(by_id(page, "s2.1-evidence__1__title")).to_have_count(0)
    expect(by_id(page, "s2.1-evidence__0__title")).to_have_value("Child protection policy")
    expect(by_id(page, "s2.1-evidence")).to_be_focused()
    shots(page, "no-js-row-removed")


def test_typing_just_before_adding_a_row_is_there_when_the_page_is_opened_again(
    server: Server, new_page: Callable[..., Page], shots
) -> None:
    """autosave.js waits for typing to stop, and drops what it has not sent when the form is
    sent: the post that adds a row keeps the page as the person's draft, so a tab closed just
    after loses nothing."""
    lead, page = lead_on_standard(server, new_page, "Kit Quick", "s2")
    rate(page, "s2.1", "met")
    by_id(page, "s2.1-narrative").fill("Every manager has read the policy this year.")
    by_id(page, "s2.1-evidence__0__title").fill("Child protection policy")
    page.locator("button[name='add-evidence'][value='s2.1-evidence']").click()  # at once: no draft sent yet
    expect(by_id(page, "s2.1-evidence__1__title")).to_be_focused()
    address = page.url
    page.close()  # the tab closed before anything else

    page = new_page()  # another visit, in a new browser
    sign_in_from_start(page, server.url, lead.email)
    page.goto(address)
    expect(page.get_by_text("We restored what you typed on")).to_be_visible()
    expect(by_id(page, "s2.1-narrative")).to_have_value("Every manager has read the policy this year.")
    expect(by_id(page, "s2.1-evidence__0__title")).to_have_value("Child protection policy")
    expect(by_id(page, "s2.1-evidence__1__title")).to_have_value("")  # the row added is there to fill in
    expect(page.locator("input[name='s2.1'][value='met']")).to_be_checked()
    shots(page, "restored-after-adding-a-row")
    with server.rows():
        stored = load_answers(response_of(Audit.get(Audit.agency == lead.agency_id)))
    assert "s2.1-narrative" not in stored  # kept as a draft, not saved


def test_an_answer_that_could_not_be_saved_comes_back_marked_to_correct(
    server: Server, new_page: Callable[..., Page], shots
) -> None:
    """Save and come back later saves what it can; an impossible date is kept as typed, and the
    page opened again says, in the GOV.UK error pattern, that it is not saved and why."""
    lead, page = lead_on_standard(server, new_page, "Ren Later", "s2")
    rate(page, "s2.1", "met")
    by_id(page, "s2.1-evidence__0__title").fill("Child protection policy")
    page.locator("input[name='s2.1-evidence__0__type'][value='policy']").check()
    for part, value in (("day", "31"), ("month", "2"), ("year", str(TODAY.year))):
        by_id(page, f"s2.1-evidence__0__date-{part}").fill(value)
    save(page, "s2", completed=False)
    expect(page.get_by_text("Some need checking")).to_be_visible()

    open_standard(page, "s2")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    expect(page.get_by_text("some answers need correcting before they can be saved")).to_be_visible()
    problem = re.compile(r"^The date of evidence 1 for .* must be a real date")
    expect(summary.get_by_role("link")).to_have_count(1)
    summary.get_by_role("link", name=problem).click()
    expect(by_id(page, "s2.1-evidence__0__date-day")).to_be_focused()
    expect(by_id(page, "s2.1-evidence__0__date-day")).to_have_value("31")
    inline = page.locator(".govuk-error-message").filter(
        has_text=re.compile(r"The date of evidence 1 for .* real date")
    )
    expect(inline).to_have_count(1)  # by the boxes, too
    assert page.title().startswith("Error: ")
    shots(page, "restored-with-errors")
    assert violations(page) == []

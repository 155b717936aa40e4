"""Two colleagues of one agency change the same standard at the same time, each in a browser.

The first to save wins the page; the second is shown both versions side by side and nothing of
the first is overwritten until the second person chooses. Keeping the colleague's answers
throws their own away; using their own, knowingly, replaces the colleague's.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from questionnaires import load_all
from store.answers import load_answers
from store.audits import response_of
from store.models import Audit, SectionState
from tests.browser.axe import violations
from tests.browser.conftest import Server
from tests.browser.steps import by_id, sign_in_from_start

TITLE = load_all()["s11-self-audit"].section("s2").title


def open_s2(page: Page, url: str, email: str) -> None:
    sign_in_from_start(page, url, email)
    page.get_by_role("link", name="Your self-audit").click()
    page.get_by_role("link", name=TITLE, exact=True).click()
    expect(page.get_by_role("heading", level=1, name=TITLE)).to_be_visible()


def stored(server: Server, agency_id: int) -> tuple[dict, SectionState]:
    with server.rows():
        audit = Audit.get(Audit.agency == agency_id)
        state = SectionState.get((SectionState.audit == audit) & (SectionState.section_id == "s2"))
        return load_answers(response_of(audit)), state


def test_the_second_to_save_sees_both_versions_and_overwrites_nothing(
    server: Server, new_page: Callable[..., Page], shots
) -> None:
    lead, colleague = server.agency_with_users("Ann Lead", "Ben Colleague")
    ann, ben = new_page(), new_page()
    open_s2(ann, server.url, lead.email)
    open_s2(ben, server.url, colleague.email)

    # Ann saves first
    ann.locator("input[name='s2.1'][value='met']").check()
    by_id(ann, "s2.1-narrative").fill("Reviewed by the board in January.")
    ann.get_by_label("No, I’ll come back to it later").check()
    ann.get_by_role("button", name="Save and come back later").click()
    expect(ann.get_by_text(f"We saved your answers to ‘{TITLE}’.")).to_be_visible()

    # Ben, whose page was opened before Ann saved, saves his own view of the same item
    ben.locator("input[name='s2.1'][value='partially-met']").check()
    by_id(ben, "s2.1-narrative").fill("The policy is out of date.")
    ben.get_by_label("No, I’ll come back to it later").check()
    ben.get_by_role("button", name="Save and come back later").click()
    expect(ben.get_by_role("heading", name="Ann Lead has changed this section since you opened it")).to_be_visible()
    theirs, mine = ben.locator(".app-conflict-theirs"), ben.locator(".app-conflict-mine")
    expect(theirs).to_contain_text("Reviewed by the board in January.")
    expect(theirs).to_contain_text("Met")
    expect(mine).to_contain_text("The policy is out of date.")
    expect(mine).to_contain_text("Partially met")
    shots(ben, "conflict")
    assert violations(ben) == []
    answers, state = stored(server, lead.agency_id)
    assert (answers["s2.1"], answers["s2.1-narrative"]) == ("met", "Reviewed by the board in January.")
    assert state.updated_by_id == lead.id

    # Ben keeps Ann's answers: his are dropped, hers are on the page
    ben.get_by_role("button", name="Keep my colleague's answers").click()
    expect(ben.get_by_text("Your changes were discarded. These are the saved answers.")).to_be_visible()
    expect(ben.locator("input[name='s2.1'][value='met']")).to_be_checked()
    expect(by_id(ben, "s2.1-narrative")).to_have_value("Reviewed by the board in January.")
    shots(ben, "kept-colleagues-answers")
    assert stored(server, lead.agency_id)[0]["s2.1-narrative"] == "Reviewed by the board in January."

    # Both change it again; this time Ben, shown the conflict, chooses his own answers
    ann.get_by_role("link", name=TITLE, exact=True).click()
    by_id(ann, "s2.2-narrative").fill("Posters in every office.")
    by_id(ben, "s2.1-narrative").fill("Reviewed in January, but two procedures are missing.")
    ann.get_by_label("No, I’ll come back to it later").check()
    ann.get_by_role("button", name="Save and come back later").click()
    expect(ann.get_by_text(f"We saved your answers to ‘{TITLE}’.")).to_be_visible()
    ben.get_by_label("No, I’ll come back to it later").check()
    ben.get_by_role("button", name="Save and come back later").click()
    expect(ben.get_by_role("heading", name="Ann Lead has changed this section since you opened it")).to_be_visible()
    expect(ben.locator(".app-conflict-theirs")).to_contain_text("Posters in every office.")  # hers, shown
    assert stored(server, lead.agency_id)[0]["s2.1-narrative"] == "Reviewed by the board in January."
    ben.get_by_role("button", name="Use my answers").click()
    expect(ben.get_by_text(f"We saved your answers to ‘{TITLE}’.")).to_be_visible()
    answers, state = stored(server, lead.agency_id)
    assert answers["s2.1-narrative"] == "Reviewed in January, but two procedures are missing."
    assert state.updated_by_id == colleague.id

    # Ann opens the standard again and sees who saved it last
    ann.get_by_role("link", name=TITLE, exact=True).click()
    expect(ann.get_by_text("Last saved by Ben Colleague")).to_be_visible()
    expect(by_id(ann, "s2.1-narrative")).to_have_value("Reviewed in January, but two procedures are missing.")
    shots(ann, "after-colleague-chose")

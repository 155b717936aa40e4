"""What a person does in the browser, shared by the journeys: sign in and out, fill a field by
its id, answer a page with the keyboard alone, and the checks every page must pass."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from playwright.sync_api import Locator, Page, expect

PASSWORD = "a long enough password"  # every user the journeys make has it
PHONE = {"width": 375, "height": 740}
SIGNED_OUT_BANNER = "You were signed out because you had not done anything for a while"


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """On the sign-in page already (a link sent the person there): type and sign in."""
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Sign out")).to_be_visible()


def sign_in_from_start(page: Page, url: str, email: str, password: str = PASSWORD) -> None:
    """From the start page, through the Sign in link in the header."""
    page.goto(url)
    page.get_by_role("navigation").get_by_role("link", name="Sign in").click()
    sign_in(page, email, password)


def sign_out(page: Page) -> None:
    page.get_by_role("link", name="Sign out").click()
    expect(page.get_by_role("navigation").get_by_role("link", name="Sign in")).to_be_visible()


def by_id(page: Page, element_id: str) -> Locator:
    """An element by its id; question ids hold dots, which a CSS #id would read as classes."""
    return page.locator(f"[id='{element_id}']")


def fill_date(page: Page, prefix: str, day: dt.date) -> None:
    by_id(page, f"{prefix}-day").fill(str(day.day))
    by_id(page, f"{prefix}-month").fill(str(day.month))
    by_id(page, f"{prefix}-year").fill(str(day.year))


def fits_a_phone(page: Page) -> None:
    """Nothing wider than a phone's screen: no sideways scrolling (WCAG 1.4.10 reflow)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways on a phone ({width}px wide)"


# What has the keyboard focus, in the terms the walker below decides on.
_FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body || !e.closest('main')) return null;
  const type = (e.getAttribute('type') || '').toLowerCase();
  const name = e.getAttribute('name') || '';
  const group = type === 'radio'
    ? document.querySelectorAll(`input[type=radio][name="${CSS.escape(name)}"]`) : [];
  return {
    tag: e.tagName, type, name, value: e.value || '', inputmode: e.getAttribute('inputmode') || '',
    groupChecked: Array.from(group).some((r) => r.checked),
    position: Array.from(group).indexOf(e),
    button: (e.tagName === 'BUTTON' && type !== 'button' && !e.classList.contains('govuk-button--secondary')
      && !e.classList.contains('app-clear-answer__button'))
      || (e.tagName === 'A' && e.classList.contains('govuk-button')),
  };
}"""


def answer_with_keyboard(
    page: Page,
    choose: Mapping[str, int] | None = None,
    text: str | None = None,
    on: dt.date | None = None,
    max_keys: int = 120,
) -> None:
    """Tab through the page's main content as a keyboard user does and answer what comes.

    A radio group gets option `choose[name]` (0, the first, unless said otherwise: Space on the
    first, or the arrow keys to move down to another); an empty text box gets `text`; a date
    gets the parts of `on`; a number box gets 3. The first main button reached (Continue, Start
    now, Send) is pressed with Enter, and the function returns once the next page has loaded.
    """
    choose = choose or {}
    on = on or dt.date.today()
    date_parts = {"day": on.day, "month": on.month, "year": on.year}
    for _ in range(max_keys):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED)
        if focused is None:
            continue
        if focused["type"] == "radio" and not focused["groupChecked"]:
            wanted = choose.get(focused["name"], 0)
            moves = wanted - focused["position"]
            if moves == 0:
                page.keyboard.press("Space")
            for _ in range(abs(moves)):  # an arrow key moves to the next radio and selects it
                page.keyboard.press("ArrowDown" if moves > 0 else "ArrowUp")
        elif focused["tag"] == "TEXTAREA" and not focused["value"] and text:
            page.keyboard.type(text)
        elif focused["tag"] == "INPUT" and focused["type"] in ("text", "") and not focused["value"]:
            part = re.search(r"-(day|month|year)$", focused["name"])
            if part:
                page.keyboard.type(str(date_parts[part.group(1)]))
            elif focused["inputmode"] == "numeric":
                page.keyboard.type("3")
            elif text:
                page.keyboard.type(text)
        elif focused["button"]:
            with page.expect_navigation():
                page.keyboard.press("Enter")
            return
    raise AssertionError(f"{max_keys} presses of Tab never reached a button on {page.url}")

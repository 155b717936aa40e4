"""What the simulated people do, and what each of them was told: the client side's ledger.

A respondent opens the survey link on a new device, answers every page (a random choice for
each question, and a text no one else types in the free-text box: that text is how the
response is found in the database afterwards), checks and sends. An agency user signs in,
changes a standard's narrative to a text of their own and saves it; some complete the last two
standards and submit the self-audit. Only what the server acknowledged (the thank-you page, the
"We saved your answers" banner, the submitted confirmation) goes into `acknowledged`; what was
sent goes into `sent` first, so a save that committed but whose answer was lost is known too.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.system.servers import Agent
from tests.system.web import Browser, Page

THANKED = "Your answers have been sent"
SAVED = "We saved your answers to"
SUBMITTED = "Self-audit submitted"


@dataclass
class Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    responses_sent: set[str] = field(default_factory=set)  # identities whose check page was sent
    responses: dict[str, dict[str, str]] = field(default_factory=dict)  # acknowledged: identity -> answers
    saves_sent: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (email, question) -> texts
    saves: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # acknowledged, in order
    submitted: set[str] = field(default_factory=set)  # emails whose audit submission was acknowledged
    outcomes: Counter[str] = field(default_factory=Counter)  # what went wrong, in words

    def note(self, what: str) -> None:
        with self.lock:
            self.outcomes[what] += 1


def _unexpected(ledger: Ledger, what: str, page: Page) -> bool:
    ledger.note(f"{what}: {page.status}")
    return False


def respond(browser: Browser, slug: str, identity: str, rng: random.Random, ledger: Ledger) -> bool:
    """One respondent, start to thank-you; True when the thank-you page was seen."""
    page = browser.get(f"/s/{slug}")
    start = re.search(rf'href="(/s/{re.escape(slug)}/q/[^"]+)"', page.html)
    if page.status != 200 or start is None:
        return _unexpected(ledger, "start page", page)
    page = browser.get(start.group(1))
    answers: dict[str, str] = {}
    while "/q/" in page.path:
        if page.status != 200:
            return _unexpected(ledger, "survey page", page)
        form = page.form(page.path)
        for name, values in form.radios.items():
            answers[name] = rng.choice(values)
            form.set(name, answers[name])
        for name in form.textareas:
            answers[name] = identity
            form.set(name, identity)
        page = browser.post(page.path, form.data())
    if page.status != 200 or not page.path.endswith("/check"):
        return _unexpected(ledger, "check page", page)
    form = page.form(page.path)
    with ledger.lock:
        ledger.responses_sent.add(identity)
    page = browser.post(page.path, form.data())
    if page.status != 200 or THANKED not in page.html:
        return _unexpected(ledger, "send", page)
    with ledger.lock:
        ledger.responses[identity] = answers
    return True


def respondents(
    base: str, slug: str, tally: object, ledger: Ledger, until: float, retries: int, seed: int
) -> Callable[[], None]:
    """A thread's work: one new device after another until `until` (a time.monotonic())."""

    def run() -> None:
        rng = random.Random(seed)
        n = 0
        while time.monotonic() < until:
            n += 1
            browser = Browser(base, tally, retries=retries)  # type: ignore[arg-type]
            try:
                respond(browser, slug, f"respondent-{seed}-{n}-{rng.randrange(10**9)}", rng, ledger)
            except OSError as error:  # died more often than it may be retried
                ledger.note(f"respondent gave up: {type(error).__name__}")

    return run


def sign_in(browser: Browser, email: str, password: str) -> Page:
    page = browser.get("/sign-in")
    form = page.form("/sign-in")
    form.set("email", email)
    form.set("password", password)
    return browser.post("/sign-in", form.data())


def save_standard(browser: Browser, agent: Agent, section_id: str, text: str, ledger: Ledger) -> bool:
    """Open a standard, change its first narrative to `text`, mark it completed and save."""
    path = f"/audit/{agent.audit_id}/{section_id}"
    page = browser.get(path)
    if page.status != 200:
        return _unexpected(ledger, "standard page", page)
    form = page.form(path)
    question = f"{section_id}.1-narrative"
    assert question in form.textareas, f"{question} is not on {path}"
    form.set(question, text)
    form.set("section-completed", "yes")
    with ledger.lock:
        ledger.saves_sent.setdefault((agent.email, question), []).append(text)
    page = browser.post(path, form.data(("save", "continue")))
    if page.status != 200 or SAVED not in page.html:
        return _unexpected(ledger, "save", page)
    with ledger.lock:
        ledger.saves.setdefault((agent.email, question), []).append(text)
    return True


def submit_audit(browser: Browser, agent: Agent, ledger: Ledger) -> bool:
    page = browser.get(f"/audit/{agent.audit_id}/check")
    if page.status != 200:
        return _unexpected(ledger, "check answers", page)
    action = f"/audit/{agent.audit_id}/submit"
    form = page.form(action)
    form.set("declaration", "confirmed")
    page = browser.post(action, form.data())
    if page.status != 200 or SUBMITTED not in page.html:
        return _unexpected(ledger, "submit", page)
    with ledger.lock:
        ledger.submitted.add(agent.email)
    return True


def agency_user(
    base: str, agent: Agent, password: str, tally: object, ledger: Ledger, until: float, retries: int, seed: int
) -> Callable[[], None]:
    """Sign in, save standards with new narratives; a submitter completes s10 and s11 after a few
    saves and submits, then only reads its confirmation."""

    def run() -> None:
        rng = random.Random(seed)
        browser = Browser(base, tally, retries=retries)  # type: ignore[arg-type]
        try:
            if sign_in(browser, agent.email, password).status != 200:
                ledger.note("sign in failed")
                return
            n = 0
            while time.monotonic() < until:
                n += 1
                if agent.email in ledger.submitted:
                    browser.get(f"/audit/{agent.audit_id}/confirmation")
                    time.sleep(0.2)
                    continue
                if agent.submits and n > 1:
                    done = all(
                        save_standard(browser, agent, s, f"{agent.email} final {s} {n}", ledger) for s in ("s10", "s11")
                    )
                    if done:
                        submit_audit(browser, agent, ledger)
                    continue
                section = f"s{rng.randint(1, 9)}"
                save_standard(
                    browser, agent, section, f"{agent.email} {section} save {n} {rng.randrange(10**9)}", ledger
                )
        except OSError as error:
            ledger.note(f"agency user gave up: {type(error).__name__}")

    return run

"""Anonymous surveys for practitioners, children and families: open a link, answer page by page,
check, send once.

Nobody signs in. The only thing that ties the pages together is the signed session cookie, which
holds, per link, the id of the draft response, the age band and (for single-use code links) the
code. The cookie is a browser-session cookie on purpose: on a shared family tablet the next
person to open the link must not find someone else's answers. Each page is saved to the draft
when it is continued, so a closed tab loses at most the page on screen; if the session itself is
lost between pages, the page posted is still saved (its band and code travel in hidden fields).
A single-use code comes in the link (/s/<slug>/<code>) or is typed on the link's first page.

What reaches the database is only the link, the age band, the answers and the Monday of the
week (store/surveys.py); nothing here reads the address, the user agent or the time into it.
Anonymous answers are not audited changes, so they are not in the audit trail (that would store
a time beside them).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, StringField

from forms import build_form_class
from forms.render import error_summary
from forms.summary import summary_rows
from questionnaires import Questionnaire, Section
from questionnaires.completeness import asked, asked_only_because, gaps
from store.answers import field_keys, section_keys
from store.audits import decoded
from store.concerns import AUDIENCES as CONCERN_AUDIENCES
from store.models import Response as SurveyResponse
from store.models import SurveyLink
from store.questionnaires import definition
from store.surveys import (
    SUBMISSION_KEY,
    DraftRead,
    Outcome,
    Refusal,
    Refused,
    change_band,
    discard_draft,
    find_draft,
    find_link,
    forget_answers,
    new_submission_key,
    open_link,
    read_draft,
    save_page,
    submit,
    usable_code,
)
from views.concerns import notify_lead
from views.question_html import blank_page, question_html

bp = Blueprint("surveys", __name__, url_prefix="/s")

ANSWERED_COOKIE = "answered"
ANSWERED_MAX_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie
MAX_SURVEYS_IN_SESSION = 5  # bounds the cookie; nobody answers more surveys than that at once
NOT_SENT = "Your answers were not sent. Check them and send them again."
NOT_SENT_EXPIRED = "This page was open too long, so your answers were not sent yet. Check them and send them again."
EXPIRED = "This page was open too long, so we could not save it. Your answers are still here: check them and continue."

CODE_PROBLEMS = {
    Refusal.UNKNOWN_CODE: "We could not find this code. Check it and try again",
    Refusal.NEEDS_CODE: "We could not find this code. Check it and try again",
    Refusal.USED_CODE: (
        "This code has already been used. If you have not answered yet, ask the person who gave you the code"
        " for a new one"
    ),
}
EXPIRED_CODE = "This page was open too long. Enter your code again"

REFUSALS: dict[Refusal, tuple[int, str, str]] = {
    Refusal.UNKNOWN_LINK: (
        404,
        "We could not find this survey",
        "Check the link you were given. If you typed it, check every letter and number.",
    ),
    Refusal.CLOSED: (
        410,
        "This survey has closed",
        "It is not taking answers any more. Thank you for wanting to take part.",
    ),
    Refusal.NOT_OPEN_YET: (404, "This survey is not open yet", "Try the link again from {opens}."),
    Refusal.NEEDS_CODE: (
        404,
        "We could not find this survey",
        "Check the link you were given. It should end with your own code.",
    ),
    Refusal.UNKNOWN_CODE: (
        404,
        "We could not find this code",
        "Check the link you were given. If you typed the code, check every letter and number.",
    ),
    Refusal.USED_CODE: (
        410,
        "This code has already been used",
        "Each code can only be used once. If you have already answered, thank you. "
        "If you have not, ask the person who gave you the code for a new one.",
    ),
    Refusal.ANSWERED_ON_DEVICE: (
        409,
        "You have already answered this survey on this device",
        "If you answered it, thank you: your answers have been sent. If you have not answered it yet, "
        "someone else has answered on this device. Ask the person who gave you the link for another "
        "way to take part.",
    ),
}


class BandForm(FlaskForm):
    band = StringField()


class CodeForm(FlaskForm):
    code = StringField()


class SendForm(FlaskForm):
    submission_key = HiddenField()


@dataclass
class Journey:
    """One respondent's way through one link: what every survey page needs to know."""

    link: SurveyLink
    questionnaire: Questionnaire
    state: dict[str, Any]
    band: str | None
    _sections: tuple[str | None, tuple[Section, ...]] | None = dataclasses.field(
        default=None, repr=False, compare=False
    )

    @property
    def slug(self) -> str:
        return self.link.slug

    @property
    def needs_band(self) -> bool:
        return bool(self.questionnaire.age_bands) and self.band is None

    @property
    def sections(self) -> tuple[Section, ...]:
        """The band's pages (worked out once per band: a page asks for them several times)."""
        kept = self._sections
        if kept is None or kept[0] != self.band:
            kept = self._sections = (self.band, self.questionnaire.sections_for(self.band))
        return kept[1]

    def draft(self) -> SurveyResponse | None:
        return find_draft(self.link, self.state.get("response"))

    def read(self) -> DraftRead:
        """The draft with its answers (one query)."""
        return read_draft(self.link, self.state.get("response"))

    def keep(self) -> None:
        _keep_state(self.slug, self.state)


def _today() -> dt.date:
    return dt.date.today()


# --- the session state, per link ---------------------------------------------------------------


def _state(slug: str) -> dict[str, Any]:
    kept = session.get("surveys")
    found = kept.get(slug) if isinstance(kept, dict) else None
    return dict(found) if isinstance(found, dict) else {}


def _keep_state(slug: str, state: dict[str, Any]) -> None:
    """Keep this link's state, as the newest of the session's links (the oldest goes first).

    When it is already kept as it is, and is the newest, the session is left untouched: an
    unmodified session is not signed and sent again (no Set-Cookie), most pages' case."""
    kept = session.get("surveys")
    if isinstance(kept, dict) and kept.get(slug) == state and next(reversed(kept), None) == slug:
        return
    kept = {k: v for k, v in kept.items() if k != slug} if isinstance(kept, dict) else {}
    kept[slug] = state
    while len(kept) > MAX_SURVEYS_IN_SESSION:
        kept.pop(next(iter(kept)))
    session["surveys"] = kept


def _answered_here(link: SurveyLink, state: dict[str, Any]) -> bool:
    """A device link already answered in this browser (the cookie), or in this session."""
    return link.mode == "device" and bool(request.cookies.get(ANSWERED_COOKIE) or state.get("done"))


def _valid_band(questionnaire: Questionnaire, band: Any) -> str | None:
    return band if isinstance(band, str) and questionnaire.age_band(band) is not None else None


def _journey(slug: str, found: SurveyLink | None = None) -> Journey:
    """Check the link, the device and the code for this request; raises Refused, never a 500.

    A page posted after the session was lost still carries its band and code in hidden fields,
    so what was typed on it is saved rather than thrown away. `found`: the link, if this request
    has read it already.
    """
    link = open_link(slug, _today(), found)
    state = _state(slug)
    if _answered_here(link, state):
        raise Refused(Refusal.ANSWERED_ON_DEVICE, link)
    posted = request.form if request.method == "POST" else {}
    if link.mode == "tokens":
        if state.get("done"):
            raise Refused(Refusal.USED_CODE, link)
        try:
            state["code"] = usable_code(link, state.get("code") or posted.get("code"))
        except Refused as refusal:
            discard_draft(link, state.get("response"))  # it can never be sent now
            _keep_state(slug, {"done": True} if refusal.reason is Refusal.USED_CODE else {})
            raise
    questionnaire = definition(link.round.questionnaire)
    band = _valid_band(questionnaire, state.get("band")) or _valid_band(questionnaire, posted.get("band"))
    if band is not None:
        state["band"] = band
    return Journey(link, questionnaire, state, band if questionnaire.age_bands else None)


@bp.errorhandler(Refused)
def refused(error: Refused) -> Any:
    if error.reason is Refusal.NEEDS_CODE and error.link is not None:
        return redirect(url_for(".start", slug=error.link.slug))  # where the code is asked for
    status, title, advice = REFUSALS[error.reason]
    questionnaire = definition(error.link.round.questionnaire) if error.link is not None else None
    if error.reason is Refusal.NOT_OPEN_YET and error.link is not None:
        opens = error.link.round.opens_on
        advice = advice.format(opens=f"{opens.day} {opens:%B %Y}")
    page = render_template(
        "surveys/refused.html",
        title=title,
        advice=advice,
        questionnaire=questionnaire,
        service_navigation_items=[],
    )
    return page, status


# --- where each page leads ---------------------------------------------------------------------


def _start_url(j: Journey) -> str:
    return url_for(".start", slug=j.slug, band=j.band if j.state.get("band_fixed") else None)


def _section_url(j: Journey, section: Section, change: bool = False) -> str:
    return url_for(".section", slug=j.slug, section_id=section.id, change=1 if change else None)


def _first_url(j: Journey) -> str:
    if j.needs_band:
        return url_for(".age", slug=j.slug)
    return _section_url(j, j.sections[0]) if j.sections else url_for(".check", slug=j.slug)


def _after(j: Journey, index: int) -> str:
    if request.args.get("change") or index + 1 >= len(j.sections):
        return url_for(".check", slug=j.slug)
    return _section_url(j, j.sections[index + 1])


def _before(j: Journey, index: int) -> str:
    if request.args.get("change"):
        return url_for(".check", slug=j.slug)
    if index > 0:
        return _section_url(j, j.sections[index - 1])
    if j.questionnaire.age_bands and not j.state.get("band_fixed"):
        return url_for(".age", slug=j.slug)
    return _start_url(j)


def _render(template: str, j: Journey, **context: Any) -> str:
    """Survey pages: no service navigation (a child has nothing to sign in to)."""
    return render_template(
        template,
        questionnaire=j.questionnaire,
        link=j.link,
        band=j.band,
        service_navigation_items=[],
        **context,
    )


# --- domain helpers the pages share ------------------------------------------------------------


def _forget(j: Journey, draft: SurveyResponse, answers: dict[str, Any], keys: Iterable[str]) -> None:
    """Take a cleared answer out of the draft, so it cannot come back, and with it the answers to
    the questions asked only because of it (a follow-up to a "Yes"): the person is no longer
    asked them, so they must not be sent."""
    keys = set(keys)
    for question in asked_only_because(j.questionnaire, answers, keys, j.band):
        keys.update(field_keys(question))
    forget_answers(j.link, draft.id, keys)


def _forget_not_asked(j: Journey, draft: SurveyResponse, answers: dict[str, Any]) -> None:
    """Before a send, take out of the draft any answer to a question the answers no longer ask
    (one asked only after an answer on another page that has since changed): the person confirmed
    the check page, which lists only what is asked, and what is sent is what they saw."""
    asked_keys = {key for q in asked(j.questionnaire, answers, j.band) for key in field_keys(q)}
    stale = [key for key in answers if key not in asked_keys]
    if stale:
        forget_answers(j.link, draft.id, stale)


def _band_keys(questionnaire: Questionnaire, band: str) -> set[str]:
    keys: set[str] = set()
    for section in questionnaire.sections_for(band):
        keys |= section_keys(section)
    return keys


def _choose_band(j: Journey, band: str, fixed: bool) -> bool:
    """Record the age band; a draft begun in another band keeps only what the new one asks.
    Returns whether the band changed (the new band's questions are still to be asked)."""
    changed = j.band is not None and j.band != band
    j.state["band"] = band
    j.state["band_fixed"] = fixed
    draft = j.draft()
    if draft is not None and draft.age_band != band:
        change_band(draft, band, _band_keys(j.questionnaire, band))
        changed = True
    j.band = band
    return changed


def _check_lists(j: Journey, answers: dict[str, Any]) -> list[dict[str, Any]]:
    """Summary lists per page, each answer with a Change link back to its page."""
    asked_ids = {q.id for q in asked(j.questionnaire, answers, j.band)}
    in_words = decoded(j.questionnaire, answers)  # a date as a date, so it reads "6 October 2026"
    lists = []
    for section in j.sections:
        rows = summary_rows(section, in_words, asked_ids)
        questions = [q for q in section.questions if q.id in asked_ids]
        for row, question in zip(rows, questions, strict=True):
            row["actions"] = {
                "items": [
                    {
                        "href": _section_url(j, section, change=True),
                        "text": "Change",
                        "visuallyHiddenText": question.text,
                    }
                ]
            }
        lists.append({"title": section.title, "rows": rows})
    return lists


def _thanked(link: SurveyLink) -> Response:
    """After the commit only: remember it in the session and, for a device link, on the device."""
    _keep_state(link.slug, {"done": True})
    response = redirect(url_for(".thank_you", slug=link.slug), code=303)
    if link.mode == "device":
        response.set_cookie(
            ANSWERED_COOKIE,
            "yes",
            max_age=ANSWERED_MAX_AGE,
            path=f"/s/{link.slug}",
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )
    return response


# --- the pages ---------------------------------------------------------------------------------


@bp.route("/<slug>", methods=["GET", "POST"])
def start(slug: str) -> Any:
    """The start page; for a single-use code link without a code yet, a page to enter it."""
    link = open_link(slug, _today())
    state = _state(slug)
    if _answered_here(link, state):
        raise Refused(Refusal.ANSWERED_ON_DEVICE, link)
    if link.mode == "tokens" and (request.method == "POST" or not _holds_usable_code(link, state)):
        return _ask_for_code(link, state)
    if request.method == "POST":
        return redirect(url_for(".start", slug=slug), code=303)
    return _start_page(link, state)


@bp.get("/<slug>/<code>")
def start_with_code(slug: str, code: str) -> str:
    """A single-use code link handed out with its code: a used or unknown code gets a kind page."""
    link = open_link(slug, _today())
    if link.mode != "tokens":
        raise Refused(Refusal.UNKNOWN_LINK, link)
    return _start_page(link, _with_code(link, _state(slug), usable_code(link, code)))


def _with_code(link: SurveyLink, state: dict[str, Any], code: str) -> dict[str, Any]:
    """The state for a journey with this code. Another code is another person (a class sharing a
    tablet): the previous person's unsent draft and age are not theirs to see, so they go."""
    if state.get("code") != code:
        discard_draft(link, state.get("response"))
        state = {}
    return {k: v for k, v in state.items() if k != "done"} | {"code": code}


def _holds_usable_code(link: SurveyLink, state: dict[str, Any]) -> bool:
    if state.get("done") or not state.get("code"):
        return False
    try:
        usable_code(link, state["code"])
    except Refused:
        return False
    return True


def _ask_for_code(link: SurveyLink, state: dict[str, Any]) -> Any:
    """Enter your code: for codes handed out on a card beside the link (a shared class tablet
    takes one child's code after another)."""
    form = CodeForm()
    problem = None
    typed = (form.code.data or "").strip()
    if request.method == "POST":
        if not form.validate():
            problem = EXPIRED_CODE
        elif not typed:
            problem = "Enter your code"
        else:
            try:
                code = usable_code(link, typed)
            except Refused as refusal:
                problem = CODE_PROBLEMS.get(refusal.reason, CODE_PROBLEMS[Refusal.UNKNOWN_CODE])
            else:
                _keep_state(link.slug, _with_code(link, state, code))
                return redirect(url_for(".start", slug=link.slug), code=303)
    questionnaire = definition(link.round.questionnaire)
    field = {
        "name": "code",
        "id": "code",
        "label": {"text": "Enter your code", "classes": "govuk-label--l", "isPageHeading": True},
        "hint": {"text": "It is on the card or letter you were given. Small or capital letters both work."},
        "value": typed,
        "classes": "govuk-input--width-20",
        "autocomplete": "off",
        "autocapitalize": "characters",
        "spellcheck": False,
        "errorMessage": {"text": problem} if problem else None,
    }
    summary = (
        {"titleText": "There is a problem", "errorList": [{"href": "#code", "text": problem}]} if problem else None
    )
    return render_template(
        "surveys/code.html",
        questionnaire=questionnaire,
        link=link,
        form=form,
        field=field,
        errors=summary,
        has_errors=bool(problem),
        service_navigation_items=[],
    )


def _start_page(link: SurveyLink, state: dict[str, Any]) -> str:
    """What the survey is, what happens to the answers, who to talk to; a band given by the link."""
    questionnaire = definition(link.round.questionnaire)
    j = Journey(link, questionnaire, state, _valid_band(questionnaire, state.get("band")))
    given = request.args.get("band")
    if given is not None and questionnaire.age_bands:
        if _valid_band(questionnaire, given) is None:
            raise Refused(Refusal.UNKNOWN_LINK, link)
        _choose_band(j, given, fixed=True)
    j.keep()
    return _render("surveys/start.html", j, next_url=_first_url(j), continuing=j.draft() is not None)


@bp.route("/<slug>/age", methods=["GET", "POST"])
def age(slug: str) -> Any:
    """How old are you? Skipped when the link gives the band."""
    j = _journey(slug)
    if not j.questionnaire.age_bands:
        abort(404)
    if j.state.get("band_fixed") and j.band is not None:
        return redirect(_first_url(j))
    form = BandForm(data={"band": j.band})
    problem = None
    if request.method == "POST":
        chosen = _valid_band(j.questionnaire, form.band.data)
        if form.validate() and chosen is not None:
            changed = _choose_band(j, chosen, fixed=False)
            j.keep()
            # back to the check page only when nothing changed: a new age has its own questions
            back_to_check = request.args.get("change") and not changed
            return redirect(url_for(".check", slug=slug) if back_to_check else _first_url(j), code=303)
        problem = EXPIRED if "csrf_token" in form.errors else "Select how old you are"
    j.keep()
    radios = {
        "name": "band",
        "fieldset": {
            "legend": {"text": "How old are you?", "classes": "govuk-fieldset__legend--l", "isPageHeading": True}
        },
        "hint": {"text": "If an adult is helping you, they can choose for you"},
        "items": [{"value": b.id, "text": b.label} for b in j.questionnaire.age_bands],
        "value": form.band.data,
        "errorMessage": {"text": problem} if problem else None,
    }
    summary = (
        {"titleText": "There is a problem", "errorList": [{"href": "#band", "text": problem}]} if problem else None
    )
    back = url_for(".check", slug=slug) if request.args.get("change") else _start_url(j)
    return _render(
        "surveys/age.html",
        j,
        form=form,
        radios=radios,
        errors=summary,
        back_url=back,
        has_errors=bool(problem),
        answered=j.band is not None and j.draft() is not None,
    )


@bp.route("/<slug>/q/<section_id>", methods=["GET", "POST"])
def section(slug: str, section_id: str) -> Any:
    """One page of questions: Continue validates it and saves it to the draft. "Clear my answer"
    (an optional choice: radios cannot be unselected) shows it again as typed with that question
    unanswered, and takes the answer out of the draft too, so it cannot come back."""
    j = _journey(slug)
    if j.needs_band:
        return redirect(url_for(".age", slug=slug))
    index = next((i for i, s in enumerate(j.sections) if s.id == section_id), None)
    if index is None:
        abort(404)
    page = j.sections[index]
    read = j.read()
    draft, answers = read.draft, read.answers
    page_ids = section_keys(page)
    if request.method == "GET" and not answers:  # nothing answered yet: the page everyone gets
        form, questions = blank_page(j.questionnaire, page, j.band)
        errors = None
    else:
        prior = {k: v for k, v in answers.items() if k not in page_ids}
        form_class = build_form_class(j.questionnaire, page, j.band, prior)
        if request.method == "POST":
            form = form_class(prior=prior)
            cleared = form.clear_answer(request.form)  # "Clear my answer": shown again, as typed, unanswered
            if cleared is not None:
                if form.csrf_valid() and draft is not None:
                    _forget(j, draft, answers, field_keys(cleared.question))  # or the draft brings it back
            elif form.validate():
                draft = save_page(j.link, draft, j.band, form.answers(), page_ids, _today())
                j.state["response"] = draft.id
                j.keep()
                return redirect(_after(j, index), code=303)
        else:
            form = form_class(answers=answers, prior=prior)
        questions, errors = question_html(form), error_summary(form)
    j.keep()
    shown = page.questions_for(j.band)
    return _render(
        "surveys/section.html",
        j,
        section=page,
        # a page of one question has that question as its heading (forms.render): so its title
        heading=shown[0].text if len(questions) == 1 and shown else page.title,
        form=form,
        questions=questions,
        errors=errors,
        back_url=_before(j, index),
        code=j.state.get("code"),
        change=bool(request.args.get("change")),
        has_errors=errors is not None,
    )


@bp.route("/<slug>/check", methods=["GET", "POST"])
def check(slug: str) -> Any:
    """Check your answers, then send them: committed once, acknowledged only after the commit."""
    link = read = None
    if request.method == "POST":
        link = find_link(slug)
        if link is not None:  # the draft, and whether the posted key was sent already: one query
            read = read_draft(link, _state(slug).get("response"), request.form.get("submission_key"))
            if read.sent:  # a double click, back and send again, or another tab: the same thank-you
                return _thanked(link)
    j = _journey(slug, link)
    if j.needs_band:
        return redirect(url_for(".age", slug=slug))
    if read is None or j.link is not link:
        read = j.read()
    draft, answers = read.draft, read.answers
    if draft is None:
        return redirect(_first_url(j))
    missing = gaps(j.questionnaire, answers, j.band)
    form = SendForm()
    problem = None
    if request.method == "POST" and not missing:
        key = form.submission_key.data or ""
        if form.validate() and SUBMISSION_KEY.match(key):
            _forget_not_asked(j, draft, answers)
            outcome = submit(j.link, draft.id, key, j.state.get("code"), _today())
            if outcome is Outcome.SUBMITTED and j.questionnaire.audience in CONCERN_AUDIENCES:
                notify_lead(draft.id)  # after the commit, in the background: the child does not wait
            if outcome in (Outcome.SUBMITTED, Outcome.ALREADY):
                return _thanked(j.link)
            if outcome is Outcome.USED_CODE:
                raise Refused(Refusal.USED_CODE, j.link)
            return redirect(_first_url(j))
        problem = NOT_SENT_EXPIRED if "csrf_token" in form.errors else NOT_SENT
    form.submission_key.data = new_submission_key()
    j.keep()
    errors = None
    if missing or problem:
        by_id = {s.id: s for s in j.sections}
        items = [{"href": "#send", "text": problem}] if problem else []
        items += [
            {"href": _section_url(j, by_id[g.section_id], change=True), "text": g.message}
            for g in missing
            if g.section_id in by_id
        ]
        errors = {"titleText": "There is a problem", "errorList": items}
    band = j.questionnaire.age_band(j.band) if j.band else None
    band_row = None
    if band is not None:
        band_row = {"key": {"text": "Your age"}, "value": {"text": band.label}}
        if not j.state.get("band_fixed"):
            band_row["actions"] = {
                "items": [
                    {"href": url_for(".age", slug=slug, change=1), "text": "Change", "visuallyHiddenText": "your age"}
                ]
            }
    return _render(
        "surveys/check.html",
        j,
        form=form,
        lists=_check_lists(j, answers),
        band_row=band_row,
        errors=errors,
        can_send=not missing,
        back_url=_section_url(j, j.sections[-1]) if j.sections else _start_url(j),
        has_errors=bool(errors),
    )


@bp.get("/<slug>/thank-you")
def thank_you(slug: str) -> Any:
    link = find_link(slug)
    if link is None:
        raise Refused(Refusal.UNKNOWN_LINK)
    if not _state(slug).get("done"):
        return redirect(url_for(".start", slug=slug))
    return render_template(
        "surveys/thank_you.html",
        questionnaire=definition(link.round.questionnaire),
        link=link,
        service_navigation_items=[],
    )

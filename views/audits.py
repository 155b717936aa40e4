"""The Section 11 self-audit journey for agency users.

A task list with one task per standard; a page per standard that saves, autosaves and spots a
colleague's newer save; check answers; submission with a declaration; action progress after it.
Every route loads the audit named in its URL and checks accounts.access before anything else: an
audit the person may not read is the same 404 as one that does not exist, for GET and POST.
The work is done in store.audits; these views read the request, call it and choose a page.
"""

from __future__ import annotations

import datetime as dt
from contextlib import suppress
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as HTTPResponse
from wtforms.validators import ValidationError

from accounts.access import can_edit_audit, can_read_audit, can_update_actions
from accounts.kept import take
from accounts.session import NOT_READ, current_user, load_user_with, read_user_again, role, signed_in
from forms import SectionForm, build_form_class
from forms.summary import summary_rows
from questionnaires.completeness import Gap, asked
from questionnaires.model import Question, Questionnaire, Section
from questionnaires.wording import long_date
from security import check_csrf
from store import audits as store
from store import scores
from store.admin import reopen_reason
from store.answers import answers_as_stored, load_answers, load_answers_as_stored
from store.models import Action, Answer, Audit, Draft, Response, SectionState, User
from views.known_audits import known_audits
from views.question_html import question_html
from views.score_display import item_rows, rating_tag, standard_rows

bp = Blueprint("audits", __name__, url_prefix="/audit")

COMPLETED = "section-completed"
COMPLETED_ERROR = "Select whether you’ve completed this section"
KEPT_MESSAGE = "We kept what you typed, but it is not saved yet. Check it and save."
CSRF_MESSAGE = "This page was open too long, so nothing was changed. Check your answers and try again."
CLOSED_MESSAGE = "This self-audit cannot be changed now, so what you sent was not saved."
LONDON = ZoneInfo("Europe/London")
_decode = Answer.value.python_value
STATUS_TAGS = {
    "not-started": {"tag": {"text": "Not yet started", "classes": "govuk-tag--blue"}},
    "in-progress": {"tag": {"text": "In progress", "classes": "govuk-tag--light-blue"}},
    "completed": {"text": "Completed"},
}
AUDIT_STATUS_NAMES = {
    "not-started": "Not started",
    "in-progress": "In progress",
    "submitted": "Submitted",
    "reopened": "Reopened for changes",
}


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that change something."""


# ---------------------------------------------------------------------------------------------
# Loading what a URL names, and words for times
# ---------------------------------------------------------------------------------------------


def audit_or_404(audit_id: int) -> Audit:
    """The audit, if the person may read it; otherwise the 404 of an audit that does not exist."""
    return readable_or_404(store.audit_by_id(audit_id))  # with its cycle and questionnaire version: one query


def readable_or_404(audit: Audit | None) -> Audit:
    """The audit read, if there is one and the person may read it; otherwise the 404 of an audit
    that does not exist."""
    if audit is None or not can_read_audit(current_user(), audit):
        abort(404)
    return audit


@dataclass
class StandardPage:
    """One standard of one audit: its definition, its state and the answers around it.

    The audit's answers are read as stored and decoded when asked for: a save needs only the
    few other answers its conditions look at, and a whole audit holds hundreds."""

    audit: Audit
    questionnaire: Questionnaire
    section: Section
    number: int
    state: SectionState
    response: Response  # the audit's answers (saving the page writes to it)

    read_answers: dict[str, str] | None = None  # the page's answers as the audit's query read them
    drafts_read: bool = False  # whether the audit's query read the person's draft of the page
    read_draft: Draft | None = None  # the draft it read, if any
    path_read: str | None = None  # the page's address, as signing in's read worked it out

    @classmethod
    def load(cls, audit_id: int, section_id: str) -> StandardPage:
        """The page, if the person may read the audit (otherwise the 404 of an audit that does not
        exist): the audit, the standard's state, the response and the page's answers in one
        query, made with the signed-in user's when signing in read them (_read_with_user)."""
        kept = g.pop("standard_page", None)
        read = kept is not None and kept[0] == (audit_id, section_id)
        found = kept[1] if read else store.audit_with_section(audit_id, section_id)
        audit = readable_or_404(found.audit if found is not None else None)
        questionnaire = store.questionnaire_of(audit)
        section = questionnaire.section(section_id)
        if section is None:
            abort(404)
        state = found.state if found.state is not None else store.section_state(audit, questionnaire, section.id)
        response = found.response if found.response is not None else store.response_of(audit)
        number = next(n for n, s in enumerate(questionnaire.sections, 1) if s.id == section.id)
        drafts_read = found.user is not None  # read with the signed-in user's (_read_with_user)
        path = kept[2] if read else None
        return cls(
            audit, questionnaire, section, number, state, response, found.as_stored, drafts_read, found.draft, path
        )

    @cached_property
    def as_stored(self) -> dict[str, str]:
        """The answers the page works with, as stored (JSON text): this standard's, and the other
        standards' its conditions name. Read with the audit, or after it, as save_section needs."""
        if self.read_answers is not None:
            return self.read_answers
        keys = store.page_keys(self.section)
        return answers_as_stored(self.response, keys.own | keys.named)

    @cached_property
    def stored(self) -> dict[str, Any]:
        """This section's stored answers."""
        return {k: _decode(v) for k, v in self.own_as_stored.items()}

    def stored_answer(self, question_id: str) -> Any:
        """One of this section's saved answers, decoded with the rest only when first asked for
        (a save asks only about a due date that has passed)."""
        return self.stored.get(question_id)

    @property
    def own_as_stored(self) -> dict[str, str]:
        own = store.page_keys(self.section).own
        return {k: v for k, v in self.as_stored.items() if k in own}

    @cached_property
    def prior(self) -> dict[str, Any]:
        """Every other section's stored answers (a read-only page shows them all)."""
        return {
            k: _decode(v)
            for k, v in store.split_answers(load_answers_as_stored(self.response), self.section)[1].items()
        }

    @cached_property
    def asked_prior(self) -> dict[str, Any]:
        """The other sections' answers that this page's conditions look at: all of `prior` its
        form reads (a condition reads only the answers it names)."""
        named = store.page_keys(self.section).named
        return {k: _decode(v) for k, v in sorted(self.as_stored.items()) if k in named}

    @cached_property
    def path(self) -> str:
        """The page's address, which its drafts are kept under: worked out once a request (under
        load, building an address cost a save about 60 us of the worker's CPU)."""
        if self.path_read is not None:
            return self.path_read
        return url_for("audits.standard", audit_id=self.audit.id, section_id=self.section.id)

    def draft(self, user: User) -> Draft | None:
        """The person's draft of the page: as the audit's query read it, or read now."""
        return self.read_draft if self.drafts_read else store.draft_of(user, self.path)

    def form(self, formdata: MultiDict | None = None, stored: bool = False) -> SectionForm:
        """The page's form: from the request (POST), from `formdata`, or from the stored answers."""
        prior = self.asked_prior
        form_class = build_form_class(self.questionnaire, self.section, prior=prior)
        if stored:
            return form_class(formdata=None, answers=self.stored, prior=prior)
        if formdata is not None:
            return form_class(formdata=formdata, prior=prior, stored_answer=self.stored_answer)
        return form_class(prior=prior, stored_answer=self.stored_answer)


def _read_with_user(user_id: int, audit_id: int, section_id: str) -> Any:
    """Signing in's read of the user, on a standard's page: with the page's own query (kept in g
    for StandardPage.load); read as usual when there is no such audit.

    A post whose user and audit this process knows (views.known_audits) is not read at all: the
    user as last read goes on to `standard`, which saves without reading (_save_unread) or, when
    that saves nothing, reads everything again (g.read_page)."""
    path = url_for("audits.standard", audit_id=audit_id, section_id=section_id)
    known = known_audits()
    if request.method == "POST" and not g.get("read_page"):
        found_before = known.for_save(user_id, audit_id)
        if found_before is not None:
            g.unread_save = (found_before[1], path)
            return found_before[0]
    found = store.audit_with_section(audit_id, section_id, user_id, path)
    if found is None:
        return NOT_READ
    g.standard_page = ((audit_id, section_id), found, path)
    known.remember(found)
    return found.user


load_user_with("audits.standard", _read_with_user)


def moment(value: dt.datetime | None) -> str:
    """A stored UTC time in words, in UK time: `3 March 2025 at 10:42am`."""
    if value is None:
        return ""
    local = value.replace(tzinfo=dt.UTC).astimezone(LONDON)
    hour = local.hour % 12 or 12
    return f"{local.day} {local:%B} {local.year} at {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=dt.UTC).astimezone(LONDON).date()
    return long_date(value)


@bp.context_processor
def words_for_times() -> dict[str, Any]:
    return {"moment": moment, "day": day, "audit_status_names": AUDIT_STATUS_NAMES}


def _number(text: str | None, default: int | None = None) -> int | None:
    """A whole number as posted, or `default` for anything else: what is not a number, and what a
    database's integer column cannot hold (a revision of 10**30 is made up, and must not reach the SQL)."""
    try:
        number = int(text) if text is not None else default
    except ValueError:
        return default
    return number if number is None or -(2**31) <= number < 2**31 else default


def _name(user: User | None) -> str:
    return user.name if user is not None else "Someone who no longer has an account"


# ---------------------------------------------------------------------------------------------
# The task list
# ---------------------------------------------------------------------------------------------


@bp.get("/")
@role("agency")
def index() -> str:
    user = current_user()
    if user.agency_id is None:
        return render_template("audits/no_agency.html")
    cycle = store.open_cycle()
    audit = store.audit_for(user.agency_id, cycle, user) if cycle is not None else None
    context: dict[str, Any] = {"audit": audit, "cycle": cycle, "agency": user.agency}
    if audit is not None:
        questionnaire = store.questionnaire_of(audit)
        states = store.section_states(audit, questionnaire)
        editable = can_edit_audit(user, audit)
        context.update(
            tasks=_tasks(audit, questionnaire, states),
            completed=store.completed_count(states),
            total=len(states),
            carry_from=store.can_carry_forward(audit) if editable else None,
            confirm=ConfirmForm(),
            has_actions=Action.select().where(Action.audit == audit).exists(),
            saved=_saved_message(user, audit, questionnaire, states),
            reopen_reason=reopen_reason(audit),
        )
    context["earlier"] = store.earlier_audits(user.agency_id, audit)
    return render_template("audits/index.html", **context)


def _saved_message(
    user: User, audit: Audit, questionnaire: Questionnaire, states: dict[str, SectionState]
) -> str | None:
    """What a save tells the person on the task list it sends them to (?saved=<standard>&revision=<n>).

    Carried in the address, not flashed into the session: a save then leaves the session cookie
    alone (accounts.session.seen_every). It is believed only while the standard is at that
    revision and this person saved it, so a link someone made up, or an old bookmark, says nothing
    that is not so. A draft kept at that revision means some answers were kept as typed."""
    section_id = request.args.get("saved", "")
    state = states.get(section_id)
    if state is None or state.revision != _number(request.args.get("revision")) or state.updated_by_id != user.id:
        return None
    title = questionnaire.section(section_id).title
    draft = store.draft_of(user, url_for(".standard", audit_id=audit.id, section_id=section_id))
    if draft is not None and draft.base_revision == state.revision:
        return f"We saved your answers to ‘{title}’. Some need checking: we kept them as you typed them for when you come back."
    return f"We saved your answers to ‘{title}’."


def _tasks(audit: Audit, questionnaire: Questionnaire, states: dict[str, SectionState]) -> list[dict[str, Any]]:
    return [
        {
            "title": {"text": section.title},
            "href": url_for(".standard", audit_id=audit.id, section_id=section.id),
            "status": STATUS_TAGS.get(states[section.id].status, STATUS_TAGS["not-started"]),
        }
        for section in questionnaire.sections
    ]


@bp.route("/<int:audit_id>/carry-forward", methods=["GET", "POST"])
@signed_in
def carry_forward(audit_id: int) -> HTTPResponse:
    """Start from the last submitted audit's answers (GET: after signing in again, go back)."""
    audit = audit_or_404(audit_id)
    if request.method == "GET":
        take(request.path)
        return redirect(url_for(".index"))
    user = current_user()
    if not can_edit_audit(user, audit) or not ConfirmForm().validate():
        flash(CLOSED_MESSAGE if not can_edit_audit(user, audit) else CSRF_MESSAGE, "important")
        return redirect(url_for(".index"))
    try:
        copied = store.carry_forward(audit, user)
    except store.NotEditable:
        flash("Your answers were not copied: someone has already started this self-audit.", "important")
        return redirect(url_for(".index"))
    flash(
        f"We copied {copied} answers from your last self-audit. Check every section and mark it as completed.",
        "success",
    )
    return redirect(url_for(".index"))


# ---------------------------------------------------------------------------------------------
# A standard's page
# ---------------------------------------------------------------------------------------------


@bp.route("/<int:audit_id>/<section_id>", methods=["GET", "POST"])
@signed_in
def standard(audit_id: int, section_id: str) -> Any:
    unread = g.pop("unread_save", None)
    if unread is not None:  # a post whose audit and user this process knows (_read_with_user)
        saved = _save_unread(current_user(), section_id, *unread)
        if saved is not None:
            return saved
        g.read_page = True  # read everything, and do all as ever
        signed_out = read_user_again()
        if signed_out is not None:
            return signed_out
    page = StandardPage.load(audit_id, section_id)
    user = current_user()
    if not can_edit_audit(user, page.audit):
        return _refuse(page) if request.method == "POST" else _read_only(page)
    if request.method == "GET":
        return _show(page, user)
    return _save(page, user)


def _show(page: StandardPage, user: User) -> str:
    """The stored answers; or what was kept when the session expired; or a newer draft."""
    kept = take(request.path)
    draft = page.draft(user)
    if kept is not None:  # posted as the session ended: kept, and back after signing in again
        form = page.form(kept)
        banner = _not_saved_yet(form, "We kept what you typed, but it is not saved yet", KEPT_MESSAGE)
        return _render(page, form, _number(kept.get("revision"), -1), kept.get(COMPLETED), banner)
    if draft is not None and store.draft_is_newer(draft, page.state):
        typed = MultiDict([tuple(item) for item in draft.form])
        form = page.form(typed)
        form.show_added_row(typed)
        restored = f"We restored what you typed on {moment(draft.saved_at)}. It is not saved yet"
        banner = _not_saved_yet(form, restored, f"{restored}: select Save and continue to keep it.")
        revision = draft.base_revision if draft.base_revision is not None else -1
        return _render(page, form, revision, typed.get(COMPLETED), banner)
    completed = "yes" if page.state.status == "completed" else None
    return _render(page, page.form(stored=True), page.state.revision, completed, older_draft=draft)


def _not_saved_yet(form: SectionForm, opening: str, all_fine: str) -> str:
    """The banner over answers kept as typed, not saved (a draft restored; a post kept when the
    session ended): `all_fine`, or `opening` and that some need correcting. What could not be
    saved as typed (a date like 31 2 2024, or typing an autosave kept half done) is shown with
    its errors, in the GOV.UK pattern (SectionForm.check_kept), so the person knows it is not
    saved and what to correct before saving."""
    if form.check_kept():
        return all_fine
    return f"{opening}, and some answers need correcting before they can be saved: correct them, then save."


def _render(
    page: StandardPage,
    form: SectionForm,
    revision: int,
    completed: str | None,
    banner: str | None = None,
    completed_error: str | None = None,
    older_draft: Any = None,
) -> str:
    errors = [{"href": f"#{anchor}", "text": text} for anchor, text in form.error_list()]
    if completed_error:
        errors.append({"href": f"#{COMPLETED}", "text": completed_error})
    return render_template(
        "audits/standard.html",
        page=page,
        form=form,
        questions=question_html(form),
        errors=errors,
        revision=revision,
        completed=completed if completed in ("yes", "no") else None,
        completed_error=completed_error,
        banner=banner,
        older_draft=older_draft,
        has_errors=bool(errors),
        total=len(page.questionnaire.sections),
        from_check=_from_check(),
        reviewer=_reviewer_said(page),
    )


def _reviewer_said(page: StandardPage) -> dict[str, Any] | None:
    """The reviewer's moderated rating and challenge note on this standard, when the audit is
    reopened: they are why it came back, so the agency changes it with them in front of it, and
    reads them on the read-only page too while the cycle is closed (until it is opened again).
    Read only for a reopened audit, and only this audit's (the page has checked it may be read)."""
    if page.audit.status != "reopened":
        return None
    moderation = scores.moderations(page.audit).get(page.section.id)
    if moderation is None or not (moderation.rating or moderation.note):
        return None
    return {"rating": rating_tag(page.section, moderation.rating), "note": moderation.note}


def _save(page: StandardPage, user: User) -> Any:
    """Validate, save, go back to the task list; or show why not, keeping everything typed."""
    form = page.form()
    revision = _number(request.form.get("revision"), -1)
    completed = request.form.get(COMPLETED)
    if form.change_page(request.form):  # a row added or removed, an answer cleared: shown again, as typed, not saved
        _keep_as_shown(page, user, form)
        return _render(page, form, revision, completed)
    valid = form.validate()
    if form.csrf_expired:
        return _render(page, form, revision, completed)
    chosen = _what_to_save(page.section, form, valid)
    if chosen is None:  # shown again with its errors, and kept as typed
        _keep_as_shown(page, user, form)
        completed_error = None if completed in ("yes", "no") else COMPLETED_ERROR
        return _render(page, form, revision, completed, completed_error=completed_error)
    answers, scope, leftover, status = chosen
    try:
        saved = store.save_section(
            page.audit,
            page.section,
            answers,
            scope,
            revision,
            user,
            status,
            draft_path=page.path,
            no_draft=page.drafts_read and page.read_draft is None,
            leftover=store.typed_items(request.form) if leftover else None,
            response=page.response,
            state=page.state,
            stored=page.own_as_stored,
        )
    except store.Conflict as conflict:
        typed = store.typed_items(request.form)
        store.keep_draft(user, page.path, typed, revision)
        mine = store.merged(conflict.theirs, answers, scope)
        return _conflict(page, conflict.state, conflict.theirs, mine, typed, request.form.get("save") or "continue")
    except store.NotEditable:
        return _refuse(page)
    return _saved(page.audit.id, page.section.id, saved.revision)


def _saved(audit_id: int, section_id: str, revision: int) -> HTTPResponse:
    """Where a save goes: back to the task list, which says what was saved."""
    if _from_check():  # a Change link on the check page: back to it, as the pattern has it
        return redirect(url_for(".check", audit_id=audit_id))
    return redirect(url_for(".index", saved=section_id, revision=revision))


def _what_to_save(
    section: Section, form: SectionForm, valid: bool
) -> tuple[dict[str, Any], set[str], bool, str] | None:
    """(answers, keys they replace, anything left over, the section's status) a save of the
    posted form stores; None when it stores nothing but is shown again with its errors.

    "No, I'll come back to it later" says the section is not finished: it is saved as far as it
    goes, as "Save and come back later" saves it, without asking for every answer."""
    completed = request.form.get(COMPLETED)
    if request.form.get("save") == "later" or completed == "no":
        return (*_valid_now(section, form), "in-progress")
    if not valid or completed not in ("yes", "no"):
        return None
    return form.answers(), store.section_keys(section), False, "completed" if completed == "yes" else "in-progress"


class _PageNeeded(Exception):
    """A check of the posted form asked for an answer as stored (_save_unread reads nothing)."""


def _page_needed(question_id: str) -> Any:
    raise _PageNeeded(question_id)


def _save_unread(user: User, section_id: str, facts: store.AuditFacts, path: str) -> HTTPResponse | None:
    """Save a standard's page, posted as shown, without reading the audit, the page or the user
    first (store.save_unread checks all they would have told, as it writes). None whenever the
    post needs the page: a change to the page, errors to show, a token that expired, answers
    left over, a check that compares with an answer as stored, conditions that name another
    standard's answers; or when the statement saved nothing (someone else saved, the audit or
    the account changed). The caller then reads everything and does as it always did, which
    says why."""
    section = facts.questionnaire.section(section_id)
    if section is None or store.page_keys(section).named:
        return None
    form = build_form_class(facts.questionnaire, section, prior={})(prior={}, stored_answer=_page_needed)
    if form.change_page(request.form):
        return None
    try:
        valid = form.validate()
    except _PageNeeded:
        return None
    chosen = None if form.csrf_expired else _what_to_save(section, form, valid)
    if chosen is None or chosen[2]:
        return None
    answers, scope, _, status = chosen
    revision = _number(request.form.get("revision"), -1)
    saved = store.save_unread(facts, section, answers, scope, revision, user, status, path)
    return None if saved is None else _saved(facts.audit_id, section_id, saved)


def _keep_as_shown(page: StandardPage, user: User, form: SectionForm) -> None:
    """Keep the page a post shows again unsaved (a row's Add or Remove; a Save and continue
    that failed its checks) as the person's draft, as autosave would have.

    autosave.js drops what it has not yet sent when the form is sent, so what was typed in the
    last seconds before the button would otherwise be only on the page sent back: lost with the
    tab, or the session. A save that goes through later drops the draft (store.save_section).
    The audit can be changed (`standard` sent anything else to `_refuse`); a post without this
    session's token is not the person's, and keeps nothing. A form too big for a draft is still
    shown, as typed."""
    if not _csrf_ok():
        return
    items = form.as_shown(store.typed_items(request.form))
    with suppress(ValueError):
        store.keep_draft(user, page.path, items, _number(request.form.get("revision")))


def _from_check() -> bool:
    """Whether the page was opened from the check page's Change links (kept through its posts)."""
    return request.args.get("from") == "check" or request.form.get("return_to") == "check"


def _valid_now(section: Section, form: SectionForm) -> tuple[dict[str, Any], set[str], bool]:
    """What "Save and come back later" stores: (answers, keys they replace, anything left over).

    A blank answer replaces the stored one, even when the question must be answered before
    submitting; an answer typed wrongly (a date like 31 2 2024) leaves the stored one alone and is
    kept in the draft instead, so nothing typed is lost.
    """
    scope = store.section_keys(section)
    leftover = False
    for field in form.answer_fields():
        if field.cannot_save:
            scope -= set(store.field_keys(field.question))
            leftover = True
    return form.answers(), scope, leftover


def _read_only(page: StandardPage, message: str | None = None, status: int = 200) -> tuple[str, int]:
    answers = store.decoded(page.questionnaire, {**page.prior, **page.stored})
    asked_ids = {q.id for q in asked(page.questionnaire, {**page.prior, **page.stored})}
    return (
        render_template(
            "audits/standard_read_only.html",
            page=page,
            rows=summary_rows(page.section, answers, asked_ids),
            message=message,
            total=len(page.questionnaire.sections),
            back=_read_only_back(page.audit),
            reviewer=_reviewer_said(page),
        ),
        status,
    )


def _read_only_back(audit: Audit) -> dict[str, str]:
    """Where a read-only standard's back link goes: where the person came from, in the app's own
    terms. The check page, when they came from its Change links (`_from_check`); the task list,
    when the audit is their agency's in the open cycle (the one it shows); otherwise the audit's
    answers, the only page of it a reviewer, an analyst or an earlier audit has. Never the
    Referer: a link on this page must not go wherever another site sent the person from."""
    if not _from_check() and current_user().role == "agency":
        cycle = store.open_cycle()
        if cycle is not None and audit.cycle_id == cycle.id:
            return {"href": url_for(".index"), "text": "Back to your self-audit"}
    return {"href": url_for(".check", audit_id=audit.id), "text": "Back to all answers"}


def _refuse(page: StandardPage) -> tuple[str, int]:
    """A change to an audit that cannot be changed: nothing is saved, but what was typed is kept
    as the person's draft, so it comes back if a reviewer reopens the audit. Only a post with
    this session's token is the person's: another site's (or a page open too long) keeps
    nothing, and the page says only that nothing was saved. A form too big for a draft is not
    kept either."""
    user = current_user()
    kept = False
    if user is not None and user.role == "agency" and _csrf_ok():
        with suppress(ValueError):
            store.keep_draft(user, page.path, store.typed_items(request.form), _number(request.form.get("revision")))
            kept = True
    audit = Audit.get_by_id(page.audit.id)
    if audit.status == "submitted":
        message = f"This self-audit was submitted on {moment(audit.submitted_at)}, so your changes were not saved." + (
            " We kept them: if a reviewer reopens the self-audit, you will see them again on this page." if kept else ""
        )
    else:
        message = CLOSED_MESSAGE
    return _read_only(page, message, 409)


# ---------------------------------------------------------------------------------------------
# Edit conflicts
# ---------------------------------------------------------------------------------------------


def _conflict(
    page: StandardPage,
    state: SectionState,
    theirs: dict[str, Any],
    mine: dict[str, Any],
    typed: list[list[str]],
    save: str,
    status: int = 409,
) -> tuple[str, int]:
    """Their saved answers next to the person's, for the questions that differ; nothing was saved."""
    questions = store.differing(page.section, theirs, mine)
    their_words = store.decoded(page.questionnaire, theirs)
    my_words = store.decoded(page.questionnaire, mine)
    ids = {q.id for q in questions}
    return (
        render_template(
            "audits/conflict.html",
            page=page,
            who=_name(state.updated_by),
            when=moment(state.updated_at),
            theirs=rows_in_context(page.section, their_words, ids),
            mine=rows_in_context(page.section, my_words, ids),
            hidden=[(k, v) for k, v in typed if k not in ("revision",)],
            revision=state.revision,
            save=save if save in ("continue", "later") else "continue",
            confirm=ConfirmForm(),
        ),
        status,
    )


@bp.get("/<int:audit_id>/<section_id>/compare")
@signed_in
def compare(audit_id: int, section_id: str) -> Any:
    """An older draft (a colleague saved after it) next to what is saved now."""
    page = StandardPage.load(audit_id, section_id)
    user = current_user()
    draft = page.draft(user)
    if draft is None or not can_edit_audit(user, page.audit):
        return redirect(page.path)
    typed = MultiDict([tuple(item) for item in draft.form])
    form = page.form(typed)
    form.validate()
    answers, scope, _ = _valid_now(page.section, form)
    mine = store.merged(page.stored, answers, scope)
    if not store.differing(page.section, page.stored, mine):
        store.drop_draft(user, page.path)
        flash("Your unsaved changes were the same as the saved answers.", "success")
        return redirect(page.path)
    # posted again by "Use my answers": what was typed, not a note that a row was added (as_shown)
    hidden = store.typed_items(typed)
    return _conflict(page, page.state, page.stored, mine, hidden, typed.get("save") or "continue", 200)


@bp.route("/<int:audit_id>/<section_id>/discard", methods=["GET", "POST"])
@signed_in
def discard(audit_id: int, section_id: str) -> HTTPResponse:
    """Keep the colleague's answers: forget the person's own unsaved draft of the page."""
    page = StandardPage.load(audit_id, section_id)
    if request.method == "GET":
        take(request.path)
        return redirect(page.path)
    if not ConfirmForm().validate():
        flash(CSRF_MESSAGE, "important")
        return redirect(page.path)
    store.drop_draft(current_user(), page.path)
    flash("Your changes were discarded. These are the saved answers.", "success")
    return redirect(page.path)


# ---------------------------------------------------------------------------------------------
# Autosave
# ---------------------------------------------------------------------------------------------


@bp.post("/<int:audit_id>/<section_id>/draft")
def draft(audit_id: int, section_id: str) -> Any:
    """Keep what is typed on a page (static/autosave.js sends it); answers 401 when signed out.

    Not guarded by `signed_in`: that would keep this background post for after signing in, in
    place of the form the person actually sends next. The page itself still holds the typing.
    """
    user = current_user()
    if user is None:
        return jsonify(kept=False, reason="signed-out"), 401
    audit = audit_or_404(audit_id)
    if store.questionnaire_of(audit).section(section_id) is None:
        abort(404)
    if not can_edit_audit(user, audit):
        return jsonify(kept=False, reason="closed"), 409
    if not _csrf_ok():
        return jsonify(kept=False, reason="expired"), 400
    path = url_for(".standard", audit_id=audit.id, section_id=section_id)
    try:
        kept = store.keep_draft(user, path, store.typed_items(request.form), _number(request.form.get("revision")))
    except ValueError:
        return jsonify(kept=False, reason="too-large"), 413
    return jsonify(kept=True, at=kept.saved_at.replace(tzinfo=dt.UTC).isoformat())


def _csrf_ok() -> bool:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    try:
        check_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Check answers and submit
# ---------------------------------------------------------------------------------------------


@bp.get("/<int:audit_id>/check")
@signed_in
def check(audit_id: int) -> Any:
    audit = audit_or_404(audit_id)
    kept = take(url_for(".submit", audit_id=audit.id))
    return _check_page(audit, declared=bool(kept and kept.get("declaration")), banner=KEPT_MESSAGE if kept else None)


def _check_page(
    audit: Audit,
    declared: bool = False,
    banner: str | None = None,
    refused: list[dict[str, str]] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    user = current_user()
    questionnaire = store.questionnaire_of(audit)
    stored = load_answers(store.response_of(audit))
    states = store.section_states(audit, questionnaire)
    editable = can_edit_audit(user, audit)
    problems = store.blockers(questionnaire, stored, states) if editable else []
    return (
        render_template(
            "audits/check.html",
            audit=audit,
            questionnaire=questionnaire,
            cards=_answer_cards(audit, questionnaire, stored, editable),
            editable=editable,
            problems=_problem_groups(audit, questionnaire, problems),
            problem_count=len(problems),
            declared=declared,
            banner=banner,
            refused=refused,
            confirm=ConfirmForm(),
            has_errors=bool(refused),
            can_update_actions=can_update_actions(user, audit) and audit.status != "not-started",
        ),
        status,
    )


def _answer_cards(
    audit: Audit, questionnaire: Questionnaire, stored: dict[str, Any], editable: bool
) -> list[dict[str, Any]]:
    """A summary card per standard; when the audit can be changed, a Change link per answer."""
    answers = store.decoded(questionnaire, stored)
    asked_ids = {q.id for q in asked(questionnaire, stored)}
    cards = []
    for number, section in enumerate(questionnaire.sections, start=1):
        href = url_for(".standard", audit_id=audit.id, section_id=section.id)
        rows = summary_rows(section, answers, asked_ids)
        if editable:
            shown = [q for q in section.questions if q.id in asked_ids]
            for row, question in zip(rows, shown, strict=True):
                row["actions"] = {
                    "items": [
                        {
                            "href": f"{href}?from=check#{anchor(question)}",
                            "text": "Change",
                            "visuallyHiddenText": _change_words(section, question),
                        }
                    ]
                }
        cards.append(
            {
                "card": {
                    "title": {"text": f"{number}. {section.title}"},
                    "actions": {
                        "items": [{"href": f"{href}?from=check", "text": "Change", "visuallyHiddenText": section.title}]
                    }
                    if editable
                    else {},
                },
                "rows": rows,
            }
        )
    return cards


def anchor(question: Question) -> str:
    """The id of a question's first input on its page (where a Change link should land)."""
    if question.type == "date":
        return f"{question.id}-day"
    if question.type == "evidence":
        return f"{question.id}__0__title"
    if question.type == "action":
        return f"{question.id}__what"
    return question.id


def _change_words(section: Section, question: Question) -> str:
    """What a Change link changes, for screen readers."""
    item = section.items_followed().get(question.id)
    return f"{question.text} (for ‘{item.text}’)" if item is not None else question.text


def rows_in_context(section: Section, answers: dict[str, Any], ids: set[str]) -> list[dict[str, Any]]:
    """Summary rows for some of a section's questions, each follow-up naming its item."""
    rows = summary_rows(section, answers, ids)
    followed = section.items_followed()
    shown = [q for q in section.questions if q.id in ids]
    for row, question in zip(rows, shown, strict=True):
        item = followed.get(question.id)
        if item is not None:
            row["key"] = {
                "html": escape(question.text)
                + Markup('<span class="govuk-caption-s app-item-context">For ‘')
                + escape(item.text)
                + Markup("’</span>")
            }
    return rows


def _problem_link(audit: Audit, questionnaire: Questionnaire, problem: Gap) -> dict[str, str]:
    href = url_for(".standard", audit_id=audit.id, section_id=problem.section_id)
    question = questionnaire.question(problem.question_id) if problem.question_id else None
    section = questionnaire.section(problem.section_id)
    title = section.title if section is not None else problem.section_id
    return {
        "href": f"{href}#{anchor(question)}" if question is not None else href,
        "text": f"{title}: {problem.message}" if question is not None else problem.message,
    }


def _problem_groups(audit: Audit, questionnaire: Questionnaire, problems: list[Gap]) -> list[dict[str, Any]]:
    """What stops submission, standard by standard, each linking to where to fix it."""
    groups: dict[str, dict[str, Any]] = {}
    for problem in problems:
        section = questionnaire.section(problem.section_id)
        if section is None:
            continue
        href = url_for(".standard", audit_id=audit.id, section_id=section.id)
        group = groups.setdefault(section.id, {"title": section.title, "href": href, "items": []})
        question = questionnaire.question(problem.question_id) if problem.question_id else None
        group["items"].append(
            {"href": f"{href}#{anchor(question)}" if question is not None else href, "text": problem.message}
        )
    return list(groups.values())


@bp.route("/<int:audit_id>/submit", methods=["GET", "POST"])
@signed_in
def submit(audit_id: int) -> Any:
    """Submit with the declaration; refused, with the list of what to fix, while rules fail."""
    audit = audit_or_404(audit_id)
    if request.method == "GET":  # back here after signing in again: the check page shows what was kept
        return redirect(url_for(".check", audit_id=audit.id))
    if audit.status == "submitted":  # a double click, or back and submit again
        return redirect(url_for(".confirmation", audit_id=audit.id))
    user = current_user()
    if not can_edit_audit(user, audit):
        return _check_page(audit, refused=[{"href": "#main-content", "text": CLOSED_MESSAGE}], status=409)
    declared = request.form.get("declaration") == "confirmed"
    if not ConfirmForm().validate():
        return _check_page(audit, declared, refused=[{"href": "#main-content", "text": CSRF_MESSAGE}])
    if not declared:
        problem = {"href": "#declaration", "text": "Select the box to confirm the declaration"}
        return _check_page(audit, refused=[problem])
    questionnaire = store.questionnaire_of(audit)
    try:
        store.submit(audit, user, questionnaire.declaration or "")
    except store.Blocked as blocked:
        return _check_page(audit, True, refused=[_problem_link(audit, questionnaire, p) for p in blocked.problems])
    except store.NotEditable:
        return _check_page(audit, refused=[{"href": "#main-content", "text": CLOSED_MESSAGE}], status=409)
    return redirect(url_for(".confirmation", audit_id=audit.id))


@bp.get("/<int:audit_id>/confirmation")
@signed_in
def confirmation(audit_id: int) -> Any:
    """Shown only once the submission is committed: it reads the stored status."""
    audit = audit_or_404(audit_id)
    if audit.status != "submitted":
        return redirect(url_for(".check", audit_id=audit.id))
    return render_template(
        "audits/confirmation.html",
        audit=audit,
        submitted_by=_name(audit.submitted_by),
        actions=len(store.actions_of(audit)),
    )


@bp.get("/<int:audit_id>/result")
@signed_in
def result(audit_id: int) -> Any:
    """The scored result of a submitted audit: each standard's rating, why, and any moderation."""
    audit = audit_or_404(audit_id)
    if audit.status not in scores.SCORED_STATUSES:
        return redirect(url_for(".check", audit_id=audit.id))
    if not store.response_of(audit).scored:  # scoring failed at submission: catch it up now
        scores.score_pending()
    questionnaire = store.questionnaire_of(audit)
    rows = standard_rows(questionnaire, scores.standard_scores(audit), scores.moderations(audit))
    items = scores.item_scores(audit)
    return render_template(
        "audits/result.html",
        audit=audit,
        rows=rows,
        items_by_section={r["section"].id: item_rows(r["section"], items) for r in rows},
        reopen_reason=reopen_reason(audit),
    )


# ---------------------------------------------------------------------------------------------
# Action progress
# ---------------------------------------------------------------------------------------------


@bp.route("/<int:audit_id>/actions", methods=["GET", "POST"])
@signed_in
def actions(audit_id: int) -> Any:
    audit = audit_or_404(audit_id)
    user = current_user()
    editable = can_update_actions(user, audit)
    rows = store.actions_of(audit)
    if request.method == "GET":
        kept = take(request.path)
        return _actions_page(audit, rows, editable, kept or MultiDict(), banner=KEPT_MESSAGE if kept else None)
    if not editable:
        return _actions_page(audit, rows, False, MultiDict(), refused=CLOSED_MESSAGE, status=409)
    if not ConfirmForm().validate():
        return _actions_page(audit, rows, True, request.form, refused=CSRF_MESSAGE)
    updates, problems = read_progress(rows, request.form)
    if problems:
        return _actions_page(audit, rows, True, request.form, problems=problems)
    try:
        changed = store.update_progress(audit, updates, user)
    except store.StaleProgress as stale:
        fresh = {a.id: a for a in store.actions_of(audit)}
        problems = {
            a.id: (
                "progress",
                f"Someone updated ‘{a.what}’ to {fresh[a.id].progress}% since you opened this page. "
                "Check it and save again.",
            )
            for a in stale.actions
            if a.id in fresh
        }
        return _actions_page(audit, list(fresh.values()), True, request.form, problems=problems, fresh=True)
    if changed:
        flash("Your progress was saved.", "success")
    else:  # not a success to celebrate: an important banner says so
        flash("Nothing had changed, so there was nothing to save.", "info")
    return redirect(url_for(".actions", audit_id=audit.id))


MAX_NOTE = 2000


def read_progress(rows: list[Action], form: MultiDict) -> tuple[list[store.ProgressUpdate], dict[int, tuple[str, str]]]:
    """Progress typed for each action: a whole number from 0 to 100, and a short note. Problems
    are (the field, "progress" or "note", and its message naming the action) by action id."""
    updates, problems = [], {}
    for action in rows:
        typed = (form.get(f"progress-{action.id}") or "").strip().removesuffix("%").strip()
        # no NUL: PostgreSQL's text columns refuse it (browsers never send one, scripts can)
        note = (form.get(f"note-{action.id}") or "").replace("\r\n", "\n").replace("\x00", "").strip() or None
        progress = _number(typed)
        if progress is None or not 0 <= progress <= 100:
            problems[action.id] = ("progress", f"Enter progress as a whole number from 0 to 100 for ‘{action.what}’")
        elif note is not None and len(note) > MAX_NOTE:
            problems[action.id] = ("note", f"The note on ‘{action.what}’ must be {MAX_NOTE:,} characters or fewer")
        else:
            seen = form.get(f"seen-{action.id}") or ""
            updates.append(store.ProgressUpdate(action.id, progress, note, seen))
    return updates, problems


def _actions_page(
    audit: Audit,
    rows: list[Action],
    editable: bool,
    typed: MultiDict,
    banner: str | None = None,
    refused: str | None = None,
    problems: dict[int, tuple[str, str]] | None = None,
    fresh: bool = False,
    status: int = 200,
) -> tuple[str, int]:
    """The actions with their progress; typed values win over stored ones so nothing is lost.

    `fresh`: the stored time of each action is the one to send back (after a colleague's update,
    saving again is a knowing choice)."""
    questionnaire = store.questionnaire_of(audit)
    subjects = _action_subjects(questionnaire)
    problems = problems or {}
    today = dt.date.today()
    items = []
    for action in rows:
        seen = store.progress_stamp(action) if fresh or not typed else typed.get(f"seen-{action.id}")
        items.append(
            {
                "action": action,
                "subject": subjects.get(action.question_id),
                "overdue": store.is_overdue(action, today),
                "progress": typed.get(f"progress-{action.id}", str(action.progress)),
                "note": typed.get(f"note-{action.id}", action.progress_note or ""),
                "seen": seen or store.progress_stamp(action),
                "error": problems.get(action.id),  # (field, message)
                # the same labels repeat for every action: a screen reader hears which one too
                "which": Markup(' <span class="govuk-visually-hidden">for ‘{}’</span>').format(action.what),
            }
        )
    errors = [{"href": f"#{field}-{i}", "text": message} for i, (field, message) in problems.items()]
    if refused:
        errors.insert(0, {"href": "#main-content", "text": refused})
    return (
        render_template(
            "audits/actions.html",
            audit=audit,
            items=items,
            editable=editable,
            banner=banner,
            errors=errors,
            confirm=ConfirmForm(),
            has_errors=bool(errors),
        ),
        status,
    )


def _action_subjects(questionnaire: Questionnaire) -> dict[str, str]:
    """Action question id -> the item it improves, in words (the action's own text repeats)."""
    out = {}
    for question in questionnaire.questions:
        if question.action:
            out[question.action] = question.text
    return out

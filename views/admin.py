"""Administration: agencies, users, audit cycles, survey rounds, anonymous links, questionnaires.

Only administrators: every route, GET and POST, goes through `only_administrators`; anyone else
signed in gets the 404 of a page that does not exist, and visitors are asked to sign in (a form
they had posted is kept). Each view checks the form, calls one function of store.admin (which
makes the change and its trail entry in one transaction), and redirects with a success banner.
Changes that need no typing (open, close, deactivate; reopen, whose reason is optional) ask for
confirmation on a page of their own, which also catches a form posted after the session or its
token had expired.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from peewee import IntegrityError, Model
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response
from wtforms import Field, PasswordField, StringField, TextAreaField
from wtforms.utils import unset_value
from wtforms.validators import DataRequired, Length, StopValidation, ValidationError

import request_limits
from accounts import access
from accounts.kept import take
from accounts.passwords import password_problem
from accounts.session import current_user, only_while_signed_in, role
from forms.dates import PARTS, date_part_names, parse_date, parts_of, read_parts
from questionnaires import DefinitionError, Problem
from questionnaires.wording import long_date
from store import admin as store
from store.models import (
    ROLE_NAMES,
    ROLES,
    SECTOR_NAMES,
    SECTORS,
    Agency,
    Audit,
    AuditCycle,
    QuestionnaireVersion,
    SurveyLink,
    SurveyRound,
    User,
)
from store.questionnaires import definition
from views.reopening import ReopenForm

bp = Blueprint("admin", __name__, url_prefix="/admin")

CSRF_MESSAGE = "This page was open for too long, so nothing was changed. Check what you entered and try again"
KEPT_MESSAGE = "We kept what you typed, but it is not saved yet. Check it and save."
SIGNED_OUT_MESSAGE = "You were signed out before this was done. Check it and select the button to do it now."
AUDIENCE_NAMES = {
    "agency": "Agency leads",
    "practitioner": "Practitioners",
    "child": "Children and young people",
    "family": "Parents and carers",
}
STATUS_NAMES = {
    "not-started": "Not started",
    "in-progress": "In progress",
    "submitted": "Submitted",
    "reopened": "Reopened",
}
MODE_NAMES = {"device": "One response per device", "tokens": "Single-use codes"}
CODES_KEY = only_while_signed_in("admin_codes")  # the seed stands for every code: gone with the session
CODES_SHOWN_FOR = 3600  # seconds a new set of codes stays viewable before the session forgets it
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


@bp.before_request
@role("admin")
def only_administrators() -> None:
    """Every route of this blueprint, present and future, is for administrators only."""


@bp.context_processor
def helpers() -> dict[str, Any]:
    return {
        "long_date": long_date,
        "when": when,
        "SECTOR_NAMES": SECTOR_NAMES,
        "ROLE_NAMES": ROLE_NAMES,
        "AUDIENCE_NAMES": AUDIENCE_NAMES,
        "STATUS_NAMES": STATUS_NAMES,
        "MODE_NAMES": MODE_NAMES,
    }


def when(moment: Any) -> str:
    """`3 March 2024 at 14:05` (UTC, as stored), or "Never"."""
    return f"{long_date(moment)} at {moment:%H:%M}" if moment else "Never"


# ---------------------------------------------------------------------------------------------
# Form pieces


def _strip(value: Any) -> Any:
    """Trimmed, and without NUL: browsers never send one, and PostgreSQL's text columns refuse it."""
    return value.replace("\x00", "").strip() if isinstance(value, str) else value


class ChoiceField(Field):
    """One answer from a list (radios or a select), offered as (value, label) pairs in `options`.

    Rendered by the GOV.UK macros rather than WTForms' widgets, so it needs none of
    SelectField's choice machinery; `one_of_the_choices` checks the answer.
    """

    def __init__(
        self, label: str | None = None, validators: Any = None, options: Iterable[tuple[str, str]] = (), **kwargs: Any
    ) -> None:
        super().__init__(label, validators, **kwargs)
        self.options = list(options)

    def process_data(self, value: Any) -> None:
        self.data = None if value is None else str(value)

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = str(valuelist[0]) if valuelist and valuelist[0] not in (None, "") else None

    def _value(self) -> str:
        return "" if self.data is None else self.data

    def offered(self) -> bool:
        return self.data is not None and self.data in {value for value, _ in self.options}


def one_of_the_choices(message: str) -> Callable[[FlaskForm, Field], None]:
    """A radio or select answer must be one that was offered; anything else reads as unanswered."""

    def check(form: FlaskForm, field: ChoiceField) -> None:
        if not field.offered():
            raise StopValidation(message)

    return check


class GovukDateField(Field):
    """A date typed in the GOV.UK date input: three boxes named `<name>-day`, `-month`, `-year`.

    `wrong` names the boxes in error, so only those are outlined in red.
    """

    def __init__(self, label: str, thing: str, required_message: str, **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self.thing = thing
        self.required_message = required_message
        self.parts = parts_of(None)
        self.wrong: tuple[str, ...] = ()

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        self.process_errors = []
        self.wrong = ()
        names = date_part_names(self.name).values()
        if formdata is not None and any(name in formdata for name in names):
            self.parts = read_parts(formdata, self.name)
            self.raw_data = [self.parts[part] for part in PARTS]
            self.data, error, self.wrong = parse_date(self.parts, self.thing)
            if error:
                self.process_errors.append(error)
        else:
            self.data = self.default if data is unset_value else data
            self.raw_data = None
            self.parts = parts_of(self.data)

    def pre_validate(self, form: FlaskForm) -> None:
        if self.process_errors:
            raise StopValidation()
        if self.data is None:
            self.wrong = PARTS
            raise StopValidation(self.required_message)


def anchor(field: Field) -> str:
    """The id an error summary link goes to: the field, or the first date box in error."""
    if isinstance(field, GovukDateField):
        return f"{field.id}-{(field.wrong or PARTS)[0]}"
    return field.id


def error_list(form: FlaskForm) -> list[dict[str, str]]:
    """The error summary's items, in the order of the fields on the page."""
    order = getattr(form, "page_order", ())
    fields = sorted(form, key=lambda f: order.index(f.name) if f.name in order else -1)
    items = []
    for field in fields:
        if not field.errors:
            continue
        if field.name == "csrf_token":
            items.append({"text": CSRF_MESSAGE})
        else:
            items.append({"href": f"#{anchor(field)}", "text": field.errors[0]})
    return items


def _make(form_class: type[FlaskForm], **kwargs: Any) -> tuple[FlaskForm, bool]:
    """The form for this request, rebuilt from what was typed before a sign-out if it was kept."""
    if request.method == "GET":
        kept = take(request.path)
        if kept is not None:
            return form_class(formdata=kept, **kwargs), True
    return form_class(**kwargs), False


def _get_or_404(model: type[Model], object_id: int) -> Any:
    found = model.get_or_none(model.id == object_id)
    if found is None:
        abort(404)
    return found


def _form_page(
    template: str, form: FlaskForm, kept: bool = False, *, kept_text: str = KEPT_MESSAGE, **context: Any
) -> str:
    """A form's page with its errors; `kept_text` is the banner over what a sign-out stopped."""
    errors = error_list(form)
    return render_template(
        template,
        form=form,
        errors=errors,
        has_errors=bool(errors),
        kept_message=kept_text if kept else None,
        **context,
    )


def _done(message: str, endpoint: str, **values: Any) -> Response:
    flash(message, "success")
    return redirect(url_for(endpoint, **values))


class ActionForm(FlaskForm):
    """A button with nothing typed: only the CSRF token is checked."""


def _confirm(
    *,
    title: str,
    button: str,
    back: str,
    run: Callable[[], str],
    caption: str = "",
    body: Iterable[str] = (),
    warning: str | None = None,
    refused: str | None = None,
    danger: bool = False,
) -> Any:
    """A confirmation page for a change with nothing to type; `run` makes it and says what it did.

    `refused` explains why the change cannot be made; the page then offers no button.
    """
    form, kept = ActionForm(), False
    if request.method == "GET":
        kept = take(request.path) is not None
    elif refused is None and form.validate_on_submit():
        flash(run(), "success")
        return redirect(back)
    return _form_page(
        "admin/confirm.html",
        form,
        kept,
        kept_text=SIGNED_OUT_MESSAGE,
        title=title,
        caption=caption,
        body=list(body),
        warning=warning,
        refused=refused,
        button=button,
        back=back,
        danger=danger,
    )


# ---------------------------------------------------------------------------------------------
# Home and history


@bp.get("/")
def index() -> str:
    return render_template("admin/index.html", counts=store.counts())


@bp.get("/history")
def history() -> str:
    return render_template("admin/history.html", events=store.admin_history())


# ---------------------------------------------------------------------------------------------
# Agencies


class AgencyForm(FlaskForm):
    name = StringField(
        "Name",
        filters=[_strip],
        validators=[
            DataRequired("Enter the agency's name"),
            Length(max=200, message="The agency's name must be 200 characters or fewer"),
        ],
    )
    sector = ChoiceField(
        "Sector",
        options=[(s, SECTOR_NAMES[s]) for s in SECTORS],
        validators=[one_of_the_choices("Select the agency's sector")],
    )

    def __init__(self, *args: Any, current: Agency | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current = current

    def validate_name(self, field: Field) -> None:
        existing = store.agency_named(field.data, other_than=self.current.id if self.current else None)
        if existing is not None:
            raise ValidationError(f"An agency called {existing.name} already exists")


@bp.get("/agencies/")
def agencies() -> str:
    return render_template("admin/agencies.html", agencies=store.agency_rows())


@bp.route("/agencies/new", methods=["GET", "POST"])
def new_agency() -> Any:
    form, kept = _make(AgencyForm)
    if form.validate_on_submit():
        try:
            agency = store.create_agency(form.name.data, form.sector.data, current_user())
        except IntegrityError:  # added by someone else since the check
            form.name.errors.append(f"An agency called {form.name.data} already exists")
        else:
            return _done(f"{agency.name} added", ".agencies")
    return _form_page("admin/agency_form.html", form, kept, agency=None)


@bp.route("/agencies/<int:agency_id>", methods=["GET", "POST"])
def edit_agency(agency_id: int) -> Any:
    agency = _get_or_404(Agency, agency_id)
    form, kept = _make(AgencyForm, obj=agency, current=agency)
    if form.validate_on_submit():
        try:
            changed = store.update_agency(agency, form.name.data, form.sector.data, current_user())
        except IntegrityError:
            form.name.errors.append(f"An agency called {form.name.data} already exists")
        else:
            return _done(f"{agency.name} saved" if changed else "Nothing was changed", ".agencies")
    return _form_page("admin/agency_form.html", form, kept, agency=agency)


# ---------------------------------------------------------------------------------------------
# Users


def _agency_choices() -> list[tuple[str, str]]:
    return [(str(a.id), a.name) for a in Agency.select(Agency.id, Agency.name).order_by(Agency.name)]


class UserDetailsForm(FlaskForm):
    name = StringField(
        "Full name",
        filters=[_strip],
        validators=[
            DataRequired("Enter the user's full name"),
            Length(max=200, message="The name must be 200 characters or fewer"),
        ],
    )
    role = ChoiceField(
        "Role",
        options=[(r, ROLE_NAMES[r]) for r in ROLES],
        validators=[one_of_the_choices("Select the user's role")],
    )
    agency = ChoiceField("Agency")

    def __init__(self, *args: Any, current: User | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current = current
        self.agency.options = _agency_choices()

    def validate_role(self, field: Field) -> None:
        me = current_user()
        if self.current is not None and me is not None and self.current.id == me.id and field.data != me.role:
            raise ValidationError("You cannot change your own role")

    def validate_agency(self, field: Field) -> None:
        """Needed for agency users only; for other roles the (hidden) choice is ignored."""
        if self.role.data == "agency" and not field.offered():
            raise ValidationError("Select the user's agency")

    def chosen_agency(self) -> Agency | None:
        if self.role.data != "agency":
            return None
        return Agency.get_or_none(Agency.id == int(self.agency.data))


def check_new_password(form: FlaskForm, field: Field) -> None:
    if not field.data:
        raise StopValidation("Enter a password")
    problem = password_problem(field.data)
    if problem:
        raise StopValidation(problem)


class NewUserForm(UserDetailsForm):
    page_order = ("email", "name", "role", "agency", "password")
    email = StringField("Email address", filters=[_strip])
    password = PasswordField("Password", validators=[check_new_password])

    def validate_email(self, field: Field) -> None:
        email = store.normalise_email(field.data or "")
        if not email:
            raise StopValidation("Enter an email address")
        if len(email) > 254 or not EMAIL.match(email):
            raise StopValidation("Enter an email address in the correct format, like name@example.com")
        if store.user_with_email(email) is not None:
            raise StopValidation("A user with this email address already exists")


class PasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[check_new_password])


@bp.get("/users/")
def users() -> str:
    return render_template("admin/users.html", users=store.user_rows())


@bp.route("/users/new", methods=["GET", "POST"])
def new_user() -> Any:
    form, kept = _make(NewUserForm)
    if form.validate_on_submit():
        try:
            user = store.create_user(
                form.email.data,
                form.name.data,
                form.role.data,
                form.chosen_agency(),
                form.password.data,
                current_user(),
            )
        except IntegrityError:
            form.email.errors.append("A user with this email address already exists")
        else:
            return _done(f"Account made for {user.name} ({user.email}). Tell them their password securely.", ".users")
    return _form_page("admin/user_new.html", form, kept)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int) -> Any:
    user = _get_or_404(User, user_id)
    form, kept = _make(UserDetailsForm, obj=user, current=user)
    if form.validate_on_submit():
        changed = store.update_user(user, form.name.data, form.role.data, form.chosen_agency(), current_user())
        return _done(f"{user.name} saved" if changed else "Nothing was changed", ".users")
    return _form_page("admin/user_edit.html", form, kept, user=user, agency=user.agency)


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
def user_password(user_id: int) -> Any:
    user = _get_or_404(User, user_id)
    form, kept = _make(PasswordForm)
    if form.validate_on_submit():
        store.set_password(user, form.password.data, current_user())
        return _done(f"New password set for {user.name}. Tell them it securely.", ".edit_user", user_id=user.id)
    return _form_page("admin/user_password.html", form, kept, user=user)


@bp.route("/users/<int:user_id>/<any(deactivate, reactivate):change>", methods=["GET", "POST"])
def user_active(user_id: int, change: str) -> Any:
    user = _get_or_404(User, user_id)
    active = change == "reactivate"
    refused = None
    if not active and user.id == current_user().id:
        refused = "You cannot deactivate your own account. Ask another administrator to do it."
    elif user.active == active:
        refused = f"{user.name}'s account is already {'active' if active else 'deactivated'}."

    def run() -> str:
        store.set_user_active(user, active, current_user())
        return f"{user.name}'s account {'reactivated' if active else 'deactivated'}"

    return _confirm(
        title=f"{change.capitalize()} {user.name}'s account?",
        caption=user.email,
        body=[
            "They will be able to sign in again with their current password."
            if active
            else "They will be signed out and will not be able to sign in. Their answers and history are kept."
        ],
        button=f"{change.capitalize()} account",
        back=url_for(".edit_user", user_id=user.id),
        run=run,
        refused=refused,
        danger=not active,
    )


# ---------------------------------------------------------------------------------------------
# Audit cycles and survey rounds share their form


def _version_choices(audiences: Iterable[str]) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(choices, a hint for each): who answers it and when it was loaded."""
    versions = store.versions_for(audiences)
    choices = [(str(v.id), f"{v.title} (version {v.version})") for v in versions]
    hints = {str(v.id): f"{AUDIENCE_NAMES[v.audience]}. Loaded {when(v.loaded_at)}" for v in versions}
    return choices, hints


class PeriodForm(FlaskForm):
    """A named period answering one questionnaire version: an audit cycle or a survey round."""

    audiences: tuple[str, ...] = ()
    model: type[AuditCycle] | type[SurveyRound]
    noun = ""  # "An audit cycle", in the message about a name already used
    name = StringField(
        "Name",
        filters=[_strip],
        validators=[DataRequired("Enter a name"), Length(max=200, message="The name must be 200 characters or fewer")],
    )
    questionnaire = ChoiceField("Questionnaire", validators=[one_of_the_choices("Select the questionnaire version")])
    opens_on = GovukDateField("Opens on", "The opening date", "Enter the opening date")
    closes_on = GovukDateField("Closes on", "The closing date", "Enter the closing date")
    open_now = ChoiceField(
        "Open now",
        options=[("yes", "Yes"), ("no", "No, I will open it later")],
        validators=[one_of_the_choices("Select whether to open it now")],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questionnaire.options, self.questionnaire_hints = _version_choices(self.audiences)

    def validate_name(self, field: Field) -> None:
        """Results, downloads and the reviewer's lists tell cycles and rounds apart by name alone."""
        existing = store.period_named(self.model, field.data)
        if existing is not None:
            raise ValidationError(f"{self.noun} called {existing.name} already exists: give this one a different name")

    def validate_closes_on(self, field: Field) -> None:
        if self.opens_on.data and field.data and field.data <= self.opens_on.data:
            raise ValidationError("The closing date must be after the opening date")
        # a period that has closed already would be made shut: no audit or link could take answers
        if field.data and field.data < dt.date.today():
            raise ValidationError("The closing date must be today or later")

    def chosen_version(self) -> QuestionnaireVersion:
        return QuestionnaireVersion.get_by_id(int(self.questionnaire.data))

    def create(self, maker: Callable[..., Any]) -> Any:
        """The cycle or round these valid answers describe, made by `store.create_cycle` or `create_round`."""
        return maker(
            self.name.data,
            self.chosen_version(),
            self.opens_on.data,
            self.closes_on.data,
            self.open_now.data == "yes",
            current_user(),
        )


class CycleForm(PeriodForm):
    audiences = ("agency",)
    model = AuditCycle
    noun = "An audit cycle"


class RoundForm(PeriodForm):
    audiences = store.SURVEY_AUDIENCES
    model = SurveyRound
    noun = "A survey round"


@bp.get("/cycles/")
def cycles() -> str:
    return render_template("admin/cycles.html", cycles=store.cycle_rows())


@bp.route("/cycles/new", methods=["GET", "POST"])
def new_cycle() -> Any:
    form, kept = _make(CycleForm)
    if form.validate_on_submit():
        cycle = form.create(store.create_cycle)
        return _done(f"{cycle.name} created, with an audit for each agency", ".cycle", cycle_id=cycle.id)
    return _form_page("admin/period_form.html", form, kept, kind="cycle")


@bp.get("/cycles/<int:cycle_id>", endpoint="cycle")
def show_cycle(cycle_id: int) -> str:
    found = _get_or_404(AuditCycle, cycle_id)
    return render_template("admin/cycle.html", cycle=found, audits=store.cycle_audits(found))


@bp.route("/cycles/<int:cycle_id>/<any(open, close):change>", methods=["GET", "POST"])
def cycle_open(cycle_id: int, change: str) -> Any:
    found = _get_or_404(AuditCycle, cycle_id)
    return _open_or_close(
        found,
        change,
        store.set_cycle_open,
        caption="Audit cycle",
        noun="the cycle",
        opening="Agencies will be able to answer and submit their self-audits.",
        closing="Agencies will no longer be able to change or submit their self-audits. They can still update their actions' progress.",
        back=url_for(".cycle", cycle_id=found.id),
    )


def _open_or_close(
    found: AuditCycle | SurveyRound,
    change: str,
    setter: Callable[[Any, bool, Any], bool],
    *,
    caption: str,
    noun: str,
    opening: str,
    closing: str,
    back: str,
) -> Any:
    """The confirmation page that opens or closes a cycle or a round, and what its button does."""
    is_open = change == "open"

    def run() -> str:
        setter(found, is_open, current_user())
        return f"{found.name} {'opened' if is_open else 'closed'}"

    return _confirm(
        title=f"{change.capitalize()} {found.name}?",
        caption=caption,
        body=[opening if is_open else closing],
        button=f"{change.capitalize()} {noun}",
        back=back,
        run=run,
        refused=f"{found.name} is already {'open' if is_open else 'closed'}." if found.is_open == is_open else None,
        danger=not is_open,
    )


@bp.route("/cycles/<int:cycle_id>/audits/<int:audit_id>/reopen", methods=["GET", "POST"])
def reopen(cycle_id: int, audit_id: int) -> Any:
    """The confirmation page, with the optional reason the reviewer's reopen page asks for
    (views.reopening): read, checked and kept the same way, so the agency reads it whoever
    reopened its audit. A reason too long is refused with its error, keeps what was typed and
    reopens nothing; so does a post without the page's token."""
    audit = Audit.get_or_none((Audit.id == audit_id) & (Audit.cycle == cycle_id))
    if audit is None or not access.can_read_audit(current_user(), audit):
        abort(404)
    refused = None
    if not access.can_reopen(current_user(), audit):
        refused = f"This audit is {STATUS_NAMES.get(audit.status, audit.status).lower()}: only a submitted audit can be reopened."
    form, kept = _make(ReopenForm)
    if refused is None and form.validate_on_submit():
        if store.reopen_audit(audit, current_user(), form.given_reason):
            return _done(
                f"The audit by {audit.agency.name} is reopened: they can change and submit it again",
                ".cycle",
                cycle_id=cycle_id,
            )
        return _done(f"The audit by {audit.agency.name} had already been reopened", ".cycle", cycle_id=cycle_id)
    page = _form_page(
        "admin/reopen.html",
        form,
        kept,
        kept_text=SIGNED_OUT_MESSAGE,
        title=f"Reopen the audit by {audit.agency.name}?",
        caption=audit.cycle.name,
        body=[
            "The agency will be able to change its answers and submit the audit again.",
            "Its moderated ratings and the history of changes are kept.",
        ],
        warning=None
        if audit.cycle.is_open
        else "The cycle is closed: open it as well, or the agency will not be able to change the audit.",
        refused=refused,
        button="Reopen the audit",
        back=url_for(".cycle", cycle_id=cycle_id),
        # a warning button, as on the reviewer's page: the accessibility walk sends forms with a
        # box but no warning button, and sent empty this one would reopen a demo audit
        danger=True,
    )
    return page, 400 if refused is None and form.reason.errors else 200


@bp.get("/rounds/")
def rounds() -> str:
    return render_template("admin/rounds.html", rounds=store.round_rows())


@bp.route("/rounds/new", methods=["GET", "POST"])
def new_round() -> Any:
    form, kept = _make(RoundForm)
    if form.validate_on_submit():
        survey_round = form.create(store.create_round)
        return _done(
            f"{survey_round.name} created. Now add a link for people to answer", ".round", round_id=survey_round.id
        )
    return _form_page("admin/period_form.html", form, kept, kind="round")


def link_url(link: SurveyLink) -> str:
    """The full address to hand out for a link."""
    return f"{request.url_root.rstrip('/')}/s/{link.slug}"


@bp.get("/rounds/<int:round_id>", endpoint="round")
def show_round(round_id: int) -> str:
    found = _get_or_404(SurveyRound, round_id)
    return render_template("admin/round.html", round=found, links=store.link_rows(found), link_url=link_url)


@bp.route("/rounds/<int:round_id>/<any(open, close):change>", methods=["GET", "POST"])
def round_open(round_id: int, change: str) -> Any:
    found = _get_or_404(SurveyRound, round_id)
    return _open_or_close(
        found,
        change,
        store.set_round_open,
        caption="Survey round",
        noun="the survey round",
        opening="People with one of its links will be able to answer.",
        closing="Its links will say the survey has closed. Answers already given are kept.",
        back=url_for(".round", round_id=found.id),
    )


# ---------------------------------------------------------------------------------------------
# Anonymous links and their single-use codes


def check_code_count(form: FlaskForm, field: Field) -> None:
    """How many codes: a whole number from 1 to 500 (asked only for single-use codes)."""
    if getattr(form, "mode", None) is not None and form.mode.data != "tokens":
        field.data = None
        return
    typed = (field.data or "").strip().replace(",", "")
    if not typed:
        raise StopValidation("Enter how many codes to make")
    if not (typed.isascii() and typed.isdigit()):  # isdigit() alone passes '²', which int() cannot read
        raise StopValidation("The number of codes must be a whole number, like 30")
    if len(typed) > 6 or not 1 <= int(typed) <= store.MAX_CODES:  # int() refuses 4,300 digits and more
        raise StopValidation(f"The number of codes must be between 1 and {store.MAX_CODES}")
    field.data = int(typed)


class CodesForm(FlaskForm):
    count = StringField("How many codes", validators=[check_code_count])


class LinkForm(FlaskForm):
    label = StringField(
        "Label",
        filters=[_strip],
        validators=[
            DataRequired("Enter a label for the link, like the workshop's name"),
            Length(max=200, message="The label must be 200 characters or fewer"),
        ],
    )
    agency = ChoiceField("Agency (optional)")
    mode = ChoiceField(
        "How people answer",
        options=list(MODE_NAMES.items()),
        validators=[one_of_the_choices("Select how people answer")],
    )
    count = StringField("How many codes", validators=[check_code_count])

    def __init__(self, *args: Any, survey_round: SurveyRound, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.for_agencies = survey_round.questionnaire.audience == "practitioner"
        self.agency.options = _agency_choices() if self.for_agencies else []

    def validate_agency(self, field: ChoiceField) -> None:
        if field.data is not None and not field.offered():
            raise ValidationError("Select an agency from the list, or leave it blank")

    def chosen_agency(self) -> Agency | None:
        return Agency.get_or_none(Agency.id == int(self.agency.data)) if self.agency.data else None


def _remember_codes(link: SurveyLink, seed: str, n: int) -> None:
    """Only the seed goes in the session; the codes are derived from it when shown."""
    session[CODES_KEY] = {"link": link.id, "seed": seed, "n": n, "at": int(time.time())}


def _codes_to_show(link: SurveyLink) -> list[str] | None:
    kept = session.get(CODES_KEY)
    if not kept or kept.get("link") != link.id:
        return None
    if time.time() - kept.get("at", 0) > CODES_SHOWN_FOR:
        session.pop(CODES_KEY, None)
        return None
    return store.derive_codes(kept["seed"], kept["n"])


@bp.route("/rounds/<int:round_id>/links/new", methods=["GET", "POST"])
def new_link(round_id: int) -> Any:
    survey_round = _get_or_404(SurveyRound, round_id)
    form, kept = _make(LinkForm, survey_round=survey_round)
    if form.validate_on_submit():
        agency, me = form.chosen_agency(), current_user()
        if form.mode.data == "tokens":
            link, seed, codes = store.create_link_with_codes(survey_round, form.label.data, agency, form.count.data, me)
            _remember_codes(link, seed, len(codes))
            return redirect(url_for(".link_codes", link_id=link.id))
        link = store.create_link(survey_round, form.label.data, "device", agency, me)
        return _done(f"Link for {link.label} made: {link_url(link)}", ".round", round_id=round_id)
    return _form_page("admin/link_form.html", form, kept, round=survey_round)


def _link_or_404(link_id: int) -> SurveyLink:
    return _get_or_404(SurveyLink, link_id)


@bp.route("/links/<int:link_id>/codes", methods=["GET", "POST"])
def link_codes(link_id: int) -> Any:
    """The codes just made, shown until the administrator says they have kept them."""
    link = _link_or_404(link_id)
    form = ActionForm()
    if form.validate_on_submit():
        if session.get(CODES_KEY, {}).get("link") == link.id:
            session.pop(CODES_KEY, None)
        return _done("The codes are no longer shown", ".round", round_id=link.round_id)
    codes = _codes_to_show(link)
    errors = error_list(form)
    return render_template(
        "admin/codes.html",
        link=link,
        codes=codes,
        url=link_url(link),
        form=form,
        errors=errors,
        has_errors=bool(errors),
    )


def _csv_cell(text: str) -> str:
    """A spreadsheet must not run a formula someone typed as a label."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.get("/links/<int:link_id>/codes.csv")
def link_codes_csv(link_id: int) -> Response:
    link = _link_or_404(link_id)
    codes = _codes_to_show(link)
    if codes is None:
        return redirect(url_for(".link_codes", link_id=link.id))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["code", "link", "label"])
    url, label = link_url(link), _csv_cell(link.label)
    writer.writerows([code, url, label] for code in codes)
    response = current_app.response_class(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="codes-{link.slug}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/links/<int:link_id>/codes/new", methods=["GET", "POST"])
def add_codes(link_id: int) -> Any:
    link = _link_or_404(link_id)
    if link.mode != "tokens":
        abort(404)
    form, kept = _make(CodesForm)
    if form.validate_on_submit():
        seed, codes = store.create_codes(link, form.count.data, current_user())
        _remember_codes(link, seed, len(codes))
        return redirect(url_for(".link_codes", link_id=link.id))
    return _form_page("admin/codes_form.html", form, kept, link=link)


@bp.route("/links/<int:link_id>/<any(deactivate, reactivate):change>", methods=["GET", "POST"])
def link_active(link_id: int, change: str) -> Any:
    link = _link_or_404(link_id)
    active = change == "reactivate"

    def run() -> str:
        store.set_link_active(link, active, current_user())
        return f"Link for {link.label} {change}d"

    return _confirm(
        title=f"{change.capitalize()} the link for {link.label}?",
        caption=link.round.name,
        body=[
            "People will be able to answer with it again."
            if active
            else "People who open it will be told it is closed. Answers already given are kept."
        ],
        button=f"{change.capitalize()} the link",
        back=url_for(".round", round_id=link.round_id),
        run=run,
        refused=f"The link is already {'active' if active else 'deactivated'}." if link.is_active == active else None,
        danger=not active,
    )


# ---------------------------------------------------------------------------------------------
# Questionnaire versions


class UploadForm(FlaskForm):
    file = FileField("Upload a JSON file")
    text = TextAreaField("Or paste the JSON")

    def validate_file(self, field: Field) -> None:
        if field.data is None and not (self.text.data or "").strip():
            raise StopValidation("Choose a JSON file or paste the definition")
        if field.data is not None and (self.text.data or "").strip():
            raise StopValidation("Choose a file or paste the definition, not both")

    def source(self) -> tuple[str, bytes | str]:
        """(the name problems are reported against, the JSON text)."""
        if self.file.data is not None:
            name = (self.file.data.filename or "upload.json").replace("\\", "/").rsplit("/", 1)[-1][:100]
            return name, self.file.data.read()
        return "pasted definition", self.text.data

    def refused(self, source: str, count: int) -> Field:
        """The field the refused definition came from, given the inline error the summary links to."""
        problem = "problem" if count == 1 else "problems"
        if self.file.data is not None:
            self.file.errors.append(f"Correct the {problem} listed above in {source}, then upload the file again")
            return self.file
        self.text.errors.append(f"Correct the {problem} listed above, then select Check and load again")
        return self.text


def problem_summary(source: str, problems: list[Problem], anchor_id: str) -> dict[str, Any]:
    count = len(problems)
    return {
        "titleText": "There is a problem",
        "descriptionText": f"{count} problem{'s' if count != 1 else ''} found in {source}. Nothing was loaded.",
        "errorList": [{"href": f"#{anchor_id}", "text": f"{p.path}: {p.message}"} for p in problems],
    }


def _shipped_preview(row: QuestionnaireVersion) -> str | None:
    """The preview page of a shipped questionnaire, when this row is the version it shows."""
    if not current_app.config.get("DEMO_MODE"):
        return None
    shipped = current_app.extensions.get("questionnaires", {}).get(row.questionnaire_id)
    if shipped is None or shipped.version != row.version:
        return None
    return url_for("preview.questionnaire", questionnaire_id=row.questionnaire_id)


@bp.get("/questionnaires/")
def questionnaires() -> str:
    return render_template("admin/questionnaires.html", versions=store.version_rows(), preview=_shipped_preview)


@bp.get("/questionnaires/<int:version_id>")
def questionnaire(version_id: int) -> str:
    row = _get_or_404(QuestionnaireVersion, version_id)
    try:
        shown, problems = definition(row), []
    except DefinitionError as error:  # the stored JSON was edited in the database
        shown, problems = None, error.problems
    return render_template(
        "admin/questionnaire.html", row=row, questionnaire=shown, problems=problems, preview=_shipped_preview(row)
    )


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge) -> tuple[str, int]:
    """An oversized definition is refused before anything reads it (request_limits): the general
    page's advice (shorter answers, less evidence) means nothing to someone uploading a file."""
    if request.endpoint != "admin.new_questionnaire":
        return request_limits.too_large(error)
    limit = current_app.config["MAX_CONTENT_LENGTH"] / (1024 * 1024)
    return render_template(
        "errors/error.html",
        title="The file is too large",
        advice=f"A questionnaire definition must be smaller than {limit:g} MB. Nothing was loaded: choose a smaller file and try again.",
        onward={"href": url_for(".new_questionnaire"), "text": "Go back to loading a questionnaire"},
        code=413,
    ), 413


@bp.route("/questionnaires/new", methods=["GET", "POST"])
def new_questionnaire() -> Any:
    form, kept = _make(UploadForm)
    problems = None
    if form.validate_on_submit():
        source, raw = form.source()
        try:
            row = store.load_version(store.parse_definition(raw, source), source, current_user())
        except DefinitionError as error:
            problems = problem_summary(source, error.problems, form.refused(source, len(error.problems)).id)
        else:
            return _done(f"{row.title} version {row.version} loaded from {source}", ".questionnaires")
    errors = [] if problems else error_list(form)  # the problems have their own summary
    return render_template(
        "admin/questionnaire_form.html",
        form=form,
        errors=errors,
        problems=problems,
        has_errors=bool(errors or problems),
        kept_message=KEPT_MESSAGE if kept else None,
    )

"""What administrators change: agencies, users, cycles, survey rounds, links and questionnaires.

Each change runs in one transaction with its entry in the audit trail (kind "admin", or
"audit" for an audit reopened), so the history can be read back and nothing half-done stays.
The views check what was typed; these functions only make the change and say what it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from peewee import JOIN, SQL, NodeList, fn

from accounts.passwords import hash_password
from questionnaires import DefinitionError, Problem
from questionnaires.loader import parse_json
from store import questionnaires as stored_questionnaires
from store import surveys
from store.db import db
from store.models import (
    ADMIN_HISTORY_KINDS,
    Agency,
    Audit,
    AuditCycle,
    AuditEvent,
    QuestionnaireVersion,
    Response,
    SurveyLink,
    SurveyRound,
    SurveyToken,
    User,
)
from store.trail import record

SURVEY_AUDIENCES = ("practitioner", "child", "family")
MAX_CODES = 500


# ---------------------------------------------------------------------------------------------
# Overview


def counts() -> dict[str, int]:
    """The numbers on the administration home page."""
    return {
        "agencies": Agency.select().count(),
        "users": User.select().where(User.active == True).count(),  # noqa: E712
        "inactive_users": User.select().where(User.active == False).count(),  # noqa: E712
        "cycles": AuditCycle.select().count(),
        "open_cycles": AuditCycle.select().where(AuditCycle.is_open == True).count(),  # noqa: E712
        "rounds": SurveyRound.select().count(),
        "open_rounds": SurveyRound.select().where(SurveyRound.is_open == True).count(),  # noqa: E712
        "questionnaires": QuestionnaireVersion.select().count(),
    }


# the partial index's own condition, as written there (store.models.ADMIN_HISTORY_KINDS): SQLite
# reads a partial index only for a query that says the same in the same words, not in parameters
_ADMIN_KINDS = NodeList(
    (AuditEvent.kind, SQL("IN ({})".format(", ".join(f"'{kind}'" for kind in ADMIN_HISTORY_KINDS))))
)


def admin_history(limit: int = 200) -> list[AuditEvent]:
    """The newest changes made by administrators, with who made them (newest first)."""
    return list(history_query(limit))


def history_query(limit: int) -> Any:
    """admin_history's query: it reads the trail's partial index on time, so it stays quick
    whatever the number of answer rows in the trail."""
    return (
        AuditEvent.select(AuditEvent, User)
        .join(User, JOIN.LEFT_OUTER, on=(AuditEvent.user == User.id))
        .where(_ADMIN_KINDS)
        .where((AuditEvent.kind == "admin") | ((AuditEvent.kind == "audit") & (User.role == "admin")))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )


# ---------------------------------------------------------------------------------------------
# Agencies


def agency_rows() -> list[Agency]:
    """Every agency with `user_count` and `audit_count`, by name."""
    users = User.select(fn.COUNT(User.id)).where(User.agency == Agency.id)
    audits = Audit.select(fn.COUNT(Audit.id)).where(Audit.agency == Agency.id)
    return list(
        Agency.select(Agency, users.alias("user_count"), audits.alias("audit_count")).order_by(fn.LOWER(Agency.name))
    )


def agency_named(name: str, other_than: int | None = None) -> Agency | None:
    """The agency of this name, whatever its capitals: two agencies differing only so confuse."""
    query = Agency.select().where(fn.LOWER(Agency.name) == name.strip().lower())
    if other_than is not None:
        query = query.where(Agency.id != other_than)
    return query.first()


def _agency_state(agency: Agency) -> dict[str, Any]:
    return {"name": agency.name, "sector": agency.sector}


def create_agency(name: str, sector: str, by: User) -> Agency:
    """A new agency, with an audit in every open cycle so it can start at once."""
    with db.atomic():
        agency = Agency.create(name=name, sector=sector)
        record(by, "admin", f"agency:{agency.id}", None, _agency_state(agency))
        for cycle in AuditCycle.select().where(AuditCycle.is_open == True):  # noqa: E712
            ensure_audits(cycle)
    return agency


def update_agency(agency: Agency, name: str, sector: str, by: User) -> bool:
    """Rename or move an agency to another sector; False when nothing changed."""
    before = _agency_state(agency)
    after = {"name": name, "sector": sector}
    if before == after:
        return False
    with db.atomic():
        Agency.update(**after).where(Agency.id == agency.id).execute()
        record(by, "admin", f"agency:{agency.id}", before, after)
    agency.name, agency.sector = name, sector
    return True


# ---------------------------------------------------------------------------------------------
# Users


def normalise_email(email: str) -> str:
    """Emails are compared and stored lower-case, so `Jo@X.org` and `jo@x.org` are one person."""
    return email.strip().lower()


def user_rows() -> list[User]:
    return list(
        User.select(User, Agency)
        .join(Agency, JOIN.LEFT_OUTER)
        .order_by(User.active.desc(), fn.LOWER(User.name), User.email)
    )


def user_with_email(email: str) -> User | None:
    return User.get_or_none(User.email == normalise_email(email))


def _user_state(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "agency": user.agency_id,
        "active": user.active,
    }


def create_user(email: str, name: str, role: str, agency: Agency | None, password: str, by: User) -> User:
    """A new account; an agency only for the agency role (no other role belongs to one)."""
    with db.atomic():
        user = User.create(
            email=normalise_email(email),
            name=name,
            role=role,
            agency=agency if role == "agency" else None,
            password_hash=hash_password(password),
        )
        record(by, "admin", f"user:{user.id}", None, {**_user_state(user), "password": "set"})
    return user


def update_user(user: User, name: str, role: str, agency: Agency | None, by: User) -> bool:
    """Change a user's name, role or agency; False when nothing changed."""
    before = _user_state(user)
    agency_id = agency.id if agency is not None and role == "agency" else None
    after = {**before, "name": name, "role": role, "agency": agency_id}
    if before == after:
        return False
    with db.atomic():
        User.update(name=name, role=role, agency=agency_id).where(User.id == user.id).execute()
        record(by, "admin", f"user:{user.id}", before, after)
    user.name, user.role, user.agency = name, role, agency_id
    return True


def set_user_active(user: User, active: bool, by: User) -> bool:
    """Deactivate (signs them out at their next request) or reactivate; False if already so."""
    if user.active == active:
        return False
    with db.atomic():
        User.update(active=active).where(User.id == user.id).execute()
        record(by, "admin", f"user:{user.id}", {"active": user.active}, {"active": active})
    user.active = active
    return True


def set_password(user: User, password: str, by: User) -> None:
    """A new password; the trail says it changed, never what it is."""
    with db.atomic():
        User.update(password_hash=hash_password(password)).where(User.id == user.id).execute()
        record(by, "admin", f"user:{user.id}", None, {"password": "changed"})


# ---------------------------------------------------------------------------------------------
# Questionnaire versions


def versions_for(audiences: Iterable[str]) -> list[QuestionnaireVersion]:
    """Stored versions answered by these audiences, newest first (the likely choice on top)."""
    return list(
        QuestionnaireVersion.select()
        .where(QuestionnaireVersion.audience.in_(list(audiences)))
        .order_by(
            QuestionnaireVersion.loaded_at.desc(), QuestionnaireVersion.version.desc(), QuestionnaireVersion.id.desc()
        )
    )


def version_rows() -> list[QuestionnaireVersion]:
    """Every stored version with who loaded it, grouped by questionnaire, newest version first."""
    return list(
        QuestionnaireVersion.select(QuestionnaireVersion, User)
        .join(User, JOIN.LEFT_OUTER, on=(QuestionnaireVersion.loaded_by == User.id))
        .order_by(QuestionnaireVersion.questionnaire_id, QuestionnaireVersion.version.desc())
    )


def parse_definition(raw: bytes | str, source: str) -> Any:
    """JSON text to data, or DefinitionError saying where the JSON is broken.

    Read as strictly as the shipped files are (questionnaires.loader.parse_json): a key given
    twice, NaN, a number too long to read or nesting too deep is refused, never stored.
    """
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise DefinitionError(
            [Problem(source, "$", "is not UTF-8 text: save the file as UTF-8 and try again")]
        ) from None
    data, problems = parse_json(text, source)
    if problems:
        raise DefinitionError(problems)
    return data


def load_version(data: Any, source: str, by: User) -> QuestionnaireVersion:
    """Check and store a new questionnaire version; DefinitionError (nothing stored) if it fails."""
    with db.atomic():
        row = stored_questionnaires.add_version(data, source, by)
        record(by, "admin", f"questionnaire:{row.id}", None, {"questionnaire": row.key, "source": source})
    return row


# ---------------------------------------------------------------------------------------------
# Audit cycles


def cycle_rows() -> list[AuditCycle]:
    """Cycles, newest first, each with `audit_count` and `submitted_count`."""
    audits = Audit.select(fn.COUNT(Audit.id)).where(Audit.cycle == AuditCycle.id)
    submitted = Audit.select(fn.COUNT(Audit.id)).where((Audit.cycle == AuditCycle.id) & (Audit.status == "submitted"))
    return list(
        AuditCycle.select(
            AuditCycle, QuestionnaireVersion, audits.alias("audit_count"), submitted.alias("submitted_count")
        )
        .join(QuestionnaireVersion)
        .order_by(AuditCycle.opens_on.desc(), AuditCycle.id.desc())
    )


def period_named(model: type[AuditCycle] | type[SurveyRound], name: str) -> AuditCycle | SurveyRound | None:
    """The cycle or round of this name, whatever its capitals, as agency_named does for agencies."""
    return model.select().where(fn.LOWER(model.name) == name.strip().lower()).first()


def ensure_audits(cycle: AuditCycle) -> int:
    """An audit (not started) for every agency that has none in this cycle; returns how many."""
    have = Audit.select(Audit.agency).where(Audit.cycle == cycle)
    missing = [a.id for a in Agency.select(Agency.id).where(Agency.id.not_in(have))]
    if missing:
        Audit.insert_many([{"cycle": cycle.id, "agency": a, "status": "not-started"} for a in missing]).execute()
    return len(missing)


def _period_state(period: AuditCycle | SurveyRound) -> dict[str, Any]:
    """What the trail records of a new cycle or round: cycles and rounds have the same fields."""
    return {
        "name": period.name,
        "questionnaire": period.questionnaire_id,
        "opens_on": period.opens_on,
        "closes_on": period.closes_on,
        "is_open": period.is_open,
    }


def _set_open(
    period: AuditCycle | SurveyRound,
    is_open: bool,
    by: User,
    then: Callable[[Any], dict[str, Any]] | None = None,
) -> bool:
    """Open or close a cycle or round, with its trail entry; False when it already was.

    `then(period)` runs in the same transaction and returns what else the trail should say
    (a cycle's audits for agencies added while it was closed).
    """
    if period.is_open == is_open:
        return False
    model = type(period)
    kind = "cycle" if model is AuditCycle else "round"
    with db.atomic():
        model.update(is_open=is_open).where(model.id == period.id).execute()
        also = then(period) if then is not None else {}
        record(by, "admin", f"{kind}:{period.id}", {"is_open": period.is_open}, {"is_open": is_open, **also})
    period.is_open = is_open
    return True


def create_cycle(
    name: str, questionnaire: QuestionnaireVersion, opens_on: dt.date, closes_on: dt.date, is_open: bool, by: User
) -> AuditCycle:
    """A cycle and, in the same transaction, one audit for every agency."""
    with db.atomic():
        cycle = AuditCycle.create(
            name=name, questionnaire=questionnaire, opens_on=opens_on, closes_on=closes_on, is_open=is_open
        )
        created = ensure_audits(cycle)
        record(by, "admin", f"cycle:{cycle.id}", None, {**_period_state(cycle), "audits": created})
    return cycle


def set_cycle_open(cycle: AuditCycle, is_open: bool, by: User) -> bool:
    """Open (agencies added since it closed get their audit) or close a cycle to agencies' edits."""
    return _set_open(cycle, is_open, by, lambda c: {"audits": ensure_audits(c) if is_open else 0})


def cycle_audits(cycle: AuditCycle) -> list[Audit]:
    return list(Audit.select(Audit, Agency).join(Agency).where(Audit.cycle == cycle).order_by(fn.LOWER(Agency.name)))


def reopen_audit(audit: Audit, by: User, reason: str | None = None) -> bool:
    """A submitted audit goes back to its agency for changes; False unless it was submitted.

    The status is changed with a condition on the old one, so two people reopening at once
    make one change and one trail entry. The reviewer's reason, if they gave one, is kept in
    that entry (its `after`, beside the new status): the trail is where the audit's history
    lives, and the agency reads the reason back from it (`reopen_reason`).
    """
    after: dict[str, Any] = {"status": "reopened"}
    if reason:
        after["reason"] = reason
    with db.atomic():
        changed = (
            Audit.update(status="reopened").where((Audit.id == audit.id) & (Audit.status == "submitted")).execute()
        )
        if changed:
            record(by, "audit", f"audit:{audit.id}", {"status": "submitted"}, after, audit=audit)
    if changed:
        audit.status = "reopened"
    return bool(changed)


def reopen_reason(audit: Audit) -> str | None:
    """Why the audit was last reopened, as the reviewer or administrator wrote it; None if they
    gave no reason, or the audit is not reopened now (nothing is read then).

    An audit can be reopened, submitted and reopened again: only the newest reopening's reason
    says what the agency is asked to change now. Read by the trail's index on its audit."""
    if audit.status != "reopened":
        return None
    entries = (
        AuditEvent.select(AuditEvent.after)
        .where((AuditEvent.audit == audit) & (AuditEvent.kind == "audit") & (AuditEvent.target == f"audit:{audit.id}"))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    for entry in entries:
        after = entry.after if isinstance(entry.after, dict) else {}
        if after.get("status") == "reopened":
            return after.get("reason") or None
    return None


# ---------------------------------------------------------------------------------------------
# Survey rounds


def round_rows() -> list[SurveyRound]:
    """Rounds, newest first, each with `link_count` and `response_count` (submitted)."""
    links = SurveyLink.select(fn.COUNT(SurveyLink.id)).where(SurveyLink.round == SurveyRound.id)
    responses = (
        Response.select(fn.COUNT(Response.id))
        .join(SurveyLink)
        .where((SurveyLink.round == SurveyRound.id) & (Response.status == "submitted"))
    )
    return list(
        SurveyRound.select(
            SurveyRound, QuestionnaireVersion, links.alias("link_count"), responses.alias("response_count")
        )
        .join(QuestionnaireVersion)
        .order_by(SurveyRound.opens_on.desc(), SurveyRound.id.desc())
    )


def create_round(
    name: str, questionnaire: QuestionnaireVersion, opens_on: dt.date, closes_on: dt.date, is_open: bool, by: User
) -> SurveyRound:
    with db.atomic():
        survey_round = SurveyRound.create(
            name=name, questionnaire=questionnaire, opens_on=opens_on, closes_on=closes_on, is_open=is_open
        )
        record(by, "admin", f"round:{survey_round.id}", None, _period_state(survey_round))
    return survey_round


def set_round_open(survey_round: SurveyRound, is_open: bool, by: User) -> bool:
    """Open or close a round's links to answers."""
    return _set_open(survey_round, is_open, by)


# ---------------------------------------------------------------------------------------------
# Anonymous links and single-use codes


def link_rows(survey_round: SurveyRound) -> list[SurveyLink]:
    """A round's links with `code_count`, `used_count` and `response_count` (submitted)."""
    codes = SurveyToken.select(fn.COUNT(SurveyToken.id)).where(SurveyToken.link == SurveyLink.id)
    used = SurveyToken.select(fn.COUNT(SurveyToken.id)).where(
        (SurveyToken.link == SurveyLink.id) & SurveyToken.used_on.is_null(False)
    )
    responses = Response.select(fn.COUNT(Response.id)).where(
        (Response.link == SurveyLink.id) & (Response.status == "submitted")
    )
    return list(
        SurveyLink.select(
            SurveyLink,
            Agency,
            codes.alias("code_count"),
            used.alias("used_count"),
            responses.alias("response_count"),
        )
        .join(Agency, JOIN.LEFT_OUTER)
        .where(SurveyLink.round == survey_round)
        .order_by(SurveyLink.created_at, SurveyLink.id)
    )


def create_link(
    survey_round: SurveyRound, label: str, mode: str, agency: Agency | None = None, by: User | None = None
) -> SurveyLink:
    """A new anonymous link (store.surveys draws its unguessable slug), with its trail entry."""
    with db.atomic():
        link = surveys.create_link(survey_round, label, mode, agency)
        record(
            by,
            "admin",
            f"link:{link.id}",
            None,
            {"round": survey_round.id, "label": link.label, "mode": mode, "agency": agency.id if agency else None},
        )
    return link


def create_link_with_codes(
    survey_round: SurveyRound, label: str, agency: Agency | None, n: int, by: User
) -> tuple[SurveyLink, str, list[str]]:
    """A single-use-code link and its first codes, together or not at all."""
    with db.atomic():
        link = create_link(survey_round, label, "tokens", agency, by)
        seed, codes = create_codes(link, n, by)
    return link, seed, codes


def set_link_active(link: SurveyLink, active: bool, by: User) -> bool:
    if link.is_active == active:
        return False
    with db.atomic():
        SurveyLink.update(is_active=active).where(SurveyLink.id == link.id).execute()
        record(by, "admin", f"link:{link.id}", {"is_active": link.is_active}, {"is_active": active})
    link.is_active = active
    return True


def derive_codes(seed: str, n: int) -> list[str]:
    """The n codes a seed stands for, as shown (`ABCD-EFGH-JKMN`): HMAC-SHA256 of their number.

    Deriving them lets the codes page and its CSV show the same codes while the session keeps
    only the short seed: 500 codes would not fit in a session cookie, and the database keeps
    only their hashes. Same alphabet and length as store.surveys' own codes (about 58 bits).
    """
    key = bytes.fromhex(seed)
    alphabet, size = surveys.CODE_ALPHABET, len(surveys.CODE_ALPHABET)
    codes = []
    for i in range(n):
        number = int.from_bytes(hmac.new(key, str(i).encode(), hashlib.sha256).digest(), "big")
        chars = []
        for _ in range(surveys.CODE_LENGTH):
            number, digit = divmod(number, size)
            chars.append(alphabet[digit])
        codes.append(surveys.display_code("".join(chars)))
    return codes


def code_hash(code: str) -> str:
    """What is stored for a code: the hash store.surveys checks a typed code against."""
    return surveys.code_hash(surveys.normalise_code(code) or "")


def create_codes(link: SurveyLink, n: int, by: User | None = None) -> tuple[str, list[str]]:
    """Store the hashes of n new single-use codes for a link; returns (seed, codes).

    A new seed is drawn in the rare case that a code is already in use anywhere (about 58
    random bits per code make that practically never).
    """
    if link.mode != "tokens":
        raise ValueError("codes are only for links in single-use code mode")
    if not 1 <= n <= MAX_CODES:
        raise ValueError(f"between 1 and {MAX_CODES} codes at a time")
    for _ in range(5):
        seed = secrets.token_hex(16)
        codes = derive_codes(seed, n)
        hashes = [code_hash(code) for code in codes]
        if len(set(hashes)) < n or SurveyToken.select().where(SurveyToken.token_hash.in_(hashes)).exists():
            continue
        with db.atomic():
            SurveyToken.insert_many([{"link": link.id, "token_hash": h} for h in hashes]).execute()
            record(by, "admin", f"link:{link.id}", None, {"codes_added": n})
        return seed, codes
    raise RuntimeError("could not draw unused codes")  # pragma: no cover - needs five clashes in a row

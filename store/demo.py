"""Demo data: a partnership with agencies, users, audits in every state and survey answers.

`flask --app app demo` calls `create`, so that every page of the platform has something to
show the first time it is opened. The answers are generated from the stored questionnaire
definitions, not written by hand, and checked with questionnaires.completeness: a submitted
demo audit is one the platform itself would have accepted. Everything comes from one seeded
random generator and the date given, so the same seed on the same day gives the same data.

The rows are written straight into the models (bulk inserts, one transaction) rather than
through the journeys' own functions, so that the demo can set histories (a cycle closed last
year, an audit a reviewer reopened) that the journeys only reach over months.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from peewee import chunked, sort_models

from accounts.passwords import hash_password
from questionnaires import Question, Questionnaire
from questionnaires.completeness import REASON_SUFFIX, gaps
from questionnaires.conditions import evaluate
from store import concerns, scores, surveys
from store.db import db
from store.models import (
    MODELS,
    Action,
    Agency,
    Answer,
    Audit,
    AuditCycle,
    AuditEvent,
    ConcernFlag,
    QuestionnaireVersion,
    Response,
    SectionState,
    SurveyLink,
    SurveyRound,
    SurveyToken,
    User,
    week_of,
)
from store.questionnaires import definition, newest_versions

DEFAULT_SEED = 11
PASSWORD = "safeguarding-demo"
EMAIL_DOMAIN = "demo.example.org"
BATCH = 300  # rows per INSERT: well under SQLite's limit on bound parameters


class DemoError(Exception):
    """The database is not ready for the demo (for example, a shipped questionnaire is missing)."""


@dataclass(frozen=True)
class AgencyPlan:
    """One demo agency: how well it does, what state its audits are in, what its staff think."""

    key: str
    name: str
    sector: str
    met_share: float  # how often it rates an item Met
    staff_positive: float  # how often its practitioners answer positively
    open_status: str  # its audit's status in the open cycle
    has_previous: bool  # whether it submitted an audit in last year's cycle
    practitioners: int  # responses to the practitioner survey through its own link
    not_applicable: tuple[str, ...] = ()  # standards that do not apply to it
    people: tuple[tuple[str, str], ...] = ()  # (name, email local part) of its two users


# Two agencies rate themselves Met almost everywhere while their own practitioners disagree
# (community health, Families Together), so triangulation (R8) has something to flag. One
# agency has fewer than 10 practitioner responses, so small-number suppression shows too.
# fmt: off
AGENCIES: tuple[AgencyPlan, ...] = (
    #           key, name, sector, Met share, staff positive, open-cycle audit, last year's?, practitioners
    AgencyPlan("council", "Shire County Council Children's Services", "local-authority", 0.72, 0.88, "submitted", True, 52,
               people=(("Helen Okafor", "council.lead"), ("Mark Rowe", "council.deputy"))),
    AgencyPlan("police", "Shire Police", "police", 0.6, 0.85, "in-progress", True, 44,
               people=(("Sam Whitfield", "police.lead"), ("Aisha Rahman", "police.deputy"))),
    AgencyPlan("community-health", "Shire Community Health NHS Trust", "health", 0.92, 0.42, "submitted", True, 38,
               people=(("Dr Priya Shah", "community-health.lead"), ("Tom Bailey", "community-health.deputy"))),
    AgencyPlan("hospitals", "Shire Hospitals NHS Foundation Trust", "health", 0.66, 0.82, "reopened", True, 40,
               people=(("Grace Adeyemi", "hospitals.lead"), ("Owen Price", "hospitals.deputy"))),
    AgencyPlan("academy", "Riverside Academy Trust", "education", 0.75, 0.9, "in-progress", True, 30,
               not_applicable=("s10",), people=(("Claire Dunn", "academy.lead"), ("Jamal Hussain", "academy.deputy"))),
    AgencyPlan("college", "Shire College", "education", 0.6, 0.8, "not-started", True, 24,
               not_applicable=("s10",), people=(("Rebecca Moss", "college.lead"), ("Daniel Green", "college.deputy"))),
    AgencyPlan("probation", "Shire Probation Service", "probation-and-justice", 0.55, 0.72, "submitted", True, 26,
               people=(("Neil Carter", "probation.lead"), ("Fatima Begum", "probation.deputy"))),
    AgencyPlan("housing", "Safe Homes Housing Association", "housing", 0.5, 0.7, "not-started", False, 15,
               not_applicable=("s10",), people=(("Lucy Evans", "housing.lead"), ("Chris Nolan", "housing.deputy"))),
    AgencyPlan("families-together", "Families Together", "voluntary-and-community", 0.9, 0.48, "submitted", True, 24,
               people=(("Joanna Webb", "families-together.lead"), ("Ravi Patel", "families-together.deputy"))),
    AgencyPlan("leisure", "Shire Leisure Trust", "other", 0.55, 0.75, "in-progress", True, 7,
               not_applicable=("s10",), people=(("Paul Hughes", "leisure.lead"), ("Megan Ford", "leisure.deputy"))),
)
# fmt: on
STAFF = (
    ("admin", "Alex Morgan", "admin"),
    ("reviewer", "Dr Ruth Ellis", "reviewer"),
    ("analyst", "Ben Clarke", "analyst"),
)
CHILD_BANDS = (("age-4-7", 50), ("age-8-11", 70), ("age-12-17", 80))
FAMILY_RESPONSES = 80
WORKSHOP_RESPONSES = (36, 24)  # device link, codes link
WORKSHOP_CODES = 40


@dataclass
class Created:
    """What `create` made, for the command to print."""

    password: str
    users: list[tuple[str, str, str, str]] = field(default_factory=list)  # role, name, email, agency
    audits: dict[str, str] = field(default_factory=dict)  # agency name -> open-cycle status
    links: list[tuple[str, str, str, str]] = field(default_factory=list)  # round, label, path, mode
    codes: dict[str, list[str]] = field(default_factory=dict)  # link path -> unused codes
    counts: dict[str, int] = field(default_factory=dict)


# --- words ------------------------------------------------------------------------------------

STRENGTHS = {
    "s1": [
        "Our director of quality is the named board lead and reports to the board on safeguarding every quarter",
        "The board lead completed the partnership's strategic leadership course last year",
        "Safeguarding is a standing item on the senior leadership team agenda",
    ],
    "s2": [
        "The safeguarding policy was rewritten after the latest Working Together guidance and approved by the board",
        "The policy is on the front page of the intranet and in every team's induction pack",
        "Every job description now includes a paragraph on safeguarding duties",
    ],
    "s3": [
        "We have a full-time designated safeguarding lead and two trained deputies",
        "The out-of-hours rota for safeguarding advice is on the intranet and on posters in every site",
        "Referral flowcharts are on every team's shared drive and were refreshed this year",
    ],
    "s4": [
        "Our case recording template has a section for the child's own words",
        "Young people on our participation panel helped redesign the waiting room and leaflets",
        "Parents are invited to every review meeting unless it would put the child at risk",
    ],
    "s5": [
        "Safeguarding induction is completed before anyone starts work with children",
        "The training needs analysis sets a level for every role and completion is reported monthly",
        "Practitioners have safeguarding supervision every six weeks",
    ],
    "s6": [
        "Every recruitment panel includes someone trained in safer recruitment",
        "The single central record is checked by HR each month",
        "LADO referrals are logged and reviewed by the head of HR",
    ],
    "s7": [
        "Our information-sharing procedure was updated this year and signed off by the data protection officer",
        "Staff can get advice on sharing without consent from the safeguarding team the same day",
        "Requests from the multi-agency safeguarding hub are answered within the agreed time",
    ],
    "s8": [
        "We send a report to almost every child protection conference",
        "The escalation policy is part of induction and the intranet safeguarding page",
        "Managers track escalations and their outcomes in a shared log",
    ],
    "s9": [
        "We have a Freedom to Speak Up guardian and the whistleblowing procedure is part of induction",
        "The staff survey shows most staff feel able to raise concerns",
        "The complaints leaflet has a version written with and for children",
    ],
    "s10": [
        "Every new contract includes our standard safeguarding clauses",
        "Contract monitoring visits include a safeguarding check",
        "Providers complete a safeguarding self-assessment each year",
    ],
    "s11": [
        "Front-line staff have had training on the partnership's neglect toolkit",
        "We have a named lead for exploitation and a referral pathway for missing children",
        "Adult services assessments ask about children in the household",
    ],
}
GAPS = {
    "s1": [
        "the annual safeguarding report was delayed this year by a restructure",
        "attendance at partnership sub-groups has been patchy since the lead changed",
    ],
    "s2": [
        "some teams still use an older copy of the policy",
        "volunteer role descriptions do not yet set out safeguarding duties",
    ],
    "s3": [
        "the designated lead's protected time is often taken up by other work",
        "our own audit found recording of decisions is not always clear",
    ],
    "s4": [
        "the child's voice is recorded inconsistently across teams",
        "we have not yet shown how children's views changed a service",
    ],
    "s5": [
        "refresher training completion has fallen to about 70 per cent",
        "we cannot yet show that training changed practice",
    ],
    "s6": [
        "a recruitment file audit found two files with references taken after the start date",
        "the allegations procedure is overdue for review",
    ],
    "s7": [
        "staff are unsure about sharing information without consent",
        "replies to information requests are sometimes late at busy times",
    ],
    "s8": [
        "reports for conferences are not always sent in time",
        "few escalations are recorded, so we cannot show their outcomes",
    ],
    "s9": [
        "fewer than half of staff in the last survey knew how to raise a concern outside their team",
        "the complaints process is hard for children to find on our website",
    ],
    "s10": [
        "older contracts do not include the current safeguarding clauses",
        "monitoring of smaller grant-funded services does not cover safeguarding",
    ],
    "s11": [
        "use of the neglect toolkit is low outside the early help team",
        "online harm is not covered in our training yet",
    ],
}
# fmt: off
# What an agency would plan for a shortfall, per S11 item (rating question id).
ACTIONS = {
    "s1.1": "Name a board-level safeguarding lead and add the role to their terms of reference",
    "s1.2": "Agree a yearly safeguarding report to the board with a fixed date",
    "s1.3": "Name a representative for each partnership sub-group and share learning in team briefings",
    "s1.4": "Set a yearly safeguarding audit plan and report the findings to senior managers",
    "s2.1": "Review the safeguarding policy with the board and set the next review date",
    "s2.2": "Publish one version of the policy on the intranet and check staff know it in the next survey",
    "s2.3": "Add safeguarding duties to every job and volunteer role description",
    "s3.1": "Protect one day a week for the designated safeguarding lead and book their refresher training",
    "s3.2": "Put the lead's name and the out-of-hours rota on posters and the intranet",
    "s3.3": "Run referral and early help briefings for every team and audit the quality of referrals",
    "s3.4": "Run a recording workshop for team managers and audit case files again in six months",
    "s3.5": "Write an accountability framework from the front line to the board and publish it",
    "s4.1": "Add a 'child's views' section to every assessment template",
    "s4.2": "Publish a 'you said, we did' summary with the young people's participation panel",
    "s4.3": "Issue guidance on involving parents and carers and sample cases to check it is followed",
    "s4.4": "Add a safeguarding question to the impact assessment for every service change",
    "s5.1": "Make safeguarding induction a condition of starting work and report completion monthly",
    "s5.2": "Complete a training needs analysis and send managers monthly lists of overdue training",
    "s5.3": "Introduce safeguarding supervision every six weeks for front-line staff",
    "s5.4": "Add a three-month follow-up evaluation to safeguarding training",
    "s6.1": "Audit every recruitment file from the last year and fix the gaps",
    "s6.2": "Review the allegations procedure with the LADO and brief senior managers",
    "s6.3": "Brief HR and managers on the duty to refer to the Disclosure and Barring Service",
    "s6.4": "Relaunch the code of conduct and collect signed declarations from staff and volunteers",
    "s7.1": "Update the information-sharing procedure and name its owner",
    "s7.2": "Run briefings on the seven golden rules of information sharing for every team",
    "s7.3": "Set up a shared inbox and a daily check for information requests",
    "s8.1": "Track attendance and reports for child protection conferences on the performance dashboard",
    "s8.2": "Relaunch the escalation policy with a short guide for staff",
    "s8.3": "Log every escalation with its outcome and review the themes every quarter",
    "s9.1": "Add the whistleblowing procedure to induction and to the code of conduct",
    "s9.2": "Promote the Freedom to Speak Up guardian in every team meeting",
    "s9.3": "Rewrite the complaints web page and leaflet with young people",
    "s10.1": "Add the current safeguarding clauses to every contract and grant at renewal",
    "s10.2": "Include a safeguarding check in every contract monitoring visit",
    "s11.1": "Roll out neglect toolkit training to all front-line teams",
    "s11.2": "Name an exploitation lead and publish the referral pathway for exploitation and missing children",
    "s11.3": "Add questions about children in the household to adult services assessments",
    "s11.4": "Add online harm to the level 2 safeguarding course",
}
# fmt: on
OWNERS = {
    "s5": ("Learning and Development Manager", "Head of Safeguarding"),
    "s6": ("HR Business Partner", "Head of People"),
    "s7": ("Information Governance Lead", "Designated Safeguarding Lead"),
    "s10": ("Contracts Manager", "Head of Commissioning"),
}
DEFAULT_OWNERS = ("Head of Safeguarding", "Designated Safeguarding Lead", "Director of Operations", "Head of Quality")
NOT_APPLICABLE_REASONS = {
    "s10": "We do not commission or fund any services for children: all our work is done by our own staff.",
}
PROGRESS_NOTES = (
    "Started: a working group has met twice.",
    "Draft written and out for comment.",
    "Most teams done; two left.",
    "Delayed by staff changes; new date agreed with the board lead.",
    "Done and reported to the board.",
)
FREE_TEXT = {
    "practitioner-s11-survey": (
        "Supervision has got much better this year.",
        "We need protected time for training; cover is hard to arrange.",
        "I am not sure who the safeguarding lead is since the restructure.",
        "The new referral flowchart is really helpful.",
        "Caseloads are high, which makes it hard to get to core groups.",
        "I would like more training on exploitation.",
    ),
    "practitioner-workshop": (
        "Use the neglect toolkit earlier instead of waiting for things to get worse.",
        "Write down the child's own words in my notes.",
        "Ring the safeguarding lead sooner when I am unsure.",
        "Share information with the school nurse when I am worried, without waiting.",
        "Talk to my team about the early help assessment.",
    ),
    "child-experience": (
        "I like my teacher because she listens to me.",
        "There should be more things to do after school.",
        "Sometimes people are mean in group chats.",
        "My social worker keeps changing.",
        "I feel safe at my youth club.",
        "It would help if adults explained things more.",
    ),
    "family-experience": (
        "Our social worker was kind and always rang back.",
        "We had to tell our story to too many people.",
        "Things got better once the school and the health visitor talked to each other.",
        "It took a long time to get any help.",
        "I did not know I could complain.",
    ),
}
# A few answers that disclose harm, so the safeguarding lead's page of flags has something to
# read (store/concerns.py flags them as the survey pages would): (questionnaire, age band, text).
WORRYING = (
    ("child-experience", "age-8-11", "When my mum's boyfriend gets angry he hits me and I am scared to go home."),
    ("child-experience", "age-12-17", "Some weeks there is no food at home and nobody looks after me."),
    ("family-experience", None, "My partner threatened me in front of the children and I am frightened of him."),
)
EVIDENCE_KINDS = (
    ("policy", ("policy", "procedure", "code of conduct", "guidance")),
    ("minutes", ("minutes", "meeting notes")),
    ("training-record", ("training", "course", "induction", "certificate")),
    ("audit", ("audit",)),
    ("case-sample", ("case record", "sample of case")),
    ("survey", ("survey", "feedback", "consultation")),
    ("role-description", ("job description", "role description", "terms of reference")),
    ("log", ("log", "register", "rota", "single central record")),
    ("contract", ("contract", "grant", "agreement", "specification")),
    ("report", ("report", "figures", "dashboard", "summary", "structure chart")),
)


# --- answers ----------------------------------------------------------------------------------


def evidence_type(title: str, allowed: Iterable[str]) -> str:
    """The evidence type a title suggests, among those the question allows ('other' otherwise)."""
    allowed = set(allowed)
    lower = title.lower()
    for kind, words in EVIDENCE_KINDS:
        if kind in allowed and any(w in lower for w in words):
            return kind
    return "other" if "other" in allowed else sorted(allowed)[0]


def _evidence(rng: random.Random, question: Question, rating: str, on: dt.date) -> list[dict[str, Any]]:
    """A few pieces of evidence named after the question's prompts; a policy now and then is
    more than three years old, so the evidence-age rule (R4) has something to find."""
    count = {"met": rng.randint(1, 3), "partially-met": rng.randint(0, 2)}.get(rating, rng.randint(0, 1))
    prompts = list(question.prompts) or ["Internal safeguarding report"]
    types = [t.value for t in question.evidence_types]
    items = []
    for title in rng.sample(prompts, min(count, len(prompts))):
        kind = evidence_type(title, types)
        old = kind == "policy" and rng.random() < 0.2
        when = on - dt.timedelta(days=rng.randint(3 * 365 + 60, 5 * 365) if old else rng.randint(20, 700))
        link = (
            f"https://intranet.example.org/safeguarding/{question.id}/{len(items) + 1}" if rng.random() < 0.4 else None
        )
        items.append({"title": title, "type": kind, "date": when, "link": link})
    return items


def _narrative(rng: random.Random, section_id: str, rating: str) -> str:
    strengths = STRENGTHS.get(section_id, ["Arrangements are in place and known to staff"])
    weaknesses = GAPS.get(section_id, ["they are not yet used consistently"])
    strength, gap = rng.choice(strengths), rng.choice(weaknesses)
    if rating == "met":
        checked = rng.choice(["our internal audit", "the board's last review", "a partnership dip sample"])
        return f"{strength}. This was confirmed by {checked} this year."
    if rating == "partially-met":
        return f"{strength}, but {gap}. We have set an action to close the gap."
    return f"Not in place yet: {gap}. This is a priority for the coming year."


def _action(rng: random.Random, item: Question, on: dt.date) -> dict[str, Any]:
    return {
        "what": ACTIONS.get(item.id, "Agree a plan to close the gap and report on it to the board"),
        "owner": rng.choice(OWNERS.get(item.section_id, DEFAULT_OWNERS)),
        "due": on + dt.timedelta(days=rng.randint(60, 270)),
    }


def _rating(rng: random.Random, question: Question, met_share: float, not_applicable: bool) -> str:
    offered = {o.value for o in question.offered_options}
    if not_applicable and "not-applicable" in offered:
        return "not-applicable"
    roll = rng.random()
    if roll < met_share:
        return "met"
    return "partially-met" if roll < met_share + (1 - met_share) * 0.72 else "not-met"


def audit_answers(
    questionnaire: Questionnaire,
    rng: random.Random,
    plan: AgencyPlan,
    on: dt.date,
    sections: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Answers to the S11 self-audit as an agency like `plan` would give them on `on`.

    Walks the questions in order, answering only those asked (show-if) given the answers so
    far: a rating, a narrative, evidence, an action for every shortfall (R5) and, for the
    standards that do not apply to the agency, not applicable with a reason (R3).
    """
    wanted = None if sections is None else set(sections)
    answers: dict[str, Any] = {}
    rating, item = "met", None
    for section in questionnaire.sections:
        if wanted is not None and section.id not in wanted:
            continue
        for question in section.questions:
            if not evaluate(question.show_if, answers):
                continue
            if question.type == "rating":
                item = question
                rating = _rating(rng, question, plan.met_share, section.id in plan.not_applicable)
                answers[question.id] = rating
                if rating == "not-applicable":
                    answers[question.id + REASON_SUFFIX] = NOT_APPLICABLE_REASONS.get(
                        section.id, "This standard does not apply to the services our agency provides."
                    )
            elif rating == "not-applicable":
                continue
            elif question.type == "long_text":
                answers[question.id] = _narrative(rng, section.id, rating)
            elif question.type == "evidence":
                items = _evidence(rng, question, rating, on)
                if items:
                    answers[question.id] = items
            elif question.type == "action" and item is not None:
                answers[question.id] = _action(rng, item, on)
    return answers


def _choose(rng: random.Random, question: Question, positive: float) -> str:
    """One option: a positive one with probability `positive`, else a less positive one (the
    nearer to positive the likelier); "don't know" or "not applicable" now and then."""
    options = question.offered_options
    if not question.scored:
        return rng.choice(options).value
    aside = [o for o in options if not o.in_base]
    if aside and rng.random() < 0.06:
        return rng.choice(aside).value
    if question.type == "yes_no":
        good = question.positive_answer
        bad = "no" if good == "yes" else "yes"
        return good if rng.random() < positive else bad
    based = [o for o in options if o.in_base]
    good = [o for o in based if o.positive]
    rest = sorted((o for o in based if not o.positive), key=lambda o: -(o.score or 0))
    if good and (not rest or rng.random() < positive):
        return rng.choice(good).value
    weights = [0.55**i for i in range(len(rest))]
    return rng.choices(rest, weights=weights)[0].value


def survey_answers(
    questionnaire: Questionnaire,
    rng: random.Random,
    positive: Callable[[Question], float],
    band: str | None = None,
    dates: Mapping[str, dt.date] | None = None,
) -> dict[str, Any]:
    """One anonymous response: every required question answered, the others mostly; free text
    now and then, from a few plausible comments."""
    answers: dict[str, Any] = {}
    texts = FREE_TEXT.get(questionnaire.id, ("Thank you.",))
    for section in questionnaire.sections_for(band):
        for question in section.questions_for(band):
            if not evaluate(question.show_if, answers):
                continue
            required = question.required or (
                question.required_if is not None and evaluate(question.required_if, answers)
            )
            if not required and rng.random() < (0.7 if question.type == "long_text" else 0.08):
                continue
            value: Any
            if question.type in ("single_choice", "yes_no", "rating"):
                value = _choose(rng, question, positive(question))
            elif question.type == "multiple_choice":
                options = [o.value for o in question.offered_options if o.in_base]
                value = rng.sample(options, rng.randint(1, min(3, len(options))))
            elif question.type in ("long_text", "short_text"):
                value = rng.choice(texts)
            elif question.type == "number":
                low, high = int(question.min or 0), int(question.max or 40)
                value = min(high, max(low, int(rng.triangular(low, min(high, 30), 4))))
            elif question.type == "date":
                value = (dates or {}).get(question.id)
                if value is None:
                    continue
            else:
                continue
            answers[question.id] = value
    return answers


def check_complete(questionnaire: Questionnaire, answers: Mapping[str, Any], band: str | None = None) -> None:
    """Refuse to store generated answers the platform would not accept for submission."""
    found = gaps(questionnaire, answers, band)
    if found:
        raise DemoError(f"generated answers to {questionnaire.key} are incomplete: {found[:3]}")


# --- rows -------------------------------------------------------------------------------------


def populated() -> bool:
    """Whether the database already holds a partnership (any agency)."""
    return Agency.select().exists()


def empty_all() -> None:
    """Delete every row of every table (children first); the schema and its history stay."""
    with db.atomic():
        for model in reversed(sort_models(MODELS)):
            model.delete().execute()


def _token(rng: random.Random, size: int) -> str:
    return base64.urlsafe_b64encode(rng.randbytes(size)).decode().rstrip("=")


def _codes(rng: random.Random, n: int) -> list[str]:
    """Codes in the survey pages' own form (store/surveys.py), from the seeded generator."""
    codes: set[str] = set()
    while len(codes) < n:
        codes.add("".join(rng.choice(surveys.CODE_ALPHABET) for _ in range(surveys.CODE_LENGTH)))
    return sorted(codes)


def _at(day: dt.date, rng: random.Random) -> dt.datetime:
    """A time in office hours on `day` (for signed-in users' actions, never for anonymous answers)."""
    return dt.datetime.combine(day, dt.time(rng.randint(8, 17), rng.randint(0, 59)))


def _insert(model: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    for batch in chunked(rows, BATCH):
        model.insert_many(batch).execute()


class _Builder:
    """Holds the generator, the day and the versions while `create` writes the rows."""

    def __init__(self, rng: random.Random, today: dt.date, versions: Mapping[str, QuestionnaireVersion]):
        self.rng = rng
        self.today = today
        # what signed-in people did is dated yesterday at the latest: a time today could be later than now
        self.latest = today - dt.timedelta(days=1)
        self.versions = versions
        self.definitions = {key: definition(row) for key, row in versions.items()}
        self.answers: list[dict[str, Any]] = []
        self.worrying: list[str] = []  # submission keys of the responses given a worrying answer
        self.surveyed: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (response row, its answers)
        self.actions: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.created = Created(password=PASSWORD)

    # people ------------------------------------------------------------------------------

    def people(self) -> tuple[dict[str, Agency], dict[str, list[User]], dict[str, User]]:
        hashed = hash_password(PASSWORD)  # one hash: the same demo password for everyone
        agencies: dict[str, Agency] = {}
        agency_users: dict[str, list[User]] = {}
        for plan in AGENCIES:
            agencies[plan.key] = Agency.create(name=plan.name, sector=plan.sector)
            agency_users[plan.key] = []
            for name, local in plan.people:
                email = f"{local}@{EMAIL_DOMAIN}"
                user = User.create(
                    email=email, name=name, password_hash=hashed, role="agency", agency=agencies[plan.key]
                )
                agency_users[plan.key].append(user)
        staff: dict[str, User] = {}
        for local, name, role in STAFF:
            email = f"{local}@{EMAIL_DOMAIN}"
            staff[role] = User.create(email=email, name=name, password_hash=hashed, role=role)
            self.created.users.append((role, name, email, ""))
        for plan in AGENCIES:
            for user in agency_users[plan.key]:
                self.created.users.append(("agency", user.name, user.email, plan.name))
        return agencies, agency_users, staff

    # audits ------------------------------------------------------------------------------

    def cycles(self) -> tuple[AuditCycle, AuditCycle]:
        version = self.versions["s11-self-audit"]
        opens = self.today - dt.timedelta(days=75)
        last = opens.replace(year=opens.year - 1)
        previous = AuditCycle.create(
            name=f"Section 11 self-audit {last.year} to {last.year + 1}",
            questionnaire=version,
            opens_on=last,
            closes_on=last + dt.timedelta(days=120),
            is_open=False,
            created_at=_at(last - dt.timedelta(days=14), self.rng),
        )
        current = AuditCycle.create(
            name=f"Section 11 self-audit {opens.year} to {opens.year + 1}",
            questionnaire=version,
            opens_on=opens,
            closes_on=opens + dt.timedelta(days=150),
            is_open=True,
            created_at=_at(opens - dt.timedelta(days=14), self.rng),
        )
        return previous, current

    def audit(self, cycle: AuditCycle, agency: Agency, plan: AgencyPlan, status: str, users: list[User]) -> Audit:
        """One audit in `status`, with its response, section states, actions and trail."""
        questionnaire = self.definitions["s11-self-audit"]
        rng = self.rng
        started = cycle.opens_on + dt.timedelta(days=rng.randint(3, 20))
        audit = Audit.create(cycle=cycle, agency=agency, status="not-started", created_at=_at(cycle.opens_on, rng))
        if status == "not-started":
            return audit
        sections = [s.id for s in questionnaire.sections]
        if status == "in-progress":
            done = sections[: rng.randint(3, 7)]
            answers = audit_answers(questionnaire, rng, plan, started, done)
            doing = sections[len(done)]
            partial = audit_answers(questionnaire, rng, plan, started, [doing])
            # half a standard: the first items answered, the rest still to do
            items = [q.id for q in questionnaire.section(doing).questions]
            answers.update({k: v for k, v in partial.items() if k.split("__")[0] in items[: len(items) // 2]})
            states = dict.fromkeys(done, "completed") | {doing: "in-progress"}
        else:
            answers = audit_answers(questionnaire, rng, plan, started)
            check_complete(questionnaire, answers)
            states = dict.fromkeys(sections, "completed")
        submitted = status in ("submitted", "reopened")
        submitted_on = min(cycle.closes_on, started + dt.timedelta(days=rng.randint(20, 50)), self.latest)
        # as the journeys leave it: submitted on submission, and left so when a reviewer reopens
        response = Response.create(
            questionnaire=cycle.questionnaire, audit=audit, status="submitted" if submitted else "draft"
        )
        self.answers.extend({"response": response.id, "question_id": k, "value": v} for k, v in answers.items())
        revisions = 0
        state_rows = []
        for number, (section_id, state) in enumerate(states.items()):
            revision = rng.randint(1, 3)
            revisions += revision
            day = min(started + dt.timedelta(days=number * 2), submitted_on if submitted else self.latest)
            state_rows.append(
                {
                    "audit": audit.id,
                    "section_id": section_id,
                    "status": state,
                    "revision": revision,
                    "updated_at": _at(day, rng),
                    "updated_by": users[number % len(users)].id,
                }
            )
        _insert(SectionState, state_rows)
        fields: dict[str, Any] = {"status": status, "revision": revisions}
        if submitted:
            when = _at(submitted_on, rng)
            fields |= {"submitted_at": when, "submitted_by": users[0].id, "declaration": questionnaire.declaration}
            self.event(users[0], audit, "status", "audit", "in-progress", "submitted", when)
            self.action_rows(audit, questionnaire, answers, when, users[0])
        Audit.update(**fields).where(Audit.id == audit.id).execute()
        return audit

    def action_rows(
        self, audit: Audit, questionnaire: Questionnaire, answers: Mapping[str, Any], when: dt.datetime, user: User
    ) -> None:
        """The submitted actions, with progress: last year's mostly done, a few overdue; the trail
        has each action's creation and progress as the journeys record them."""
        rng = self.rng
        on = when.date()
        for question in questionnaire.questions:
            value = answers.get(question.id)
            if question.type != "action" or not isinstance(value, Mapping):
                continue
            due = value["due"]
            if due < self.today:
                progress = rng.choice([100, 100, 100, 80, 60, 20, 10])
            else:
                progress = rng.choice([0, 0, 10, 25, 40, 60])
            note = None if progress == 0 else PROGRESS_NOTES[min(4, progress // 25)]
            updated = min(self.latest, on + dt.timedelta(days=rng.randint(10, 200)))
            planned = {"what": value["what"], "owner": value["owner"], "due": due}
            self.event(user, audit, "action", question.id, None, planned, when)
            self.actions.append(
                {
                    "audit": audit.id,
                    "question_id": question.id,
                    "what": value["what"],
                    "owner": value["owner"],
                    "due": due,
                    "progress": progress,
                    "progress_note": note,
                    "updated_at": _at(updated, rng),
                }
            )
            if progress:
                before, after = {"progress": 0, "note": None}, {"progress": progress, "note": note}
                self.event(user, audit, "action-progress", question.id, before, after, _at(updated, rng))

    def event(
        self, user: User | None, audit: Audit, kind: str, target: str, before: Any, after: Any, at: dt.datetime
    ) -> None:
        self.events.append(
            {
                "at": at,
                "user": user.id if user else None,
                "audit": audit.id,
                "kind": kind,
                "target": target,
                "before": before,
                "after": after,
            }
        )

    # surveys -----------------------------------------------------------------------------

    def survey_round(self, key: str, name: str, opens: dt.date, closes: dt.date) -> SurveyRound:
        return SurveyRound.create(
            name=name,
            questionnaire=self.versions[key],
            opens_on=opens,
            closes_on=closes,
            is_open=True,
            created_at=_at(opens - dt.timedelta(days=7), self.rng),
        )

    def link(
        self, round_: SurveyRound, label: str, mode: str = "device", agency: Agency | None = None, band: str = ""
    ) -> SurveyLink:
        """A link with a random slug; `band` is only printed, as a child survey link can give it."""
        link = SurveyLink.create(
            round=round_,
            slug=_token(self.rng, 9),
            label=label,
            agency=agency,
            mode=mode,
            created_at=_at(round_.opens_on - dt.timedelta(days=3), self.rng),
        )
        description = "one response per device" if mode == "device" else "single-use codes"
        path = f"/s/{link.slug}" + (f"?band={band}" if band else "")
        self.created.links.append((round_.name, label, path, description))
        return link

    def responses(
        self,
        key: str,
        link: SurveyLink,
        count: int,
        positive: Callable[[Question], float],
        weeks: tuple[dt.date, dt.date],
        band: str | None = None,
        dates: Mapping[str, dt.date] | None = None,
    ) -> None:
        """`count` submitted anonymous responses: the link, the band, a week (a Monday), the random
        submission key the survey pages give every submission, and the answers; nothing else."""
        questionnaire = self.definitions[key]
        first, last = weeks
        for _ in range(count):
            answers = survey_answers(questionnaire, self.rng, positive, band, dates)
            check_complete(questionnaire, answers, band)
            day = first + dt.timedelta(days=self.rng.randint(0, max(0, (last - first).days)))
            row = {
                "questionnaire": self.versions[key].id,
                "link": link.id,
                "age_band": band,
                "status": "submitted",
                "submission_key": self.rng.randbytes(16).hex(),
                "week": week_of(day),
            }
            self.surveyed.append((row, answers))

    def worrying_answers(self) -> None:
        """Give the first response of each of WORRYING's questionnaire and band, answered before
        yesterday, that free-text answer (drawing nothing from the generator: the rest of the demo
        stays as it was)."""
        for key, band, text in WORRYING:
            version = self.versions[key].id
            found = next(
                (
                    (row, answers)
                    for row, answers in self.surveyed
                    if row["questionnaire"] == version and row["age_band"] == band and row["week"] < self.latest
                ),
                None,
            )
            if found is None:
                continue
            row, answers = found
            questionnaire = self.definitions[key]
            question = next(
                q
                for section in questionnaire.sections_for(band)
                for q in section.questions_for(band)
                if q.type in ("short_text", "long_text")
            )
            answers[question.id] = text
            self.worrying.append(row["submission_key"])

    def flag_concerns(self, reviewer: User) -> int:
        """Flag the demo's worrying answers as submitting them would (dated the week they were
        given); the lead has read one of them."""
        keys = self.worrying
        ids = [r.id for r in Response.select(Response.id).where(Response.submission_key.in_(keys))]
        made = concerns.flag_responses(ids)
        flags = list(ConcernFlag.select(ConcernFlag, Response).join(Response).order_by(ConcernFlag.id))
        if not flags:  # a partnership's own word list may not match the demo's sentences
            return 0
        seen = flags[0]  # flags keep only the week their answers were given, as the answers do
        note = "Read. The session was at a primary school: passed to its designated safeguarding lead."
        at = _at(min(seen.response.week + dt.timedelta(days=2), self.latest), self.rng) + dt.timedelta(hours=3)
        ConcernFlag.update(status="seen", note=note, handled_by=reviewer, handled_at=at).where(
            ConcernFlag.id == seen.id
        ).execute()
        AuditEvent.create(
            at=at,
            user=reviewer,
            kind="concern-flag",
            target=f"concern-flag:{seen.id}",
            before={"status": "new", "note": None},
            after={"status": "seen", "note": note},
        )
        return made

    def flush(self) -> None:
        """Write what was gathered in bulk: responses, then their answers (found by their unique
        submission keys), actions and the trail."""
        _insert(Response, [row for row, _ in self.surveyed])
        ids: dict[str, int] = {}
        for batch in chunked([row["submission_key"] for row, _ in self.surveyed], BATCH):
            query = Response.select(Response.id, Response.submission_key).where(Response.submission_key.in_(batch))
            ids.update((r.submission_key, r.id) for r in query)
        for row, answers in self.surveyed:
            response = ids[row["submission_key"]]
            self.answers.extend({"response": response, "question_id": k, "value": v} for k, v in answers.items())
        _insert(Answer, self.answers)
        _insert(Action, self.actions)
        _insert(AuditEvent, sorted(self.events, key=lambda e: e["at"]))


def _versions() -> dict[str, QuestionnaireVersion]:
    versions = {row.questionnaire_id: row for row in newest_versions()}
    needed = ("s11-self-audit", "practitioner-s11-survey", "practitioner-workshop", "child-experience")
    missing = [key for key in (*needed, "family-experience") if key not in versions]
    if missing:
        raise DemoError(f"these questionnaires are not stored: {', '.join(missing)} (run `flask --app app db upgrade`)")
    return versions


def create(seed: int = DEFAULT_SEED, today: dt.date | None = None) -> Created:
    """Write the whole demo partnership in one transaction and say what was made.

    Call on a database with no agencies (see `populated`); the shipped questionnaires must be
    stored first (store.questionnaires.sync_shipped).
    """
    today = today or dt.date.today()
    rng = random.Random(seed)
    with db.atomic():
        build = _Builder(rng, today, _versions())
        agencies, agency_users, staff = build.people()
        previous, current = build.cycles()
        for plan in AGENCIES:
            agency, users = agencies[plan.key], agency_users[plan.key]
            if plan.has_previous:
                build.audit(previous, agency, plan, "submitted", users)
            audit = build.audit(current, agency, plan, plan.open_status, users)
            if plan.open_status == "reopened":
                when = _at(today - dt.timedelta(days=rng.randint(2, 9)), rng)
                before, after = {"status": "submitted"}, {"status": "reopened"}
                build.event(staff["reviewer"], audit, "audit", f"audit:{audit.id}", before, after, when)
            build.created.audits[plan.name] = plan.open_status
        _surveys(build, agencies)
        build.flush()
        flags = build.flag_concerns(staff["reviewer"])
        moderated = _moderate(staff["reviewer"], previous, current)
        build.created.counts = {
            "agencies": Agency.select().count(),
            "users": User.select().count(),
            "audits": Audit.select().count(),
            "survey rounds": SurveyRound.select().count(),
            "survey links": SurveyLink.select().count(),
            "survey responses": Response.select().where(Response.audit.is_null()).count(),
            "answers": Answer.select().count(),
            "actions": Action.select().count(),
            "flags of words of concern": flags,
            "moderated standards": moderated,
        }
    return build.created


# What the demo's reviewer concluded, standard by standard: (standard, rating or None for "the
# agency's rating stands", challenge note). Our own words; the first audits submitted get them.
MODERATIONS = (
    (
        "s2",
        "partially-met",
        "The policy is thorough, but staff we spoke to could not say where to find it. Show how it is shared with new starters.",
    ),
    (
        "s5",
        "partially-met",
        "Training records cover managers only. Add front-line and volunteer records before rating this Met.",
    ),
    ("s3", None, "Agreed: the lead's role and deputies are clear, and the on-call rota was shown."),
)


def _moderate(reviewer: User, previous: AuditCycle, current: AuditCycle) -> int:
    """The reviewer has moderated a few standards of the first two submitted audits of each cycle,
    through `store.scores.moderate`, so the heat map has self and moderated ratings side by side."""
    done = 0
    for cycle in (previous, current):
        audits = Audit.select().where((Audit.cycle == cycle) & (Audit.status == "submitted")).order_by(Audit.id)
        for audit in audits.limit(2):
            for section_id, rating, note in MODERATIONS:
                done += scores.moderate(audit, section_id, rating, note, reviewer)
    return done


def _surveys(build: _Builder, agencies: Mapping[str, Agency]) -> None:
    """The practitioner S11 survey (a link per agency), two workshops (a device link and a set of
    single-use codes), the children's survey and the family survey, all with answers."""
    rng, today = build.rng, build.today
    opens, closes = today - dt.timedelta(days=84), today + dt.timedelta(days=28)
    weeks = (opens, today)

    s11 = build.survey_round("practitioner-s11-survey", f"Practitioner safeguarding survey {opens.year}", opens, closes)
    for plan in AGENCIES:
        link = build.link(s11, plan.name, agency=agencies[plan.key])
        # each practitioner has their own outlook around their agency's
        for _ in range(plan.practitioners):
            outlook = min(0.97, max(0.05, rng.gauss(plan.staff_positive, 0.08)))
            build.responses("practitioner-s11-survey", link, 1, lambda _q, p=outlook: p, weeks)

    workshops = build.survey_round(
        "practitioner-workshop", f"Neglect and early help workshops {opens.year}", opens, closes
    )
    for (label, mode, held), count in zip(
        (
            ("Neglect workshop, town hall", "device", today - dt.timedelta(days=50)),
            ("Neglect workshop for schools", "tokens", today - dt.timedelta(days=22)),
        ),
        WORKSHOP_RESPONSES,
        strict=True,
    ):
        link = build.link(workshops, f"{label}, {held.day} {held:%B %Y}", mode)
        build.responses(
            "practitioner-workshop",
            link,
            count,
            lambda q: 0.3 if q.id.endswith("-before") else 0.85,
            (held, held + dt.timedelta(days=6)),
            dates={"workshop-date": held},
        )
        if mode == "tokens":
            codes = _codes(rng, WORKSHOP_CODES)
            _insert(
                SurveyToken,
                [
                    {"link": link.id, "token_hash": surveys.code_hash(c), "used_on": held if i < count else None}
                    for i, c in enumerate(codes)
                ],
            )
            build.created.codes[f"/s/{link.slug}"] = [surveys.display_code(c) for c in codes[count : count + 5]]

    children = build.survey_round("child-experience", f"Children and young people's survey {opens.year}", opens, closes)
    schools = build.link(children, "Schools and youth groups")
    youth = build.link(children, "Youth club sessions (12 to 17)", band="age-12-17")
    for band, count in CHILD_BANDS:
        for number in range(count):
            link = youth if band == "age-12-17" and number % 3 == 0 else schools
            outlook = min(0.97, max(0.1, rng.gauss(0.74, 0.12)))
            build.responses("child-experience", link, 1, lambda _q, p=outlook: p, weeks, band=band)

    families = build.survey_round("family-experience", f"Parent and carer survey {opens.year}", opens, closes)
    link = build.link(families, "Families working with children's services")
    build.responses("family-experience", link, FAMILY_RESPONSES, lambda _q: 0.64, weeks)
    build.worrying_answers()

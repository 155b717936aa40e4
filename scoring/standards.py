"""Score Section 11 audits: items through the declared rules, then one rating per standard.

`score_audits` takes the stored answers of one audit or of a whole cycle (any number of
responses of one questionnaire version) and returns three tables, meant to be stored when an
audit is submitted, moderated or re-scored, so that pages read scores and never re-read
answers:

- `items`: one row per audit and rating item, the rating chosen and the rating that counts;
- `standards`: one row per audit and standard, with the self rating, the weighted 0-100 score,
  the moderated and reported ratings (R6) and an explanation naming the rule that decided and
  the answers it read;
- `problems`: what blocks submission (R3, R5), one row per problem, in words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from questionnaires.model import Questionnaire, Rule
from scoring import rules as R
from scoring.frames import ANSWER_COLUMNS, REASON_SUFFIX, codes, iso_dates, option_frame, question_frame

EVIDENCE_COLUMNS = ["response_id", "item_id", "evidence_question", "index", "title", "type", "date", "link"]
ACTION_COLUMNS = ["response_id", "item_id", "action_question", "what", "owner", "due"]


@dataclass(frozen=True, slots=True)
class AuditScores:
    """What scoring audits yields; each frame is stored as it is."""

    items: pd.DataFrame
    standards: pd.DataFrame
    problems: pd.DataFrame


def _link_answers(
    answers: pd.DataFrame, questions: pd.DataFrame, link: str, items: Iterable[str] | None = None
) -> pd.DataFrame:
    """Answers to the questions that rating items name in `link` ('evidence' or 'action'), with the item id."""
    links = questions.loc[questions[link].notna(), ["question_id", link]]
    if items is not None:
        links = links.loc[links["question_id"].isin(list(items))]
    owner = pd.Series(links["question_id"].to_numpy(), index=pd.Index(links[link]))
    found = answers.loc[answers["question_id"].isin(owner.index), list(ANSWER_COLUMNS)]
    return found.assign(item_id=owner.reindex(found["question_id"]).to_numpy())


def evidence_frame(answers: pd.DataFrame, questions: pd.DataFrame, items: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per piece of evidence listed for a rating item (or for `items` only), its date parsed.

    Entries that are not objects (a malformed row) are dropped rather than stopping a batch.
    """
    found = _link_answers(answers, questions, "evidence", items)
    pieces = found.explode("value")
    pieces = pieces.loc[pieces["value"].map(type, na_action="ignore").eq(dict)]
    pieces = pieces.assign(index=pieces.groupby(["response_id", "item_id"], sort=False).cumcount())
    fields = pd.DataFrame.from_records(
        pieces["value"].tolist(), columns=["title", "type", "date", "link"], index=pieces.index
    )
    out = pd.DataFrame(
        {
            "response_id": pieces["response_id"],
            "item_id": pieces["item_id"].astype("str"),
            "evidence_question": pieces["question_id"].astype("str"),
            "index": pieces["index"].astype("int64"),
            "title": fields["title"].astype("str"),
            "type": fields["type"].astype("str"),
            "date": iso_dates(fields["date"]),
            "link": fields["link"].astype("str"),
        },
        columns=EVIDENCE_COLUMNS,
    )
    return out.reset_index(drop=True)


def action_frame(answers: pd.DataFrame, questions: pd.DataFrame) -> pd.DataFrame:
    """One row per action answer (what, owner, due) with the rating item it is for."""
    found = _link_answers(answers, questions, "action")
    found = found.loc[found["value"].map(type, na_action="ignore").eq(dict)]
    fields = pd.DataFrame.from_records(found["value"].tolist(), columns=["what", "owner", "due"], index=found.index)
    return pd.DataFrame(
        {
            "response_id": found["response_id"],
            "item_id": found["item_id"].astype("str"),
            "action_question": found["question_id"].astype("str"),
            "what": fields["what"].astype("str"),
            "owner": fields["owner"].astype("str"),
            "due": iso_dates(fields["due"]),
        },
        columns=ACTION_COLUMNS,
    ).reset_index(drop=True)


def _filled(values: pd.Series) -> np.ndarray:
    """Whether each value is text with something in it besides spaces."""
    text = values.where(values.map(type, na_action="ignore").eq(str)).astype("str")
    return text.str.strip().str.len().fillna(0).gt(0).to_numpy()


def build_items(
    questionnaire: Questionnaire,
    answers: pd.DataFrame,
    responses: Iterable[object] | None = None,
    questions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The items table the rules read (see `scoring.rules`): one row per response and rating item.

    Every rating item of every response appears, answered or not, so a standard with an
    unanswered item is seen as incomplete. `responses` names the responses to score (by
    default those with any answer). One hash lookup places each answer: its question's code
    says whether it is a rating, a reason, evidence or an action, and which item it is for;
    a response code times the number of items plus the item's code gives its row.
    """
    questions = question_frame(questionnaire) if questions is None else questions
    ratings = questions.loc[questions["type"].eq("rating") & questions["scored"]].reset_index(drop=True)
    ids = pd.unique(answers["response_id"]) if responses is None else pd.unique(pd.Series(list(responses)))
    response_index = pd.Index(ids)
    item_ids = ratings["question_id"].to_numpy(dtype=object)
    n_items = len(item_ids)
    size = len(response_index) * n_items

    # every question id that feeds an item: the rating, its reason, its evidence, its action
    kinds = {"rating": item_ids, "reason": item_ids + REASON_SUFFIX}
    kinds["evidence"] = ratings["evidence"].to_numpy(dtype=object)
    kinds["action"] = ratings["action"].to_numpy(dtype=object)
    feeds = (
        pd.DataFrame(
            {
                "question_id": np.concatenate(list(kinds.values())),
                "kind": np.repeat(list(kinds), n_items),
                "item": np.tile(np.arange(n_items), len(kinds)),
            }
        )
        .dropna(subset=["question_id"])
        .drop_duplicates("question_id")
    )
    code = codes(answers["question_id"], pd.Index(feeds["question_id"].to_numpy(dtype=object), dtype=object))
    r_code = response_index.get_indexer(answers["response_id"])
    hit = (code >= 0) & (r_code >= 0)
    value = answers["value"].to_numpy(dtype=object)[hit]
    at = r_code[hit] * n_items + feeds["item"].to_numpy()[code[hit]]
    kind = feeds["kind"].to_numpy()[code[hit]]

    def of(name: str) -> tuple[np.ndarray, pd.Series]:
        """Where in the grid the answers of one kind go, and their values (a later duplicate wins)."""
        mine = kind == name
        return at[mine], pd.Series(value[mine], dtype=object)

    options = option_frame(questionnaire)
    rating_options = options.loc[options["question_id"].isin(item_ids)]
    where, values = of("rating")
    known = codes(values, pd.Index(pd.unique(rating_options["value"].to_numpy(dtype=object)), dtype=object)) >= 0
    answered = np.full(size, None, dtype=object)
    answered[where[known]] = values[known].to_numpy()  # a value the scale does not have counts as unanswered

    where, values = of("reason")
    text = values.map(type, na_action="ignore").eq(str).to_numpy()
    reason = np.full(size, None, dtype=object)
    reason[where[text]] = values[text].to_numpy()

    where, values = of("evidence")
    listed = values.map(type, na_action="ignore").eq(list).to_numpy()
    counts = np.zeros(size, dtype=np.int64)
    counts[where[listed]] = values[listed].str.len().to_numpy(dtype=np.int64)

    where, values = of("action")
    objects = values.map(type, na_action="ignore").eq(dict).to_numpy()
    fields = pd.DataFrame.from_records(values[objects].tolist(), columns=["what", "owner", "due"])
    complete = _filled(fields["what"]) & _filled(fields["owner"]) & iso_dates(fields["due"]).notna().to_numpy()
    has_action = np.zeros(size, dtype=bool)
    has_action[where[objects][complete]] = True

    na_values = rating_options.loc[rating_options["not_applicable"]].drop_duplicates("question_id")
    na_of = pd.Series(na_values["value"].to_numpy(), index=na_values["question_id"].to_numpy())
    item_of = np.tile(np.arange(n_items), len(response_index))
    na_value = na_of.reindex(item_ids).to_numpy(dtype=object)[item_of]
    missing = np.full(size, None, dtype=object)
    frame = pd.DataFrame(
        {
            "response_id": np.repeat(response_index.to_numpy(), n_items),
            "section_id": ratings["section_id"].to_numpy(dtype=object)[item_of],
            "question_id": item_ids[item_of],
            "weight": ratings["weight"].to_numpy(dtype="float64")[item_of],
            "mandatory": ratings["mandatory"].to_numpy(dtype=bool)[item_of],
            "answered": answered,
            "rating": answered.copy(),
            "decided_by": missing,
            "why": missing.copy(),
            "evidence_count": counts,
            "reason": reason,
            "has_action": has_action,
            "applicable": pd.notna(answered) & (answered != na_value),
        }
    )
    # text stays object while the rules run: pandas' str dtype checks each value for missing on every comparison
    for column in ("section_id", "question_id", "answered", "rating", "decided_by", "why", "reason"):
        frame[column] = pd.Series(frame[column].to_numpy(dtype=object), dtype=object)
    return frame


def _rules_of(questionnaire: Questionnaire, kind: str) -> list[Rule]:
    return [rule for rule in questionnaire.rules.values() if rule.kind == kind]


def _applies_to(items: pd.DataFrame, questions: pd.DataFrame, rule: Rule) -> pd.Series:
    declared = questions.loc[questions["rules"].map(lambda ids: rule.id in ids), "question_id"]
    return items["question_id"].isin(declared)


def _section_scale(questionnaire: Questionnaire, options: pd.DataFrame, section_id: str) -> pd.DataFrame:
    section = questionnaire.section(section_id)
    first = next((q.id for q in section.questions if q.type == "rating"), None) if section else None
    return options.loc[options["question_id"].eq(first)].reset_index(drop=True)


def score_audits(
    questionnaire: Questionnaire,
    answers: pd.DataFrame,
    as_of: date,
    moderation: pd.DataFrame | None = None,
    responses: Iterable[object] | None = None,
) -> AuditScores:
    """Score one audit or a batch: items through R1, R3, R4 and R5, standards by R2, then R6.

    `answers` holds (`response_id`, `question_id`, `value`) as stored; `as_of` is the date
    evidence ages are measured to (the submission date for a stored score); `moderation`
    holds (`response_id`, `section_id`, `moderated_rating`). Rules run in the order a
    reviewer would apply them: missing evidence (R1), out-of-date evidence (R4), then not
    applicable (R3) and actions (R5), then the standard (R2) and moderation (R6).
    """
    questions = question_frame(questionnaire)
    options = option_frame(questionnaire)
    items = build_items(questionnaire, answers, responses, questions)
    problems = [R.empty_problems(items)]
    for rule in _rules_of(questionnaire, "evidence_for_met"):
        items = R.evidence_for_met(items, rule, options, _applies_to(items, questions, rule))
    for rule in _rules_of(questionnaire, "evidence_age"):
        applies = _applies_to(items, questions, rule)
        # only the evidence of items this rule applies to is read, piece by piece
        evidence = evidence_frame(answers, questions, pd.unique(items.loc[applies, "question_id"]))
        items = R.evidence_age(items, evidence, rule, options, as_of, applies)
    for rule in _rules_of(questionnaire, "not_applicable_reason"):
        items, found = R.not_applicable_reason(items, rule, options, _applies_to(items, questions, rule))
        problems.append(found)
    for rule in _rules_of(questionnaire, "action_for_shortfall"):
        problems.append(R.action_for_shortfall(items, rule, options, _applies_to(items, questions, rule)))

    standards = []
    for rule in _rules_of(questionnaire, "standard_rating"):
        by_scale: dict[tuple[str, ...], list[str]] = {}
        for section in questionnaire.sections:
            if rule.id in section.rules:
                scale = _section_scale(questionnaire, options, section.id)
                by_scale.setdefault(tuple(scale["value"]), []).append(section.id)
        for section_ids in by_scale.values():  # one call per scale: standards on one scale share labels
            mine = items.loc[items["section_id"].isin(section_ids)]
            if mine.empty:
                continue
            scale = _section_scale(questionnaire, options, section_ids[0])
            rated = R.standard_rating(mine, rule, options, scale)
            standards.append(R.moderate(rated, moderation, scale))
    columns = [
        "response_id",
        "section_id",
        "self_rating",
        "score_100",
        "items",
        "applicable",
        "met",
        "unanswered",
        "rule",
        "moderated_rating",
        "reported_rating",
        "rating_source",
        "moderation",
        "explanation",
    ]
    table = pd.concat(standards, ignore_index=True) if standards else pd.DataFrame(columns=columns)
    order = {s.id: s.position for s in questionnaire.sections}
    table = table.assign(_order=table["section_id"].map(order)).sort_values(["response_id", "_order"], kind="stable")
    problem_table = pd.concat([p for p in problems if not p.empty] or problems[:1], ignore_index=True)
    asked = pd.Series(questions["position"].to_numpy(), index=questions["question_id"].to_numpy())
    problem_table = (
        problem_table.assign(_order=asked.reindex(problem_table["question_id"]).to_numpy())
        .sort_values(["response_id", "_order"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    text = ["section_id", "question_id", "answered", "rating", "decided_by", "why", "reason"]
    return AuditScores(
        items=items.astype(dict.fromkeys(text, "str")),
        standards=table.drop(columns="_order").reset_index(drop=True)[columns],
        problems=problem_table,
    )


def submission_problems(scores: AuditScores) -> pd.DataFrame:
    """The problems that stop an audit being submitted, in the order its items are asked."""
    return scores.problems


def action_status(questionnaire: Questionnaire, actions: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """R7 for a table of actions (`due`, `progress`, any keys), by the questionnaire's declared rule."""
    found = [
        r
        for r in questionnaire.rules.values()
        if r.kind == "action_progress" and r.id in questionnaire.questionnaire_rules
    ]
    if not found:
        return actions.assign(overdue=False, rag=pd.Series(pd.NA, index=actions.index, dtype="str"), explanation=pd.NA)
    return R.action_progress(actions, found[0], as_of)


def practitioner_matches(
    questionnaire: Questionnaire, practitioner_scores: pd.DataFrame, practitioner_questions: pd.DataFrame
) -> pd.DataFrame:
    """Practitioner answer scores for questions that match a standard of `questionnaire`, with that section_id.

    Only answers in the base are kept (the rule counts no others); `section_id` is a
    categorical made from the question's code, so grouping by it costs no hashing.
    """
    matching = practitioner_questions.loc[
        practitioner_questions["matches_questionnaire"].eq(questionnaire.id), ["question_id", "matches_section"]
    ]
    questions = pd.Index(matching["question_id"].to_numpy(dtype=object), dtype=object)
    sections = pd.Index(pd.unique(matching["matches_section"].to_numpy(dtype=object)), dtype=object)
    section_of = sections.get_indexer(matching["matches_section"])
    code = codes(practitioner_scores["question_id"], questions)
    keep = (code >= 0) & practitioner_scores["in_base"].to_numpy(dtype=bool)
    found = practitioner_scores.loc[keep]
    return found.assign(section_id=pd.Categorical.from_codes(section_of[code[keep]], sections))


def _with_keys(frame: pd.DataFrame, keys: list[str], responses: pd.DataFrame | None) -> pd.DataFrame:
    """`frame` with the `keys` columns it lacks, looked up in `responses` by response_id (as categoricals)."""
    missing = [k for k in keys if k not in frame]
    if not missing:
        return frame
    if responses is None:
        raise ValueError(f"triangulation needs {', '.join(missing)}: give them in the frame or in `responses`")
    meta = responses.drop_duplicates("response_id")
    at = pd.Index(meta["response_id"]).get_indexer(frame["response_id"])
    found = at >= 0
    added = {}
    for key in missing:
        code, categories = pd.factorize(meta[key].to_numpy(dtype=object))
        added[key] = pd.Categorical.from_codes(code[at[found]], pd.Index(categories, dtype=object))
    return frame.loc[found].assign(**added)


def triangulate(
    questionnaire: Questionnaire,
    standards: pd.DataFrame,
    practitioner_scores: pd.DataFrame,
    practitioner_questions: pd.DataFrame,
    responses: pd.DataFrame | None = None,
    on: Iterable[str] = ("agency_id",),
) -> pd.DataFrame:
    """R8 for every standard whose section declares it.

    `standards` come from `score_audits`, `practitioner_scores` from `surveys.score_answers`;
    they are matched on the `on` columns (the agency, and the cycle if surveys are paired
    with audit cycles), taken from the frames when they have them or else from `responses`
    (one row per response: `response_id` and the `on` columns), and through the practitioner
    questions' `matches` links to standards.
    """
    keys = list(on)
    matched = practitioner_matches(questionnaire, practitioner_scores, practitioner_questions)
    matched = _with_keys(matched, keys, responses)
    standards = _with_keys(standards, keys, responses)
    parts = []
    for rule in _rules_of(questionnaire, "triangulation"):
        sections = [s.id for s in questionnaire.sections if rule.id in s.rules]
        mine = standards.loc[standards["section_id"].isin(sections)]
        parts.append(R.triangulation(mine, matched, rule, keys))
    if not parts:
        return standards.iloc[0:0]
    return pd.concat(parts).sort_index(kind="stable")


__all__ = [
    "AuditScores",
    "action_frame",
    "action_status",
    "build_items",
    "evidence_frame",
    "practitioner_matches",
    "score_audits",
    "submission_problems",
    "triangulate",
]

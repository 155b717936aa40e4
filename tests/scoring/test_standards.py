"""Scoring whole S11 audits with the shipped definition: rules in order, explanations, batches."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from questionnaires import Questionnaire
from scoring import standards as standards_module
from scoring.frames import question_frame
from scoring.standards import action_status, build_items, evidence_frame, score_audits, triangulate
from scoring.surveys import score_answers

AS_OF = date(2025, 6, 30)


def _evidence(title: str = "Board minutes", kind: str = "minutes", when: str = "2025-01-10") -> list[dict[str, Any]]:
    return [{"title": title, "type": kind, "date": when, "link": None}]


ACTION = {"what": "Write the annual report", "owner": "Director of quality", "due": "2025-12-31"}


def _audit(response_id: int, s11: Questionnaire, overrides: dict[str, Any]) -> list[tuple[int, str, Any]]:
    """A complete audit: every item Met with recent evidence, then the overrides."""
    answers: dict[str, Any] = {}
    for q in s11.questions:
        if q.type == "rating":
            answers[q.id] = "met"
            answers[q.evidence] = _evidence()
    answers.update(overrides)
    return [(response_id, k, v) for k, v in answers.items() if v is not None]


def _frame(rows: list[tuple[int, str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["response_id", "question_id", "value"])
    frame["value"] = frame["value"].astype(object)
    return frame


@pytest.fixture
def cycle(s11: Questionnaire) -> pd.DataFrame:
    return _frame(
        _audit(1, s11, {})
        + _audit(
            2,
            s11,
            {
                "s1.2": "met",
                "s1.2-evidence": [],  # R1: Met without evidence
                "s2.1-evidence": _evidence("Safeguarding policy", "policy", "2020-03-01"),  # R4: too old
                "s1.3": "not-applicable",
                "s1.3__reason": "We are not part of any local partnership board",
                "s1.4": "partially-met",
                "s1.4-action": ACTION,
                "s3.1": "not-met",  # R5: no action
            },
        )
        + _audit(3, s11, {"s4.1": None})  # not answered: the standard is not rated
    )


def test_a_fully_met_audit_is_met_everywhere(s11: Questionnaire, cycle: pd.DataFrame) -> None:
    scores = score_audits(s11, cycle.loc[cycle["response_id"].eq(1)], AS_OF)
    assert scores.standards["self_rating"].tolist() == ["met"] * len(s11.sections)
    assert scores.standards["score_100"].tolist() == [100.0] * len(s11.sections)
    assert scores.problems.empty


def test_rules_in_order_on_one_audit(s11: Questionnaire, cycle: pd.DataFrame) -> None:
    scores = score_audits(s11, cycle, AS_OF)
    items = scores.items.set_index(["response_id", "question_id"])
    assert items.loc[(2, "s1.2"), ["answered", "rating", "decided_by"]].tolist() == [
        "met",
        "partially-met",
        "evidence-for-met",
    ]
    assert items.loc[(2, "s2.1"), ["rating", "decided_by"]].tolist() == ["partially-met", "policy-currency"]
    assert not items.loc[(2, "s1.3"), "applicable"]
    standards = scores.standards.set_index(["response_id", "section_id"])
    s1 = standards.loc[(2, "s1")]
    # s1.1 Met (weight 2), s1.2 counted Partially met, s1.3 N/A, s1.4 Partially met: (200 + 50 + 50) / 4
    assert s1["self_rating"] == "partially-met"
    assert s1["score_100"] == pytest.approx(75.0)
    assert s1["explanation"] == (
        "Partially met: 1 of the 3 items that apply counts as Met, and the weighted score of 75 out of 100 reaches 50, the"
        " least for Partially met (rule R2: a standard's rating comes from its items). Answers read:"
        " ‘Is a named person at board level responsible for…’ is rated Met, with 1 piece of evidence;"
        " ‘Does your board or senior team get a safeguarding report…’ is rated Met but counts as Partially met"
        " because no evidence is listed (rule R1: Met needs evidence);"
        " ‘Does your agency take part in the safeguarding partnership…’ is rated Not applicable, with a reason;"
        " ‘Do you check regularly how well safeguarding works in…’ is rated Partially met, with 1 piece of evidence."
    )
    assert standards.loc[(2, "s2"), "explanation"].startswith("Partially met: 2 of the 3 items that apply count as Met")
    assert (
        "‘Do you have a written safeguarding policy that has been…’ is rated Met but counts as Partially met because"
        " ‘Safeguarding policy’, given as evidence, is dated 1 March 2020, more than 3 years before the audit on"
        " 30 June 2025 (rule R4: evidence must be recent)"
    ) in standards.loc[(2, "s2"), "explanation"]
    assert pd.isna(standards.loc[(3, "s4"), "self_rating"])
    assert standards.loc[(3, "s4"), "explanation"].startswith("Not rated: 1 item is not answered or cannot be counted")


def test_explanations_name_questions_answers_and_dates_in_words(s11: Questionnaire, cycle: pd.DataFrame) -> None:
    """People read explanations: never a question id, a stored value or an ISO date, and every rule named."""
    scores = score_audits(s11, cycle, AS_OF, _one_moderation())
    text = " ".join([*scores.standards["explanation"], *scores.items["why"].dropna(), *scores.problems["message"]])
    assert not re.search(r"\bs\d+\.\d+\b", text), "a question id"
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text), "an ISO date"
    for value in (
        "partially-met",
        "not-met",
        "not-applicable",
        "evidence-for-met",
        "policy-currency",
        "standard-rating",
    ):
        assert value not in text
    assert all(re.search(r"\(rule R2: [^)]+\)\. Answers read: ", e) for e in scores.standards["explanation"])
    assert "(rule R6: a moderated rating is used in reports)." in text


def test_problems_block_submission(s11: Questionnaire, cycle: pd.DataFrame) -> None:
    problems = score_audits(s11, cycle, AS_OF).problems
    expected = pd.DataFrame(
        {
            "response_id": [2],
            "section_id": ["s3"],
            "question_id": ["s3.1"],
            "rule": ["action-for-shortfall"],
            "message": [
                "‘Do you have a designated safeguarding lead with the time…’ is rated Not met: add an action saying"
                " what will be done, who owns it and when it is due"
            ],
        }
    ).astype({"section_id": "str", "question_id": "str", "rule": "str", "message": "str"})
    assert_frame_equal(problems, expected)


def test_one_audit_scores_the_same_alone_as_in_a_batch(s11: Questionnaire, cycle: pd.DataFrame) -> None:
    batch = score_audits(s11, cycle, AS_OF).standards
    for response_id in (1, 2, 3):
        alone = score_audits(s11, cycle.loc[cycle["response_id"].eq(response_id)], AS_OF).standards
        assert_frame_equal(alone, batch.loc[batch["response_id"].eq(response_id)].reset_index(drop=True))


def test_an_audit_with_no_answers_is_scored_when_named(s11: Questionnaire) -> None:
    scores = score_audits(s11, _frame([]), AS_OF, responses=[9])
    assert scores.standards["response_id"].tolist() == [9] * len(s11.sections)
    assert scores.standards["self_rating"].isna().all()


def _one_moderation() -> pd.DataFrame:
    return pd.DataFrame({"response_id": [1], "section_id": ["s5"], "moderated_rating": ["partially-met"]})


def test_moderation_replaces_the_self_rating_in_reports(s11: Questionnaire, cycle: pd.DataFrame) -> None:
    standards = score_audits(s11, cycle, AS_OF, _one_moderation()).standards.set_index(["response_id", "section_id"])
    row = standards.loc[(1, "s5")]
    assert row[["self_rating", "moderated_rating", "reported_rating", "rating_source", "moderation"]].tolist() == [
        "met",
        "partially-met",
        "partially-met",
        "moderated",
        "lowered",
    ]
    assert row["explanation"].endswith(
        " The sub-group moderated this standard to Partially met, which reports use instead of the agency's own rating, Met"
        " (rule R6: a moderated rating is used in reports)."
    )
    assert standards.loc[(1, "s4"), "rating_source"] == "self"


def test_malformed_answers_do_not_stop_a_batch(s11: Questionnaire) -> None:
    rows = _audit(
        1,
        s11,
        {"s1.1": ["met"], "s1.1-evidence": "not a list", "s1.2-evidence": [1, {"title": "x"}], "s1.4-action": "x"},
    )
    scores = score_audits(s11, _frame(rows), AS_OF)
    items = scores.items.set_index("question_id")
    assert pd.isna(items.loc["s1.1", "answered"])
    assert items.loc["s1.2", "evidence_count"] == 2
    assert len(evidence_frame(_frame(rows), question_frame(s11), ["s1.2"])) == 1


def test_evidence_frame_numbers_each_items_pieces_and_parses_their_dates(s11: Questionnaire) -> None:
    policy = {"title": "Policy", "type": "policy", "date": "2021-03-01", "link": "https://x"}
    rows = [
        (1, "s1.1-evidence", [policy, {"title": "Minutes", "date": "1 March"}]),
        (1, "s1.2-evidence", ("not an object", {"title": 7, "type": "report", "date": "2024-02-29"})),
        (2, "s1.1-evidence", [policy]),
        (2, "s1.2-evidence", "not a list"),
    ]
    got = evidence_frame(_frame(rows), question_frame(s11))
    assert got.columns.tolist() == [
        "response_id",
        "item_id",
        "evidence_question",
        "index",
        "title",
        "type",
        "date",
        "link",
    ]
    assert got[["response_id", "item_id", "index", "title", "type", "link"]].astype(object).where(
        got.notna(), None
    ).values.tolist() == [
        [1, "s1.1", 0, "Policy", "policy", "https://x"],
        [1, "s1.1", 1, "Minutes", None, None],
        [1, "s1.2", 0, "7", "report", None],
        [2, "s1.1", 0, "Policy", "policy", "https://x"],
    ]
    assert got["date"].tolist()[:3] == [pd.Timestamp("2021-03-01"), pd.NaT, pd.Timestamp("2024-02-29")]
    assert got["date"].dtype == "datetime64[ns]" and got["index"].dtype == "int64"
    assert got["evidence_question"].tolist() == ["s1.1-evidence", "s1.1-evidence", "s1.2-evidence", "s1.1-evidence"]


def test_items_grid_covers_every_rating_item(s11: Questionnaire, cycle: pd.DataFrame) -> None:
    items = build_items(s11, cycle)
    ratings = [q.id for q in s11.questions if q.type == "rating"]
    assert len(items) == 3 * len(ratings)
    assert items.loc[items["response_id"].eq(1), "question_id"].tolist() == ratings


def test_action_progress_by_the_declared_rule(s11: Questionnaire) -> None:
    actions = pd.DataFrame({"audit": [1, 1], "due": pd.to_datetime(["2025-01-01", "2026-01-01"]), "progress": [10, 80]})
    out = action_status(s11, actions, AS_OF)
    assert out["rag"].tolist() == ["red", "green"]
    assert out["overdue"].tolist() == [True, False]


def test_triangulation_with_the_practitioner_survey(
    shipped: dict[str, Questionnaire], s11: Questionnaire, cycle: pd.DataFrame
) -> None:
    survey = shipped["practitioner-s11-survey"]
    standards = score_audits(s11, cycle, AS_OF).standards.assign(agency_id=lambda f: f["response_id"] * 10)
    # agency 10's practitioners: 6 of 10 say they know the designated lead (matches s3); 3 say yes to policy (s2)
    rows = [(100 + i, "dsl-known", "yes" if i < 6 else "no") for i in range(10)]
    rows += [(200 + i, "policy-known", "yes") for i in range(3)]
    practitioner = score_answers(survey, _frame(rows)).assign(agency_id=10)
    out = triangulate(s11, standards, practitioner, question_frame(survey)).set_index(["agency_id", "section_id"])
    assert out.loc[(10, "s3"), "triangulation"] == "flag"
    assert out.loc[(10, "s3"), "positive_share"] == pytest.approx(0.6)
    assert out.loc[(10, "s2"), "triangulation"] == "not-enough-answers"
    assert out.loc[(20, "s3"), "triangulation"] == "not-checked"  # agency 20 rated s3 Not met
    assert out.loc[(30, "s3"), "triangulation"] == "not-enough-answers"  # nobody answered
    assert out.loc[(10, "s3"), "triangulation_explanation"] == (
        "Flagged: rated Met, but only 60% of 10 practitioners answered positively, under the 80% needed"
        " (rule R8: a Met rating is checked against practitioners' answers)."
    )
    assert out.loc[(20, "s3"), "triangulation_explanation"].startswith("Not checked: the standard is not rated Met")


def _nine_of_ten_know_the_lead(survey: Questionnaire) -> pd.DataFrame:
    """Answer scores of ten practitioners (responses 100 to 109) asked if they know the designated lead: nine yes."""
    return score_answers(survey, _frame([(100 + i, "dsl-known", "yes" if i < 9 else "no") for i in range(10)]))


def test_triangulation_takes_agency_and_cycle_from_the_responses(
    shipped: dict[str, Questionnaire], s11: Questionnaire, cycle: pd.DataFrame
) -> None:
    survey = shipped["practitioner-s11-survey"]
    standards = score_audits(s11, cycle, AS_OF).standards
    practitioner = _nine_of_ten_know_the_lead(survey)
    responses = pd.DataFrame(
        {
            "response_id": [1, 2, 3, *range(100, 110)],
            "agency_id": [10, 20, 30, *[10] * 10],
            "cycle": ["2025"] * 3 + ["2024"] * 5 + ["2025"] * 5,  # half the practitioners answered last year
        }
    )
    out = triangulate(s11, standards, practitioner, question_frame(survey), responses, on=("agency_id", "cycle"))
    row = out.set_index(["agency_id", "section_id"]).loc[(10, "s3")]
    assert (row["practitioner_answers"], row["triangulation"]) == (5, "no-flag")  # 4 of 5: 80% is not under 80%
    assert row["positive_share"] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="triangulation needs agency_id"):
        triangulate(s11, standards, practitioner, question_frame(survey))


def test_standards_and_problems_come_by_audit_then_as_asked_whatever_order_answers_are_stored(
    s11: Questionnaire,
) -> None:
    na = {"s2.1": "not-applicable", "s1.3": "not-applicable"}  # no reason given: a problem each
    rows = _audit(7, s11, na) + _audit(3, s11, na) + _audit(5, s11, {})
    rows = rows[::-1]  # every audit's answers last asked first
    scores = score_audits(s11, _frame(rows), AS_OF)
    sections = [s.id for s in s11.sections]
    assert scores.standards["response_id"].tolist() == [3] * len(sections) + [5] * len(sections) + [7] * len(sections)
    assert scores.standards["section_id"].tolist() == sections * 3
    assert scores.standards.index.equals(pd.RangeIndex(3 * len(sections)))
    assert scores.problems[["response_id", "question_id"]].values.tolist() == [
        [3, "s1.3"],
        [3, "s2.1"],
        [7, "s1.3"],
        [7, "s2.1"],
    ]


def test_triangulation_keys_from_the_responses_keep_their_values_in_the_order_first_seen(
    shipped: dict[str, Questionnaire], s11: Questionnaire, cycle: pd.DataFrame
) -> None:
    """Keys held as text, categories or numbers come out as categoricals of their values, a missing one missing."""
    survey = shipped["practitioner-s11-survey"]
    standards = score_audits(s11, cycle, AS_OF).standards
    practitioner = score_answers(survey, _frame([(100 + i, "dsl-known", "yes") for i in range(6)]))
    responses = pd.DataFrame(
        {
            "response_id": [1, 2, 3, *range(100, 106)],
            "agency_id": pd.Series([30, 20, 10, *[10] * 6], dtype="category"),
            "cycle": pd.Series(["2025", "2025", None, *["2024"] * 6], dtype="str"),
            "sector": [5, 4, 3, *[3] * 6],
        }
    )
    out = triangulate(
        s11, standards, practitioner, question_frame(survey), responses, on=("agency_id", "cycle", "sector")
    )
    assert out["cycle"].cat.categories.tolist() == ["2025", "2024"]
    assert out["agency_id"].cat.categories.tolist() == [30, 20, 10]
    assert out["sector"].cat.categories.tolist() == [5, 4, 3]
    by_response = out.drop_duplicates("response_id").set_index("response_id")
    assert by_response["cycle"].isna().tolist() == [False, False, True]
    assert by_response["sector"].tolist() == [5, 4, 3]


def _practitioners_of_two_agencies(survey: Questionnaire) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Answer scores of 12 practitioners (a third negative) and the responses of three audits and theirs:
    agencies 10 and 20, some of them with no cycle, and one answer of a response not described."""
    rows = [(100 + i, q, "yes" if i % 3 else "no") for i in range(12) for q in ("dsl-known", "policy-known")]
    rows.append((999, "dsl-known", "yes"))  # a response not in `responses`: it counts for no standard
    responses = pd.DataFrame(
        {
            "response_id": [1, 2, 3, *range(100, 112)],
            "agency_id": [10, 20, 10, *[10] * 6, *[20] * 6],
            "cycle": pd.Series(["2025", "2025", None, *["2025"] * 4, None, None, *["2025"] * 6], dtype="str"),
        }
    )
    return score_answers(survey, _frame(rows)), responses


def test_triangulation_with_keys_from_the_responses_counts_as_the_frames_joined_on_them(
    shipped: dict[str, Questionnaire], s11: Questionnaire, cycle: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys from `responses` are counted from their codes, with no frame of the answers, to the same figures."""
    survey = shipped["practitioner-s11-survey"]
    standards = score_audits(s11, cycle, AS_OF).standards
    practitioner, responses = _practitioners_of_two_agencies(survey)
    on = ("agency_id", "cycle")
    by_id = responses.set_index("response_id")

    def joined(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(**{key: frame["response_id"].map(by_id[key]) for key in on})

    expected = triangulate(s11, joined(standards), joined(practitioner), question_frame(survey), on=on)
    monkeypatch.setattr(standards_module.R, "triangulation", None)  # not by a frame of the answers
    got = triangulate(s11, standards, practitioner, question_frame(survey), responses, on=on)
    figures = ["response_id", "section_id", "practitioner_answers", "practitioner_positive", "positive_share"]
    figures += ["triangulation", "triangulation_explanation"]
    assert_frame_equal(got[figures], expected[figures], check_exact=True)
    # agency 10 in 2025, agency 20 in 2025, agency 10 with no cycle (a missing cycle matches a missing one)
    assert got.loc[got["section_id"].eq("s3"), "practitioner_answers"].tolist() == [4, 6, 2]


def test_triangulation_finds_the_met_label_once_per_definition(
    shipped: dict[str, Questionnaire], s11: Questionnaire, cycle: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The met rating's label comes from the definition alone: a second batch does not look for it again."""
    survey = shipped["practitioner-s11-survey"]
    standards = score_audits(s11, cycle, AS_OF).standards.assign(agency_id=lambda f: f["response_id"] * 10)
    practitioner = score_answers(survey, _frame([(100, "dsl-known", "no")])).assign(agency_id=10)
    first = triangulate(s11, standards, practitioner, question_frame(survey))
    monkeypatch.setattr(standards_module, "_section_scale", None)
    again = triangulate(s11, standards, practitioner, question_frame(survey))
    assert_frame_equal(again, first)
    assert again["triangulation_explanation"].str.contains("rated Met").any()


def test_triangulation_reads_responses_by_id_as_they_are_and_others_once_per_id(
    shipped: dict[str, Questionnaire], s11: Questionnaire, cycle: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Responses by ascending id are read as they are; others are read once per id (the first row of each)."""
    survey = shipped["practitioner-s11-survey"]
    standards = score_audits(s11, cycle, AS_OF).standards
    practitioner = score_answers(survey, _frame([(100 + i, "dsl-known", "yes") for i in range(6)]))
    responses = pd.DataFrame({"response_id": [1, 2, 3, *range(100, 106)], "agency_id": [10, 20, 30, *[10] * 6]})
    repeated = pd.concat([responses, responses.assign(agency_id=99)])  # each id twice: the first row counts
    expected = triangulate(s11, standards, practitioner, question_frame(survey), repeated)
    assert expected.loc[expected["section_id"].eq("s3"), "practitioner_answers"].tolist() == [6, 0, 0]

    def dropped(*args: object, **kwargs: object) -> pd.DataFrame:
        raise AssertionError("responses by ascending id have nothing to drop")

    monkeypatch.setattr(pd.DataFrame, "drop_duplicates", dropped)
    assert_frame_equal(triangulate(s11, standards, practitioner, question_frame(survey), responses), expected)


@pytest.fixture
def looked_up(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many question ids reading items looks up, call by call, for batches of any size (as a large one is read)."""
    counts: list[int] = []
    monkeypatch.setattr(standards_module, "_LOOKED_UP_AT_ONCE", 0)
    lookup = standards_module.codes

    def counted(values: Any, categories: pd.Index) -> Any:
        if getattr(values, "name", None) == "question_id":
            counts.append(len(values))
        return lookup(values, categories)

    monkeypatch.setattr(standards_module, "codes", counted)
    return counts


def test_questions_repeated_audit_after_audit_are_looked_up_once(s11: Questionnaire, looked_up: list[int]) -> None:
    """Audits stored one after another with the same questions in the same order: only the first audit's are looked up."""
    first = _audit(1, s11, {})
    alike = _frame(first + _audit(2, s11, {}) + _audit(3, s11, {}))
    items = build_items(s11, alike)
    assert looked_up == [len(first)]
    assert items["question_id"].tolist() == [q.id for q in s11.questions if q.type == "rating"] * 3


def test_a_few_audits_are_looked_up_at_once(s11: Questionnaire, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch of a few audits, whose comparing would cost more than it saves, is looked up in one call, as read alone."""
    audits = [_audit(n, s11, {}) for n in range(1, 4)]
    counts: list[int] = []
    lookup = standards_module.codes

    def counted(values: Any, categories: pd.Index) -> Any:
        counts.append(len(values))
        return lookup(values, categories)

    monkeypatch.setattr(standards_module, "codes", counted)
    batch = build_items(s11, _frame([row for audit in audits for row in audit]))
    assert counts[0] == sum(map(len, audits))
    monkeypatch.setattr(standards_module, "codes", lookup)
    assert_frame_equal(batch, pd.concat([build_items(s11, _frame(audit)) for audit in audits], ignore_index=True))


def test_questions_that_mostly_do_not_repeat_are_all_looked_up_at_once(
    s11: Questionnaire, looked_up: list[int]
) -> None:
    """Audits answering in other orders: comparing would cost more than it saves, so every question is looked up."""
    rows = [row for n in range(1, 7) for row in (_audit(n, s11, {})[::-1] if n in (3, 5) else _audit(n, s11, {}))]
    items = build_items(s11, _frame(rows))  # only the second audit repeats the one before
    assert looked_up == [len(rows)]
    assert items["question_id"].tolist() == [q.id for q in s11.questions if q.type == "rating"] * 6


def test_audits_answering_other_questions_in_a_batch_read_as_alone(s11: Questionnaire, looked_up: list[int]) -> None:
    """An audit with an answer fewer, one more, or in another order reads as it does alone, and so do those after it."""
    audits = [_audit(n, s11, {"s1.1": "not-met"} if n % 2 else {}) for n in range(1, 9)] + [
        _audit(9, s11, {"s1.2-evidence": None, "s1.3": "not-applicable", "s1.3__reason": "Not a partner"}),
        _audit(10, s11, {})[::-1],
        _audit(11, s11, {"s3.1": "not-met", "s3.1-action": ACTION}),
        _audit(12, s11, {}),
        _audit(13, s11, {"s4.1": None}),
    ]
    rows = [row for audit in audits for row in audit]
    batch = build_items(s11, _frame(rows))
    assert 0 < looked_up[0] < len(rows)  # most repeat the one an audit before: those are not looked up
    alone = pd.concat([build_items(s11, _frame(audit)) for audit in audits], ignore_index=True)
    assert_frame_equal(batch, alone)


def test_practitioner_matches_read_each_question_s_section_once_in_small_codes(
    shipped: dict[str, Questionnaire],
) -> None:
    """Answers with categorical question ids take their question's section by its code, in the smallest integers.

    They keep the same answers, with the same sections, as the same ids held as text: a
    question matching no standard, a missing question and an answer out of the base are
    dropped, and a category no answer uses changes nothing.
    """
    survey, s11 = shipped["practitioner-s11-survey"], shipped["s11-self-audit"]
    rows = [(100 + i, question, value) for i, (question, value) in enumerate([("dsl-known", "yes")] * 5)]
    scores = score_answers(survey, _frame(rows)).assign(in_base=[True, True, True, True, False])
    asked = pd.Categorical(
        ["policy-known", "not-a-question", None, "dsl-known", "dsl-known"],
        categories=["unused", "dsl-known", "not-a-question", "policy-known"],
    )
    categorical = scores.assign(question_id=asked)
    as_text = categorical.assign(question_id=categorical["question_id"].astype(object))
    questions = question_frame(survey)
    got = standards_module.practitioner_matches(s11, categorical, questions)
    expected = standards_module.practitioner_matches(s11, as_text, questions)
    assert_frame_equal(got.assign(question_id=got["question_id"].astype(object)), expected)
    assert got["response_id"].tolist() == [100, 103] and got["section_id"].tolist() == ["s2", "s3"]
    keep, section, _ = standards_module._matching(s11, categorical, questions)
    assert section.dtype == "int8" and len(section) == int(keep.sum())


def _question_frames(survey: Questionnaire) -> list[pd.DataFrame]:
    """The survey's question frame and variants of its links: reordered, pointing elsewhere, missing, as objects."""
    questions = question_frame(survey)
    matching = questions["matches_questionnaire"].eq("s11-self-audit").to_numpy()
    first = np.flatnonzero(matching)[:2]
    elsewhere = questions.copy()
    elsewhere.loc[first[0], "matches_questionnaire"] = "another-audit"  # one link to another definition
    section = elsewhere.columns.get_loc("matches_section")
    elsewhere.iloc[first[1], section] = elsewhere.iloc[first[0], section]  # two questions, one section
    as_objects = questions.astype(dict.fromkeys(("question_id", "matches_questionnaire", "matches_section"), object))
    as_objects.loc[~matching, "matches_questionnaire"] = None
    return [questions, questions.iloc[::-1].reset_index(drop=True), elsewhere, as_objects]


def test_matching_read_from_text_links_as_from_the_columns(
    shipped: dict[str, Questionnaire], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain text links are read as Python lists (`_text_links`): the same answers, sections and codes as the columns.

    Categories include one no question has, a missing answer's question and a question
    matching nothing; the links come reordered, pointing to another audit, two questions to
    one section, and held as objects with None. Both paths are run on each.
    """
    survey, s11 = shipped["practitioner-s11-survey"], shipped["s11-self-audit"]
    asked = ["policy-known", "not-a-question", None, "dsl-known", "senior-leaders", "neglect", "dsl-known"]
    rows = [(100 + i, "dsl-known", "yes") for i in range(len(asked))]
    scores = score_answers(survey, _frame(rows)).assign(
        question_id=pd.Categorical(asked, categories=["unused", "not-a-question", *(q.id for q in survey.questions)]),
        in_base=[True, True, True, True, True, True, False],
    )
    for questions in _question_frames(survey):
        assert standards_module._text_links(s11.id, questions) is not None  # the fast path is taken
        fast = standards_module._matching(s11, scores, questions)
        with monkeypatch.context() as patched:
            patched.setattr(standards_module, "_text_links", lambda *_: None)
            general = standards_module._matching(s11, scores, questions)
        assert np.array_equal(fast[0], general[0]) and fast[0].any()
        assert fast[1].dtype == general[1].dtype and np.array_equal(fast[1], general[1])
        assert fast[2].equals(general[2]) and fast[2].dtype == general[2].dtype


def test_matching_leaves_links_that_are_not_plain_text_to_the_columns(shipped: dict[str, Questionnaire]) -> None:
    """A missing section, a repeated question or a link that is not text: not read as lists, matched as before."""
    survey, s11 = shipped["practitioner-s11-survey"], shipped["s11-self-audit"]
    questions = question_frame(survey).astype(dict.fromkeys(("question_id", "matches_section"), object))
    row = int(np.flatnonzero(questions["matches_questionnaire"].eq(s11.id).to_numpy())[0])
    missing = questions.copy()
    missing.loc[row, "matches_section"] = None
    repeated = pd.concat([questions, questions.iloc[[row]]], ignore_index=True)
    other = questions.astype({"matches_questionnaire": object})
    other.loc[row + 1, "matches_questionnaire"] = 7
    for frame in (missing, repeated, other):
        assert standards_module._text_links(s11.id, frame) is None


def test_triangulation_gives_rows_in_index_order_whether_or_not_they_come_so(
    shipped: dict[str, Questionnaire], s11: Questionnaire, cycle: pd.DataFrame
) -> None:
    """Standards in index order are returned as R8 made them; shuffled ones are sorted back: the same rows."""
    survey, standards = shipped["practitioner-s11-survey"], score_audits(s11, cycle, AS_OF).standards
    practitioner = _nine_of_ten_know_the_lead(survey)
    responses = pd.DataFrame({"response_id": [1, 2, 3, *range(100, 110)], "agency_id": [10, 20, 30, *[10] * 10]})
    shuffled = standards.iloc[np.random.default_rng(3).permutation(len(standards))]
    in_order = triangulate(s11, standards, practitioner, question_frame(survey), responses)
    sorted_back = triangulate(s11, shuffled, practitioner, question_frame(survey), responses)
    assert in_order.index.is_monotonic_increasing
    assert_frame_equal(in_order, sorted_back, check_index_type=False)  # a shuffled index is no longer a range
    assert (in_order["practitioner_answers"] > 0).any()


def test_actions_beside_a_malformed_one_count_as_they_do_alone(s11: Questionnaire) -> None:
    partial = {"s1.1": "partially-met", "s1.2": "partially-met", "s1.3": "partially-met"}
    actions = {"s1.1-action": ACTION, "s1.3-action": {**ACTION, "owner": " "}}
    alone = score_audits(s11, _frame(_audit(1, s11, partial | actions)), AS_OF).items.set_index("question_id")
    beside = score_audits(
        s11, _frame(_audit(1, s11, partial | actions | {"s1.2-action": "not an object"})), AS_OF
    ).items.set_index("question_id")
    assert alone.loc[["s1.1", "s1.2", "s1.3"], "has_action"].tolist() == [True, False, False]
    assert beside.loc[["s1.1", "s1.2", "s1.3"], "has_action"].tolist() == [True, False, False]


def test_dates_of_evidence_and_actions_read_as_iso_dates_reads_them() -> None:
    from scoring.frames import iso_dates
    from scoring.standards import _is_iso_date, _iso_dates

    values = np.empty(15, dtype=object)
    values[:] = [
        "2025-12-31", None, 5, "2025-02-30", "2025-13-01", "x", "2025-01-01T10:00", ["a"], float("nan"),
        pd.NA, "1500-01-01", "2025-1-1", 20250101, True, "2019-04-01",
    ]  # fmt: skip
    expected = iso_dates(pd.Series(values, dtype=object))
    got = _iso_dates(values)
    assert got.dtype == "datetime64[ns]" and np.array_equal(got, expected.to_numpy(), equal_nan=True)
    assert _is_iso_date(values).tolist() == expected.notna().tolist()


@pytest.mark.parametrize(
    "ids",
    [
        lambda s: "r" + s.astype(str),  # text: hashed
        lambda s: s - 1_000,  # negative: a table from the lowest id
        lambda s: s * 1_000_000_007,  # far apart: hashed
        lambda s: s.astype("int32"),  # narrower than the responses' ids
    ],
)
def test_triangulation_finds_responses_whatever_their_ids(
    shipped: dict[str, Questionnaire], s11: Questionnaire, cycle: pd.DataFrame, ids: Any
) -> None:
    """Keys from `responses` reach the standards and the answers by id, as numbers compare or text hashes."""
    survey = shipped["practitioner-s11-survey"]
    standards = score_audits(s11, cycle, AS_OF).standards
    practitioner, responses = _practitioners_of_two_agencies(survey)
    on = ("agency_id", "cycle")
    expected = triangulate(s11, standards, practitioner, question_frame(survey), responses, on=on)
    assert expected.loc[expected["section_id"].eq("s3"), "practitioner_answers"].tolist() == [4, 6, 2]

    def renamed(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(response_id=ids(frame["response_id"]))

    got = triangulate(s11, renamed(standards), renamed(practitioner), question_frame(survey), renamed(responses), on=on)
    assert_frame_equal(got, renamed(expected))

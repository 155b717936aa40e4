"""Each rule R1-R8 on tables of cases: the rows a rule reads, and the rows it must give back.

Every case table is run twice: one case at a time (so a failure names its case), and all the
cases together in one call (so the vectorised rule does not depend on its neighbours).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal

from scoring import rules as R
from tests.scoring.conftest import make_items, make_options, rule

R1 = rule("evidence_for_met", met="met", downgrade_to="partially-met")
R3 = rule("not_applicable_reason", "na-reason", min_reason_length=10)
R4 = rule("evidence_age", "policy-currency", max_age_years=3, evidence_types=["policy"], downgrade_to="partially-met")
R5 = rule("action_for_shortfall", shortfall=["partially-met", "not-met"])
R2 = rule(
    "standard_rating",
    met="met",
    thresholds=[{"rating": "partially-met", "min_score": 50}, {"rating": "not-met", "min_score": 0}],
)
R7 = rule("action_progress", red_below=25, green_from=75, overdue_red_below=50)
R8 = rule("triangulation", met="met", min_positive_share=0.8, min_respondents=5)
AS_OF = date(2025, 6, 30)
OPTIONS = make_options()


def _counted(frame: pd.DataFrame) -> pd.DataFrame:
    """The rating counted and the rule that decided it, missing values as None."""
    out = frame[["rating", "decided_by"]].reset_index(drop=True).astype(object)
    return out.where(out.notna(), None)


def _expected(rows: list[tuple[Any, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["rating", "decided_by"], dtype=object)


# --- R1: an item rated Met needs evidence ---------------------------------------------------

R1_CASES = [
    pytest.param({"answered": "met", "evidence_count": 0}, ("partially-met", "evidence-for-met"), id="met-no-evidence"),
    pytest.param({"answered": "met", "evidence_count": 2}, ("met", None), id="met-with-evidence"),
    pytest.param({"answered": "partially-met", "evidence_count": 0}, ("partially-met", None), id="partly-no-evidence"),
    pytest.param({"answered": "not-met", "evidence_count": 0}, ("not-met", None), id="not-met-no-evidence"),
    pytest.param({"answered": "not-applicable", "evidence_count": 0}, ("not-applicable", None), id="n-a"),
    pytest.param({"answered": None, "evidence_count": 0}, (None, None), id="unanswered"),
]


@pytest.mark.parametrize(("row", "expected"), R1_CASES)
def test_r1_met_without_evidence_counts_as_partially_met(row: dict[str, Any], expected: tuple[Any, Any]) -> None:
    out = R.evidence_for_met(make_items(row), R1, OPTIONS)
    assert_frame_equal(_counted(out), _expected([expected]))


def test_r1_all_cases_at_once() -> None:
    rows = [case.values[0] for case in R1_CASES]
    out = R.evidence_for_met(make_items(*rows), R1, OPTIONS)
    assert_frame_equal(_counted(out), _expected([case.values[1] for case in R1_CASES]))


def test_r1_only_touches_items_that_declare_it() -> None:
    table = make_items(
        {"answered": "met", "evidence_count": 0}, {"question_id": "q2", "answered": "met", "evidence_count": 0}
    )
    out = R.evidence_for_met(table, R1, OPTIONS, applies=table["question_id"].eq("q2"))
    assert_frame_equal(_counted(out), _expected([("met", None), ("partially-met", "evidence-for-met")]))
    assert out.loc[1, "why"] == "no evidence is listed (rule R1: Met needs evidence)"


def test_r1_never_raises_a_rating() -> None:
    harsh = rule("evidence_for_met", met="partially-met", downgrade_to="met")
    out = R.evidence_for_met(make_items({"answered": "partially-met", "evidence_count": 0}), harsh, OPTIONS)
    assert_frame_equal(_counted(out), _expected([("partially-met", None)]))


# --- R4: out-of-date evidence of the listed types downgrades ------------------------------------


def _evidence(*pieces: tuple[str, str, str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "response_id": 1,
            "item_id": "q1",
            "title": [p[0] for p in pieces],
            "type": [p[1] for p in pieces],
            "date": pd.to_datetime(pd.Series([p[2] for p in pieces], dtype=object)),
        }
    )


R4_CASES = [
    pytest.param(
        "met", [("Policy", "policy", "2022-06-29")], ("partially-met", "policy-currency"), id="older-than-3-years"
    ),
    pytest.param("met", [("Policy", "policy", "2022-06-30")], ("met", None), id="exactly-3-years"),
    pytest.param("met", [("Policy", "policy", "2024-01-01")], ("met", None), id="recent"),
    pytest.param("met", [("Minutes", "minutes", "2010-01-01")], ("met", None), id="old-but-not-a-policy"),
    pytest.param("met", [("Policy", "policy", None)], ("met", None), id="undated"),
    pytest.param(
        "met",
        [("New", "policy", "2024-01-01"), ("Old", "policy", "2019-01-01")],
        ("partially-met", "policy-currency"),
        id="one-old-of-two",
    ),
    pytest.param("not-met", [("Policy", "policy", "2010-01-01")], ("not-met", None), id="already-lower"),
    pytest.param("met", [], ("met", None), id="no-evidence"),
]


@pytest.mark.parametrize(("answered", "pieces", "expected"), R4_CASES)
def test_r4_out_of_date_policy_downgrades(
    answered: str, pieces: list[tuple[str, str, str | None]], expected: tuple[Any, Any]
) -> None:
    out = R.evidence_age(make_items({"answered": answered}), _evidence(*pieces), R4, OPTIONS, AS_OF)
    assert_frame_equal(_counted(out), _expected([expected]))


def test_r4_explains_which_piece_is_old() -> None:
    pieces = _evidence(
        ("Safeguarding policy", "policy", "2019-04-01"), ("Allegations procedure", "policy", "2016-02-01")
    )
    out = R.evidence_age(make_items({"answered": "met"}), pieces, R4, OPTIONS, AS_OF)
    assert out.loc[0, "why"] == (
        "‘Allegations procedure’, given as evidence, is dated 1 February 2016, more than 3 years before the audit"
        " on 30 June 2025, and so is 1 other piece given for it (rule R4: evidence must be recent)"
    )


def test_r4_counts_the_other_old_pieces_beside_the_oldest() -> None:
    """The oldest piece is named, and the others as old are counted, so the agency knows to review them all."""
    table = make_items({"response_id": 1}, {"response_id": 2})
    pieces = pd.concat(
        [
            _evidence(("A", "policy", "2019-04-01"), ("B", "policy", "2016-02-01"), ("C", "policy", "2020-01-01")),
            _evidence(("New", "policy", "2024-01-01"), ("D", "policy", "2016-02-01")).assign(response_id=2),
            _evidence(("Minutes", "minutes", "2010-01-01")),  # not of the listed types: not counted
        ],
        ignore_index=True,
    )
    why = R.evidence_age(table, pieces, R4, OPTIONS, AS_OF)["why"]
    assert why[0].startswith("‘B’, given as evidence, is dated 1 February 2016")
    assert why[0].endswith(", and so are 2 other pieces given for it (rule R4: evidence must be recent)")
    assert why[1].endswith("on 30 June 2025 (rule R4: evidence must be recent)")


def test_r4_names_the_first_listed_of_equally_old_pieces_of_each_audit() -> None:
    table = make_items({"response_id": 1}, {"response_id": 2}, {"response_id": 2, "question_id": "q2"})
    pieces = pd.concat(
        [
            _evidence(("Newer", "policy", "2018-01-01"), ("First", "policy", "2016-02-01")),
            _evidence(("Second", "policy", "2016-02-01"), ("Other", "policy", "2015-01-01")).assign(response_id=2),
            _evidence(("Second", "policy", "2016-02-01")).assign(response_id=1),
        ],
        ignore_index=True,
    )
    why = R.evidence_age(table, pieces, R4, OPTIONS, AS_OF)["why"].str.split("’").str[0].tolist()
    assert why == ["‘First", "‘Other", None]


def test_r4_writes_dates_in_words() -> None:
    pieces = _evidence(("Safeguarding policy", "policy", "2021-03-01"))
    out = R.evidence_age(make_items({"answered": "met"}), pieces, R4, OPTIONS, date(2025, 6, 3))
    assert out.loc[0, "why"] == (
        "‘Safeguarding policy’, given as evidence, is dated 1 March 2021, more than 3 years before the audit"
        " on 3 June 2025 (rule R4: evidence must be recent)"
    )
    one_year = rule("evidence_age", max_age_years=1, evidence_types=["policy"], downgrade_to="partially-met")
    out = R.evidence_age(make_items({"answered": "met"}), pieces, one_year, OPTIONS, date(2025, 6, 3))
    assert "more than 1 year before the audit" in out.loc[0, "why"]


def test_r4_reads_each_audits_own_evidence() -> None:
    table = make_items({"response_id": 1}, {"response_id": 2})
    pieces = _evidence(("Policy", "policy", "2019-01-01"))  # audit 1's only
    out = R.evidence_age(table, pieces, R4, OPTIONS, AS_OF)
    assert_frame_equal(_counted(out), _expected([("partially-met", "policy-currency"), ("met", None)]))


def test_r1_then_r4_keeps_the_lowest() -> None:
    lower = rule("evidence_age", "currency", max_age_years=1, evidence_types=[], downgrade_to="not-met")
    table = make_items({"answered": "met", "evidence_count": 1})
    out = R.evidence_age(
        R.evidence_for_met(table, R1, OPTIONS), _evidence(("P", "policy", "2020-01-01")), lower, OPTIONS, AS_OF
    )
    assert_frame_equal(_counted(out), _expected([("not-met", "currency")]))


# --- R3: not applicable needs a reason, never on mandatory items --------------------------------

R3_CASES = [
    pytest.param(
        {"answered": "not-applicable", "reason": "We run no services for children"}, True, None, id="with-reason"
    ),
    pytest.param(
        {"answered": "not-applicable", "reason": None},
        True,
        "‘Is there a named board lead?’ is not applicable: say why, in at least 10 characters",
        id="no-reason",
    ),
    pytest.param(
        {"answered": "not-applicable", "reason": "  n/a     "},
        True,
        "‘Is there a named board lead?’ is not applicable: say why, in at least 10 characters",
        id="short",
    ),
    pytest.param(
        {"answered": "not-applicable", "reason": "We have no staff at all", "mandatory": True},
        False,
        "‘Is there a named board lead?’ must be answered: it is required of every agency, so it cannot be not"
        " applicable",
        id="mandatory",
    ),
    pytest.param({"answered": "met", "reason": None, "mandatory": True}, True, None, id="answered-mandatory"),
]


@pytest.mark.parametrize(("row", "rated", "message"), R3_CASES)
def test_r3_not_applicable_needs_a_reason(row: dict[str, Any], rated: bool, message: str | None) -> None:
    out, problems = R.not_applicable_reason(make_items(row), R3, OPTIONS)
    if rated:
        assert out.loc[0, "rating"] == row["answered"]
    else:
        assert pd.isna(out.loc[0, "rating"])
    assert problems["message"].tolist() == ([message] if message else [])
    if not rated:
        assert not out.loc[0, "applicable"]
        assert out.loc[0, "decided_by"] == "na-reason"


def test_r3_refusal_is_explained_in_the_standard() -> None:
    table = make_items(
        {"answered": "not-applicable", "reason": "We have no staff at all", "mandatory": True},
        {"question_id": "q2", "answered": "met"},
    )
    out, _ = R.not_applicable_reason(table, R3, OPTIONS)
    explanation = R.standard_rating(out, R2, OPTIONS, SCALE).loc[0, "explanation"]
    assert explanation == (
        "Not rated: 1 item is not answered or cannot be counted (rule R2: a standard's rating comes from its items)."
        " Answers read: ‘Is there a named board lead?’ is rated Not applicable but is not counted because it"
        " applies to every agency, so it cannot be not applicable (rule R3: when an item can be not applicable);"
        " ‘Is the policy reviewed?’ is rated Met, with 1 piece of evidence."
    )


def test_r3_problems_table() -> None:
    table = make_items(
        {"question_id": "q1", "answered": "not-applicable", "reason": None},
        {"question_id": "q2", "answered": "met"},
        {"question_id": "q3", "answered": "not-applicable", "reason": "x", "mandatory": True},
    )
    _, problems = R.not_applicable_reason(table, R3, OPTIONS)
    expected = pd.DataFrame(
        {
            "response_id": [1, 1],
            "section_id": ["s1", "s1"],
            "question_id": ["q1", "q3"],
            "rule": ["na-reason", "na-reason"],
            "message": [
                "‘Is there a named board lead?’ is not applicable: say why, in at least 10 characters",
                "‘Do staff know the lead?’ must be answered: it is required of every agency, so it cannot be not"
                " applicable",
            ],
        }
    ).astype({"section_id": "str", "question_id": "str", "rule": "str", "message": "str"})
    assert_frame_equal(problems, expected)


# --- R5: a shortfall needs an action with owner and due date ------------------------------------

R5_CASES = [
    pytest.param(
        "partially-met",
        False,
        [
            "‘Is there a named board lead?’ is rated Partially met: add an action saying what will be done, who owns"
            " it and when it is due"
        ],
        id="partly-no-action",
    ),
    pytest.param(
        "not-met",
        False,
        [
            "‘Is there a named board lead?’ is rated Not met: add an action saying what will be done, who owns it"
            " and when it is due"
        ],
        id="not-met-no-action",
    ),
    pytest.param("not-met", True, [], id="with-action"),
    pytest.param("met", False, [], id="met"),
    pytest.param("not-applicable", False, [], id="n-a"),
    pytest.param(None, False, [], id="unanswered"),
]


@pytest.mark.parametrize(("answered", "has_action", "messages"), R5_CASES)
def test_r5_shortfall_needs_an_action(answered: str | None, has_action: bool, messages: list[str]) -> None:
    problems = R.action_for_shortfall(make_items({"answered": answered, "has_action": has_action}), R5, OPTIONS)
    assert problems["message"].tolist() == messages
    assert problems["rule"].tolist() == ["action-for-shortfall"] * len(messages)


def test_r5_reads_the_agencys_own_rating_not_the_downgraded_one() -> None:
    table = R.evidence_for_met(make_items({"answered": "met", "evidence_count": 0}), R1, OPTIONS)
    assert table.loc[0, "rating"] == "partially-met"
    assert R.action_for_shortfall(table, R5, OPTIONS).empty


def test_r5_with_nothing_to_report_gives_the_columns_and_types_problems_have() -> None:
    """No shortfall without an action: an empty table like the one with problems, as the empty problems table."""
    unmet = make_items({"answered": "not-met"}, {"question_id": "q2", "answered": "met"})
    acted = unmet.assign(has_action=True)
    found, none = R.action_for_shortfall(unmet, R5, OPTIONS), R.action_for_shortfall(acted, R5, OPTIONS)
    assert len(found) == 1
    assert_frame_equal(none, found.iloc[0:0].reset_index(drop=True))
    assert_frame_equal(none, R.empty_problems(acted))


# --- R2: the standard's rating and weighted score -----------------------------------------------


def _standard(*ratings: str | None, weights: list[float] | None = None) -> pd.DataFrame:
    rows = [
        {"question_id": f"q{i + 1}", "answered": r, "weight": (weights or [1.0] * len(ratings))[i]}
        for i, r in enumerate(ratings)
    ]
    return make_items(*rows)


SCALE = make_options(("q1",))
R2_CASES = [
    pytest.param(("met", "met", "met"), None, "met", 100.0, 3, 3, id="all-met"),
    pytest.param(("met", "met", "not-applicable"), None, "met", 100.0, 2, 2, id="met-with-n-a"),
    pytest.param(("met", "partially-met", "met"), None, "partially-met", 500 / 6, 3, 2, id="one-partly"),
    pytest.param(("met", "not-met"), None, "partially-met", 50.0, 2, 1, id="exactly-50"),
    pytest.param(("partially-met", "not-met", "not-met"), None, "not-met", 50 / 3, 3, 0, id="below-50"),
    pytest.param(("met", "not-met"), [1.0, 3.0], "not-met", 25.0, 2, 1, id="weights"),
    pytest.param(
        ("met", "not-met", "not-applicable"), [1.0, 1.0, 8.0], "partially-met", 50.0, 2, 1, id="n-a-weight-renormalised"
    ),
    pytest.param(("not-applicable", "not-applicable"), None, "not-applicable", np.nan, 0, 0, id="nothing-applies"),
    pytest.param(("met", None), None, None, 100.0, 1, 1, id="unanswered"),
]


@pytest.mark.parametrize(("ratings", "weights", "rating", "score", "applicable", "met"), R2_CASES)
def test_r2_standard_rating(
    ratings: tuple[str | None, ...],
    weights: list[float] | None,
    rating: str | None,
    score: float,
    applicable: int,
    met: int,
) -> None:
    out = R.standard_rating(_standard(*ratings, weights=weights), R2, OPTIONS, SCALE)
    expected = pd.DataFrame(
        {"self_rating": [rating], "score_100": [score], "applicable": [applicable], "met": [met]}
    ).astype({"self_rating": "str", "score_100": "float64"})
    assert_frame_equal(out[["self_rating", "score_100", "applicable", "met"]], expected)


def test_r2_rates_many_standards_in_one_call() -> None:
    cases = [case.values for case in R2_CASES]
    frames = []
    for n, (ratings, weights, *_) in enumerate(cases):
        frames.append(_standard(*ratings, weights=weights).assign(response_id=n))
    out = R.standard_rating(pd.concat(frames, ignore_index=True), R2, OPTIONS, SCALE)
    expected = pd.DataFrame(
        [(n, c[2], c[3]) for n, c in enumerate(cases)], columns=["response_id", "self_rating", "score_100"]
    ).astype({"self_rating": "str"})
    assert_frame_equal(out[["response_id", "self_rating", "score_100"]], expected)


def test_r2_first_threshold_reached_wins() -> None:
    ladder = rule(
        "standard_rating",
        met="met",
        thresholds=[{"rating": "partially-met", "min_score": 75}, {"rating": "not-met", "min_score": 10}],
    )
    for ratings, expected in [
        (("met", "partially-met"), "partially-met"),
        (("met", "not-met"), "not-met"),
        (("not-met",), "not-met"),
    ]:
        out = R.standard_rating(_standard(*ratings), ladder, OPTIONS, SCALE)
        assert out.loc[0, "self_rating"] == expected, ratings
    # the lowest rating reached names the threshold missed, not "reaches 10, the least for Not met"
    assert (
        R.standard_rating(_standard("met", "not-met"), ladder, OPTIONS, SCALE)
        .loc[0, "explanation"]
        .startswith(
            "Not met: 1 of the 2 items that apply counts as Met, and the weighted score of 50 out of 100 is below 75,"
            " the least for Partially met (rule R2: a standard's rating comes from its items)."
        )
    )
    assert (
        R.standard_rating(_standard("not-met"), ladder, OPTIONS, SCALE)
        .loc[0, "explanation"]
        .startswith(
            "Not met: the 1 item that applies does not count as Met, and the weighted score of 0 out of 100 is below 10,"
            " the least any rating needs, so it takes the lowest rating (rule R2: a standard's rating comes from its items)."
        )
    )


def test_r2_explanation_of_the_lowest_rating_names_the_score_it_missed() -> None:
    """Not met starts at 0: "the weighted score of 33 reaches 0" reads as if the score fell to 0,
    so the explanation names the threshold the score did not reach."""
    out = R.standard_rating(_standard("met", "not-met", "not-met"), R2, OPTIONS, SCALE)
    assert out.loc[0, "self_rating"] == "not-met"
    assert out.loc[0, "explanation"].startswith(
        "Not met: 1 of the 3 items that apply counts as Met, and the weighted score of 33 out of 100 is below 50, the least"
        " for Partially met (rule R2: a standard's rating comes from its items). Answers read:"
    )


def test_r2_explanation_names_the_rule_and_every_item_read() -> None:
    table = _standard("met", "met", "not-applicable", "partially-met")
    table.loc[1, "evidence_count"] = 0
    table = R.evidence_for_met(table, R1, OPTIONS)
    table.loc[2, "reason"] = "No such service here"
    out = R.standard_rating(table, R2, OPTIONS, SCALE)
    assert out.loc[0, "explanation"] == (
        "Partially met: 1 of the 3 items that apply counts as Met, and the weighted score of 67 out of 100 reaches 50,"
        " the least for Partially met (rule R2: a standard's rating comes from its items). Answers read:"
        " ‘Is there a named board lead?’ is rated Met, with 1 piece of evidence;"
        " ‘Is the policy reviewed?’ is rated Met but counts as Partially met because no evidence is listed"
        " (rule R1: Met needs evidence);"
        " ‘Do staff know the lead?’ is rated Not applicable, with a reason;"
        " ‘Are concerns recorded?’ is rated Partially met, with 1 piece of evidence."
    )
    assert out.loc[0, "rule"] == "standard-rating"


@pytest.mark.parametrize(
    ("ratings", "start"),
    [
        (("met", "met"), "Met: all 2 items that apply are Met, a weighted score of 100 out of 100"),
        (("met",), "Met: the 1 item that applies is Met, a weighted score of 100 out of 100"),
        (("not-applicable",), "Not applicable: no item applies"),
        (("met", None, None), "Not rated: 2 items are not answered or cannot be counted"),
        (("met", None), "Not rated: 1 item is not answered or cannot be counted"),
        (("not-met", "not-met"), "Not met: none of the 2 items that apply counts as Met, and the weighted score of 0"),
        (
            ("met", "met", "not-met"),
            "Partially met: 2 of the 3 items that apply count as Met, and the weighted score of 67",
        ),
    ],
)
def test_r2_explanation_for_each_way_of_deciding(ratings: tuple[str | None, ...], start: str) -> None:
    explanation = R.standard_rating(_standard(*ratings), R2, OPTIONS, SCALE).loc[0, "explanation"]
    assert explanation.startswith(start)
    assert "(rule R2: a standard's rating comes from its items). Answers read: ‘Is there a named board lead?’" in (
        explanation
    )


@pytest.mark.parametrize(
    ("ratings", "evidence", "start"),
    [
        (("met", "met"), [1, 0], "Partially met: 1 of the 2 items that apply counts as Met, and the weighted score"),
        (("met", "met", "met"), [1, 1, 0], "Partially met: 2 of the 3 items that apply count as Met, and the"),
        (("met",), [0], "Partially met: the 1 item that applies does not count as Met, and the weighted score"),
        (("met", "met"), [0, 0], "Partially met: none of the 2 items that apply counts as Met, and the weighted score"),
    ],
)
def test_r2_explanation_counts_items_as_they_count_not_as_rated(
    ratings: tuple[str, ...], evidence: list[int], start: str
) -> None:
    """An item rated Met without evidence counts as Partially met (R1): "1 of the 2 items that
    apply is Met" beside two items "rated Met" read as a wrong count, so it says "counts as"."""
    table = _standard(*ratings).assign(evidence_count=evidence)
    explanation = R.standard_rating(R.evidence_for_met(table, R1, OPTIONS), R2, OPTIONS, SCALE).loc[0, "explanation"]
    assert explanation.startswith(start)
    assert "is rated Met but counts as Partially met because no evidence is listed" in explanation


# --- R6: moderation replaces the self rating in reports ------------------------------------------

R6_CASES = [
    pytest.param(
        "met",
        "not-met",
        "not-met",
        "moderated",
        "lowered",
        "to Not met, which reports use instead of the agency's own rating, Met",
        id="lowered",
    ),
    pytest.param(
        "not-met",
        "partially-met",
        "partially-met",
        "moderated",
        "raised",
        "to Partially met, which reports use instead of the agency's own rating, Not met",
        id="raised",
    ),
    # the same rating is not used "instead of" the agency's: the sub-group agreed with it
    pytest.param(
        "met", "met", "met", "moderated", "agreed", "and agreed with the agency's own rating, Met", id="agreed"
    ),
    pytest.param("partially-met", None, "partially-met", "self", None, None, id="not-moderated"),
]


@pytest.mark.parametrize(("self_rating", "moderated", "reported", "source", "comparison", "note"), R6_CASES)
def test_r6_moderated_rating_is_reported(
    self_rating: str, moderated: str | None, reported: str, source: str, comparison: str | None, note: str | None
) -> None:
    standards = pd.DataFrame(
        {"response_id": [7], "section_id": ["s1"], "self_rating": [self_rating], "explanation": ["E."]}
    )
    moderation = pd.DataFrame({"response_id": [7], "section_id": ["s1"], "moderated_rating": [moderated]}).dropna()
    out = R.moderate(standards, moderation, SCALE)
    expected = pd.DataFrame(
        {
            "self_rating": [self_rating],
            "moderated_rating": [moderated],
            "reported_rating": [reported],
            "rating_source": [source],
            "moderation": [comparison],
        }
    ).astype("str")
    assert_frame_equal(out[expected.columns.tolist()], expected)
    if moderated:
        assert out.loc[0, "explanation"] == (
            f"E. The sub-group moderated this standard {note} (rule R6: a moderated rating is used in reports)."
        )
    else:
        assert out.loc[0, "explanation"] == "E."


def test_r6_moderation_of_a_standard_the_agency_did_not_rate() -> None:
    standards = pd.DataFrame({"response_id": [7], "section_id": ["s1"], "self_rating": [None], "explanation": ["E."]})
    moderation = pd.DataFrame({"response_id": [7], "section_id": ["s1"], "moderated_rating": ["met"]})
    assert R.moderate(standards, moderation, SCALE).loc[0, "explanation"] == (
        "E. The sub-group moderated this standard to Met, which reports use; the agency's own answers did not rate it"
        " (rule R6: a moderated rating is used in reports)."
    )


def test_r6_moderation_of_other_audits_is_not_applied() -> None:
    standards = pd.DataFrame(
        {"response_id": [1, 2], "section_id": ["s1", "s1"], "self_rating": ["met", "met"], "explanation": ["", ""]}
    )
    moderation = pd.DataFrame({"response_id": [2], "section_id": ["s1"], "moderated_rating": ["not-met"]})
    out = R.moderate(standards, moderation, SCALE)
    assert out["reported_rating"].tolist() == ["met", "not-met"]


@pytest.mark.parametrize("text", [object, "str"])
def test_r6_without_moderation_reads_as_moderation_of_other_audits_only(text: object) -> None:
    """No moderation at all, and moderation that rates none of these standards, give the same table."""
    standards = pd.DataFrame(
        {
            "response_id": [1, 1, 2],
            "section_id": ["s1", "s2", "s1"],
            "self_rating": pd.Series(["met", None, "not-met"], dtype=text),
            "moderated_rating": "met",  # replaced: a moderation column already there is not kept
            "explanation": pd.Series(["A.", "B.", None], dtype=text),
        }
    )
    elsewhere = pd.DataFrame({"response_id": [3], "section_id": ["s1"], "moderated_rating": ["met"]})
    expected = R.moderate(standards, elsewhere, SCALE)
    assert expected["reported_rating"].tolist() == ["met", np.nan, "not-met"]
    assert_frame_equal(R.moderate(standards, None, SCALE), expected)
    assert_frame_equal(R.moderate(standards, elsewhere.iloc[0:0], SCALE), expected)


# --- R7: action progress RAG ---------------------------------------------------------------------

R7_CASES = [
    pytest.param("2026-01-01", 0, False, "red", id="not-started"),
    pytest.param("2026-01-01", 24, False, "red", id="under-25"),
    pytest.param("2026-01-01", 25, False, "amber", id="25"),
    pytest.param("2026-01-01", 74, False, "amber", id="74"),
    pytest.param("2026-01-01", 75, False, "green", id="75"),
    pytest.param("2025-01-01", 49, True, "red", id="overdue-under-50"),
    pytest.param("2025-01-01", 50, True, "amber", id="overdue-50"),
    pytest.param("2025-01-01", 80, True, "green", id="overdue-80"),
    pytest.param("2025-01-01", 100, False, "green", id="done-late"),
]


@pytest.mark.parametrize(("due", "progress", "overdue", "rag"), R7_CASES)
def test_r7_action_progress(due: str, progress: int, overdue: bool, rag: str) -> None:
    actions = pd.DataFrame({"due": pd.to_datetime([due]), "progress": [progress]})
    out = R.action_progress(actions, R7, AS_OF)
    assert_frame_equal(
        out[["overdue", "rag"]], pd.DataFrame({"overdue": [overdue], "rag": [rag]}).astype({"rag": "str"})
    )


def test_r7_all_cases_at_once_and_explained() -> None:
    cases = [case.values for case in R7_CASES]
    actions = pd.DataFrame({"due": pd.to_datetime([c[0] for c in cases]), "progress": [c[1] for c in cases]})
    out = R.action_progress(actions, R7, AS_OF)
    assert out["rag"].tolist() == [c[3] for c in cases]
    rule_words = " (rule R7: how an action's progress is rated)."
    assert out.loc[5, "explanation"] == (
        "Red: overdue since 1 January 2025 with 49% done, under the 50% an overdue action needs" + rule_words
    )
    assert out.loc[4, "explanation"] == "Green: 75% done, at least the 75% needed for green" + rule_words
    assert out.loc[1, "explanation"] == "Red: 24% done, under the 25% needed for amber" + rule_words
    assert out.loc[2, "explanation"] == (
        "Amber: 25% done, between the 25% needed for amber and the 75% needed for green" + rule_words
    )
    # overdue with enough done is not red, but says it is overdue, and why it is not red
    assert out.loc[6, "explanation"] == (
        "Amber: overdue since 1 January 2025 with 50% done, at least the 50% an overdue action needs;"
        " between the 25% needed for amber and the 75% needed for green" + rule_words
    )
    assert out.loc[7, "explanation"] == (
        "Green: overdue since 1 January 2025 with 80% done, at least the 50% an overdue action needs;"
        " at least the 75% needed for green" + rule_words
    )
    assert out.loc[8, "explanation"] == "Green: 100% done, at least the 75% needed for green" + rule_words


# --- R8: triangulation with practitioners ------------------------------------------------------------


def _practitioners(agency: int, section: str, positive: int, negative: int, dont_know: int = 0) -> pd.DataFrame:
    flags = [(True, True)] * positive + [(False, True)] * negative + [(False, False)] * dont_know
    return pd.DataFrame(
        {
            "agency_id": agency,
            "section_id": section,
            "positive": [f[0] for f in flags],
            "in_base": [f[1] for f in flags],
        }
    )


R8_CASES = [
    pytest.param("met", 7, 3, 0, "flag", 0.7, id="met-but-70-percent"),
    pytest.param("met", 8, 2, 0, "no-flag", 0.8, id="met-and-80-percent"),
    pytest.param("met", 2, 2, 9, "not-enough-answers", 0.5, id="dont-know-out-of-base"),
    pytest.param("partially-met", 1, 9, 0, "not-checked", 0.1, id="not-rated-met"),
    pytest.param("met", 0, 0, 0, "not-enough-answers", np.nan, id="no-practitioners"),
]


@pytest.mark.parametrize(("rating", "positive", "negative", "dont_know", "status", "share"), R8_CASES)
def test_r8_triangulation(rating: str, positive: int, negative: int, dont_know: int, status: str, share: float) -> None:
    standards = pd.DataFrame({"agency_id": [4], "section_id": ["s3"], "self_rating": [rating]})
    practitioners = pd.concat([_practitioners(4, "s3", positive, negative, dont_know), _practitioners(5, "s3", 0, 20)])
    out = R.triangulation(standards, practitioners, R8, ["agency_id"])
    expected = pd.DataFrame(
        {"practitioner_answers": [positive + negative], "positive_share": [share], "triangulation": [status]}
    ).astype({"practitioner_answers": "int64", "triangulation": "str"})
    assert_frame_equal(out[expected.columns.tolist()], expected)


def test_r8_flag_of_one_practitioner_explained() -> None:
    few = rule("triangulation", met="met", min_positive_share=0.8, min_respondents=1)
    standards = pd.DataFrame({"agency_id": [4], "section_id": ["s3"], "self_rating": ["met"]})
    out = R.triangulation(standards, _practitioners(4, "s3", 0, 1), few, ["agency_id"], met_label="Met")
    assert out.loc[0, "triangulation_explanation"] == (
        "Flagged: rated Met, but the 1 practitioner did not answer positively, under the 80% needed"
        " (rule R8: a Met rating is checked against practitioners' answers)."
    )


def test_r8_flag_explained() -> None:
    standards = pd.DataFrame({"agency_id": [4], "section_id": ["s3"], "self_rating": ["met"]})
    out = R.triangulation(standards, _practitioners(4, "s3", 6, 4), R8, ["agency_id"], met_label="Met")
    assert out.loc[0, "triangulation_explanation"] == (
        "Flagged: rated Met, but only 60% of 10 practitioners answered positively, under the 80% needed"
        " (rule R8: a Met rating is checked against practitioners' answers)."
    )


@pytest.mark.parametrize(
    ("rating", "positive", "negative", "explanation"),
    [
        ("met", 8, 2, "Not flagged: 80% of 10 practitioners answered positively"),
        (
            "met",
            1,
            0,
            "Not enough answers to check: 1 practitioner answered (not counting don't know or not applicable), 5 needed",
        ),
        (
            "met",
            0,
            0,
            "Not enough answers to check: no practitioners answered (not counting don't know or not applicable), 5 needed",
        ),
        (
            "met",
            0,
            12,
            "Flagged: rated Met, but none of the 12 practitioners answered positively, under the 80% needed",
        ),
        ("partially-met", 1, 9, "Not checked: the standard is not rated Met"),
    ],
)
def test_r8_each_case_explained(rating: str, positive: int, negative: int, explanation: str) -> None:
    """Counts of 0 read as words: "only 0% of 12 practitioners" read as a figure gone wrong."""
    standards = pd.DataFrame({"agency_id": [4], "section_id": ["s3"], "self_rating": [rating]})
    out = R.triangulation(standards, _practitioners(4, "s3", positive, negative), R8, ["agency_id"], met_label="Met")
    assert out.loc[0, "triangulation_explanation"] == (
        explanation + " (rule R8: a Met rating is checked against practitioners' answers)."
    )


@pytest.mark.parametrize(
    "value",
    [
        "evidence-for-met",
        pd.Series(["a", "b", None, "d"], index=[10, 11, 12, 13], dtype=object),  # on the column's index
        pd.Series(["a", "b", "c"], index=[13, 12, 99], dtype=object),  # another index: aligned as mask aligns
    ],
)
@pytest.mark.parametrize("dtype", [object, "str"])
def test_put_writes_as_mask_does(value: pd.Series | str, dtype: object) -> None:
    column = pd.Series([None, "x", None, "y"], index=[10, 11, 12, 13], dtype=dtype, name="why")
    where = np.array([True, False, True, True])
    pd.testing.assert_series_equal(R._put(column, where, value), column.mask(where, value))


def test_option_lookups_by_category_follow_changed_options() -> None:
    """An items table of categoricals reads its options from a kept table: a changed option frame is read afresh."""
    table = make_items({"answered": "met", "evidence_count": 0}, {"question_id": "q2", "answered": "met"})
    scale = pd.CategoricalDtype(["met", "partially-met", "not-met", "not-applicable"])
    table = table.astype({"question_id": "category", "answered": scale, "rating": scale})
    lowered = R.evidence_for_met(table, R1, OPTIONS)
    assert lowered["rating"].astype(object).tolist() == ["partially-met", "met"]
    # the same categories, but partially met now scores above met for every question: R1 never raises
    raised = OPTIONS.assign(score=np.where(OPTIONS["value"].eq("partially-met"), 3.0, OPTIONS["score"]))
    kept = R.evidence_for_met(table, R1, raised)
    assert kept["rating"].astype(object).tolist() == ["met", "met"]
    # an option renamed is no longer found for the same categories
    relabelled = OPTIONS.assign(value=OPTIONS["value"].replace({"met": "fully-met"}))
    assert R.option_rows(relabelled, table["question_id"], table["answered"]).tolist() == [len(OPTIONS)] * 2


def test_r1_and_r5_read_categorical_items_as_text_ones() -> None:
    """An items table of categoricals (as a batch builds it) gets the same rule effects as one of text."""
    rows = [
        {"answered": "met", "evidence_count": 0},
        {"question_id": "q2", "answered": "not-met"},
        {"question_id": "q3", "answered": None},
        {"question_id": "q4", "answered": "partially-met", "has_action": True},
    ]
    scale = pd.CategoricalDtype(["met", "partially-met", "not-met", "not-applicable"])
    text = make_items(*rows)
    coded = text.astype({"question_id": "category", "answered": scale, "rating": scale})
    applies = pd.Series([True, True, True, False])
    for table in (text, coded):
        lowered = R.evidence_for_met(table, R1, OPTIONS, applies)
        counted = lowered["rating"].astype(object)
        assert counted.where(counted.notna(), None).tolist() == ["partially-met", "not-met", None, "partially-met"]
        assert lowered["decided_by"].tolist() == ["evidence-for-met", None, None, None]
        assert R.action_for_shortfall(table, R5, OPTIONS, applies)["question_id"].tolist() == ["q2"]


def test_r2_reads_categorical_items_as_text_ones() -> None:
    """Standards of an items table of categoricals (as a batch builds it) read as those of one of text."""
    rows = [
        {"answered": "met", "evidence_count": 0},
        {"question_id": "q2", "answered": "met"},
        {"question_id": "q3", "answered": "not-met"},
        {"response_id": 2, "answered": "met"},
        {"response_id": 2, "question_id": "q2", "answered": None},
        {"response_id": 3, "answered": "partially-met", "rating": "met"},
    ]
    scale = pd.CategoricalDtype(["met", "partially-met", "not-met", "not-applicable"])
    text = R.evidence_for_met(make_items(*rows), R1, OPTIONS)
    coded = text.astype({"question_id": "category", "answered": scale, "rating": scale})
    expected = R.standard_rating(text, R2, OPTIONS, SCALE)
    assert expected["met"].tolist() == [1, 1, 1]
    assert expected["unanswered"].tolist() == [0, 1, 0]
    assert_frame_equal(R.standard_rating(coded, R2, OPTIONS, SCALE), expected)


def test_r3_reads_categorical_items_as_text_ones() -> None:
    """R3's problems of an items table of categoricals read as those of one of text, each message as its item's."""
    rows = [
        {"answered": "not-applicable", "reason": None},
        {"question_id": "q2", "answered": "not-applicable", "mandatory": True},
        {"response_id": 2, "answered": "not-applicable", "reason": " "},
        {"response_id": 2, "question_id": "q2", "answered": "not-applicable", "mandatory": True},
        {"response_id": 3, "question_id": "q2", "answered": "not-applicable", "reason": "Too short"},
        {"response_id": 4, "question_id": "q2", "answered": "not-applicable", "reason": "Not a partner here"},
    ]
    scale = pd.CategoricalDtype(["met", "partially-met", "not-met", "not-applicable"])
    text = make_items(*rows)
    coded = text.astype({"question_id": "category", "answered": scale, "rating": scale})
    expected = R.not_applicable_reason(text, R3, OPTIONS)[1]
    assert expected["question_id"].tolist() == ["q1", "q2", "q1", "q2", "q2"]  # q2 refused, and short where optional
    assert expected["message"].str.contains("must be answered").tolist() == [False, True, False, True, False]
    assert_frame_equal(R.not_applicable_reason(coded, R3, OPTIONS)[1], expected)


def test_question_labels_of_categories_follow_changed_options() -> None:
    """The words kept for an items table's question categories are read afresh from a changed option frame."""
    asked = pd.Series(["q2", None, "q9", "q2"], dtype="category")
    assert R.question_labels(OPTIONS, asked)[[0, 2, 3]].tolist() == [
        "‘Is the policy reviewed?’",
        "q9",
        "‘Is the policy reviewed?’",
    ]
    assert pd.isna(R.question_labels(OPTIONS, asked)[1])
    reworded = OPTIONS.assign(question_label=OPTIONS["question_label"].str.replace("policy", "plan"))
    assert R.question_labels(reworded, asked)[0] == "‘Is the plan reviewed?’"


def test_r2_explanations_read_each_standards_own_items_in_order() -> None:
    """Standards that read the same items the same way share words; the order the items come in is kept."""
    table = make_items(
        {"response_id": 1, "answered": "met"},
        {"response_id": 2, "question_id": "q2", "answered": "not-met"},
        {"response_id": 1, "question_id": "q2", "answered": "not-met"},
        {"response_id": 2, "answered": "met"},
        {"response_id": 3, "answered": "met"},
        {"response_id": 3, "question_id": "q2", "answered": "not-met"},
    )
    read = R.standard_rating(table, R2, OPTIONS, SCALE)["explanation"].str.split("Answers read: ").str[1]
    q1, q2 = "‘Is there a named board lead?’ is rated Met", "‘Is the policy reviewed?’ is rated Not met"
    assert read.str.replace(", with 1 piece of evidence", "").tolist() == [
        f"{q1}; {q2}.",
        f"{q2}; {q1}.",
        f"{q1}; {q2}.",
    ]


def test_r8_of_counts_writes_each_standard_as_it_would_be_written_alone() -> None:
    """Each standard's status and explanation, though written once per distinct case and numbers, read as if
    written for it alone: every case, counts repeated and not, shares that round alike, on any index."""
    rng = np.random.default_rng(8)
    size = 400
    n = rng.choice([0, 1, 4, 5, 12, 300, 301], size).astype("int64")
    # 1 of 300 rounds to 0 %, as none of 300 does, but is written otherwise ("only ... of", not "none of")
    positive = np.minimum(n, rng.choice([0, 1, 3, 10, 240, 299], size)).astype("int64")
    rating = rng.choice(np.array(["met", "partially-met"], dtype=object), size)
    standards = pd.DataFrame({"self_rating": pd.array(rating, dtype="str")}, index=np.arange(size)[::-1] * 3)
    out = R.triangulation_of_counts(standards, n, positive, R8, met_label="Met")
    assert out["triangulation"].dtype == "str" and out["triangulation_explanation"].dtype == "str"
    assert out.index.equals(standards.index)
    names = {0: "not-checked", 1: "not-enough-answers", 2: "flag", 3: "no-flag"}
    for row in range(size):
        alone = R.triangulation_of_counts(standards.iloc[[row]], n[[row]], positive[[row]], R8, met_label="Met")
        share = positive[row] / n[row] if n[row] else np.nan
        case = 0 if rating[row] != "met" else 1 if n[row] < 5 else 2 if share < 0.8 else 3
        text = R._triangulation_text(R8, "Met", 5, 0.8, np.array([case]), n[[row]], np.array([share]))[0]
        assert (out["triangulation"].iloc[row], out["triangulation_explanation"].iloc[row]) == (names[case], text)
        assert_frame_equal(out.iloc[[row]], alone)


def test_r8_writes_one_explanation_for_standards_not_checked_whatever_their_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not checked reads the same whatever the practitioners said, and too few answers only names the count."""
    written: list[int] = []
    write = R._triangulation_text

    def counted(*args: Any) -> np.ndarray:
        written.append(len(args[4]))
        return write(*args)

    monkeypatch.setattr(R, "_triangulation_text", counted)
    n = np.array([*range(50), 3, 3, 3], dtype="int64")
    positive = np.array([*(i // 2 for i in range(50)), 0, 1, 2], dtype="int64")
    standards = pd.DataFrame({"self_rating": pd.array(["partially-met"] * 50 + ["met"] * 3, dtype="str")})
    out = R.triangulation_of_counts(standards, n, positive, R8, met_label="Met")
    assert written == [2]  # one for the 50 not checked, one for the 3 with 3 answers each
    assert out["triangulation_explanation"].nunique() == 2
    assert out["triangulation_explanation"].iloc[-1].startswith("Not enough answers to check: 3 practitioners")


@pytest.mark.parametrize("ordered", [False, True])
@pytest.mark.parametrize("to", ["partially-met", "met", "not-applicable"])
def test_a_categorical_rating_lowered_by_its_codes_equals_masking_it(ordered: bool, to: str) -> None:
    from scoring.rules import _lowered

    scale = ["met", "partially-met", "not-met", "not-applicable"]
    ratings = ["met", None, "not-met", "partially-met", "met"]
    rating = pd.Series(pd.Categorical(ratings, categories=scale, ordered=ordered), index=[5, 3, 1, 2, 9], name="rating")
    lower = np.array([True, True, False, True, False])
    assert_series_equal(_lowered(rating, lower, to), rating.mask(lower, to))
    as_text = rating.astype(object)  # not a categorical: masked as it is
    assert_series_equal(_lowered(as_text, lower, to), as_text.mask(lower, to))


def test_r4_of_pieces_placed_in_their_rows_equals_r4_matching_them_by_audit_and_item() -> None:
    """Scoring a batch gives R4 each piece's items row; that must judge as matching (audit, item) does."""
    table = make_items(
        {"response_id": 1},
        {"response_id": 1, "question_id": "q2"},
        {"response_id": 2},
        {"response_id": 2, "question_id": "q2", "answered": "not-met"},
        {"response_id": 3, "answered": None},
        {"response_id": 4},
    )
    pieces = [  # (row, title as stored, type, date): several old per item, ties, titles that are not text
        (0, "Newer", "policy", "2018-01-01"),
        (0, "First", "policy", "2016-02-01"),
        (0, "Tied", "policy", "2016-02-01"),
        (1, 7, "policy", "2015-01-01"),
        (1, None, "policy", "2016-01-01"),
        (2, "Minutes", "minutes", "2010-01-01"),
        (2, "Recent", "policy", "2024-01-01"),
        (3, "Old", "policy", "2012-01-01"),
        (4, "Old", "policy", "2012-01-01"),
        (5, "Undated", "policy", None),
        (5, ["a list"], "policy", "2011-05-05"),
    ]
    rows = np.array([p[0] for p in pieces])
    titles = np.empty(len(pieces), dtype=object)
    titles[:] = [p[1] for p in pieces]
    types = pd.Series([p[2] for p in pieces], dtype=object).astype("str")
    dated = pd.to_datetime(pd.Series([p[3] for p in pieces], dtype=object)).to_numpy(dtype="datetime64[ns]")
    applies = pd.Series([True, True, True, True, True, False])  # not the last item
    evidence = pd.DataFrame(
        {
            "response_id": table["response_id"].to_numpy()[rows],
            "item_id": table["question_id"].to_numpy()[rows],
            "title": pd.Series(titles, dtype=object).astype("str"),
            "type": types,
            "date": dated,
        }
    )
    expected = R.evidence_age(table, evidence, R4, OPTIONS, AS_OF, applies)
    got = R.evidence_age_of_rows(table, rows, titles, types, dated, R4, OPTIONS, AS_OF, applies)
    assert_frame_equal(got, expected)
    assert expected["why"].notna().tolist() == [True, True, False, False, False, False]


def test_sparse_codes_number_the_values_there_are_from_one_and_missing_values_zero() -> None:
    values = pd.Series([None, "b", np.nan, "a", pd.NA, "b", None], dtype=object)
    assert R._sparse_codes(values).tolist() == [0, 1, 0, 2, 0, 1, 0]


@pytest.mark.parametrize(
    "count", [pd.Series([2, 0, 1]), pd.Series([2.0, np.nan, 1.0]), pd.Series([2, None, 1], dtype=object)]
)
def test_evidence_counts_read_missing_as_none(count: pd.Series) -> None:
    got = R._evidence_counts(pd.DataFrame({"evidence_count": count}))
    assert got.dtype == np.int64 and got.tolist() == [2, 0, 1]


@pytest.mark.parametrize("dtype", ["str", object, "category", "string"])
def test_ratings_equal_to_a_value_as_pandas_compares_them(dtype: object) -> None:
    from scoring.rules import _equals

    ratings = pd.Series(["met", None, "not-met", "Met", "met ", "met"], dtype=dtype)
    if dtype == "string":  # pd.NA is neither equal nor not: as before, no answer
        with pytest.raises(ValueError, match="missing values"):
            _equals(ratings, "met")
        return
    assert _equals(ratings, "met").tolist() == ratings.eq("met").to_numpy(dtype=bool).tolist()
    assert _equals(ratings, "met").tolist() == [True, False, False, False, False, True]


def test_r8_writes_shares_as_whole_percentages_as_the_other_rules_do() -> None:
    """Halves round to even, as pandas rounds them; no share reads as a dash."""
    share = np.array([0.125, 0.135, 1 / 300, 0.995, 0.8, np.nan, 0.0, 2 / 3])
    n = np.array([8, 200, 300, 200, 10, 0, 7, 3])
    text = R._triangulation_text(R8, "Met", 5, 0.8, np.full(len(n), 3), n, share)
    pct = R._fmt(pd.Series(share * 100)).tolist()
    assert pct == ["12", "14", "0", "100", "80", "-", "0", "67"]
    assert [t.split("%")[0] for t in text] == [f"Not flagged: {p}" for p in pct]

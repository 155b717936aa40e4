"""Results read from stored scores: the frames every dashboard, download and export starts from."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from scoring import SuppressionPolicy, theme_table
from store import results
from store.models import Action, Answer, Response, User
from tests import builders


@pytest.mark.parametrize(
    ("day", "period"),
    [
        (dt.date(2025, 4, 1), "2025-26"),
        (dt.date(2026, 3, 31), "2025-26"),
        (dt.date(2026, 4, 1), "2026-27"),
        (dt.date(2099, 12, 1), "2099-00"),
    ],
)
def test_periods_are_financial_years(day: dt.date, period: str) -> None:
    assert results.period_of(day) == period


def test_submitted_audits_and_responses_are_read_with_their_agency_and_period(db, agencies, users) -> None:
    cycle = builders.audit_cycle(opens_on=dt.date(2026, 4, 6))
    builders.submitted_audit(agencies["police"], cycle, users["agency"])
    link = builders.survey_link(builders.survey_round("child-experience"), "School", agencies["health"])
    builders.submitted_responses(link, 2, lambda i: {"safe-home.age-8-11": "always"}, band="age-8-11")
    builders.surveys.save_page(link, None, "age-8-11", {"safe-home.age-8-11": "always"}, (), builders.TODAY)
    assert results.catch_up() == 2

    audits = results.audit_responses()
    assert audits[["source", "cycle", "agency", "sector", "collection"]].to_dict("records") == [
        {
            "source": "self-rating",
            "cycle": "2026-27",
            "agency": "Shire Police",
            "sector": "police",
            "collection": cycle.name,
        }
    ]
    surveys = results.survey_responses()
    assert len(surveys) == 2, "the draft is not a response yet"
    assert set(surveys["source"]) == {"child"} and set(surveys["age_band"]) == {"age-8-11"}
    assert set(surveys["agency"]) == {"Shire Community Health"}

    units = results.theme_units()
    responses = pd.concat([audits, surveys], ignore_index=True)
    table = theme_table(units, responses, policy=SuppressionPolicy())
    child = table.loc[table["source"].eq("child")]
    assert not child.empty and child["suppressed"].all(), "two children are fewer than ten"
    own = table.loc[table["source"].eq("self-rating")]
    assert not own.empty and not own["suppressed"].any(), "agencies' own ratings are never suppressed"


def test_standards_and_actions_of_a_cycle(db, agencies, users: dict[str, User]) -> None:
    cycle = builders.audit_cycle()
    other = builders.audit_cycle(name="Another cycle")
    builders.submitted_audit(agencies["police"], cycle, users["agency"], {"s1.2": "not-met"})
    builders.submitted_audit(agencies["health"], other, users["other-agency"])
    standards = results.standards_frame(cycle)
    assert len(standards) == 11 and standards["audit_id"].nunique() == 1
    s1 = standards.set_index("section_id").loc["s1"]
    assert (s1["self_rating"], s1["reported_rating"]) == ("partially-met", "partially-met")
    actions = results.actions_frame(cycle)
    assert actions[["agency", "question_id", "what"]].to_dict("records") == [
        {"agency": "Shire Police", "question_id": "s1.2-action", "what": "Fix s1.2"}
    ]
    assert Action.select().count() == 1


def test_answers_come_in_chunks_that_never_split_a_response(db) -> None:
    link = builders.survey_link(builders.survey_round("family-experience"))
    made = builders.submitted_responses(link, 7, lambda i: {"told-what": "agree", "told-why": "disagree"})
    chunks = list(results.answer_chunks([r.id for r in made], size=80))
    assert len(chunks) == 4, "two responses a chunk at 80 answers (about 40 a response)"
    seen = [set(c["response_id"]) for c in chunks]
    assert all(a.isdisjoint(b) for i, a in enumerate(seen) for b in seen[i + 1 :])
    whole = pd.concat(chunks)
    assert len(whole) == 14 and list(whole["response_id"]) == sorted(whole["response_id"])


# every kind of value an answer holds, twice where a text repeats (choices, sets of choices)
STORED_VALUES = [
    "agree",
    "agree",
    ["often", "always"],
    ["often", "always"],
    [{"title": "Safeguarding policy", "type": "policy", "date": "2025-04-01", "link": None}],
    [{"title": "Safeguarding policy", "type": "policy", "date": "2025-04-01", "link": None}],
    {"what": "Review the policy", "owner": "Head of quality", "due": "2025-12-31"},
    3,
    2.5,
    True,
    'Ça va, "quoted" \\ <b>=1+1</b>',
    [],
    {},
]


def test_answers_are_read_as_their_field_decodes_them_and_only_those_asked_for(db) -> None:
    version = builders.version("family-experience")
    made = [Response.create(questionnaire=version, status="submitted") for _ in range(6)]
    for response in made:
        rows = [{"response": response, "question_id": f"q{i}", "value": v} for i, v in enumerate(STORED_VALUES)]
        Answer.insert_many(rows).execute()
    asked = [made[i].id for i in (0, 2, 3, 5)]  # the others lie inside the chunks' id ranges

    read = pd.concat(results.answer_chunks(asked, size=80), ignore_index=True)
    as_numpy = pd.concat(results.answer_chunks(pd.Series(asked).to_numpy(), size=80), ignore_index=True)
    pd.testing.assert_frame_equal(as_numpy, read)  # ids from a frame's column read the same

    through_peewee = (
        Answer.select(Answer.response, Answer.question_id, Answer.value)
        .where(Answer.response.in_(asked))
        .order_by(Answer.response, Answer.id)
        .tuples()
    )
    expected = pd.DataFrame.from_records(list(through_peewee), columns=["response_id", "question_id", "value"])
    pd.testing.assert_frame_equal(read, expected)
    assert read["value"].tolist() == STORED_VALUES * 4


def test_decoded_values_share_no_value_that_can_be_changed() -> None:
    texts = ['"agree"', '"agree"', '["a","b"]', '["a","b"]', '[{"t":1}]', '[{"t":1}]', '{"w":1}', '{"w":1}', None]
    out = results.decoded_values(texts)
    assert out.tolist() == [None if t is None else json.loads(t) for t in texts]
    assert out[2] is not out[3] and out[6] is not out[7]
    assert out[4] is not out[5] and out[4][0] is not out[5][0], "nested values too"
    out[2].append("c")
    out[4][0]["t"] = 2
    assert out[3] == ["a", "b"] and out[5] == [{"t": 1}]
    # lists of one length are values, never rows of a table of their own
    assert results.decoded_values(['["a","b"]', '["c","d"]']).tolist() == [["a", "b"], ["c", "d"]]

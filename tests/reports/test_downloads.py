"""The analysts' files: each kind for its collection, suppressed, named, and refused when they do not fit."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest

from reports import downloads
from reports.policy import policy_from
from scoring import SUPPRESSED, raw_counts, stream
from store import results
from store.models import AuditCycle, SurveyRound
from store.questionnaires import definition
from tests import builders
from tests.store.test_audits import counting_statements

POLICY = policy_from({})


def _csv(export) -> pd.DataFrame:
    return pd.read_csv(io.StringIO("".join(stream(export, "csv"))), keep_default_na=False)


def test_standards_have_both_ratings_the_agency_name_and_triangulation(partnership) -> None:
    export = downloads.build("standards", POLICY, cycle=partnership.cycle)
    assert export.name == "2026-to-2027-standards"
    table = _csv(export)
    police = table.loc[table["agency"].eq("Shire Police")].set_index("section_id")
    assert (
        police.loc["s3", "self_rating"],
        police.loc["s3", "moderated_rating"],
        police.loc["s3", "reported_rating"],
    ) == (
        "met",
        "partially-met",
        "partially-met",
    )
    assert police.loc["s2", "triangulation"] == "flag"
    assert str(police.loc["s2", "practitioner_answers"]) == "12"
    assert {c.name for c in export.dictionary} >= {"agency", "self_rating", "moderated_rating", "triangulation"}


def test_theme_tables_suppress_small_groups(partnership) -> None:
    table = _csv(downloads.build("themes", POLICY))
    child = table.loc[table["source"].eq("child")]
    assert not child.empty and set(child["respondents"].astype(str)) == {SUPPRESSED}
    family = table.loc[table["source"].eq("family") & table["theme"].eq("being-informed")]
    assert set(family["respondents"].astype(str)) == {"12"}
    by_agency = _csv(downloads.build("themes", POLICY, by="agency"))
    assert "Shire Police" in set(by_agency["group"])
    by_sector = _csv(downloads.build("themes", POLICY, by="sector"))
    assert "" not in set(by_sector["group"]), "every row says its group"
    assert "No sector" in set(by_sector["group"]), "answers given to no agency say so"


def test_raw_answers_long_and_wide_neutralise_formulas_and_hold_back_small_groups_text(partnership) -> None:
    long = _csv(downloads.build("answers-long", POLICY, survey_round=partnership.family.round))
    assert long["response_id"].nunique() == 12
    texts = long.loc[long["question_id"].eq("anything-else"), "value_text"]
    assert set(texts) == {"'=1+1 was fine"}, "12 families are enough to release text; a formula is neutralised"
    child = _csv(downloads.build("answers-long", POLICY, survey_round=partnership.child.round))
    assert set(long["agency_id"].astype(str)) == {str(partnership.family.agency_id)}, "12 families: their agency shown"
    assert child.empty and "value_text" in child.columns, "3 children in all are too few to show even pooled"
    wide = _csv(downloads.build("answers-wide", POLICY, cycle=partnership.cycle))
    assert len(wide) == 2 and "s1.1" in wide.columns
    standards = _csv(downloads.build("standards", POLICY, cycle=partnership.cycle))
    assert not standards.astype(str).apply(lambda c: c.str.startswith(("=", "+", "-", "@"))).any().any()


@pytest.mark.parametrize(
    ("kind", "kwargs"),
    [
        ("nothing", {}),
        ("standards", {}),
        ("answers-long", {}),
        ("themes", {"by": "postcode"}),
    ],
)
def test_files_that_do_not_fit_their_collection_are_not_found(partnership, kind: str, kwargs: dict) -> None:
    with pytest.raises(downloads.NotFound):
        downloads.build(kind, POLICY, **kwargs)


def test_both_a_cycle_and_a_round_is_not_one_collection(partnership) -> None:
    with pytest.raises(downloads.NotFound):
        downloads.build("answers-long", POLICY, cycle=partnership.cycle, survey_round=partnership.family.round)


def _more_collections(partnership, agencies, users) -> tuple[list[AuditCycle], list[SurveyRound]]:
    """The partnership's cycle and rounds and more of each, of different sizes, read afresh as
    the downloads page reads them: a second cycle with one audit, an empty cycle, a second
    children's round of 11 and a second families' round of 4 (too few to name their agency)."""
    later = builders.audit_cycle("2027 to 2028", opens_on=builders.TODAY - dt.timedelta(days=5))
    builders.submitted_audit(agencies["police"], later, users["agency"])
    builders.audit_cycle("2028 to 2029", opens_on=builders.TODAY - dt.timedelta(days=3))
    children = builders.survey_link(builders.survey_round("child-experience", "Children again"), "Club")
    builders.submitted_responses(children, 11, lambda i: {"safe-home.age-8-11": "always"}, band="age-8-11")
    families = builders.survey_link(
        builders.survey_round("family-experience", "Families again"), "Hub", agencies["police"]
    )
    builders.submitted_responses(families, 4, lambda i: {"told-what": "agree"})
    return list(AuditCycle.select().order_by(AuditCycle.id)), list(SurveyRound.select().order_by(SurveyRound.id))


def test_raw_file_counts_read_together_are_each_collections_own(partnership, agencies, users) -> None:
    """Every cycle's and every round's responses are read at once and split by collection: each
    count is the one that collection's responses alone give, however alike the collections are
    (the same questionnaire and period for both children's and both families' rounds)."""
    cycles, rounds = _more_collections(partnership, agencies, users)
    counts = downloads.raw_file_counts(POLICY, cycles, rounds)
    one_at_a_time = {
        **{
            f"cycle={c.id}": raw_counts(definition(c.questionnaire), results.audit_responses([c]), POLICY)
            for c in cycles
        },
        **{
            f"round={r.id}": raw_counts(definition(r.questionnaire), results.survey_responses([r]), POLICY)
            for r in rounds
        },
    }
    assert counts == one_at_a_time
    by_name = {c.name: counts[f"cycle={c.id}"] for c in cycles} | {r.name: counts[f"round={r.id}"] for r in rounds}
    assert [(n, (c.shown, c.left_out)) for n, c in by_name.items()] == [
        ("2026 to 2027", (2, 0)),
        ("2027 to 2028", (1, 0)),
        ("2028 to 2029", (0, 0)),
        ("Autumn survey", (12, 0)),
        ("Families", (12, 0)),
        ("Children", (0, 3)),
        ("Children again", (11, 0)),
        ("Families again", (0, 4)),
    ]


def test_raw_file_counts_read_as_many_times_for_many_collections_as_for_two(
    partnership, agencies, users, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The downloads page counts every collection's raw files on every view: its reads must not
    grow with the cycles and rounds a partnership has run."""
    cycles, rounds = _more_collections(partnership, agencies, users)
    downloads.raw_file_counts(POLICY, cycles, rounds)  # scores what was submitted, once
    statements, made = counting_statements(monkeypatch), []
    for chosen in ((cycles, rounds), (cycles[:1], rounds[:1])):
        fresh = (  # as each view reads them: no questionnaire read yet
            [AuditCycle.get_by_id(c.id) for c in chosen[0]],
            [SurveyRound.get_by_id(r.id) for r in chosen[1]],
        )
        statements.clear()
        downloads.raw_file_counts(POLICY, *fresh)
        made.append(len(statements))
    assert made[0] == made[1], f"{made[0]} statements for 3 cycles and 5 rounds, {made[1]} for one of each"

"""The analysts' files: each kind for its collection, suppressed, named, and refused when they do not fit."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from reports import downloads
from reports.policy import policy_from
from scoring import SUPPRESSED, stream

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

"""Theme tables: sums per theme, source, group and cycle, change since the last cycle, trends across versions."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from questionnaires import Questionnaire
from scoring.frames import question_frame
from scoring.standards import score_audits
from scoring.suppression import SuppressionPolicy
from scoring.surveys import score_answers, score_survey
from scoring.themes import audit_theme_scores, question_table, source_of, theme_table, with_source
from tests.scoring.conftest import column_codes, definition, load

COLUMNS = ["theme", "measure", "source", "cycle", "group", "respondents", "answers", "positive", "share", "mean_100"]


def _answers(rows: list[tuple[int, str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["response_id", "question_id", "value"])
    frame["value"] = frame["value"].astype(object)
    return frame


@pytest.fixture
def family_cycles(shipped: dict[str, Questionnaire]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Family answers to `told-what` (themes family-involvement and being-informed): 2024 and 2025, agencies 1 and 2."""
    plan = {
        ("2024", 1): ["agree"] * 6 + ["disagree"] * 6,  # 12 people, half positive
        ("2024", 2): ["strongly-agree"] * 10 + ["dont-know"] * 2,  # 10 in the base, all positive
        ("2025", 1): ["agree"] * 9 + ["neither"] * 3,
        ("2025", 2): ["disagree"] * 3,  # a small group
    }
    rows, meta = [], []
    for (cycle, agency), values in plan.items():
        for value in values:
            response = len(meta)
            rows.append((response, "told-what", value))
            meta.append((response, "family", cycle, agency, "health" if agency == 1 else "police"))
    responses = pd.DataFrame(meta, columns=["response_id", "source", "cycle", "agency_id", "sector"])
    scores = score_survey(shipped["family-experience"], _answers(rows))
    return with_source(scores.themes, "family"), responses


def test_theme_table_by_agency(family_cycles: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    units, responses = family_cycles
    table = theme_table(units, responses, by="agency")
    got = table.loc[table["theme"].eq("being-informed"), [*COLUMNS, "change"]].reset_index(drop=True)
    expected = pd.DataFrame(
        [
            ("being-informed", "quality", "family", "2024", 1, 12, 12, 6, 0.5, 50.0, np.nan),
            ("being-informed", "quality", "family", "2025", 1, 12, 12, 9, 0.75, 68.75, 0.25),
            ("being-informed", "quality", "family", "2024", 2, 10, 10, 10, 1.0, 100.0, np.nan),
            ("being-informed", "quality", "family", "2025", 2, 3, 3, 0, 0.0, 25.0, -1.0),
        ],
        columns=[*COLUMNS, "change"],
    ).astype({"group": object})
    assert_frame_equal(got.astype({"group": object}), expected, check_dtype=False)


def test_dont_know_is_out_of_the_base_but_the_respondent_counts_only_with_an_answer_in_it(
    family_cycles: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    units, responses = family_cycles
    table = theme_table(units, responses.assign(agency_id=1), by=None)
    row = table.loc[table["theme"].eq("family-involvement") & table["cycle"].eq("2024")].iloc[0]
    assert (row["respondents"], row["answers"], row["positive"]) == (22, 22, 16)


def test_suppressed_table_hides_small_cells_and_their_change(family_cycles: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    units, responses = family_cycles
    table = theme_table(units, responses, by="agency", policy=SuppressionPolicy())
    got = table.loc[table["theme"].eq("being-informed")].set_index(["cycle", "group"])
    assert got.loc[("2025", 2), "suppressed"]  # 3 respondents
    assert got.loc[("2025", 1), "suppressed"]  # shown, the partnership total would give agency 2 away
    assert pd.isna(got.loc[("2025", 2), "share"]) and pd.isna(got.loc[("2025", 2), "change"])
    assert not got.loc[("2024", 1), "suppressed"] and not got.loc[("2024", 2), "suppressed"]


def test_change_is_missing_when_last_cycles_cell_was_hidden(shipped: dict[str, Questionnaire]) -> None:
    sizes = {("2024", 1): 12, ("2024", 2): 13, ("2024", 3): 4, ("2025", 1): 12, ("2025", 2): 12, ("2025", 3): 12}
    rows, meta = [], []
    for (cycle, agency), size in sizes.items():
        for _ in range(size):
            rows.append((len(meta), "told-what", "agree"))
            meta.append((len(meta), "family", cycle, agency))
    responses = pd.DataFrame(meta, columns=["response_id", "source", "cycle", "agency_id"])
    units = score_survey(shipped["family-experience"], _answers(rows)).themes
    table = theme_table(units, responses, by="agency", policy=SuppressionPolicy())
    got = table.loc[table["theme"].eq("being-informed")].set_index(["cycle", "group"])
    assert got.loc[("2024", 3), "suppressed"] and got.loc[("2024", 1), "suppressed"]  # 4, and the next smallest
    assert not got.loc[("2024", 2), "suppressed"]
    assert not got.loc[("2025", 3), "suppressed"] and pd.isna(got.loc[("2025", 3), "change"])
    assert not got.loc[("2025", 1), "suppressed"] and pd.isna(got.loc[("2025", 1), "change"])
    assert got.loc[("2025", 2), "change"] == 0.0


def test_child_source_is_split_by_age_band(shipped: dict[str, Questionnaire]) -> None:
    child = shipped["child-experience"]
    rows, meta = [], []
    for response, band in enumerate(["age-12-17"] * 4 + ["age-4-7"] * 3 + ["age-8-11"] * 2):
        question = f"safe-home.{band}"
        rows.append((response, question, "happy" if band == "age-4-7" else "always"))
        meta.append((response, "child", "2025", band))
    responses = pd.DataFrame(meta, columns=["response_id", "source", "cycle", "age_band"])
    table = theme_table(score_survey(child, _answers(rows)).themes, responses)
    safe = table.loc[table["theme"].eq("feeling-safe"), ["age_band", "respondents", "share"]].reset_index(drop=True)
    assert_frame_equal(
        safe,
        pd.DataFrame({"age_band": ["age-4-7", "age-8-11", "age-12-17"], "respondents": [3, 2, 4], "share": [1.0] * 3}),
        check_dtype=False,
    )  # youngest first, not as text sorts ("age-12-17" before "age-4-7")
    whole = theme_table(score_survey(child, _answers(rows)).themes, responses, by_age_band=False)
    assert whole.loc[whole["theme"].eq("feeling-safe"), "respondents"].tolist() == [9]


def test_audit_sources_count_standards(s11: Questionnaire) -> None:
    answers = []
    for response in (1, 2):
        for q in s11.questions:
            if q.type == "rating":
                answers += [
                    (response, q.id, "met"),
                    (response, q.evidence, [{"title": "t", "type": "minutes", "date": "2025-01-01", "link": None}]),
                ]
    answers.append((2, "s7.1", "not-met"))
    answers.append((2, "s7.1-action", {"what": "w", "owner": "o", "due": "2025-12-01"}))
    moderation = pd.DataFrame({"response_id": [1], "section_id": ["s7"], "moderated_rating": ["partially-met"]})
    standards = score_audits(s11, _answers(answers), date(2025, 6, 30), moderation).standards
    units = audit_theme_scores(s11, standards)
    responses = pd.DataFrame({"response_id": [1, 2], "cycle": "2025", "agency_id": [1, 2]})
    table = theme_table(units, responses, by=None)
    sharing = table.loc[table["theme"].eq("information-sharing")].set_index(["source", "measure"])
    s7_measures = {
        q.measure for q in s11.section("s7").questions if q.type == "rating" and "information-sharing" in q.themes
    }
    measure = sorted(s7_measures)[0]
    self_rated = sharing.loc[("self-rating", measure)]
    assert self_rated["respondents"] == 2
    assert self_rated["share"] < 1.0  # agency 2 does not meet s7
    moderated = sharing.loc[("moderated", measure)]
    assert (moderated["respondents"], moderated["answers"], moderated["positive"]) == (1, 1, 0)


def test_question_trends_follow_same_as_across_versions(shipped: dict[str, Questionnaire]) -> None:
    v1 = shipped["family-experience"]
    data = definition("family-experience")
    data["version"] = 2
    told = next(q for s in data["sections"] for q in s["questions"] if q["id"] == "told-what")
    told["id"] = "told-what-is-happening"
    told["same_as"] = {"version": 1, "question": "told-what"}
    v2 = load(data)
    old = score_answers(v1, _answers([(i, "told-what", "agree" if i < 5 else "disagree") for i in range(10)]))
    new = score_answers(v2, _answers([(10 + i, "told-what-is-happening", "agree") for i in range(10)]))
    questions = pd.concat([question_frame(v1), question_frame(v2, [v1])], ignore_index=True)
    responses = pd.DataFrame({"response_id": range(20), "source": "family", "cycle": ["2024"] * 10 + ["2025"] * 10})
    table = question_table(pd.concat([old, new], ignore_index=True), questions, responses)
    trend = table.loc[table["question"].eq("family-experience:told-what"), ["cycle", "respondents", "share", "change"]]
    expected = pd.DataFrame(
        {"cycle": ["2024", "2025"], "respondents": [10, 10], "share": [0.5, 1.0], "change": [np.nan, 0.5]}
    )
    assert_frame_equal(trend.reset_index(drop=True), expected, check_dtype=False)


def _plain_theme_table(units: list[pd.DataFrame], responses: pd.DataFrame) -> pd.DataFrame:
    """The theme table by agency worked out the obvious way: join, group by the six keys, look back a cycle."""
    rows = pd.concat([u.astype({"theme": "str", "measure": "str", "source": "str"}) for u in units])
    rows = rows.merge(responses[["response_id", "cycle", "agency_id", "age_band"]], on="response_id")
    rows["age_band"] = rows["age_band"].where(rows["source"].eq("child"))
    keys = ["theme", "measure", "source", "cycle", "agency_id", "age_band"]
    table = rows.groupby(keys, dropna=False).agg(
        respondents=("answers", "size"),
        answers=("answers", "sum"),
        positive=("positive", "sum"),
        score=("score_sum", "sum"),
    )
    table = table.reset_index()
    table["share"] = table["positive"] / table["answers"]
    table["mean_100"] = table["score"] / table["answers"]
    cycles = sorted(table["cycle"].unique())
    previous = table.assign(cycle=table["cycle"].map(dict(zip(cycles[:-1], cycles[1:], strict=True))))
    table = table.merge(previous[[*keys, "share"]].rename(columns={"share": "before"}), on=keys, how="left").assign(
        change=lambda t: t["share"] - t["before"]
    )
    order = ["theme", "measure", "source", "agency_id", "age_band", "cycle"]
    youngest_first = {"age-4-7": "1", "age-8-11": "2", "age-12-17": "3"}  # bands by age, not as text
    table = table.assign(_band=table["age_band"].map(youngest_first))
    order[order.index("age_band")] = "_band"
    return table.sort_values(order, na_position="first").drop(columns="_band").reset_index(drop=True)


def test_measures_taken_together_count_each_respondent_once(shipped: dict[str, Questionnaire]) -> None:
    """A response with answers on two measures of a theme is one respondent when the measures are
    not split, in the count shown and in the small-number check."""
    questionnaire = shipped["family-experience"]
    questions = question_frame(questionnaire)
    scored = questions.loc[questions["scored"]].explode("themes")
    theme, measures = next(
        (t, group["measure"].unique()) for t, group in scored.groupby("themes") if group["measure"].nunique() > 1
    )
    asked = [scored.loc[scored["themes"].eq(theme) & scored["measure"].eq(m), "question_id"].iloc[0] for m in measures]
    rows = []
    for response in range(8):
        for question_id in asked:
            rows.append((response, question_id, questionnaire.question(question_id).options[0].value))
    units = with_source(score_survey(questionnaire, _answers(rows)).themes, "family")
    responses = pd.DataFrame({"response_id": range(8), "cycle": "2025"})
    split = theme_table(units, responses)
    together = theme_table(units, responses, by_measure=False)
    cell = together.loc[together["theme"].eq(theme)]
    assert len(cell) == 1 and cell["measure"].iloc[0] == "all"
    assert int(cell["respondents"].iloc[0]) == 8, "eight people, not eight per measure"
    mine = split.loc[split["theme"].eq(theme)]
    assert int(cell["answers"].iloc[0]) == int(mine["answers"].sum()) and len(mine) >= 2
    hidden = theme_table(units, responses, by_measure=False, policy=SuppressionPolicy())
    assert hidden.loc[hidden["theme"].eq(theme), "suppressed"].all(), "8 people are under 10, however many measures"


def _mixed_units(
    shipped: dict[str, Questionnaire], per_source: int, seed: int
) -> tuple[list[pd.DataFrame], pd.DataFrame]:
    """Child, family and practitioner sums of random answers, over two cycles, six agencies and the age bands."""
    rng = np.random.default_rng(seed)
    units, meta = [], []
    for name in ("child-experience", "family-experience", "practitioner-s11-survey"):
        questionnaire = shipped[name]
        bands = [b.id for b in questionnaire.age_bands] or [None]
        rows = []
        for response in range(len(meta), len(meta) + per_source):
            band = bands[rng.integers(len(bands))]
            meta.append((response, ["2024", "2025"][rng.integers(2)], int(rng.integers(6)), band))
            for section in questionnaire.sections_for(band):
                for q in section.questions_for(band):
                    if q.is_choice and q.type != "multiple_choice":
                        rows.append((response, q.id, q.options[rng.integers(len(q.options))].value))
        scores = score_survey(questionnaire, _answers(rows))
        units.append(with_source(scores.themes, source_of(questionnaire)))
    return units, pd.DataFrame(meta, columns=["response_id", "cycle", "agency_id", "age_band"])


def test_theme_table_on_codes_equals_the_obvious_group_by(shipped: dict[str, Questionnaire]) -> None:
    units, responses = _mixed_units(shipped, 150, seed=4)
    table = theme_table(units, responses, by="agency")
    expected = _plain_theme_table(units, responses)
    assert len(table) == len(expected)
    for column in ("theme", "measure", "source", "cycle", "age_band"):
        assert table[column].astype(object).where(table[column].notna(), None).tolist() == (
            expected[column].astype(object).where(expected[column].notna(), None).tolist()
        ), column
    assert table["group"].tolist() == expected["agency_id"].tolist()
    for column in ("respondents", "answers", "positive"):
        assert table[column].tolist() == expected[column].astype("int64").tolist(), column
    for column in ("share", "mean_100", "change"):
        np.testing.assert_allclose(table[column], expected[column], rtol=1e-12, err_msg=column)
    hidden = theme_table(units, responses, by="agency", policy=SuppressionPolicy())
    assert hidden["suppressed"].any() and hidden.loc[hidden["suppressed"], "share"].isna().all()


def test_rows_sort_by_one_combined_key_as_lexsort_would_with_ties_and_missing() -> None:
    from scoring.themes import _sorted_order

    rng = np.random.default_rng(8)
    ranks = [rng.integers(-1, n, 5000) for n in (4, 3, 2, 300, 5, 2)]  # ties: 5000 rows, fewer keys
    expected = np.lexsort(list(reversed(ranks)))
    assert _sorted_order(ranks).tolist() == expected.tolist()
    wide = [rng.integers(-1, 2**40, 50) for _ in range(3)] + [rng.integers(0, 2, 50)]  # too wide to combine
    assert _sorted_order(wide).tolist() == np.lexsort(list(reversed(wide))).tolist()
    assert _sorted_order([np.zeros(0, dtype=np.int64)]).tolist() == []


#: Columns of responses' keys: runs, missing values of several kinds, values that cannot be compared, wide integers.
RESPONSE_KEY_COLUMNS = [
    pd.Series(["2025-26"] * 50 + ["2024-25"] * 30 + [None] * 5 + ["2025-26"] * 40, dtype="str"),
    pd.Series(["age-4-7"] * 40 + [None] * 30 + [np.nan] * 10 + ["age-4-7", None] * 10, dtype=object),
    pd.Series(["a", pd.NA] * 60, dtype=object),  # cannot be compared: hashed whole
    pd.Series(["a"] * 60 + [pd.NA] * 60, dtype="string"),
    pd.Series(list("abcdefgh") * 20, dtype=object),  # short runs: hashed whole
    pd.Series([3, 3, 1, 1, 2] * 30),  # integers in a narrow range: their distance from the lowest
    pd.Series([-(2**62), 2**62, 5] * 30),  # far apart: hashed
    pd.Series([7, 9, 7], dtype="int8"),
    pd.Series([2**63 + 1, 3] * 30, dtype="uint64"),
    pd.Series(["x"] * 90, dtype=object),
    pd.Series(["b", "a", None, "b"] * 10, dtype="category"),
    pd.Series(pd.to_datetime(["2025-04-01", None, "2024-04-01"] * 10)),
    pd.Series([], dtype=object),
    pd.Series([], dtype="int64"),
]


@pytest.mark.parametrize("values", RESPONSE_KEY_COLUMNS)
def test_response_keys_group_responses_as_factorize_groups_them(values: pd.Series) -> None:
    from scoring.cells import first_seen
    from scoring.themes import _value_codes

    codes = _value_codes(values)
    assert codes.min(initial=0) >= 0
    assert first_seen(codes).tolist() == pd.factorize(values, use_na_sentinel=False)[0].tolist()


@pytest.mark.parametrize(
    "ids",
    [
        lambda s: "r" + s.astype(str),  # text: hashed
        lambda s: s - 1_000,  # negative: a table from the lowest id
        lambda s: s * 1_000_000_007,  # far apart: hashed
        lambda s: s.astype("int32"),
    ],
)
def test_theme_table_finds_responses_whatever_their_ids(shipped: dict[str, Questionnaire], ids) -> None:
    units, responses = _mixed_units(shipped, 120, seed=11)
    responses["sector"] = np.where(responses["agency_id"] % 2 == 0, "health", "police")
    policy = SuppressionPolicy(k=3)
    expected = theme_table(units, responses, by="agency", policy=policy)
    renamed = [u.assign(response_id=ids(u["response_id"])) for u in units]
    table = theme_table(
        renamed, responses.assign(response_id=ids(responses["response_id"])), by="agency", policy=policy
    )
    assert_frame_equal(table, expected)


def test_theme_table_ignores_unknown_responses_and_takes_a_responses_first_row(
    shipped: dict[str, Questionnaire],
) -> None:
    units, responses = _mixed_units(shipped, 120, seed=11)
    expected = theme_table(units, responses, by="agency", policy=SuppressionPolicy(k=3))
    stray = [pd.concat([u, u.head(5).assign(response_id=[-7, 10**6, 10**12, 361, 99_999])]) for u in units]
    again = responses.sample(40, random_state=2).assign(cycle="1999", agency_id=77)  # described twice: first counts
    table = theme_table(
        [s.sample(frac=1, random_state=3) for s in stray],  # units out of order too
        pd.concat([responses, again], ignore_index=True),
        by="agency",
        policy=SuppressionPolicy(k=3),
    )
    assert_frame_equal(table, expected)
    everyone = theme_table(units, responses, by="agency")
    fewer = theme_table(units, responses.iloc[40:], by="agency")  # units of responses not described: left out
    assert everyone["respondents"].sum() == sum(len(u) for u in units)  # a unit is one respondent in one cell
    assert fewer["respondents"].sum() == sum(int(u["response_id"].ge(40).sum()) for u in units)


def test_narrow_unit_ids_are_compared_with_wide_response_ids_as_numbers(shipped: dict[str, Questionnaire]) -> None:
    units, responses = _mixed_units(shipped, 40, seed=5)
    narrow = [u.assign(response_id=u["response_id"].astype("int32")) for u in units]
    for shift in (0, 2**31 + 5):  # responses past what int32 holds: no unit is theirs, and nothing overflows
        wide = responses.assign(response_id=responses["response_id"] + shift)
        assert_frame_equal(theme_table(narrow, wide, by="agency"), theme_table(units, wide, by="agency"))


@pytest.mark.parametrize(
    "values",
    [
        [None, "age-4-7", "age-8-11", np.nan],  # text and missing: converted directly
        ["a", "b"],
        [None, None],  # no text: floats
        [float("nan")],
        [pd.NA, "a"],  # anything else: through the group-by
        [1, "a"],
        [True, None],
        ["a", np.float64("nan")],
        [],
    ],
)
def test_grouped_keys_given_back_as_a_group_by_gives_them(values: list[object]) -> None:
    from scoring.cells import as_grouped
    from scoring.themes import _as_grouped

    keys = {"band": pd.Series(values, dtype=object), "group": pd.Series([1, 2, 3]), "cycle": pd.Series(["x", None])}
    expected, got = as_grouped(keys), _as_grouped(keys)
    for name in keys:
        pd.testing.assert_series_equal(got[name], expected[name], check_exact=True)


@pytest.mark.parametrize(
    "ids", [[4, 9, 4, 7, 9, 4], [4.0, np.nan, 4.0, 7.0, np.nan, 1.5], ["b", "a", "b", "c", "a", "b"]]
)
def test_an_agencys_sector_is_the_one_its_first_response_names(ids: list[object]) -> None:
    from scoring.themes import _sector_codes

    responses = pd.DataFrame({"agency_id": ids, "sector": ["health", None, "police", "health", "police", "school"]})
    agencies = pd.Series(list(dict.fromkeys(ids)) + [ids[0]])  # each agency, one twice
    expected = responses.drop_duplicates("agency_id").set_index("agency_id")["sector"].reindex(agencies)
    codes = _sector_codes(responses, agencies)
    assert pd.factorize(expected.to_numpy(), use_na_sentinel=False)[0].tolist() == codes.tolist()


def test_audit_standards_met_by_their_place_on_the_scale_as_by_their_text(
    s11: Questionnaire, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    import scoring.themes as themes

    answers = []
    for response in (1, 2, 3):
        for q in s11.questions:
            if q.type == "rating":
                answers.append((response, q.id, "partially-met"))
    standards = score_audits(s11, _answers(answers), date(2025, 6, 30)).standards
    ratings = np.array(["met", "not-met", "partially-met", "off-the-scale", None], dtype=object)  # off it: never Met
    standards["self_rating"] = ratings[np.arange(len(standards)) % len(ratings)]
    standards["moderated_rating"] = np.where(np.arange(len(standards)) % 3 == 0, "met", None)
    units = audit_theme_scores(s11, standards)
    by_place = units.groupby("source")["positive"].sum()
    assert by_place["moderated"] > 0 and by_place["self-rating"] > 0
    layout = themes.memo(s11, "audit-themes", lambda: None)
    assert layout.met_at >= 0
    by_text = dataclasses.replace(layout, met_at=-1)  # as when Met is not on the scale: the ratings' text compared
    monkeypatch.setattr(themes, "memo", lambda questionnaire, name, build: by_text)
    assert_frame_equal(audit_theme_scores(s11, standards), units)


@pytest.mark.parametrize("values", [["b", "a"], ["a"], [], ["a", None], ["a", np.nan], [1, 2], ["a", 1], [True]])
def test_key_values_made_text_as_assigning_them_would(values: list[object]) -> None:
    from scoring.cells import as_column
    from scoring.themes import _as_column

    array = np.array(values, dtype=object)
    pd.testing.assert_series_equal(_as_column(array), as_column(array), check_exact=True)


@pytest.mark.parametrize("adult_bands", [[None], ["age-4-7"], ["age-4-7", "age-8-11", None]])
def test_cells_known_distinct_are_not_added_up_and_others_are(
    shipped: dict[str, Questionnaire], monkeypatch: pytest.MonkeyPatch, adult_bands: list[object]
) -> None:
    import dataclasses

    import scoring.themes as themes

    units, responses = _mixed_units(shipped, 80, seed=9)
    adult = responses["response_id"].ge(80).to_numpy()  # family and practitioner responses
    responses["age_band"] = responses["age_band"].astype(object)
    responses.loc[adult, "age_band"] = np.array(adult_bands, dtype=object)[np.arange(adult.sum()) % len(adult_bands)]
    policy = SuppressionPolicy(k=3)
    table = theme_table(units, responses, by="agency", policy=policy)
    cells = themes._theme_cells
    monkeypatch.setattr(themes, "_theme_cells", lambda *a: dataclasses.replace(cells(*a), distinct=False))
    assert_frame_equal(table, theme_table(units, responses, by="agency", policy=policy))  # numbered by six keys
    assert table["age_band"].notna().eq(table["source"].eq("child")).all()
    shown = theme_table(units, responses, by="agency")  # nothing hidden: every unit counted once, bands or not
    assert shown["respondents"].sum() == sum(len(u) for u in units)


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(["practitioner", "child", "self-rating", "family", "moderated"], dtype="str"),
        pd.Series(["b", "B", "a", "é", "a", "10", "9"], dtype=object),  # Python's order of text, repeats
        pd.Series([303, 7, -2, 7]),
        pd.Series([3, 1], dtype="uint8"),
        pd.Series(["a", None, "b"], dtype=object),  # missing: through sort_ranks
        pd.Series([2.5, np.nan, 1.0]),
        pd.Series(["a", 1], dtype=object),
        pd.Series([], dtype=object),
        pd.Series([], dtype="int64"),
    ],
)
def test_key_values_ranked_as_sort_ranks_ranks_them(values: pd.Series) -> None:
    from scoring.cells import sort_ranks
    from scoring.themes import _sort_ranks

    ranks = _sort_ranks(values)
    assert ranks.dtype == np.int64 and ranks.tolist() == sort_ranks(values).tolist()


@pytest.mark.parametrize("by", ["agency", "sector", None])
@pytest.mark.parametrize(
    "bands",
    [
        None,  # the responses say nothing of bands
        ["age-12-17", "age-4-7", None, "age-8-11"],
        [1, "1", None, np.nan],  # equal as text: ties in the band's order, broken by the cells' order
    ],
)
@pytest.mark.parametrize("cycles", [["2024", "2025"], ["2025", None, "2024"]])
def test_cells_laid_out_by_group_and_combination_give_the_table_the_six_keys_give(
    shipped: dict[str, Questionnaire], monkeypatch: pytest.MonkeyPatch, by: str | None, bands, cycles
) -> None:
    """Suppression sets, previous cycles and the rows' order worked out per group and combination of
    theme, measure and source equal those worked out from each cell's six keys."""
    import dataclasses

    import scoring.themes as themes

    units, responses = _mixed_units(shipped, 90, seed=13)
    # an agency's sector is the one its first response names: later ones may name another
    responses["sector"] = np.where((responses["agency_id"] + responses["response_id"] // 50) % 3, "health", "police")
    responses["cycle"] = np.array(cycles, dtype=object)[np.arange(len(responses)) % len(cycles)]
    if bands is None:
        responses = responses.drop(columns="age_band")
    else:
        child = responses["age_band"].notna().to_numpy()
        responses["age_band"] = responses["age_band"].astype(object)
        responses.loc[child, "age_band"] = np.array(bands, dtype=object)[np.arange(child.sum()) % len(bands)]
    if cycles[1] is None:  # some responses described twice: their first rows count
        responses = pd.concat([responses, responses.iloc[::7].assign(agency_id=5, sector="school")], ignore_index=True)
    hidden = []
    for policy in (*(SuppressionPolicy(k=k) for k in (4, 12, 25, 40)), None):
        table = theme_table(units, responses, by=by, policy=policy)
        cells = themes._theme_cells
        with monkeypatch.context() as patch:
            patch.setattr(themes, "_theme_cells", lambda *a, cells=cells: dataclasses.replace(cells(*a), layout=None))
            assert_frame_equal(table, theme_table(units, responses, by=by, policy=policy))
        hidden += [table["suppressed"].mean()] if policy is not None else []
    assert any(0 < share < 1 for share in hidden)  # some cells hidden, some shown


def test_cells_of_combinations_ranked_equal_are_left_to_the_six_keys_order() -> None:
    from scoring.themes import _laid_out_order, _Layout, _sorted_order

    group_codes = {"cycle": np.array([0, 1]), "group": np.array([0, 0]), "age_band": np.array([0, 0])}
    ranks = {"theme": np.array([-1, -1, 0]), "measure": np.array([0]), "source": np.array([0])}  # two missing themes
    ranks |= {"cycle": np.array([0, 1]), "group": np.array([0]), "age_band": np.array([-1])}
    zeros = np.zeros(2, dtype=np.int64)
    combo_codes = {"theme": np.array([0, 1]), "measure": zeros, "source": zeros}
    cells = _Layout(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), group_codes, combo_codes)
    assert _laid_out_order(cells, ranks) is None
    apart = combo_codes | {"theme": np.array([2, 0])}  # ranked 0 and -1: apart
    order = _laid_out_order(dataclasses.replace(cells, combo_codes=apart), ranks)
    theme, cycle = ranks["theme"][apart["theme"]][cells.combo], ranks["cycle"][cells.group]
    same = np.zeros(4, dtype=np.int64)
    assert order.tolist() == _sorted_order([theme, same, same, same, same, cycle]).tolist() == [1, 3, 0, 2]


@pytest.mark.parametrize("values", RESPONSE_KEY_COLUMNS)
def test_groups_key_codes_and_values_are_the_groups_columns_codes(values: pd.Series) -> None:
    """Each response key's codes per group and their values, made from the codes the responses were grouped by,
    are what `column_codes` of the groups' column gives (its codes, and its values in their dtype)."""
    from scoring.themes import _summed

    n = len(values)
    responses = pd.DataFrame({"response_id": np.arange(n), "key": values, "other": np.arange(n) % 3})
    units = pd.DataFrame({"response_id": np.arange(n), "theme": "t", "answers": 1, "positive": 1, "score_sum": 1.0})
    summed = _summed([units], responses, ["theme"], ["other", "key"])
    for key in ("other", "key"):
        code, column = column_codes(summed.groups()[key])
        assert summed.group_codes[key].dtype == np.int64 and summed.group_codes[key].tolist() == code.tolist()
        pd.testing.assert_series_equal(summed.key_values(key), column, check_exact=True)


@pytest.mark.parametrize("repeated", [False, True])
def test_an_agencys_sector_read_at_its_first_group_is_the_one_its_first_response_names(
    shipped: dict[str, Questionnaire], repeated: bool
) -> None:
    from scoring.themes import _sector_codes, _sector_of_groups, _summed

    units, responses = _mixed_units(shipped, 60, seed=21)
    responses["sector"] = np.where((responses["agency_id"] + responses["response_id"] // 20) % 3, "health", "police")
    if repeated:  # a new agency's first row among the responses repeats an id: its own first response names another
        again = responses.iloc[::9].assign(agency_id=77, sector="school")
        new = responses.iloc[-1:].assign(response_id=10_000, agency_id=77, sector="health")
        responses = pd.concat([responses, again, new], ignore_index=True)
    summed = _summed(units, responses, ["theme", "measure", "source"], ["cycle", "agency_id", "age_band"])
    agencies = summed.key_values("agency_id")
    expected = _sector_codes(responses, agencies)[summed.group_codes["agency_id"]]
    assert _sector_of_groups(summed, responses, agencies).tolist() == expected.tolist()


def test_frames_summed_in_their_own_bins_give_the_cells_the_other_ways_give(
    shipped: dict[str, Questionnaire], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each frame summed per group and its own combinations, then added to the cells, gives the table that
    summing each frame in bins of the combinations found first gives, and that hashing the cells' keys
    gives (many possible cells): to the last bit of every sum of fractions, units of responses not
    described left out."""
    import scoring.themes as themes

    units, responses = _mixed_units(shipped, 150, seed=17)
    units = [u.assign(score_sum=u["score_sum"] / 3) for u in units]  # fractions: their order of adding shows
    units.append(units[2].assign(response_id=units[2]["response_id"][::-1].to_numpy()))  # a second practitioner frame
    units[0] = pd.concat([units[0], units[0].head(4).assign(response_id=10**6)])  # a response not described
    responses["sector"] = np.where(responses["agency_id"] % 2, "health", "police")
    policy = SuppressionPolicy(k=4)
    table = theme_table(units, responses, by="agency", policy=policy)
    with monkeypatch.context() as patch:
        patch.setattr(themes, "_frame_bins", lambda *args: None)  # bins of the combinations found first
        assert_frame_equal(theme_table(units, responses, by="agency", policy=policy), table, check_exact=True)
    # responses of no unit make the possible cells many (their own groups): the cells' keys are hashed, and
    # the frames' rows added in one pass (a cell of two frames may differ in its last bit: not exact)
    many = pd.concat(
        [responses, pd.DataFrame({"response_id": np.arange(10**5, 2 * 10**5), "agency_id": np.arange(10**5) + 7})]
    ).assign(cycle=lambda f: f["cycle"].fillna("2024"), sector=lambda f: f["sector"].fillna("school"))
    assert_frame_equal(theme_table(units, many, by="agency", policy=policy), table, check_exact=False, rtol=1e-13)


@pytest.mark.parametrize(
    "parts",
    [
        [["b", "a"], ["c", "a", "d"], []],  # text: numbered in a dict
        [[], []],
        [["b", np.nan], ["a", np.nan, "b"]],  # a missing category: as pd.unique numbers it
        [[3, 1], [1, 2]],
        [["a", np.str_("b")], ["b", "a"]],  # text that is not exactly str
        [["a", None], [None, "c"]],
    ],
)
def test_unions_of_categories_number_them_as_pd_unique_and_get_indexer_do(parts: list[list[object]]) -> None:
    from scoring.themes import _union

    indexes = [pd.Index(np.array(part, dtype=object), dtype=object) for part in parts]
    union, positions = _union(indexes)
    expected = pd.Index(pd.unique(np.concatenate([i.to_numpy(dtype=object) for i in indexes])), dtype=object)
    assert union.equals(expected) and union.dtype == object and len(union) == len(expected)
    assert [type(v) for v in union] == [type(v) for v in expected]
    for got, index in zip(positions, indexes, strict=True):
        assert got.dtype == np.intp and got.tolist() == expected.get_indexer(index).tolist()


def test_combinations_of_frames_found_as_unique_columns_and_looked_up_are() -> None:
    """`_combinations` sorts the frames' combinations as `np.unique(axis=1)` does and places each frame's among them."""
    from scoring.themes import _combinations, _row_keys

    rng = np.random.default_rng(5)
    categories = {"theme": pd.Index(list("abcdefg")), "measure": pd.Index(["q", "o"]), "source": pd.Index(["x"] * 3)}
    keys = list(categories)
    for sizes in ([5, 0, 12, 1], [0, 0], []):
        occurring = [np.stack([rng.integers(0, len(categories[k]), n) for k in keys]) for n in sizes]
        combos, of_frame = _combinations(occurring, categories, keys)
        together = np.concatenate(occurring, axis=1) if occurring else np.zeros((3, 0), dtype=np.int64)
        expected = np.unique(together, axis=1) if together.shape[1] else together
        assert combos.dtype == np.int64 and np.array_equal(combos, expected)
        index = pd.Index(_row_keys(expected, categories, keys))
        for mine, codes in zip(of_frame, occurring, strict=True):
            assert mine.tolist() == index.get_indexer(_row_keys(codes, categories, keys)).tolist()


@pytest.mark.parametrize(
    "bands",
    [
        pd.Series(["age-4-7", None], dtype=object, name="age_band"),
        pd.Series([pd.NA, "age-8-11"], dtype=object, name="age_band"),
        pd.Series([np.nan, "b", "a"], dtype=object),
        pd.Series(["a", "b"], dtype="str", name="age_band"),
        pd.Series([1.5, 2.0], name="age_band"),
        pd.Series(["a", None], dtype="string", name="age_band"),
    ],
)
def test_bands_with_a_missing_one_are_the_bands_and_a_masked_band_concatenated(bands: pd.Series) -> None:
    from scoring.themes import _with_missing

    expected = pd.concat([bands, bands.iloc[:1].where(np.zeros(1, dtype=bool))], ignore_index=True)
    got = _with_missing(bands)
    assert_frame_equal(got.to_frame(), expected.to_frame(), check_exact=True, check_index_type=True)
    assert [type(v) for v in got] == [type(v) for v in expected]


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(["child", "family"], dtype="str"),
        pd.Series(["child", None, "self-rating"], dtype=object),
        pd.Series([pd.NA, "child"], dtype=object),
        pd.Series([np.str_("child"), "x"], dtype=object),
        pd.Series(["child", None], dtype="string"),
        pd.Series([], dtype=object),
    ],
)
def test_sources_equal_to_child_as_eq_finds_them(values: pd.Series) -> None:
    from scoring.themes import _equal_to

    got, expected = _equal_to(values, "child"), values.eq("child").to_numpy()
    assert got.dtype == expected.dtype and got.tolist() == expected.tolist()

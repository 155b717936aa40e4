"""Downloads: formulas neutralised, files read back equal to what went in, streamed in bounded memory."""

from __future__ import annotations

import io
import json
import tracemalloc
from collections.abc import Iterator

import numpy as np
import openpyxl
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from questionnaires import Questionnaire
from scoring.downloads import RawCounts, answers_long, answers_wide, raw_counts, standards_export, theme_export
from scoring.export import (
    DANGEROUS_FIRST,
    Column,
    Export,
    csv_stream,
    dictionary_csv,
    json_stream,
    neutralise,
    neutralise_frame,
    stream,
    xlsx_stream,
)
from scoring.suppression import SuppressionPolicy


@pytest.mark.parametrize("first", DANGEROUS_FIRST)
def test_every_dangerous_first_character_is_neutralised(first: str) -> None:
    value = first + 'HYPERLINK("http://evil.example")'
    assert neutralise(value) == "'" + value
    frame = neutralise_frame(pd.DataFrame({"text": [value, "safe"], "n": [-1, 2]}))
    assert frame["text"].tolist() == ["'" + value, "safe"]
    assert frame["n"].tolist() == [-1, 2]  # numbers are not text: a negative number stays a number


def test_a_text_column_is_neutralised_cell_by_cell_whatever_repeats() -> None:
    values = ["=A1", None, "safe", "=A1", "-3", "safe", "", "@x", None, "+", "\tTab"] * 3
    frame = pd.DataFrame(
        {"text": pd.array(values, dtype="str"), "mixed": pd.Series([*values[:-1], 4], dtype=object)},
        index=range(100, 100 + len(values)),
    )
    expected = frame.copy()
    for column in expected.columns:
        old = expected[column]
        expected[column] = pd.Series([neutralise(v) for v in old], index=old.index, dtype=old.dtype)
    assert_frame_equal(neutralise_frame(frame), expected)


@pytest.mark.parametrize("value", ["Met", "a=b", " =SUM(A1)", "", "'already", 3, None, 2.5])
def test_harmless_values_are_kept(value: object) -> None:
    assert neutralise(value) == value


SAMPLE = pd.DataFrame(
    {
        "id": [1, 2, 3, 4],
        "text": ["plain", "=cmd|'/C calc'!A0", 'quote " and, comma', "line\nbreak é"],
        "number": [1.5, np.nan, -2.0, 1e6],
        "count": [1, 2, 3, 4],
        "when": pd.to_datetime(["2025-01-02", None, "2024-12-31", "2023-06-30"]),
        "flag": [True, False, True, False],
    }
)
EXPECTED = SAMPLE.assign(
    text=["plain", "'=cmd|'/C calc'!A0", 'quote " and, comma', "line\nbreak é"],
    when=["2025-01-02", None, "2024-12-31", "2023-06-30"],
)
COLUMNS = list(SAMPLE.columns)


def _chunks(frame: pd.DataFrame, size: int = 3) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]


def test_csv_reads_back_equal() -> None:
    text = "".join(csv_stream(COLUMNS, _chunks(SAMPLE)))
    assert text.startswith("\ufeffid,text")
    back = pd.read_csv(
        io.StringIO(text), encoding="utf-8-sig", dtype={"text": "str", "when": "str"}, keep_default_na=True
    )
    back.columns = [c.lstrip("\ufeff") for c in back.columns]
    assert_frame_equal(back, EXPECTED, check_dtype=False)


def test_json_reads_back_equal() -> None:
    rows = json.loads("".join(json_stream(COLUMNS, _chunks(SAMPLE))))
    back = pd.DataFrame(rows)
    assert_frame_equal(back, EXPECTED, check_dtype=False)


def test_json_with_dictionary() -> None:
    dictionary = [Column("id", "The row"), Column("text", "Some text")]
    data = json.loads("".join(json_stream(["id", "text"], _chunks(SAMPLE), dictionary)))
    assert data["data_dictionary"][0] == {"column": "id", "meaning": "The row", "type": "text", "values": ""}
    assert [r["id"] for r in data["rows"]] == [1, 2, 3, 4]
    assert json.loads("".join(json_stream(["id"], iter([])))) == []


def test_xlsx_reads_back_equal_with_openpyxl() -> None:
    data = b"".join(xlsx_stream([("Rows", COLUMNS, _chunks(SAMPLE))]))
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    rows = list(book["Rows"].iter_rows(values_only=True))
    assert list(rows[0]) == COLUMNS
    back = pd.DataFrame(rows[1:], columns=COLUMNS)
    assert_frame_equal(back, EXPECTED.assign(when=SAMPLE["when"]), check_dtype=False)  # dates stay dates


def test_xlsx_drops_characters_excel_refuses() -> None:
    frame = pd.DataFrame({"text": ["bell\x07 and\x00 null"]})
    data = b"".join(xlsx_stream([("Rows", ["text"], [frame])]))
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert list(book["Rows"].iter_rows(values_only=True))[1] == ("bell and null",)


def test_stream_every_format_with_its_dictionary() -> None:
    export = Export("sample", COLUMNS, [Column(c, f"the {c}") for c in COLUMNS], [SAMPLE])
    assert "".join(stream(export, "csv")).count("\r\n") == 5  # header and 4 rows (a line break in a cell is quoted)
    assert json.loads("".join(stream(Export("sample", COLUMNS, export.dictionary, [SAMPLE]), "json")))["rows"][1][
        "text"
    ].startswith("'=")
    book = openpyxl.load_workbook(
        io.BytesIO(b"".join(stream(Export("sample", COLUMNS, export.dictionary, [SAMPLE]), "xlsx")))
    )
    assert book.sheetnames == ["sample", "Data dictionary"]
    assert [c.value for c in book["Data dictionary"][3]] == ["text", "the text", "text", None]  # row 1 is the header
    assert dictionary_csv(export.dictionary).splitlines()[1] == "id,the id,text,"
    with pytest.raises(ValueError, match="unknown export format"):
        stream(export, "pdf")


def _big(rows: int, size: int) -> Iterator[pd.DataFrame]:
    """Chunks made on demand, so the whole table never exists in memory."""
    for start in range(0, rows, size):
        n = min(size, rows - start)
        yield pd.DataFrame(
            {
                "response_id": np.arange(start, start + n),
                "question_id": "told-what",
                "value_text": "some words that take a little room",
                "score": np.full(n, 4.0),
            }
        )


@pytest.mark.parametrize(
    ("fmt", "rows", "limit_mb"), [("csv", 200_000, 40), ("json", 200_000, 40), ("xlsx", 100_000, 40)]
)
def test_a_large_export_streams_in_bounded_memory(fmt: str, rows: int, limit_mb: int) -> None:
    columns = ["response_id", "question_id", "value_text", "score"]
    export = Export("big", columns, [Column(c, c) for c in columns], _big(rows, 10_000))
    tracemalloc.start()
    try:
        written = sum(len(piece) for piece in stream(export, fmt))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert written > 0
    assert peak < limit_mb * 2**20, f"peak {peak / 2**20:.1f} MB"
    if fmt != "xlsx":
        assert peak < written, "the whole file was held in memory"


# --- the analysts' downloads -------------------------------------------------------------------


def _answers(rows: list[tuple[int, str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["response_id", "question_id", "value"])
    frame["value"] = frame["value"].astype(object)
    return frame


@pytest.fixture
def family_round(shipped: dict[str, Questionnaire]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, meta = [], []
    for response in range(14):
        agency = 1 if response < 11 else 2  # agency 2 has 3 respondents
        rows += [
            (response, "told-what", "agree"),
            (response, "services", ["health", "police"]),
            (response, "anything-else", f'=HYPERLINK("x") from {response}'),
        ]
        meta.append((response, "family", "2025", agency, "health"))
    return _answers(rows), pd.DataFrame(meta, columns=["response_id", "source", "cycle", "agency_id", "sector"])


def test_answers_long_one_row_per_answer(
    shipped: dict[str, Questionnaire], family_round: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    answers, responses = family_round
    export = answers_long(shipped["family-experience"], _chunks(answers, 5), responses)
    back = pd.read_csv(io.StringIO("".join(stream(export, "csv"))), encoding="utf-8-sig")
    back.columns = [c.lstrip("\ufeff") for c in back.columns]
    assert len(back) == len(answers)
    assert list(back.columns) == list(export.columns)
    told = back.loc[back["question_id"].eq("told-what")].iloc[0]
    assert (told["value_text"], told["label"], told["stable_key"]) == ("agree", "Agree", "family-experience:told-what")
    assert back.loc[back["question_id"].eq("services"), "value_text"].iloc[0] == "health; police"
    text = back.loc[back["question_id"].eq("anything-else"), "value_text"]
    assert '\'=HYPERLINK("x") from 0' in set(text)  # agency 1: 11 respondents, shown, neutralised
    assert text.eq("c").sum() == 3  # agency 2: 3 respondents, never shown


def test_answers_wide_one_row_per_response_across_chunk_edges(
    shipped: dict[str, Questionnaire], family_round: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    answers, responses = family_round
    export = answers_wide(
        shipped["family-experience"], _chunks(answers, 4), responses
    )  # 4 splits responses of 3 answers
    rows = json.loads("".join(stream(export, "json")))["rows"]
    back = pd.DataFrame(rows)
    assert back["response_id"].tolist() == list(range(1, 15)), "the families pooled, numbered in the file"
    assert back["told-what"].eq("agree").all()
    assert back["services"].eq("health; police").all()
    assert back["anything-else"].eq("c").sum() == 3
    assert back["told-why"].isna().all()
    dictionary = {c.name: c for c in export.dictionary}
    assert dictionary["told-what"].values.startswith("strongly-agree = Strongly agree; agree = Agree")


def test_answers_wide_keeps_a_question_named_like_a_column_about_the_response(
    shipped: dict[str, Questionnaire],
) -> None:
    """The workshop asks practitioners their sector; the response's agency has a sector too."""
    answers = _answers([(r, key, value) for r in range(12) for key, value in (("sector", "police"),)])
    responses = pd.DataFrame({"response_id": range(12), "source": "practitioner", "cycle": "2025", "sector": "health"})
    export = answers_wide(shipped["practitioner-workshop"], _chunks(answers, 5), responses)
    assert len(set(export.columns)) == len(export.columns)
    back = pd.read_csv(io.StringIO("".join(stream(export, "csv"))), encoding="utf-8-sig")
    assert list(back.columns) == list(export.columns)
    assert back["sector"].eq("health").all() and back["sector_answer"].eq("police").all()
    dictionary = {c.name: c for c in export.dictionary}
    assert dictionary["sector_answer"].meaning == shipped["practitioner-workshop"].question("sector").text
    assert [c.name for c in export.dictionary] == list(export.columns)


def _child_round(groups: dict[tuple[str, int], int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`groups` gives the children answering per (age band, agency); agencies 1-2 are health, 3-4 police."""
    rows, meta, response = [], [], 0
    for (band, agency), size in groups.items():
        for _ in range(size):
            rows.append((response, f"safe-home.{band}", "yes" if band != "age-4-7" else "happy"))
            meta.append((response, "child", "2025", agency, "health" if agency <= 2 else "police", band))
            response += 1
    columns = ["response_id", "source", "cycle", "agency_id", "sector", "age_band"]
    return _answers(rows), pd.DataFrame(meta, columns=columns)


def _responses_in(export: Export) -> pd.DataFrame:
    back = pd.DataFrame(json.loads("".join(stream(export, "json")))["rows"])
    return back.drop_duplicates("response_id") if len(back) else back


def test_raw_answers_hide_the_agency_and_sector_of_a_small_group_and_of_one_more_to_protect_it(
    shipped: dict[str, Questionnaire], family_round: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    """Agency 2 has 3 families: hiding it alone, agency 1's 11 rows beside it would name it."""
    answers, responses = family_round
    for build in (answers_long, answers_wide):
        back = _responses_in(build(shipped["family-experience"], _chunks(answers, 5), responses))
        assert len(back) == 14, "no response is left out: the hidden pool holds 14 families"
        assert set(back["agency_id"].astype(str)) == {"c"} and set(back["sector"]) == {"c"}
        assert set(back["cycle"]) == {"2025"} and set(back["source"]) == {"family"}


def test_raw_answers_show_large_groups_and_pool_the_small_ones_smallest_first(
    shipped: dict[str, Questionnaire],
) -> None:
    groups = {("age-8-11", 1): 15, ("age-8-11", 2): 12, ("age-8-11", 3): 3, ("age-8-11", 4): 8}
    answers, responses = _child_round(groups)
    back = _responses_in(answers_long(shipped["child-experience"], _chunks(answers, 7), responses))
    shown = back.groupby(back["agency_id"].astype(str))["response_id"].count().to_dict()
    assert shown == {"1": 15, "2": 12, "c": 11}, "agency 3 (3) under k, agency 4 (8) the smallest to hide beside it"
    assert set(back.loc[back["agency_id"].astype(str).eq("c"), "sector"]) == {"c"}
    assert set(back.loc[back["agency_id"].astype(str).ne("c"), "sector"]) == {"health"}


def test_raw_answers_leave_out_a_band_too_small_to_show_even_pooled(shipped: dict[str, Questionnaire]) -> None:
    groups = {
        ("age-4-7", 1): 4,
        ("age-4-7", 2): 2,
        **{("age-12-17", a): n for a, n in ((1, 12), (2, 30), (3, 25), (4, 14))},
    }
    answers, responses = _child_round(groups)
    for build in (answers_long, answers_wide):
        export = build(shipped["child-experience"], _chunks(answers, 4), responses)
        back = _responses_in(export)
        assert set(back["age_band"]) == {"age-12-17"}, "6 children aged 4 to 7 in all: their answers stay out"
        shown = back.groupby(back["agency_id"].astype(str))["response_id"].count().to_dict()
        # agencies 1 and 2 hidden in the older band too: their totals less it would give the 4 and the 2
        assert shown == {"3": 25, "4": 14, "c": 42}
        notes = {c.name: c.values for c in export.dictionary}
        assert "left out" in notes["agency_id"] and "'c'" in notes["sector"]
    assert raw_counts(shipped["child-experience"], responses, SuppressionPolicy()) == RawCounts(81, 6)


def _family_round_in(arrival: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Families of agencies 1 (15), 2 (4), 3 (12) and 4 (8), coming in in the order `arrival`
    gives their agencies; each agency's families answer told-what alike, as no other does."""
    said = {1: "strongly-agree", 2: "disagree", 3: "neither", 4: "agree"}
    rows, meta = [], []
    for response, agency in enumerate(arrival, start=100):
        rows.append((response, "told-what", said[agency]))
        meta.append((response, "family", "2025", agency, "police" if agency == 3 else "health"))
    return _answers(rows), pd.DataFrame(meta, columns=["response_id", "source", "cycle", "agency_id", "sector"])


def test_raw_answers_do_not_say_where_the_pooled_responses_came_in(shipped: dict[str, Questionnaire]) -> None:
    """Rows in the database's order, under its ids, would put a run of agency c between agency
    1's and agency 3's rows (and its gaps in their ids): agency 2's, and how many. Whatever order
    the families came in, the pooled rows read the same, after the shown ones, numbered on."""
    agencies = [1] * 15 + [2] * 4 + [3] * 12 + [4] * 8
    interleaved = [agencies[i] for i in np.random.default_rng(3).permutation(len(agencies))]
    for build in (answers_long, answers_wide):
        files = []
        for arrival in (agencies, interleaved):
            answers, responses = _family_round_in(arrival)
            files.append(_responses_in(build(shipped["family-experience"], _chunks(answers, 5), responses)))
        for back in files:
            assert back["response_id"].tolist() == list(range(1, 40)), "numbered in the file, in its order"
            hidden = back["agency_id"].astype(str).eq("c").to_numpy()
            assert hidden.sum() == 12 and hidden[-12:].all(), "agency 2's 4 pooled with agency 4's 8, last"
        said = "told-what" if build is answers_wide else "value_text"
        pooled = [back.loc[back["agency_id"].astype(str).eq("c"), ["response_id", said]] for back in files]
        assert_frame_equal(pooled[0].reset_index(drop=True), pooled[1].reset_index(drop=True))


@pytest.mark.parametrize("seed", range(20))
def test_raw_answers_never_single_out_a_group_under_k(shipped: dict[str, Questionnaire], seed: int) -> None:
    """Random rounds: every group a file shows, and every band's pool of hidden groups, holds k or more."""
    rng = np.random.default_rng(seed)
    bands = ["age-4-7", "age-8-11", "age-12-17"]
    groups = {(b, a): int(rng.integers(1, 25)) for b in bands for a in range(1, 5) if rng.random() < 0.7}
    answers, responses = _child_round(groups)
    policy = SuppressionPolicy(k=10)
    back = _responses_in(answers_wide(shipped["child-experience"], _chunks(answers, 9), responses, policy))
    agency = back["agency_id"].astype(str) if len(back) else pd.Series(dtype=str)
    for band in bands:
        in_band = back.loc[back["age_band"].eq(band)] if len(back) else back
        band_total = sum(n for (b, _), n in groups.items() if b == band)
        if in_band.empty:
            assert band_total < 10, "a band is left out only when all of it, hidden, is under k"
            continue
        assert len(in_band) == band_total, "a band is shown whole or left out whole"
        sizes = in_band.groupby(agency.loc[in_band.index])["response_id"].count()
        assert (sizes >= 10).all(), f"band {band}: {sizes.to_dict()}"
        shown = sizes.drop("c", errors="ignore")
        for a, n in shown.items():
            assert groups[(band, int(a))] == n, "a shown group is whole"
        hidden = [a for (b, a) in groups if b == band and str(a) not in shown.index]
        assert len(hidden) != 1 or shown.empty, "a lone hidden agency would be its band's total less the shown ones"


def test_theme_export_shows_c_for_suppressed_cells() -> None:
    table = pd.DataFrame(
        {
            "theme": ["t", "t"],
            "measure": ["quality", "quality"],
            "source": ["child", "child"],
            "cycle": ["2025", "2025"],
            "group": [1, 2],
            "age_band": [None, None],
            "respondents": pd.array([pd.NA, 30], dtype="Int64"),
            "answers": pd.array([pd.NA, 60], dtype="Int64"),
            "positive": pd.array([pd.NA, 30], dtype="Int64"),
            "share": [np.nan, 0.5],
            "mean_100": [np.nan, 50.0],
            "change": [np.nan, np.nan],
            "suppressed": [True, False],
        }
    )
    back = pd.read_csv(io.StringIO("".join(stream(theme_export(table), "csv"))), encoding="utf-8-sig", dtype=str)
    assert back.loc[0, ["respondents", "share", "change"]].tolist() == ["c", "c", "c"]
    assert back.loc[1, ["respondents", "share"]].tolist() == ["30", "0.5"]


def test_standards_export_hides_small_practitioner_figures(s11: Questionnaire) -> None:
    standards = pd.DataFrame(
        {
            "response_id": [1, 2],
            "section_id": ["s1", "s1"],
            "self_rating": ["met", "met"],
            "score_100": [100.0, 100.0],
            "triangulation": ["flag", "no-flag"],
            "practitioner_answers": [6, 25],
            "practitioner_positive": [3, 24],
            "positive_share": [0.5, 0.96],
            "explanation": ["=SUM(1)", "ok"],
        }
    )
    responses = pd.DataFrame({"response_id": [1, 2], "cycle": "2025", "agency_id": [10, 20], "sector": "health"})
    export = standards_export(s11, standards, responses, SuppressionPolicy())
    book = openpyxl.load_workbook(io.BytesIO(b"".join(stream(export, "xlsx"))), read_only=True)
    rows = list(book[export.sheet].iter_rows(values_only=True))
    header = list(rows[0])
    first = dict(zip(header, rows[1], strict=True))
    second = dict(zip(header, rows[2], strict=True))
    assert (first["practitioner_answers"], first["positive_share"], first["triangulation"]) == ("c", "c", "flag")
    assert (second["practitioner_answers"], second["positive_share"]) == (25, 0.96)
    assert first["explanation"] == "'=SUM(1)"
    assert first["standard_title"] == s11.section("s1").title


def test_xlsx_goes_on_in_a_new_sheet_at_the_row_limit() -> None:
    data = b"".join(xlsx_stream([("Rows", ["n"], [pd.DataFrame({"n": range(5)})])], max_rows=3))
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert book.sheetnames == ["Rows", "Rows (2)", "Rows (3)"]
    values = [list(book[name].iter_rows(values_only=True)) for name in book.sheetnames]
    assert values == [[("n",), (0,), (1,)], [("n",), (2,), (3,)], [("n",), (4,)]]


def test_standards_go_agency_by_agency_in_the_definitions_order_with_whole_ids(s11: Questionnaire) -> None:
    sections = ["s10", "s2", "s1", "s11", "s1", "s2"]
    standards = pd.DataFrame(
        {
            "response_id": [7, 7, 7, 7, 9, 9],
            "section_id": sections,
            "self_rating": "met",
            "score_100": 100.0,
            "explanation": "ok",
        }
    )
    # the second audit's agency is not known (a response not among those described): no NaN
    responses = pd.DataFrame({"response_id": [7], "cycle": "2025", "agency_id": [3], "sector": "health"})
    export = standards_export(s11, standards, responses, SuppressionPolicy())
    back = pd.read_csv(io.StringIO("".join(stream(export, "csv"))), encoding="utf-8-sig", dtype=str)
    assert back["section_id"].tolist() == ["s1", "s2", "s10", "s11", "s1", "s2"]
    assert back["agency_id"].fillna("").tolist() == ["3", "3", "3", "3", "", ""], "3, not 3.0"
    assert back["response_id"].tolist() == ["7", "7", "7", "7", "9", "9"]

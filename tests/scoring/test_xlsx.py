"""The streaming XLSX writer: what spreadsheets read back, a well-formed package, and a stream."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from xml.etree import ElementTree

import numpy as np
import openpyxl
import pandas as pd
import pytest

from scoring.export import neutralise_frame
from scoring.xlsx import MAX_TEXT, letters, workbook


def neutralised(chunks: list[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Chunks as the download writer gives them to the workbook: formulas neutralised."""
    for chunk in chunks:
        yield neutralise_frame(chunk)


def _read(data: bytes) -> dict[str, list[tuple[object, ...]]]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}


def test_every_kind_of_value_reads_back_as_a_spreadsheet_reads_it() -> None:
    frame = pd.DataFrame(
        {
            "mixed": pd.Series(
                [3, np.int64(-4), 2.5, np.float32(0.25), True, np.bool_(False), None, np.nan, pd.NA, "", "text"],
                dtype=object,
            ),
            "dates": pd.Series(
                [dt.date(2025, 3, 1), dt.datetime(2025, 3, 1, 9, 30), pd.NaT] + [None] * 8, dtype=object
            ),
            "floats": [1.5, np.nan, np.inf, -2.0, 1e16, 0.1, 3.0, -0.0, 7.25, 1e-7, 2.0],
            "counts": np.arange(11, dtype=np.int64),
            "flags": [True, False] * 5 + [True],
            "words": pd.array(["a < b & c > d", None, "  spaced  ", "é ü 😀", "x"] + ["y"] * 6, dtype="str"),
        }
    )
    rows = _read(b"".join(workbook([("Values", list(frame.columns), [frame])])))["Values"]
    assert rows[0] == tuple(frame.columns)
    columns = list(zip(*rows[1:], strict=True))
    assert list(columns[0]) == [3, -4, 2.5, 0.25, True, False, None, None, None, None, "text"]
    assert list(columns[1]) == [dt.datetime(2025, 3, 1), dt.datetime(2025, 3, 1, 9, 30), None] + [None] * 8
    assert list(columns[2]) == [1.5, None, None, -2.0, 1e16, 0.1, 3, -0.0, 7.25, 1e-7, 2]
    assert list(columns[3]) == list(range(11))
    assert list(columns[4]) == [True, False] * 5 + [True]
    assert list(columns[5]) == ["a < b & c > d", None, "  spaced  ", "é ü 😀", "x"] + ["y"] * 6


def test_cells_have_the_type_a_spreadsheet_sorts_and_sums_by() -> None:
    """Numbers are numbers, dates are dated numbers, booleans are booleans, missing is empty."""
    frame = pd.DataFrame(
        {
            "values": pd.Series(
                [7, np.int64(-4), 66.5, np.float64(0.25), True, None, np.nan, pd.NA, pd.NaT, "=1+1", "12"],
                dtype=object,
            ),
            "dated": pd.Series(
                [
                    dt.date(2025, 3, 1),
                    dt.datetime(2025, 3, 1, 9, 30),
                    pd.Timestamp("2026-11-24 23:15", tz="Europe/London"),
                    dt.date(1899, 1, 1),  # before Excel's first day: kept as text
                ]
                + [None] * 7,
                dtype=object,
            ),
            "days": pd.to_datetime(["2025-03-01", None, "1999-12-31"] + ["2000-01-01"] * 8),
            "moments": pd.to_datetime(["2025-03-01 09:30:15", None] + ["2000-01-01 12:00:00"] * 9),
        }
    )
    prepared = next(iter(neutralised([frame])))
    data = b"".join(workbook([("Types", list(frame.columns), [prepared])]))
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Types"]
    values = [(c.data_type, c.value) for c in sheet["A"][1:]]
    assert values == [
        ("n", 7),
        ("n", -4),
        ("n", 66.5),
        ("n", 0.25),
        ("b", True),
        ("n", None),
        ("n", None),
        ("n", None),
        ("n", None),
        ("s", "'=1+1"),  # text that a spreadsheet would run is neutralised, as before
        ("s", "12"),  # text stays text
    ]
    dated = [(c.is_date, c.value) for c in sheet["B"][1:5]]
    assert dated == [
        (True, dt.datetime(2025, 3, 1)),
        (True, dt.datetime(2025, 3, 1, 9, 30)),
        (True, dt.datetime(2026, 11, 24, 23, 15)),  # in UTC (GMT in November)
        (False, "1899-01-01"),
    ]
    assert sheet["B2"].number_format == "yyyy-mm-dd" and sheet["B3"].number_format == "yyyy-mm-dd hh:mm:ss"
    days = [c.value for c in sheet["C"][1:4]]
    assert days == [dt.datetime(2025, 3, 1), None, dt.datetime(1999, 12, 31)]
    assert all(c.is_date and c.number_format == "yyyy-mm-dd" for c in sheet["C"][1:] if c.value is not None)
    assert sheet["D2"].value == dt.datetime(2025, 3, 1, 9, 30, 15) and sheet["D2"].number_format.endswith("ss")
    back = pd.read_excel(io.BytesIO(data), sheet_name="Types")
    assert back["days"].tolist()[0] == pd.Timestamp("2025-03-01"), "pandas reads a date column as dates"


def test_text_excel_cannot_hold_is_cleaned_and_cut() -> None:
    frame = pd.DataFrame(
        {"text": ["bell\x07 and\x00 null\ufffe", "x" * (MAX_TEXT + 10), "a\ud800b", "line\nbreak\ttab"]}
    )
    rows = _read(b"".join(workbook([("T", ["text"], [frame])])))["T"]
    assert [row[0] for row in rows[1:]] == ["bell and null", "x" * MAX_TEXT, "a?b", "line\nbreak\ttab"]


def test_pandas_reads_the_same_table() -> None:
    frame = pd.DataFrame({"id": [1, 2, 3], "name": ["one", "two", "three"], "score": [0.5, 1.0, np.nan]})
    data = b"".join(workbook([("Scores", list(frame.columns), [frame.iloc[:2], frame.iloc[2:]])]))
    back = pd.read_excel(io.BytesIO(data), sheet_name="Scores")
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)


def _content_type(types: ElementTree.Element, part: str) -> str | None:
    """The content type the package gives a part: its override, or its extension's default."""
    for entry in types:
        if entry.tag.endswith("Override") and entry.get("PartName") == "/" + part:
            return entry.get("ContentType")
    extension = part.rsplit(".", 1)[-1]
    for entry in types:
        if entry.tag.endswith("Default") and entry.get("Extension") == extension:
            return entry.get("ContentType")
    return None


def test_the_package_is_well_formed_and_lists_every_sheet() -> None:
    sheets = [("First", ["a"], [pd.DataFrame({"a": range(5)})]), ("Second", ["b", "c"], [])]
    data = b"".join(workbook(sheets, max_rows=3))
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    names = archive.namelist()
    assert names[0] == "[Content_Types].xml"  # where tools that tell a file's type look first
    parsed = {name: ElementTree.fromstring(archive.read(name)) for name in names}  # every part is XML
    sheet_parts = [n for n in names if n.startswith("xl/worksheets/")]
    assert sheet_parts == [f"xl/worksheets/sheet{n}.xml" for n in (1, 2, 3, 4)]
    spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    kinds = {name: _content_type(parsed["[Content_Types].xml"], name) for name in names[1:]}
    assert kinds == {
        "_rels/.rels": "application/vnd.openxmlformats-package.relationships+xml",
        "xl/_rels/workbook.xml.rels": "application/vnd.openxmlformats-package.relationships+xml",
        "xl/styles.xml": f"{spreadsheet}.styles+xml",
        "xl/workbook.xml": f"{spreadsheet}.sheet.main+xml",
        **dict.fromkeys(sheet_parts, f"{spreadsheet}.worksheet+xml"),
    }
    targets = {r.get("Target") for r in parsed["xl/_rels/workbook.xml.rels"]}
    assert targets == {"styles.xml", *(part.removeprefix("xl/") for part in sheet_parts)}
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert book.sheetnames == ["First", "First (2)", "First (3)", "Second"]
    assert list(book["Second"].iter_rows(values_only=True)) == [("b", "c")]


def test_sheet_names_are_ones_excel_takes() -> None:
    long = "a very long title that Excel would refuse: it has [brackets] / and * too"
    sheets = [(long, ["n"], [pd.DataFrame({"n": [1]})]), (long, ["n"], []), ("'quoted'", ["n"], []), ("", ["n"], [])]
    names = openpyxl.load_workbook(io.BytesIO(b"".join(workbook(sheets))), read_only=True).sheetnames
    assert names == ["a very long title that Excel", "a very long title that (2)", "quoted", "Sheet"]
    assert all(len(name) <= 31 and not set(name) & set("[]:*?/\\") for name in names)


def test_long_names_are_cut_after_a_word_and_never_clash() -> None:
    """The longest names the platform has had for a sheet: a collection's file name with its kind."""
    long_ = "section-11-self-audit-2026-to-2027-answers-long"
    wide = "section-11-self-audit-2026-to-2027-answers-wide"
    sheets = [(long_, ["n"], [pd.DataFrame({"n": range(5)})]), (wide, ["n"], []), ("Raw answers, long", ["n"], [])]
    names = openpyxl.load_workbook(io.BytesIO(b"".join(workbook(sheets, max_rows=4))), read_only=True).sheetnames
    assert names == [
        "section-11-self-audit-2026-to",
        "section-11-self-audit-2026 (2)",
        "section-11-self-audit-2026 (3)",
        "Raw answers, long",
    ]
    assert len({name.lower() for name in names}) == len(names)


def test_the_header_is_bold_and_stays_in_view() -> None:
    data = b"".join(workbook([("Rows", ["id", "name"], [pd.DataFrame({"id": [1], "name": ["x"]})])]))
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Rows"]
    assert sheet.freeze_panes == "A2"
    assert [c.font.b for c in sheet[1]] == [True, True]
    assert [c.font.b for c in sheet[2]] == [False, False]


def test_a_sheet_goes_on_when_its_part_grows_too_big() -> None:
    frame = pd.DataFrame({"n": range(5_000), "text": "some words to take room"})
    data = b"".join(workbook([("Big", ["n", "text"], [frame])], max_part=50_000))
    sheets = _read(data)
    assert len(sheets) > 1 and all(rows[0] == ("n", "text") for rows in sheets.values())
    numbers = [row[0] for rows in sheets.values() for row in rows[1:]]
    assert numbers == list(range(5_000))


def test_bytes_leave_before_the_last_chunk_is_read() -> None:
    read = []

    def chunks() -> Iterator[pd.DataFrame]:
        for start in range(0, 100_000, 10_000):
            read.append(start)
            yield pd.DataFrame({"n": np.arange(start, start + 10_000), "text": "words"})

    pieces = workbook([("Rows", ["n", "text"], chunks())])
    first = next(pieces)
    assert first.startswith(b"PK") and len(read) == 1
    rest = b"".join(pieces)
    assert len(read) == 10
    rows = _read(first + rest)["Rows"]
    assert len(rows) == 100_001 and rows[-1] == (99_999, "words")


def test_a_download_stopped_half_way_leaves_nothing_open() -> None:
    frame = pd.DataFrame({"n": range(50_000)})
    pieces = workbook([("Rows", ["n"], [frame, frame])])
    next(pieces)
    pieces.close()  # as a server does when the person goes away: no error, no warning (warnings fail the suite)


@pytest.mark.parametrize(("count", "last"), [(1, "A"), (26, "Z"), (27, "AA"), (702, "ZZ"), (703, "AAA")])
def test_column_letters(count: int, last: str) -> None:
    assert letters(count)[-1] == last

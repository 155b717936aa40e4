"""Streaming CSV, JSON and XLSX writers, each with its data dictionary and safe for spreadsheets.

Every writer takes the columns and an iterator of row chunks (DataFrames), and yields the file
piece by piece, so a million answers go out in the memory of one chunk: a web view returns
the generator as a streamed response. Every text cell that a spreadsheet would read as a
formula (starting with =, +, -, @, a tab or a carriage return) is neutralised with a leading
apostrophe, in all three formats, so a file means the same whichever one an analyst opens.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.xlsx import MAX_ROWS, workbook

DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")
_DANGEROUS = re.compile(r"^[=+\-@\t\r]")
DICTIONARY_SHEET = "Data dictionary"
JSON_PIECE = 5_000  # rows rendered to JSON text at a time
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
JSON_MEDIA_TYPE = "application/json"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(value: object) -> object:
    """Text a spreadsheet would run as a formula gets a leading apostrophe; anything else is kept.

    >>> neutralise("=HYPERLINK(\\"http://x\\")"), neutralise("-2+3"), neutralise("@SUM(A1)")
    ('\\'=HYPERLINK("http://x")', "'-2+3", "'@SUM(A1)")
    >>> neutralise("Met"), neutralise(-2), neutralise(None)
    ('Met', -2, None)
    """
    if isinstance(value, str) and value.startswith(DANGEROUS_FIRST):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """`neutralise` on every text cell of a frame, one vectorised pass per text column.

    A column of pandas' text is checked a distinct value at a time: a download's text repeats
    (ids, labels, sectors, choices), and matching every cell was half the time of writing a CSV.
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if isinstance(series.dtype, pd.StringDtype):
            text = series
            codes, distinct = pd.factorize(series)
            matched = np.append(np.asarray(distinct.str.match(_DANGEROUS), dtype=bool), False)
            hit = pd.Series(matched[codes], index=series.index)  # missing is -1: the False at the end
        elif series.dtype == object:
            text = series.where(series.map(type, na_action="ignore").eq(str))
            hit = text.str.match(_DANGEROUS).fillna(False).astype(bool)
        else:
            continue
        if hit.any():
            out[column] = series.mask(hit, "'" + text.where(hit))
    return out


@dataclass(frozen=True, slots=True)
class Column:
    """One line of a data dictionary: what a column holds, its type and its values."""

    name: str
    meaning: str
    type: str = "text"
    values: str = ""


@dataclass(frozen=True, slots=True)
class Export:
    """A download: its file name (without extension), columns, data dictionary and row chunks,
    and the name of its sheet in a workbook: short, since Excel cuts a sheet's name at 31
    characters, and without the collection the file name already carries."""

    name: str
    columns: Sequence[str]
    dictionary: Sequence[Column]
    chunks: Iterable[pd.DataFrame]
    sheet: str = ""  # the file name when empty

    def dictionary_frame(self) -> pd.DataFrame:
        return dictionary_frame(self.dictionary)


def dictionary_frame(dictionary: Sequence[Column]) -> pd.DataFrame:
    return pd.DataFrame(
        [(c.name, c.meaning, c.type, c.values) for c in dictionary], columns=["column", "meaning", "type", "values"]
    )


def _prepared(
    chunk: pd.DataFrame, columns: Sequence[str], date_columns: Sequence[str] = (), dates_as_text: bool = True
) -> pd.DataFrame:
    """The chunk's columns in order, formulas neutralised, and for CSV and JSON dates as YYYY-MM-DD
    text: a column of pandas dates, and the dates among the values of `date_columns` (a wide
    download's date questions, beside answers of other kinds). A workbook keeps them as dates."""
    frame = chunk.reindex(columns=list(columns))
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            if dates_as_text:
                frame[column] = frame[column].dt.strftime("%Y-%m-%d").astype(object)
        elif isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(object)
        elif dates_as_text and column in date_columns and frame[column].dtype == object:
            frame[column] = frame[column].map(_iso, na_action="ignore")
    return neutralise_frame(frame)


def _iso(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date) else value


def date_columns(dictionary: Sequence[Column]) -> list[str]:
    """The columns a data dictionary says hold dates."""
    return [c.name for c in dictionary if c.type.startswith("date")]


def csv_stream(
    columns: Sequence[str], chunks: Iterable[pd.DataFrame], bom: bool = True, dates: Sequence[str] = ()
) -> Iterator[str]:
    """CSV text, a header line then one piece per chunk; a byte-order mark so Excel reads UTF-8."""
    header = pd.DataFrame(columns=list(columns)).to_csv(index=False, lineterminator="\r\n")
    yield ("\ufeff" if bom else "") + header
    for chunk in chunks:
        if len(chunk):
            yield _prepared(chunk, columns, dates).to_csv(index=False, header=False, lineterminator="\r\n")


def dictionary_csv(dictionary: Sequence[Column]) -> str:
    """The data dictionary as CSV, to download beside a CSV file."""
    return "\ufeff" + neutralise_frame(dictionary_frame(dictionary)).to_csv(index=False, lineterminator="\r\n")


def _records(frame: pd.DataFrame) -> str:
    """The chunk's rows as JSON objects separated by commas (no brackets)."""
    text = frame.to_json(orient="records", force_ascii=False, double_precision=15)
    return text[1:-1]


def json_stream(
    columns: Sequence[str], chunks: Iterable[pd.DataFrame], dictionary: Sequence[Column] | None = None
) -> Iterator[str]:
    """A JSON array of row objects; with a dictionary, `{"data_dictionary": [...], "rows": [...]}`.

    Missing and suppressed values are `null`; a cell shown as suppressed says `"c"`.
    """
    if dictionary is not None:
        head = json.dumps(
            dictionary_frame(dictionary).to_dict(orient="records"), ensure_ascii=False, separators=(",", ":")
        )
        yield '{"data_dictionary":' + head + ',"rows":['
    else:
        yield "["
    first = True
    dates = date_columns(dictionary or ())
    for chunk in chunks:
        frame = _prepared(chunk, columns, dates)
        for start in range(0, len(frame), JSON_PIECE):  # JSON text is long: render a few thousand rows at a time
            if not first:
                yield ","
            yield _records(frame.iloc[start : start + JSON_PIECE])
            first = False
    yield "]}" if dictionary is not None else "]"


def xlsx_stream(
    sheets: Sequence[tuple[str, Sequence[str], Iterable[pd.DataFrame]]], max_rows: int = MAX_ROWS
) -> Iterator[bytes]:
    """An XLSX workbook, one sheet per (title, columns, chunks), as bytes sent while it is written
    (`scoring.xlsx`). A sheet that reaches Excel's row limit goes on in a new sheet ("title (2)")
    with the same header, rather than losing rows Excel would not open."""
    return workbook([(title, columns, _each_prepared(chunks, columns)) for title, columns, chunks in sheets], max_rows)


def _each_prepared(chunks: Iterable[pd.DataFrame], columns: Sequence[str]) -> Iterator[pd.DataFrame]:
    for chunk in chunks:
        yield _prepared(chunk, columns, dates_as_text=False)  # date cells, which a spreadsheet sorts as dates


def stream(export: Export, format: str) -> Iterator[str] | Iterator[bytes]:
    """The export in `format` ('csv', 'json' or 'xlsx'); XLSX carries its dictionary as a second sheet.

    A CSV's dictionary is `dictionary_csv(export.dictionary)`, offered beside it.
    """
    if format == "csv":
        return csv_stream(export.columns, export.chunks, dates=date_columns(export.dictionary))
    if format == "json":
        return json_stream(export.columns, export.chunks, export.dictionary)
    if format == "xlsx":
        dictionary = export.dictionary_frame()
        return xlsx_stream(
            [
                (export.sheet or export.name, export.columns, export.chunks),
                (DICTIONARY_SHEET, list(dictionary.columns), [dictionary]),
            ]
        )
    raise ValueError(f"unknown export format '{format}': use csv, json or xlsx")


def media_type(format: str) -> str:
    return {"csv": CSV_MEDIA_TYPE, "json": JSON_MEDIA_TYPE, "xlsx": XLSX_MEDIA_TYPE}[format]


def chunked(frame: pd.DataFrame, size: int = 50_000) -> Iterator[pd.DataFrame]:
    """A frame already in memory as chunks of `size` rows, for the writers."""
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]

"""Excel workbooks written while they stream: each chunk of rows becomes sheet XML at once, deflated
into the ZIP that an XLSX file is, and sent on, so the first bytes leave before the last row is read.

openpyxl's write-only mode kept every row in a temporary file and wrote the workbook only when the
last row was in: a download sent nothing until then, about 2,700 answers a second here, so a
100,000-answer round waited 38 seconds for its first byte, past gunicorn's 30-second worker
timeout. No library writes a workbook as a stream; this writes only the few parts Excel needs
(a worksheet per sheet, the workbook, its styles, relationships and content types) with the
standard library's `zipfile`, which writes to a stream it cannot seek by putting each entry's
sizes after its data. The content types, package relationships and styles go first, then the
sheets, then the workbook that lists them, since how many there are is known only at the end.

Cells: numbers as numbers, booleans as booleans, dates and times as Excel keeps them (a serial
number of days since 30 December 1899, styled "yyyy-mm-dd" or "yyyy-mm-dd hh:mm:ss" so a
spreadsheet shows, sorts and filters them as dates; a time with a zone in UTC), text inline (no
shared string table to keep in memory), characters XML cannot hold dropped, text cut to Excel's
32,767 characters; anything else as its text. The header row is bold and stays in view when scrolling. A sheet
that reaches Excel's row limit, or 1 GiB of XML (a ZIP entry must stay under 2 GiB without ZIP64,
which not every reader of XLSX files reads), goes on in a new sheet with the same header.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from typing import IO

import numpy as np
import pandas as pd

MAX_TEXT = 32_767  # the most characters an Excel cell holds
MAX_ROWS = 1_048_576  # the most rows an Excel sheet holds, header included
MAX_PART = 1 << 30  # bytes of XML in one sheet before it goes on in the next
MAX_TITLE = 31  # the longest sheet name Excel takes
BATCH_ROWS = 2_000  # rows made into XML and written at a time
BATCH_CHARS = 4 << 20  # or fewer, when their text is long
LEVEL = 1  # deflate level: 300,000 answers took 9.9 s and 18.6 MB, against 12.0 s and 14.6 MB at 6

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
_SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# characters XML 1.0 cannot hold (all but tab, line feed and carriage return below space)
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SPECIAL = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NOT_IN_TITLE = re.compile(r"[\[\]:*?/\\]")  # characters Excel refuses in a sheet's name
_TEXT = ' t="inlineStr"><is><t xml:space="preserve">'
_TEXT_END = "</t></is></c>"
BLANK = "/>"  # what follows `<c r="A1"` for a cell with no value
_TRUE, _FALSE = ' t="b"><v>1</v></c>', ' t="b"><v>0</v></c>'
_DATE_STYLE, _TIME_STYLE = 2, 3  # the cell formats below for a date, and a date with its time
_EPOCH = dt.datetime(1899, 12, 30)  # day 0 of Excel's dates (1900 system): 1 March 1900 is day 61
_FIRST_DAY = dt.datetime(1900, 3, 1)  # Excel counts a 29 February 1900 that never was: earlier dates as text
_DAY = np.timedelta64(1, "D")
_MISSING: tuple[object, ...] = (pd.NA, pd.NaT)

Sheet = tuple[str, Sequence[str], Iterable[pd.DataFrame]]


def escaped(text: str) -> str:
    """Text as XML holds it: characters it cannot hold dropped, markup escaped, cut to fit a cell.

    >>> escaped("a < b & c\\x07")
    'a &lt; b &amp; c'
    """
    if _SPECIAL.search(text) is not None:
        text = _ILLEGAL.sub("", text)[:MAX_TEXT]
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text[:MAX_TEXT]


def _number(value: float) -> str:
    return f"><v>{value!r}</v></c>" if math.isfinite(value) else BLANK


def cell(value: object) -> str:
    """What follows `<c r="A1"` for this value: its type, its value and the cell's end; for no
    value or empty text a blank cell, so that every row has every column for readers that do not
    look for the ones left out (openpyxl's read-only mode, and pandas through it, without the
    sheet's size, which a stream cannot write first).

    >>> cell("=1")
    ' t="inlineStr"><is><t xml:space="preserve">=1</t></is></c>'
    >>> cell(2), cell(0.5), cell(True), cell(None), cell(float("nan")), cell("")
    ('><v>2</v></c>', '><v>0.5</v></c>', ' t="b"><v>1</v></c>', '/>', '/>', '/>')
    >>> cell(dt.date(2025, 3, 1))
    ' s="2"><v>45717</v></c>'
    """
    if value is None:
        return BLANK
    if isinstance(value, str):
        return text_cell(value)
    if isinstance(value, (bool, np.bool_)):
        return _TRUE if value else _FALSE
    if isinstance(value, (int, np.integer)):
        return f"><v>{int(value)}</v></c>"
    if isinstance(value, (float, np.floating)):
        return _number(float(value))
    if any(value is missing for missing in _MISSING):
        return BLANK
    if isinstance(value, dt.date):
        return date_cell(value)
    return _TEXT + escaped(str(value)) + _TEXT_END


def date_cell(value: dt.date) -> str:
    """`cell` for a date, or a date and time: its serial number, styled as a date.

    >>> date_cell(dt.date(2025, 3, 1)), date_cell(dt.datetime(2025, 3, 1, 18))
    (' s="2"><v>45717</v></c>', ' s="3"><v>45717.75</v></c>')
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        if value < _FIRST_DAY:
            return _TEXT + value.isoformat() + _TEXT_END
        serial = (value - _EPOCH) / dt.timedelta(days=1)
        return f' s="{_TIME_STYLE}"><v>{serial!r}</v></c>'
    if value < _FIRST_DAY.date():
        return _TEXT + value.isoformat() + _TEXT_END
    return f' s="{_DATE_STYLE}"><v>{(value - _EPOCH.date()).days}</v></c>'


def _date_cells(column: pd.Series) -> list[str]:
    """`cell` for a column of pandas dates (datetime64): serial numbers worked out at once, styled
    as dates when every one falls at midnight (as a date answer does) and with the time otherwise."""
    values = column.dt.tz_convert("UTC").dt.tz_localize(None) if column.dt.tz is not None else column
    stamps = values.to_numpy(dtype="datetime64[ns]")
    missing = np.isnat(stamps)
    serials = (stamps - np.datetime64(_EPOCH, "ns")) / _DAY
    whole = bool(np.all(missing | (serials == np.floor(serials))))
    early = ~missing & (stamps < np.datetime64(_FIRST_DAY, "ns"))
    style = _DATE_STYLE if whole else _TIME_STYLE
    made = [
        BLANK if gone else f' s="{style}"><v>{int(n) if whole else n!r}</v></c>'
        for gone, n in zip(missing.tolist(), serials.tolist(), strict=True)
    ]
    for at in np.flatnonzero(early).tolist():
        made[at] = date_cell(values.iloc[at].to_pydatetime())
    return made


def text_cell(text: str) -> str:
    """`cell` for text."""
    if not text:
        return BLANK
    if _SPECIAL.search(text) is None and len(text) <= MAX_TEXT:
        return _TEXT + text + _TEXT_END
    return _TEXT + escaped(text) + _TEXT_END


def cells(column: pd.Series) -> list[str]:
    """`cell` for every value of a column; a column of plain numbers or booleans, or of text
    (pandas' str: text or missing), without the per-value checks of type."""
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype):  # a download's text repeats (ids, labels, sectors): each made once
        codes, distinct = pd.factorize(column)
        made = np.array([text_cell(v) for v in distinct.tolist()] + [BLANK], dtype=object)
        return made[codes].tolist()  # missing is -1: the blank at the end
    if isinstance(dtype, np.dtype):
        if dtype.kind == "b":
            return [_TRUE if v else _FALSE for v in column.tolist()]
        if dtype.kind in "iu":
            return [f"><v>{v}</v></c>" for v in column.tolist()]
        if dtype.kind == "f":
            return [_number(v) for v in column.tolist()]
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _date_cells(column)
    return [cell(v) for v in column.tolist()]


def letters(count: int) -> list[str]:
    """The first `count` column letters: A to Z, then AA, AB and so on.

    >>> letters(28)[-3:]
    ['Z', 'AA', 'AB']
    """
    out = []
    for index in range(1, count + 1):
        name = ""
        while index:
            index, rest = divmod(index - 1, 26)
            name = chr(65 + rest) + name
        out.append(name)
    return out


def _title(title: str, part: int, taken: set[str]) -> str:
    """A sheet name Excel takes: without the characters it refuses, at most 31 characters, not
    starting or ending with an apostrophe, " (2)" and on for a sheet's later parts, and unlike
    any name already given (Excel compares names ignoring case): a name that would be the same
    as one given gets the next number instead. A name too long is cut after a whole word where
    there is one in the second half, so that it still reads."""
    base = _NOT_IN_TITLE.sub("-", _ILLEGAL.sub("", title)).strip("'") or "Sheet"
    number = part
    while True:
        suffix = f" ({number})" if number > 1 else ""
        name = _cut(base, MAX_TITLE - len(suffix)) + suffix
        if name.lower() not in taken:
            break
        number += 1
    taken.add(name.lower())
    return name


def _cut(text: str, room: int) -> str:
    """`text` in at most `room` characters, cut at a space, hyphen or underscore if one is late enough.

    >>> _cut("section-11-self-audit-2026-to-2027-answers-long", 27)
    'section-11-self-audit-2026'
    >>> _cut("Scored results", 27)
    'Scored results'
    """
    if len(text) <= room:
        return text
    cut = text[: room + 1]
    at = max(cut.rfind(" "), cut.rfind("-"), cut.rfind("_"))
    return (cut[:at] if at >= room // 2 else text[:room]).rstrip(" -_'") or text[:room]


def _attribute(text: str) -> str:
    return escaped(text).replace('"', "&quot;")


class _Sent:
    """What the ZIP writer has written and not yet been sent on: a stream it cannot seek."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.pieces.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.pieces)
        self.pieces.clear()
        return data


class _Book:
    """The workbook being written: its ZIP, the sheet open now, and the names of those done."""

    def __init__(self) -> None:
        self.sent = _Sent()
        self.zip = zipfile.ZipFile(self.sent, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=LEVEL)
        self.names: list[str] = []
        self.taken: set[str] = set()
        self.part: IO[bytes] | None = None  # the open sheet's entry in the ZIP
        self.rows = self.size = 0
        for name, text in _FIRST.items():
            self.zip.writestr(name, _DECLARATION + text)

    def open(self, title: str, part: int, header: Sequence[str]) -> None:
        self.close_sheet()
        self.names.append(_title(title, part, self.taken))
        self.part = self.zip.open(f"xl/worksheets/sheet{len(self.names)}.xml", "w")
        self.size = 0
        head = "".join(
            f'<c r="{c}1" s="1"{cell(str(name))}' for c, name in zip(letters(len(header)), header, strict=True)
        )
        self.write(
            f'{_DECLARATION}<worksheet xmlns="{_MAIN}"><sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
            f'<sheetData><row r="1">{head}</row>'
        )
        self.rows = 1

    def add(self, rows: list[str]) -> None:
        """Rows of the open sheet, as XML, numbered on from those written."""
        if rows:
            self.write("".join(rows))
            self.rows += len(rows)

    def write(self, text: str) -> None:
        data = text.encode("utf-8", "replace")  # a lone surrogate becomes "?" rather than stopping the file
        assert self.part is not None
        self.part.write(data)
        self.size += len(data)

    def close_sheet(self) -> None:
        if self.part is not None:
            self.write("</sheetData></worksheet>")
            self.part.close()
            self.part = None

    def close(self) -> None:
        """Close what is open, whether or not the workbook was finished (what is written goes nowhere)."""
        self.close_sheet()
        self.zip.close()

    def finish(self) -> None:
        """The workbook, which lists the sheets, and its relationships; then the ZIP's directory."""
        self.close_sheet()
        count = len(self.names)
        listed = "".join(
            f'<sheet name="{_attribute(name)}" sheetId="{n}" r:id="rId{n}"/>' for n, name in enumerate(self.names, 1)
        )
        sheets = "".join(
            f'<Relationship Id="rId{n}" Type="{_RELATIONSHIPS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
            for n in range(1, count + 1)
        )
        parts = {
            "xl/workbook.xml": f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}">'
            f"<bookViews><workbookView/></bookViews><sheets>{listed}</sheets></workbook>",  # the sheets' views name it
            "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">{sheets}'
            f'<Relationship Id="rId{count + 1}" Type="{_RELATIONSHIPS}/styles" Target="styles.xml"/></Relationships>',
        }
        for name, text in parts.items():
            self.zip.writestr(name, _DECLARATION + text)
        self.zip.close()


# two number formats (dates, and dates with times), two fonts (the header's bold), the two fills
# and the border Excel expects, and four cell formats: plain, header, date, date and time
_STYLES = (
    f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    "</fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)

# the parts written before the sheets. The content types come first, as in files Excel writes
# (tools that tell a file's type from its first entries look for them there); an XML part is a
# worksheet unless listed, so that they cover sheets not yet counted
_FIRST = {
    "[Content_Types].xml": f'<Types xmlns="{_TYPES}">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    f'<Default Extension="xml" ContentType="{_SPREADSHEET}.worksheet+xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_SPREADSHEET}.sheet.main+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_SPREADSHEET}.styles+xml"/></Types>',
    "_rels/.rels": f'<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}"><Relationship Id="rId1" '
    f'Type="{_RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/styles.xml": _STYLES,
}


def workbook(sheets: Iterable[Sheet], max_rows: int = MAX_ROWS, max_part: int = MAX_PART) -> Iterator[bytes]:
    """An XLSX workbook, one sheet per (title, columns, chunks), as bytes: some after every few
    thousand rows, the rest when the last chunk is in. Each chunk holds the columns, in order."""
    book = _Book()
    try:
        for title, columns, chunks in sheets:
            part = 1
            book.open(title, part, columns)
            names = letters(len(columns))
            for chunk in chunks:
                for start in range(0, len(chunk), BATCH_ROWS):  # cells made a batch at a time: bounded memory
                    piece = chunk.iloc[start : start + BATCH_ROWS]
                    made = [cells(piece.iloc[:, i]) for i in range(len(columns))]
                    batch: list[str] = []
                    chars = 0
                    for row in zip(*made, strict=True):
                        if book.rows + len(batch) >= max_rows or book.size >= max_part:
                            book.add(batch)
                            batch, chars = [], 0
                            part += 1
                            book.open(title, part, columns)
                        n = book.rows + len(batch) + 1
                        text = "".join([f'<c r="{c}{n}"{v}' for c, v in zip(names, row, strict=True)])
                        batch.append(f'<row r="{n}">{text}</row>')
                        chars += len(text)
                        if chars >= BATCH_CHARS:
                            book.add(batch)
                            batch, chars = [], 0
                    book.add(batch)
                    if data := book.sent.take():
                        yield data
        book.finish()
        yield book.sent.take()
    finally:
        book.close()  # a download stopped half way (the person went away) leaves nothing open

"""The results pages and downloads, as a reviewer, analyst or administrator uses them."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import threading

import openpyxl
import pandas as pd
import pytest
from flask.testing import FlaskClient
from openpyxl.utils import get_column_letter

from store.admin import reopen_audit
from store.models import SurveyRound
from tests import builders
from tests.builders import partnership
from tests.conftest import sign_in_as

__all__ = ["partnership"]

PAGES = [
    "/results/",
    "/results/heat-map",
    "/results/themes",
    "/results/trends",
    "/results/actions",
    "/results/returns",
    "/results/downloads",
]


@pytest.fixture
def analyst(client: FlaskClient, partnership, users) -> FlaskClient:
    return sign_in_as(client, users["analyst"])


@pytest.mark.parametrize("role", ["reviewer", "analyst", "admin"])
def test_every_results_page_opens_for_the_roles_that_see_results(client: FlaskClient, partnership, users, role) -> None:
    sign_in_as(client, users[role])
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        assert 'aria-current="page"' in page.get_data(as_text=True) or path == "/results/"


@pytest.mark.parametrize("role", ["agency", "other-agency"])
def test_agency_users_and_visitors_cannot_see_results(client: FlaskClient, partnership, users, role) -> None:
    for path in [
        *PAGES,
        "/results/downloads/themes.csv",
        f"/results/downloads/standards.csv?cycle={partnership.cycle.id}",
    ]:
        assert client.get(path).status_code == 302, "visitors are sent to sign in"
    sign_in_as(client, users[role])
    for path in [
        *PAGES,
        "/results/downloads/themes.csv",
        f"/results/downloads/standards.csv?cycle={partnership.cycle.id}",
    ]:
        assert client.get(path).status_code == 404, path


def test_the_heat_map_shows_ratings_in_words_and_the_practitioners_flag(analyst: FlaskClient) -> None:
    page = analyst.get("/results/heat-map").get_data(as_text=True)
    assert "Ratings by agency and standard" in page
    assert "Own rating: Met" in page and "Practitioners disagree" in page
    assert "Shire Police, S2 Safeguarding policy and responsibilities" in page


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_the_standards_download_matches_the_heat_map(analyst: FlaskClient, partnership, fmt: str) -> None:
    response = analyst.get(f"/results/downloads/standards.{fmt}?cycle={partnership.cycle.id}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="2026-to-2027-standards.{fmt}"'
    body = response.get_data()
    if fmt == "csv":
        table = pd.read_csv(io.BytesIO(body))
    elif fmt == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        assert book.sheetnames == ["Scored results", "Data dictionary"]
        rows = list(book["Scored results"].values)
        table = pd.DataFrame(rows[1:], columns=rows[0])
    else:
        parsed = json.loads(body)
        assert {d["column"] for d in parsed["data_dictionary"]} >= {"reported_rating", "triangulation"}
        table = pd.DataFrame(parsed["rows"])
    police = table.loc[table["agency"].eq("Shire Police")].set_index("section_id")
    # the page shows s3 as moderated Partially met with the agency's own Met beside it
    assert (police.loc["s3", "self_rating"], police.loc["s3", "reported_rating"]) == ("met", "partially-met")
    assert police.loc["s2", "triangulation"] == "flag"
    assert len(table) == 22


def _table(body: bytes, fmt: str) -> pd.DataFrame:
    """A download read back as an analyst would: pandas for CSV and JSON, openpyxl for XLSX."""
    if fmt == "csv":
        return pd.read_csv(io.BytesIO(body), keep_default_na=False, na_values=[""])
    if fmt == "json":
        return pd.DataFrame(json.loads(body)["rows"])
    rows = list(openpyxl.load_workbook(io.BytesIO(body), read_only=True).worksheets[0].values)
    return pd.DataFrame(rows[1:], columns=rows[0])


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_a_standards_score_in_the_download_is_the_one_the_reviewers_page_shows(
    client: FlaskClient, users, agencies, fmt: str
) -> None:
    cycle = builders.audit_cycle()
    audit = builders.submitted_audit(agencies["police"], cycle, users["agency"], {"s7.1": "not-met", "s3.4": "not-met"})
    sign_in_as(client, users["reviewer"])
    page = client.get(f"/review/audits/{audit.id}").get_data(as_text=True)
    shown = {s: re.search(rf'id="standard-{s}".*?(\d+) out of 100', page, re.S).group(1) for s in ("s3", "s7")}
    assert shown == {"s3": "86", "s7": "67"}, "6 of 7 and 2 of 3 of the items' weight"
    table = _table(client.get(f"/results/downloads/standards.{fmt}?cycle={cycle.id}").get_data(), fmt)
    scores = table.set_index("section_id")["score_100"]
    assert {s: scores[s] for s in shown} == {s: int(n) for s, n in shown.items()}, f"the {fmt} file"
    assert (scores == scores.round()).all(), "every score a whole number"


def test_each_workbooks_sheets_have_short_names_that_say_what_they_hold(analyst: FlaskClient, partnership) -> None:
    """With the longest names the demo gives a cycle and a round, which cut at Excel's 31
    characters read 'section-11-self-audit-2026-to-2' and clash between a file's sheets."""
    partnership.cycle.name = "Section 11 self-audit 2026 to 2027"
    partnership.cycle.save()
    partnership.child.round.name = "Children and young people's survey 2026"
    partnership.child.round.save()
    cycle, child_round = partnership.cycle.id, partnership.child.round.id
    expected = {
        f"standards.xlsx?cycle={cycle}": "Scored results",
        "themes.xlsx": "Themes",
        "themes.xlsx?by=agency": "Themes by agency",
        "themes.xlsx?by=sector": "Themes by sector",
        f"answers-long.xlsx?cycle={cycle}": "Raw answers, long",
        f"answers-wide.xlsx?round={child_round}": "Raw answers, wide",
    }
    for path, sheet in expected.items():
        response = analyst.get(f"/results/downloads/{path}")
        book = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
        assert book.sheetnames == [sheet, "Data dictionary"], path
        rows = len(list(book[sheet].values))
        assert rows == 1 if "round" in path else rows > 1, path  # the round's 3 children are too few to show
    disposition = analyst.get(f"/results/downloads/answers-wide.xlsx?round={child_round}").headers
    assert "children-and-young-people-s-survey-2026-answers-wide.xlsx" in disposition["Content-Disposition"]


@pytest.mark.parametrize("kind", ["answers-long", "answers-wide"])
def test_raw_answers_in_a_workbook_have_date_and_number_cells(client: FlaskClient, users, agencies, kind: str) -> None:
    workshop = builders.survey_link(
        builders.survey_round("practitioner-workshop", "Workshops"), "Hall", agencies["police"]
    )
    builders.submitted_responses(  # ten: fewer practitioners would be left out of the files
        workshop,
        10,
        lambda i: {"workshop-date": f"2026-0{i % 2 + 3}-1{i % 2}", "years-with-children": 12 + i % 2, "sector": "=1"},
    )
    sign_in_as(client, users["analyst"])
    query = f"round={workshop.round.id}"
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(f"/results/downloads/{kind}.xlsx?{query}").get_data()))
    rows = sheet.worksheets[0]
    header = [c.value for c in rows[1]]
    if kind == "answers-long":
        cells = [dict(zip(header, row, strict=True)) for row in rows.iter_rows(min_row=2)]
        dates = [r["value_date"] for r in cells if r["question_id"].value == "workshop-date"]
        numbers = [r["value_num"] for r in cells if r["question_id"].value == "years-with-children"]
        texts = [r["value_text"] for r in cells if r["question_id"].value == "sector"]
    else:
        dates = list(rows[get_column_letter(header.index("workshop-date") + 1)])[1:]
        numbers = list(rows[get_column_letter(header.index("years-with-children") + 1)])[1:]
        texts = list(rows[get_column_letter(header.index("sector_answer") + 1)])[1:]
    assert [(c.is_date, c.value) for c in dates] == [
        (True, dt.datetime(2026, 3, 10)),
        (True, dt.datetime(2026, 4, 11)),
    ] * 5
    assert [(c.data_type, c.value) for c in numbers] == [("n", 12), ("n", 13)] * 5
    assert [(c.data_type, c.value) for c in texts] == [("s", "'=1")] * 10, "text stays text, neutralised"
    assert all(isinstance(c.value, int) for c in rows["A"][1:]), "response ids are numbers"
    csv = pd.read_csv(io.BytesIO(client.get(f"/results/downloads/{kind}.csv?{query}").get_data()), dtype=str)
    as_json = pd.DataFrame(json.loads(client.get(f"/results/downloads/{kind}.json?{query}").get_data())["rows"])
    column = "value_date" if kind == "answers-long" else "workshop-date"
    for table in (csv, as_json):
        assert sorted(table[column].dropna()) == ["2026-03-10"] * 5 + ["2026-04-11"] * 5, "CSV and JSON keep ISO dates"


def test_the_theme_download_matches_the_themes_page(analyst: FlaskClient) -> None:
    page = analyst.get("/results/themes").get_data(as_text=True)
    shown = re.search(
        r"Parents and carers</th>(.*?)</tr>",
        page.split("Being informed: share positive by who answered and Essex measure</caption>")[1],
        re.S,
    ).group(1)
    assert "67% (12)" in shown
    table = pd.read_csv(io.BytesIO(analyst.get("/results/downloads/themes.csv").get_data()), keep_default_na=False)
    row = table.loc[table["theme"].eq("being-informed") & table["source"].eq("family") & table["measure"].eq("quality")]
    assert len(row) == 1
    assert (int(row["respondents"].iloc[0]), round(float(row["share"].iloc[0]) * 100)) == (12, 67)
    assert float(row["share"].iloc[0]) == 0.67, "the whole percentage the page shows, not 0.6666666666666666"
    for fmt in ("xlsx", "json"):
        other = _table(analyst.get(f"/results/downloads/themes.{fmt}").get_data(), fmt)
        found = other.loc[
            other["theme"].eq("being-informed") & other["source"].eq("family") & other["measure"].eq("quality")
        ]
        assert found["share"].tolist() == [0.67], fmt
        means = pd.to_numeric(other["mean_100"], errors="coerce").dropna()
        assert (means == means.round()).all(), "means on 0 to 100 are whole numbers, as scores are"
    child = table.loc[table["source"].eq("child")]
    assert set(child["respondents"].astype(str)) == {"c"}, "the same suppression as the page"


@pytest.mark.parametrize("kind", ["answers-long.csv", "answers-wide.json", "standards.xlsx"])
def test_a_streamed_download_gives_back_its_database_connection(analyst: FlaskClient, app, partnership, kind) -> None:
    """A raw answers file reads the database while it is sent, after the view has returned: the
    connection that reading opens must be closed when the file ends, in whichever thread served
    it, or a threaded server runs out of them after a few downloads."""
    database = app.extensions["database"]
    query = (
        f"round={partnership.family.round.id}" if kind.startswith("answers-long") else f"cycle={partnership.cycle.id}"
    )
    seen: dict[str, object] = {}

    def download() -> None:  # in a thread of its own, as a threaded server would serve it
        response = analyst.get(f"/results/downloads/{kind}?{query}")
        seen["bytes"], seen["status"] = len(response.get_data()), response.status_code
        seen["closed"] = database.is_closed()  # this thread's connection, after the whole file

    thread = threading.Thread(target=download)
    thread.start()
    thread.join(timeout=60)
    assert seen["status"] == 200 and seen["bytes"] > 0
    assert seen["closed"] is True, "the connection the download opened was left open"


def test_raw_answers_download_with_its_dictionary(analyst: FlaskClient, partnership) -> None:
    round_id = partnership.family.round.id
    long = pd.read_csv(io.BytesIO(analyst.get(f"/results/downloads/answers-long.csv?round={round_id}").get_data()))
    assert long["response_id"].nunique() == 12 and set(long["source"]) == {"family"}
    dictionary = pd.read_csv(
        io.BytesIO(analyst.get(f"/results/downloads/answers-long.dictionary.csv?round={round_id}").get_data())
    )
    assert set(long.columns) <= set(dictionary["column"])
    wide = analyst.get(f"/results/downloads/answers-wide.xlsx?cycle={partnership.cycle.id}")
    book = openpyxl.load_workbook(io.BytesIO(wide.get_data()), read_only=True)
    assert len(list(book.worksheets[0].values)) == 3, "a header and two audits"


def test_the_downloads_page_opens_in_short_sentences_and_its_file_labels_in_sentence_case(
    analyst: FlaskClient, partnership
) -> None:
    """A busy analyst reads the point first, one idea a sentence: formats, dictionaries, then
    what small-number suppression hides and why, each thing left out on a line of its own."""
    partnership.cycle.name = "Section 11 self-audit 2026 to 2027"  # as the demo names it
    partnership.cycle.save()
    page = re.sub(r"\s+", " ", analyst.get("/results/downloads").get_data(as_text=True))
    opening = re.search(r"<h1[^>]*>Downloads</h1>(.*?)<h2[^>]*>Scored results", page).group(1)
    sentences = [
        "Every file comes as CSV, Excel (XLSX) or JSON.",
        "Excel and JSON files include their data dictionary.",
        "A CSV file has its data dictionary as a separate file, linked beside it.",
        "Files hide small numbers in the same way as the results pages.",
        "A “c” means fewer than 10 anonymous respondents.",
        "So that no one in a small group can be identified:",
        "<li>children’s and families’ free text is left out</li>",
        "<li>raw answers show “c” for the group’s agency and sector</li>",
        "<li>raw answers leave out an age band that is too small to show</li>",
        "A cell that a spreadsheet would run as a formula starts with an apostrophe.",
        "This stops the spreadsheet running it.",
    ]
    assert [s for s in sentences if s not in opening] == []
    assert "suppression applies" not in page, "the old run-on sentence is gone"
    labels = re.findall(r"<li>([^<]+?)(?: \(\d+ responses?[^)]*\))?: <a class=\"govuk-link\"", page)
    rounds = [r.name for r in SurveyRound.select().order_by(SurveyRound.opens_on.desc(), SurveyRound.id.desc())]
    cycle = partnership.cycle.name
    raw = [f"Self-audits, {cycle}", *rounds]
    assert labels == [cycle, "Whole partnership", "By sector", "By agency", *raw, *raw]
    assert all(label[0].isupper() for label in labels), labels


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json", "dictionary.csv"])
def test_downloads_are_not_kept_in_a_cache(analyst: FlaskClient, partnership, fmt: str) -> None:
    """Raw answers hold what families and children typed: like the pages, a file is sent with
    no-store, so no browser cache on a shared computer or proxy on the way keeps a copy once the
    analyst has signed out."""
    for query in (f"round={partnership.family.round.id}", f"cycle={partnership.cycle.id}"):
        response = analyst.get(f"/results/downloads/answers-long.{fmt}?{query}")
        assert response.get_data() and response.status_code == 200  # the whole file streamed
        assert response.headers.get("Cache-Control") == "no-store", query


def test_the_downloads_page_says_how_many_responses_each_raw_file_holds(analyst: FlaskClient, partnership) -> None:
    """So an analyst is not left wondering at a file with no rows: the round of 3 children is
    too small to show, even with agencies hidden, and the page says so before the download,
    without saying how many: 3 children is a count every other page shows as c."""
    page = re.sub(r"\s+", " ", analyst.get("/results/downloads").get_data(as_text=True))
    children = partnership.child.round.name
    assert f"{children} (0 responses; some left out as too few to show):" in page
    assert f"{partnership.family.round.name} (12 responses):" in page
    assert f"Self-audits, {partnership.cycle.name} (2 responses):" in page
    assert page.count(f"{children} (0 responses; some left out") == 2, "beside the long and the wide file"
    assert "3 left out" not in page and not re.search(r"\b3\b[^<]*too few", page)


@pytest.mark.parametrize(
    "path",
    [
        "/results/downloads/standards.pdf?cycle=1",
        "/results/downloads/standards.csv",
        "/results/downloads/standards.csv?cycle=999",
        "/results/downloads/standards.csv?cycle=abc",
        "/results/downloads/standards.csv?cycle=%C2%B2",
        "/results/downloads/answers-wide.csv?round=99999999999999999999999",
        "/results/heat-map?cycle=4294967296",
        "/results/actions?cycle=%C2%B2",
        "/results/downloads/answers-long.csv?round=999",
        "/results/downloads/themes.csv?by=postcode",
        "/results/downloads/everything.csv",
        "/results/heat-map?cycle=999",
        "/results/themes?period=1999-00",
    ],
)
def test_files_and_pages_that_do_not_exist_are_404(analyst: FlaskClient, path: str) -> None:
    assert analyst.get(path).status_code == 404


def test_actions_and_returns_pages(analyst: FlaskClient) -> None:
    actions = analyst.get("/results/actions").get_data(as_text=True)
    assert "Fix s1.2" in actions and "Owner: Lead" in actions
    assert "act on it? Owner: Lead" in actions and "?. Owner" not in actions, "a question ends the sentence itself"
    returns = analyst.get("/results/returns").get_data(as_text=True)
    assert "2 of 2" in returns and "Families: 12 responses" in returns


def test_returns_hide_an_agencys_survey_responses_under_k(analyst: FlaskClient, partnership, agencies) -> None:
    """The practitioners who used the health trust's link are 3: as on the themes page, that
    count reads c, and so does the police's (or the total less the police's would give it)."""
    practitioners = builders.survey_round("practitioner-s11-survey", "Practitioners 2026")
    answers = {"senior-leaders": "agree"}
    builders.submitted_responses(
        builders.survey_link(practitioners, "Police", agencies["police"]), 15, lambda i: answers
    )
    builders.submitted_responses(
        builders.survey_link(practitioners, "Health", agencies["health"]), 3, lambda i: answers
    )
    page = re.sub(r"\s+", " ", analyst.get("/results/returns").get_data(as_text=True))
    table = re.search(r"Practitioners 2026: 18 responses</caption>(.*?)</table>", page).group(1)
    cells = re.findall(r">([^<>]+)</(?:td|abbr)>", table)
    assert cells == ["Shire Community Health", "c", "Shire Police", "c"], cells
    assert "fewer than 10 anonymous respondents" in page
    children = partnership.child.round.name
    assert f"{children}: fewer than 10 responses" in page and f"{children}: 3 responses" not in page


def test_a_reopened_audit_counts_on_returns_as_on_the_heat_map(analyst: FlaskClient, partnership, users) -> None:
    """Reopened: submitted once, its scores still in the reports, and now back with the agency."""
    reopen_audit(partnership.police, users["reviewer"])
    heat_map = analyst.get("/results/heat-map").get_data(as_text=True)
    police = re.search(r"Shire Police<br>(.*?)</tr>", heat_map, re.S).group(1)
    assert "Reopened" in police and "Partially met" in police, "the heat map keeps its ratings"
    returns = analyst.get("/results/returns").get_data(as_text=True)
    assert "<strong>2 of 2</strong> agencies have submitted their self-audit (100%)" in returns
    assert "1 of them has been reopened for the agency to change" in returns
    row = re.search(r">Shire Police</th>(.*?)</tr>", returns, re.S).group(1)
    assert "Reopened" in row and "govuk-tag--yellow" in row
    assert partnership.police.submitted_at.strftime("%-d %B %Y") in row, "when it was submitted"


def test_results_pages_before_any_cycle_exists(client: FlaskClient, users) -> None:
    sign_in_as(client, users["analyst"])
    for path in PAGES:
        assert client.get(path).status_code == 200, path


def test_every_chart_has_its_own_figures_in_a_table_after_it(analyst: FlaskClient) -> None:
    page = analyst.get("/results/themes").get_data(as_text=True)
    charts = re.findall(r'<figure class="app-chart">(.*?)</figure>', page, re.S)
    assert charts, "the demo partnership's themes have charts"
    for chart in charts:
        drawn = re.findall(r'class="app-chart__value">([^<]*)</text>', chart)
        table = re.search(r'<table class="govuk-table app-chart__table">(.*?)</table>', chart, re.S).group(1)
        listed = re.findall(r'govuk-table__cell--numeric">([^<]*)</td>', table)
        assert drawn and listed == drawn, "a screen reader gets what the bars say"
        assert "the figures are in the table after the chart" in chart


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/results/downloads/themes.csv", "text/csv; charset=utf-8"),
        ("/results/downloads/themes.dictionary.csv", "text/csv; charset=utf-8"),
        ("/results/downloads/themes.json", "application/json"),
        ("/results/downloads/themes.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ],
)
def test_each_file_says_its_type_once(analyst: FlaskClient, path: str, expected: str) -> None:
    response = analyst.get(path)
    assert response.status_code == 200 and response.headers["Content-Type"] == expected

"""The sub-group reviewer moderates a submitted audit; an analyst reads every dashboard and file.

Reviewer: signs in, opens Audits to review, an audit and one standard, sends the form empty
(the error summary takes the focus and its link leads to the field), then, by keyboard alone,
chooses a moderated rating and writes a challenge note; the audit's table shows the agency's
rating and the moderated one side by side. The agency's lead then signs in and sees both
ratings and the note on the scored result.

Analyst: signs in, opens each dashboard through the Results navigation, switches the audit cycle,
reads ratings in words and a child group's hidden "c", then downloads every file on the
Downloads page as a person would (CSV, XLSX, JSON and the data dictionaries), keeps them under
artifacts/downloads/, reads each back and checks its figures against the pages'.

Every page either journey visits is saved as a screenshot and scanned with axe (WCAG 2.2 AA).
The partnership is tests/browser/results_world.py's, on its own server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import openpyxl
import pandas as pd
import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from questionnaires import load_all
from tests.browser.axe import violations
from tests.browser.results_world import World, served
from tests.browser.steps import sign_in_from_start, sign_out

DOWNLOADS = Path(__file__).resolve().parents[2] / "artifacts" / "downloads"
S11 = load_all()["s11-self-audit"]
TITLES = {s.id: s.title for s in S11.sections}
LABELS = {o.value: o.label for q in S11.questions if q.type == "rating" for o in q.options}
MODERATED = "Partially met The reviewer's moderated rating"  # the "Used in reports" cell
NOTE = "Only 9 of your 12 practitioners know who the designated lead is. Send the staff briefing log."


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with served(tmp_path_factory.mktemp("results")) as running:
        yield running


def look(page: Page, shots, name: str) -> None:
    """A screenshot of the page, and no WCAG 2.2 A or AA failure on it."""
    shots(page, name)
    problems = violations(page)
    assert problems == [], f"{name} ({page.url}): {problems}"


def tab_to(page: Page, target: Locator, limit: int = 80) -> None:
    """Press Tab until `target` has the focus, as a keyboard user moves through a page."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("e => e === document.activeElement"):
            return
    raise AssertionError(f"{limit} presses of Tab never reached {target} on {page.url}")


def cells_of(row: Locator) -> list[str]:
    return [" ".join(t.split()) for t in row.locator("td").all_inner_texts()]


# ---------------------------------------------------------------------------------------------
# The reviewer
# ---------------------------------------------------------------------------------------------


def test_reviewer_moderates_a_standard_and_the_agency_sees_it(world: World, page: Page, shots) -> None:
    section, current = "s3", world.current.name
    sign_in_from_start(page, world.url, world.emails["reviewer"])
    look(page, shots, "signed-in")

    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Audits to review").click()
    expect(page.get_by_role("heading", level=1, name="Audits to review")).to_be_visible()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(4)  # two agencies, two cycles
    look(page, shots, "audits-to-review")
    police_now = rows.filter(has_text="Shire Police").filter(has_text=current)
    police_now.get_by_role("link", name="Moderate audit by Shire Police").click()

    expect(page.get_by_role("heading", level=1, name="Moderate the self-audit by Shire Police")).to_be_visible()
    expect(page.get_by_text("0 of 11 standards have a moderated rating or a challenge note")).to_be_visible()
    look(page, shots, "audit")
    page.get_by_role("link", name=f"Moderate standard 3, {TITLES[section]}").click()

    expect(page.get_by_role("heading", level=1, name=f"Moderate standard 3: {TITLES[section]}")).to_be_visible()
    expect(page.get_by_text("Agency's rating: Met")).to_be_visible()
    look(page, shots, "standard")

    # sent empty, by keyboard: the error summary takes the focus, and its link leads to the field
    save = page.get_by_role("button", name="Save moderation")
    tab_to(page, save)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_title(re.compile(r"^Error: Moderate standard 3"))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    problem = summary.get_by_role("link", name="Select a moderated rating, or that the agency's rating stands")
    expect(problem).to_be_visible()
    expect(page.locator("#rating-error")).to_contain_text("Select a moderated rating")
    look(page, shots, "standard-error")
    page.keyboard.press("Tab")
    expect(problem).to_be_focused()
    page.keyboard.press("Enter")
    first_radio = page.get_by_label("No moderated rating: the agency's rating stands")
    expect(first_radio).to_be_focused()
    expect(first_radio).not_to_be_checked()  # following the link chooses nothing

    # the arrow keys move down the radios, choosing each: no rating, Met, then Partially met
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Partially met", exact=True)).to_be_checked()
    expect(page.get_by_label("Partially met", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Challenge note for the agency")).to_be_focused()
    page.keyboard.type(NOTE)
    shots.count += 1  # the form is further down than a page screenshot reaches
    page.locator("main form").screenshot(path=str(shots.folder / f"{shots.count:02d}-moderation-chosen.png"))
    page.keyboard.press("Tab")
    expect(save).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")

    banner = page.locator(".govuk-notification-banner--success")
    expect(banner).to_contain_text(f"Saved: ‘{TITLES[section]}’ is moderated to Partially met")
    expect(page.get_by_text("1 of 11 standards have a moderated rating or a challenge note")).to_be_visible()
    # standard, agency's rating, score, moderated (with the note), used in reports
    row = page.locator(f"#standard-{section}")
    agency_rating, _, moderated, reported = cells_of(row)[:4]
    assert (agency_rating, moderated, reported) == ("Met", f"Partially met Note: {NOTE}", MODERATED)
    look(page, shots, "audit-moderated")
    sign_out(page)

    # the agency's lead sees the reviewer's rating and note beside their own
    sign_in_from_start(page, world.url, world.emails["police-lead"])
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Your self-audit").click()
    look(page, shots, "agency-self-audit")
    page.get_by_role("link", name="See your scored result, standard by standard").click()
    expect(page.get_by_role("heading", level=1, name="Your scored self-audit")).to_be_visible()
    expect(page.get_by_text(f"Shire Police, {current}")).to_be_visible()
    mine = cells_of(page.locator(f"#standard-{section}"))
    assert (mine[0], mine[2], mine[3]) == ("Met", f"Partially met Note: {NOTE}", MODERATED), mine
    assert cells_of(page.locator("#standard-s2"))[2:4] == ["None", "Met The agency's own rating"]
    expect(page.get_by_text("The sub-group moderated this standard to Partially met")).to_be_visible()
    look(page, shots, "agency-result")


# ---------------------------------------------------------------------------------------------
# The analyst
# ---------------------------------------------------------------------------------------------

NOT_SUBMITTED = "Not submitted, so not rated yet"
DASHBOARDS = ("Heat map", "Themes across sources", "Trends", "Action progress", "Returns", "Downloads")


def heat_map_cells(page: Page) -> dict[tuple[str, str], str]:
    """(agency, standard id) -> the rating tag's words in that cell (a row of an agency that has
    not submitted is one cell saying so, given here for each standard)."""
    rows = page.evaluate(
        """() => Array.from(document.querySelectorAll('table.app-heat-map tbody tr')).map((tr) => [
             tr.querySelector('th').childNodes[0].textContent.trim(),
             Array.from(tr.querySelectorAll('td')).map((td) => {
               const tag = td.querySelector('.govuk-tag');
               return tag ? tag.textContent.trim() : td.textContent.trim();
             }),
           ])"""
    )
    found = {}
    for agency, cells in rows:
        if len(cells) == 1:  # one cell across the row: the agency has not submitted
            cells = cells * len(S11.sections)
        found.update({(agency, s.id): cell for s, cell in zip(S11.sections, cells, strict=True)})
    return found


def check_heat_map(page: Page, cycle: str) -> dict[tuple[str, str], str]:
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Heat map {cycle}")
    cells = heat_map_cells(page)
    # every cell says its rating in words: colour is never the only way to tell
    assert set(cells.values()) <= set(LABELS.values()) | {NOT_SUBMITTED}, set(cells.values())
    assert "Partially met" in cells.values()
    assert all(cells[("Riverside Academy Trust", s)] == NOT_SUBMITTED for s in TITLES)
    return cells


def test_analyst_reads_every_dashboard_and_downloads_every_file(world: World, page: Page, shots) -> None:
    sign_in_from_start(page, world.url, world.emails["analyst"])
    look(page, shots, "signed-in")
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Results").click()
    expect(page.get_by_role("heading", level=1, name="Results")).to_be_visible()
    look(page, shots, "results")
    results_nav = page.get_by_role("navigation", name="Results")

    shown: dict[str, dict] = {}
    for name in DASHBOARDS:
        results_nav.get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(name)
        expect(results_nav.get_by_role("link", name=name)).to_have_attribute("aria-current", "page")
        look(page, shots, name.lower().replace(" ", "-"))
        if name == "Heat map":
            shown[world.current.name] = check_heat_map(page, world.current.name)
            flagged = page.locator("table.app-heat-map tbody tr").filter(has_text="Shire Police").locator("td").nth(1)
            expect(flagged).to_contain_text("Practitioners disagree")
            health = page.locator("table.app-heat-map tbody tr").filter(has_text="Shire Community Health")
            expect(health.locator("td").nth(4)).to_contain_text("Own rating: Met")  # S5, moderated down

            # last year's cycle, with the chooser
            page.get_by_label("Audit cycle").select_option(label=world.previous.name)
            page.get_by_role("button", name="Show").click()
            shown[world.previous.name] = check_heat_map(page, world.previous.name)
            assert shown[world.previous.name][("Shire Police", "s5")] != "Met"
            assert shown[world.previous.name] != shown[world.current.name]
            expect(page.get_by_label("Audit cycle")).to_have_value(str(world.previous.id))
            look(page, shots, "heat-map-last-year")
        elif name == "Themes across sources":
            shown["themes"] = theme_cells(page)
            shown["period"] = page.locator("h1 .govuk-caption-m").inner_text()
            # three children answered: too few, so their figures are hidden, and say why
            children = page.get_by_role("row", name=re.compile(r"^Children and young people aged 8 to 11"))
            expect(children.first).to_be_visible()
            hidden = children.first.locator("abbr", has_text=re.compile(r"^c$"))
            expect(hidden.first).to_have_attribute("title", "Hidden: too few respondents")
            assert "%" not in " ".join(children.first.locator("td").all_inner_texts())
        elif name == "Returns":
            expect(page.get_by_text("2 of 3 agencies have submitted their self-audit (67%)")).to_be_visible()
        elif name == "Action progress":
            expect(page.get_by_role("row").filter(has_text="Fix s1.2")).to_contain_text("Shire Police")

    files = download_everything(page)
    check_files(world, files, shown)


def theme_cells(page: Page) -> dict[tuple[str, str, str], str]:
    """(theme title, who answered, measure id) -> the figure shown, from every theme table."""
    found = page.evaluate(
        """() => Array.from(document.querySelectorAll('main table')).map((table) => [
             table.querySelector('caption').textContent.trim(),
             Array.from(table.querySelectorAll('thead th')).slice(1).map((th) => th.textContent.trim()),
             Array.from(table.querySelectorAll('tbody tr')).map((tr) => [
               tr.querySelector('th').textContent.trim(),
               Array.from(tr.querySelectorAll('td')).map((td) => td.textContent.trim()),
             ]),
           ])"""
    )
    cells = {}
    for caption, measures, rows in found:
        theme = caption.split(":")[0]
        measure_ids = [re.search(r"\((\w+)\)$", m).group(1) for m in measures]
        for source, figures in rows:
            for measure, figure in zip(measure_ids, figures, strict=True):
                cells[(theme, source, measure)] = figure
    return cells


# ---------------------------------------------------------------------------------------------
# Downloads
# ---------------------------------------------------------------------------------------------


def download_everything(page: Page) -> dict[tuple[str, str, str], pd.DataFrame]:
    """Select every file link on Downloads, keep the file, read it back.

    Keyed by (kind, collection query, format), with 'dictionary' as the format of a data
    dictionary; each value is the file's rows as a table."""
    expect(page.get_by_role("heading", level=1, name="Downloads")).to_be_visible()
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    links = page.locator("main a[download]")
    count = links.count()
    assert count == 52, f"{count} file links"  # see check_files for what they are
    files = {}
    for i in range(count):
        link = links.nth(i)
        href = link.get_attribute("href")
        path = _click_and_keep(page, link, href)
        address = urlsplit(href)
        kind, _, fmt = Path(address.path).name.partition(".")
        fmt = "dictionary" if fmt == "dictionary.csv" else fmt
        assert path.suffix == (".csv" if fmt == "dictionary" else f".{fmt}"), path
        key = (kind, address.query, fmt)
        assert key not in files, f"two links to {key}"
        files[key] = read_back(path, fmt)
    return files


def _click_and_keep(page: Page, link, href: str) -> Path:
    """Click a file link and keep the file. Chromium sometimes swallows one click of a quick run
    of downloads from one page (its multiple-downloads guard) on a loaded machine; then the same
    address is fetched with the page's own cookies, so the file is still checked, never skipped."""
    try:
        with page.expect_download(timeout=15_000) as waiting:
            link.click()
        download = waiting.value
        assert download.failure() is None, (href, download.failure())
        path = DOWNLOADS / download.suggested_filename
        download.save_as(path)
        return path
    except PlaywrightTimeoutError:
        response = page.request.get(urljoin(page.url, href))
        assert response.ok, (href, response.status)
        disposition = response.headers["content-disposition"]
        path = DOWNLOADS / disposition.split('filename="')[1].rstrip('"')
        path.write_bytes(response.body())
        return path


def read_back(path: Path, fmt: str) -> pd.DataFrame:
    if fmt in ("csv", "dictionary"):
        return pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, dtype=str)
    if fmt == "json":
        parsed = json.loads(path.read_text(encoding="utf-8"))
        columns = [d["column"] for d in parsed["data_dictionary"]]
        assert all(set(columns) >= set(row) for row in parsed["rows"]), path
        table = pd.DataFrame(parsed["rows"]) if parsed["rows"] else pd.DataFrame(columns=columns)
        return table.astype(object).where(lambda f: f.notna(), "").astype(str)
    book = openpyxl.load_workbook(path)  # not read-only: that mode drops a row's empty trailing cells
    assert book.sheetnames[1:] == ["Data dictionary"], book.sheetnames
    rows = list(book.worksheets[0].values)
    return pd.DataFrame(rows[1:], columns=rows[0]).astype(object).where(lambda f: f.notna(), "").astype(str)


def check_files(world: World, files: dict, shown: dict) -> None:
    cycles = {world.current.name: f"cycle={world.current.id}", world.previous.name: f"cycle={world.previous.id}"}
    rounds = sorted({q for (k, q, _) in files if k == "answers-long" and q.startswith("round=")})
    collections = [*cycles.values(), *rounds]
    expected = {("standards", q) for q in cycles.values()}
    expected |= {("themes", q) for q in ("", "by=sector", "by=agency")}
    expected |= {(kind, q) for kind in ("answers-long", "answers-wide") for q in collections}
    assert len(collections) == 4, collections  # two cycles, two survey rounds
    assert {(k, q) for (k, q, _) in files} == expected
    assert {f for (_, _, f) in files} == {"csv", "xlsx", "json", "dictionary"}

    for kind, query in expected:
        csv, xlsx, js, dictionary = (files[(kind, query, f)] for f in ("csv", "xlsx", "json", "dictionary"))
        children = kind.startswith("answers") and query == f"round={world.child_round_id}"
        # the three children are too few to show even with their school hidden: their rows stay out
        assert len(csv) == 0 if children else len(csv) > 0, (kind, query)
        # the three formats hold the same table, and the dictionary explains each of its columns
        assert list(xlsx.columns) == list(csv.columns) and set(js.columns) == set(csv.columns), (kind, query)
        assert len(xlsx) == len(js) == len(csv), (kind, query)
        assert set(csv.columns) <= set(dictionary["column"]), (kind, query)
        assert (dictionary["meaning"] != "").all(), (kind, query)

    # each standard's reported rating in every format is the one the heat map showed
    for name, query in cycles.items():
        for fmt in ("csv", "xlsx", "json"):
            table = files[("standards", query, fmt)]
            assert len(table) == 22, "two agencies, eleven standards"
            from_file = {(r.agency, r.section_id): LABELS[r.reported_rating] for r in table.itertuples()}
            on_page = {key: text for key, text in shown[name].items() if key[0] != "Riverside Academy Trust"}
            assert from_file == on_page, (name, fmt)
    police = files[("standards", cycles[world.current.name], "csv")].set_index(["agency", "section_id"])
    assert police.loc[("Shire Police", "s2"), "triangulation"] == "flag"
    health = police.loc[("Shire Community Health", "s5")]
    assert (health["self_rating"], health["moderated_rating"]) == ("met", "partially-met")

    # a theme's share on the page is the one in the files: 9 of the 12 practitioners know the lead
    themes = shown["themes"]
    practitioners = {k: v for k, v in themes.items() if k[:2] == ("Accountability", "Practitioners") and "%" in v}
    assert list(practitioners.values()) == ["75% (12)"], practitioners
    ((_, _, measure),) = practitioners
    period = shown["period"]
    assert period == max(files[("themes", "", "csv")]["cycle"]), "the page opens on the latest year"
    for fmt in ("csv", "xlsx", "json"):
        table = files[("themes", "", fmt)]
        row = table.loc[
            table["theme"].eq("accountability")
            & table["source"].eq("practitioner")
            & table["measure"].eq(measure)
            & table["cycle"].eq(period)
        ]
        assert len(row) == 1, (fmt, row)
        assert (round(float(row["share"].iloc[0]) * 100), int(float(row["respondents"].iloc[0]))) == (75, 12)
        # the children's figures are hidden in every file as on the page
        for by in ("", "by=sector", "by=agency"):
            grouped = files[("themes", by, fmt)]
            assert set(grouped.loc[grouped["source"].eq("child"), "respondents"]) == {"c"}, (by, fmt)

    # raw answers: one row per response in the wide files
    wide = {q: len(files[("answers-wide", q, "csv")]) for q in collections}
    assert sorted(wide.values()) == [0, 2, 2, 12], wide

"""The XSS corpus through moderation, the results pages and the downloads.

A reviewer's challenge note, an agency's name, an action's wording and families' free text
are typed by people; each page and file that shows them must show them as typed and nothing
more: escaped on pages, formulas neutralised in files.
"""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from flask.testing import FlaskClient

from store import scores
from store.models import Action, Agency
from tests import builders
from tests.conftest import sign_in_as
from tests.security.xss_corpus import assert_cells_safe, assert_page_clean, payloads

PAYLOADS = list(payloads())


@pytest.fixture
def hostile(db, agencies, users) -> dict:
    """One audit and one family round whose typed text is payload after payload."""
    Agency.update(name=PAYLOADS[0]).where(Agency.id == agencies["health"].id).execute()
    cycle = builders.audit_cycle()
    audit = builders.submitted_audit(agencies["police"], cycle, users["agency"], {"s1.2": "not-met"})
    Action.update(what=PAYLOADS[1], owner=PAYLOADS[2]).where(Action.audit == audit).execute()
    for number, payload in enumerate(PAYLOADS[3:13], start=1):
        scores.moderate(audit, f"s{number}", "partially-met", payload, users["reviewer"])
    family = builders.survey_link(builders.survey_round("family-experience", "Families"), "Hub", agencies["health"])
    texts = PAYLOADS[13:]
    builders.submitted_responses(family, len(texts), lambda i: {"told-what": "agree", "anything-else": texts[i]})
    scores.score_pending()
    return {"cycle": cycle, "audit": audit, "round": family.round, "texts": texts}


def test_pages_that_show_typed_text_show_it_escaped(client: FlaskClient, hostile, users) -> None:
    audit = hostile["audit"]
    sign_in_as(client, users["reviewer"])
    notes = PAYLOADS[3:13]
    assert_page_clean(client.get(f"/review/audits/{audit.id}").get_data(as_text=True), shown=notes)
    assert_page_clean(client.get(f"/review/audits/{audit.id}/s1").get_data(as_text=True), shown=notes[:1])
    for path in ("/results/heat-map", "/results/returns"):
        assert_page_clean(client.get(path).get_data(as_text=True), shown=[PAYLOADS[0]])
    assert_page_clean(client.get("/results/actions").get_data(as_text=True), shown=PAYLOADS[1:3])
    for path in ("/results/themes", "/results/trends", "/results/downloads", "/results/"):
        assert_page_clean(client.get(path).get_data(as_text=True))
    client.post("/sign-out")
    sign_in_as(client, users["agency"])
    assert_page_clean(client.get(f"/audit/{audit.id}/result").get_data(as_text=True), shown=notes)


def test_downloads_neutralise_formulas_in_every_format(client: FlaskClient, hostile, users) -> None:
    sign_in_as(client, users["analyst"])
    files = [
        f"/results/downloads/answers-long.{{}}?round={hostile['round'].id}",
        f"/results/downloads/answers-wide.{{}}?round={hostile['round'].id}",
        f"/results/downloads/standards.{{}}?cycle={hostile['cycle'].id}",
        "/results/downloads/themes.{}?by=agency",
    ]
    released = 0
    for template in files:
        body = client.get(template.format("csv")).get_data(as_text=True)
        cells = [cell for row in csv.reader(io.StringIO(body.lstrip("\ufeff"))) for cell in row]
        assert_cells_safe(cells)
        released += sum(1 for cell in cells if cell.lstrip("'") in hostile["texts"])
        book = openpyxl.load_workbook(io.BytesIO(client.get(template.format("xlsx")).get_data()), read_only=True)
        assert_cells_safe(v for sheet in book.worksheets for row in sheet.values for v in row)
        data = json.loads(client.get(template.format("json")).get_data())
        assert_cells_safe(v for row in data["rows"] for v in row.values())
    assert released >= len(hostile["texts"]), "the families' words are in the files, made harmless, not dropped"

"""`flask --app app export`: the Downloads page's files for scripts, to a file or standard output."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pandas as pd
from flask.testing import FlaskCliRunner

from tests.builders import partnership

__all__ = ["partnership"]


def test_standards_to_an_xlsx_file_with_a_csv_dictionary(runner: FlaskCliRunner, partnership, tmp_path: Path) -> None:
    out, dictionary = tmp_path / "standards.xlsx", tmp_path / "dictionary.csv"
    result = runner.invoke(
        args=[
            "export",
            "standards",
            "--cycle",
            partnership.cycle.name,
            "--format",
            "xlsx",
            "-o",
            str(out),
            "--dictionary",
            str(dictionary),
        ]
    )
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out, read_only=True)  # read-only keeps the file open until closed
    rows = list(book.worksheets[0].values)
    book.close()
    table = pd.DataFrame(rows[1:], columns=rows[0])
    assert len(table) == 22 and set(table["agency"]) == {"Shire Police", "Shire Community Health"}
    assert "reported_rating" in set(pd.read_csv(dictionary)["column"])


def test_themes_by_sector_to_standard_output(runner: FlaskCliRunner, partnership) -> None:
    result = runner.invoke(args=["export", "themes", "--by", "sector"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.output.lstrip("\ufeff")), keep_default_na=False)
    assert {"police", "health"} <= set(table["group"])
    health = table.loc[table["group"].eq("health") & table["theme"].eq("being-informed") & table["source"].eq("family")]
    assert 0.67 in health["share"].astype(float).tolist(), "8 of 12 families, as the Themes page's 67%"
    shares = pd.to_numeric(table["share"], errors="coerce").dropna()
    assert (shares == shares.round(2)).all(), "whole percentages, as the pages show them"


def test_raw_answers_of_a_survey_round_as_json(runner: FlaskCliRunner, partnership) -> None:
    result = runner.invoke(
        args=["export", "answers-long", "--round", partnership.family.round.name, "--format", "json"]
    )
    assert result.exit_code == 0 and '"rows":[' in result.output and '"data_dictionary"' in result.output


def test_mistakes_are_explained_and_write_nothing(runner: FlaskCliRunner, partnership, tmp_path: Path) -> None:
    result = runner.invoke(args=["export", "standards", "--cycle", "Nope"])
    assert result.exit_code == 2 and "There is no audit cycle called 'Nope'" in result.output
    assert partnership.cycle.name in result.output
    result = runner.invoke(args=["export", "answers-wide"])
    assert result.exit_code == 2 and "give --cycle or --round" in result.output
    result = runner.invoke(args=["export", "themes", "--format", "xlsx"])
    assert result.exit_code == 2 and "cannot go to standard output" in result.output
    result = runner.invoke(args=["export", "everything"])
    assert result.exit_code == 2

"""`flask --app app questionnaires validate`: one line per valid file, every problem otherwise."""

from __future__ import annotations

import json
from pathlib import Path

from flask.testing import FlaskCliRunner

from tests.conftest import FIXTURES

MINIMAL = FIXTURES / "questionnaires" / "minimal.json"


def test_validates_every_shipped_definition_by_default(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["questionnaires", "validate"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 5
    assert any("s11-self-audit version 1, agency, 11 sections" in line for line in lines)
    assert all(line.startswith("ok ") for line in lines)


def test_one_valid_file(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["questionnaires", "validate", str(MINIMAL)])
    assert result.exit_code == 0
    assert result.output.strip() == f"ok {MINIMAL}: minimal version 1, agency, 2 sections, 13 questions"


def test_every_problem_is_listed_and_exit_code_is_1(runner: FlaskCliRunner, tmp_path: Path) -> None:
    data = json.loads(MINIMAL.read_text())
    data["title"] = ""
    data["sections"][0]["questions"][0]["scale"] = "nowhere"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data))
    not_json = tmp_path / "not-json.json"
    not_json.write_text("{")
    result = runner.invoke(args=["questionnaires", "validate", str(broken), str(MINIMAL), str(not_json)])
    assert result.exit_code == 1
    out = result.output
    assert f"{broken}: $.title: must not be empty" in out
    assert (
        f"{broken}: $.sections[0].questions[0]: a choice question needs either 'options' or 'scale', not both and not neither"
        in out
    )
    assert f"{not_json}: $: not valid JSON" in out
    assert "ok " not in out


def test_a_new_file_may_refer_to_shipped_questionnaires(runner: FlaskCliRunner, tmp_path: Path) -> None:
    shipped = json.loads((Path("questionnaires/definitions/practitioner-s11-survey.json")).read_text())
    shipped["version"] = 2
    draft = tmp_path / "practitioner-v2.json"
    draft.write_text(json.dumps(shipped))
    result = runner.invoke(args=["questionnaires", "validate", str(draft)])
    assert result.exit_code == 0, result.output
    section = shipped["sections"][0]
    matched = next(q for s in shipped["sections"] for q in s["questions"] if "matches" in q)
    matched["matches"]["section"] = "s99"
    draft.write_text(json.dumps(shipped))
    result = runner.invoke(args=["questionnaires", "validate", str(draft)])
    assert result.exit_code == 1
    assert "questionnaire 's11-self-audit' has no section 's99'" in result.output
    assert section

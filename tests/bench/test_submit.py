"""The s11 scenario of bench/submit.py posts what a standard's page accepts, and expects what it stores.

The benchmark counts rows after every window against what its client predicted, and stops on a
difference; these tests catch a client that has drifted from the forms (a field renamed, a rule
added) before anyone spends a benchmark run finding out.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any
from urllib.parse import parse_qsl

import pytest

from bench import submit
from bench.harness import BenchError
from questionnaires import Questionnaire, load_all


@pytest.fixture(scope="module")
def s11() -> Questionnaire:
    return load_all()[submit.S11]


def test_every_random_save_is_valid_and_stores_what_the_client_expects(s11: Questionnaire) -> None:
    submit.check_s11_saves(s11, random.Random(5), 3 * len(s11.sections))


def test_saves_cover_shortfalls_with_actions_evidence_and_both_buttons(s11: Questionnaire) -> None:
    rng = random.Random(7)
    saves = [submit.s11_save(section, rng, dt.date.today()) for section in s11.sections for _ in range(10)]
    posted = [dict(parse_qsl(save.body)) for save in saves]
    assert {p["save"] for p in posted} == {"continue", "later"}
    assert {save.status for save in saves} == {"completed", "in-progress"}
    assert any(k.endswith("__what") for p in posted for k in p)  # an action for a shortfall
    assert any(k.endswith("__0__date-year") for p in posted for k in p)  # an evidence row
    for save in saves:  # what a save leaves is exactly its own standard's answers
        own = {q.id for q in s11.section(save.section_id).questions}
        assert {k.removesuffix("__reason") for k in save.stored} <= own


def test_a_client_that_posts_something_else_than_it_expects_is_stopped(
    s11: Questionnaire, monkeypatch: pytest.MonkeyPatch
) -> None:
    fields = submit.s11_fields

    def without_actions(section: Any, answers: dict[str, Any]) -> list[tuple[str, str]]:
        return [(k, v) for k, v in fields(section, answers) if "-action__" not in k]

    monkeypatch.setattr(submit, "s11_fields", without_actions)
    with pytest.raises(BenchError, match="not valid"):  # a shortfall needs its action
        submit.check_s11_saves(s11, random.Random(3), 5 * len(s11.sections))


def test_the_table_shows_the_database_servers_cpu_where_it_was_measured(capsys: pytest.CaptureFixture[str]) -> None:
    def measured(rate: float, server_ms: float | None) -> submit.Measurement:
        return submit.Measurement(rate=rate, sends=0.0, cpu_ms=4.0, client_ms=0.5, events=rate, server_ms=server_ms)

    results: submit.Results = {
        ("sqlite", 2, "s11"): {"app": [measured(90.0, None)], "baseline": [measured(100.0, None)]},
        ("postgresql", 2, "s11"): {"app": [measured(75.0, 1.5)], "baseline": [measured(100.0, 0.9)]},
    }
    submit.print_tables(results)
    lines = {
        line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line[:3] in {"sql", "pos"}
    }
    assert lines["sqlite"][5:8] == ["0.90", "0.8", "PASS"] and lines["sqlite"][-2:] == ["-", "-"]
    assert lines["postgresql"][5:8] == ["0.75", "0.8", "FAIL"] and lines["postgresql"][-2:] == ["1.50", "0.90"]

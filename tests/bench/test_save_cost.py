"""bench/save_cost.py runs both sides' saves to the end and checks what they stored.

A short run on SQLite: each side in its own process signs in (the app) and saves standards;
the run stops with a BenchError when a save is refused or the answers stored are not the ones
last posted. This catches a benchmark broken by a change to the pages before anyone spends a
benchmark run finding out.
"""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from bench import save_cost
from bench.harness import BenchError


def test_a_short_run_measures_each_side_every_round_and_checks_what_was_stored() -> None:
    args = argparse.Namespace(saves=6, rounds=2, warmup=3)
    rounds = save_cost.measure("sqlite", args)
    assert set(rounds) == {"app", "baseline"}
    for side in ("app", "baseline"):
        assert len(rounds[side]) == 2
        assert all(r.cpu_us > 0 and r.server_us is r.statements is r.server_cpu_us is None for r in rounds[side])
    assert save_cost._table_row("sqlite", rounds).split()[4:7] == ["-", "-", "-"]  # no server figures


def test_a_side_that_cannot_sign_in_stops_the_run_with_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """A side's failure in its own process reaches the run as a BenchError, not as a figure."""
    made = save_cost.submit.prepare_s11

    def with_a_stranger(url: str, clients: int) -> save_cost.submit.AuditSetup:
        setup = made(url, clients)
        return dataclasses.replace(setup, app=[(setup.app[0][0], "nobody@bench.example.org")])

    monkeypatch.setattr(save_cost.submit, "prepare_s11", with_a_stranger)
    with pytest.raises(BenchError, match="signing in as nobody@bench.example.org failed"):
        save_cost.measure("sqlite", argparse.Namespace(saves=2, rounds=1, warmup=1))

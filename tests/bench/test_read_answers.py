"""bench/read_answers.py reads the same answers both ways and refuses to time a wrong read.

A short run on SQLite stores answers of every kind in the scoring benchmark's mix, reads them
back through the app and through read_sql_query, and checks them against each other; the check
itself is shown to stop a run whose reads differ. This catches a benchmark broken by a change to
the store before anyone spends a benchmark run finding out.
"""

from __future__ import annotations

import pandas as pd
import pytest

from bench import read_answers
from bench.harness import BenchError


def test_a_short_run_times_every_side_and_finds_the_same_answers_both_ways() -> None:
    figures = read_answers.measure("sqlite", 3_000, rounds=2)
    assert figures.answers > 2_500  # whole responses of the mix: about the number asked for
    assert min(figures.app_s, figures.base_s, figures.decoded_s) > 0
    assert figures.app_peak > 0 and figures.base_peak > 0


def test_reads_that_differ_stop_the_run() -> None:
    stored = pd.DataFrame({"response_id": [1, 1], "question_id": ["a", "b"], "value": ['"agree"', '["x","y"]']})
    decoded = stored.assign(value=["agree", ["x", "y"]])
    read_answers.check(decoded, stored)  # the same rows, the values decoded: nothing to say
    with pytest.raises(BenchError, match="values are not the stored texts decoded"):
        read_answers.check(decoded.assign(value=["agree", ["x"]]), stored)
    with pytest.raises(BenchError, match="question_id column"):
        read_answers.check(decoded.assign(question_id=["a", "c"]), stored)
    with pytest.raises(BenchError, match="read 1 answers, the baseline 2"):
        read_answers.check(decoded.head(1), stored)

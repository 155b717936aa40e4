"""Time getting stored answers out of the database against pandas' read_sql_query, in one run.

DESIGN section 8: getting answers out of the database no slower than `read_sql_query`. For each
N it stores N synthetic answers the way the store does (JSON text, one row an answer) over the
five shipped questionnaires, in bench/scoring.py's mix (S11 audits with evidence and actions,
the surveys with their choices and free text), then times, each first in turn round by round so
that machine noise hits all three:

  app       `store.results.answer_chunks` over every response: what the raw answer downloads
            and `flask export` read, as frames of decoded values, a chunk of responses at a time;
  baseline  `pandas.read_sql_query` of the same rows in the same order on a plain connection of
            the driver (sqlite3, psycopg2), as one frame of the stored text;
  decoded   the baseline, then its values decoded (`json.loads` each), as the app gives them:
            a pandas user's whole read, shown beside the target's comparison.

The app does more than the baseline (it decodes every value, and reads in chunks so that its
memory stays bounded), so a ratio under 1 is the app being faster with more to do. It prints the
median time of each, the median per-round ratio app / baseline (target: at most 1) by the clock
and in the CPU time of the process, the ratio app / decoded, and the peak traced memory of the
app and the baseline (tracemalloc, in a separate untimed run). After the rounds it checks that
both read the same rows and that the app's values are the baseline's texts decoded: a benchmark
of a wrong read stops with an error.

Run from the project root (as root for PostgreSQL: it makes a throwaway cluster, as .ci/run does):

  python bench/read_answers.py [--sizes 100000 1000000] [--engines sqlite postgresql] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BenchError, main_guarded, scratch_database, timed, traced_peak
from bench.scoring import SHARES, generate
from questionnaires import load_all
from store.db import db, make_database, upgrade
from store.models import encode_json
from store.questionnaires import sync_shipped

BASELINE_SQL = 'SELECT "response_id", "question_id", "value" FROM "answer" ORDER BY "response_id", "id"'


@dataclass
class Figures:
    answers: int
    app_s: float
    base_s: float
    ratio: float
    cpu_ratio: float
    app_peak: int
    base_peak: int
    decoded_s: float  # the baseline with its values decoded too (json.loads each), the app's whole job
    decoded_ratio: float


@contextlib.contextmanager
def _bound(database: Any) -> Iterator[None]:
    """The store's models bound to `database` while inside, then to what they were bound to."""
    before = db.obj
    db.initialize(database)
    try:
        yield
    finally:
        db.initialize(before)


def _plain_connection(url: str) -> Any:
    """A connection of the driver itself, as a pandas user would open one."""
    if url.startswith("sqlite:///"):
        import sqlite3

        return sqlite3.connect(url.removeprefix("sqlite:///"))
    import psycopg2

    return psycopg2.connect(url)


def store_answers(url: str, total: int) -> list[int]:
    """A migrated database with the shipped questionnaires and `total` answers in bench/scoring.py's
    mix, stored as the store stores them; returns the response ids."""
    questionnaires = load_all()
    data = generate(questionnaires, total, SHARES)
    database = make_database(url)
    with _bound(database), database.connection_context():
        upgrade(database)
        sync_shipped(questionnaires)
        versions = dict(database.execute_sql('SELECT "questionnaire_id", "id" FROM "questionnaire_version"').fetchall())
        responses = data.responses.drop_duplicates("response_id")
        response_rows = [
            (int(r) + 1, versions[q]) for r, q in zip(responses["response_id"], responses["questionnaire"], strict=True)
        ]
        answer_rows = [
            (int(r) + 1, q, encode_json(v))
            for frame in data.answers.values()
            for r, q, v in zip(frame["response_id"], frame["question_id"], frame["value"], strict=True)
        ]
        with database.atomic():
            cursor = database.cursor()
            _insert(cursor, 'INSERT INTO "response" ("id", "questionnaire_id", "status", "scored") VALUES %s',
                    [(r, v, "submitted", False) for r, v in response_rows])  # fmt: skip
            _insert(cursor, 'INSERT INTO "answer" ("response_id", "question_id", "value") VALUES %s', answer_rows)
    return [r for r, _ in response_rows]


def _insert(cursor: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
    if type(cursor).__module__.startswith("psycopg2"):
        from psycopg2.extras import execute_values

        execute_values(cursor, sql, rows, page_size=10_000)
    else:
        marks = "(" + ", ".join("?" for _ in rows[0]) + ")" if rows else "()"
        cursor.executemany(sql.replace("%s", marks), rows)


def measure(engine: str, total: int, rounds: int) -> Figures:
    from store import results

    with scratch_database(engine, "benchread") as url:
        ids = store_answers(url, total)
        database = make_database(url)
        plain = _plain_connection(url)
        read: dict[str, Any] = {}

        def app() -> None:  # as a download reads them: each chunk written and let go
            read["app"] = sum(len(chunk) for chunk in results.answer_chunks(ids))

        def baseline() -> None:
            with warnings.catch_warnings():  # pandas asks for SQLAlchemy for anything but sqlite3
                warnings.simplefilter("ignore", UserWarning)
                read["baseline"] = pd.read_sql_query(BASELINE_SQL, plain)

        def decoded() -> None:
            baseline()
            read["baseline"]["value"] = read["baseline"]["value"].map(json.loads)

        sides = {"app": app, "baseline": baseline, "decoded": decoded}
        try:
            with _bound(database), database.connection_context():
                app(), baseline()  # warm up: imports, compiled statements, the server's caches
                times: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
                ratios, cpu_ratios, decoded_ratios = [], [], []
                for number in range(rounds):
                    order = list(sides)[number % 3 :] + list(sides)[: number % 3]  # each side first in turn
                    for side in order:
                        read.clear()
                        times[side].append(timed(sides[side]))
                    ratios.append(times["app"][-1][0] / times["baseline"][-1][0])
                    cpu_ratios.append(times["app"][-1][1] / times["baseline"][-1][1])
                    decoded_ratios.append(times["app"][-1][0] / times["decoded"][-1][0])
                read.clear()
                app_peak, base_peak = traced_peak(app), traced_peak(baseline)
                check(pd.concat(results.answer_chunks(ids), ignore_index=True), read["baseline"])
                answers = len(read["baseline"])
        finally:
            plain.close()
    return Figures(
        answers=answers,
        app_s=statistics.median(s for s, _ in times["app"]),
        base_s=statistics.median(s for s, _ in times["baseline"]),
        ratio=statistics.median(ratios),
        cpu_ratio=statistics.median(cpu_ratios),
        app_peak=app_peak,
        base_peak=base_peak,
        decoded_s=statistics.median(s for s, _ in times["decoded"]),
        decoded_ratio=statistics.median(decoded_ratios),
    )


def check(app: pd.DataFrame, baseline: pd.DataFrame) -> None:
    """The app read the baseline's rows, in its order, with each value its text decoded."""
    if len(app) != len(baseline):
        raise BenchError(f"the app read {len(app):,} answers, the baseline {len(baseline):,}")
    for column in ("response_id", "question_id"):
        if app[column].tolist() != baseline[column].tolist():
            raise BenchError(f"the app's {column} column is not the baseline's")
    if app["value"].tolist() != [json.loads(text) for text in baseline["value"]]:
        raise BenchError("the app's values are not the stored texts decoded")


def run(args: argparse.Namespace) -> None:
    print(f"stored answers read back, {args.rounds} rounds a figure; Python {sys.version.split()[0]}")
    header = (
        f"{'engine':<10} {'answers':>10} {'app s':>7} {'read_sql_query s':>16} {'ratio':>6} {'cpu ratio':>9}"
        f" {'target':>6} {'result':>6} {'app peak MB':>11} {'base peak MB':>12} {'+ decoding s':>12} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for engine in args.engines:
        for total in args.sizes:
            f = measure(engine, total, args.rounds)
            print(
                f"{engine:<10} {f.answers:>10,} {f.app_s:>7.2f} {f.base_s:>16.2f} {f.ratio:>6.2f} {f.cpu_ratio:>9.2f}"
                f" {1:>6} {'PASS' if f.ratio <= 1 else 'FAIL':>6} {f.app_peak / 2**20:>11.1f}"
                f" {f.base_peak / 2**20:>12.1f} {f.decoded_s:>12.2f} {f.decoded_ratio:>6.2f}",
                flush=True,
            )
    print("(medians over rounds; ratio: app / baseline by the clock, the median of the rounds' ratios;")
    print(" peak MB: traced memory while reading everything, in a separate run; + decoding: read_sql_query")
    print(" with its values then decoded by json.loads, as the app gives them, and the app's ratio to that)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000], help="answers stored")
    parser.add_argument("--engines", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite"])
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each side first in turn (default 3)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return main_guarded(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

"""What one S11 section save costs the worker and the database server, app against baseline, in one run.

bench/submit.py measures what the target is about: saves a second through gunicorn on loopback.
On these shared two-core machines its ratios move by about 0.06 between runs, more than most
single changes to the save are worth. This measures a save's costs apart, with no HTTP and no
concurrency, each side in a process of its own, alternating round by round:

  worker CPU  the process's CPU time (time.process_time) per save through Flask's test client:
              the app (app:create_app()) signed in as an agency user, posting a standard's page
              with its CSRF token and revision (session, CSRF check, edit-conflict check, audit
              trail), against bench/baseline_submit.py's bare route posting the same bodies;
  statements  on PostgreSQL, the execution and planning time pg_stat_statements records for
              every statement the round's saves ran: which statements the server's time goes to;
  server CPU  on PostgreSQL, the CPU time of the cluster's processes over the round
              (harness.ClusterCpu): the statements, and what the server does around them
              (the protocol, EXECUTE's values, the WAL at commit, the rows sent). In production
              it shares the cores with the workers, and the worker's CPU does not include it.

The saves are bench/submit.py's (s11_save: random valid answers to a random standard, "Save and
continue" or "Save and come back later"). After the last round each side's stored answers are
checked against what it posted. It prints the median per save of each figure and the ratios
baseline / app (1: the app costs what the baseline does; the submissions target is 0.8), the
last of them for the worker's CPU and the server's CPU together: what a save costs the machine.

Run from the project root (as root for PostgreSQL: it makes a throwaway cluster, as .ci/run does):

  python bench/save_cost.py [--engines sqlite postgresql] [--saves 500] [--rounds 3] [--warmup 100]

It exits 0 whether or not the figures are good (a benchmark, not a test), 2 when a check fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import submit
from bench.harness import BenchError, ClusterCpu, main_guarded, median, scratch_database, spent
from questionnaires import load_all

SIDES = ("app", "baseline")
SERVER_TIME = (
    "SELECT coalesce(sum(total_exec_time + total_plan_time), 0), coalesce(sum(calls), 0) FROM pg_stat_statements"
    " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND query NOT LIKE '%pg_stat_statements%'"
)


@dataclass
class Round:
    cpu_us: float  # the side's process CPU per save
    server_us: float | None  # PostgreSQL's statement time per save
    statements: float | None  # statements per save
    server_cpu_us: float | None = None  # the PostgreSQL cluster's CPU per save


def _token(page: str) -> str:
    found = submit.CSRF_INPUT.search(page)
    if found is None:
        raise BenchError("a page had no CSRF token")
    return found.group(1)


def _side(side: str, url: str, setup: submit.AuditSetup, seed: int, pipe: Any) -> None:
    """One side in its own process: make its app, then run what the parent asks, one batch at a time."""
    try:
        questionnaire = load_all()[submit.S11]
        rng = random.Random(seed)
        today = dt.date.today()
        saves = [submit.s11_save(rng.choice(questionnaire.sections), rng, today) for _ in range(400)]
        post = _app_poster(url, setup, questionnaire.sections[0].id) if side == "app" else _baseline_poster(url, setup)
        expected: dict[str, dict[str, str]] = {}  # section -> its answers as stored after the last save
        done = 0
        while (order := pipe.recv()) != "stop":
            count = order
            start = time.process_time()
            for _ in range(count):
                save = saves[done % len(saves)]
                post(save)
                expected[save.section_id] = save.stored
                done += 1
            pipe.send(("ran", time.process_time() - start))
        audit_id = setup.app[0][0] if side == "app" else setup.baseline[0]
        (state,), _ = submit.read_audits(url, [audit_id])
        wanted = {k: v for stored in expected.values() for k, v in stored.items()}
        if state.stored != wanted:
            raise BenchError(f"{side}: the stored answers are not the ones last saved")
        pipe.send(("checked", done))
    except BaseException as error:  # reported to the parent, which stops
        pipe.send(("error", f"{type(error).__name__}: {error}"))


def _app_poster(url: str, setup: submit.AuditSetup, first: str) -> Any:
    from app import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": submit.SECRET_KEY})
    client = app.test_client()
    audit_id, email = setup.app[0]
    token = _token(client.get("/sign-in").get_data(as_text=True))
    credentials = {"csrf_token": token, "email": email, "password": submit.S11_PASSWORD}
    if client.post("/sign-in", data=credentials).status_code != 302:
        raise BenchError(f"signing in as {email} failed")
    token = quote(_token(client.get(f"/audit/{audit_id}/{first}").get_data(as_text=True)))
    revisions: dict[str, int] = {}

    def post(save: submit.Save) -> None:
        revision = revisions.get(save.section_id, 0)
        body = f"csrf_token={token}&revision={revision}&{save.body}"
        response = client.post(
            f"/audit/{audit_id}/{save.section_id}", data=body, content_type="application/x-www-form-urlencoded"
        )
        if response.status_code != 302 or not response.location.startswith("/audit/?saved="):
            raise BenchError(f"the app answered a save with {response.status_code}")
        revisions[save.section_id] = revision + 1

    return post


def _baseline_poster(url: str, setup: submit.AuditSetup) -> Any:
    os.environ["DATABASE_URL"] = url
    from bench.baseline_submit import create_app

    client = create_app().test_client()
    audit_id = setup.baseline[0]

    def post(save: submit.Save) -> None:
        response = client.post(
            f"/audit/{audit_id}/{save.section_id}", data=save.body, content_type="application/x-www-form-urlencoded"
        )
        if response.status_code != 302:
            raise BenchError(f"the baseline answered a save with {response.status_code}")

    return post


def _answer(pipe: Any, expect: str) -> Any:
    kind, value = pipe.recv()
    if kind == "error":
        raise BenchError(value)
    if kind != expect:
        raise BenchError(f"expected {expect}, got {kind}")
    return value


def measure(engine: str, args: argparse.Namespace) -> dict[str, list[Round]]:
    with scratch_database(engine, "benchcost", statistics=True) as url:
        setup = submit.prepare_s11(url, 1)
        stats = cluster = None
        if engine == "postgresql":
            import psycopg2

            stats = psycopg2.connect(url)
            stats.autocommit = True
            cluster = ClusterCpu(stats)
        context = multiprocessing.get_context("spawn")  # each side starts clean, as a worker does
        pipes, processes = {}, []
        try:
            for n, side in enumerate(SIDES):
                mine, theirs = context.Pipe()
                process = context.Process(target=_side, args=(side, url, setup, n, theirs), daemon=True)
                process.start()
                pipes[side] = mine
                processes.append(process)
            for side in SIDES:
                pipes[side].send(args.warmup)
                _answer(pipes[side], "ran")
            rounds: dict[str, list[Round]] = {side: [] for side in SIDES}
            for number in range(args.rounds):
                for side in SIDES if number % 2 == 0 else reversed(SIDES):
                    if stats is not None:
                        stats.cursor().execute("SELECT pg_stat_statements_reset()")
                    cluster_before = cluster.seconds() if cluster is not None else None
                    pipes[side].send(args.saves)
                    cpu = _answer(pipes[side], "ran")
                    server_cpu = spent(cluster_before, cluster.seconds() if cluster is not None else None)
                    server_cpu = server_cpu * 1e6 / args.saves if server_cpu is not None else None
                    server = statements = None
                    if stats is not None:
                        cursor = stats.cursor()
                        cursor.execute(SERVER_TIME)
                        total_ms, calls = cursor.fetchone()
                        server, statements = float(total_ms) * 1000 / args.saves, float(calls) / args.saves
                    rounds[side].append(Round(cpu * 1e6 / args.saves, server, statements, server_cpu))
                    line = f"  {engine:<10} round {number + 1}: {side:<8} {rounds[side][-1].cpu_us:7.0f} µs CPU"
                    line += f", statements {server:6.0f} µs ({statements:.1f})" if server else ""
                    print(line + (f", server CPU {server_cpu:6.0f} µs" if server_cpu else ""))
            for side in SIDES:
                pipes[side].send("stop")
                _answer(pipes[side], "checked")
            return rounds
        finally:
            for process in processes:  # done (each has sent its check) or stopped by an error: no wait
                if process.is_alive():
                    process.kill()
                process.join()
            if stats is not None:
                stats.close()


def _ratio(base: float | None, app: float | None) -> str:
    return f"{base / app:.2f}" if base and app else "-"


def run(args: argparse.Namespace) -> None:
    print(
        f"{submit.S11} saves, {args.saves} a round per side, {args.rounds} rounds after {args.warmup} to warm up; "
        f"Python {sys.version.split()[0]}"
    )
    results = {engine: measure(engine, args) for engine in args.engines}
    header = (
        f"{'engine':<10} {'app CPU µs':>10} {'base CPU µs':>11} {'ratio':>6}  {'app stmts µs':>12} "
        f"{'base stmts µs':>13} {'ratio':>6}  {'app srv CPU':>11} {'base srv CPU':>12} {'ratio':>6}  {'machine':>7}"
    )
    print()
    print(header)
    print("-" * len(header))
    for engine, rounds in results.items():
        print(_table_row(engine, rounds))
    print("(µs a save, medians over rounds; ratio: baseline / app, 1 = as cheap as the baseline; stmts: the")
    print(" statements' time in pg_stat_statements; srv CPU: the PostgreSQL cluster's CPU; machine: the worker's")
    print(" CPU and the server's CPU together, the median of the rounds' ratios)")


def _table_row(engine: str, rounds: dict[str, list[Round]]) -> str:
    """One engine's line of the table: medians of each figure, and the rounds' median ratios."""

    def med(figure: str) -> dict[str, float | None]:
        return {side: median([getattr(r, figure) for r in rounds[side]]) for side in SIDES}

    def shown(value: float | None, width: int) -> str:
        return f"{value:>{width}.0f}" if value is not None else f"{'-':>{width}}"

    cpu, statements, server = med("cpu_us"), med("server_us"), med("server_cpu_us")
    machine = statistics.median(
        (b.cpu_us + (b.server_cpu_us or 0)) / (a.cpu_us + (a.server_cpu_us or 0))
        for a, b in zip(rounds["app"], rounds["baseline"], strict=True)
    )
    return (
        f"{engine:<10} {cpu['app']:>10.0f} {cpu['baseline']:>11.0f} {_ratio(cpu['baseline'], cpu['app']):>6}  "
        f"{shown(statements['app'], 12)} {shown(statements['baseline'], 13)} "
        f"{_ratio(statements['baseline'], statements['app']):>6}  "
        f"{shown(server['app'], 11)} {shown(server['baseline'], 12)} {_ratio(server['baseline'], server['app']):>6}  "
        f"{machine:>7.2f}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"])
    parser.add_argument("--saves", type=int, default=500, help="saves per side per round (default 500)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, alternating which side goes first (default 3)")
    parser.add_argument("--warmup", type=int, default=100, help="saves per side before the rounds (default 100)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return main_guarded(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

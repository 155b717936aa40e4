"""Time scoring and theme aggregation against one pandas group-by over the same answers.

Generates N synthetic stored answers over the five shipped questionnaires (S11 audits with
evidence and actions, the practitioner S11 survey, workshop feedback, the child survey in its
three age bands and the family survey), in response order as a database query returns them,
then, alternating round by round so that machine noise hits both:

  pipeline  score every response (surveys: `score_survey`; audits: `score_audits` with R1-R7
            and `audit_theme_scores`), run R8 triangulation, and build the theme table by
            agency with small-number suppression (`theme_table(..., policy=...)`);
  baseline  `answers.groupby("question_id").size()` over the same rows in one frame.

It prints, for each N, the median time of each, the median per-round ratio against the target
(2), both by the clock and by the CPU time the process itself used (other work on a shared
machine delays both, but the CPU time far less), time per answer (for linear growth), and the
pipeline's peak traced memory (tracemalloc, in a separate untimed run); then, for the largest N,
the median time of each stage. Then it streams the 1e6-answer long export as CSV, JSON and XLSX
(--export-answers and --xlsx-answers answers) in chunks and prints the time and peak traced
memory of each.

The mix is a partnership's: each agency audits itself once a cycle (a few dozen audits of about
165 answers), beside tens of thousands of survey answers, so one answer in ten is an audit's;
a larger N is more partnerships (more agencies), not more audits per agency.

Run from the project root:

  python bench/scoring.py [--sizes 10000 100000 1000000] [--rounds 5] [--export-answers 1000000]
                          [--xlsx-answers 1000000] [--chunk 50000] [--s11-share 0.10]

`--s11-share 0` runs the surveys alone (no audits, so no triangulation).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import timed, traced_peak
from questionnaires import Questionnaire, load_all
from scoring.downloads import answers_long
from scoring.export import stream
from scoring.frames import question_frame
from scoring.standards import score_audits, triangulate
from scoring.suppression import SuppressionPolicy
from scoring.surveys import score_survey
from scoring.themes import audit_theme_scores, source_of, theme_table, with_source

# Shares of all answers. A partnership's cycle has a few dozen S11 audits of about 165 answers
# (36 audits: 6,000 answers) against tens of thousands of survey answers (here 54,000): audits
# are few and long, surveys many and short, and one answer in ten is an audit's.
SHARES = {
    "s11-self-audit": 0.10,
    "practitioner-s11-survey": 0.24,
    "practitioner-workshop": 0.09,
    "child-experience": 0.33,
    "family-experience": 0.24,
}
MIN_AGENCIES = 60  # and more when there are more audits: each agency audits itself once a cycle
SECTORS = ["local-authority", "health", "police", "education", "voluntary-and-community"]
CYCLES = ["2024-25", "2025-26"]
AS_OF = date(2025, 6, 30)


@dataclass
class Data:
    answers: dict[str, pd.DataFrame]  # per questionnaire, in response order
    responses: pd.DataFrame
    total: int


def _value_column(q: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    """n stored values for question q, as the store decodes them."""
    out = np.empty(n, dtype=object)
    if q.type in ("single_choice", "rating", "yes_no"):
        values = np.array([o.value for o in q.offered_options], dtype=object)
        out[:] = values[rng.integers(0, len(values), n)]
    elif q.type == "multiple_choice":
        values = [o.value for o in q.options]
        picks = rng.integers(1, 3, n)
        out[:] = [values[:p] for p in picks]
    elif q.type in ("short_text", "long_text"):
        texts = np.array(["We meet monthly.", "=1+1 should not run", "Staff said it helped."], dtype=object)
        out[:] = texts[rng.integers(0, len(texts), n)]
    elif q.type == "number":
        out[:] = rng.integers(0, 30, n).tolist()
    elif q.type == "date":
        out[:] = "2025-03-14"
    elif q.type == "evidence":
        years = rng.integers(2018, 2026, n)
        out[:] = [
            [{"title": "Safeguarding policy", "type": "policy", "date": f"{y}-04-01", "link": None}] if y > 2018 else []
            for y in years
        ]
    elif q.type == "action":
        out[:] = [{"what": "Review the policy", "owner": "Head of quality", "due": "2025-12-31"}] * n
    return out


def _asked(questionnaire: Questionnaire, band: str | None) -> tuple[list[Any], list[Any]]:
    """The questions asked in a band, and the ratings whose not applicable reason is stored (a quarter of them)."""
    asked = [q for s in questionnaire.sections_for(band) for q in s.questions_for(band)]
    reasons = [q for q in asked if q.type == "rating" and q.not_applicable_option is not None]
    return asked, reasons[: len(reasons) // 4]


def _responses(questionnaire: Questionnaire, band: str | None, total: int, share: float) -> int:
    """How many responses of one band make up `share` of `total` answers."""
    if share <= 0:
        return 0
    bands = max(len(questionnaire.age_bands), 1)
    asked, reasons = _asked(questionnaire, band)
    return max(max(int(total * share / bands), 1) // (len(asked) + len(reasons)), 1)


def generate(
    questionnaires: dict[str, Questionnaire], total: int, shares: dict[str, float] = SHARES, seed: int = 7
) -> Data:
    rng = np.random.default_rng(seed)
    answers: dict[str, pd.DataFrame] = {}
    meta: list[pd.DataFrame] = []
    first_id = 0
    audits = _responses(questionnaires["s11-self-audit"], None, total, shares.get("s11-self-audit", 0.0))
    agencies = max(MIN_AGENCIES, -(-audits // len(CYCLES)))
    for qid, share in shares.items():
        questionnaire = questionnaires[qid]
        bands = [b.id for b in questionnaire.age_bands] or [None]
        frames = []
        for band in bands:
            asked, reasons = _asked(questionnaire, band)
            n = _responses(questionnaire, band, total, share)
            ids = np.arange(first_id, first_id + n)
            first_id += n
            parts = []
            for position, q in enumerate(asked):
                parts.append((ids, position, q.id, _value_column(q, n, rng)))
            for position, q in enumerate(reasons):
                reason = np.full(n, "We do not run this service.", dtype=object)
                parts.append((ids, len(asked) + position, q.id + "__reason", reason))
            frame = pd.DataFrame(
                {
                    "response_id": np.concatenate([p[0] for p in parts]),
                    "_pos": np.concatenate([np.full(len(p[0]), p[1]) for p in parts]),
                    "question_id": np.concatenate([np.full(len(p[0]), p[2], dtype=object) for p in parts]),
                    "value": np.concatenate([p[3] for p in parts]),
                }
            )
            frames.append(frame)
            agency = rng.integers(0, agencies, n) if qid != "s11-self-audit" else np.arange(n) % agencies
            meta.append(
                pd.DataFrame(
                    {
                        "response_id": ids,
                        "questionnaire": qid,
                        "source": "self-rating" if qid == "s11-self-audit" else source_of(questionnaire),
                        "cycle": np.array(CYCLES, dtype=object)[(np.arange(n) * 2) // max(n, 1)],
                        "agency_id": agency,
                        "sector": np.array(SECTORS, dtype=object)[agency % len(SECTORS)],
                        "age_band": band,
                    }
                )
            )
        frame = pd.concat(frames, ignore_index=True).sort_values(["response_id", "_pos"], kind="stable")
        frame = frame.drop(columns="_pos").reset_index(drop=True)
        frame["question_id"] = frame["question_id"].astype("str")
        answers[qid] = frame
    responses = pd.concat(meta, ignore_index=True)
    return Data(answers=answers, responses=responses, total=sum(len(a) for a in answers.values()))


def pipeline(
    questionnaires: dict[str, Questionnaire], data: Data, times: dict[str, float] | None = None
) -> pd.DataFrame:
    """Score everything and build the theme table by agency, suppressed: what a re-score does.

    With `times`, adds each stage's seconds to it (by the clock, and as CPU time under
    `stage + " cpu"`), for the breakdown.
    """
    clock, cpu = time.perf_counter(), time.process_time()

    def lap(stage: str) -> None:
        nonlocal clock, cpu
        now, now_cpu = time.perf_counter(), time.process_time()
        if times is not None:
            times[stage] = times.get(stage, 0.0) + now - clock
            times[stage + " cpu"] = times.get(stage + " cpu", 0.0) + now_cpu - cpu
        clock, cpu = now, now_cpu

    policy = SuppressionPolicy()
    units = []
    practitioner_scores = None
    audit = None
    for qid, answers in data.answers.items():
        questionnaire = questionnaires[qid]
        if questionnaire.audience == "agency":
            audit = score_audits(questionnaire, answers, AS_OF)
            lap("score S11 audits (R1-R6)")
            units.append(audit_theme_scores(questionnaire, audit.standards))
            lap("S11 standards to theme sums")
        else:
            scores = score_survey(questionnaire, answers)
            units.append(with_source(scores.themes, source_of(questionnaire)))
            lap("score surveys and sum per theme")
            if qid == "practitioner-s11-survey":
                practitioner_scores = scores.answers
    if audit is not None and practitioner_scores is not None:
        triangulate(
            questionnaires["s11-self-audit"],
            audit.standards,
            practitioner_scores,
            question_frame(questionnaires["practitioner-s11-survey"]),
            data.responses,
            on=("agency_id", "cycle"),
        )
        lap("triangulation (R8)")
    table = theme_table(units, data.responses, by="agency", policy=policy)
    lap("theme table by agency, suppressed")
    return table


def breakdown(questionnaires: dict[str, Questionnaire], data: Data, rounds: int) -> dict[str, float]:
    """Median seconds of each stage of the pipeline over `rounds` runs."""
    runs: list[dict[str, float]] = []
    for _ in range(rounds):
        times: dict[str, float] = {}
        gc.collect()
        pipeline(questionnaires, data, times)
        runs.append(times)
    return {stage: statistics.median(run[stage] for run in runs) for stage in runs[0]}


def baseline(frame: pd.DataFrame) -> pd.Series:
    return frame.groupby("question_id").size()


def _chunks(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]


def _drain(pieces: Iterator[Any]) -> int:
    return sum(len(p) for p in pieces)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--export-answers", type=int, default=1_000_000)
    parser.add_argument("--xlsx-answers", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument(
        "--s11-share",
        type=float,
        default=SHARES["s11-self-audit"],
        help="share of S11 audit answers (0 for surveys only)",
    )
    args = parser.parse_args(argv)
    shares = {k: v for k, v in SHARES.items() if k != "s11-self-audit"}
    scale = (1 - args.s11_share) / sum(shares.values())
    shares = {k: v * scale for k, v in shares.items()}
    if args.s11_share > 0:
        shares["s11-self-audit"] = args.s11_share

    questionnaires = load_all()
    print(f"python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}")
    print(f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores, {platform.platform()}")
    print(f"date: {date.today().isoformat()}; target: pipeline / baseline <= 2, linear in answers")
    print("shares of answers: " + ", ".join(f"{k} {v:.0%}" for k, v in shares.items()) + "\n")
    header = (
        f"{'answers':>10} {'pipeline ms':>12} {'groupby ms':>11} {'ratio':>6} {'cpu ratio':>10} {'us/answer':>10}"
        f" {'peak MB':>8}"
    )
    print(header)
    for size in args.sizes:
        data = generate(questionnaires, size, shares)
        together = pd.concat(list(data.answers.values()), ignore_index=True)
        pipeline(questionnaires, data)  # warm up: imports, caches
        ours, theirs, ratios, cpu_ratios, cpu_theirs = [], [], [], [], []
        for _ in range(args.rounds):
            a, a_cpu = timed(lambda data=data: pipeline(questionnaires, data))
            b, b_cpu = timed(lambda together=together: baseline(together))
            ours.append(a)
            theirs.append(b)
            cpu_theirs.append(b_cpu)
            ratios.append(a / b)
            cpu_ratios.append(a_cpu / b_cpu)
        peak = traced_peak(lambda data=data: pipeline(questionnaires, data))
        mine, base = statistics.median(ours), statistics.median(theirs)
        print(
            f"{data.total:>10,} {mine * 1e3:>12.1f} {base * 1e3:>11.1f} {statistics.median(ratios):>6.2f}"
            f" {statistics.median(cpu_ratios):>10.2f} {mine / data.total * 1e6:>10.3f} {peak / 2**20:>8.1f}"
        )
        last = (data, base, statistics.median(cpu_theirs))
        del together

    data, base, base_cpu = last
    print(
        f"\nwhere the time goes at {data.total:,} answers (median of {args.rounds} runs; as multiples of the group-by,"
        " by the clock and in CPU time)"
    )
    stages = breakdown(questionnaires, data, args.rounds)
    for stage, seconds in stages.items():
        if not stage.endswith(" cpu"):
            cpu = stages[stage + " cpu"]
            print(
                f"  {stage:<36} {seconds * 1e3:8.1f} ms {seconds / base:6.2f}   {cpu * 1e3:8.1f} ms cpu {cpu / base_cpu:6.2f}"
            )
    sizes = {qid: len(frame) for qid, frame in data.answers.items()}
    print("  answers per questionnaire: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))
    del data

    print("\nstreaming export of the family survey's raw answers, long form, in chunks of", f"{args.chunk:,}")
    for fmt, count in (("csv", args.export_answers), ("json", args.export_answers), ("xlsx", args.xlsx_answers)):
        if count:
            export_figures(questionnaires, fmt, count, args.chunk)
    return 0


def export_figures(questionnaires: dict[str, Questionnaire], fmt: str, count: int, chunk: int) -> None:
    """Time one streamed export, then stream it again under tracemalloc for its peak memory."""
    data = generate(questionnaires, count, shares={"family-experience": 1.0})
    family = questionnaires["family-experience"]
    frame = data.answers["family-experience"]
    policy = SuppressionPolicy()

    def run() -> int:
        export = answers_long(family, _chunks(frame, chunk), data.responses, policy)
        return _drain(stream(export, fmt))

    start = time.perf_counter()
    written = run()
    took = time.perf_counter() - start
    peak = traced_peak(run)
    table = frame.memory_usage(deep=True).sum()
    print(
        f"  {fmt:>4}: {len(frame):>10,} answers ({table / 2**20:,.0f} MB as a frame), {written / 2**20:8.1f} MB written"
        f" in {took:6.1f} s, peak {peak / 2**20:6.1f} MB traced while streaming"
    )


if __name__ == "__main__":
    raise SystemExit(main())

"""Requests/s of the real questionnaire pages against a bare Flask baseline, in the same run.

Picks the largest S11 standard page (the s11-self-audit section with the most questions) and
the largest child survey page (a child-experience section for band age-8-11 or age-12-17),
then serves, each under gunicorn on 127.0.0.1 with the same number of sync workers:

  app       the real app (app:create_app(), demo mode so that /preview/... is open, a fixed
            secret key, a scratch SQLite database): WTForms form, GOV.UK Frontend macros,
            layout, CSRF token and session cookie, database connection, security headers;
  baseline  bench/baseline_app.py: a bare Flask route per page writing the same inputs, labels
            and legends as plain Jinja markup (no GOV.UK macros, no WTForms, no database).

Before measuring, it checks that each page answers 200, that the real page carries GOV.UK
markup and that both write the same input names. It loads them with wrk when it is on PATH
(`apt-get install -y wrk`), else with a Python client on threads, alternating app and baseline
measurements round by round so that machine noise hits both. It prints the median requests/s
of each, the median of the per-round ratios app/baseline against the target (0.5), and the
workers' CPU time per request (less sensitive to other load on the machine than requests/s).

Run from the project root:

  python bench/pages.py [--workers 2] [--duration 10] [--connections 8] [--rounds 3]
                        [--client auto|wrk|python] [--app 'app:create_app()']

It exits 0 whether or not the target is met (it is a benchmark, not a test), 2 when a server
does not start or a check fails; every server it started is stopped on exit, error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.baseline_app import pick_pages
from bench.harness import HOST, BenchError, Server, get, main_guarded, median

TARGET = 0.5
REAL_APP = "app:create_app()"
BASELINE_APP = "bench.baseline_app:create_app()"
SECRET_KEY = "bench-pages-not-a-secret"
GOVUK_MARKER = "govuk-radios__input"


# ---------------------------------------------------------------------------------------------
# Checks


class _Inputs(HTMLParser):
    """Names of the form controls in a page, and how many of each tag it has."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.names: collections.Counter[str] = collections.Counter()
        self.tags: collections.Counter[str] = collections.Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        name = dict(attrs).get("name")
        if tag in ("input", "textarea", "select", "button") and name:
            self.names[name] += 1


def inputs_of(html: str) -> _Inputs:
    parser = _Inputs()
    parser.feed(html)
    parser.close()
    return parser


def check_page(label: str, path: str, app: Server, baseline: Server) -> str:
    """Refuse to measure unless both answer 200 with the same inputs; a note on what they write."""
    app_status, app_html = get(app.port, path)
    base_status, base_html = get(baseline.port, path)
    if app_status != 200 or base_status != 200:
        raise BenchError(f"{label} {path}: app answered {app_status}, baseline {base_status}")
    if GOVUK_MARKER not in app_html:
        raise BenchError(f"{label} {path}: the app's page has no GOV.UK markup ({GOVUK_MARKER})")
    app_inputs, base_inputs = inputs_of(app_html), inputs_of(base_html)
    if app_inputs.names != base_inputs.names:
        only_app = sorted((app_inputs.names - base_inputs.names).elements())
        only_base = sorted((base_inputs.names - app_inputs.names).elements())
        raise BenchError(
            f"{label} {path}: the pages write different inputs; only in the app: {only_app[:10]}, "
            f"only in the baseline: {only_base[:10]}"
        )
    counts = {tag: (app_inputs.tags[tag], base_inputs.tags[tag]) for tag in ("input", "textarea", "label", "legend")}
    for tag, (in_app, in_base) in counts.items():
        if in_app != in_base:
            print(f"warning: {label}: {in_app} <{tag}> in the app, {in_base} in the baseline", file=sys.stderr)
    summary = ", ".join(f"{n} <{tag}>" for tag, (n, _) in counts.items())
    return f"{summary}; {len(app_html) // 1024} KB app, {len(base_html) // 1024} KB baseline"


# ---------------------------------------------------------------------------------------------
# Load: each returns (requests completed, requests/s)

Load = Callable[[int, str, float, int, str | None], tuple[int, float]]


def session_cookie(port: int, path: str) -> str | None:
    """The cookie a browser would send back after its first visit (`name=value`), if any.

    Respondents keep their session cookie from page to page, so the load sends it too: every
    request then reads a session that exists, as in use, instead of making a new one.
    """
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        header = response.getheader("Set-Cookie")
    finally:
        connection.close()
    return header.split(";", 1)[0] if header else None


def wrk_load(port: int, path: str, duration: float, connections: int, cookie: str | None) -> tuple[int, float]:
    threads = max(1, min(connections, os.cpu_count() or 1))
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s", f"http://{HOST}:{port}{path}"]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 30, check=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        raise BenchError(f"wrk failed on {path}: {error}") from error
    if re.search(r"Non-2xx or 3xx responses: \d+", result.stdout) or "Socket errors" in result.stdout:
        raise BenchError(f"wrk saw failed requests on {path}:\n{result.stdout}")
    count = re.search(r"(\d+) requests in", result.stdout)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    if not count or not rate:
        raise BenchError(f"could not read wrk's output:\n{result.stdout}\n{result.stderr}")
    return int(count.group(1)), float(rate.group(1))


def python_load(port: int, path: str, duration: float, connections: int, cookie: str | None) -> tuple[int, float]:
    """`connections` threads, each sending requests one after another on its own connection.

    http.client reconnects by itself when the server closes a connection (gunicorn's sync
    workers close after every response), so this is keep-alive wherever the server allows it.
    """
    done = [0] * connections
    failed: list[str] = []
    deadline = time.monotonic() + duration

    def client(slot: int) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=10)
        try:
            while time.monotonic() < deadline:
                connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failed.append(f"HTTP {response.status}")
                    return
                done[slot] += 1
        except (OSError, http.client.HTTPException) as error:
            failed.append(repr(error))
        finally:
            connection.close()

    start = time.monotonic()
    threads = [threading.Thread(target=client, args=(slot,), daemon=True) for slot in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + 15)
    elapsed = time.monotonic() - start
    if failed:
        raise BenchError(f"failed requests on {path}: {failed[:3]}")
    return sum(done), sum(done) / elapsed


@dataclass
class Measurement:
    rate: float  # requests/s
    cpu_ms: float | None  # worker CPU time per request


def measure(load: Load, server: Server, path: str, duration: float, connections: int) -> Measurement:
    cookie = session_cookie(server.port, path)
    before = server.worker_cpu()
    requests, rate = load(server.port, path, duration, connections, cookie)
    after = server.worker_cpu()
    cpu_ms = (after - before) * 1000 / requests if before is not None and after is not None and requests else None
    return Measurement(rate, cpu_ms)


# ---------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per server (default 2)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (default 10)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each, alternating (default 3)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring (default 2)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto", help="load generator")
    parser.add_argument("--app", default=REAL_APP, help=f"gunicorn app to measure as the app (default {REAL_APP})")
    args = parser.parse_args(argv)
    if args.client == "auto":
        args.client = "wrk" if shutil.which("wrk") else "python"
    elif args.client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not on PATH (apt-get install -y wrk)")
    return args


def run(args: argparse.Namespace) -> None:
    load: Load = wrk_load if args.client == "wrk" else python_load
    pages = pick_pages()
    servers: list[Server] = []
    scratch = tempfile.TemporaryDirectory(prefix="bench-pages-")
    try:
        env = {
            "FLASK_DEMO_MODE": "true",
            "FLASK_SECRET_KEY": SECRET_KEY,
            # the app connects to its database on every request: a scratch file, not instance/'s
            "FLASK_DATABASE_URL": f"sqlite:///{scratch.name}/bench.sqlite3",
        }
        app = Server("app", args.app, args.workers, env)
        servers.append(app)
        baseline = Server("baseline", BASELINE_APP, args.workers)
        servers.append(baseline)
        for server in servers:
            server.wait_ready(pages[0]["path"])

        print(
            f"gunicorn: {args.workers} sync workers each; load: {args.client}, {args.connections} connections, "
            f"{args.rounds} x {args.duration:g}s per figure; {os.cpu_count()} cores, Python {sys.version.split()[0]}"
        )
        for page in pages:
            note = check_page(page["label"], page["path"], app, baseline)
            print(f"  {page['label']}: {page['path']} ({page['questions']} questions): {note}")
            for server in servers:
                load(
                    server.port, page["path"], args.warmup, args.connections, session_cookie(server.port, page["path"])
                )

        results: dict[str, dict[str, list[Measurement]]] = {p["label"]: {"app": [], "baseline": []} for p in pages}
        for round_ in range(args.rounds):
            for page in pages:
                order = (app, baseline) if round_ % 2 == 0 else (baseline, app)
                for server in order:
                    result = measure(load, server, page["path"], args.duration, args.connections)
                    results[page["label"]][server.name].append(result)
                    cpu = f"{result.cpu_ms:6.2f} CPU ms/request" if result.cpu_ms is not None else ""
                    print(f"  round {round_ + 1} {page['label']:<13} {server.name:<8} {result.rate:8.1f} req/s  {cpu}")
        print_tables(pages, results)
    finally:
        for server in servers:
            server.stop()
        scratch.cleanup()


def print_tables(pages: list[dict[str, Any]], results: dict[str, dict[str, list[Measurement]]]) -> None:
    """Medians of the rates, and the median of the per-round ratios (each pair measured back to back)."""
    header = f"{'page':<14} {'app req/s':>10} {'baseline req/s':>15} {'ratio':>6} {'target':>7}  result"
    print()
    print(header)
    print("-" * len(header))
    for page in pages:
        app, base = results[page["label"]]["app"], results[page["label"]]["baseline"]
        ratio = statistics.median(a.rate / b.rate for a, b in zip(app, base, strict=True))
        verdict = "PASS" if ratio >= TARGET else "FAIL"
        app_rate = statistics.median(m.rate for m in app)
        base_rate = statistics.median(m.rate for m in base)
        print(f"{page['label']:<14} {app_rate:>10.1f} {base_rate:>15.1f} {ratio:>6.2f} {TARGET:>7}  {verdict}")
    print("(ratio: median over rounds of app/baseline, each pair measured back to back)")

    print()
    header = f"{'page':<14} {'app CPU ms/req':>15} {'baseline CPU ms/req':>20} {'baseline/app':>13}"
    print(header)
    print("-" * len(header))
    for page in pages:
        app_cpu = median([m.cpu_ms for m in results[page["label"]]["app"]])
        base_cpu = median([m.cpu_ms for m in results[page["label"]]["baseline"]])
        if app_cpu is None or base_cpu is None:
            print(f"{page['label']:<14} {'(no /proc: not measured)':>50}")
            continue
        print(f"{page['label']:<14} {app_cpu:>15.2f} {base_cpu:>20.2f} {base_cpu / app_cpu:>13.2f}")
    print("(gunicorn workers' user + system CPU time per request, medians)")


def main(argv: list[str] | None = None) -> int:
    return main_guarded(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

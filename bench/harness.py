"""What every HTTP benchmark in bench/ shares: gunicorn servers on loopback, plain GETs, a
throwaway PostgreSQL cluster, medians, and a main() that always stops what it started.

A benchmark here serves the real app and a bare baseline side by side, each under gunicorn on
127.0.0.1 with the same number of sync workers, and judges the ratio of the two measured in the
same run (the machines are shared: absolute figures move a lot, ratios far less).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import http.client
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PG_VERSION = "15"


class BenchError(Exception):
    """A server that would not start, or a check that fails: nothing worth measuring."""


# ---------------------------------------------------------------------------------------------
# Servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """One gunicorn master (and its workers) on a free loopback port, stopped by stop()."""

    def __init__(self, name: str, app: str, workers: int, env: dict[str, str] | None = None):
        self.name = name
        self.port = free_port()
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by stop())
        self.database: ClusterCpu | None = None  # the PostgreSQL cluster it uses, to count its CPU too
        command = [
            sys.executable, "-m", "gunicorn",
            "--bind", f"{HOST}:{self.port}",
            "--workers", str(workers),
            "--worker-class", "sync",
            "--no-control-socket",
            "--chdir", str(ROOT),
            "--log-level", "warning",
            app,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            env={**os.environ, **(env or {})},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the benchmark only; stop() ends the server
        )

    def wait_ready(self, path: str, timeout: float = 30.0, expect: int = 200) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"{self.name} server exited with {self.process.returncode}:\n{self.output()}")
            try:
                status, _ = get(self.port, path)
                if status == expect:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise BenchError(
            f"{self.name} server did not answer {expect} on {path} within {timeout:.0f}s:\n{self.output()}"
        )

    def worker_cpu(self) -> float | None:
        """CPU seconds (user + system) its workers have used so far; None where /proc cannot say."""
        children = _children(self.process.pid)
        return cpu_seconds(children) if children else None

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM to the master: it stops its workers
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/<pid>/stat after the command's name (the third field first)."""
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def _children(pid: int | str) -> list[str] | None:
    """The processes `pid` started that still run; None where /proc cannot say."""
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None


def cpu_seconds(pids: Iterable[int | str]) -> float | None:
    """CPU seconds (user + system) these processes have used so far; None where /proc cannot say."""
    try:
        return sum(int(fields[11]) + int(fields[12]) for fields in map(_stat, pids)) / CLOCK_TICKS  # utime, stime
    except (OSError, IndexError, ValueError):
        return None


def spent(before: float | None, after: float | None) -> float | None:
    """What a CPU reading grew by between two readings; None if either could not be taken."""
    return after - before if before is not None and after is not None else None


class ClusterCpu:
    """The CPU time of a PostgreSQL cluster on this machine: its postmaster and every process it
    started (each connection's backend, the WAL writer, the checkpointer...), found from the
    backend of one connection to it.

    pg_stat_statements records what the server took to plan and run each statement. A request
    costs the server more than that: reading the protocol, parsing an EXECUTE's values, writing
    and flushing the WAL at commit, sending the rows back. In production that CPU shares the
    machine's cores with the workers, so the benchmarks count all of it. (A backend that exits
    between two readings takes its CPU time with it: measure over connections that stay open.)
    """

    def __init__(self, connection: Any):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (backend,) = cursor.fetchone()
        try:
            self.postmaster: int | None = int(_stat(backend)[1])  # the parent's pid (field 4)
        except (OSError, IndexError, ValueError):
            self.postmaster = None  # a server on another machine, or /proc closed to us

    def seconds(self) -> float | None:
        """CPU seconds its processes have used so far; None where /proc cannot say."""
        if self.postmaster is None:
            return None
        children = _children(self.postmaster)
        return None if children is None else cpu_seconds([self.postmaster, *children])


def get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


# ---------------------------------------------------------------------------------------------
# PostgreSQL


@contextlib.contextmanager
def throwaway_postgres(prefix: str, statistics: bool = False) -> Iterator[str]:
    """A new PostgreSQL cluster on a free loopback port with its default (durable) settings, and
    a database owned by a role with a random password; yields its URL, drops the cluster after.

    As .ci/run does it (run as root): pg_createcluster, a password role since TCP logins use
    scram. Nothing is tuned: fsync, synchronous_commit and full_page_writes stay on.
    `statistics`: pg_stat_statements loaded and made in the database (the server's time for
    each statement), which the role may read and reset.
    """
    if not shutil.which("pg_createcluster"):
        raise BenchError("PostgreSQL is not installed (apt-get install -y postgresql)")
    name = f"{prefix}{os.getpid()}"
    port = free_port()
    password = secrets.token_hex(16)
    directory = tempfile.mkdtemp(prefix=f"{prefix}-pg-")
    created = False
    try:
        shutil.chown(directory, "postgres")
        subprocess.run(
            ["pg_createcluster", PG_VERSION, name, "-d", f"{directory}/data", "-p", str(port), "--start",
             *(["-o", "shared_preload_libraries=pg_stat_statements"] if statistics else []),
             "--", "--auth-local=peer", "--auth-host=scram-sha-256"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        created = True
        psql = ["runuser", "-u", "postgres", "--", "psql", "-p", str(port), "-v", "ON_ERROR_STOP=1", "-q"]
        subprocess.run(
            [*psql, "-c", f"CREATE ROLE bench LOGIN PASSWORD '{password}'", "-c", "CREATE DATABASE bench OWNER bench"],
            check=True, capture_output=True, text=True, cwd="/",
        )  # fmt: skip
        if statistics:
            subprocess.run(
                [*psql, "-d", "bench", "-c", "CREATE EXTENSION pg_stat_statements",
                 "-c", "GRANT pg_read_all_stats TO bench",
                 "-c", "GRANT EXECUTE ON FUNCTION pg_stat_statements_reset(oid, oid, bigint) TO bench"],
                check=True, capture_output=True, text=True, cwd="/",
            )  # fmt: skip
        yield f"postgresql://bench:{password}@{HOST}:{port}/bench"
    except subprocess.CalledProcessError as error:
        raise BenchError(f"could not start PostgreSQL: {error.cmd[0]}: {error.stderr.strip()}") from error
    finally:
        if created:
            subprocess.run(["pg_dropcluster", "--stop", PG_VERSION, name], capture_output=True, check=False)
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def scratch_database(engine: str, prefix: str, statistics: bool = False) -> Iterator[str]:
    """The URL of a new database of `engine`, gone afterwards: a SQLite file in a temporary
    folder, or a throwaway PostgreSQL cluster (`throwaway_postgres`, with `statistics`)."""
    if engine == "postgresql":
        with throwaway_postgres(prefix, statistics=statistics) as url:
            yield url
    else:
        with tempfile.TemporaryDirectory(prefix=f"{prefix}-") as scratch:
            yield f"sqlite:///{scratch}/bench.sqlite3"


# ---------------------------------------------------------------------------------------------
# Figures and running


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """Seconds `fn` took by the clock and of this process's CPU time, after a collection (so that
    no garbage left by what ran before is collected inside)."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


def traced_peak(fn: Callable[[], Any]) -> int:
    """The most memory Python allocations held while `fn` ran (tracemalloc: slows it, so untimed)."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def median(values: list[float | None]) -> float | None:
    """The median of the known values; None when none is known."""
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # run the finally blocks that stop the servers


def main_guarded(run: Callable[[argparse.Namespace], None], args: argparse.Namespace) -> int:
    """Run a benchmark: 0 when it ran, 2 on BenchError, 130 when interrupted; servers always stop."""
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    try:
        run(args)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: servers stopped", file=sys.stderr)
        return 130
    return 0

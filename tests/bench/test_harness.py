"""bench/harness.py's CPU readings: what the benchmarks' server-side figures rest on."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bench.harness import ClusterCpu, cpu_seconds, spent


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    """A process this one started, standing in for a connection's backend."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


class _Connection:
    """What ClusterCpu asks of a connection: a cursor that answers pg_backend_pid()."""

    def __init__(self, backend: int):
        self.backend = backend

    def cursor(self) -> Any:
        connection = self

        class Cursor:
            def __enter__(self) -> Cursor:
                return self

            def __exit__(self, *exc: object) -> None:
                pass

            def execute(self, sql: str) -> None:
                assert sql == "SELECT pg_backend_pid()"

            def fetchone(self) -> tuple[int]:
                return (connection.backend,)

        return Cursor()


def test_cpu_seconds_counts_what_a_process_has_used() -> None:
    before = cpu_seconds([os.getpid()])
    _burn(0.3)
    after = cpu_seconds([os.getpid()])
    assert before is not None and after is not None
    assert after - before >= 0.2  # ticks of 10 ms: most of the 0.3 s is seen


def test_cpu_seconds_is_none_for_a_process_that_is_not_there() -> None:
    assert cpu_seconds([2**22 + 12345]) is None  # above any pid Linux gives


def test_a_cluster_is_its_backends_parent_and_everything_that_parent_started(
    child: subprocess.Popen[bytes],
) -> None:
    """Here the child stands in for a backend, so this process is the cluster's postmaster: its
    CPU, and its children's, is what the cluster has used."""
    cluster = ClusterCpu(_Connection(child.pid))
    assert cluster.postmaster == os.getpid()
    before = cluster.seconds()
    _burn(0.3)
    after = cluster.seconds()
    assert before is not None and after is not None
    assert after - before >= 0.2
    assert after >= cpu_seconds([os.getpid()])  # the postmaster itself is counted


def test_a_server_out_of_sight_gives_no_figure() -> None:
    """A backend pid /proc does not know (a server on another machine): no figure, not a wrong one."""
    cluster = ClusterCpu(_Connection(2**22 + 12345))
    assert cluster.postmaster is None
    assert cluster.seconds() is None


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"), reason="needs the PostgreSQL test server"
)
def test_a_real_clusters_cpu_grows_with_the_work_it_is_given() -> None:
    import psycopg2

    connection = psycopg2.connect(os.environ["TEST_DATABASE_URL"])
    try:
        cluster = ClusterCpu(connection)
        before = cluster.seconds()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM generate_series(1, 3000000)")
        after = cluster.seconds()
        assert before is not None and after is not None
        assert after - before >= 0.05
    finally:
        connection.close()


def test_what_a_reading_grew_by_is_unknown_when_either_reading_is() -> None:
    assert spent(1.5, 2.0) == 0.5
    assert spent(None, 2.0) is None and spent(1.5, None) is None

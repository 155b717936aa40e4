"""Fixtures for the load and fault tests: a fresh database, gunicorn servers, a cuttable proxy.

Each is undone when its test ends: servers stopped, proxies closed, PostgreSQL databases dropped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.system.disk import MountRefused, Tmpfs
from tests.system.servers import HOST, POSTGRES_URL, CuttableProxy, Server, postgres_database


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A new, empty database of the engine this pass of the suite runs on."""
    if POSTGRES_URL is None:
        yield f"sqlite:///{tmp_path / 'system.sqlite3'}"
        return
    yield from postgres_database(POSTGRES_URL)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """`start_server(url, **options)`: gunicorn on the database at `url`, stopped after the test."""
    started: list[Server] = []

    def start(url: str, **options: object) -> Server:
        started.append(Server(url, tmp_path, **options))  # type: ignore[arg-type]
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def proxy() -> Iterator[Callable[[str], CuttableProxy]]:
    """`proxy(url)`: a cuttable TCP proxy to the database server of `url`."""
    made: list[CuttableProxy] = []

    def make(url: str) -> CuttableProxy:
        parts = urlsplit(url)
        made.append(CuttableProxy((parts.hostname or HOST, parts.port or 5432)))
        return made[-1]

    yield make
    for each in made:
        each.stop()


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[int], Tmpfs]]:
    """`tmpfs(megabytes)`: a small disk mounted for the test, unmounted after it. Request it
    before `start_server`, so the server is stopped before the disk goes."""
    made: list[Tmpfs] = []

    def make(megabytes: int) -> Tmpfs:
        try:
            made.append(Tmpfs(tmp_path / "disk", megabytes))
        except MountRefused as refused:
            pytest.skip(f"this machine does not let the tests mount a tmpfs: {refused}")
        return made[-1]

    yield make
    for disk in made:
        disk.remove()


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """Lines to show in the test run's output: the figures docs/reliability.md quotes."""
    lines: list[str] = []
    yield lines
    terminal = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if terminal is None or not lines:
        return
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        terminal.write_line("")
        for line in lines:
            terminal.write_line(f"[{request.node.name}] {line}")

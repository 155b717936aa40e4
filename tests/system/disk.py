"""A small disk of the test's own, to make real disk faults under a SQLite database.

A tmpfs is mounted in the test's temporary folder (the tests run as root: CI does too). The
database lives in a folder on it. Two faults, each undone by the test:

- read-only: the folder is bind-mounted over itself and that mount remounted read-only, as when
  a file system turns read-only after an error. The app's writes then fail with SQLITE_READONLY
  ("attempt to write a readonly database") while reads still work.
- full: a filler file takes every free byte, so the database cannot grow its write-ahead log:
  SQLITE_FULL ("database or disk is full").

Both need SQLite's WAL index (the -shm file) and the log to stay in place meanwhile, as they do
on a live system where some process always has the database open: `hold_open` is that process.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path


class MountRefused(Exception):
    """This machine does not let the test mount a file system (not root, or no privilege)."""


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, timeout=30)


class Tmpfs:
    def __init__(self, where: Path, megabytes: int):
        self.root = where
        self.root.mkdir(parents=True, exist_ok=True)
        done = _run("mount", "-t", "tmpfs", "-o", f"size={megabytes}m,mode=0755", "tmpfs", str(self.root))
        if done.returncode != 0:
            raise MountRefused(done.stderr.strip())
        self.data = self.root / "data"
        self.data.mkdir()
        self.filler = self.root / "filler"
        self.read_only = False
        self.holder: sqlite3.Connection | None = None

    def hold_open(self, database: Path) -> sqlite3.Connection:
        """Another process's connection to the database (this test's), kept open throughout."""
        self.holder = sqlite3.connect(database, isolation_level=None, timeout=10)
        self.holder.execute("SELECT count(*) FROM sqlite_master").fetchall()
        return self.holder

    # read-only ---------------------------------------------------------------------------------

    def make_read_only(self) -> None:
        for command in (
            ("mount", "--bind", str(self.data), str(self.data)),
            ("mount", "-o", "remount,bind,ro", str(self.data)),
        ):
            done = _run(*command)
            assert done.returncode == 0, done.stderr
        self.read_only = True

    def make_writable(self) -> None:
        """Undo the read-only mount; waits for the app's open files on it to close (per request)."""
        for _ in range(50):
            if _run("umount", str(self.data)).returncode == 0:
                self.read_only = False
                return
            time.sleep(0.1)
        assert _run("umount", "-l", str(self.data)).returncode == 0
        self.read_only = False

    # full --------------------------------------------------------------------------------------

    def fill(self) -> int:
        """Take every free byte; returns how many were written. The holder first empties the
        write-ahead log (a checkpoint) so that the app's next write has to grow it."""
        if self.holder is not None:
            self.holder.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        written = 0
        with self.filler.open("wb", buffering=0) as handle:
            for size in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1):
                chunk = b"\0" * size
                try:
                    while True:
                        written += handle.write(chunk)
                except OSError:
                    continue
        return written

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    # ---------------------------------------------------------------------------------------------

    def remove(self) -> None:
        if self.holder is not None:
            self.holder.close()
        if self.read_only:
            _run("umount", "-l", str(self.data))
        self.free()
        if _run("umount", str(self.root)).returncode != 0:
            _run("umount", "-l", str(self.root))

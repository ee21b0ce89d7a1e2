"""Helpers of the fault-injection suite: a tracked pipeline and process checks."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from outflow.core.test.backend_contract import assert_gone, processes_of
from outflow.core.test.backend_contract import finish as finish_or_kill


class FaultPipeline:
    """A tracked pipeline (SQLite) and how to run, watch and inspect its commands."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.log = root / "fault.log"
        self.database = root / "outflow.db"

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "outflow", *args]

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start a command in a session of its own (its pid is its process group)."""
        return subprocess.Popen(self.command(*args), cwd=self.root, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*args), cwd=self.root, capture_output=True,
                              text=True, timeout=300)

    def logged(self, kind: str) -> list[tuple[int, int]]:
        if not self.log.exists():
            return []
        lines = [line.split() for line in self.log.read_text().splitlines()]
        return [(int(value), int(pid)) for what, value, pid in lines if what == kind]

    def wait_for(self, condition: Callable[[], bool], process: subprocess.Popen[str],
                 seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the run never got there"
            time.sleep(0.05)

    def rows(self, query: str, *parameters: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.database) as connection:
            return connection.execute(query, parameters).fetchall()

    def last_run(self) -> tuple[Any, ...]:
        return self.rows("SELECT id, state, end_time FROM run ORDER BY id DESC LIMIT 1")[0]


def finish(process: subprocess.Popen[str], seconds: float = 60) -> tuple[str, str]:
    """Wait for the command; kill its whole group if it hangs (and fail)."""
    return finish_or_kill(process, seconds, hung="the run hung after the fault")


def assert_nothing_left(pipeline: FaultPipeline, process: subprocess.Popen[str]) -> None:
    """No process of the run survives: neither those that ran items nor any other of
    its process group."""
    pids = {pid for _, pid in pipeline.logged("start")} | processes_of(group=process.pid)
    assert_gone(pids - {os.getpid()})

"""The dashboard tests' pipeline (four runs: succeeded, failed, running, crashed; a secret
in its configuration) and ``outflow dashboard`` started on it as a user starts it."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from outflow.management.liveness import process_identity

SECRET = "s3cr3t-api-value-42"

COMMANDS = '''
import time

from outflow.core.commands import Command, RootCommand
from outflow.core.pipeline import context
from outflow.core.tasks import as_task
from outflow.library.workflows import MapWorkflow


@as_task
def Files() -> {"file_array": list}:
    token = context.config["secrets"]["api_token"]
    return [{"name": f"f{index}.fits", "key": token if index == 2 else None}
            for index in range(5)]


@as_task
def Reduce(file: dict) -> {"reduced": str}:
    time.sleep(context.args.pause)
    if file["name"] == "f2.fits" and context.args.fail:
        raise ValueError(f"cannot read {file}")
    return file["name"]


@RootCommand.subcommand()
class ReduceAll(Command):
    def add_arguments(self):
        self.add_argument("--fail", action="store_true")
        self.add_argument("--pause", type=float, default=0.0)

    def setup_tasks(self):
        Files() | MapWorkflow(Reduce(), name="reduction")
'''


def make_pipeline(root: Path, database: dict[str, Any] | None = None) -> Path:
    """The pipeline at ``root``, its database (SQLite by default) migrated."""
    (root / "reducer").mkdir(parents=True)
    (root / "reducer" / "__init__.py").write_text("")
    (root / "reducer" / "commands.py").write_text(COMMANDS.lstrip())
    (root / "settings.py").write_text("PLUGINS = ['outflow.management', 'reducer']\n")
    (root / "config.json").write_text(json.dumps({
        "databases": {"default": database or {"dialect": "sqlite"}},
        "secrets": {"api_token": SECRET}}))
    outflow(root, "management", "db", "upgrade", "heads", check=True)
    return root


def outflow(root: Path, *argv: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "outflow", *argv], cwd=root, check=False,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 or not check, done.stderr
    return done


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four runs: 1 succeeded, 2 failed, 3 running (its process is this one), 4 crashed."""
    root = make_pipeline(tmp_path_factory.mktemp("dashboard") / "pipeline")
    for argv in (["reduce_all"], ["reduce_all", "--fail"], ["reduce_all"], ["reduce_all"]):
        outflow(root, *argv)
    with sqlite3.connect(root / "outflow.db") as connection:
        connection.execute("UPDATE run SET state = 'running', end_time = NULL, pid = ?, "
                           "process = ? WHERE id = 3", (os.getpid(), process_identity()))
        connection.execute("UPDATE run SET state = 'running', end_time = NULL, pid = ?, "
                           "process = 'another-boot:1' WHERE id = 4", (os.getpid(),))
        connection.execute("UPDATE block SET state = 'running', end_time = NULL "
                           "WHERE run_id = 3 AND map_index = 4")
    connection.close()
    return root


class Dashboard:
    """A running ``outflow dashboard`` and its address."""

    def __init__(self, root: Path, *options: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "outflow", "dashboard", "--port", "0", *options], cwd=root,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()  # type: ignore[union-attr]
        match = re.match(r"outflow dashboard: (http://\S+) \(Ctrl-C to stop\)", line)
        assert match, line + self.process.stderr.read()  # type: ignore[union-attr]
        self.url = match.group(1)
        self.base = self.url.split("?")[0].rstrip("/")

    def get(self, path: str, headers: dict[str, str] | None = None
            ) -> tuple[int, str, dict[str, str]]:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), dict(error.headers)

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        _out, err = self.process.communicate(timeout=30)
        return self.process.returncode, err


@pytest.fixture(scope="module")
def dashboard(pipeline: Path) -> Iterator[Dashboard]:
    served = Dashboard(pipeline)
    yield served
    if served.process.poll() is None:
        served.process.kill()
        served.process.communicate()

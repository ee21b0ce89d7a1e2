"""The pipeline the Slurm tests run, and the Slurm commands it called.

Each item notes where and when it ran in a log file; a directory of logging wrappers
put first on the ``PATH`` of the command records every ``sbatch``, ``squeue``,
``scontrol``, ``sacct`` and ``scancel`` it ran (then runs the real one), so that tests
can count the calls the driver makes, and can make one of them fail for a while.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from outflow.core.test.backend_contract import finish

COMMANDS = '''
import json
import os
import sys
import time

from outflow.core.commands import Command, RootCommand
from outflow.core.pipeline import context
from outflow.core.tasks import as_task
from outflow.library.workflows import MapWorkflow


def note(kind, value):
    with open(context.config["slurm_log"], "a") as handle:
        handle.write(f"{kind} {value} {os.getpid()} {time.time()} "
                     f"{os.environ.get('SLURM_ARRAY_JOB_ID', '-')}_"
                     f"{os.environ.get('SLURM_ARRAY_TASK_ID', '-')}\\n")


@as_task
def Values() -> {"value_array": list}:
    return list(range(context.args.n))


@as_task
def Work(value: int) -> {"result": int}:
    args = context.args
    note("start", value)
    print(f"working on {value}", file=sys.stderr, flush=True)
    if value == args.hang_at:
        time.sleep(600)
    time.sleep(args.sleep)
    if value == args.fail_at:
        time.sleep(args.fail_delay)
        raise ValueError(f"cannot work on {value}")
    note("done", value)
    return value * value


@as_task
def Show(results: list):
    print("RESULTS " + json.dumps([outputs[0]["result"] for outputs in results]))
    print(f"DRIVER {os.getpid()}")


@RootCommand.subcommand()
class Squares(Command):
    """Values | map of Work | Show, the map's resources from the configuration."""

    def add_arguments(self):
        self.add_argument("--n", type=int, default=8)
        self.add_argument("--sleep", type=float, default=0.0)
        self.add_argument("--fail-at", type=int, default=-1)
        self.add_argument("--fail-delay", type=float, default=0.0)
        self.add_argument("--hang-at", type=int, default=-1)
        self.add_argument("--cache", action="store_true")

    def setup_tasks(self):
        resources = dict(context.config.get("map_resources") or {})
        Values() | MapWorkflow(Work(), name="work_map", output_name="results",
                               cache=context.args.cache, **resources) | Show()
'''

#: The Slurm commands whose calls are recorded.
RECORDED = ("sbatch", "squeue", "scontrol", "sacct", "scancel")


class SlurmPipeline:
    """A pipeline running the ``squares`` command on the slurm backend."""

    def __init__(self, root: Path, slurm: Mapping[str, Any] | None = None,
                 resources: Mapping[str, Any] | None = None,
                 databases: Mapping[str, Any] | None = None) -> None:
        self.root = root
        self.log = root / "items.log"
        self.calls = root / "slurm-calls.log"
        self.temp_dir = root / "outflow_tmp"
        package = root / "plugins" / "squares" / "squares"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "commands.py").write_text(textwrap.dedent(COMMANDS).lstrip())
        (root / "settings.py").write_text(
            "PLUGINS = ['outflow.management', 'squares']\n"
            "CONFIG_SECTIONS = ['slurm_log', 'map_resources']\n"
            f"TEMP_DIR = {str(self.temp_dir)!r}\n")
        self.configure(slurm or {}, resources or {}, databases)
        self._write_recorders()

    def configure(self, slurm: Mapping[str, Any], resources: Mapping[str, Any] | None = None,
                  databases: Mapping[str, Any] | None = None) -> None:
        """(Re)write ``config.json``: the ``slurm`` section (fast polling by default)
        and the map's resources."""
        section = {"poll_interval": 0.2, "max_poll_interval": 1.0, **slurm}
        config = {"slurm_log": str(self.log), "map_resources": dict(resources or {}),
                  "slurm": section,
                  "databases": dict(databases or {"default": {"dialect": "sqlite"}})}
        (self.root / "config.json").write_text(json.dumps(config))

    def _write_recorders(self) -> None:
        directory = self.root / "recorders"
        directory.mkdir()
        for name in RECORDED:
            real = shutil.which(name)
            assert real is not None, f"{name} is not installed"
            recorder = directory / name
            # While the file `<name>-fails` exists, the command fails as a busy
            # controller makes it fail (a fault to inject).
            recorder.write_text(
                f'#!/bin/sh\necho "{name} $*" >> {self.calls}\n'
                f'if [ -e {self.root / (name + "-fails")} ]; then\n'
                f'    echo "{name}: error: Socket timed out on send/recv operation" >&2\n'
                f'    exit 1\nfi\n'
                f'exec {real} "$@"\n')
            recorder.chmod(0o755)

    # -- running --------------------------------------------------------------------
    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "outflow", "squares", *args, "--backend", "slurm"]

    def environment(self) -> dict[str, str]:
        return {**os.environ, "PATH": f"{self.root / 'recorders'}:{os.environ['PATH']}"}

    def run(self, *args: str, check: bool = True,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """Run ``squares`` on slurm; its items' log and the Slurm calls start empty."""
        self.log.write_text("")
        self.calls.write_text("")
        done = subprocess.run(self.command(*args), cwd=self.root, capture_output=True,
                              text=True, timeout=timeout, env=self.environment())
        if check:
            assert done.returncode == 0, f"{args} failed:\n{done.stderr}"
        return done

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start ``squares`` in a session of its own."""
        self.log.write_text("")
        self.calls.write_text("")
        return subprocess.Popen(self.command(*args), cwd=self.root, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.environment(),
                                start_new_session=True)

    def upgrade_database(self) -> None:
        done = subprocess.run([sys.executable, "-m", "outflow", "management", "db", "upgrade",
                               "heads"], cwd=self.root, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr

    # -- what happened --------------------------------------------------------------
    @staticmethod
    def results(done: subprocess.CompletedProcess[str]) -> list[int]:
        line = next((line for line in done.stdout.splitlines()
                     if line.startswith("RESULTS ")), None)
        assert line is not None, f"no results:\n{done.stdout}\n{done.stderr}"
        return json.loads(line[len("RESULTS "):])

    def logged(self, kind: str) -> list[dict[str, Any]]:
        """The ``kind`` lines of the items: value, pid, time and Slurm element."""
        entries = []
        for line in self.log.read_text().splitlines():
            what, value, pid, when, element = line.split()
            if what == kind:
                entries.append({"value": int(value), "pid": int(pid), "time": float(when),
                                "element": element})
        return entries

    def slurm_calls(self, name: str) -> list[list[str]]:
        """The arguments of each call of the Slurm command ``name``, in order."""
        return [line.split()[1:] for line in self.calls.read_text().splitlines()
                if line.split()[0] == name]

    def submitted_arrays(self) -> list[str]:
        """The ``--array`` option of each ``sbatch`` call."""
        return [argument.split("=", 1)[1] for call in self.slurm_calls("sbatch")
                for argument in call if argument.startswith("--array=")]

    def wait_for(self, condition: Callable[[], bool], process: subprocess.Popen[str],
                 seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the run never got there"
            time.sleep(0.1)

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.root / "outflow.db") as connection:
            return connection.execute(query).fetchall()


def live_jobs(name: str) -> list[str]:
    """``<job id> <state>`` of the jobs named ``name`` still pending or running."""
    done = subprocess.run(["squeue", "-h", "-r", "-n", name, "-t", "PENDING,RUNNING",
                           "-o", "%i %T"], capture_output=True, text=True, timeout=60)
    return done.stdout.split("\n")[:-1]


__all__ = ["SlurmPipeline", "finish", "live_jobs"]

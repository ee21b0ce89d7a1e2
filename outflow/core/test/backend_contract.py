"""The backend contract suite: what every backend must do, checked against the real one.

A backend distribution runs it against itself with a few lines::

    # tests/test_contract.py of outflow-threads
    from outflow.core.test.backend_contract import BackendContract

    class TestThreadsContract(BackendContract):
        backend = "threads"            # the name it registers
        config = {"threads": {"max_workers": 2}}   # optional: its configuration

The tests run a real pipeline made in a temporary directory, through the real command
line (``python -m outflow ... --backend <name>`` in a subprocess), with the backend
found among the installed plugins like a user's: input order, the first failing item
in input order named (index, task, error), finished outputs kept and the workflow
cache right after a failure, nested maps, empty and one-item maps, resources it does
not know ignored, ``close()`` twice, tracked block rows with the right ``map_index``
(and the run recording the backend's name), and Ctrl-C stopping the pending items
with no process of the run left behind. Set :attr:`BackendContract.timeout` for a
backend whose start is slow (a cluster's queue), and :attr:`BackendContract.resources`
for one that refuses resources it does not know (a cluster checking its directives
before submitting). A backend whose commands start under a launcher (``mpiexec``)
sets :attr:`BackendContract.launcher`, and ``ctrl_c_to_group = False`` when the
launcher forwards Ctrl-C itself.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

#: The pipeline plugin the contract runs: each item logs where and when it ran.
CONTRACT_PLUGIN = '''
import json
import os
import time

from outflow.core.commands import Command, RootCommand
from outflow.core.pipeline import context
from outflow.core.tasks import as_task
from outflow.library.workflows import MapWorkflow


def resources():
    """The resources every map of the contract passes (BackendContract.resources)."""
    return dict(context.config["contract_resources"])


def log(kind, value):
    with open(context.config["contract_log"], "a") as handle:
        handle.write(f"{kind} {value} {os.getpid()}\\n")


@as_task
def Values() -> {"value_array": list}:
    return list(range(context.args.n))


@as_task
def Compute(value: int) -> {"result": int}:
    args = context.args
    log("start", value)
    # Later items are shorter: a concurrent backend finishes them first.
    time.sleep(args.sleep * (args.n - value) / max(args.n, 1))
    if value in args.fail_at:
        raise ValueError(f"boom on {value}")
    log("done", value)
    return value * 10


@as_task
def Show(results: list):
    print("RESULTS " + json.dumps(results))


@as_task
def Row(value: int) -> {"cell_array": list}:
    return [value, value + 100]


@as_task
def Cell(cell: int) -> {"cell_result": int}:
    log("cell", cell)
    return cell + 1


@RootCommand.subcommand()
class ContractMap(Command):
    """Values | map of Compute | Show."""

    def add_arguments(self):
        self.add_argument("--n", type=int, default=8)
        self.add_argument("--sleep", type=float, default=0.0)
        self.add_argument("--fail-at", type=lambda text: {int(v) for v in text.split(",")},
                          default=set())
        self.add_argument("--cache", action="store_true")

    def setup_tasks(self):
        mapped = MapWorkflow(Compute(), name="contract_items", output_name="results",
                             cache=context.args.cache, **resources())
        Values() | mapped | Show()


@RootCommand.subcommand()
class ContractNested(Command):
    """A map whose items map again."""

    def add_arguments(self):
        self.add_argument("--n", type=int, default=3)

    def setup_tasks(self):
        with MapWorkflow(output_name="results", **resources()) as rows:
            Row() | MapWorkflow(Cell(), output_name="cells")
        Values() | rows | Show()
'''

#: The resources the contract's maps pass by default: some a cluster backend knows, and
#: one no backend knows; a backend must run the maps, ignoring what it does not use.
DEFAULT_RESOURCES = {"cpus_per_task": 1, "mem": "100M", "partition": "contract",
                     "no_such_resource": "ignored"}

#: Seconds to wait for the items to start before Ctrl-C, and for the run to end after.
INTERRUPT_SECONDS = 60


class ContractPipeline:
    """A pipeline on disk running the contract plugin, and how to run its commands."""

    def __init__(self, root: Path, backend: str, config: Mapping[str, Any],
                 timeout: float, resources: Mapping[str, Any] = DEFAULT_RESOURCES,
                 launcher: Sequence[str] = ()) -> None:
        self.root = root
        self.backend = backend
        self.timeout = timeout
        self.launcher = list(launcher)
        self.log = root / "contract.log"
        plugin = root / "plugins" / "contract" / "outflow_contract_plugin"
        plugin.mkdir(parents=True)
        (plugin / "__init__.py").write_text("")
        (plugin / "commands.py").write_text(textwrap.dedent(CONTRACT_PLUGIN).lstrip())
        (root / "settings.py").write_text(
            "PLUGINS = ['outflow.management', 'outflow_contract_plugin']\n"
            "CONFIG_SECTIONS = ['contract_log', 'contract_resources']\n"
            f"TEMP_DIR = {str(root / 'outflow_tmp')!r}\n")
        settings = {"contract_log": str(self.log), "contract_resources": dict(resources),
                    "databases": {"default": {"dialect": "sqlite"}}, **config}
        (root / "config.json").write_text(json.dumps(settings))

    def command(self, *args: str) -> list[str]:
        return [*self.launcher, sys.executable, "-m", "outflow", *args, "--backend",
                self.backend]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command of the pipeline with the backend; check it succeeded."""
        self.log.write_text("")
        done = subprocess.run(self.command(*args), cwd=self.root, capture_output=True,
                              text=True, timeout=self.timeout)
        if check:
            assert done.returncode == 0, f"{args} failed:\n{done.stderr}"
        return done

    def results(self, done: subprocess.CompletedProcess[str]) -> list[Any]:
        line = next((line for line in done.stdout.splitlines()
                     if line.startswith("RESULTS ")), None)
        assert line is not None, f"no results printed:\n{done.stdout}\n{done.stderr}"
        return json.loads(line[len("RESULTS "):])

    def logged(self, kind: str) -> list[tuple[int, int]]:
        """``(value, pid)`` of each ``kind`` line the items wrote, in order."""
        lines = [line.split() for line in self.log.read_text().splitlines()]
        return [(int(value), int(pid)) for what, value, pid in lines if what == kind]

    def upgrade_database(self) -> None:
        done = subprocess.run([sys.executable, "-m", "outflow", "management", "db", "upgrade",
                               "heads"], cwd=self.root, capture_output=True, text=True,
                              timeout=self.timeout)
        assert done.returncode == 0, done.stderr

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.root / "outflow.db") as connection:
            return connection.execute(query).fetchall()


class BackendContract:
    """The contract tests; subclass it as ``Test...`` and set :attr:`backend`."""

    #: The backend's registered name (what ``--backend`` takes).
    backend: ClassVar[str] = ""
    #: Configuration sections the pipeline gets (e.g. the backend's own section).
    config: ClassVar[Mapping[str, Any]] = {}
    #: Seconds a command may take before the test fails instead of hanging.
    timeout: ClassVar[float] = 120.0
    #: The keyword arguments every map of the contract passes. A backend that refuses
    #: what it does not know (a cluster checking its directives before submitting)
    #: narrows them to resources it accepts.
    resources: ClassVar[Mapping[str, Any]] = DEFAULT_RESOURCES
    #: The program that starts the command, before ``python -m outflow`` (an MPI
    #: launcher: ``("mpiexec", "-n", "3")``); none by default.
    launcher: ClassVar[Sequence[str]] = ()
    #: Ctrl-C reaches the whole process group, as in a terminal. A backend started
    #: by a launcher that forwards Ctrl-C to its processes itself sets False: SIGINT
    #: then goes to the launcher only.
    ctrl_c_to_group: ClassVar[bool] = True

    @pytest.fixture
    def contract(self, tmp_path: Path) -> ContractPipeline:
        assert self.backend, f"{type(self).__name__}: set `backend` to the backend's name"
        return ContractPipeline(tmp_path / "pipeline", self.backend, self.config,
                                self.timeout, self.resources, self.launcher)

    # -- results --------------------------------------------------------------------
    def test_results_come_back_in_input_order(self, contract: ContractPipeline) -> None:
        done = contract.run("contract_map", "--n", "12", "--sleep", "0.2", "--db-untracked")
        assert contract.results(done) == [[{"result": value * 10}] for value in range(12)]
        assert sorted(value for value, _ in contract.logged("done")) == list(range(12))

    def test_empty_and_one_item_maps(self, contract: ContractPipeline) -> None:
        assert contract.results(contract.run("contract_map", "--n", "0",
                                             "--db-untracked")) == []
        assert contract.results(contract.run("contract_map", "--n", "1",
                                             "--db-untracked")) == [[{"result": 0}]]

    def test_nested_maps(self, contract: ContractPipeline) -> None:
        done = contract.run("contract_nested", "--n", "3", "--db-untracked")
        assert contract.results(done) == [
            [{"cells": [[{"cell_result": value + 1}], [{"cell_result": value + 101}]]}]
            for value in range(3)
        ]
        assert sorted(value for value, _ in contract.logged("cell")) == [0, 1, 2, 100, 101, 102]

    # -- failures -------------------------------------------------------------------
    def test_the_first_failing_item_in_input_order_is_named(
            self, contract: ContractPipeline) -> None:
        # Item 7 fails first in time on a concurrent backend (later items are shorter).
        done = contract.run("contract_map", "--n", "10", "--sleep", "0.3", "--fail-at", "3,7",
                            "--db-untracked", check=False)
        assert done.returncode == 1, done.stderr
        assert ("item 3 of workflow contract_items failed in task compute: ValueError: boom on 3"
                in done.stderr), done.stderr
        assert "item 7 of" not in done.stderr
        assert "Traceback" not in done.stderr  # one line, without --log-level DEBUG

    def test_keep_going_runs_every_item_and_names_each_failure(
            self, contract: ContractPipeline) -> None:
        # An item that fails comes back as a result (MapWorkflow(keep_going=True)):
        # the backend runs the others as usual.
        done = contract.run("contract_map", "--n", "6", "--fail-at", "1,4", "--keep-going",
                            "--db-untracked", check=False)
        assert done.returncode == 1, done.stderr
        assert ("2 of 6 items of workflow contract_items failed: item 1 in task compute: "
                "ValueError: boom on 1") in done.stderr, done.stderr
        assert "; item 4 in task compute: ValueError: boom on 4" in done.stderr
        assert {value for value, _ in contract.logged("done")} == {0, 2, 3, 5}

    def test_finished_outputs_are_kept_and_the_cache_stays_right(
            self, contract: ContractPipeline) -> None:
        failed = contract.run("contract_map", "--n", "8", "--sleep", "0.2", "--fail-at", "4",
                              "--cache", "--db-untracked", check=False)
        assert failed.returncode == 1 and "item 4 of" in failed.stderr, failed.stderr
        finished = {value for value, _ in contract.logged("done")}
        assert set(range(4)) <= finished and 4 not in finished
        again = contract.run("contract_map", "--n", "8", "--cache", "--db-untracked")
        assert contract.results(again) == [[{"result": value * 10}] for value in range(8)]
        recomputed = {value for value, _ in contract.logged("start")}
        assert recomputed == set(range(8)) - finished  # finished items came from the cache
        third = contract.run("contract_map", "--n", "8", "--cache", "--db-untracked")
        assert contract.results(third) == contract.results(again)
        assert contract.logged("start") == []

    # -- resources and lifetime -----------------------------------------------------
    def test_close_is_idempotent(self, contract: ContractPipeline) -> None:
        from outflow.core.pipeline.context import PipelineContext
        from outflow.core.plugins.host import PluginHost

        host = PluginHost().load()
        entry = host.resolve("backends", self.backend)
        assert entry is not None, f"no installed plugin provides backend {self.backend!r}"
        backend_class = entry.load()
        assert backend_class.name == entry.name, (
            f"{backend_class.__name__}.name must be the registered name {entry.name!r}")
        backend = backend_class(PipelineContext(config=dict(self.config), host=host))
        backend.close()
        backend.close()
        assert backend.closed

    # -- tracking -------------------------------------------------------------------
    def test_tracked_rows_name_their_item(self, contract: ContractPipeline) -> None:
        contract.upgrade_database()
        contract.run("contract_map", "--n", "6", "--sleep", "0.1")
        contract.run("contract_map", "--n", "6", "--sleep", "0.1", "--fail-at", "2",
                     check=False)
        runs = contract.rows("SELECT id, backend, state FROM run ORDER BY id")
        assert [(backend, state) for _, backend, state in runs] == [
            (self.backend, "success"), (self.backend, "failed")]
        for (run_id, _, state) in runs:
            rows = contract.rows(f"SELECT map_index, state FROM block WHERE run_id = {run_id} "
                                 "AND name = 'compute' ORDER BY map_index")
            if state == "success":
                assert rows == [(index, "success") for index in range(6)]
            else:
                assert (2, "failed") in rows, rows
                # The others finished, or were stopped when the run ended (a backend
                # may cancel running items, e.g. Slurm's scancel): never "failed".
                assert all(state in ("success", "interrupted")
                           for index, state in rows if index != 2), rows
                assert len({index for index, _ in rows}) == len(rows)
            parents = contract.rows(
                f"SELECT DISTINCT parent.name FROM block JOIN block AS parent "
                f"ON block.parent_id = parent.id WHERE block.run_id = {run_id} "
                "AND block.name = 'compute'")
            assert parents == [("contract_items",)]
            assert contract.rows(f"SELECT count(*) FROM block WHERE run_id = {run_id} "
                                 "AND state = 'running'") == [(0,)]

    # -- Ctrl-C ---------------------------------------------------------------------
    def test_ctrl_c_cancels_pending_items(self, contract: ContractPipeline) -> None:
        """Ctrl-C in a terminal: SIGINT to the command's whole process group. Pending
        items never start, the run ends soon (running items may finish: threads
        cannot be stopped), exits 130, and no process of the run is left."""
        contract.log.write_text("")
        process = subprocess.Popen(
            contract.command("contract_map", "--n", "40", "--sleep", "4", "--db-untracked"),
            cwd=contract.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
        try:
            deadline = time.monotonic() + INTERRUPT_SECONDS
            while not contract.logged("start"):
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "no item started"
                time.sleep(0.05)
            if self.ctrl_c_to_group:
                os.killpg(process.pid, signal.SIGINT)
            else:
                process.send_signal(signal.SIGINT)
            _out, err = process.communicate(timeout=INTERRUPT_SECONDS)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        assert process.returncode == 130, err
        assert "interrupted" in err
        started = contract.logged("start")
        assert len(started) < 40, "pending items ran after Ctrl-C"
        assert_gone({pid for _, pid in started} | processes_of(session=process.pid))


def finish(process: subprocess.Popen[str], seconds: float = 60.0,
           hung: str = "the command hung") -> tuple[str, str]:
    """``(stdout, stderr)`` of a command started in a session of its own; one that is
    still running after ``seconds`` has its whole group killed, and the test fails
    with ``hung`` and what it printed: nothing a test starts may hang it."""
    try:
        return process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"{hung}:\n{out}\n{err}")


def processes_of(group: int | None = None, session: int | None = None) -> set[int]:
    """Live processes of a process group or of a session (Linux ``/proc``; empty where
    it does not say)."""
    found = set()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            state, _ppid, pgrp, sid = (entry / "stat").read_text().rsplit(") ", 1)[1].split()[:4]
        except (OSError, ValueError):
            continue
        if state not in "ZX" and (int(pgrp) == group or int(sid) == session):
            found.add(int(entry.name))
    return found


def assert_gone(pids: set[int], seconds: float = 10.0) -> None:
    """Every process in ``pids`` exits (or is a zombie waiting for its parent) within
    ``seconds``: for tests that check no process of a run is left behind."""
    deadline = time.monotonic() + seconds
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = {pid for pid in alive if is_running(pid)}
        if alive:
            time.sleep(0.1)
    assert not alive, f"processes of the run still running: {sorted(alive)}"


def is_running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(") ", 1)[1][0] not in "ZX"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the OS
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


__all__ = [
    "CONTRACT_PLUGIN",
    "DEFAULT_RESOURCES",
    "BackendContract",
    "ContractPipeline",
    "assert_gone",
    "finish",
    "is_running",
    "processes_of",
]

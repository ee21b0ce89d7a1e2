"""The mpi backend against real ``mpiexec`` ranks: results, failures, a rank stopped or
killed, tracking on SQLite and PostgreSQL, spawned workers, other commands under
mpiexec. Every command runs under ``timeout``: nothing may hang."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from outflow.core.test.backend_contract import (
    ContractPipeline,
    assert_gone,
    finish,
    processes_of,
)

#: Seconds any command of these tests may take.
LIMIT = 60


@pytest.fixture
def pipeline(tmp_path: Path, mpiexec: Path) -> ContractPipeline:
    return ContractPipeline(tmp_path / "pipeline", "mpi", {}, LIMIT,
                            launcher=(str(mpiexec), "-n", "3"))


def _start(pipeline: ContractPipeline, *args: str) -> subprocess.Popen[str]:
    pipeline.log.write_text("")
    return subprocess.Popen(["timeout", str(LIMIT), *pipeline.command(*args)],
                            cwd=pipeline.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def _wait_for(condition: Any, process: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run never got there"
        time.sleep(0.05)


def _errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("outflow: error:")]


# -- results ------------------------------------------------------------------------------
def test_fifty_items_come_back_in_order_from_the_worker_ranks(
        pipeline: ContractPipeline) -> None:
    done = pipeline.run("contract_map", "--n", "50", "--db-untracked")
    assert pipeline.results(done) == [[{"result": value * 10}] for value in range(50)]
    workers = {pid for _, pid in pipeline.logged("start")}
    assert len(workers) == 2, workers  # ranks 1 and 2; rank 0 only drives
    assert done.stdout.count("RESULTS ") == 1  # printed by rank 0 alone


def test_a_large_map_flows_both_ways_without_waiting_on_itself(
        pipeline: ContractPipeline) -> None:
    """Chunks large enough to be sent by rendezvous, queued while the worker sends its
    results: neither side may block the other (the driver never waits in a send)."""
    done = pipeline.run("contract_map", "--n", "20000", "--db-untracked")
    assert pipeline.results(done) == [[{"result": value * 10}] for value in range(20000)]


def test_a_raising_item_names_its_index_task_and_rank(pipeline: ContractPipeline) -> None:
    done = pipeline.run("contract_map", "--n", "8", "--fail-at", "5", "--db-untracked",
                        check=False)
    assert done.returncode == 1, done.stderr
    [error] = _errors(done.stderr)  # one line, from rank 0
    assert re.search(r"item 5 of \w+ \w+ failed in task compute: ValueError: boom on 5 "
                     r"\(.*\.py:\d+\); it ran on MPI rank", error), error
    assert "Traceback" not in done.stderr


def test_an_item_past_its_timeout_fails_in_its_rank_and_the_map_keeps_going(
        tmp_path: Path, mpiexec: Path) -> None:
    pipeline = ContractPipeline(tmp_path / "pipeline", "mpi", {}, LIMIT,
                                resources={"timeout": 1}, launcher=(str(mpiexec), "-n", "3"))
    began = time.monotonic()
    # Items sleep 30 * (4 - value) / 4 s: 0, 1 and 2 run past 1 s; 3 (7.5 s) too.
    done = pipeline.run("contract_map", "--n", "4", "--sleep", "30", "--keep-going",
                        "--db-untracked", check=False)
    assert time.monotonic() - began < 30, done.stderr
    assert done.returncode == 1, done.stderr
    [error] = _errors(done.stderr)
    assert ("4 of 4 items of workflow contract_items failed: item 0 in task compute: "
            "TimeoutError: it ran longer than its timeout of 1 s") in error, error


# -- a rank stopped, a rank killed ------------------------------------------------------------
def test_a_rank_stopped_by_sigterm_fails_the_run_naming_the_item_and_the_rank(
        pipeline: ContractPipeline) -> None:
    pipeline.upgrade_database()
    process = _start(pipeline, "contract_map", "--n", "6", "--sleep", "12")
    _wait_for(lambda: len(pipeline.logged("start")) == 2, process)
    first_value, victim = pipeline.logged("start")[0]
    os.kill(victim, signal.SIGTERM)
    began = time.monotonic()
    _out, err = finish(process, LIMIT)
    assert process.returncode == 1, err
    [error] = _errors(err)
    assert re.search(rf"item {first_value} of \w+ \w+ failed: ProcessDied: MPI rank", error), error
    assert f"(pid {victim}, host " in error and "was stopped by SIGTERM" in error, error
    assert time.monotonic() - began < 20  # the other rank's item ends, nothing more runs
    assert pipeline.rows("SELECT state FROM run") == [("failed",)]
    assert_gone(processes_of(session=process.pid))


def test_a_killed_rank_ends_the_job_within_seconds_and_finished_items_stay_cached(
        pipeline: ContractPipeline) -> None:
    pipeline.upgrade_database()
    process = _start(pipeline, "contract_map", "--n", "8", "--sleep", "2", "--cache")
    _wait_for(lambda: len(pipeline.logged("done")) >= 2, process)
    # Items that finished a moment ago have written their cache entries; one that
    # finishes as the job is killed may not have (it runs again, which is right).
    finished = {value for value, _ in pipeline.logged("done")}
    time.sleep(0.3)
    running = [pid for _, pid in pipeline.logged("start")]
    os.kill(running[-1], signal.SIGKILL)
    began = time.monotonic()
    finish(process, LIMIT)
    assert process.returncode != 0
    assert time.monotonic() - began < 10, "the job did not end after a rank died"
    assert_gone(processes_of(session=process.pid))
    # MPICH's mpiexec ended rank 0 too: the run shows what happened to it
    shown = subprocess.run([sys.executable, "-m", "outflow", "management", "list_runs"],
                           cwd=pipeline.root, capture_output=True, text=True, timeout=LIMIT)
    assert "crashed" in shown.stdout, shown.stdout
    again = pipeline.run("contract_map", "--n", "8", "--sleep", "0", "--cache",
                         "--db-untracked")
    assert pipeline.results(again) == [[{"result": value * 10}] for value in range(8)]
    rerun = {value for value, _ in pipeline.logged("start")}
    assert rerun and not rerun & finished, (rerun, finished)


# -- tracking -------------------------------------------------------------------------------
def test_a_tracked_run_on_postgresql_records_every_item_from_the_ranks(
        tmp_path: Path, mpiexec: Path, postgresql_fixture) -> None:
    from sqlalchemy import create_engine, text

    pipeline = ContractPipeline(tmp_path / "pipeline", "mpi",
                                {"databases": {"default": postgresql_fixture.config}}, LIMIT,
                                launcher=(str(mpiexec), "-n", "3"))
    pipeline.upgrade_database()
    done = pipeline.run("contract_map", "--n", "6", "--fail-at", "4", check=False)
    assert done.returncode == 1, done.stderr
    engine = create_engine(postgresql_fixture.url(admin=True))
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT backend, state FROM run")).all() == [
                ("mpi", "failed")]
            rows = connection.execute(text(
                "SELECT block.map_index, block.state, parent.name FROM block "
                "JOIN block AS parent ON block.parent_id = parent.id "
                "WHERE block.name = 'compute' AND block.map_index IS NOT NULL "
                "ORDER BY block.map_index")).all()
    finally:
        engine.dispose()
    assert (4, "failed", "contract_items") in rows
    finished = {value for value, _ in pipeline.logged("done")}
    assert {(index, "success", "contract_items") for index in finished} <= set(rows)
    assert all(state != "running" for _, state, _ in rows)


# -- other ways to start -----------------------------------------------------------------------
def test_spawned_workers_without_a_launcher(tmp_path: Path) -> None:
    pipeline = ContractPipeline(tmp_path / "pipeline", "mpi", {}, LIMIT)
    pipeline.log.write_text("")
    done = subprocess.run(pipeline.command("contract_map", "--n", "12", "--db-untracked"),
                          cwd=pipeline.root, capture_output=True, text=True, timeout=LIMIT,
                          env={**os.environ, "MPI4PY_FUTURES_MAX_WORKERS": "3"})
    assert done.returncode == 0, done.stderr
    assert pipeline.results(done) == [[{"result": value * 10}] for value in range(12)]
    assert len({pid for _, pid in pipeline.logged("start")}) == 3


def test_a_bad_worker_count_is_one_line(tmp_path: Path) -> None:
    pipeline = ContractPipeline(tmp_path / "pipeline", "mpi", {"mpi": {"max_workers": 0}},
                                LIMIT)
    done = pipeline.run("contract_map", "--n", "2", "--db-untracked", check=False)
    assert done.returncode != 0
    assert _errors(done.stderr) == [
        "outflow: error: mpi.max_workers must be a positive integer, got 0"], done.stderr


def test_other_commands_and_backends_under_mpiexec_release_the_ranks(
        pipeline: ContractPipeline, mpiexec: Path) -> None:
    listed = subprocess.run(["timeout", str(LIMIT), str(mpiexec), "-n", "3", sys.executable,
                             "-m", "outflow", "plugins", "list"], cwd=pipeline.root,
                            capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("BACKEND ") == 1, listed.stdout  # rank 0 alone prints
    assert "\nmpi " in listed.stdout
    pipeline.backend = "default"
    done = pipeline.run("contract_map", "--n", "4", "--db-untracked")
    assert pipeline.results(done) == [[{"result": value * 10}] for value in range(4)]


# -- inside a Slurm allocation --------------------------------------------------------------
@pytest.mark.parametrize("launch", ["srun --mpi=pmi2", "mpiexec -n 3"])
def test_inside_a_slurm_allocation(pipeline: ContractPipeline, slurm_conf: Path,
                                   launch: str) -> None:
    """A batch job of 3 tasks on the test cluster runs the map on its ranks, started by
    Slurm's own launcher (PMI-2) or by the MPI's (which starts its ranks through Slurm)."""
    env = {**os.environ, "SLURM_CONF": str(slurm_conf)}
    output = pipeline.root / "job.out"
    command = " ".join([launch, sys.executable, "-m", "outflow", "contract_map", "--n", "6",
                        "--db-untracked", "--backend", "mpi"])
    submitted = subprocess.run(["sbatch", "--parsable", "--ntasks=3", f"--output={output}",
                                f"--chdir={pipeline.root}", "--wrap", command],
                               capture_output=True, text=True, env=env, timeout=LIMIT)
    assert submitted.returncode == 0, submitted.stderr
    job = submitted.stdout.strip().split(";")[0]
    deadline = time.monotonic() + LIMIT
    while subprocess.run(["squeue", "-h", "-j", job], capture_output=True, text=True,
                         env=env, timeout=LIMIT).stdout.strip():
        if time.monotonic() > deadline:
            subprocess.run(["scancel", job], env=env, timeout=LIMIT, check=False)
            pytest.fail(f"the job did not end:\n{output.read_text()}")
        time.sleep(0.5)
    text = output.read_text()
    assert text.count("RESULTS ") == 1, text  # rank 0 alone prints
    assert pipeline.results(subprocess.CompletedProcess([], 0, text, "")) == [
        [{"result": value * 10}] for value in range(6)]
    assert len({pid for _, pid in pipeline.logged("start")}) == 2  # the two other ranks


LOGGING_COMMAND = '''


@RootCommand.subcommand()
class ContractLogs(Command):
    """A map whose items log a warning each, from the worker ranks."""

    def add_arguments(self):
        self.add_argument("--n", type=int, default=8)

    def setup_tasks(self):
        @as_task
        def Say(value: int) -> {"said": int}:
            time.sleep(0.1)
            logging.getLogger("contract").warning(f"rank says {value}")
            return value

        Values() | MapWorkflow(Say(), name="sayings", output_name="results") | Show()
'''


def test_on_a_terminal_the_workers_log_lines_are_written_above_the_bar(
        tmp_path: Path, in_a_terminal: Any) -> None:
    # Spawned workers: the driver runs in the terminal. (Under mpiexec, rank 0's stderr
    # is the launcher's pipe, not a terminal: no bar is drawn there.)
    pipeline = ContractPipeline(tmp_path / "pipeline", "mpi", {}, LIMIT)
    commands = pipeline.root / "plugins" / "contract" / "outflow_contract_plugin" / "commands.py"
    commands.write_text("import logging\n" + commands.read_text() + LOGGING_COMMAND)
    output = in_a_terminal(["timeout", str(LIMIT), *pipeline.command(
        "contract_logs", "--db-untracked")], pipeline.root,
        env={"MPI4PY_FUTURES_MAX_WORKERS": "2"})
    assert "workflow sayings [########################] 8/8 items" in output, repr(output)
    # Each line starts on a cleared line (the bar erased) or after another line, whole.
    said = re.findall(r"(?:(?<=\r\x1b\[K)|(?<=\r\n)|^)(\d{4}-\d\d-\d\d [\d:,]+ - contract - \S+ - "
                      r"WARNING - rank says \d+)\r\n", output)
    assert len(said) == 8, repr(output)

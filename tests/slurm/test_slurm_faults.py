"""The slurm backend when the cluster misbehaves: a controller that crashes mid-run, a
queue that does not answer for a while."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from slurmkit import SlurmPipeline, finish, live_jobs


def _results(out: str, err: str) -> list[int]:
    return SlurmPipeline.results(subprocess.CompletedProcess([], 0, out, err))


def test_a_controller_crash_mid_run_loses_nothing_and_leaves_nothing_queued(
        tmp_path: Path, slurm_conf: Path) -> None:
    pidfile = slurm_conf.parent / "slurmctld.pid"
    if not pidfile.exists():
        pytest.skip("not the tests' own cluster: its controller is not killed here")
    pipeline = SlurmPipeline(tmp_path / "pipeline")
    process = pipeline.start("--n", "4", "--sleep", "12", "--db-untracked")
    pipeline.wait_for(lambda: len(pipeline.logged("start")) == 4, process)
    # A controller saves its jobs a moment after a change: one killed before that
    # forgets the array (a lost job, reported as such); this test is about one that
    # remembers it.
    started = time.time()
    job_state = slurm_conf.parent / "state" / "job_state"
    pipeline.wait_for(lambda: job_state.stat().st_mtime > started, process)

    # The controller dies, comes back a few seconds later from its saved state, in
    # which the array is pending: it kills the elements the node still runs, as
    # orphans, and starts them again.
    os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)
    time.sleep(4)
    subprocess.run(["slurmctld", "-f", str(slurm_conf)], check=True, timeout=60)

    out, err = finish(process, seconds=120)
    assert process.returncode == 0, err
    assert _results(out, err) == [0, 1, 4, 9]
    # Nothing of the run is left queued.
    assert live_jobs(_job_name(pipeline)) == []


def test_a_queue_that_does_not_answer_for_a_while_costs_a_warning_not_the_run(
        pipeline_factory) -> None:
    pipeline = pipeline_factory()
    process = pipeline.start("--n", "3", "--sleep", "4", "--db-untracked")
    pipeline.wait_for(lambda: len(pipeline.slurm_calls("squeue")) >= 1, process)
    failing = pipeline.root / "squeue-fails"
    failing.touch()
    pipeline.wait_for(lambda: any(line.startswith("squeue") for line in
                                  pipeline.calls.read_text().splitlines()[-1:]), process)
    time.sleep(2)  # several polling cycles: squeue fails each time
    failing.unlink()
    out, err = finish(process)
    assert process.returncode == 0, err
    assert _results(out, err) == [0, 1, 4]
    assert err.count("the Slurm queue did not answer") == 1, err
    assert "Socket timed out on send/recv operation" in err


@pytest.fixture
def pipeline_factory(tmp_path: Path):
    return lambda: SlurmPipeline(tmp_path / "pipeline")


def _job_name(pipeline: SlurmPipeline) -> str:
    [call] = pipeline.slurm_calls("sbatch")[:1]
    return next(argument.split("=", 1)[1] for argument in call
                if argument.startswith("--job-name="))

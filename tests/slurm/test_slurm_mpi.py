"""A map with ``mpi=True`` on the slurm backend: the whole map as one MPI job of
``ntasks`` ranks (``srun --mpi=pmi2``), on the test cluster, with the MPI backend's
plugin and the mpich wheel of the test environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from slurmkit import SlurmPipeline


@pytest.fixture
def pipeline(tmp_path: Path, mpiexec: Path, monkeypatch: pytest.MonkeyPatch) -> SlurmPipeline:
    # The job's ranks run this environment's Python, with its MPI library.
    monkeypatch.setenv("PATH", f"{mpiexec.parent}{os.pathsep}{os.environ['PATH']}")
    return SlurmPipeline(tmp_path / "pipeline", resources={"mpi": True, "ntasks": 3})


def test_the_map_is_one_job_whose_ranks_run_the_items(pipeline: SlurmPipeline) -> None:
    pipeline.upgrade_database()
    done = pipeline.run("--n", "12")
    assert pipeline.results(done) == [value * value for value in range(12)]
    [call] = pipeline.slurm_calls("sbatch")
    assert "--ntasks=3" in call and not any(option.startswith("--array") for option in call)
    workers = {entry["pid"] for entry in pipeline.logged("done")}
    assert len(workers) == 2  # ranks 1 and 2; rank 0 hands the items out
    # every item's blocks are tracked, under the map, with their index
    rows = pipeline.rows("SELECT block.map_index FROM block WHERE block.name = 'work' "
                         "ORDER BY block.map_index")
    assert rows == [(index,) for index in range(12)]


def test_a_failing_item_names_its_rank_and_the_finished_ones_stay(
        pipeline: SlurmPipeline) -> None:
    failed = pipeline.run("--n", "6", "--fail-at", "4", "--cache", "--db-untracked",
                          check=False)
    assert failed.returncode == 1, failed.stderr
    assert "item 4 failed in task work: ValueError: cannot work on 4; it ran on MPI rank" \
        in failed.stderr
    finished = {entry["value"] for entry in pipeline.logged("done")}
    again = pipeline.run("--n", "6", "--cache", "--db-untracked")
    assert pipeline.results(again) == [value * value for value in range(6)]
    assert not {entry["value"] for entry in pipeline.logged("start")} & finished


def test_mpi_needs_two_ranks(pipeline: SlurmPipeline) -> None:
    pipeline.configure({}, {"mpi": True, "ntasks": 1})
    done = pipeline.run("--n", "2", "--db-untracked", check=False)
    assert done.returncode == 2
    assert "ntasks must be 2 or more with mpi=True" in done.stderr
    assert pipeline.slurm_calls("sbatch") == []

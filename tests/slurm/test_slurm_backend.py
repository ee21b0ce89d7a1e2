"""The slurm backend against a real cluster: arrays, directives, failures, signals, cache."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from slurmkit import SlurmPipeline, finish, live_jobs

from outflow.core.test.backend_contract import assert_gone


@pytest.fixture
def pipeline(tmp_path: Path) -> SlurmPipeline:
    return SlurmPipeline(tmp_path / "pipeline")


def _map_directories(pipeline: SlurmPipeline) -> list[Path]:
    return sorted(pipeline.temp_dir.glob("slurm/*/map-*"))


# -- results ----------------------------------------------------------------------------
def test_fifty_items_come_back_in_input_order_from_one_array(pipeline: SlurmPipeline) -> None:
    pipeline.configure({"keep_files": True})
    done = pipeline.run("--n", "50", "--db-untracked")
    assert pipeline.results(done) == [value * value for value in range(50)]

    # one array of 50 elements, named after the run; each item ran in its own element
    [sbatch] = pipeline.slurm_calls("sbatch")
    assert "--array=0-49" in sbatch
    [job_name] = [argument for argument in sbatch if argument.startswith("--job-name=")]
    [run_directory] = pipeline.temp_dir.glob("slurm/*")
    assert job_name == f"--job-name=outflow-{run_directory.name}"
    started = pipeline.logged("start")
    assert sorted(entry["value"] for entry in started) == list(range(50))
    elements = {entry["element"] for entry in started}
    assert len(elements) == 50 and all("-" not in element for element in elements)
    driver = int(done.stdout.split("DRIVER ")[1].split()[0])
    assert driver not in {entry["pid"] for entry in started}

    # the queue is asked once per polling cycle for the whole map, never once per item
    squeue_calls = pipeline.slurm_calls("squeue")
    assert 1 <= len(squeue_calls) < 50
    assert all(call.count("-j") == 1 for call in squeue_calls)
    assert [call for call in pipeline.slurm_calls("scontrol")
            if call[:2] != ["show", "config"]] == []

    # one log per item, with what the item wrote to stderr
    [map_directory] = _map_directories(pipeline)
    logs = sorted((map_directory / "logs").iterdir())
    assert len(logs) == 50
    assert "working on 7" in (map_directory / "logs" / "0_7.log").read_text()
    assert oct(map_directory.stat().st_mode & 0o777) == oct(0o700)


def test_maps_above_the_array_size_are_split_into_several_arrays(
        pipeline: SlurmPipeline) -> None:
    pipeline.configure({"array_size": 3})
    done = pipeline.run("--n", "7", "--db-untracked")
    assert pipeline.results(done) == [value * value for value in range(7)]
    assert pipeline.submitted_arrays() == ["0-2", "0-2", "0-0"]
    assert len({entry["element"].split("_")[0] for entry in pipeline.logged("start")}) == 3
    assert _map_directories(pipeline) == []  # removed after success (keep_files: false)


def test_simultaneous_tasks_caps_the_elements_running_at_once(pipeline: SlurmPipeline) -> None:
    pipeline.configure({}, {"simultaneous_tasks": 2})
    done = pipeline.run("--n", "6", "--sleep", "1", "--db-untracked")
    assert pipeline.results(done) == [value * value for value in range(6)]
    assert pipeline.submitted_arrays() == ["0-5%2"]
    spans = {entry["value"]: [entry["time"], None] for entry in pipeline.logged("start")}
    for entry in pipeline.logged("done"):
        spans[entry["value"]][1] = entry["time"]
    for value, (begin, _end) in spans.items():
        overlapping = [other for other, (b, e) in spans.items() if b <= begin < e]
        assert len(overlapping) <= 2, (value, overlapping)


# -- failures ---------------------------------------------------------------------------
def test_a_raising_item_fails_the_map_with_its_own_exception(pipeline: SlurmPipeline) -> None:
    done = pipeline.run("--n", "6", "--fail-at", "3", "--db-untracked", check=False)
    assert done.returncode == 1, done.stderr
    assert re.search(r"item 3 of \w+ \w+ failed in task work: ValueError: cannot work on 3 "
                     r"\(.*\.py:\d+\)", done.stderr), done.stderr
    assert "Traceback" not in done.stderr
    [map_directory] = _map_directories(pipeline)  # kept after a failure: the logs
    assert "cannot work on 3" in (map_directory / "logs" / "0_3.log").read_text()


def test_a_cancelled_element_fails_its_item_with_state_log_and_last_lines(
        pipeline: SlurmPipeline) -> None:
    process = pipeline.start("--n", "4", "--hang-at", "2", "--db-untracked")
    pipeline.wait_for(lambda: any(entry["value"] == 2 for entry in pipeline.logged("start")),
                      process)
    [element] = [entry["element"] for entry in pipeline.logged("start") if entry["value"] == 2]
    cancelled_at = time.monotonic()
    subprocess.run(["scancel", element], check=True, timeout=60)
    _out, err = finish(process)
    assert time.monotonic() - cancelled_at < 30
    assert process.returncode == 1, err
    lines = [line for line in err.splitlines() if f"Slurm job {element}" in line]
    assert lines, err
    assert "item 2 of " in lines[0] and " failed" in lines[0]
    assert f"Slurm job {element} ended CANCELLED" in lines[0]
    assert "exit code 0:15" in lines[0]
    assert "logs/0_2.log" in lines[0] and "working on 2" in lines[0]
    assert live_jobs(_job_name(pipeline)) == []


def test_an_element_that_cannot_read_its_payload_says_temp_dir_is_not_shared(
        pipeline: SlurmPipeline, tmp_path: Path) -> None:
    """A node that does not see TEMP_DIR: here, an interpreter that looks elsewhere."""
    elsewhere = tmp_path / "not-shared"
    wrapper = tmp_path / "python-on-another-node"
    wrapper.write_text(f'#!/bin/sh\n# -m outflow.slurm.job MAP_DIR START\n'
                       f'exec {sys.executable} "$1" "$2" {elsewhere}/"$(basename "$3")" "$4"\n')
    wrapper.chmod(0o755)
    pipeline.configure({"python": str(wrapper)})
    began = time.monotonic()
    done = pipeline.run("--n", "5", "--db-untracked", check=False)
    assert time.monotonic() - began < 60
    assert done.returncode == 1, done.stderr
    assert "TEMP_DIR must be on a filesystem shared by the driver and the nodes" in done.stderr
    assert "ended FAILED" in done.stderr and "exit code 3:0" in done.stderr
    assert pipeline.logged("start") == []


@pytest.mark.parametrize(("slurm", "resources", "expected"), [
    ({}, {"partiton": "debug"}, "map work_map: partiton is not an sbatch directive "
                                "(did you mean 'partition'?)"),
    ({}, {"mem": "lots"}, "map work_map: mem must be a size such as 4G or 500M, "
                          "got 'lots'"),
    ({}, {"ntasks": 0}, "map work_map: ntasks must be a positive integer, got 0"),
    ({}, {"output": "x.log"}, "map work_map: output is an sbatch option that the slurm "
                              "backend sets itself"),
    ({"time": "soon"}, {}, "slurm.time must be a time limit"),
    ({"poll_interval": "fast"}, {}, "slurm.poll_interval must be a positive number of "
                                    "seconds, got 'fast'"),
], ids=["unknown", "mem", "count", "reserved", "config-time", "setting"])
def test_a_bad_directive_is_refused_before_anything_runs(
        pipeline: SlurmPipeline, slurm: dict, resources: dict, expected: str) -> None:
    pipeline.configure(slurm, resources)
    done = pipeline.run("--n", "3", "--db-untracked", check=False)
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    if slurm:  # the configuration's entries are named by file, line and column
        assert "config.json" in done.stderr
    assert pipeline.slurm_calls("sbatch") == []
    assert pipeline.logged("start") == []  # not even the tasks before the map ran


def test_an_unreachable_partition_is_sbatchs_own_message(pipeline: SlurmPipeline) -> None:
    pipeline.configure({}, {"partition": "no_such_partition"})
    done = pipeline.run("--n", "3", "--db-untracked", check=False)
    assert done.returncode == 1, done.stderr
    assert "sbatch refused the job array: " in done.stderr
    assert "invalid partition" in done.stderr.lower()


# -- signals ----------------------------------------------------------------------------
def _job_name(pipeline: SlurmPipeline) -> str:
    [call] = pipeline.slurm_calls("sbatch")[:1]
    return next(argument.split("=", 1)[1] for argument in call
                if argument.startswith("--job-name="))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_driver_cancels_its_jobs_before_it_exits(
        pipeline: SlurmPipeline, signum: int) -> None:
    """SIGTERM (a batch system stopping the driver) or SIGINT to the driver alone."""
    pipeline.upgrade_database()
    process = pipeline.start("--n", "30", "--sleep", "60")
    pipeline.wait_for(lambda: len(pipeline.logged("start")) >= 2, process)
    os.kill(process.pid, signum)
    _out, err = finish(process)
    assert process.returncode == 128 + signum, err
    assert live_jobs(_job_name(pipeline)) == []  # cancelled before the driver exited
    assert pipeline.slurm_calls("scancel")
    assert len(pipeline.logged("start")) < 30
    assert_gone({entry["pid"] for entry in pipeline.logged("start")}, seconds=30)
    assert pipeline.rows("SELECT state FROM run") == [("interrupted",)]


def test_items_that_cannot_start_say_why_and_are_cancelled_with_the_run(
        pipeline: SlurmPipeline) -> None:
    """Held elements (sbatch --hold) never start: the driver says why they wait."""
    pipeline.configure({}, {"hold": True})
    process = pipeline.start("--n", "3", "--db-untracked")
    pipeline.wait_for(lambda: len(pipeline.slurm_calls("squeue")) >= 2, process)
    os.kill(process.pid, signal.SIGTERM)
    _out, err = finish(process)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert ("map work_map: 3 item(s) wait in the Slurm queue because of JobHeldUser"
            in err), err
    assert err.count("because of JobHeldUser") == 1
    assert live_jobs(_job_name(pipeline)) == []


# -- cache ------------------------------------------------------------------------------
def test_a_rerun_with_cache_submits_only_the_missing_items(pipeline: SlurmPipeline) -> None:
    # The failing item waits a second, so that the items running beside it have written
    # their cache entries before the failure cancels the run's jobs.
    failed = pipeline.run("--n", "6", "--fail-at", "4", "--fail-delay", "1", "--cache",
                          "--db-untracked", check=False)
    assert failed.returncode == 1 and "item 4 of " in failed.stderr, failed.stderr
    finished = {entry["value"] for entry in pipeline.logged("done")}
    assert 4 not in finished
    again = pipeline.run("--n", "6", "--cache", "--db-untracked")
    assert pipeline.results(again) == [value * value for value in range(6)]
    missing = 6 - len(finished)
    assert pipeline.submitted_arrays() == [f"0-{missing - 1}"]
    assert {entry["value"] for entry in pipeline.logged("start")} == set(range(6)) - finished
    third = pipeline.run("--n", "6", "--cache", "--db-untracked")
    assert pipeline.results(third) == pipeline.results(again)
    assert pipeline.slurm_calls("sbatch") == []  # all from the cache: nothing submitted


# -- tracking ---------------------------------------------------------------------------
def test_a_tracked_run_on_sqlite_warns_once_and_records_every_item(
        pipeline: SlurmPipeline) -> None:
    pipeline.upgrade_database()
    done = pipeline.run("--n", "5")
    assert done.stderr.count("SQLite is not safe for concurrent writers") == 1
    assert pipeline.rows("SELECT backend, state FROM run") == [("slurm", "success")]
    assert pipeline.rows("SELECT map_index, state FROM block WHERE name = 'work' "
                         "AND map_index IS NOT NULL ORDER BY map_index") == [
        (index, "success") for index in range(5)]


def test_a_tracked_run_on_postgresql_records_every_item_under_its_map(
        tmp_path: Path, postgresql_fixture) -> None:
    from sqlalchemy import create_engine, text

    pipeline = SlurmPipeline(tmp_path / "pipeline",
                             databases={"default": postgresql_fixture.config})
    pipeline.upgrade_database()
    done = pipeline.run("--n", "6", "--fail-at", "4", check=False)
    assert done.returncode == 1, done.stderr
    assert "SQLite" not in done.stderr
    engine = create_engine(postgresql_fixture.url(admin=True))
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT backend, state FROM run")).all() == [
                ("slurm", "failed")]
            rows = connection.execute(text(
                "SELECT block.map_index, block.state, parent.name FROM block "
                "JOIN block AS parent ON block.parent_id = parent.id "
                "WHERE block.name = 'work' AND block.map_index IS NOT NULL "
                "ORDER BY block.map_index")).all()
    finally:
        engine.dispose()
    # the failing item, and every item that finished (even if its element was cancelled
    # while it wrote its rows), each once, under the map; none left running
    assert (4, "failed", "work_map") in rows
    finished = {entry["value"] for entry in pipeline.logged("done")}
    assert {(index, "success", "work_map") for index in finished} <= set(rows)
    assert all(parent == "work_map" and state != "running" for _, state, parent in rows)
    assert len({index for index, _, _ in rows}) == len(rows)


def test_an_item_past_the_maps_timeout_is_stopped_by_slurm_and_named(
        pipeline: SlurmPipeline) -> None:
    # timeout=1 s is a time limit of one minute (Slurm's resolution): the hanging item
    # is stopped by Slurm a minute or so later; the map keeps going, so the others end.
    pipeline.configure({}, {"timeout": 1})
    done = pipeline.run("--n", "3", "--hang-at", "1", "--keep-going", "--db-untracked",
                        check=False)
    assert done.returncode == 1, done.stderr
    assert "1 of 3 items of workflow work_map failed: item 1: TimeoutError: it ran longer " \
           "than its time limit of 1 min (Slurm job " in done.stderr, done.stderr
    assert " ended TIMEOUT " in done.stderr and "(2 of 3 items finished" in done.stderr
    assert sorted(entry["value"] for entry in pipeline.logged("done")) == [0, 2]
    assert [argument for call in pipeline.slurm_calls("sbatch")
                            for argument in call if argument.startswith("--time")] == ["--time=1"]

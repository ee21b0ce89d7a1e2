"""Signals stop a run cleanly on every backend; kill -9 leaves a run shown as crashed.

SIGTERM is what ``timeout``, Slurm and ``docker stop`` send, SIGHUP what a closed
terminal sends, SIGINT what Ctrl-C sends. Sent to the driver alone (``kill PID``) or
to its whole process group (a terminal, systemd), each one must: stop the run within
seconds, print one line, exit 128 + signal, record the run as ``interrupted`` with an
end time and no block left ``running``, keep the rows of the items that finished, and
leave no process behind.
"""

from __future__ import annotations

import os
import signal

import pytest
from faultkit import FaultPipeline, assert_nothing_left, finish

SIGNALS = [signal.SIGTERM, signal.SIGHUP, signal.SIGINT]


@pytest.mark.parametrize("backend", ["default", "parallel"])
@pytest.mark.parametrize("signum", SIGNALS, ids=lambda signum: signal.Signals(signum).name)
@pytest.mark.parametrize("target", ["driver", "group"])
def test_a_signal_stops_the_run_and_loses_no_finished_row(
        fault_pipeline: FaultPipeline, backend: str, signum: int, target: str) -> None:
    # Items 0 and 1 finish at once; the others sleep until the signal comes.
    process = fault_pipeline.start("fault_map", "--n", "8", "--fast", "2", "-b", backend)
    fault_pipeline.wait_for(lambda: len(fault_pipeline.logged("done")) >= 2
                            and len(fault_pipeline.logged("start")) >= 3, process)
    if target == "driver":
        os.kill(process.pid, signum)
    else:
        os.killpg(process.pid, signum)
    _out, err = finish(process)

    name = signal.Signals(signum).name
    assert process.returncode == 128 + signum, err
    assert err.strip().splitlines()[-1] == f"outflow: error: interrupted by {name}", err
    assert "Traceback" not in err
    run_id, state, end_time = fault_pipeline.last_run()
    assert state == "interrupted" and end_time is not None
    assert fault_pipeline.rows("SELECT count(*) FROM block WHERE run_id = ? AND "
                               "state = 'running'", run_id) == [(0,)]
    finished = {value for value, _ in fault_pipeline.logged("done")}
    recorded = {index for (index,) in fault_pipeline.rows(
        "SELECT map_index FROM block WHERE run_id = ? AND name = 'work' AND state = 'success'",
        run_id)}
    assert finished <= recorded, f"rows lost for items {finished - recorded}"
    assert_nothing_left(fault_pipeline, process)


@pytest.mark.parametrize("backend", ["default", "parallel"])
def test_kill_9_leaves_a_run_shown_as_crashed(fault_pipeline: FaultPipeline,
                                              backend: str) -> None:
    process = fault_pipeline.start("fault_map", "--n", "6", "-b", backend)
    fault_pipeline.wait_for(lambda: fault_pipeline.logged("start"), process)
    os.kill(process.pid, signal.SIGKILL)
    finish(process)
    assert process.returncode == -signal.SIGKILL
    run_id, state, _ = fault_pipeline.last_run()
    assert state == "running"  # nobody was left to say otherwise...
    listed = fault_pipeline.run("management", "list_runs")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(str(run_id)))
    assert row.split()[-1] == "crashed"  # ...but the inspection commands know
    debug = fault_pipeline.run("management", "debug", str(run_id))
    assert "[crashed]" in debug.stdout.splitlines()[0], debug.stdout
    assert_nothing_left(fault_pipeline, process)


def test_a_live_run_is_not_shown_as_crashed(fault_pipeline: FaultPipeline) -> None:
    process = fault_pipeline.start("fault_map", "--n", "4", "-b", "parallel")
    try:
        fault_pipeline.wait_for(lambda: fault_pipeline.logged("start"), process)
        listed = fault_pipeline.run("management", "list_runs")
        run_id, _, _ = fault_pipeline.last_run()
        row = next(line for line in listed.stdout.splitlines()
                   if line.startswith(str(run_id)))
        assert row.split()[-1] == "running"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        finish(process)


@pytest.mark.parametrize("backend", ["default", "parallel"])
def test_an_item_that_exits_its_process(fault_pipeline: FaultPipeline, backend: str) -> None:
    """On ``parallel`` the worker dies and the run fails naming the item; on ``default``
    the item runs in the driver, which ``os._exit`` ends like kill -9: crashed.

    Items of 0.2 s: a worker writes its rows after each item that long (see the
    tracker's WORKER_FLUSH_SHARE), so the items finished before the fatal one keep
    theirs. (Of trivial items, a killed worker loses the rows and results it had not
    written or sent yet: at most a few milliseconds of work.)"""
    done = fault_pipeline.run("fault_map", "--n", "6", "--sleep", "0.2", "--exit-at", "3",
                              "-b", backend)
    run_id, state, _ = fault_pipeline.last_run()
    if backend == "parallel":
        assert done.returncode == 1, done.stderr
        line = done.stderr.strip().splitlines()[-1]
        assert "item 3 of " in line and "exited with code 3" in line, line
        assert state == "failed"
        finished = {value for value, _ in fault_pipeline.logged("done")}
        recorded = {index for (index,) in fault_pipeline.rows(
            "SELECT map_index FROM block WHERE run_id = ? AND name = 'work' "
            "AND state = 'success'", run_id)}
        assert finished <= recorded, f"rows lost for items {finished - recorded}"
    else:
        assert done.returncode == 3
        listed = fault_pipeline.run("management", "list_runs")
        row = next(line for line in listed.stdout.splitlines()
                   if line.startswith(str(run_id)))
        assert row.split()[-1] == "crashed"

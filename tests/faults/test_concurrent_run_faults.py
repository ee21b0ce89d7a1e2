"""Several tracked runs share one SQLite database; one of them is killed."""

from __future__ import annotations

import os
import signal

from faultkit import FaultPipeline, assert_nothing_left, finish


def test_four_concurrent_runs_while_one_is_killed(fault_pipeline: FaultPipeline) -> None:
    runs = [fault_pipeline.start("fault_map", "--n", "6", "--sleep", "0.3", "-b", backend)
            for backend in ("default", "parallel", "default", "parallel")]
    victim = runs[0]  # a default-backend run: its items run in its own process
    fault_pipeline.wait_for(
        lambda: victim.pid in {pid for _, pid in fault_pipeline.logged("start")}, victim)
    os.kill(victim.pid, signal.SIGKILL)
    for run in runs:
        _out, err = finish(run, seconds=120)
        if run is not victim:
            assert run.returncode == 0, err
            assert "database is locked" not in err and "could not write" not in err, err
    assert victim.returncode == -signal.SIGKILL

    rows = fault_pipeline.rows("SELECT id, state FROM run ORDER BY id")
    assert len(rows) == 4 and [state for _, state in rows].count("success") == 3
    listed = fault_pipeline.run("management", "list_runs")
    states = [line.split()[-1] for line in listed.stdout.splitlines()[1:]]
    assert sorted(states) == ["crashed", "success", "success", "success"], listed.stdout
    for run_id, state in rows:
        if state == "success":
            done = fault_pipeline.rows("SELECT map_index FROM block WHERE run_id = ? AND "
                                       "name = 'work' AND state = 'success'", run_id)
            assert sorted(index for (index,) in done) == list(range(6))
    for run in runs:
        assert_nothing_left(fault_pipeline, run)

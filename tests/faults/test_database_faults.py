"""A task holds a write transaction on the pipeline's SQLite database while a map runs.

Tracking writes to the same file from the driver and from every worker. None of them
may wait for the transaction to end while items wait behind them: the run goes on at
full speed, its rows are written once the transaction is over, and nothing is lost.
"""

from __future__ import annotations

import time

import pytest
from faultkit import FaultPipeline


@pytest.mark.parametrize("backend", ["default", "parallel"])
def test_a_transaction_held_during_a_map_delays_no_item_and_loses_no_row(
        fault_pipeline: FaultPipeline, backend: str) -> None:
    started = time.monotonic()
    done = fault_pipeline.run("fault_map", "--n", "20", "--sleep", "0.05", "--hold",
                              "-b", backend)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert elapsed < 20, f"the run waited for the held transaction ({elapsed:.0f} s)"
    assert fault_pipeline.rows("SELECT count(*) FROM held") == [(1,)]
    run_id, state, end_time = fault_pipeline.last_run()
    assert state == "success" and end_time is not None
    work = fault_pipeline.rows("SELECT map_index, state, parent_id FROM block "
                               "WHERE run_id = ? AND name = 'work'", run_id)
    assert sorted(index for index, _, _ in work) == list(range(20))
    assert {state for _, state, _ in work} == {"success"}
    (mapped,) = fault_pipeline.rows("SELECT id FROM block WHERE run_id = ? AND "
                                    "name = 'work_items'", run_id)
    assert {parent for _, _, parent in work} == {mapped[0]}

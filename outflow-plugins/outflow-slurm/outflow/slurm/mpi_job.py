"""A whole map as one MPI job: ``srun --mpi=pmi2 python -m outflow.slurm.mpi_job MAP_DIR``.

A map with ``mpi=True`` is one Slurm job of ``ntasks`` ranks instead of a job array.
Every rank starts here:

- rank 0 reads the map's payload (see :mod:`outflow.slurm.submission`) and hands the
  items to the other ranks with the MPI backend's own dispatch
  (:mod:`outflow.mpi.dispatch`: chunks, results in order, the first failure);
- the other ranks serve it (:mod:`outflow.mpi.serve`): their WorkerKit sets them up,
  and they record their blocks in the run database like array elements do.

When the items are done, rank 0 releases the ranks (each writes its tracking rows
and says so), then writes the same files as the elements of an array:
``result-<position>.pkl`` for each item that finished, and for the failing item its
failure; the driver reads them as usual. Rows first, results after: when the driver
sees a result, its rows are in the database. Items a failure left unrun get no
file (the driver stops at the failure). An error of rank 0 itself ends the job with
a non-zero status, which the driver reports with the job's log.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from outflow.slurm.job import PAYLOAD_MISSING, _payload, _write_result


def main(argv: list[str] | None = None) -> int:
    from outflow.mpi.launch import launched_rank

    launched = launched_rank()
    if launched is not None and launched[0] != 0:
        from outflow.mpi.serve import serve_world

        return serve_world()
    from outflow.mpi.ranks import release_world, world_link

    link = world_link()
    if link is None:
        print("outflow: mpi=True needs a job of 2 tasks or more, started by an MPI "
              "launcher (srun --mpi=pmi2)", file=sys.stderr)
        return 2
    map_dir = Path((sys.argv[1:] if argv is None else argv)[0])
    status = 1
    try:
        try:
            workflow, items = _payload(map_dir)
        except FileNotFoundError as error:
            print(f"outflow: cannot read the map's payload {error.filename}: TEMP_DIR must "
                  "be on a filesystem shared by the driver and the nodes", file=sys.stderr)
            status = PAYLOAD_MISSING
            return status
        outcomes = _run(link, workflow, items, (map_dir / "workflow.pkl").read_bytes())
        status = 0
    finally:
        release_world(status)
    for position, outcome in outcomes.items():
        _write_result(workflow, items[position], outcome, map_dir, position)
    return 0


def _run(link: Any, workflow: Any, items: list[Any], payload: bytes
         ) -> dict[int, tuple[Any, Any]]:
    """``{position: (result, failure)}`` of the items that finished, and of the failing
    one."""
    from outflow.core.backends import ItemFailure
    from outflow.mpi.dispatch import MapDispatch

    dispatch = MapDispatch(link, workflow, items, len(link.workers), 1, payload, {})
    try:
        results = dispatch.run()
    except ItemFailure as failure:
        print(f"outflow: {failure.describe()}\n{failure.traceback_text()}", file=sys.stderr,
              flush=True)
        positions = {getattr(item, "index", position): position
                     for position, item in enumerate(items)}
        done: dict[int, tuple[Any, Any]] = {
            position: (dispatch.results[position], None) for position in dispatch.landed}
        done[positions.get(failure.index, 0)] = (None, failure)
        return done
    return {position: (result, None) for position, result in enumerate(results)}


if __name__ == "__main__":
    sys.exit(main())

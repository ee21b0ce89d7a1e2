"""One element of a map's job array: ``python -m outflow.slurm.job MAP_DIR START``.

The element runs the item at position ``START + SLURM_ARRAY_TASK_ID`` of the map whose
payload is in ``MAP_DIR`` (see :mod:`outflow.slurm.submission`): it checks the directory
is private, reads the workflow (its WorkerKit sets this process up: plugins, context,
the hook ``outflow_worker_started``) and the items, runs its item with the kernel's
``run_chunk``, and writes ``result-<position>.pkl`` atomically: ``(result, failure)``.
An item that raises is a result too (its ``ItemFailure``): the element writes the
traceback to its log and exits 0, and the driver reports the failure with the item's
own exception.

When the payload cannot be read (``MAP_DIR`` is not on a filesystem the node shares
with the driver), the element says so on stderr and exits :data:`PAYLOAD_MISSING`.
SIGTERM (``scancel``, a time limit) stops the item; the element writes its tracking rows
and dies of that signal. The tracking rows are written before the result: when the
driver sees a result, that item's rows are in the database.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from pathlib import Path
from typing import Any

#: Exit status of an element that cannot read the map's payload.
PAYLOAD_MISSING = 3


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    map_dir, start = Path(arguments[0]), int(arguments[1])
    position = start + int(os.environ["SLURM_ARRAY_TASK_ID"])
    try:
        workflow, items = _payload(map_dir)
    except FileNotFoundError as error:
        print(f"outflow: cannot read the map's payload {error.filename}: TEMP_DIR must be on "
              "a filesystem shared by the driver and the nodes", file=sys.stderr)
        return PAYLOAD_MISSING
    from outflow.core.backends.worker import finish_worker
    from outflow.core.interrupts import Interrupted, die_of, signals_deferred, signals_interrupt

    stops = (signal.SIGTERM, signal.SIGHUP)
    outcome: tuple[Any, Any] | None = None
    stopped_by: int | None = None
    # A stop signal (scancel, the time limit) interrupts the item; one that comes after
    # it waits until the tracking rows and the result are written: the driver cancels
    # the elements still running as soon as one fails, and what finished must stay.
    with signals_deferred(stops) as late:
        try:
            with signals_interrupt(stops):
                outcome = _run(workflow, items[position])
        except Interrupted as interrupted:
            stopped_by = interrupted.signum
        finally:
            finish_worker()  # the rows of the item's blocks are written
        if outcome is not None:
            _write_result(workflow, items[position], outcome, map_dir, position)
    if stopped_by is None and late:
        stopped_by = late[0]
    if stopped_by is not None:
        die_of(stopped_by)
    return 0


def _payload(map_dir: Path) -> tuple[Any, list[Any]]:
    from outflow.core.private_directory import check_private

    if not map_dir.is_dir():
        raise FileNotFoundError(2, "no such directory", str(map_dir))
    check_private(map_dir, "map directory")
    return _load(map_dir / "workflow.pkl"), _load(map_dir / "items.pkl")


def _load(path: Path) -> Any:
    from outflow.core.private_directory import check_private_file

    with open(path, "rb") as handle:
        check_private_file(handle.fileno(), path, "map payload")
        return pickle.load(handle)


def _run(workflow: Any, item: Any) -> tuple[Any, Any]:
    """Set the worker up and run the item: ``(result, None)`` or ``(None, failure)``."""
    from outflow.core.backends.worker import ensure_worker, run_chunk

    if workflow.worker_kit is not None:
        ensure_worker(workflow.worker_kit)
    results, failure = run_chunk(workflow, [item])
    if failure is not None:  # the element's log tells the whole story too
        print(f"outflow: {failure.describe()}\n{failure.traceback_text()}",
              file=sys.stderr, flush=True)
    return (results[0] if results else None, failure)


def _write_result(workflow: Any, item: Any, outcome: tuple[Any, Any], map_dir: Path,
                  position: int) -> None:
    """``result-<position>.pkl``, atomically: the driver sees all of it or nothing."""
    import cloudpickle

    from outflow.core.atomic_write import write_atomically
    from outflow.core.backends import ItemFailure

    try:
        data = cloudpickle.dumps(outcome)
    except Exception as error:  # noqa: BLE001 - the driver must get an answer
        failure = ItemFailure.of(workflow, item, TypeError(
            f"its result cannot be sent back to the driver: {type(error).__name__}: {error}"))
        data = cloudpickle.dumps((None, failure))
    write_atomically(map_dir / f"result-{position}.pkl", data)


if __name__ == "__main__":
    sys.exit(main())

"""Run tracking, driven by the kernel's run-lifecycle hooks (see ``plugin.py``).

This module decides *whether* a run is tracked and starts or finishes its
:class:`~outflow.management.tracker.Tracker`; it imports SQLAlchemy only when a run is
tracked, so untracked commands (``--db-untracked``, ``db_untracked=True``, dry runs)
never touch a database nor create a database file.

The live tracker is kept in ``run.extra[TRACKER_KEY]`` so that the per-block hooks
find it with one dictionary lookup. The process that started the run writes the run
row and its own blocks. A tracker pickled to a worker process (the run travels in
the context snapshot) arrives as ``None``, with the run's database ids
(``run.extra[IDS_KEY]``): the worker's first block hook then attaches a
:class:`~outflow.management.tracker.WorkerTracker` of its own (see
:func:`worker_tracker`), which writes the blocks run there with the worker's own
connections. A forked copy of the driver's tracker ignores the hooks (it checks its
process id): it never writes the driver's rows nor uses its connections.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

#: ``run.extra`` key of the live tracker (None when the run is not tracked).
TRACKER_KEY = "outflow.management.tracker"
#: ``run.extra`` key of the database ids of the run: ``{"run_id": .., "configuration_id": ..}``,
#: and the pid of the driver (``"pid"``; its host is ``RunInfo.hostname``).
IDS_KEY = "outflow.management"

log = logging.getLogger(__name__)


def detached() -> None:
    """What a tracker becomes when pickled: nothing (a worker makes its own)."""
    return None


def is_untracked(run: Any, pipeline_context: Any) -> bool:
    """True when the run must write nothing: untracked command or option, or a dry run."""
    if run is None or getattr(run, "db_untracked", False):
        return True
    if pipeline_context is None:
        return True
    return bool(
        getattr(pipeline_context, "db_untracked", False)
        or getattr(pipeline_context, "dry_run", False)
        or getattr(pipeline_context, "force_dry_run", False)
    )


def run_started(run: Any) -> None:
    """Record the run (and its configuration) and attach a tracker to it.

    A database that is unreachable or lacks outflow's tables stops the run here, with
    a message saying how to fix it, rather than losing its history silently.
    """
    from outflow.core.pipeline.context import active_context, has_active_context

    pipeline_context = active_context() if has_active_context() else None
    if is_untracked(run, pipeline_context) or IDS_KEY in run.extra:
        return  # untracked, or already started (the hook may be called twice)
    from outflow.management.tracker import Tracker

    tracker = Tracker(pipeline_context.databases, run, pipeline_context.config)
    tracker.start()
    run.extra[IDS_KEY] = {"run_id": tracker.run_id,
                          "configuration_id": tracker.configuration_id,
                          "pid": os.getpid()}
    run.extra[TRACKER_KEY] = tracker


def worker_tracker(run: Any) -> Any:
    """The tracker of this worker process for ``run``, created on first use; or None.

    Called by the block hooks when ``run.extra[TRACKER_KEY]`` is None: the run is
    tracked by another process (the driver) and reached this one pickled. Returns
    None, and stops looking (the key is removed), when the run is untracked here or
    this process is the driver (a pickled copy of its run).
    """
    from outflow.core.pipeline.context import active_context, has_active_context

    ids = run.extra.get(IDS_KEY)
    pipeline_context = active_context() if has_active_context() else None
    if (not isinstance(ids, dict) or "run_id" not in ids or is_driver(run)
            or is_untracked(run, pipeline_context)):
        run.extra.pop(TRACKER_KEY, None)
        return None
    try:
        from outflow.management.tracker import WorkerTracker

        tracker = WorkerTracker(pipeline_context.databases, run, pipeline_context.config, ids)
    except Exception as error:  # noqa: BLE001 - tracking never fails a running pipeline
        from outflow.core.configuration.secrets import mask_text

        log.warning("outflow: blocks run in process %s are not tracked: %s", os.getpid(),
                    mask_text(f"{type(error).__name__}: {error}", pipeline_context.config))
        run.extra.pop(TRACKER_KEY, None)
        return None
    run.extra[TRACKER_KEY] = tracker
    return tracker


def is_driver(run: Any) -> bool:
    """Whether this process started ``run`` (and so owns its tracker): its pid, on the
    host the run was made on (``RunInfo.hostname``)."""
    ids = run.extra.get(IDS_KEY) or {}
    return ids.get("pid") == os.getpid() and run.hostname == socket.gethostname()


def run_finished(run: Any, state: str, error: BaseException | None) -> None:
    """Write what is buffered and finalise the run row (end time and state)."""
    if run is None:
        return
    tracker = run.extra.pop(TRACKER_KEY, None)
    if tracker is not None:
        tracker.finish(state, error)


__all__ = ["IDS_KEY", "TRACKER_KEY", "detached", "is_driver", "is_untracked", "run_finished",
           "run_started", "worker_tracker"]

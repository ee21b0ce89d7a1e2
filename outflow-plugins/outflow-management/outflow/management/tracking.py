"""Run tracking, driven by the kernel's run-lifecycle hooks (see ``plugin.py``).

This module decides *whether* a run is tracked and starts or finishes its
:class:`~outflow.management.tracker.Tracker`; it imports SQLAlchemy only when a run is
tracked, so untracked commands (``--db-untracked``, ``db_untracked=True``, dry runs)
never touch a database nor create a database file.

The live tracker is kept in ``run.extra[TRACKER_KEY]`` so that the per-block hooks
find it with one dictionary lookup. The process that started the run writes the run
row and its own blocks. A tracker pickled to a worker process (the run travels in
the context snapshot) arrives as ``None``, with the run's database ids
(``run.extra[IDS_KEY]``); the kernel's worker hooks then give the worker a
:class:`~outflow.management.tracker.WorkerTracker` of its own (:func:`worker_started`),
which writes the blocks run there with the worker's own connections, and is flushed
when the worker ends (:func:`worker_finished`).
"""

from __future__ import annotations

import logging
import os
from typing import Any

#: ``run.extra`` key of the live tracker (None when the run is not tracked).
TRACKER_KEY = "outflow.management.tracker"
#: ``run.extra`` key of the database ids of the run: ``{"run_id": .., "configuration_id": ..}``.
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
                          "configuration_id": tracker.configuration_id}
    run.extra[TRACKER_KEY] = tracker
    run.id = tracker.run_id


def worker_started(pipeline_context: Any, run: Any) -> None:
    """A worker process starts running items of ``run``: give it a tracker of its own.

    Nothing when the run is untracked (or not tracked by a driver: no database ids).
    A tracker that cannot start is a warning: tracking never fails a running pipeline.
    """
    ids = run.extra.get(IDS_KEY) if run is not None else None
    if not isinstance(ids, dict) or "run_id" not in ids or is_untracked(run, pipeline_context):
        return
    try:
        from outflow.management.tracker import WorkerTracker

        tracker = WorkerTracker(pipeline_context.databases, run, pipeline_context.config, ids)
    except Exception as error:  # noqa: BLE001 - tracking never fails a running pipeline
        from outflow.core.configuration.secrets import mask_text

        log.warning("outflow: blocks run in process %s are not tracked: %s", os.getpid(),
                    mask_text(f"{type(error).__name__}: {error}", pipeline_context.config))
        return
    run.extra[TRACKER_KEY] = tracker


def worker_finished(run: Any) -> None:
    """The worker ends: write what its tracker buffered."""
    tracker = run.extra.pop(TRACKER_KEY, None) if run is not None else None
    if tracker is not None:
        tracker.close()


def run_finished(run: Any, state: str, error: BaseException | None) -> None:
    """Write what is buffered and finalise the run row (end time and state)."""
    if run is None:
        return
    tracker = run.extra.pop(TRACKER_KEY, None)
    if tracker is not None:
        tracker.finish(state, error)


__all__ = ["IDS_KEY", "TRACKER_KEY", "detached", "is_untracked", "run_finished", "run_started",
           "worker_finished", "worker_started"]

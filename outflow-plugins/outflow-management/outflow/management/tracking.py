"""Run tracking, driven by the kernel's run-lifecycle hooks (see ``plugin.py``).

This module decides *whether* a run is tracked and starts or finishes its
:class:`~outflow.management.tracker.Tracker`; it imports SQLAlchemy only when a run is
tracked, so untracked commands (``--db-untracked``, ``db_untracked=True``, dry runs)
never touch a database nor create a database file.

The live tracker is kept in ``run.extra[TRACKER_KEY]`` so that the per-block hooks
find it with one dictionary lookup. Only the process that started the run writes:
a tracker pickled to a worker process arrives as ``None``, and a forked copy
ignores the hooks (it checks its process id).
"""

from __future__ import annotations

import logging
from typing import Any

#: ``run.extra`` key of the live tracker (None when the run is not tracked).
TRACKER_KEY = "outflow.management.tracker"
#: ``run.extra`` key of the database ids of the run: ``{"run_id": .., "configuration_id": ..}``.
IDS_KEY = "outflow.management"

log = logging.getLogger(__name__)


def detached() -> None:
    """What a tracker becomes when pickled: nothing (workers never write)."""
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


def run_finished(run: Any, state: str, error: BaseException | None) -> None:
    """Write what is buffered and finalise the run row (end time and state)."""
    if run is None:
        return
    tracker = run.extra.pop(TRACKER_KEY, None)
    if tracker is not None:
        tracker.finish(state, error)


__all__ = ["IDS_KEY", "TRACKER_KEY", "detached", "is_untracked", "run_finished", "run_started"]

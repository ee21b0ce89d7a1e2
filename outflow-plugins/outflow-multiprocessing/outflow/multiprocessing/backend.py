"""The ``parallel`` backend (alias ``multiprocessing``): map items in worker processes.

Everything but the items of maps runs in the calling process (the driver), as with
the default backend. The items of every map run in a pool of worker processes on
this machine, never in the driver: an item that crashes its process (``os._exit``, a
segfault, the OOM killer) kills a worker, not the run, and is reported as a
:class:`~outflow.core.backends.WorkerDied` naming the item.

- One pool per run (:mod:`outflow.multiprocessing.pool`), started before the first
  task runs when the command has a map (the workers start while the driver sets the
  run up), else at the first map; it serves every map and stops in :meth:`close`.
  A worker that died is replaced at the next map.
- Each map sends its workflow once to each worker, with the worker's first chunk
  (pickled once, with cloudpickle, in the driver), then only items, in chunks
  (:mod:`outflow.multiprocessing.dispatch`). The workflow carries the run's
  :class:`~outflow.core.backends.WorkerKit`: a worker sets itself up from it
  (plugins, context, the hook ``outflow_worker_started``) with its first map.
- ``cpus_per_task`` (a map's resource) makes a map use ``workers // cpus_per_task``
  workers at a time; other resources are ignored.

Settings (the ``parallel`` section of the configuration): ``max_workers`` (default:
the CPUs this process may use), ``start_method`` (default: decided per platform, see
:mod:`outflow.multiprocessing.pool`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from outflow.core.backends import Backend, BackendError, Capabilities

if TYPE_CHECKING:
    from outflow.core.pipeline.context import PipelineContext
    from outflow.core.workflow.workflow import Workflow
    from outflow.multiprocessing.pool import WorkerPool


def available_cpus() -> int:
    """CPUs this process may run on (cgroups and ``taskset`` included)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cpus_per_task(resources: Mapping[str, Any] | None) -> int:
    """The CPUs one item needs (a map's ``cpus_per_task``; 1 when not given)."""
    return int((resources or {}).get("cpus_per_task") or 1)


class ParallelBackend(Backend):
    """Runs map items in a pool of worker processes on this machine."""

    name: ClassVar[str] = "parallel"
    capabilities: ClassVar[Capabilities] = Capabilities(
        parallel=True, other_processes=True, needs_shared_filesystem=False, remote=False,
        item_timeout=True,
    )

    def __init__(self, pipeline_context: PipelineContext) -> None:
        super().__init__(pipeline_context)
        self._pool: WorkerPool | None = None
        self._tokens = 0
        #: One map at a time uses the pool (a task may run a map from a thread).
        self._lock = threading.Lock()

    @property
    def pool_size(self) -> int:
        """Workers in the pool: the CPUs available, capped by ``max_workers``."""
        cap = self.option("max_workers")
        return max(1, min(available_cpus(), int(cap))) if cap else available_cpus()

    def workers_for(self, resources: Mapping[str, Any] | None) -> int:
        """How many items of a map may run at once: the pool's workers divided by the
        map's ``cpus_per_task``."""
        return max(1, self.pool_size // max(1, cpus_per_task(resources)))

    # -- the run ------------------------------------------------------------------
    def execute(self, workflow: Workflow) -> list[dict[str, Any]]:
        """Start the pool now if the command maps items (before any task runs: the
        safest moment to fork), then run the workflow as the base class does."""
        if workflow.maps_items or any(getattr(block, "maps_items", False)
                                      for block in workflow.iter_blocks()):
            self.pool()
        return super().execute(workflow)

    def pool(self) -> WorkerPool:
        """The run's pool, started on first use; dead workers are replaced."""
        if self.closed:
            raise BackendError("the parallel backend is closed")
        if self._pool is None:
            from outflow.multiprocessing.pool import WorkerPool

            self._pool = WorkerPool(self.pool_size, self.option("start_method"))
        self._pool.start()
        return self._pool

    # -- map ----------------------------------------------------------------------
    def map(self, workflow: Workflow, items: Sequence[Any], *,
            resources: Mapping[str, Any] | None = None) -> list[Any]:
        """Run ``workflow.run_item`` for each item in the pool; results in input order."""
        if not items:
            return []
        from outflow.core.backends.shipping import ship
        from outflow.multiprocessing.dispatch import MapDispatch

        with self._lock:
            pool = self.pool()
            payload = ship(workflow, "worker processes")
            self._tokens += 1
            timeout = (resources or {}).get("timeout")
            return MapDispatch(pool, workflow, items, self.workers_for(resources),
                               self._tokens, payload,
                               float(timeout) if timeout else None).run()

    def close(self) -> None:
        """Stop the workers (each writes what it still buffers, e.g. tracking rows)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()
        super().close()


__all__ = ["ParallelBackend", "available_cpus", "cpus_per_task"]

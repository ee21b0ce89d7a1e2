"""The ``mpi`` backend: map items run by the ranks of an MPI job.

Two ways to start, one engine:

- under an MPI launcher, ``mpiexec -n N python manage.py compute_data --backend mpi``
  (or ``srun --mpi=pmi2 ...`` in a Slurm allocation): rank 0 runs the command (the
  driver: it parses the command line, records the run, prints); ranks 1 to N-1 serve
  its map items (:mod:`outflow.mpi.serve`), and exit 0 when the command is over;
- without a launcher, ``python manage.py compute_data --backend mpi``: the backend
  spawns its workers (``MPI_Comm_spawn``) when the command has a map, as many as the
  ``max_workers`` setting, else ``MPI4PY_FUTURES_MAX_WORKERS``, else the CPUs this
  process may use. An MPI library that cannot spawn is a one-line error saying to
  start the run with ``mpiexec``.

Everything but the items of maps runs in the driver, as on the default backend. Each
map sends its workflow (pickled once, with the run's WorkerKit) to each worker with
the worker's first chunk, then only items (:mod:`outflow.mpi.dispatch`). Workers set
themselves up from the kit (plugins, context, ``outflow_worker_started``): run
tracking records their blocks with the right ``map_index``. A map nested in an item
runs in the worker that runs the item.

Settings (the ``mpi`` section of the configuration): ``max_workers`` (spawned
workers; under a launcher, at most that many ranks take items), ``release_timeout``
(seconds :meth:`MPIBackend.close` waits for the workers to write their rows, default
10).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from outflow.core.backends import Backend, BackendError, Capabilities

if TYPE_CHECKING:
    from outflow.core.pipeline.context import PipelineContext
    from outflow.core.workflow.workflow import Workflow
    from outflow.mpi.ranks import Link


class MPIBackend(Backend):
    """Runs map items on MPI processes: the job's other ranks, or spawned ones."""

    name: ClassVar[str] = "mpi"
    capabilities: ClassVar[Capabilities] = Capabilities(
        parallel=True, other_processes=True, needs_shared_filesystem=False, remote=True,
        item_timeout=True,
    )

    def __init__(self, pipeline_context: PipelineContext) -> None:
        super().__init__(pipeline_context)
        self._link: Link | None = None
        self._tokens = 0
        #: worker rank -> token of the map whose workflow it holds
        self._loaded: dict[int, int] = {}

    # -- settings -----------------------------------------------------------------
    def max_workers(self) -> int | None:
        """The ``max_workers`` setting, checked (None when not set)."""
        value = self.option("max_workers")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise BackendError(f"mpi.max_workers must be a positive integer, got {value!r}")
        return value

    def spawn_count(self) -> int:
        """How many workers to spawn without a launcher."""
        configured = self.max_workers()
        if configured is not None:
            return configured
        from_env = os.environ.get("MPI4PY_FUTURES_MAX_WORKERS", "").strip()
        if from_env:
            try:
                count = int(from_env)
            except ValueError:
                count = 0
            if count < 1:
                raise BackendError("MPI4PY_FUTURES_MAX_WORKERS must be a positive integer, "
                                   f"got {from_env!r}")
            return count
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return os.cpu_count() or 1

    # -- the run ------------------------------------------------------------------
    def execute(self, workflow: Workflow) -> list[dict[str, Any]]:
        """Join the workers now if the command maps items (spawned ones start while the
        first tasks run), then run the workflow as the base class does."""
        self.max_workers()  # a bad setting fails before any task runs
        if workflow.maps_items or any(getattr(block, "maps_items", False)
                                      for block in workflow.iter_blocks()):
            self.link()
        return super().execute(workflow)

    def link(self) -> Link:
        """The workers of this run: the job's other ranks, else spawned processes."""
        if self.closed:
            raise BackendError("the mpi backend is closed")
        if self._link is None:
            from outflow.mpi.launch import launched_rank

            if launched_rank() is not None:
                self._link = self._world()
            else:
                self._link = self._spawn()
        if not self._link.workers:
            raise BackendError("no MPI worker is left to run map items (they were stopped)")
        return self._link

    def _world(self) -> Link:
        from outflow.mpi.ranks import world_link

        try:
            link = world_link()
        except ImportError as error:
            raise _no_mpi4py(error) from error
        if link is None:  # the variables said several ranks, MPI says one
            return self._spawn()
        return link

    def _spawn(self) -> Link:
        from outflow.mpi.ranks import spawned_link

        count = self.spawn_count()
        try:
            return spawned_link(count)
        except ImportError as error:
            raise _no_mpi4py(error) from error
        except Exception as error:  # noqa: BLE001 - mpi4py raises MPI.Exception
            raise BackendError(
                f"the MPI library cannot spawn {count} worker process(es) ({error}): start "
                "the run with an MPI launcher instead, e.g. `mpiexec -n "
                f"{count + 1} python manage.py ... --backend mpi`") from error

    # -- map ----------------------------------------------------------------------
    def map(self, workflow: Workflow, items: Sequence[Any], *,
            resources: Mapping[str, Any] | None = None) -> list[Any]:
        """Run ``workflow.run_item`` for each item on the workers; results in input order."""
        if not items:
            return []
        from outflow.core.backends.shipping import ship
        from outflow.mpi.dispatch import MapDispatch

        link = self.link()
        payload = ship(workflow, "MPI workers")
        self._tokens += 1
        timeout = (resources or {}).get("timeout")
        return MapDispatch(link, workflow, items, self.window(link, resources), self._tokens,
                           payload, self._loaded, float(timeout) if timeout else None).run()

    def window(self, link: Link, resources: Mapping[str, Any] | None) -> int:
        """How many workers a map uses: all (capped by ``max_workers``), divided by its
        ``cpus_per_task`` when the workers share this machine's CPUs (spawned)."""
        count = len(link.workers)
        configured = self.max_workers()
        if configured is not None:
            count = min(count, configured)
        cpus = int((resources or {}).get("cpus_per_task") or 1)
        if link.spawned and cpus > 1:
            count = max(1, count // cpus)
        return count

    def close(self) -> None:
        """Release the workers: each writes its rows (``outflow_worker_finished``) and
        says so; spawned ones exit. Ranks of the job exit when rank 0's command is over
        (:func:`outflow.mpi.ranks.release_world`); one still running an item after
        ``release_timeout`` seconds ends the MPI job then."""
        link, self._link = self._link, None
        if link is not None and not link.released:
            busy = link.release(float(self.option("release_timeout", 10.0)))
            if busy:
                import logging

                logging.getLogger(__name__).warning(
                    "outflow: MPI worker(s) %s still run an item after the run; the MPI "
                    "job ends with the command", ", ".join(map(str, busy)))
        super().close()


def _no_mpi4py(error: ImportError) -> BackendError:
    return BackendError(f"the mpi backend needs mpi4py and an MPI library ({error}): "
                        "`pip install mpi4py mpich` on a workstation, the site's MPI and "
                        "mpi4py built for it on a cluster")


__all__ = ["MPIBackend"]

"""The backend interface: how a command's workflow is executed.

A backend is selected by name (``--backend NAME``, the command's ``backend=``, the
``backend`` key of the configuration, else ``default``) among those that plugins
register through the hook ``outflow_register_backends``::

    @hookimpl
    def outflow_register_backends(register):
        register("mpi", "outflow_mpi.backend:MPIBackend", help="MPI ranks for MapWorkflows")

This base class is a complete backend that runs everything in the calling process,
one block after the other (the ``default`` backend only renames it). A backend
author subclasses it and overrides what differs, usually :meth:`Backend.map` only.

How a command is run (``outflow.core.commands.execution`` does this)::

    with activate(pipeline_context):
        hook.outflow_run_started(run=run_info)    # the kernel owns the run lifecycle
        try:
            with Workflow(name=command_name) as top:
                command.setup_tasks()             # builds the graph, runs nothing
            backend = BackendClass(pipeline_context)
            results = backend.run(top, run_info)  # validates, then executes
        finally:
            backend.close()
            hook.outflow_run_finished(run=run_info, state=..., error=...)

``results`` is a list with the outputs dict of each terminal block of the graph, in
definition order (``[{"None": None}]`` when the command defines no block).

Execution model
===============

:meth:`Backend.run` makes the backend reachable from running code
(``context.backend``, :func:`current_backend`), validates the graph unless it is
unchanged since ``workflow.validate()`` (a ``GraphError`` then means no task ran),
and calls :meth:`Backend.execute`. The run-level hooks (``outflow_run_started``,
``outflow_run_finished``) belong to the kernel, which calls them around
``setup_tasks`` too, so that a run whose graph is refused is still recorded.

:meth:`Backend.execute` runs the top-level workflow. The default runs its blocks in
topological order in this process (tasks pass their output dicts to downstream
inputs by name; objects never leave the process, so they may be as big as memory
allows) and calls the block lifecycle hooks for each task and workflow. Few
backends need to override it: parallelism in outflow comes from map-reduce.

:meth:`Backend.map` is where backends differ. A MapWorkflow (in the library
plugin) splits its input sequence into items and calls
``current_backend().map(workflow, items, resources=...)``; the backend must return
``[workflow.run_item(item) for item in items]``, in input order, however it
distributes the calls. ``resources`` are the MapWorkflow's keyword options
(``cpus_per_task``, ``mem``, ``partition``, ``simultaneous_tasks``...): a backend
uses those it understands and ignores the others, so one workflow runs on every
backend.

Writing a backend that runs items elsewhere
===========================================

Declare it in :attr:`Backend.capabilities`. When items run in other processes:

- payloads must be picklable with **cloudpickle** (tasks defined in ``__main__``
  or in a function are pickled by value): the workflow (with its validated plan:
  workers must not validate again), and each item;
- ship the workflow and the pipeline context **once per worker**, not once per
  item (the previous implementation re-sent both for every item, 15 to 27 ms of
  overhead per trivial item): e.g. a pool initializer receives
  ``cloudpickle.dumps((context_snapshot(ctx), workflow))``, restores the context
  with :meth:`ContextSnapshot.restore`, activates it for the worker's lifetime,
  and each task then sends only ``(index, item)``;
- results (any picklable value) and exceptions come back to the driver; re-raise
  the failure of the first failing item in input order, after cancelling what is
  still pending. The engine's exceptions (``TaskError``, ``TaskTypeError``...)
  are picklable and name the task;
- lifecycle hooks of the inner blocks fire in the worker, with the worker's
  plugins: run tracking plugins must work from several processes.

MPI (``mpi4py``): rank 0 runs :meth:`Backend.run` like any backend; the other
ranks serve items. With ``mpi4py.futures.MPIPoolExecutor`` (or
``MPICommExecutor`` under ``mpiexec -n N python -m mpi4py.futures``), ``map``
broadcasts the pickled workflow and context snapshot once, then submits item
indexes with ``executor.map`` (which keeps input order) and collects results;
:meth:`close` shuts the executor down. Capabilities: other processes, shared
filesystem not needed (data moves through MPI), parallel.

Slurm: ``map`` writes the workflow and context snapshot once, and one payload
file per item, under a run directory in ``settings.TEMP_DIR`` (which must be on a
filesystem shared by the nodes: ``needs_shared_filesystem``), each written
atomically (temporary name, then rename). It submits one job array
(``--array=0-N%simultaneous_tasks``, the job name being the run id) whose element
``i`` runs ``python -m <worker module> <run dir> i``: load, activate, run
``workflow.run_item(item)``, write ``result-i.pkl`` atomically. The driver polls
with **one** batched ``sacct``/``squeue`` query per cycle with back-off (a job not
yet in the accounting is pending), maps failure states (FAILED, TIMEOUT,
OUT_OF_MEMORY, NODE_FAIL, CANCELLED, PREEMPTED, BOOT_FAIL) to an error naming the
item, its log and the tail of its stderr, and reads the results in input order.
:meth:`close` cancels jobs still running.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from collections.abc import Iterator

    from outflow.core.pipeline.context import PipelineContext
    from outflow.core.workflow.workflow import Workflow


class BackendError(RuntimeError):
    """A backend cannot be used (its resources are missing, a worker died...)."""


@dataclass(frozen=True)
class Capabilities:
    """What a backend does, for users (``plugins list``) and for the library's blocks."""

    #: Items of a map may run at the same time.
    parallel: bool = False
    #: Items run in other processes: workflows, items, results must be picklable
    #: (cloudpickle) and hooks fire in those processes.
    other_processes: bool = False
    #: Workers read and write ``settings.TEMP_DIR``, which must be shared by all nodes.
    needs_shared_filesystem: bool = False
    #: Workers may run on other machines (a cluster).
    remote: bool = False


class Backend:
    """Base class of backends; on its own, it runs everything sequentially in-process.

    Subclasses set :attr:`name` (what ``--backend`` takes: the name they register
    with) and :attr:`capabilities`, and override :meth:`map` (and
    :meth:`close` when they hold resources). They may override :meth:`execute` to
    run the whole top-level workflow differently.
    """

    name: ClassVar[str] = "base"
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, pipeline_context: PipelineContext) -> None:
        self.pipeline_context = pipeline_context
        self.closed = False

    # -- the run ------------------------------------------------------------------
    def run(self, workflow: Workflow, run: Any = None) -> list[dict[str, Any]]:
        """Execute a command's top-level workflow; return each sink's outputs dict.

        ``run`` is the :class:`outflow.core.runs.RunInfo` of the command (None in unit
        tests), set as ``context.run`` for the block lifecycle hooks. Validates the
        graph first unless it is unchanged since ``workflow.validate()``. Task
        failures propagate (as ``TaskError`` naming the task, the original exception
        being its ``__cause__``). The run-level hooks are the caller's.
        """
        context = self.pipeline_context
        with _active(context):
            context.backend = self
            context.run = run
            if workflow.needs_validation():
                workflow.validate()
            return self.execute(workflow)

    def execute(self, workflow: Workflow) -> list[dict[str, Any]]:
        """Run the validated top-level workflow in this process (the pipeline is active).

        The top-level workflow is a block too: the block hooks fire for it around
        its inner blocks.
        """
        from outflow.core.workflow.engine import Hooks

        hooks = Hooks()
        if hooks.started is not None:
            hooks.started(run=hooks.run, block=workflow, inputs={})
        try:
            results = workflow.run_sinks()
        except BaseException as error:
            if hooks.failed is not None:
                hooks.failed(run=hooks.run, block=workflow, error=error)
            raise
        if hooks.succeeded is not None:
            # A command's results go back to the caller, not to the trackers.
            hooks.succeeded(run=hooks.run, block=workflow, outputs={})
        return results

    # -- map ----------------------------------------------------------------------
    def map(self, workflow: Workflow, items: Sequence[Mapping[str, Any]], *,
            resources: Mapping[str, Any] | None = None) -> list[Any]:
        """Run ``workflow.run_item(item)`` for each item; results in input order.

        Called by MapWorkflows while the run is in progress, in the process and
        pipeline context that runs the MapWorkflow. ``items`` are dicts of the inner
        workflow's inputs; ``resources`` the per-item requests of the MapWorkflow
        (``cpus_per_task``, ``mem``, ``partition``, ``simultaneous_tasks``...),
        which backends interpret or ignore. The first failing item's exception
        propagates. This implementation runs the items one after the other here.
        """
        del resources  # one process, nothing to request
        return [workflow.run_item(dict(item)) for item in items]

    # -- resources ----------------------------------------------------------------
    def close(self) -> None:
        """Release what the backend holds (pools, executors, jobs). Idempotent."""
        self.closed = True

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


@contextmanager
def _active(pipeline_context: PipelineContext) -> Iterator[None]:
    """Activate the context unless it already is the active one."""
    from outflow.core.pipeline.context import activate, active_context, has_active_context

    if has_active_context() and active_context() is pipeline_context:
        yield
    else:
        with activate(pipeline_context):
            yield


def current_backend() -> Backend:
    """The backend running the active pipeline (what MapWorkflows call ``map`` on).

    Outside :meth:`Backend.run` (a task or workflow called directly, in a test or a
    shell) this is a sequential :class:`Backend`, remembered on the context.
    """
    from outflow.core.pipeline.context import active_context

    context = active_context()
    backend = getattr(context, "backend", None)
    if backend is None:
        backend = Backend(context)
        context.backend = backend
    return backend


# ------------------------------------------------------- shipping the context


@dataclass
class ContextSnapshot:
    """The picklable part of a :class:`PipelineContext`, shipped once to each worker.

    The plugin host and database connections are not shipped: a worker builds its
    own (plugins are loaded again there, so their hooks fire in the worker).
    """

    settings: dict[str, Any]
    config: dict[str, Any]
    config_file: Any = None
    args: Any = None
    root_directory: Any = None
    flags: dict[str, Any] = field(default_factory=dict)
    run: Any = None

    def restore(self, host: Any = None) -> PipelineContext:
        """A new context equivalent to the snapshotted one (activate it in the worker)."""
        from outflow.core.pipeline.config import Config
        from outflow.core.pipeline.context import PipelineContext
        from outflow.core.pipeline.settings import Settings

        context = PipelineContext(
            settings=Settings(**self.settings),
            config=Config(self.config, file=self.config_file),
            host=host,
            args=self.args,
            root_directory=self.root_directory,
        )
        for key, value in self.flags.items():
            setattr(context, key, value)
        context.run = self.run
        return context


_FLAGS = ("backend_name", "force_dry_run", "dry_run", "db_untracked", "overwrite_cache")


def context_snapshot(pipeline_context: PipelineContext) -> ContextSnapshot:
    """Capture what workers need of ``pipeline_context`` (see :class:`ContextSnapshot`)."""
    return ContextSnapshot(
        settings=pipeline_context.settings.as_dict(),
        config=dict(pipeline_context.config),
        config_file=getattr(pipeline_context.config, "__file__", None),
        args=pipeline_context.args,
        root_directory=pipeline_context.root_directory,
        flags={key: getattr(pipeline_context, key) for key in _FLAGS
               if hasattr(pipeline_context, key)},
        run=pipeline_context.run,
    )


__all__ = [
    "Backend",
    "BackendError",
    "Capabilities",
    "ContextSnapshot",
    "context_snapshot",
    "current_backend",
]

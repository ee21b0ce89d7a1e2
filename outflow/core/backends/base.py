"""The :class:`Backend` base class and its :class:`Capabilities`.

The base class is a complete backend: it runs every block in the calling process,
one after the other, and the items of maps in input order (the ``default`` backend
only names it). A backend author subclasses it and overrides what differs, usually
:meth:`Backend.map` (and :meth:`Backend.close` when it holds resources). See the
package documentation (:mod:`outflow.core.backends`) for the whole contract.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from outflow.core.errors import OutflowError
from outflow.core.records import FrozenRecord

if TYPE_CHECKING:
    from outflow.core.pipeline.context import PipelineContext
    from outflow.core.runs import RunInfo
    from outflow.core.workflow.workflow import Workflow


class BackendError(OutflowError, RuntimeError):
    """A backend cannot do its job: its resources are missing, a payload cannot be sent,
    a worker died..."""


class Capabilities(FrozenRecord):
    """What a backend does, for users (``outflow plugins list``) and for blocks.

    - ``parallel``: items of a map may run at the same time;
    - ``other_processes``: items run in other processes: workflows, items and results
      must be picklable (cloudpickle), and block hooks fire in those processes;
    - ``needs_shared_filesystem``: workers read and write ``settings.TEMP_DIR``, which
      must be shared by all nodes;
    - ``remote``: workers may run on other machines (a cluster);
    - ``item_timeout``: the backend stops an item that runs longer than its map's
      ``timeout`` (``resources["timeout"]``, seconds) and fails it with
      :class:`~outflow.core.backends.ItemTimedOut`.
    """

    __slots__ = ("parallel", "other_processes", "needs_shared_filesystem", "remote",
                 "item_timeout")

    def __init__(self, parallel: bool = False, other_processes: bool = False,
                 needs_shared_filesystem: bool = False, remote: bool = False,
                 item_timeout: bool = False) -> None:
        self.parallel = parallel
        self.other_processes = other_processes
        self.needs_shared_filesystem = needs_shared_filesystem
        self.remote = remote
        self.item_timeout = item_timeout

    def names(self) -> list[str]:
        """The capabilities that are set, by name (``["parallel", "other_processes"]``)."""
        return [name for name in self.__slots__ if getattr(self, name)]


class Backend:
    """Base class of backends; on its own, it runs everything sequentially in-process.

    Subclasses set :attr:`name` (the name they register with: what
    ``RunInfo.backend`` records, whichever alias the user typed) and
    :attr:`capabilities`, and override :meth:`map` (and :meth:`close` when they hold
    resources). Their settings come from the configuration section named after them
    (:attr:`settings`).
    """

    name: ClassVar[str] = "base"
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, pipeline_context: PipelineContext) -> None:
        self.pipeline_context = pipeline_context
        self.closed = False

    # -- settings -----------------------------------------------------------------
    @property
    def settings(self) -> Mapping[str, Any]:
        """The configuration section named after the backend (``parallel:`` in
        ``config.yml``); empty when there is none."""
        section = self.pipeline_context.config.get(self.name)
        return section if isinstance(section, Mapping) else {}

    def option(self, key: str, default: Any = None) -> Any:
        """One setting of :attr:`settings`, or ``default`` when unset (or null)."""
        value = self.settings.get(key)
        return default if value is None else value

    # -- the run ------------------------------------------------------------------
    def run(self, workflow: Workflow, run: RunInfo | None = None) -> list[dict[str, Any]]:
        """Execute a command's top-level workflow; return each sink's outputs dict.

        ``run`` is the command's :class:`~outflow.core.runs.RunInfo` (None in unit
        tests), set as ``context.run`` for the block hooks. Validates the graph first
        unless it is unchanged since ``workflow.validate()``. Task failures propagate
        (a ``TaskError`` naming the task, the original exception as its
        ``__cause__``). The run-level hooks are the caller's.
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

        The top-level workflow is a block too: the block hooks fire for it around its
        inner blocks (with empty outputs: a command's results go back to the caller,
        not to trackers).
        """
        from outflow.core.workflow.engine import Hooks, call_block

        results: list[dict[str, Any]] = []

        def run_sinks() -> dict[str, Any]:
            results.extend(workflow.run_sinks())
            return {}

        call_block(workflow, {}, Hooks(), call=run_sinks)
        return results

    # -- map ----------------------------------------------------------------------
    def map(self, workflow: Workflow, items: Sequence[Any], *,
            resources: Mapping[str, Any] | None = None) -> list[Any]:
        """Return ``[workflow.run_item(item) for item in items]``, however it is spread.

        Called by MapWorkflows while the run is in progress, in the process and the
        pipeline that run the map. ``items`` are :class:`~outflow.core.backends.Item`
        objects (dicts of the inner workflow's inputs that know their index);
        ``resources`` the map's requests (``cpus_per_task``, ``mem``, ``partition``,
        ``simultaneous_tasks``...), which a backend uses or ignores. ``run_item``
        raises an :class:`~outflow.core.backends.ItemFailure` naming the item; the
        failure of the first failing item in input order propagates. This
        implementation runs the items one after the other, here.
        """
        del resources  # one process, nothing to request
        run_item = workflow.run_item
        return [run_item(item) for item in items]

    # -- resources ----------------------------------------------------------------
    def close(self) -> None:
        """Release what the backend holds (pools, executors, jobs). Idempotent: the
        kernel calls it once the run is over, before ``outflow_run_finished``."""
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
    shell; the items run by a worker process) this is a sequential :class:`Backend`,
    remembered on the context: a map nested in an item runs in the worker that runs
    the item.
    """
    from outflow.core.pipeline.context import active_context

    context = active_context()
    backend = context.backend
    if backend is None:
        backend = context.backend = Backend(context)
    return backend


__all__ = ["Backend", "BackendError", "Capabilities", "current_backend"]

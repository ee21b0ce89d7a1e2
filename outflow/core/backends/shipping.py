"""What a process needs, once, to run items for a driver: the :class:`WorkerKit`.

A worker (a pool process, an MPI rank, a Slurm job) runs items of the driver's
maps. Before its first item it needs: the ``sys.path`` the driver had (so that the
pipeline's modules import), the same plugins (so that block hooks, and run tracking
with them, fire there too), and the pipeline context (settings, configuration,
arguments, the run), without the driver's database connections or plugin host.
That is a :class:`WorkerKit`, made once per run by the driver.

A validated workflow carries its run's kit when it is pickled (see
``Workflow.__reduce_ex__``): whatever sends a workflow to another process, be it a
backend's own pool or ``executor.map(workflow.run_item, items)``, sends what that
process needs. The kit unpickles first and puts the driver's ``sys.path`` in place
before the workflow's classes are looked up; ``run_item`` then sets the process up
(:func:`outflow.core.backends.worker.ensure_worker`) the first time, and does
nothing more for the next items. A backend that ships the kit once per worker and
the workflow once per map sends no more than that: pickled twice in one stream, the
kit is written once.
"""

from __future__ import annotations

import os
import sys
import uuid
from typing import TYPE_CHECKING, Any

from outflow.core.records import Record

if TYPE_CHECKING:
    from outflow.core.pipeline.context import PipelineContext

#: kit id -> the process id that made it (or that was set up with it): that process
#: needs no set-up to run items of this kit. A forked child inherits the table, with
#: another process id.
SET_UP: dict[str, int] = {}
#: kit id -> the driver's plugin host, which a forked child finds in its copy of this
#: table and reuses (its plugins are imported and registered already).
HOSTS: dict[str, Any] = {}

_FLAGS = ("backend_name", "force_dry_run", "dry_run", "db_untracked", "overwrite_cache",
          "keep_going", "log_level")


class ContextSnapshot(Record):
    """The picklable part of a :class:`PipelineContext`.

    The plugin host, the backend and the database connections are left out: a
    worker builds its own (plugins are loaded again there, so their hooks fire in
    the worker, and its databases open their own connections).
    """

    __slots__ = ("settings", "config", "config_file", "args", "root_directory", "flags", "run")

    def __init__(self, settings: dict[str, Any], config: dict[str, Any],
                 config_file: Any = None, args: Any = None, root_directory: Any = None,
                 flags: dict[str, Any] | None = None, run: Any = None) -> None:
        self.settings = settings
        self.config = config
        self.config_file = config_file
        self.args = args
        self.root_directory = root_directory
        self.flags = flags or {}
        self.run = run

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


def context_snapshot(pipeline_context: PipelineContext) -> ContextSnapshot:
    """Capture what workers need of ``pipeline_context`` (see :class:`ContextSnapshot`)."""
    return ContextSnapshot(
        settings=pipeline_context.settings.as_dict(),
        config=dict(pipeline_context.config),
        config_file=getattr(pipeline_context.config, "__file__", None),
        args=pipeline_context.args,
        root_directory=pipeline_context.root_directory,
        flags={key: getattr(pipeline_context, key) for key in _FLAGS},
        run=pipeline_context.run,
    )


class WorkerKit:
    """What a worker needs once: ``sys.path``, the plugin set-up and a context snapshot.

    ``id`` identifies the kit (one per run and context); ``plugins`` is ``(load
    options, pipeline plugin modules)`` or None when the driver had no plugin host.
    """

    __slots__ = ("id", "path", "plugins", "snapshot")

    def __init__(self, kit_id: str, path: list[str], plugins: tuple[Any, list[str]] | None,
                 snapshot: ContextSnapshot | None) -> None:
        self.id = kit_id
        self.path = path
        self.plugins = plugins
        self.snapshot = snapshot

    def __reduce__(self) -> Any:
        # The path and the plugin set-up first, applied by `_restore_kit` before the
        # snapshot (and whatever follows in the stream) is unpickled.
        return (_restore_kit, (self.id, self.path, self.plugins), {"snapshot": self.snapshot})

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.snapshot = state["snapshot"]

    def made_here(self) -> bool:
        """Whether this process is set up for this kit already (the driver that made it,
        or a worker started with it)."""
        return SET_UP.get(self.id) == os.getpid()

    def __repr__(self) -> str:
        return f"<WorkerKit {self.id}>"


def _restore_kit(kit_id: str, path: list[str], plugins: tuple[Any, list[str]] | None
                 ) -> WorkerKit:
    if SET_UP.get(kit_id) != os.getpid():
        extend_path(path)
    return WorkerKit(kit_id, path, plugins, None)


def extend_path(path: list[str]) -> None:
    """Put the driver's ``sys.path`` entries missing here in front, in its order."""
    for entry in reversed(path):
        if entry not in sys.path:
            sys.path.insert(0, entry)


def worker_kit(pipeline_context: PipelineContext) -> WorkerKit:
    """The kit of the context's current run, made on first use (and then reused).

    Making it marks this process as set up for it; a forked child, which inherits
    that mark with another process id, is not.
    """
    run = pipeline_context.run
    known = pipeline_context.worker_kit
    if known is not None and known[0] is run:
        return known[1]
    host = pipeline_context.host
    kit = WorkerKit(uuid.uuid4().hex, list(sys.path), host_setup(host),
                    context_snapshot(pipeline_context))
    SET_UP[kit.id] = os.getpid()
    if host is not None:
        HOSTS[kit.id] = host
    pipeline_context.worker_kit = (run, kit)
    return kit


def host_setup(host: Any) -> tuple[Any, list[str]] | None:
    """What a worker needs to load the same plugins: the load options, and the
    pipeline's own plugins (``settings.PLUGINS`` that are not entry points)."""
    if host is None:
        return None
    return host.options, host.pipeline_plugins()


def ship(workflow: Any, where: str, items: Any = None) -> bytes:
    """``workflow`` (or ``items``, when given) pickled with cloudpickle for ``where``
    (``"worker processes"``, ``"Slurm jobs"``...): a one-line error naming the map and
    what must pickle when it does not."""
    import cloudpickle

    from outflow.core.backends.base import BackendError

    try:
        return cloudpickle.dumps(workflow if items is None else items)
    except Exception as exc:
        raise BackendError(
            f"{getattr(workflow, 'label', workflow)}: cannot be sent to {where} "
            f"({type(exc).__name__}: {exc}); tasks, their bound values and parameters, "
            "the items and the pipeline's settings, configuration and arguments must be "
            "picklable with cloudpickle"
        ) from exc


__all__ = ["ContextSnapshot", "WorkerKit", "context_snapshot", "extend_path", "host_setup",
           "ship", "worker_kit"]

"""A process that runs items for a driver: its set-up, its chunks of items, its end.

Every backend that runs items outside the driver's process uses these functions,
whatever carries the items there (a pipe, MPI messages, files on a shared disk):

- :func:`ensure_worker` (called by ``Workflow.run_item`` with the kit the workflow
  arrived with; backends may call it earlier, e.g. right after receiving the
  workflow) sets the process up once: the driver's ``sys.path``, the same plugins
  (a forked child reuses the driver's, already imported), a context restored from
  the snapshot and kept active for the process's life, then the hook
  ``outflow_worker_started(context, run)``;
- :func:`run_chunk` runs items in input order and stops at the first failure,
  returning the results so far and that :class:`~outflow.core.backends.ItemFailure`;
- :func:`finish_worker` calls ``outflow_worker_finished(run)`` (run tracking writes
  what it buffered), deactivates the context and closes its database connections.
  A backend calls it when it stops a worker; for a process set up on the fly (a
  ``concurrent.futures`` pool), it also runs when the process exits normally
  (``multiprocessing``'s exit handlers, which its children run, and ``atexit``
  otherwise). It runs once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from outflow.core.backends.items import ItemFailure
from outflow.core.backends.shipping import HOSTS, SET_UP, WorkerKit

if TYPE_CHECKING:
    from outflow.core.pipeline.context import PipelineContext
    from outflow.core.workflow.workflow import Workflow

#: kit id -> (context, its activation) of each kit this process was set up with.
_STARTED: dict[str, tuple[Any, Any]] = {}


def ensure_worker(kit: WorkerKit) -> None:
    """Set this process up for ``kit`` unless it is (the driver that made it included)."""
    if not kit.made_here():
        start_worker(kit)


def start_worker(kit: WorkerKit) -> PipelineContext:
    """Set this process up to run items of ``kit``'s run; returns the active context."""
    from outflow.core.pipeline.context import activate

    if kit.snapshot is None:
        raise RuntimeError(f"{kit!r} arrived without its context snapshot")
    host = HOSTS.get(kit.id)  # a fork of the driver: its plugins are here already
    forked = host is not None
    if host is None and kit.plugins is not None:
        from outflow.core.plugins.host import PluginHost

        options, pipeline_plugins = kit.plugins
        host = PluginHost(options).load()
        host.add_pipeline_plugins(pipeline_plugins)
    pipeline_context = kit.snapshot.restore(host)
    if forked:
        pipeline_context.logging_configured = True  # inherited, the run's log file too
    else:
        pipeline_context.configure_logging()
        if getattr(pipeline_context.run, "log_path", None):
            from outflow.core.logging.run_log import join_run_log

            join_run_log(pipeline_context, pipeline_context.run)
    activation = activate(pipeline_context)
    activation.__enter__()  # for the life of the process
    SET_UP[kit.id] = os.getpid()
    _STARTED[kit.id] = (pipeline_context, activation)
    _finish_at_exit(kit.id)
    pipeline_context.hook.outflow_worker_started(context=pipeline_context,
                                                 run=pipeline_context.run)
    return pipeline_context


def _finish_at_exit(kit_id: str) -> None:
    # multiprocessing's children skip atexit but run these finalizers at a normal
    # exit; in any other process they run from multiprocessing's atexit handler.
    from multiprocessing.util import Finalize

    Finalize(None, finish_worker, args=(kit_id,), exitpriority=10)


def finish_worker(kit_id: str | None = None) -> None:
    """End the worker's part in a run (one kit, or all): ``outflow_worker_finished``."""
    kit_ids = [kit_id] if kit_id is not None else list(_STARTED)
    for key in kit_ids:
        started = _STARTED.pop(key, None)
        if started is None:
            continue
        pipeline_context, activation = started
        try:
            pipeline_context.hook.outflow_worker_finished(run=pipeline_context.run)
        finally:
            activation.__exit__(None, None, None)
            pipeline_context.close_databases()


def run_chunk(workflow: Workflow, items: Sequence[Any],
              on_item: Callable[[int], None] | None = None,
              on_result: Callable[[Any], None] | None = None,
              timeout: float | None = None,
              ) -> tuple[list[Any], ItemFailure | None]:
    """Run ``items`` in order; stop at the first failure.

    Returns the results of the items that finished and the failure (None when all
    did). ``on_item(position)`` is called before each item (a pool notes which item
    its worker runs, to name it if the process dies), ``on_result(result)`` after
    each (to send results as they come). ``sys.exit`` in a task fails its item like
    an exception; ``KeyboardInterrupt`` propagates. ``timeout``: each item is given
    that many seconds (:func:`time_limited`; in a worker's main thread only).
    """
    run_item = workflow.run_item if not timeout else time_limited(workflow.run_item,
                                                                  timeout)
    results: list[Any] = []
    item: Any = None
    try:
        for position, item in enumerate(items):
            if on_item is not None:
                on_item(position)
            result = run_item(item)
            results.append(result)
            if on_result is not None:
                on_result(result)
    except ItemFailure as failure:
        return results, failure
    except SystemExit as error:
        failure = ItemFailure.of(workflow, item, error)
        failure.__cause__ = error
        return results, failure
    return results, None


def time_limited(function: Callable[[Any], Any], seconds: float) -> Callable[[Any], Any]:
    """``function`` stopped after ``seconds``: SIGALRM raises ``TimeoutError: it ran
    longer than its timeout of 60 s`` where the item's code is, which fails the item.

    For a backend that cannot stop an item from outside without ending more than the
    item (an MPI rank: the whole job would end). Python code is interrupted at once;
    a long call into C code when it returns; code that catches every exception can
    swallow it. The process's main thread only, where its signals are its own.
    """
    import signal

    def expired(signum: int, frame: Any) -> None:
        raise TimeoutError(f"it ran longer than its timeout of {seconds:g} s")

    def limited(item: Any) -> Any:
        previous = signal.signal(signal.SIGALRM, expired)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return function(item)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    return limited


def sendable(workflow: Workflow, items: Sequence[Any], held: list[Any],
             failure: ItemFailure | None) -> tuple[list[Any], ItemFailure | None, bool]:
    """What a worker can send back to the driver of ``held``, the results of ``items``
    (in order), and of its chunk's ``failure``, when they do not all pickle.

    Returns ``(results, failure, whole)``: the results up to the first that does not
    pickle with cloudpickle, which fails its item (a ``TypeError`` saying so), and
    ``whole`` False then: the chunk stops there. A failure that does not pickle itself
    is replaced by one carrying its text. Call it when pickling the message failed:
    the driver must always get an answer.
    """
    import cloudpickle

    kept: list[Any] = []
    for result in held:
        try:
            cloudpickle.dumps(result)
        except Exception as error:  # noqa: BLE001 - any failure to pickle
            item = items[len(kept)]
            return kept, ItemFailure.of(workflow, item, TypeError(
                "its result cannot be sent back to the driver: "
                f"{type(error).__name__}: {error}")), False
        kept.append(result)
    if failure is not None:
        try:
            cloudpickle.dumps(failure)
        except Exception:  # noqa: BLE001 - its text travels instead
            failure = ItemFailure(failure.label, failure.index, RuntimeError(str(failure)),
                                  block_name=failure.block_name, ran_on=failure.ran_on)
    return kept, failure, True


__all__ = ["ensure_worker", "finish_worker", "run_chunk", "sendable", "start_worker"]

"""Backends: how a command's workflow runs, and the protocol every backend follows.

Modules, one job each:

- :mod:`~outflow.core.backends.base`: :class:`Backend` (a complete sequential
  backend to subclass), :class:`Capabilities`, :func:`current_backend`;
- :mod:`~outflow.core.backends.items`: the item protocol: :class:`Item`,
  :class:`ItemFailure`, :class:`WorkerDied`, :func:`current_item_index`;
- :mod:`~outflow.core.backends.shipping`: what a worker process needs once, the
  :class:`WorkerKit`, which travels with every pickled workflow;
- :mod:`~outflow.core.backends.worker`: set-up, chunks of items and end of a
  process that runs items for a driver (pools, MPI ranks, Slurm jobs).

Registering a backend
=====================

A plugin registers backends by name (``--backend NAME``, the command's
``backend=``, the ``backend`` key of the configuration, else ``default``)::

    @hookimpl
    def outflow_register_backends(register):
        register("threads", "outflow_threads.backend:ThreadsBackend",
                 aliases=("thread",), help="MapWorkflow items in a thread pool")

The class's :attr:`Backend.name` is the registered name: ``RunInfo.backend`` (and
run tracking) records it, whichever alias the user typed. Its settings come from
the configuration section of that name (``threads: {max_workers: 4}``), read with
:attr:`Backend.settings` and :meth:`Backend.option`; ``outflow plugins list`` shows
the name, aliases, :class:`Capabilities` and help.

How a command runs
==================

``outflow.core.commands.execution`` does, in the active pipeline::

    hook.outflow_run_started(run=run)         # the kernel owns the run lifecycle
    try:
        workflow = <the blocks made by command.setup_tasks()>
        backend = BackendClass(pipeline_context)
        results = backend.run(workflow, run)  # validates, then execute()
    finally:
        backend.close()                       # before the run is finalised
        hook.outflow_run_finished(run=run, state=..., error=...)

:meth:`Backend.execute` runs the blocks in topological order in this process and
fires the block hooks; parallelism comes from maps, so few backends override it.

The map contract
================

A MapWorkflow (library plugin) calls ``current_backend().map(workflow, items,
resources=...)``. ``map`` must return::

    [workflow.run_item(item) for item in items]

in input order, however it spreads the calls. That is all: the simplest correct
concurrent backend is::

    class ThreadsBackend(Backend):
        name = "threads"
        capabilities = Capabilities(parallel=True)

        def map(self, workflow, items, *, resources=None):
            with ThreadPoolExecutor(self.option("max_workers", 4)) as executor:
                return list(executor.map(workflow.run_item, items))

and the same over a ``ProcessPoolExecutor`` is correct too (if slow: it pickles the
workflow once per item). What makes it so is that each item carries its identity:

- items are :class:`Item` objects, dicts of the inner workflow's inputs that know
  their ``index`` in the map's input sequence;
- ``run_item`` sets :func:`current_item_index` for the item's duration, in the
  thread or process that runs it (a context variable);
- an item that raises comes out of ``run_item`` as an :class:`ItemFailure` naming
  its index, its task and the error; it pickles, traceback included as text. When
  several fail, raise the one of the first item in input order (:func:`earliest`);
- the per-item workflow cache entry (``cache=True``) is written by ``run_item``
  where the item ran, as soon as it finished: a failure later in the map, or a
  crash of the driver, loses no finished item, and no entry is ever filed under
  another item's key;
- ``resources`` are the map's requests (``cpus_per_task``, ``mem``, ``partition``,
  ``simultaneous_tasks``...): use those you understand, ignore the others, so that
  one workflow runs on every backend.

A backend whose results come back to the driver as they land (a pool, MPI, Slurm)
calls ``workflow.item_returned(item, result)`` in the driver for each: the progress
display moves, and the result is kept in ``MapItemError.completed`` if a later item
fails. In-process backends need not: ``run_item`` does it.

Items in other processes
========================

Set :attr:`Capabilities.other_processes`. Workflows, items and results must then
pickle with **cloudpickle** (tasks defined in ``__main__`` or in a function are
pickled by value). Send the workflow **once per worker** (then only items), never
once per item: the previous implementation re-sent workflow and context for every
item, 15 to 27 ms per trivial item.

A pickled workflow carries its run's :class:`WorkerKit` (the driver's ``sys.path``,
plugin set-up and context snapshot). In the process that unpickles it, the first
``run_item`` calls :func:`~outflow.core.backends.worker.ensure_worker`: plugins
loaded (a forked child reuses the driver's), the context restored and activated for
the process's life, then the hook ``outflow_worker_started(context, run)``. The
process's end calls ``outflow_worker_finished(run)``
(:func:`~outflow.core.backends.worker.finish_worker`: call it when you stop a
worker; a ``concurrent.futures`` or ``multiprocessing`` child calls it at its normal
exit). Run tracking writes the worker's block rows through these hooks, so every
backend is tracked, with the right ``map_index``.
:func:`~outflow.core.backends.worker.run_chunk` runs a chunk of items and stops at
the first failure.

A worker that dies (a signal, ``os._exit``, the OOM killer) must not hang the
driver: report it as :class:`WorkerDied` naming the item it ran and how the process
ended, keep the results of the items that came back, stop the others; first ask
``workflow.lost_item(item, failure)``: a map that keeps going answers with a result
to use instead (then run the chunk's other items as usual). A backend that can stop a
single item (its own process, its own job) declares ``Capabilities(item_timeout=True)``
and stops an item that runs longer than ``resources["timeout"]`` seconds, reporting
it as :class:`ItemTimedOut`.
:meth:`Backend.close` stops every worker, job or rank; the kernel calls it before
``outflow_run_finished``, so that every worker row is written before the run is
finalised.

The contract suite
==================

``outflow.core.test.backend_contract`` checks all of the above against a real
backend: input order, the first failing item named, finished outputs kept, the cache
after a failure, nested maps, empty and one-item maps, unknown resources, ``close()``
twice, tracked rows with the right ``map_index``, Ctrl-C. A backend distribution
runs it with a few lines::

    # tests/test_contract.py
    from outflow.core.test.backend_contract import BackendContract

    class TestThreads(BackendContract):
        backend = "threads"
"""

from typing import TYPE_CHECKING

from outflow.core import lazy_exports
from outflow.core.backends.base import Backend, BackendError, Capabilities, current_backend

if TYPE_CHECKING:
    from outflow.core.backends.items import (
        Item,
        ItemFailure,
        ItemTimedOut,
        ProcessDied,
        WorkerDied,
        current_item_index,
        current_item_path,
        earliest,
    )
    from outflow.core.backends.shipping import (
        ContextSnapshot,
        WorkerKit,
        context_snapshot,
        worker_kit,
    )

__all__ = [
    "Backend",
    "BackendError",
    "Capabilities",
    "ContextSnapshot",
    "Item",
    "ItemFailure",
    "ItemTimedOut",
    "ProcessDied",
    "WorkerDied",
    "WorkerKit",
    "context_snapshot",
    "current_backend",
    "current_item_index",
    "current_item_path",
    "earliest",
    "worker_kit",
]

# What a backend class needs is imported above; the protocol's other names load on
# first use (``outflow plugins list`` imports backend classes, and nothing more).
__getattr__ = lazy_exports(globals(), {
    "outflow.core.backends.items": ("Item", "ItemFailure", "ItemTimedOut", "ProcessDied",
                                    "WorkerDied",
                                    "current_item_index", "current_item_path", "earliest"),
    "outflow.core.backends.shipping": ("ContextSnapshot", "WorkerKit", "context_snapshot",
                                       "worker_kit"),
})

"""The ``parallel`` backend (alias ``multiprocessing``): MapWorkflow items in a process pool.

Everything but the items of MapWorkflows runs in the calling process, as with
the default backend; :meth:`ParallelBackend.map` spreads items over a
:class:`concurrent.futures.ProcessPoolExecutor`. What the previous implementation
got wrong, and what this one does instead:

- it re-sent and re-unpickled the workflow and the pipeline context for every
  item (15 to 27 ms per trivial item). Here the pool's initializer receives, once
  per worker, ``cloudpickle.dumps((context snapshot, plugin set-up, sys.path))``
  and the first mapped workflow: each worker restores the context (without the
  driver's database objects: :func:`~outflow.core.backends.context_snapshot`
  leaves them out, and the worker opens its own when a task needs one), has the
  pipeline's plugins so that block hooks fire there, and keeps the context active
  for its lifetime. Tasks then carry ``(token, first index, items)``. A workflow
  mapped later in the same run travels pickled with its chunks and is unpickled
  once per worker (cached by token);
- items are sent in chunks (about four per worker, so that a slow chunk is
  balanced by the others) and results come back per chunk;
- one pool serves the whole run: created at the first map that needs it, closed
  by :meth:`close`. Its size is ``len(os.sched_getaffinity(0)) // cpus_per_task``
  (at least 1); a later map asking for more CPUs per item runs fewer chunks at a
  time on it, one asking for less grows it;
- fewer than two items, or room for one worker only, run here: a pool would only
  add its start-up time. So does a map that earlier runs measured too small to
  pay for starting the pool ("measure first", see
  :mod:`outflow.multiprocessing.timings`: on 2 cores a pool costs about 20 ms to
  start and stop, as much as 1000 trivial items).

Failures. A worker runs the items of its chunk in order and stops at the first
error, returning the results it has and the error (with its traceback text);
the driver then cancels the chunks not started, waits for the running ones, and
raises :class:`ItemFailure` for the first failing item in input order, naming
its index, the task and the error. The outputs of every item that finished are
kept on the exception (``item_results``, index -> result; the MapWorkflow turns
them into ``MapItemError.completed`` and, with ``cache=True``, into cache
entries, so that the next run only computes what is missing).

A worker that dies (killed by a signal, ``os._exit``, out of memory) breaks a
``ProcessPoolExecutor``: every pending future fails with ``BrokenProcessPool``
instead of hanging. The driver reports it as a :class:`WorkerDied` naming the
exit code or signal and the item the worker was running (workers note the index
of their current item in a small shared array), discards the pool (the next map
starts a new one), and keeps the finished outputs as above.

Start method: ``fork`` by default on Linux, measured faster here
(``benchmarks/bench_map.py``): a cold pool of 2 workers answers in about 60 ms
with fork against 380 ms with forkserver, whose workers start a fresh
interpreter and import outflow and the pipeline again; per item both cost the
same. A forked worker inherits the driver's plugin host (already imported and
registered: reloading it cost 10 to 30 ms per worker) but none of its database
connections, which belong to the pipeline context it rebuilds. The configuration
key ``parallel: {start_method: forkserver}`` selects another method (``spawn``
works too: the worker then loads the plugins again), ``parallel: {max_workers:
N}`` caps the pool and ``parallel: {measure_first: false}`` always uses it.
"""

from __future__ import annotations

import math
import os
import pickle
import signal
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, Any, ClassVar

from outflow.core.backends import Backend, BackendError, Capabilities, context_snapshot
from outflow.core.tasks import EngineError, TaskError
from outflow.multiprocessing.timings import ItemTimings

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from outflow.core.pipeline.context import PipelineContext
    from outflow.core.workflow.workflow import Workflow

#: Chunks per worker: enough to balance uneven items, few enough to be cheap.
CHUNKS_PER_WORKER = 4


def available_cpus() -> int:
    """CPUs this process may run on (cgroups and ``taskset`` included)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def chunk_size(items: int, workers: int) -> int:
    """Items per task: about :data:`CHUNKS_PER_WORKER` chunks per worker."""
    return max(1, math.ceil(items / (workers * CHUNKS_PER_WORKER)))


class ItemFailure(EngineError):
    """An item raised in a worker: ``item <i> failed in task <name>: <error>``.

    The attributes follow the protocol MapWorkflows understand: ``item_index``
    (position in the items given to ``map``), ``item_results`` (position -> result
    of each item that finished), ``error`` (the item's exception, also
    ``__cause__``), ``block_name`` (the failing task) and ``remote_traceback``.
    """

    def __init__(self, label: str, item_index: int, error: BaseException,
                 item_results: dict[int, Any], total: int,
                 remote_traceback: str | None = None) -> None:
        self.label = label
        self.item_index = item_index
        self.error = error
        self.item_results = item_results
        self.total = total
        self.block_name = _failing_block(error)
        self.remote_traceback = remote_traceback
        inner = error.error if isinstance(error, TaskError) else error
        where = f" in task {self.block_name}" if self.block_name else ""
        super().__init__(
            f"{label}: item {item_index} failed{where}: {type(inner).__name__}: {inner} "
            f"({len(item_results)} of {total} items finished; their outputs are kept)"
        )


def _failing_block(error: BaseException) -> str | None:
    """The task an engine error names (``TaskError.block_name``, ``TaskTypeError.block``)."""
    name = getattr(error, "block_name", None)
    if isinstance(name, str):
        return name
    label = getattr(error, "block", None)  # a label: "task compute"
    return label.split(" ", 1)[-1] if isinstance(label, str) else None


class WorkerDied(ItemFailure, BackendError):
    """A worker process died while running an item (signal, ``os._exit``, OOM killer)."""


class ProcessDied(RuntimeError):
    """The cause of a :class:`WorkerDied`: which process died, by which signal or exit code."""


# ------------------------------------------------------------------ the driver


class ParallelBackend(Backend):
    """Runs MapWorkflow items in a pool of worker processes on this machine."""

    name: ClassVar[str] = "parallel"
    capabilities: ClassVar[Capabilities] = Capabilities(
        parallel=True, other_processes=True, needs_shared_filesystem=False, remote=False
    )
    #: Used when the configuration does not say (``parallel: {start_method: ...}``).
    default_start_method: ClassVar[str] = "fork"
    #: Used when the configuration does not say (``parallel: {measure_first: ...}``).
    default_measure_first: ClassVar[bool] = True

    def __init__(self, pipeline_context: PipelineContext) -> None:
        super().__init__(pipeline_context)
        self._executor: ProcessPoolExecutor | None = None
        self._pool_size = 0
        self._slots: Any = None
        #: id(workflow) -> (workflow, id(plan), token, payload); keeps ids alive.
        self._payloads: dict[int, tuple[Any, int, int, bytes]] = {}
        self._installed: set[int] = set()  # tokens every worker got at start-up
        self._next_token = 0
        self._timings = ItemTimings.for_context(pipeline_context, enabled=self.measure_first)

    # -- settings -----------------------------------------------------------------
    def _option(self, key: str) -> Any:
        section = self.pipeline_context.config.get("parallel") or {}
        return section.get(key) if isinstance(section, Mapping) else None

    @property
    def measure_first(self) -> bool:
        """Whether item durations measured in earlier maps of the same workflow may keep
        a small map in this process (``parallel: {measure_first: false}``: never)."""
        value = self._option("measure_first")
        return self.default_measure_first if value is None else bool(value)

    @property
    def start_method(self) -> str:
        return str(self._option("start_method") or self.default_start_method)

    def workers_for(self, resources: Mapping[str, Any] | None) -> int:
        """How many items may run at once: CPUs // ``cpus_per_task``, capped by config."""
        cpus = available_cpus()
        per_item = int((resources or {}).get("cpus_per_task") or 1)
        workers = max(1, cpus // max(1, per_item))
        cap = self._option("max_workers")
        return max(1, min(workers, int(cap))) if cap else workers

    # -- map ----------------------------------------------------------------------
    def map(self, workflow: Workflow, items: Sequence[Mapping[str, Any]], *,
            resources: Mapping[str, Any] | None = None) -> list[Any]:
        """Run ``workflow.run_item`` for each item in the pool; results in input order."""
        items = list(items)
        workers = self.workers_for(resources)
        if len(items) < 2 or workers < 2:
            return super().map(workflow, items, resources=resources)
        key = self._timings.key(workflow)
        if self._executor is None and self._timings.too_small(key, len(items), workers):
            return self._map_here(workflow, items, key)
        token, payload = self._ship(workflow)
        started = time.perf_counter()
        cold = self._executor is None
        executor = self._pool(workers, token, payload)
        running = min(workers, self._pool_size)
        size = chunk_size(len(items), running)
        chunks = [(start, items[start:start + size]) for start in range(0, len(items), size)]
        if token in self._installed:
            payload = None  # every worker has it since start-up
        # Submit everything when the whole pool may be used; else keep `running` in flight.
        window = len(chunks) if running >= self._pool_size else running
        collector = _Collector(self, workflow, executor, token, payload, chunks, len(items),
                               window)
        results = collector.run()
        self._timings.record(key, collector.item_seconds())
        if cold and collector.first_result is not None:
            self._timings.record_pool(collector.first_result - started)
        return results

    def _map_here(self, workflow: Workflow, items: list[Any], key: str | None) -> list[Any]:
        """A map measured too small to pay for starting the pool: run it here."""
        started = time.perf_counter()
        results = [workflow.run_item(item) for item in items]
        self._timings.record(key, (time.perf_counter() - started) / len(items))
        return results

    def _ship(self, workflow: Workflow) -> tuple[int, bytes]:
        """Pickle ``workflow`` once per run (again only if it was validated again)."""
        plan_id = id(workflow.plan)
        known = self._payloads.get(id(workflow))
        if known is not None and known[1] == plan_id:
            return known[2], known[3]
        import cloudpickle

        self._next_token += 1
        token = self._next_token
        try:
            payload = cloudpickle.dumps(workflow)
        except Exception as exc:
            raise BackendError(
                f"{getattr(workflow, 'label', workflow)}: cannot be sent to worker processes "
                f"({type(exc).__name__}: {exc}); tasks, their bound values and parameters "
                "must be picklable with cloudpickle"
            ) from exc
        self._payloads[id(workflow)] = (workflow, plan_id, token, payload)
        return token, payload

    def _pool(self, workers: int, token: int, payload: bytes) -> ProcessPoolExecutor:
        """The run's pool, created at the first map with ``workflow`` installed."""
        if self._executor is not None and workers <= self._pool_size:
            return self._executor
        if self._executor is not None:  # a later map may use more workers: grow
            self._discard_pool(wait=True)
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        import cloudpickle

        context = multiprocessing.get_context(self.start_method)
        forked = self.start_method == "fork"
        try:
            setup = cloudpickle.dumps((
                context_snapshot(self.pipeline_context),
                None if forked else _host_setup(self.pipeline_context),
                list(sys.path),
                forked,
            ))
        except Exception as exc:
            raise BackendError(
                f"the pipeline context cannot be sent to worker processes "
                f"({type(exc).__name__}: {exc}): settings, configuration, command-line "
                "arguments and what plugins keep in the run's `extra` must be picklable"
            ) from exc
        # A forked worker finds the driver's plugin host in its copy of this module.
        _FORKED_HOST[0] = self.pipeline_context.host if forked else None
        self._slots = context.RawArray("q", 2 * workers)
        lock = context.Lock()
        self._executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_init_worker,
            initargs=(setup, token, payload, self._slots, lock),
        )
        self._pool_size = workers
        self._installed = {token}
        return self._executor

    def _discard_pool(self, wait: bool, kill: bool = False) -> None:
        executor, self._executor = self._executor, None
        self._pool_size = 0
        self._installed = set()
        if executor is None:
            return
        if kill:
            for process in list((getattr(executor, "_processes", None) or {}).values()):
                if process.is_alive():
                    process.terminate()
        executor.shutdown(wait=wait, cancel_futures=True)

    def close(self) -> None:
        """Shut the pool down (workers exit once their current chunk is done)."""
        started = time.perf_counter()
        had_pool = self._executor is not None
        self._discard_pool(wait=True)
        if had_pool:
            self._timings.record_pool(time.perf_counter() - started, part="stop")
        self._timings.save()
        self._payloads.clear()
        super().close()


class _Collector:
    """One map call: submits chunks, gathers results, turns failures into errors."""

    def __init__(self, backend: ParallelBackend, workflow: Workflow,
                 executor: ProcessPoolExecutor, token: int, payload: bytes | None,
                 chunks: list[tuple[int, list[Any]]], total: int, window: int) -> None:
        self.backend = backend
        self.workflow = workflow
        self.label = getattr(workflow, "label", repr(workflow))
        self.executor = executor
        self.token = token
        self.payload = payload
        self.chunks = chunks
        self.total = total
        self.window = window
        self.results: list[Any] = [None] * total
        self.finished: set[int] = set()
        self.failures: list[tuple[int, BaseException, str | None]] = []
        self.worker_died = False
        self.first_result: float | None = None
        self.busy = 0.0  # seconds spent running items, all runners together
        self.timed = 0  # items those seconds cover
        report = getattr(workflow, "report_progress", None)
        self.report = report if callable(report) else None

    def run(self) -> list[Any]:
        pending: dict[Future[Any], tuple[int, list[Any]]] = {}
        queue = list(reversed(self.chunks))
        try:
            while queue or pending:
                while queue and len(pending) < self.window and not self.failures:
                    start, chunk = queue.pop()
                    future = self.executor.submit(_run_chunk, self.token, self.payload,
                                                  start, chunk)
                    pending[future] = (start, chunk)
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    start, chunk = pending.pop(future)
                    self._collect(future, start, chunk)
                if self.failures:
                    for future in pending:
                        future.cancel()  # running chunks finish; their results are kept
                    queue.clear()
        except BaseException:  # Ctrl-C in the driver: do not leave workers running
            self.backend._discard_pool(wait=False, kill=True)
            raise
        if self.failures:
            raise self._error()
        return self.results

    def item_seconds(self) -> float | None:
        """Average seconds per item, as measured where the items ran."""
        return self.busy / self.timed if self.timed else None

    def _collect(self, future: Future[Any], start: int, chunk: list[Any]) -> None:
        from concurrent.futures import CancelledError
        from concurrent.futures.process import BrokenProcessPool

        try:
            results, failure, elapsed = future.result()
        except CancelledError:
            return
        except BrokenProcessPool as broken:
            self._worker_died(start, len(chunk), broken)
            return
        except Exception as exc:  # the chunk could not be sent or its results returned
            self.failures.append((start, exc, traceback.format_exc()))
            self._progress(0, 1)
            return
        if self.first_result is None:
            self.first_result = time.perf_counter() - elapsed
        self.busy += elapsed
        self.timed += len(results)
        for offset, result in enumerate(results):
            self.results[start + offset] = result
            self.finished.add(start + offset)
        if failure is not None:
            index, error, text = failure
            self.failures.append((start + index, error, text))
        self._progress(len(results) + (failure is not None), int(failure is not None))

    def _progress(self, done: int, failed: int) -> None:
        if self.report is not None:
            self.report(done, failed)

    def _worker_died(self, start: int, count: int, broken: BaseException) -> None:
        """Name the dead worker's item and exit status; the pool is discarded."""
        if self.worker_died:
            return  # every pending chunk reports the same death
        self.worker_died = True
        executor = self.backend._executor
        processes = list((getattr(executor, "_processes", None) or {}).values())
        self.backend._discard_pool(wait=True)  # joins the workers: exit codes are known
        slots = _read_slots(self.backend._slots)
        dead = [p for p in processes
                if p.exitcode not in (None, 0, -signal.SIGTERM)] or [
                p for p in processes if p.exitcode not in (None, 0)]
        index, status = start, "died"
        for process in dead:
            status = _describe_exit(process.exitcode, process.pid)
            running = slots.get(process.pid)
            if running is not None and running >= 0:
                index = running
                break
        cause = ProcessDied(f"worker process {status}")
        cause.__cause__ = broken
        self.failures.append((index, cause, None))
        self._progress(0, 1)

    def _error(self) -> ItemFailure:
        index, error, text = min(self.failures, key=lambda failure: failure[0])
        kept = {i: self.results[i] for i in sorted(self.finished)}
        if isinstance(error, ProcessDied):
            died = WorkerDied(self.label, index, error, kept, self.total)
            died.__cause__ = error
            return died
        failure = ItemFailure(self.label, index, error, kept, self.total, text)
        failure.__cause__ = error
        return failure


def _describe_exit(code: int | None, pid: int) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"{pid} was killed by {name}"
    return f"{pid} exited with code {code}"


def _read_slots(slots: Any) -> dict[int, int]:
    """pid -> index of the item each worker was running (-1: between items)."""
    if slots is None:
        return {}
    values = list(slots)
    return {values[i]: values[i + 1] for i in range(0, len(values), 2) if values[i]}


def _host_setup(pipeline_context: PipelineContext) -> tuple[Any, list[str]] | None:
    """What a worker needs to load the same plugins: load options, pipeline plugins."""
    host = pipeline_context.host
    if host is None:
        return None
    pipeline_plugins = [record.module for record in host.records.values()
                        if record.kind == "pipeline" and record.status == "loaded"]
    return host.options, pipeline_plugins


# ------------------------------------------------------------------ the workers

#: Worker state, set once by the pool initializer.
_WORKER: dict[str, Any] = {}
#: The driver's plugin host, inherited by forked workers (see ``_set_up_worker``).
_FORKED_HOST: list[Any] = [None]


def _init_worker(setup: bytes, token: int, payload: bytes, slots: Any, lock: Any) -> None:
    """Pool initializer: restore and activate the pipeline, install the first workflow.

    A failure is kept and raised by every chunk the worker receives: the driver then
    reports it like an item error, where a failing initializer would only break the
    pool with a message saying nothing of the cause.
    """
    try:
        _set_up_worker(setup, token, payload, slots, lock)
    except Exception as exc:  # noqa: BLE001
        _WORKER["error"] = BackendError(
            f"a worker process could not start: {type(exc).__name__}: {exc}\n"
            + traceback.format_exc()
        )


def _set_up_worker(setup: bytes, token: int, payload: bytes, slots: Any, lock: Any) -> None:
    snapshot, host_setup, path, forked = pickle.loads(setup)
    for entry in reversed(path):  # the driver's imports must resolve here too
        if entry not in sys.path:
            sys.path.insert(0, entry)
    # Forked: the driver's plugin host is already in this process's memory, with its
    # plugins imported and registered; reloading them cost 10 to 30 ms per worker.
    # It holds no connection: databases belong to the context, which is rebuilt.
    host = _FORKED_HOST[0] if forked else None
    if host_setup is not None:
        from outflow.core.plugins.host import PluginHost

        options, pipeline_plugins = host_setup
        host = PluginHost(options).load()
        host.add_pipeline_plugins(pipeline_plugins)
    pipeline_context = snapshot.restore(host)
    if not forked:
        pipeline_context.configure_logging()
    from outflow.core.pipeline.context import activate

    activation = activate(pipeline_context)
    activation.__enter__()  # for the worker's lifetime
    slot = -1
    with lock:
        for position in range(0, len(slots), 2):
            if slots[position] == 0:
                slots[position], slots[position + 1], slot = os.getpid(), -1, position
                break
    _WORKER.update(context=pipeline_context, activation=activation, slots=slots,
                   slot=slot, workflows={token: pickle.loads(payload)})


def _run_chunk(token: int, payload: bytes | None, start: int, items: list[Any]
               ) -> tuple[list[Any], tuple[int, BaseException, str] | None, float]:
    """Run items in order; stop at the first error, returning what finished, it, and
    the seconds the items took."""
    if "error" in _WORKER:
        raise _WORKER["error"]
    workflows = _WORKER["workflows"]
    workflow = workflows.get(token)
    if workflow is None:
        if payload is None:
            raise BackendError("worker received an unknown workflow")
        workflow = workflows[token] = pickle.loads(payload)
    slots, slot = _WORKER["slots"], _WORKER["slot"]
    run_item = workflow.run_item
    results: list[Any] = []
    started = time.perf_counter()
    try:
        if slot < 0:
            for item in items:
                results.append(run_item(item))
        else:
            position = slot + 1
            for offset, item in enumerate(items):
                slots[position] = start + offset
                results.append(run_item(item))
            slots[position] = -1
    except Exception as error:  # noqa: BLE001 - sent back to the driver, which raises
        text = traceback.format_exc()
        return results, (len(results), _picklable(error, text), text), (
            time.perf_counter() - started)
    return results, None, time.perf_counter() - started


def _picklable(error: BaseException, text: str) -> BaseException:
    """``error`` if it survives pickling, else a RuntimeError with its type and message."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001
        inner = error.error if isinstance(error, TaskError) else error
        replacement = RuntimeError(f"{type(inner).__name__}: {inner}")
        if isinstance(error, TaskError):
            return TaskError(error.block_name, replacement)
        return replacement
    return error


__all__ = [
    "ItemFailure",
    "ParallelBackend",
    "ProcessDied",
    "WorkerDied",
    "available_cpus",
    "chunk_size",
]

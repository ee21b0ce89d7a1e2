"""The ``parallel`` backend (alias ``multiprocessing``): MapWorkflow items in a process pool.

Everything but the items of MapWorkflows runs in the calling process, as with
the default backend; :meth:`ParallelBackend.map` shares items between that
process (the driver) and a :class:`concurrent.futures.ProcessPoolExecutor`.
What the previous implementation got wrong, and what this one does instead:

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
- items are sent in chunks and results come back per chunk;
- one pool serves the whole run: created by the first map it pays off for,
  closed by :meth:`close`. Fewer than two items, or room for one item at a time
  (``len(os.sched_getaffinity(0)) // cpus_per_task``, capped by ``max_workers``),
  run here.

Sharing a map (``_SharedMap``). Starting a pool costs the calling process about
20 ms on 2 cores (forking, the first answer, the shut-down): as much as 1000
trivial items. So every map starts here: the driver runs the items itself, in
order, by pieces claimed from a cursor that a helper thread (one per process)
claims chunks from too, so that workers only get items the driver has not
reached; results go into slots by index. Between pieces the driver estimates the
work left (items not claimed x mean duration, its first item left out: imports,
caches); when it is :data:`PAYOFF` times what the pool costs
(:data:`POOL_START_SECONDS`, :data:`POOL_USE_SECONDS` once one runs), the helper
starts the pool, or takes the running one. The helper also watches the item the
driver runs: one that has run :data:`WATCH_SECONDS` while the items left would
pay at that duration each starts the pool before any item ended (8 items of
0.5 s: after 50 ms). A map that never pays off never starts a pool, and nothing
is measured or kept between runs. Then:

- short items (under :data:`LONG_ITEM_SECONDS`): once a worker per CPU answers,
  the driver hands the rest over: the helper sends all of it at once
  (:data:`CHUNKS_PER_WORKER` chunks per worker) and the driver waits. Going on
  with items, its thread would keep the GIL from the threads feeding the pool
  (the helper, the executor's manager and queue feeder): chunk round trips took
  5 to 10 ms so, for 1 ms of work. The first chunks are small
  (:data:`FIRST_CHUNK_SECONDS`): they answer soon;
- long items: the driver is one of the runners to the end, beside a pool of one
  worker fewer than the CPUs (8 items on 2 CPUs: 4 rounds of 2, as with a raw
  pool of 2, where 3 runners would take 3 slower rounds), one item per chunk and
  one chunk per worker at a time (at the end, the driver would otherwise wait
  for a queued item it could have run).

The switch interval is :data:`SWITCH_SECONDS` during a map, restored after: the
helper's first look, and every step of a chunk's round trip, wait for the
driver's thread to let go of the GIL. That first look is the fixed cost of a
map that stays here: one hand-over of the GIL, 0.1 to 0.3 ms on the 2-core
virtual machine of ``benchmarks/bench_map.py``. ``parallel: {driver_runs_items:
false}`` turns sharing off: every map of two items or more then runs in the
pool, the driver waiting for chunks of :func:`chunk_size` items, as maps with
``cpus_per_task > 1`` always do (the driver must not run more items at once than
the CPUs allow).

Failures. A worker runs the items of its chunk in order and stops at the first
error, returning the results it has and the error (with its traceback text); the
driver stops at its first error too. Nothing is claimed after a failure; chunks
already claimed run to completion (those after the failing item that did not
start are cancelled), so every item before the failing one ran. The driver then
raises :class:`ItemFailure` for the first failing item in input order, naming its
index, the task and the error. The outputs of every item that finished are kept
on the exception (``item_results``, index -> result; the MapWorkflow turns them
into ``MapItemError.completed`` and, with ``cache=True``, into cache entries, so
that the next run only computes what is missing). When something else stops a
shared map (Ctrl-C in the driver), the pool is killed and the exception gets the
same ``item_results``, with ``item_index = len(items)`` (no item failed): the
items the driver ran need not be the first ones, and a MapWorkflow must not take
them for a prefix.

A worker that dies (killed by a signal, ``os._exit``, out of memory) breaks a
``ProcessPoolExecutor``: every pending future fails with ``BrokenProcessPool``
instead of hanging. The driver reports it as a :class:`WorkerDied` naming the
exit code or signal and the item the worker was running (workers note the index
of their current item in a small shared array), discards the pool (the next map
starts a new one), and keeps the finished outputs as above.

Start method: ``fork`` by default on Linux. A forked worker inherits the
driver's plugin host (already imported and registered: reloading it cost 10 to
30 ms per worker) but none of its database connections, which belong to the
pipeline context it rebuilds. A pool of 2 answers in about 60 ms with fork,
380 ms with forkserver (a fresh interpreter imports outflow and the pipeline
again); per item both cost the same. The helper thread forks while the driver
runs items, and ``fork`` copies only the calling thread: a lock held by the
driver's thread at that instant would stay locked in the workers. So the helper
asks the driver to pause between two pieces (where it holds no lock of a task:
the logging module re-creates its locks in the child, and ``os.fork`` takes the
import lock) and forks then; it also pickles the workflow then, not while the
driver's items change it. It waits :data:`PARK_SECONDS` at most, so that a long
item does not delay the pool by its whole duration: only a fork during a long
item (the watch above) can copy a lock a task holds, which would hang a worker
that needs it. ``parallel: {start_method: forkserver}`` removes that case (no
memory is inherited), at the cost of a slower first pool in each process (about
0.3 s more here) and of the main module being imported again in the workers
(it must guard its command line with ``if __name__ == "__main__"``); ``spawn``
works too (the worker then loads the plugins again). ``parallel: {max_workers:
N}`` caps the items run at once.
"""
from __future__ import annotations

# Also what starting a pool needs (about 20 ms, when a command chooses this backend):
# imported by the helper thread while the driver runs an item, every file access
# giving the GIL away, the same imports took 250 ms.
import math
import multiprocessing
import multiprocessing.popen_fork  # noqa: F401
import multiprocessing.sharedctypes  # noqa: F401
import multiprocessing.synchronize  # noqa: F401
import os
import pickle
import signal
import sys
import threading
import time
import traceback
import warnings
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, wait
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

import cloudpickle

from outflow.core.backends import Backend, BackendError, Capabilities, context_snapshot
from outflow.core.logging import logger
from outflow.core.tasks import EngineError, TaskError
from outflow.core.tasks.errors import failing_block, is_item_failure, item_failure_message

if TYPE_CHECKING:
    from outflow.core.pipeline.context import PipelineContext
    from outflow.core.workflow.workflow import Workflow

#: Chunks per worker when the driver waits (a map in the pool, or handed over to
#: it): enough to balance uneven items.
CHUNKS_PER_WORKER = 4
#: What starting a pool costs the calling process, in seconds: forking the
#: workers, their first answer, shutting them down (measured with fork on 2 cores).
POOL_START_SECONDS = 0.02
#: What sending a map to a pool that runs already costs (round trips, last chunks).
POOL_USE_SECONDS = 0.002
#: The pool is used when the work left is this many times what it costs.
PAYOFF = 3.0
#: How long the helper thread waits for the driver to pause between two pieces
#: before it forks the workers anyway (see "Start method" above).
PARK_SECONDS = 0.005
#: Work in each piece the driver claims, at most (it decides about the pool between
#: pieces), and in its second piece (the first one is an item).
DRIVER_PIECE_SECONDS = 0.004
FIRST_PIECE_SECONDS = 0.00025
#: Work in each chunk sent to a worker, at most: fewer items near the end of a map.
WORKER_CHUNK_SECONDS = 0.02
#: ... and in the first chunk sent to each worker.
FIRST_CHUNK_SECONDS = 0.002
#: Items shorter than this are short: once workers answer, the driver hands the
#: rest of the map over to them (running items itself, its thread would keep the
#: GIL from the threads that feed the pool); longer ones, it runs its share.
LONG_ITEM_SECONDS = 0.01
#: An item the driver has run for this long starts the pool before any item ended,
#: if the items left would pay for it at that duration each. Not less: the first
#: item of a map may be slow for its own reasons (imports, caches), and the helper
#: thread would wake up more often, taking the GIL from the driver each time.
WATCH_SECONDS = 0.05
#: The interpreter's switch interval during a shared map (instead of 5 ms): the
#: helper thread, and each step of a chunk's round trip, wait for the driver's
#: thread to let go of the GIL.
SWITCH_SECONDS = 0.0005
#: The helper thread looks at the driver's item at most this often.
_HELPER_TICK = 0.002


def available_cpus() -> int:
    """CPUs this process may run on (cgroups and ``taskset`` included)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cpus_per_task(resources: Mapping[str, Any] | None) -> int:
    """The CPUs one item needs (a MapWorkflow's ``cpus_per_task``; 1 when not given)."""
    return int((resources or {}).get("cpus_per_task") or 1)


def _known(table: Mapping[int, tuple[Any, ...]], workflow: Workflow) -> tuple[Any, ...] | None:
    """``table``'s entry for ``workflow`` (keyed by id, the workflow first and its plan's
    id second), when it is this workflow with this plan: validating again makes a new
    plan, whose payload must be made again."""
    entry = table.get(id(workflow))
    if entry is not None and entry[0] is workflow and entry[1] == id(workflow.plan):
        return entry
    return None


def chunk_size(items: int, workers: int) -> int:
    """Items per task when only workers run items: about :data:`CHUNKS_PER_WORKER`
    chunks per worker."""
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
        self.block_name = failing_block(error)
        self.remote_traceback = remote_traceback
        super().__init__(item_failure_message(label, item_index, error, self.block_name,
                                              len(item_results), total))


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

    def __init__(self, pipeline_context: PipelineContext) -> None:
        super().__init__(pipeline_context)
        self._executor: ProcessPoolExecutor | None = None
        self._pool_size = 0
        self._slots: Any = None
        #: id(workflow) -> (workflow, id(plan), token, payload); keeps ids alive.
        self._payloads: dict[int, tuple[Any, int, int, bytes]] = {}
        self._installed: set[int] = set()  # tokens every worker got at start-up
        self._next_token = 0
        #: Held to create or discard the pool (the helper thread does both too).
        self._pool_lock = threading.RLock()
        #: The lock of the maps' cursors, and their condition (a chunk came back).
        self._cond = threading.Condition(threading.Lock())
        self._mapping = False  # a map is running: a nested one runs sequentially
        #: Why no pool can serve shared maps: id(workflow) -> (workflow, id(plan)) of
        #: workflows that cannot be pickled, and a context that cannot be.
        self._unshippable: dict[int, tuple[Any, int]] = {}
        self._no_pool: BaseException | None = None

    # -- settings -----------------------------------------------------------------
    def _option(self, key: str) -> Any:
        section = self.pipeline_context.config.get("parallel") or {}
        return section.get(key) if isinstance(section, Mapping) else None

    @property
    def start_method(self) -> str:
        return str(self._option("start_method") or self.default_start_method)

    @property
    def driver_runs_items(self) -> bool:
        """Whether the driver runs items too (``parallel: {driver_runs_items: false}``:
        never, every map of two items or more goes to the pool)."""
        value = self._option("driver_runs_items")
        return True if value is None else bool(value)

    def workers_for(self, resources: Mapping[str, Any] | None) -> int:
        """How many items may run at once: CPUs // ``cpus_per_task``, capped by config."""
        workers = max(1, available_cpus() // max(1, cpus_per_task(resources)))
        cap = self._option("max_workers")
        return max(1, min(workers, int(cap))) if cap else workers

    # -- map ----------------------------------------------------------------------
    def map(self, workflow: Workflow, items: Sequence[Mapping[str, Any]], *,
            resources: Mapping[str, Any] | None = None) -> list[Any]:
        """Run ``workflow.run_item`` for each item, here and in the pool; results in
        input order."""
        if type(items) is not list:  # read only: the caller's list serves as it is
            items = list(items)
        workers = self.workers_for(resources)
        if len(items) < 2 or workers < 2 or self._mapping:
            # One item, one CPU, or a map nested in an item this process runs.
            return super().map(workflow, items, resources=resources)
        self._mapping = True
        try:
            if cpus_per_task(resources) <= 1 and self.driver_runs_items:
                if self._no_pool is not None or _known(self._unshippable, workflow):
                    return super().map(workflow, items, resources=resources)
                return _SharedMap(self, workflow, items, workers).run()
            return self._map_in_pool(workflow, items, workers)
        finally:
            self._mapping = False

    def _map_in_pool(self, workflow: Workflow, items: list[Any], workers: int) -> list[Any]:
        """Every item in the pool, the driver waiting for chunks."""
        token, payload = self._ship(workflow)
        executor = self._pool(workers, token, payload)
        running = min(workers, self._pool_size)
        size = chunk_size(len(items), running)
        chunks = [(start, items[start:start + size]) for start in range(0, len(items), size)]
        if token in self._installed:
            payload = None  # every worker has it since start-up
        # Submit everything when the whole pool may be used; else keep `running` in flight.
        window = len(chunks) if running >= self._pool_size else running
        with _fork_quietly():  # the first submit forks the workers
            return _Collector(self, workflow, executor, token, payload, chunks, len(items),
                              window).run()

    def _shipped(self, workflow: Workflow) -> bool:
        return _known(self._payloads, workflow) is not None

    def _ship(self, workflow: Workflow) -> tuple[int, bytes]:
        """Pickle ``workflow`` once per run (again only if it was validated again)."""
        known = _known(self._payloads, workflow)
        if known is not None:
            return known[2], known[3]
        plan_id = id(workflow.plan)
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

    def _pool_ready(self, workers: int) -> bool:
        return self._executor is not None and workers <= self._pool_size

    def _pool_setup(self) -> bytes:
        """What every worker's initializer receives (pickled once per pool)."""
        forked = self.start_method == "fork"
        try:
            return cloudpickle.dumps((
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

    def _pool(self, workers: int, token: int, payload: bytes,
              setup: bytes | None = None) -> ProcessPoolExecutor:
        """The run's pool, created at the first map with ``workflow`` installed.

        Its workers start at the first ``submit`` (all of them, with fork).
        """
        with self._pool_lock:
            if self._pool_ready(workers):
                return self._executor  # type: ignore[return-value]
            if self._executor is not None:  # a later map may use more workers: grow
                self._discard_pool(wait=True)
            if setup is None:
                setup = self._pool_setup()
            context = multiprocessing.get_context(self.start_method)
            forked = self.start_method == "fork"
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
        with self._pool_lock:
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
        self._discard_pool(wait=True)
        self._payloads.clear()
        super().close()


class _Helper(threading.Thread):
    """The helper thread: serves one :class:`_SharedMap` at a time, for every backend.

    One per process, started at the first map that may share its items (starting
    a thread costs 0.1 to 0.6 ms here, as much as 5 to 30 trivial items: once per
    process, not per map or per run), idle between maps; a daemon, so that it
    never keeps an interpreter alive. ``wake`` is set by a new map, by a map whose
    pool pays off, and when a map is interrupted.
    """

    def __init__(self) -> None:
        super().__init__(name="outflow-parallel-helper", daemon=True)
        self.wake = threading.Event()
        self._lock = threading.Lock()
        self.job: _SharedMap | None = None  # the next one
        self._serving: _SharedMap | None = None

    def submit(self, job: _SharedMap) -> bool:
        """Serve ``job`` next; False if a map of another thread has the helper."""
        with self._lock:
            serving = self._serving
            if serving is not None and not serving.returned:
                return False
            self.job = job
        self.wake.set()
        return True

    def run(self) -> None:
        while True:
            self.wake.wait()
            with self._lock:
                self.wake.clear()
                job = self._serving = self.job
                self.job = None
            if job is not None:
                job.serve(self)
            with self._lock:
                self._serving = None


_HELPER: dict[int, _Helper] = {}  # pid -> helper: a forked child makes its own
_HELPER_LOCK = threading.Lock()


def _helper_thread() -> _Helper:
    """This process's helper thread, started at its first shared map."""
    pid = os.getpid()
    with _HELPER_LOCK:
        helper = _HELPER.get(pid)
        if helper is None or not helper.is_alive():
            _HELPER.clear()
            helper = _HELPER[pid] = _Helper()
            helper.start()
        return helper


class _SharedMap:
    """One map shared by the driver and the pool (see the module doc).

    The driver (``run``) and the helper thread (``serve``) claim items from
    ``next`` under ``lock``: the driver small pieces it runs itself, the helper
    chunks it sends to workers (``outstanding`` counts those not collected yet).
    """

    # Class attributes: the state every map starts with (cheaper than setting it).
    next = 0  # first item not claimed
    stopped = False  # nothing more is claimed (a failure, Ctrl-C)
    over = False  # the driver claims no more
    handed_over = False  # ... because the pool runs the rest
    helper_done = False  # the helper thread is done with this map
    returned = False  # ``run`` returned (or raised)
    outstanding = 0  # chunks claimed for workers, not collected yet
    running = 0  # workers the helper sends chunks to
    sent = 0  # chunks sent
    bulk = 0  # items per chunk once handed over
    answered = False  # a chunk came back from a worker
    worker_seconds = 0.0  # seconds per item in workers (0: not known)
    died = False  # a worker died
    # Written by the driver between pieces, read by the helper.
    done = 0  # items the driver ran
    first: tuple[float, int] | None = None  # (end, items) of the driver's first piece
    wanted = False  # the pool pays off: the helper starts it
    switch: float | None = None  # the switch interval before the map
    # The helper asks the driver to stop between two items while it forks.
    park = False
    parked: threading.Event | None = None
    resume: threading.Event | None = None
    helper: _Helper | None = None

    def __init__(self, backend: ParallelBackend, workflow: Workflow, items: list[Any],
                 workers: int) -> None:
        self.backend = backend
        self.workflow = workflow
        self.items = items
        self.total = len(items)
        self.workers = workers  # items that may run at once, the driver's included
        self.results: list[Any] = [None] * self.total
        self.ranges: list[tuple[int, int]] = []  # [start, stop) of items that finished
        self.failures: list[tuple[int, BaseException, str | None]] = []
        self.cond = backend._cond  # guards claims; notified: a chunk collected, the helper done
        self.pending: dict[Future[Any], tuple[int, int]] = {}  # chunks in workers
        self.progress: deque[tuple[int, int]] = deque()  # from workers, for the driver
        self.boundary = self.started = time.perf_counter()  # boundary: last piece's end
        running = backend._executor is not None
        self.threshold = PAYOFF * (POOL_USE_SECONDS if running else POOL_START_SECONDS)
        #: A pool with a worker per CPU runs, that answered before.
        self.warm = running and backend._pool_size >= workers
        self.report = _progress_reporter(workflow)

    @property
    def label(self) -> str:
        return _label(self.workflow)

    def _report_progress(self, done: int, failed: int) -> None:
        if self.report is not None:
            self.report(done, failed)

    # -- claiming -----------------------------------------------------------------
    def claim(self, size: int, worker: bool) -> tuple[int, int] | None:
        with self.cond:
            if self.stopped or self.next >= self.total:
                return None
            if worker:
                self.outstanding += 1
            start = self.next
            self.next = stop = min(self.total, start + size)
            return start, stop

    def stop(self) -> None:
        with self.cond:
            self.stopped = True

    def finished(self) -> bool:
        """Nothing is left for the pool: the driver ran out of items, or it stopped."""
        return self.stopped or (self.over and not self.handed_over)

    def seconds_per_item(self) -> float:
        """Mean duration of an item (the driver's after its first piece, else the
        workers'); 0 if not known yet."""
        first = self.first
        if first is not None and self.done > first[1]:
            return (self.boundary - first[0]) / (self.done - first[1])
        return self.worker_seconds

    def long_items(self) -> bool:
        """Items long enough for the GIL not to matter (or none has ended yet)."""
        per_item = self.seconds_per_item()
        return not per_item or per_item >= LONG_ITEM_SECONDS

    def _share(self, runners: int) -> int:
        """Guided self-scheduling: a runner takes at most this share of what is left."""
        return max(1, math.ceil((self.total - self.next) / (2 * runners)))

    # -- the driver ---------------------------------------------------------------
    def run(self) -> list[Any]:
        self._switch_faster()  # the helper's first look: after 0.5 ms, not 5 ms
        helper = _helper_thread()
        if helper.submit(self):
            self.helper = helper
        else:
            self.helper_done = True  # this map runs here
        try:
            while True:
                self._drive()
                if self._wait_for_workers():
                    break
                self.handed_over = False  # the helper stopped: the driver goes on
        except BaseException as error:
            self._interrupted(error)
            raise
        finally:
            self.returned = True
            if self.switch is not None and sys.getswitchinterval() == SWITCH_SECONDS:
                sys.setswitchinterval(self.switch)
        if self.failures:
            raise self._error()
        return self.results

    def _switch_faster(self) -> None:
        """Let the threads feeding the pool have the GIL sooner (restored by ``run``)."""
        if self.switch is None:
            self.switch = sys.getswitchinterval()
            if self.switch > SWITCH_SECONDS:
                sys.setswitchinterval(SWITCH_SECONDS)

    def _drive(self) -> None:
        """Run pieces here until none is left, or the pool takes the rest over."""
        run_item = self.workflow.run_item
        items, results, ranges = self.items, self.results, self.ranges
        size = 1  # the first piece measures an item
        seconds = FIRST_PIECE_SECONDS  # the next piece's work: doubled up to the most
        while True:
            piece = self.claim(size, worker=False)
            if piece is None:
                return
            start, stop = piece
            index = start
            try:
                for index in range(start, stop):
                    _CURRENT_ITEM.index = index
                    results[index] = run_item(items[index])
                _CURRENT_ITEM.index = None
            except Exception as error:
                _CURRENT_ITEM.index = None
                ranges.append((start, index))
                self.failures.append((index, error, traceback.format_exc()))
                self.stop()
                return
            except BaseException:
                _CURRENT_ITEM.index = None
                ranges.append((start, index))
                raise
            ranges.append((start, stop))
            self.done += stop - start
            self.boundary = now = time.perf_counter()
            if self.park:
                self.parked.set()  # type: ignore[union-attr]
                self.resume.wait()  # type: ignore[union-attr]
            if self.progress:
                self._report()
            if self.first is None:  # not a measure: the first item warms caches up
                self.first = (now, self.done)
                per_item = now - self.started
            else:
                per_item = self.seconds_per_item()
                if not self.wanted and per_item * (self.total - self.next) >= self.threshold:
                    self.wanted = True
                    if self.helper is not None:
                        self.helper.wake.set()
            if self.wanted and per_item < LONG_ITEM_SECONDS and not self.helper_done and (
                    self.warm or self.answered and self.running >= self.workers):
                # Short items, and a worker per CPU that answers: this thread would
                # only keep the GIL from the threads feeding them. The helper sends
                # them the rest at once.
                self.handed_over = True
                return
            if self.running:  # small pieces: little left to wait for at the end
                size = min(self._share(self.running + 1),
                           math.ceil(FIRST_PIECE_SECONDS / per_item) if per_item else 64)
            else:  # the pool may start after any piece: not too long ones
                size = math.ceil(seconds / per_item) if per_item else 64
                seconds = min(2 * seconds, DRIVER_PIECE_SECONDS)
            size = max(1, size)

    def _waiting(self) -> bool:
        """(Under ``lock``.) Chunks are in workers, or the helper will send more."""
        return self.outstanding > 0 or (
            self.handed_over and not self.helper_done and not self.stopped
            and self.next < self.total)

    def _wait_for_workers(self) -> bool:
        """Wait for the chunks in workers; False if items are left that nobody runs
        (the helper stopped after the driver handed the rest over)."""
        with self.cond:
            self.over = True
        # Not waking the helper up if it waits for the payoff: it would take the GIL
        # from this thread now; its timer or the next map's start will.
        parked = self.parked
        if parked is not None:
            parked.set()  # the helper need not wait for a pause between two items
        while True:
            with self.cond:
                while self._waiting() and not self.progress:
                    self.cond.wait()
                busy = self._waiting()
                left = not self.stopped and self.next < self.total
            self._report()
            if not busy:
                return not left

    def _report(self) -> None:
        while self.progress:
            self._report_progress(*self.progress.popleft())

    def _interrupted(self, error: BaseException) -> None:
        """Ctrl-C (or a bug) in the driver: kill the pool, keep what finished."""
        with self.cond:
            self.stopped = self.over = True
        if self.helper is not None:
            self.helper.wake.set()
        if self.running or self.died:
            self.backend._discard_pool(wait=False, kill=True)
        if not is_item_failure(error):
            # MapWorkflows keep these outputs (see the module doc); no item failed.
            error.item_index = self.total  # type: ignore[attr-defined]
            error.item_results = self._kept()  # type: ignore[attr-defined]

    def _kept(self) -> dict[int, Any]:
        results = self.results
        kept = {}
        for start, stop in sorted(list(self.ranges)):
            for index in range(start, stop):
                kept[index] = results[index]
        return kept

    def _error(self) -> ItemFailure:
        return _first_failure(self.label, self.failures, self._kept(), self.total)

    # -- the helper thread --------------------------------------------------------
    def serve(self, helper: _Helper) -> None:
        """Start (or take) the pool when it pays off, then feed it until the map ends."""
        try:
            if self._pays_off(helper):
                self._switch_faster()  # the helper's pickling and forking, too
                started = self._start_pool()
                if started is not None:
                    self._dispatch(*started)
        except BaseException as exc:  # noqa: BLE001 - the driver runs the items
            lost, self.pending = list(self.pending.values()), {}
            text = traceback.format_exc()
            for start, _ in lost:  # claimed, never collected: say so, never hang
                self.failures.append((start, exc, text))
                self.stop()
                self._collected(0, 1)
            logger.warning("%s: no worker processes (%s: %s)%s", self.label,
                           type(exc).__name__, exc,
                           "" if lost else "; the items run in this process")
        finally:
            if self.resume is not None:
                self.resume.set()
            with self.cond:
                self.helper_done = True
                self.cond.notify_all()

    def _pays_off(self, helper: _Helper) -> bool:
        """Wait until the work left is worth the pool, or the map is over."""
        while True:
            if self.wanted:
                return True
            if self.finished() or helper.job is not None:  # over, or a new map started
                return False
            left = self.total - self.next
            if left <= 0:
                return False
            # The item the driver runs has taken this long already: the others may too.
            running_for = time.perf_counter() - self.boundary
            if running_for >= WATCH_SECONDS and running_for * left >= self.threshold:
                return True
            # Each setter of ``wake`` makes one of the conditions above true.
            helper.wake.wait(max(max(self.threshold / left, WATCH_SECONDS) - running_for,
                                 _HELPER_TICK))

    def _start_pool(self) -> tuple[Any, ...] | None:
        backend, workflow = self.backend, self.workflow
        # Long items: the driver is a runner to the end, a worker fewer is enough (8
        # items on 2 CPUs: 4 rounds, as with a pool of 2, where 3 runners would make
        # 2 slow rounds of 3 and 1 of 2). Short ones: handed over to a worker per CPU.
        long = self.long_items()
        size = max(1, self.workers - 1) if long else self.workers
        fork = backend._executor is None or (
            backend._pool_size < size and not long)  # grown for short items
        if not fork:
            size = backend._pool_size  # as it is
        elif backend._executor is not None and (
                self.seconds_per_item() * (self.total - self.next)
                < PAYOFF * POOL_START_SECONDS):
            return None  # not worth a new pool: the driver runs the items
        forked = fork and backend.start_method == "fork"
        self.parked, self.resume = threading.Event(), threading.Event()
        if fork or not backend._shipped(workflow):
            # Pickle (and fork) while the driver is between two items.
            self.park = True
            if not self.over:
                self.parked.wait(PARK_SECONDS)
        try:
            if self.finished():
                return None
            try:
                token, payload = backend._ship(workflow)
            except BackendError:
                backend._unshippable[id(workflow)] = (workflow, id(workflow.plan))
                raise
            try:
                setup = backend._pool_setup() if fork else None
            except BackendError as exc:
                backend._no_pool = exc
                raise
            if not forked:
                self.park = False
                self.resume.set()
            with backend._pool_lock:
                if self.finished():
                    return None
                executor = backend._pool(size, token, payload, setup)
                self.running = backend._pool_size
                if token in backend._installed:
                    payload = None
                with _fork_quietly():
                    self._fill(executor, token, payload)  # forks the workers
        finally:
            self.park = False
            self.resume.set()
        return executor, token, payload

    def _chunk(self) -> int:
        if self.handed_over:  # what is left, in chunks as when every item goes there
            if not self.bulk:
                self.bulk = chunk_size(self.total - self.next, self.running)
            return self.bulk
        per_item = self.seconds_per_item()
        if not per_item:
            return 1  # the first item still runs: a long one
        runners = self.running + 1
        # Small first chunks: they answer soon, and the driver may then hand over.
        seconds = FIRST_CHUNK_SECONDS if self.sent < self.running else WORKER_CHUNK_SECONDS
        return max(1, min(self._share(runners), int(seconds / per_item)))

    def _fill(self, executor: ProcessPoolExecutor, token: int, payload: bytes | None
              ) -> None:
        pending = self.pending
        while True:
            # A second chunk per worker hides the round trip; not for long items:
            # at the end, the driver would wait for a queued one it could have run.
            if not self.handed_over and len(pending) >= self.running * (
                    1 if self.long_items() else 2):
                return
            piece = self.claim(self._chunk(), worker=True)
            if piece is None:
                return
            self.sent += 1
            start, stop = piece
            try:
                future = executor.submit(_run_chunk, token, payload, start,
                                         self.items[start:stop])
            except BaseException as exc:  # broken or shut down
                failed: Future[Any] = Future()
                failed.set_exception(exc)
                future = failed
            pending[future] = (start, stop)

    def _dispatch(self, executor: ProcessPoolExecutor, token: int, payload: bytes | None
                  ) -> None:
        pending = self.pending
        while True:
            if not self.stopped:
                self._fill(executor, token, payload)
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                start, stop = pending.pop(future)
                self._collect(future, start, stop)
            if self.stopped and self.failures:
                first = min(index for index, _, _ in self.failures)
                for future, (start, _stop) in list(pending.items()):
                    if start > first and future.cancel():  # not started, after the failure
                        del pending[future]
                        self._collected()

    def _collected(self, done: int = 0, failed: int = 0) -> None:
        with self.cond:
            self.outstanding -= 1
            if done or failed:
                self.progress.append((done, failed))
            self.cond.notify_all()

    def _collect(self, future: Future[Any], start: int, stop: int) -> None:
        try:
            results, failure, elapsed = future.result()
        except CancelledError:
            self._collected()
            return
        except BrokenProcessPool as broken:
            self._worker_died(start, broken)
            return
        except Exception as exc:  # the chunk could not be sent or its results returned
            self.failures.append((start, exc, traceback.format_exc()))
            self.stop()
            self._collected(0, 1)
            return
        count = len(results)
        self.results[start:start + count] = results
        self.ranges.append((start, start + count))
        if count:
            self.worker_seconds = elapsed / count
            self.answered = True
        if failure is not None:
            index, error, text = failure
            self.failures.append((start + index, error, text))
            self.stop()
        self._collected(count + (failure is not None), int(failure is not None))

    def _worker_died(self, start: int, broken: BaseException) -> None:
        if self.died:  # every pending chunk reports the same death
            self._collected()
            return
        self.died = True
        self.stop()
        index, cause = _dead_worker(self.backend, start, broken)
        self.failures.append((index, cause, None))
        self._collected(0, 1)


class _Collector:
    """One map run by the pool only: submits chunks, gathers results, turns failures
    into errors."""

    def __init__(self, backend: ParallelBackend, workflow: Workflow,
                 executor: ProcessPoolExecutor, token: int, payload: bytes | None,
                 chunks: list[tuple[int, list[Any]]], total: int, window: int) -> None:
        self.backend = backend
        self.workflow = workflow
        self.label = _label(workflow)
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
        self.report = _progress_reporter(workflow)

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

    def _collect(self, future: Future[Any], start: int, chunk: list[Any]) -> None:
        try:
            results, failure, _elapsed = future.result()
        except CancelledError:
            return
        except BrokenProcessPool as broken:
            if not self.worker_died:  # every pending chunk reports the same death
                self.worker_died = True
                self.failures.append((*_dead_worker(self.backend, start, broken), None))
                self._progress(0, 1)
            return
        except Exception as exc:  # the chunk could not be sent or its results returned
            self.failures.append((start, exc, traceback.format_exc()))
            self._progress(0, 1)
            return
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

    def _error(self) -> ItemFailure:
        kept = {i: self.results[i] for i in sorted(self.finished)}
        return _first_failure(self.label, self.failures, kept, self.total)


def _label(workflow: Workflow) -> str:
    return getattr(workflow, "label", repr(workflow))


def _progress_reporter(workflow: Workflow) -> Any:
    """The workflow's ``report_progress(done, failed)`` (a MapWorkflow's), or None."""
    report = getattr(workflow, "report_progress", None)
    return report if callable(report) else None


def _first_failure(label: str, failures: list[tuple[int, BaseException, str]],
                   kept: dict[int, Any], total: int) -> ItemFailure:
    """The error of the first failing item in input order, finished outputs kept."""
    index, error, text = min(failures, key=lambda failure: failure[0])
    kind = WorkerDied if isinstance(error, ProcessDied) else ItemFailure  # a death has no text
    failure = kind(label, index, error, kept, total, text)
    failure.__cause__ = error
    return failure


def _dead_worker(backend: ParallelBackend, start: int, broken: BaseException
                 ) -> tuple[int, ProcessDied]:
    """The dead worker's item and exit status; the pool is discarded (joined)."""
    executor = backend._executor
    processes = list((getattr(executor, "_processes", None) or {}).values())
    backend._discard_pool(wait=True)  # joins the workers: exit codes are known
    slots = _read_slots(backend._slots)
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
    return index, cause


@contextmanager
def _fork_quietly() -> Iterator[None]:
    """Python 3.12+ warns at each fork of a process with threads (the helper thread
    is one): this backend forks while the other threads hold no lock it knows of
    (see "Start method" in the module doc)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*use of fork\(\) may lead to deadlocks",
                                category=DeprecationWarning)
        yield


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

#: The item each thread of this process runs now (driver or worker).
_CURRENT_ITEM = threading.local()


def current_item_index() -> int | None:
    """Index, in the items given to :meth:`ParallelBackend.map`, of the item that the
    calling thread runs now; None outside of a map's item.

    Run tracking numbers the blocks of mapped items with it: items run here and in
    the workers out of input order, so counting them would give wrong indexes.
    """
    return getattr(_CURRENT_ITEM, "index", None)
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
        for offset, item in enumerate(items):
            _CURRENT_ITEM.index = start + offset
            if slot >= 0:
                slots[slot + 1] = start + offset
            results.append(run_item(item))
        if slot >= 0:
            slots[slot + 1] = -1
    except Exception as error:  # noqa: BLE001 - sent back to the driver, which raises
        text = traceback.format_exc()
        return results, (len(results), _picklable(error, text), text), (
            time.perf_counter() - started)
    finally:
        _CURRENT_ITEM.index = None
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

"""One map on the worker pool: chunks out, results in, failures and dead workers named.

The driver hands each worker a chunk, waits (``multiprocessing.connection.wait``) on
the pipes and the sentinels of the busy ones, and hands the next chunk to whichever
worker finished. Chunks follow guided self-scheduling: each takes
``ceil(left / (2 x workers))`` items, so a map of trivial items costs a few dozen
round trips, and 8 long items on 2 workers go one at a time once they are half done.

Results are stored by position as they land (workers send them after each long item,
in batches for short ones), and reported to the workflow
(``workflow.item_returned``): the progress display moves, and a failing map keeps
what finished. After a failure nothing more is sent; the chunks already running end
(they may hold an earlier failing item), then the failure of the first failing item
in input order is raised. A worker that dies is a :class:`~outflow.core.backends.
WorkerDied` naming the item it ran (from the pool's slots) and how it ended; the pool
replaces it at the next map. Anything else that stops the driver (Ctrl-C) kills the
workers, so no pending item runs.

With a ``timeout`` (the map's ``resources``), the driver notes when each worker
started its item (its slot changes) and wakes up in time: a worker whose item ran
past the timeout is stopped (SIGTERM: it writes its tracking rows; SIGKILL if it does
not end within :data:`~outflow.multiprocessing.pool.KILL_SECONDS`), and its item
fails as an :class:`~outflow.core.backends.ItemTimedOut`. When a map keeps going, the
workflow turns a lost item into a failed result (``lost_item``): the rest of that
worker's chunk is handed out again, and a new worker takes the dead one's place.
"""

from __future__ import annotations

import math
import pickle
import time
from collections.abc import Sequence
from multiprocessing.connection import wait
from typing import Any

from outflow.core.backends import BackendError, ItemFailure, ItemTimedOut, WorkerDied, earliest
from outflow.multiprocessing.pool import KILL_SECONDS, Worker, WorkerPool

#: Longest wait between two looks at what the workers run, when items have a timeout.
TIMEOUT_POLL = 0.1


class MapDispatch:
    """Run ``items`` of ``workflow`` on (up to ``window`` workers of) ``pool``."""

    def __init__(self, pool: WorkerPool, workflow: Any, items: Sequence[Any], window: int,
                 token: int, payload: bytes, timeout: float | None = None) -> None:
        self.pool = pool
        self.workflow = workflow
        self.label = str(getattr(workflow, "label", workflow))
        self.items = items
        self.total = len(items)
        self.window = window
        self.workers = list(pool)[:window]
        self.token = token
        self.payload = payload
        self.results: list[Any] = [None] * self.total
        self.next = 0  # first position not handed out
        self.returned: list[tuple[int, int]] = []  # chunks given back by workers that failed
        self.failures: list[ItemFailure] = []
        self.busy: dict[Any, Worker] = {}  # connection or sentinel -> busy worker
        #: seconds an item may run (None: no limit)
        self.timeout = timeout
        #: worker -> (the position it runs, since when: as first seen by the driver)
        self.started: dict[Worker, tuple[int, float]] = {}
        #: worker stopped for running past the timeout -> (its position, when stopped)
        self.stopped: dict[Worker, tuple[int, float]] = {}

    def run(self) -> list[Any]:
        try:
            for worker in self.workers:
                self._feed(worker)
            while self.busy:
                outputs = self.pool.outputs()  # the workers' stderr, on a terminal
                limit = self._enforce_timeout() if self.timeout is not None else None
                for ready in wait([*self.busy, *outputs], timeout=limit):
                    worker = self.busy.get(ready)
                    if worker is not None:
                        self._answer(worker, dead=ready is worker.process.sentinel)
                    elif ready in outputs:
                        self.pool.relay_output(ready)  # type: ignore[arg-type]
        except BaseException:
            self.pool.kill()  # Ctrl-C or a failure of the driver: nothing more runs
            raise
        if self.failures:
            raise earliest(self.failures)
        return self.results

    # -- handing out ------------------------------------------------------------------
    def _chunk(self) -> tuple[int, int] | None:
        if self.failures:
            return None
        if self.returned:
            return self.returned.pop()
        left = self.total - self.next
        if left <= 0:
            return None
        size = max(1, math.ceil(left / (2 * len(self.workers))))
        start, self.next = self.next, self.next + size
        return start, self.next

    def _feed(self, worker: Worker) -> None:
        """Give ``worker`` its next chunk, if any is left."""
        chunk = self._chunk()
        if chunk is None:
            return
        start, stop = chunk
        payload = self.payload if worker.token != self.token else None
        try:
            worker.send(("chunk", self.token, payload, start, list(self.items[start:stop]),
                         self.label))
        except OSError:  # the worker is gone: another one takes the chunk
            self.returned.append(chunk)
            self.pool.died(worker)
            self.workers.remove(worker)
            if not self.workers:
                raise BackendError(f"{self.label}: no worker process left to run the "
                                   f"items") from None
            return
        worker.token = self.token
        worker.chunk = chunk
        self.busy[worker.connection] = worker
        self.busy[worker.process.sentinel] = worker

    # -- answers ----------------------------------------------------------------------
    def _answer(self, worker: Worker, dead: bool) -> None:
        """Read what ``worker`` sent; hand it the next chunk when it is done with one."""
        connection = worker.connection
        finished = False
        try:
            while connection.poll():
                finished = self._message(worker, pickle.loads(connection.recv_bytes()))
                if finished and not dead:
                    break
        except (EOFError, OSError):
            dead = True
        if dead:
            if finished:
                worker.chunk = None  # it died after its chunk: nothing was lost
            self._died(worker)
        elif finished:
            self._idle(worker)
            self._feed(worker)

    def _message(self, worker: Worker, message: tuple[Any, ...]) -> bool:
        """Store the results of a message; True when the worker's chunk is over."""
        first, results, failure, finished = message
        items, stored = self.items, self.results
        returned = self.workflow.item_returned
        for position, result in enumerate(results, first):
            stored[position] = result
            returned(items[position], result)
        if worker.chunk is not None:
            worker.chunk = (first + len(results), worker.chunk[1])
        if failure is not None:
            self.failures.append(failure)
        return bool(finished)

    # -- timeouts ---------------------------------------------------------------------
    def _enforce_timeout(self) -> float:
        """Stop the workers whose item ran past the timeout (kill those that were asked
        and did not end); the seconds until the next look."""
        assert self.timeout is not None
        now = time.monotonic()
        wake = TIMEOUT_POLL
        for worker in {id(worker): worker for worker in self.busy.values()}.values():
            stopped = self.stopped.get(worker)
            if stopped is not None:
                if now - stopped[1] >= KILL_SECONDS and worker.process.exitcode is None:
                    worker.process.kill()
                continue
            position = self.pool.running(worker)
            if position is None:
                self.started.pop(worker, None)
                continue
            seen = self.started.get(worker)
            if seen is None or seen[0] != position:
                seen = self.started[worker] = (position, now)
            left = seen[1] + self.timeout - now
            if left <= 0:
                self.stopped[worker] = (position, now)
                worker.process.terminate()  # it writes its rows, then dies
            else:
                wake = min(wake, left)
        return wake

    def _idle(self, worker: Worker) -> None:
        worker.chunk = None
        self.busy.pop(worker.connection, None)
        self.busy.pop(worker.process.sentinel, None)

    def _died(self, worker: Worker) -> None:
        chunk = worker.chunk
        running = self.pool.running(worker)
        stopped = self.stopped.pop(worker, None)
        self.started.pop(worker, None)
        self._idle(worker)
        how = self.pool.died(worker)
        if worker in self.workers:
            self.workers.remove(worker)
        if chunk is None:  # between chunks: nothing was lost, the others go on
            if not self.workers and not self.failures and (
                    self.returned or self.next < self.total):
                raise BackendError(f"{self.label}: no worker process left ({how})")
            return
        if stopped is not None:  # its slot may be cleared already: it ended cleanly
            running = stopped[0]
        position = running if running is not None else chunk[0]
        index = getattr(self.items[position], "index", position)
        if stopped is not None:
            failure: WorkerDied = ItemTimedOut.after(
                self.label, index, self.timeout or 0.0,
                f"worker process {worker.pid} was stopped")
        else:
            failure = WorkerDied(self.label, index, how)
        replacement = self.workflow.lost_item(self.items[position], failure)
        if replacement is None:
            self.failures.append(failure)
            return
        self.results[position] = replacement  # a map that keeps going: on with the rest
        # The chunk's other items without a result (some may have finished, their
        # results still held by the worker) are handed out again.
        for start, stop in ((chunk[0], position), (position + 1, chunk[1])):
            if start < stop:
                self.returned.append((start, stop))
        self._replace_workers()

    def _replace_workers(self) -> None:
        """Start workers in place of the dead ones, and give them work."""
        self.pool.start()
        for worker in self.pool:
            if worker not in self.workers and len(self.workers) < self.window:
                self.workers.append(worker)
                self._feed(worker)


__all__ = ["MapDispatch"]

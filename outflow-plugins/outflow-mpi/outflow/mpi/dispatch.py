"""One map on the MPI workers: chunks out, results in, failures named.

The driver keeps :data:`IN_FLIGHT` chunks queued at each worker, polls for answers
from any of them, and queues the next chunk at whichever finished one: a worker
finds its next chunk waiting when it ends one, so the driver's polling latency
never idles it (MPI offers no cheap blocking wait: the driver polls and sleeps).
Chunks follow guided self-scheduling, as in the parallel backend:
``ceil(left / (2 x chunks in flight))`` items each, and no fewer items than take
:data:`CHUNK_SECONDS` by the time the items took so far (workers say): a map of
trivial items costs a handful of messages, and long items go one at a time once
half are done. The
workflow (pickled once per map) goes with the first chunk each worker gets.

Results are stored by position as they land and reported to the workflow
(``workflow.item_returned``). After a failure nothing more is sent and the chunks
queued at the workers are cancelled; the chunks already running end (they may hold
an earlier failing item), then the failure of the first failing item in input order
is raised. A worker stopped by a signal says
so: a :class:`~outflow.core.backends.WorkerDied` naming the item, the rank and the
signal; it gets no more chunks in this run.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

from outflow.core.backends import BackendError, ItemFailure, WorkerDied, earliest
from outflow.core.logging.status_line import is_terminal, write_above
from outflow.mpi.ranks import TO_DRIVER, TO_WORKER, Link, mpi

#: Chunks queued at each worker at a time.
IN_FLIGHT = 2
#: The least work a chunk carries, once the items' duration is known: well above a
#: round trip (both sides poll), so that round trips cost little, and small enough
#: that the workers end close together.
CHUNK_SECONDS = 0.02


class MapDispatch:
    """Run ``items`` of ``workflow`` on (up to ``window``) workers of ``link``."""

    def __init__(self, link: Link, workflow: Any, items: Sequence[Any], window: int,
                 token: int, payload: bytes, loaded: dict[int, int],
                 timeout: float | None = None) -> None:
        self.link = link
        self.workflow = workflow
        self.label = str(getattr(workflow, "label", workflow))
        self.items = items
        self.total = len(items)
        self.workers = link.workers[:max(1, window)]
        self.token = token
        self.payload = payload
        #: seconds each item may run: the worker stops it (run_chunk's timeout)
        self.timeout = timeout
        #: whether the workers send their log records here, to be written above the
        #: progress bar: when this process's stderr is a terminal (see serve.py)
        self.relay = is_terminal(sys.stderr)
        #: worker rank -> token of the map whose workflow it holds (kept across maps)
        self.loaded = loaded
        self.results: list[Any] = [None] * self.total
        self.next = 0  # first position not handed out
        self.failures: list[ItemFailure] = []
        #: worker rank -> its queued chunks, oldest first: [first position not
        #: returned yet, stop]
        self.busy: dict[int, list[list[int]]] = {}
        self.returned = 0  # results that came back
        self.seconds = 0.0  # the time the returned items took, as workers measured

    def run(self) -> list[Any]:
        for _round in range(IN_FLIGHT):
            for rank in self.workers:
                self._feed(rank)
        any_source = mpi().ANY_SOURCE
        try:
            while self.busy:
                got = self.link.receive(any_source, TO_DRIVER)
                assert got is not None  # no timeout
                self._answer(*got)
        except BaseException:
            # Ctrl-C or a failure of the driver: these workers will not read the
            # release before their chunk is over.
            self.link.busy.update(self.busy)
            raise
        if self.failures:
            raise earliest(self.failures)
        if self.returned != self.total:  # never a list with holes
            raise BackendError(f"{self.label}: {self.total - self.returned} item(s) never "
                               "came back from the MPI workers")
        return self.results

    # -- handing out ------------------------------------------------------------------
    def _chunk(self) -> tuple[int, int] | None:
        left = self.total - self.next
        if self.failures or left <= 0:
            return None
        size = max(1, math.ceil(left / (2 * IN_FLIGHT * len(self.workers))))
        if self.returned:  # no smaller than CHUNK_SECONDS of work: a round trip costs
            per_item = self.seconds / self.returned  # more than the balance it buys
            size = max(size, math.ceil(CHUNK_SECONDS / per_item) if per_item else left)
        start, self.next = self.next, self.next + min(size, left)
        return start, self.next

    def _feed(self, rank: int) -> None:
        chunk = self._chunk()
        if chunk is None:
            return
        start, stop = chunk
        payload = self.payload if self.loaded.get(rank) != self.token else None
        self.link.send(("chunk", self.token, payload, start, list(self.items[start:stop]),
                        self.label, self.timeout, self.relay), rank, TO_WORKER)
        self.loaded[rank] = self.token
        self.busy.setdefault(rank, []).append([start, stop])

    # -- answers ----------------------------------------------------------------------
    def _answer(self, rank: int, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "results":
            _, first, results, failure, finished, seconds = message
            self.seconds += seconds
            items, stored = self.items, self.results
            returned = self.workflow.item_returned
            for position, result in enumerate(results, first):
                stored[position] = result
                returned(items[position], result)
            self.returned += len(results)
            queued = self.busy.get(rank)
            if queued:
                queued[0][0] = first + len(results)
            if failure is not None:
                self._failed(failure)
            if finished and queued:
                queued.pop(0)
                if not queued:
                    del self.busy[rank]
                self._feed(rank)
        elif kind == "log":
            write_log(message[1])
        elif kind in ("stopped", "bye"):
            self._gone(rank, message)

    def _failed(self, failure: ItemFailure) -> None:
        """Note a failure; at the first, the chunks queued at the workers are cancelled
        (those running end: one may hold an earlier failing item)."""
        if not self.failures:
            for rank, queued in self.busy.items():
                if len(queued) > 1:
                    self.link.send(("cancel", self.token), rank, TO_WORKER)
        self.failures.append(failure)

    def _gone(self, rank: int, message: tuple[Any, ...]) -> None:
        """A worker left on its own (a stop signal): the item it ran failed, and it
        takes no more chunks in this run."""
        queued = self.busy.pop(rank, None)
        chunk = queued[0] if queued else None
        if rank in self.workers:
            self.workers.remove(rank)
        if rank in self.link.workers:
            self.link.workers.remove(rank)
        how, where = (message[2], message[3]) if message[0] == "stopped" else (None, message[1])
        if chunk is not None and chunk[0] < chunk[1]:  # it had items left to run
            position = message[1] if message[0] == "stopped" and message[1] is not None \
                else chunk[0]
            index = getattr(self.items[position], "index", position)
            why = f"was stopped by {how}" if how else "left"
            self._failed(WorkerDied(self.label, index, f"{where} {why}"))
            return
        if not self.workers and not self.failures and self.next < self.total:
            raise BackendError(f"{self.label}: no MPI worker left to run the items")


def write_log(text: str) -> None:
    """A worker's log record (formatted), above the progress bar of this terminal."""
    try:
        write_above(sys.stderr, text)
    except (ValueError, OSError):  # the terminal went away
        pass


__all__ = ["MapDispatch", "write_log"]

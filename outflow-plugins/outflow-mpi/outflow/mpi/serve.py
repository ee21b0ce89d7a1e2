"""A worker: an MPI process that runs map items for the driver until released.

Ranks 1 to N-1 of ``mpiexec -n N`` start here (the hook ``outflow_process_role``,
:mod:`outflow.mpi.launch`), and so do spawned workers (``python -m outflow.mpi.serve``).
The loop waits for the driver's messages:

- ``("chunk", token, payload, start, items, label, timeout)``: run ``items``
  (positions ``start``, ``start + 1``... of the map) with the map ``token``'s workflow,
  each within ``timeout`` seconds if given (the item fails with a ``TimeoutError``
  past it); ``payload`` is that workflow, pickled, sent with the first chunk this
  worker gets of each map.
  Its WorkerKit sets the process up the first time (plugins, context, the hook
  ``outflow_worker_started``). Results go back as ``("results", first, results,
  failure, finished, seconds)`` (``seconds``: the time those items took, which sizes
  the next chunks): after an item when :data:`SEND_INTERVAL` has passed since the last
  message (progress, and what finished is kept), and at the end of the chunk;
- with ``relay`` (the last field of a chunk: the driver's stderr is a terminal, where
  it draws the progress bar), the worker's console log handlers are replaced by one
  sending each record, formatted, to the driver (``("log", text)``), which writes it
  above the bar (records of other threads than the main one still go to stderr);
- ``("cancel", token)``: the map failed; its chunks queued here are not run (each is
  answered with no results);
- ``("stop",)``: end this worker's part (the hook ``outflow_worker_finished``: run
  tracking writes its rows), answer ``("bye", where)`` and return 0.

SIGINT is ignored: MPI launchers forward Ctrl-C to every rank, and stopping the run
is the driver's job (it releases the idle workers and ends the job if some still run
an item). SIGTERM or SIGHUP stops the item being run; the worker tells the driver
(``("stopped", position, signal name, where)``), writes its rows, waits for the
driver to release it and leaves with status 0: a rank that dies of a signal, or
leaves early, makes most MPI launchers end the whole job, the driver included,
before it could record what happened.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
from collections import deque
from typing import Any

from outflow.mpi.ranks import RELEASE_TIMEOUT, TO_DRIVER, TO_WORKER, Link, mpi

#: Probes for messages that came while a chunk ran, before the next chunk starts.
PROBES = 3
#: A worker sends the results it holds once this many seconds passed since it last
#: sent some (and at the end of each chunk).
SEND_INTERVAL = 0.05


def serve_world() -> int:
    """Serve rank 0 of this job (a rank other than 0 of ``mpiexec -n N``)."""
    comm = mpi().COMM_WORLD
    return Worker(Link(comm, [0], spawned=False), driver=0).serve()


def serve_parent() -> int:
    """Serve the process that spawned this one (``python -m outflow.mpi.serve``)."""
    parent = mpi().Comm.Get_parent()
    if parent == mpi().COMM_NULL:
        print("outflow.mpi.serve: not spawned by an outflow driver: nothing to serve "
              "(start the pipeline with --backend mpi)", file=sys.stderr)
        return 2
    worker = Worker(Link(parent, [0], spawned=True), driver=0)
    code = worker.serve()
    parent.Disconnect()
    return code


class Worker:
    """The loop of one worker; see the module doc."""

    def __init__(self, link: Link, driver: int) -> None:
        self.link = link
        self.driver = driver
        self.rank = link.comm.Get_rank()
        kind = "spawned MPI process" if link.spawned else "MPI rank"
        self.where = f"{kind} {self.rank} (pid {os.getpid()}, host {socket.gethostname()})"
        self.workflows: dict[int, Any] = {}
        self.position: int | None = None  # the item being run, for a stop signal

    def serve(self) -> int:
        from outflow.core.backends.worker import finish_worker
        from outflow.core.interrupts import Interrupted, signal_name, signals_interrupt

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            with signals_interrupt((signal.SIGTERM, signal.SIGHUP)):
                try:
                    self._loop()
                finally:
                    finish_worker()  # still under the handlers: the rows are written
        except Interrupted as interrupted:
            self.say("stopped", self.position, signal_name(interrupted.signum), self.where)
            self._wait_for_release()
        self.say("bye", self.where)
        self.link.flush(RELEASE_TIMEOUT)  # the driver reads it: then this process ends
        return 0

    def _wait_for_release(self) -> None:
        """After a stop signal: run nothing more, and leave when the driver releases
        this worker. Leaving before would take the MPI job down: the driver may still
        be sending to this rank (a chunk queued before it heard), and most MPI
        libraries end the job on a message to a rank that is gone. Another stop
        signal ends the wait."""
        from outflow.core.interrupts import Interrupted, signals_interrupt

        try:
            with signals_interrupt((signal.SIGTERM, signal.SIGHUP)):
                while True:
                    got = self.link.receive(self.driver, TO_WORKER)
                    if got is not None and got[1][0] == "stop":
                        return
        except Interrupted:
            return

    def say(self, *message: Any) -> None:
        self.link.send(message, self.driver, TO_DRIVER)

    def _loop(self) -> None:
        inbox: deque[tuple[Any, ...]] = deque()
        cancelled: set[int] = set()

        def take(message: tuple[Any, ...]) -> None:
            if message[0] == "cancel":  # applies to the chunks before it in the inbox
                cancelled.add(message[1])
            else:
                inbox.append(message)

        while True:
            if not inbox:
                got = self.link.receive(self.driver, TO_WORKER)
                assert got is not None  # no timeout
                take(got[1])
            # What else came: a cancel behind a queued chunk must be seen before it runs.
            # A probe that finds nothing may just have pulled a message in (MPI makes
            # progress then): probe again before concluding nothing came.
            for _attempt in range(PROBES):
                while (got := self.link.poll(self.driver, TO_WORKER)) is not None:
                    take(got[1])
            if not inbox:
                continue
            message = inbox.popleft()
            if message[0] == "stop":
                return
            _, token, payload, start, items, label, timeout, relay = message
            if token in cancelled:  # the map failed: its queued chunks do not run
                self.say("results", start, [], None, True, 0.0)
                continue
            workflow = self.workflows.get(token)
            if workflow is None:
                self.workflows.clear()  # one map at a time: the previous one is over
                try:
                    workflow = _load(payload)
                except Exception as error:  # noqa: BLE001 - said to the driver, as a failure
                    self._cannot_load(error, start, items, label)
                    continue
                self.workflows[token] = workflow
                if relay:  # logging is set up now (the workflow's WorkerKit did it)
                    self._relay_logs()
            self._chunk(workflow, start, items, timeout)

    def _relay_logs(self) -> None:
        """Send the records the console handlers would print to the driver instead."""
        import logging

        root = logging.getLogger()
        for handler in list(root.handlers):
            if isinstance(handler, (_LogsToDriver, logging.FileHandler)) or not isinstance(
                    handler, logging.StreamHandler):
                continue
            if getattr(handler, "stream", None) not in (sys.stderr, sys.__stderr__):
                continue
            relay = _LogsToDriver(self)
            relay.setLevel(handler.level)
            relay.setFormatter(handler.formatter)
            for record_filter in handler.filters:  # secrets masked as before
                relay.addFilter(record_filter)
            root.removeHandler(handler)
            root.addHandler(relay)

    def _cannot_load(self, error: BaseException, start: int, items: list[Any],
                     label: str) -> None:
        from outflow.core.backends import BackendError, ItemFailure

        failure = ItemFailure(label, getattr(items[0], "index", start), BackendError(
            f"{self.where} cannot run the map: {type(error).__name__}: {error}"))
        self.say("results", start, [], failure, True, 0.0)

    def _chunk(self, workflow: Any, start: int, items: list[Any],
               timeout: float | None = None) -> None:
        from outflow.core.backends.worker import run_chunk

        chunk = _Chunk(self, workflow, start, items)
        # self.position stays set if a stop signal interrupts the item: serve() says it
        try:
            _results, failure = run_chunk(workflow, items, on_item=chunk.before,
                                          on_result=chunk.held.append, timeout=timeout)
        except _ChunkOver:
            self.position = None
            return
        self.position = None
        if failure is not None:
            failure.located(self.where)
        chunk.send(failure, finished=True)


class _LogsToDriver(logging.Handler):
    """Sends each record, formatted, to the driver (from the main thread; MPI calls
    from other threads are not safe: their records go to stderr)."""

    def __init__(self, worker: Worker) -> None:
        super().__init__()
        self.worker = worker
        self.main = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record) + "\n"
            if threading.get_ident() == self.main:
                self.worker.say("log", text)
            else:
                sys.stderr.write(text)
        except Exception:  # noqa: BLE001 - logging must not fail the item
            self.handleError(record)


class _ChunkOver(BaseException):
    """A result could not be sent: its item failed, the chunk stops (not an item error)."""


class _Chunk:
    """The results of one chunk, sent as they come (see the module doc)."""

    def __init__(self, worker: Worker, workflow: Any, start: int, items: list[Any]) -> None:
        self.worker = worker
        self.workflow = workflow
        self.start = start
        self.items = items
        self.held: list[Any] = []
        self.offset = 0  # the held results are those of the items from this offset
        self.last = time.monotonic()  # when results were last sent (or the chunk began)

    def before(self, offset: int) -> None:
        self.worker.position = self.start + offset
        now = time.monotonic()
        if self.held and now - self.last >= SEND_INTERVAL:
            self.send(None, finished=False)

    def send(self, failure: Any, finished: bool) -> None:
        """Send the held results (and the chunk's failure); a result that does not
        pickle fails its item, and the chunk stops there."""
        import cloudpickle

        from outflow.core.backends.worker import sendable

        first, held = self.start + self.offset, self.held
        now = time.monotonic()
        seconds, self.last = now - self.last, now
        try:
            data = cloudpickle.dumps(("results", first, held, failure, finished, seconds))
        except Exception:  # noqa: BLE001 - the driver must get an answer
            held, failure, whole = sendable(self.workflow, self.items[self.offset:], held,
                                            failure)
            self.worker.say("results", first, held, failure, True, seconds)
            if not whole or not finished:
                raise _ChunkOver from None
            return
        self.worker.link.send_data(data, self.worker.driver, TO_DRIVER)
        self.offset += len(held)
        held.clear()  # in place: run_chunk appends to this list


def _load(payload: bytes) -> Any:
    """The map's workflow, this process set up for its run (plugins, context)."""
    import pickle

    from outflow.core.backends.worker import ensure_worker

    workflow = pickle.loads(payload)
    if workflow.worker_kit is not None:
        ensure_worker(workflow.worker_kit)
    return workflow


if __name__ == "__main__":
    sys.exit(serve_parent())

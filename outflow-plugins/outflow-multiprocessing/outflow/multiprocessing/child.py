"""The loop of a worker process of the parallel backend.

A worker waits on its pipe for messages from the driver, pickled with cloudpickle:

- ``("chunk", token, payload, start, items, label)``: run ``items`` (positions ``start``,
  ``start + 1``... of the map) with the workflow ``token``; ``payload`` is that
  workflow pickled, sent with the first chunk a worker gets of each map only. The
  items run with the kernel's :func:`~outflow.core.backends.worker.run_chunk`;
  results go back as ``(first position, results, failure, finished)`` messages:
  after every item when items take :data:`SEND_INTERVAL` or more (so that the
  driver shows progress, and keeps what finished should the process die), in
  batches otherwise, and always when the chunk ends;
- ``("stop",)``: end the worker's part in the run (the hook
  ``outflow_worker_finished``: run tracking writes its rows) and exit.

The process ignores SIGINT: Ctrl-C in a terminal reaches the whole process group,
and it is the driver's to handle (it stops the workers). SIGTERM and SIGHUP (from the
driver stopping it, or sent to the whole group) stop the item it runs; the worker
writes what it buffered (the hook ``outflow_worker_finished``) and dies of that
signal. When the driver dies without a word (SIGKILL), the kernel sends the worker
SIGTERM on Linux (``PR_SET_PDEATHSIG``); elsewhere the pipe reaches its end and the
worker exits after its item.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import time
from typing import Any

import cloudpickle

from outflow.core.backends import BackendError, ItemFailure
from outflow.core.backends.worker import ensure_worker, finish_worker, run_chunk, sendable
from outflow.core.interrupts import Interrupted, die_of, signals_interrupt
from outflow.multiprocessing.relay import worker_stderr

#: A worker sends the results it holds once this many seconds passed since it last
#: sent some (and at the end of each chunk).
SEND_INTERVAL = 0.005


class _ChunkOver(BaseException):
    """A result could not be sent: its item failed, the chunk stops (not an item error)."""


def serve(connection: Any, slots: Any, slot: int, inherited: list[Any],
          output: Any = None) -> None:
    """Run chunks for the driver until told to stop: the target of every worker.

    ``slots[slot]`` says which position of the map this worker runs (-1: none), for
    the driver to name the item should this process die. ``inherited``: the driver's
    ends of the other workers' pipes, which a forked child holds copies of and closes
    (else a worker would keep its siblings' pipes open after the driver is gone).
    ``output``: the pipe that is this worker's stderr, when the driver relays it
    (see :mod:`outflow.multiprocessing.relay`).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for other in inherited:
        other.close()
    if output is not None:
        worker_stderr(output)
    _die_with_parent()
    stopped_by: int | None = None
    try:
        with signals_interrupt((signal.SIGTERM, signal.SIGHUP)):
            try:
                _serve(connection, slots, slot)
            finally:  # still under the handlers: a second signal waits for this
                slots[slot] = -1
                finish_worker()  # the rows of the blocks that ended are written
    except Interrupted as interrupted:
        stopped_by = interrupted.signum
    if stopped_by is not None:
        die_of(stopped_by)


def _die_with_parent() -> None:
    """Have the kernel send SIGTERM to this worker when its parent dies (Linux), so that
    a driver killed with SIGKILL leaves no worker running its item to the end; the
    handler above then writes the worker's rows and ends it. Elsewhere the worker
    notices at its next message (the pipe is closed)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # no prctl: the pipe still tells, later
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


#: prctl option: the signal this process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


def _serve(connection: Any, slots: Any, slot: int) -> None:
    workflows: dict[int, Any] = {}
    try:
        while True:
            message = pickle.loads(connection.recv_bytes())
            if message[0] == "stop":
                break
            _, token, payload, start, items, label = message
            workflow = workflows.get(token)
            if workflow is None:
                workflows.clear()  # one map at a time: the previous one is over
                try:
                    workflow = _load(payload)
                except Exception as error:  # noqa: BLE001 - said to the driver, as a failure
                    failure = ItemFailure(label, getattr(items[0], "index", start), BackendError(
                        f"worker process {os.getpid()} cannot run the map: "
                        f"{type(error).__name__}: {error}"))
                    connection.send_bytes(cloudpickle.dumps((start, [], failure, True)))
                    continue
                workflows[token] = workflow
            _Chunk(connection, workflow, start, items, slots, slot).run()
    except (EOFError, OSError):  # the driver is gone
        pass


def _load(payload: bytes) -> Any:
    """The map's workflow, this process set up for its run (plugins, context)."""
    workflow = pickle.loads(payload)
    if workflow.worker_kit is not None:
        ensure_worker(workflow.worker_kit)
    return workflow


class _Chunk:
    """One chunk of items: run them, send the results as they come."""

    def __init__(self, connection: Any, workflow: Any, start: int, items: list[Any],
                 slots: Any, slot: int) -> None:
        self.connection = connection
        self.workflow = workflow
        self.start = start
        self.items = items
        self.slots = slots
        self.slot = slot
        self.held: list[Any] = []  # results not sent yet...
        self.offset = 0  # ...of the items from this offset in the chunk
        self.last = time.monotonic()

    def run(self) -> None:
        try:
            _results, failure = run_chunk(self.workflow, self.items, on_item=self.before,
                                          on_result=self.collect)
        except _ChunkOver:
            return
        finally:
            self.slots[self.slot] = -1
        self.send(failure, finished=True)

    def before(self, offset: int) -> None:
        now = time.monotonic()
        if self.held and now - self.last >= SEND_INTERVAL:
            self.send(None, finished=False)
            self.last = now
        self.slots[self.slot] = self.start + offset

    def collect(self, result: Any) -> None:
        self.held.append(result)

    def send(self, failure: ItemFailure | None, finished: bool) -> None:
        """Send the held results (and the chunk's failure); a result that does not
        pickle fails its item, and the chunk stops there."""
        held, offset = self.held, self.offset
        try:
            data = cloudpickle.dumps((self.start + offset, held, failure, finished))
        except Exception:  # noqa: BLE001 - the driver must get an answer
            kept, failure, _whole = sendable(self.workflow, self.items[offset:], held, failure)
            self.connection.send_bytes(cloudpickle.dumps((self.start + offset, kept, failure,
                                                          True)))
            raise _ChunkOver from None
        self.connection.send_bytes(data)
        self.offset += len(held)
        self.held = []

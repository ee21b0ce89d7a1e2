"""The worker processes of the parallel backend: started once per run, one pipe each.

Why not ``concurrent.futures.ProcessPoolExecutor``: it feeds its workers from two
helper threads (a queue feeder and a manager), so the driver is multi-threaded as
soon as a pool runs, and any later fork (a replacement worker, a task's own
subprocess) copies a process whose other threads may hold locks. A dead worker also
breaks the whole executor without saying which item it ran. Here the driver keeps a
plain pipe per worker and waits on the pipes and the processes' sentinels with
``multiprocessing.connection.wait``, in its own thread: no thread of ours exists
besides it, a dead worker is seen at once (its sentinel), and a shared array of slots
says which item each worker runs.

Start method, decided per platform when the pool starts (:func:`start_method`):

- Linux: ``fork`` when this process has a single thread at that moment (the
  backend starts its pool before the first task runs, so that is the common case):
  a forked worker starts in milliseconds with the driver's imports and plugins, and
  with one thread nothing can be holding a lock that the child would inherit locked.
  When other threads exist (a task or a library started some: ``/proc/self/task``
  counts them all, native ones included, as Python 3.12's fork warning does),
  ``forkserver``: workers are forked from a clean single-threaded server process
  instead. This is why Python 3.14 made ``forkserver`` the default on Linux; we keep
  the faster ``fork`` where it is safe, and never silence the warning;
- macOS and Windows: ``spawn``, their only safe method (macOS system libraries are
  not fork-safe).

``parallel: {start_method: ...}`` in the configuration chooses one explicitly. With
``forkserver`` and ``spawn``, a worker imports the main module again: a script must
guard its command line with ``if __name__ == "__main__"`` (``manage.py`` does).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from multiprocessing.util import Finalize
from typing import Any

import cloudpickle

from outflow.multiprocessing.child import serve
from outflow.multiprocessing.relay import OutputRelay, relaying

#: Seconds a stopping worker gets to finish its part (write its tracking rows)...
STOP_SECONDS = 10.0
#: ...and a terminated one to exit before it is killed.
KILL_SECONDS = 2.0


def thread_count() -> int:
    """Threads of this process, native ones included where the OS says (Linux)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def start_method(configured: str | None = None) -> str:
    """The start method for a pool starting now (see the module doc)."""
    if configured:
        return configured
    if sys.platform.startswith("linux"):
        return "fork" if thread_count() == 1 else "forkserver"
    return "spawn"


class Worker:
    """One worker process, the driver's end of its pipe, and what it was sent."""

    __slots__ = ("process", "connection", "slot", "token", "chunk", "output")

    def __init__(self, process: Any, connection: Connection, slot: int,
                 output: Connection | None = None) -> None:
        self.process = process
        self.connection = connection
        self.slot = slot
        #: the driver's end of the worker's stderr, when relayed (see relay.py)
        self.output = output
        self.token = 0  # the workflow it holds (0: none)
        self.chunk: tuple[int, int] | None = None  # (start, stop) it runs now

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def send(self, message: tuple[Any, ...]) -> None:
        self.connection.send_bytes(cloudpickle.dumps(message))


class WorkerPool:
    """``size`` worker processes, started together, replaced when one died."""

    def __init__(self, size: int, configured_method: str | None = None) -> None:
        self.size = size
        self.configured_method = configured_method
        self.method = ""
        self.workers: list[Worker | None] = [None] * size
        self._context: Any = None
        self.slots: Any = None
        self._at_exit: Finalize | None = None
        #: writes the workers' stderr above the progress bar (a terminal only)
        self.relay = OutputRelay()

    def __iter__(self) -> Iterator[Worker]:
        return (worker for worker in self.workers if worker is not None)

    @property
    def started(self) -> bool:
        return self.slots is not None

    def start(self) -> None:
        """Start every missing worker (all of them the first time, dead ones later)."""
        method = start_method(self.configured_method)
        if self._context is None or method != self.method:
            self.method = method
            self._context = multiprocessing.get_context(method)
        if self.slots is None:
            self.slots = self._context.RawArray("q", [-1] * self.size)
        if self._at_exit is None:
            # Workers are not daemons (a task may start processes of its own), so
            # multiprocessing joins them when this interpreter exits: stop them first.
            self._at_exit = Finalize(None, self.kill, exitpriority=10)
        for slot, worker in enumerate(self.workers):
            if worker is not None and (worker.process.exitcode is not None):
                self._forget(worker)
                worker = None
            if worker is None:
                self.workers[slot] = self._spawn(slot)

    def _spawn(self, slot: int) -> Worker:
        ours, theirs = self._context.Pipe(duplex=True)
        reader, writer = self._context.Pipe(duplex=False) if relaying() else (None, None)
        forked = self.method == "fork"
        # A forked child holds copies of our ends of its pipes and its siblings': it
        # closes them, so that it sees the end of its pipe once the driver is gone.
        inherited = ([*(worker.connection for worker in self), ours,
                      *(worker.output for worker in self if worker.output is not None),
                      *([reader] if reader is not None else [])] if forked else [])
        process = self._context.Process(
            target=serve, args=(theirs, self.slots, slot, inherited, writer),
            name=f"outflow-parallel-{slot}",
        )
        self.slots[slot] = -1
        process.start()
        theirs.close()
        if writer is not None:
            writer.close()
        return Worker(process, ours, slot, reader)

    def outputs(self) -> list[Connection]:
        """The workers' relayed stderr pipes still open (none off a terminal)."""
        return [worker.output for worker in self if worker.output is not None]

    def relay_output(self, pipe: Connection) -> None:
        """Relay what ``pipe`` holds; close it at its end."""
        if not self.relay.read(pipe):
            for worker in self:
                if worker.output is pipe:
                    worker.output = None
            pipe.close()

    def running(self, worker: Worker) -> int | None:
        """The position (in the current map) of the item ``worker`` runs, if any."""
        position = self.slots[worker.slot] if self.slots is not None else -1
        return position if position >= 0 else None

    def died(self, worker: Worker) -> str:
        """Describe how ``worker`` ended (it is gone), and forget it: the next
        :meth:`start` replaces it."""
        worker.process.join(KILL_SECONDS)
        self._forget(worker)
        return describe_exit(worker.process.exitcode, worker.pid)

    def _forget(self, worker: Worker) -> None:
        worker.connection.close()
        if worker.output is not None:  # what it wrote before it ended
            self.relay.drain([worker.output])
            worker.output.close()
            worker.output = None
        if self.workers[worker.slot] is worker:
            self.workers[worker.slot] = None

    def stop(self) -> None:
        """Ask every worker to finish (their tracking rows get written), wait for them,
        and terminate those that do not exit in time."""
        for worker in self:
            try:
                worker.send(("stop",))
            except OSError:  # already gone
                pass
        self._end(STOP_SECONDS)

    def kill(self) -> None:
        """Stop every worker now (Ctrl-C, a failure of the driver): what they run is
        lost, the finished results the driver holds are kept."""
        for worker in self:
            if worker.process.exitcode is None:
                worker.process.terminate()
        self._end(KILL_SECONDS)

    def _end(self, seconds: float) -> None:
        """Wait ``seconds`` at most for every worker to exit; end the others."""
        if self._at_exit is not None:
            self._at_exit.cancel()
            self._at_exit = None
        workers = list(self)
        deadline = time.monotonic() + seconds
        self._relay_until_exit(workers, deadline)
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
        for worker in workers:
            process = worker.process
            if process.exitcode is None:
                process.terminate()
                process.join(KILL_SECONDS)
            if process.exitcode is None:
                process.kill()
                process.join()
            self._forget(worker)


    def _relay_until_exit(self, workers: list[Worker], deadline: float) -> None:
        """While the workers end (they write their last lines then), relay their
        stderr, so that none blocks on a full pipe; until they exit or ``deadline``."""
        from multiprocessing.connection import wait

        while time.monotonic() < deadline:
            pipes = self.outputs()
            running = [worker.process.sentinel for worker in workers
                       if worker.process.exitcode is None]
            if not pipes or not running:
                return
            for ready in wait([*pipes, *running], timeout=deadline - time.monotonic()):
                if ready in pipes:
                    self.relay_output(ready)  # type: ignore[arg-type]


def describe_exit(code: int | None, pid: int) -> str:
    """``worker process 12 was killed by SIGKILL`` or ``... exited with code 3``."""
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"worker process {pid} was killed by {name}"
    return f"worker process {pid} exited with code {code}"


__all__ = ["WorkerPool", "describe_exit", "start_method", "thread_count"]

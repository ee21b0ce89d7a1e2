"""The MPI side of the backend: mpi4py, the workers a driver talks to, the messages.

One :class:`Link` joins the driver to its workers, whichever way they started:

- the ranks of the driver's own job (``mpiexec -n N``): ``COMM_WORLD``, workers 1 to
  N-1 (:func:`world_link`);
- processes the driver spawned (``MPI_Comm_spawn``, no launcher): an
  intercommunicator, workers 0 to N-1 of the remote group (:func:`spawned_link`).

Messages are bytes pickled with cloudpickle (items and results may be defined in
``__main__`` or in a function), two tags: :data:`TO_WORKER` (``("chunk", ...)``,
``("cancel", token)``, ``("stop",)``) and :data:`TO_DRIVER` (``("results", ...)``,
``("stopped", ...)``, ``("bye", ...)``), see :mod:`outflow.mpi.serve`. Sends never
wait for their receiver (``isend``). Receiving polls (``Iprobe``, then a short sleep that grows): a
blocking receive spins a core in most MPI libraries and would not let Python run its
signal handlers, so neither an idle worker nor a waiting driver could be stopped.
"""

from __future__ import annotations

import atexit
import os
import sys
import time
from pathlib import Path
from typing import Any

#: Tag of the messages the driver sends to a worker.
TO_WORKER = 11
#: Tag of the messages a worker sends to the driver.
TO_DRIVER = 12
#: Longest sleep between two polls: the latency of a message to an idle process.
MAX_POLL_SLEEP = 0.002
#: Longest sleep between two polls while a message sent has not been delivered.
SENDING_POLL_SLEEP = 0.0005
#: Seconds the driver waits for a released worker to say it wrote its rows.
RELEASE_TIMEOUT = 10.0
#: Seconds between the driver's last words and ``Abort``: the launcher forwards a
#: rank's output through pipes it stops reading when it tears the job down, so the
#: command's last line (``interrupted``, the error) would be lost without this pause.
ABORT_GRACE = 0.5


def mpi() -> Any:
    """mpi4py's ``MPI`` module, MPI initialised (once per process)."""
    import mpi4py

    if "mpi4py.MPI" not in sys.modules:
        # No MPI_THREAD_MULTIPLE: one thread of ours talks MPI; it costs locks
        # in every call of some MPI libraries.
        mpi4py.rc.thread_level = "serialized"
    from mpi4py import MPI

    return MPI


class Link:
    """A communicator and the ranks of the workers on it, seen from one process."""

    def __init__(self, comm: Any, workers: list[int], spawned: bool) -> None:
        self.comm = comm
        #: the workers that take items (one stopped by a signal leaves this list)
        self.workers = workers
        #: every worker, released at the end whatever happened to it
        self.members = list(workers)
        self.spawned = spawned
        self.released = False
        #: sends not completed yet (the driver never blocks in a send: a worker busy
        #: sending its results would never receive, and both would wait forever)
        self.sending: list[Any] = []
        #: workers left running a chunk when a map stopped early (Ctrl-C)
        self.busy: set[int] = set()
        #: workers that had not answered the release in time (still running an item)
        self.still_busy: list[int] = []

    def send(self, message: Any, dest: int, tag: int) -> None:
        import cloudpickle

        self.send_data(cloudpickle.dumps(message), dest, tag)

    def send_data(self, data: bytes, dest: int, tag: int) -> None:
        """Send a message pickled already (with cloudpickle), without waiting for the
        receiver (``isend``: the message is kept until it is delivered)."""
        self.sending.append(self.comm.isend(data, dest=dest, tag=tag))

    def sent(self) -> bool:
        """Whether every message sent was delivered (frees those that were)."""
        if self.sending:
            self.sending = [request for request in self.sending if not request.Test()]
        return not self.sending

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the messages sent to be delivered."""
        deadline = time.monotonic() + timeout
        while not self.sent():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.001)
        return True

    def poll(self, source: int, tag: int) -> tuple[int, Any] | None:
        """The next message with ``tag`` from ``source`` (or any), if one has come."""
        import pickle

        MPI = mpi()
        status = MPI.Status()
        if not self.comm.Iprobe(source=source, tag=tag, status=status):
            if self.sending:
                self.sent()  # a send's progress, and its request freed
            return None
        data = self.comm.recv(source=status.Get_source(), tag=tag)
        return status.Get_source(), pickle.loads(data)

    def receive(self, source: int, tag: int, timeout: float | None = None
                ) -> tuple[int, Any] | None:
        """Wait for the next message with ``tag`` from ``source``; None after ``timeout``
        seconds. Python signal handlers run between polls."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.0
        while True:
            got = self.poll(source, tag)
            if got is not None:
                return got
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(pause)
            # A large message goes once its receiver is there, and only as fast as this
            # process calls into MPI: poll more often while one is on its way.
            longest = SENDING_POLL_SLEEP if self.sending else MAX_POLL_SLEEP
            pause = min(longest, pause * 2 or 0.00005)

    def release(self, timeout: float = RELEASE_TIMEOUT) -> list[int]:
        """Tell every worker to stop; wait for each to say it is done (its tracking rows
        written). Returns the workers that did not answer in time (busy with an item).

        Workers known to run a chunk still (a map stopped by Ctrl-C) get a second,
        not ``timeout``: they answer only when their chunk is over."""
        if self.released:
            return []
        self.released = True
        for rank in self.members:
            self.send(("stop",), rank, TO_WORKER)
        waiting = set(self.members)
        start = time.monotonic()
        deadline = start + timeout
        while waiting and time.monotonic() < deadline:
            if waiting <= self.busy and time.monotonic() - start > 1.0:
                break
            got = self.receive(_any_source(), TO_DRIVER, timeout=0.1)
            if got is None:
                continue
            source, message = got
            if message[0] == "bye":
                waiting.discard(source)
            elif message[0] == "log":  # the last lines of a worker that ends
                from outflow.mpi.dispatch import write_log

                write_log(message[1])
        self.still_busy = sorted(waiting)
        if not waiting:
            self.flush(1.0)
            if self.spawned:
                self.comm.Disconnect()
        return self.still_busy

    def end_busy(self, status: int = 1) -> None:
        """Last resort, when this process is about to exit: workers still running an
        item would keep the MPI job (or this process, in ``MPI_Finalize``) waiting for
        them; end the job instead (``Abort``, with the command's exit ``status``)."""
        if self.still_busy:
            print(f"outflow: MPI worker(s) {', '.join(map(str, self.still_busy))} still run "
                  "an item: ending the MPI job", file=sys.stderr, flush=True)
            sys.stdout.flush()
            time.sleep(ABORT_GRACE)
            self.comm.Abort(status or 1)


def _any_source() -> int:
    return int(mpi().ANY_SOURCE)


# -- the driver's links ------------------------------------------------------------------
_WORLD: Link | None = None


def world_link() -> Link | None:
    """The ranks of this job (``mpiexec -n N``, N > 1) as seen from rank 0; None when
    this process is the only rank. Made once per process."""
    global _WORLD
    if _WORLD is None:
        MPI = mpi()
        comm = MPI.COMM_WORLD
        if comm.Get_size() < 2:
            return None
        _WORLD = Link(comm, list(range(1, comm.Get_size())), spawned=False)
    return _WORLD


def release_world(status: int) -> None:
    """At the end of rank 0's command (any command, any backend), which exits with
    ``status``: release the other ranks, which exit 0; those still busy with an item
    end the job (``Abort``)."""
    link = _WORLD
    if link is None:
        if "mpi4py" not in sys.modules and not _mpi4py_installed():
            return  # the launcher started ranks that wait for nothing of ours
        link = world_link()
        if link is None:
            return
    if not link.released:
        link.release()
    link.end_busy(status)


def _mpi4py_installed() -> bool:
    from importlib.util import find_spec

    return find_spec("mpi4py") is not None


def spawned_link(count: int) -> Link:
    """``count`` worker processes spawned from this one (``MPI_Comm_spawn``)."""
    MPI = mpi()
    _launcher_on_path()
    comm = MPI.COMM_SELF.Spawn(sys.executable, args=["-m", "outflow.mpi.serve"],
                               maxprocs=count)
    link = Link(comm, list(range(count)), spawned=True)
    # After mpi4py's own exit handler (registered when MPI was imported): runs first.
    atexit.register(link.end_busy)
    return link


def _launcher_on_path() -> None:
    """Spawning from a process started without a launcher makes MPICH start the
    ``mpiexec`` found first on PATH: put the one of this environment (the ``mpich``
    wheel's, next to this Python) first, so that another MPI's launcher on the
    system is not picked by mistake (it does not understand MPICH and hangs)."""
    here = Path(sys.executable).parent
    if (here / "mpiexec").exists():
        path = os.environ.get("PATH", "")
        if not path.startswith(f"{here}{os.pathsep}"):
            os.environ["PATH"] = f"{here}{os.pathsep}{path}"


__all__ = ["MAX_POLL_SLEEP", "TO_DRIVER", "TO_WORKER", "Link", "mpi", "release_world",
           "spawned_link", "world_link"]

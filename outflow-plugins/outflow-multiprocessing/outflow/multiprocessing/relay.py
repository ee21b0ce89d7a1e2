"""The workers' stderr, through the driver, above the progress bar.

When the driver's stderr is a terminal, a map draws its progress bar there; a worker
writing its log lines (or anything else) to the same terminal would break it. So
each worker's stderr is then a pipe to the driver (:func:`worker_stderr`), which
reads it while it waits for results, and at the workers' end, and writes whole lines
above the bar (:func:`outflow.core.logging.status_line.write_above`). Off a
terminal nothing is relayed: the workers write to the same file as the driver, as
any process would, and nothing can be lost on the way.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

#: Bytes read from a worker's pipe at a time.
READ_SIZE = 65536


def relaying() -> bool:
    """Whether the workers' stderr goes through the driver: when it is a terminal."""
    from outflow.core.logging.status_line import is_terminal

    return is_terminal(sys.stderr)


def worker_stderr(writer: Any) -> None:
    """In a worker: make ``writer`` (the pipe to the driver) its stderr, file
    descriptor 2 included, so that C libraries and child processes write there too."""
    try:
        sys.stderr.flush()
    except (AttributeError, ValueError, OSError):
        pass
    os.dup2(writer.fileno(), 2)
    writer.close()


class OutputRelay:
    """Reads the workers' pipes and writes their lines to the driver's stderr."""

    def __init__(self) -> None:
        #: pipe -> what it sent after its last newline
        self.partial: dict[Any, bytes] = {}

    def read(self, pipe: Any) -> bool:
        """Relay what ``pipe`` holds; False when the worker closed it (it ended)."""
        try:
            data = os.read(pipe.fileno(), READ_SIZE)
        except OSError:
            data = b""
        if not data:
            self._write(self.partial.pop(pipe, b""), end=True)
            return False
        text = self.partial.pop(pipe, b"") + data
        whole, newline, rest = text.rpartition(b"\n")
        if rest:
            self.partial[pipe] = rest
        if newline:
            self._write(whole + newline)
        return True

    def drain(self, pipes: Iterable[Any]) -> None:
        """Relay what is waiting in ``pipes`` now, without waiting for more."""
        from multiprocessing.connection import wait

        pipes = [pipe for pipe in pipes if not pipe.closed]
        while pipes:
            ready = wait(pipes, timeout=0)
            if not ready:
                return
            pipes = [pipe for pipe in pipes if pipe not in ready or self.read(pipe)]

    def _write(self, data: bytes, end: bool = False) -> None:
        if not data:
            return
        from outflow.core.logging.status_line import write_above

        text = data.decode(errors="replace")
        if end and not text.endswith("\n"):
            text += "\n"
        try:
            write_above(sys.stderr, text)
        except (ValueError, OSError):  # the terminal went away: nothing to show it on
            pass


__all__ = ["OutputRelay", "relaying", "worker_stderr"]

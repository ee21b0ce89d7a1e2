"""Signals that stop a run: SIGINT (Ctrl-C), SIGTERM and SIGHUP, handled alike.

Why all three: Ctrl-C sends SIGINT, but ``timeout``, Slurm, systemd and ``docker stop``
send SIGTERM, and closing a terminal sends SIGHUP. Python turns only SIGINT into an
exception; the others kill the process on the spot, with no message, the run left
``running`` in its database and its worker processes orphaned. While a command runs,
:func:`signals_interrupt` makes each of them raise :class:`Interrupted` (a
``KeyboardInterrupt``) in the main thread, so that the one path Ctrl-C takes serves
them all: backends stop their workers (their ``close()`` and their own handling of
``KeyboardInterrupt``), the run is finished as ``interrupted``, the command line
prints one line and exits with ``128 + signal number``.

Only the first signal raises. While the run is being wound down (workers stopped,
tracking rows written), another SIGTERM or SIGHUP is ignored, so that clean-up
finishes; another SIGINT raises again, for a user who insists.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: The signals that stop a run.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal; ``signum`` is the signal, ``exit_code`` 128 + it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal_name(signum)}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def __reduce__(self) -> tuple[type[Interrupted], tuple[int]]:
        return (type(self), (self.signum,))


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


@contextmanager
def signals_interrupt(signals: tuple[int, ...] = STOP_SIGNALS) -> Iterator[None]:
    """Within the block, ``signals`` (SIGINT, SIGTERM and SIGHUP) raise :class:`Interrupted`.

    Outside the main thread (where Python cannot install handlers) nothing changes.
    The previous handlers come back at the end of the block.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised: list[int] = []

    def interrupt(signum: int, frame: FrameType | None) -> None:
        del frame
        if raised and signum != signal.SIGINT:
            return  # winding down already: let the clean-up finish
        raised.append(signum)
        raise Interrupted(signum)

    previous = {signum: signal.signal(signum, interrupt) for signum in signals}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def signals_deferred(signals: tuple[int, ...] = STOP_SIGNALS) -> Iterator[list[int]]:
    """Within the block, ``signals`` are noted, not acted on: the block yields the list
    they are appended to, for the caller to act on once the block is over.

    For the clean-up that must not be cut in half: a worker writing its tracking rows
    and its result after its item, when the stop signal meant for the item comes late.
    :func:`signals_interrupt` nested inside raises again, for its own block. Outside
    the main thread nothing changes (the list stays empty).
    """
    noted: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield noted
        return

    def note(signum: int, frame: FrameType | None) -> None:
        del frame
        noted.append(signum)

    previous = {signum: signal.signal(signum, note) for signum in signals}
    try:
        yield noted
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def die_of(signum: int) -> None:
    """End this process by ``signum`` with its default action, so that the parent sees
    how it ended (a negative exit code), after the clean-up an :class:`Interrupted`
    allowed."""
    import os

    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


__all__ = ["STOP_SIGNALS", "Interrupted", "die_of", "signal_name", "signals_deferred",
           "signals_interrupt"]

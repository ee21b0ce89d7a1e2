"""The root of the errors outflow reports on one line.

The command line prints an :class:`OutflowError` as its message alone (``outflow:
error: <message>``, exit 1): the message names what is at fault (a file and line, a
task, an option). Any other exception is a bug somewhere, printed with its type; a
traceback comes only with ``--log-level DEBUG``. A plugin's errors derive from it to
be reported the same way.
"""

from __future__ import annotations


class OutflowError(Exception):
    """An error whose message says it all: printed on one line, without its type."""


class CommandInterrupted(OutflowError):
    """A command stopped by a signal (Ctrl-C, SIGTERM, SIGHUP), its run wound down.

    Carried to the command line's error report as an ordinary exception: click would
    turn a ``KeyboardInterrupt`` into its ``Abort``, printing a blank line first.
    ``exit_code`` is 128 + the signal's number. Defined here, not with the signal
    handling (:mod:`outflow.core.interrupts`), so that the command line can catch it
    without importing that module at start-up.
    """

    def __init__(self, interrupted: KeyboardInterrupt) -> None:
        self.exit_code: int = getattr(interrupted, "exit_code", 130)
        super().__init__(str(interrupted) or "interrupted")


__all__ = ["CommandInterrupted", "OutflowError"]

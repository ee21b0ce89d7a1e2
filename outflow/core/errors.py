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


__all__ = ["OutflowError"]

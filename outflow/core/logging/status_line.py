"""One line redrawn in place at the bottom of the terminal, and the text written above it.

A map's progress bar is such a line: ``\\r`` and the new text, over and over. A log
record written to the same terminal meanwhile would land in the middle of it and
leave a broken bar behind. So whoever writes to that terminal goes through here: the
line is cleared, the text written, the line drawn again below it.
:class:`ConsoleHandler` (the default configuration's ``console`` handler) does it for
log records; a backend relaying its workers' output does it with
:func:`write_above`.

One lock for all of it (a record may come from any thread). A forked child starts
with no line and a fresh lock: the line is its parent's to draw.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TextIO

_lock = threading.RLock()
_shown: StatusLine | None = None

#: Back to the start of the line, and erase it to its end.
_ERASE = "\r\x1b[K"


class StatusLine:
    """The line at the bottom of ``stream`` (a terminal): :meth:`show` draws it (again),
    :meth:`end` leaves its last text on the screen and lets text flow normally."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.text = ""

    def show(self, text: str) -> None:
        global _shown
        with _lock:
            self.text = text
            _shown = self
            self.stream.write(f"\r{text}\x1b[K")
            self.stream.flush()

    def end(self, text: str | None = None) -> None:
        """The line is over: its final ``text`` (if any) stays, followed by a newline."""
        global _shown
        with _lock:
            if _shown is self:
                _shown = None
            if text is not None:
                self.stream.write(f"\r{text}\x1b[K\n")
                self.stream.flush()

    def redraw(self) -> None:
        self.stream.write(f"\r{self.text}\x1b[K")
        self.stream.flush()


def shown_on(stream: TextIO) -> StatusLine | None:
    """The status line drawn on ``stream`` (the same object, or the same file
    descriptor), if any."""
    line = _shown
    if line is None:
        return None
    if line.stream is stream or _fileno(line.stream) == _fileno(stream) is not None:
        return line
    return None


def _fileno(stream: TextIO) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def is_terminal(stream: TextIO | None) -> bool:
    """Whether ``stream`` is a terminal (where a status line may be drawn)."""
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def write_above(stream: TextIO, text: str) -> None:
    """Write ``text`` (whole lines) to ``stream``, above its status line if one is shown."""
    with _lock:
        line = shown_on(stream)
        if line is not None:
            stream.write(_ERASE)
        stream.write(text)
        if line is not None:
            line.redraw()
        else:
            stream.flush()


class ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A ``StreamHandler`` that writes its records above the status line of its stream."""

    def emit(self, record: logging.LogRecord) -> None:
        if _shown is None:  # the usual case: nothing to clear
            super().emit(record)
            return
        with _lock:
            line = shown_on(self.stream)
            if line is None:
                super().emit(record)
                return
            self.stream.write(_ERASE)
            super().emit(record)
            line.redraw()


def _forget_in_child() -> None:
    global _lock, _shown
    _lock = threading.RLock()
    _shown = None


os.register_at_fork(after_in_child=_forget_in_child)


__all__ = ["ConsoleHandler", "StatusLine", "is_terminal", "shown_on", "write_above"]

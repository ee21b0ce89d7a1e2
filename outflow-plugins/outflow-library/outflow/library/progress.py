"""Progress of a MapWorkflow: a bar on a terminal, periodic log lines elsewhere.

Why two forms: a bar redrawn in place is what a person at a terminal wants, but in
a Slurm log or a CI job carriage returns pile up into one unreadable line, so
there the progress goes through outflow's logger, at most every tenth of the
work or every few seconds.

Who feeds it: a MapWorkflow counts the items it runs in its own process (any
in-process backend, including the base class's sequential ``map``, in any thread),
and backends that run items elsewhere call ``workflow.item_returned(item, result)``
as results land in the driver; each item is counted once either way. A backend with
a queue (a cluster) also says how many items run and wait there
(``workflow.items_queued(running, pending)``), shown beside the counts.
Updates are cheap (one clock read) and the display is throttled, so feeding it
per item costs nothing measurable.

What it shows: done/total, failed, the rate (items read from the workflow cache left
out), the time elapsed and the time left. The bar is a status line
(:mod:`outflow.core.logging.status_line`): log records (the default ``console``
handler), and the output of the parallel backend's workers, are written above it,
and it is drawn again below them.

No bar (log lines instead) with ``--no-progress``, ``OUTFLOW_PROGRESS=0`` or
``TERM=dumb``. Only the outermost map of a process draws: a map nested in an item
(run in the same process by an in-process backend) counts its items quietly, its
lines at DEBUG level, so that the bar of the map around it stays readable.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any, TextIO

from outflow.core.logging import logger

#: Seconds between two redraws of the bar.
REDRAW_INTERVAL = 0.1
#: Log a line when this fraction of the items more is done...
LOG_FRACTION = 0.1
#: ... or when this many seconds passed since the last line.
LOG_INTERVAL = 5.0
#: A map shorter than this logs no summary line at INFO level.
QUIET_BELOW = 1.0
_BAR_WIDTH = 24


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.5))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


def _rate(per_second: float) -> str:
    """``250 items/s``, ``4.2 items/s``, ``12.5 s/item``."""
    if per_second >= 100:
        return f"{per_second:.0f} items/s"
    if per_second >= 1:
        return f"{per_second:.1f} items/s"
    return f"{1 / per_second:.1f} s/item"


def bar_wanted() -> bool:
    """Whether a bar may be drawn at all: not with ``--no-progress`` (the command's
    context says), ``OUTFLOW_PROGRESS=0`` or ``TERM=dumb``."""
    if os.environ.get("OUTFLOW_PROGRESS", "").strip().lower() in ("0", "false", "no", "off"):
        return False
    if os.environ.get("TERM", "") == "dumb":
        return False
    from outflow.core.pipeline.context import active_context, has_active_context

    return not (has_active_context() and getattr(active_context(), "no_progress", False))


class MapProgress:
    """Counts finished and failed items of one map and displays it.

    ``stream`` defaults to ``sys.stderr`` (read when the progress starts, so that
    redirected streams are honoured); the bar is used when it is a terminal.
    """

    def __init__(self, total: int, label: str, stream: TextIO | None = None,
                 tty: bool | None = None, nested: bool | None = None) -> None:
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        if nested is None:  # run inside an item of another map (this thread's item path)
            from outflow.core.backends import current_item_path

            nested = bool(current_item_path())
        #: a map inside another one's item: no bar, its lines at DEBUG level
        self.nested = nested
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            try:
                tty = bool(isatty()) if isatty is not None else False
            except (ValueError, OSError):  # a closed stream
                tty = False
            tty = tty and not self.nested and bar_wanted()
        self.tty = tty
        #: the bar, at the bottom of the terminal, under the log lines (see status_line)
        self._line: Any = None
        self.done = 0
        self.failed = 0
        #: items done without running (read from the cache): not in the rate
        self.skipped = 0
        self.start = time.monotonic()
        self._last_draw = 0.0
        self._drawn = False
        self._last_log = self.start
        self._logged_done = 0
        self._logged = False
        self.closed = False
        #: (running, pending) items, when a backend with a queue says (a cluster)
        self.queue: tuple[int, int] | None = None

    # -- feeding ------------------------------------------------------------------
    def advance(self, done: int = 1, failed: int = 0) -> None:
        """``done`` more items finished, ``failed`` of which with an error."""
        if done <= 0 and failed <= 0:
            return
        self.done += done
        self.failed += failed
        now = time.monotonic()
        if self.tty:
            if now - self._last_draw >= REDRAW_INTERVAL or self.done >= self.total:
                self._draw(now)
        elif self.total and (
            self.done - self._logged_done >= max(1, LOG_FRACTION * self.total)
            or now - self._last_log >= LOG_INTERVAL
        ) and now - self.start >= QUIET_BELOW:
            self._log(now)

    def skip(self, count: int) -> None:
        """``count`` items are done already (read from the workflow cache): counted as
        done, left out of the rate and of the time left."""
        self.skipped += count
        self.advance(count)

    def queued(self, running: int, pending: int) -> None:
        """How many items run and wait in a backend's queue now (shown with the counts).

        The bar is redrawn when that changes: on a cluster, items may wait in the
        queue for a long time before any of them finishes."""
        if self.queue == (running, pending):
            return
        self.queue = (running, pending)
        now = time.monotonic()
        if (self.tty and (self._drawn or now - self.start >= QUIET_BELOW)
                and now - self._last_draw >= REDRAW_INTERVAL):
            self._draw(now)

    def close(self) -> None:
        """Final state: the bar is completed with a newline, a summary line is logged."""
        if self.closed:
            return
        self.closed = True
        now = time.monotonic()
        if self.tty:
            if self._drawn or now - self.start >= QUIET_BELOW:
                self._draw(now, final=True)
        elif (self._logged or now - self.start >= QUIET_BELOW) and not (
                self._logged and self._logged_done == self.done):  # said already
            self._log(now)

    # -- display ------------------------------------------------------------------
    def text(self, now: float | None = None) -> str:
        """``3/8 items, 0 failed, 1.4 items/s, 00:02 elapsed, ~00:03 left``."""
        now = time.monotonic() if now is None else now
        elapsed = now - self.start
        parts = [f"{self.done}/{self.total} items", f"{self.failed} failed"]
        if self.queue is not None and self.done < self.total:
            parts += [f"{self.queue[0]} running", f"{self.queue[1]} pending"]
        ran = self.done - self.skipped
        rate = ran / elapsed if ran > 0 and elapsed > 0 else 0.0
        if rate:
            parts.append(_rate(rate))
        parts.append(f"{_clock(elapsed)} elapsed")
        if rate and self.done < self.total:
            parts.append(f"~{_clock((self.total - self.done) / rate)} left")
        return ", ".join(parts)

    def _draw(self, now: float, final: bool = False) -> None:
        from outflow.core.logging.status_line import StatusLine

        fraction = self.done / self.total if self.total else 1.0
        filled = int(fraction * _BAR_WIDTH)
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        text = f"{self.label} [{bar}] {self.text(now)}"
        if self._line is None:
            self._line = StatusLine(self.stream)
        try:
            if final:
                self._line.end(text)
            else:
                self._line.show(text)
        except (ValueError, OSError):  # the terminal went away: progress is optional
            self._line.end()
            self.tty = False
            return
        self._drawn = True
        self._last_draw = now

    def _log(self, now: float) -> None:
        logger.log(logging.DEBUG if self.nested else logging.INFO, "%s: %s", self.label,
                   self.text(now))
        self._logged = True
        self._logged_done = self.done
        self._last_log = now


__all__ = ["MapProgress"]

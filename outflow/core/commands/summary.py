"""The line that ends a run on the command line: how it ended, how long it took, what next.

``run 14 succeeded in 4.3 s (200 items, 0 failed)`` on stderr when a pipeline's
command succeeds; when it fails, the error line says which run failed and how to
look into it::

    outflow: error: run 14 failed after 1.4 s: item 57 of map process_data failed in
    task transform: ValueError: bad pixel (tasks.py:12) -> outflow management debug 14

Why on stderr: stdout is the command's output (a table, ``--json``), which a script
may read. The success line follows the log level (``-ll WARNING`` silences it, as it
silences the INFO log lines); a failure is always said. Management commands, which
only look at runs, print no summary; the error of a run the database does not record
(``--db-untracked``) is printed alone, as there is no run to look up.
"""

from __future__ import annotations

import logging
import sys

from outflow.core.runs import RunInfo


def duration(seconds: float) -> str:
    """``0.42 s``, ``4.3 s``, ``37 s``, ``2 min 05 s``, ``1 h 02 min``."""
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds + 0.5), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def elapsed(run: RunInfo) -> float:
    """Seconds from the run's start to its end (to its start while it runs)."""
    end = run.end_time if run.end_time is not None else run.start_time
    return max(0.0, end - run.start_time)


def _name(run: RunInfo) -> str:
    return f"run {run.id}" if run.id is not None else "run"


def success_line(run: RunInfo) -> str:
    """``run 14 succeeded in 4.3 s (200 items, 0 failed, 150 from the cache)``: the
    counts when the run mapped or read the workflow cache."""
    counts = [f"{run.items} items, {run.items_failed} failed"] if run.items else []
    if run.cache_hits:
        counts.append(f"{run.cache_hits} from the cache")
    counts_text = f" ({', '.join(counts)})" if counts else ""
    return f"{_name(run)} succeeded in {duration(elapsed(run))}{counts_text}"


def failure_line(run: RunInfo, message: str, prog_name: str = "outflow") -> str:
    """``run 14 failed after 1.4 s: <message> -> outflow management debug 14``."""
    hint = f" -> {debug_command(prog_name)} {run.id}" if run.id is not None else ""
    return f"{_name(run)} failed after {duration(elapsed(run))}: {message}{hint}"


def debug_command(prog_name: str) -> str:
    """How the user reaches ``management debug`` from the program they typed."""
    if prog_name.endswith(".py"):
        return f"python {prog_name} management debug"
    return f"{prog_name} management debug"


def announce_success(run: RunInfo) -> None:
    """Print the success line of an announced run, unless INFO logging is off."""
    if run.announce and logging.getLogger("outflow").isEnabledFor(logging.INFO):
        print(success_line(run), file=sys.stderr, flush=True)


def ended_run(error: BaseException) -> RunInfo | None:
    """The announced, recorded run that ``error`` ended, if the command line's error is
    one. The error of a run the database does not record is said alone: it has no
    number to look it up by."""
    from outflow.core.pipeline.context import active_context, has_active_context

    if not has_active_context():
        return None
    run = getattr(active_context(), "run", None)
    if isinstance(run, RunInfo) and run.announce and run.id is not None and run.error is error:
        return run
    return None


__all__ = ["announce_success", "debug_command", "duration", "elapsed", "ended_run",
           "failure_line", "success_line"]

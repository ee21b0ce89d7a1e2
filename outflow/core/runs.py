"""What identifies a run while it executes; handed to the run-lifecycle hooks."""

from __future__ import annotations

import getpass
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in some containers
        return "unknown"


@dataclass
class RunInfo:
    """One execution of a command: created by the kernel, read by tracking plugins."""

    command: str
    argv: list[str] = field(default_factory=lambda: list(sys.argv[1:]))
    backend: str = "default"
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    user: str = field(default_factory=_user)
    hostname: str = field(default_factory=socket.gethostname)
    start_time: float = field(default_factory=time.time)
    end_time: float | None = None
    state: str = "running"  # running | success | failed | interrupted
    db_untracked: bool = False
    #: The run's number in the run database (``list_runs``, ``debug 14``), where a
    #: tracking plugin records runs; None for a run that is not recorded.
    id: int | None = None
    #: Items of the run's outermost maps that finished (cached ones too) and failed:
    #: counted by the maps in the process that runs the workflow, for the summary line.
    items: int = 0
    items_failed: int = 0
    #: Outputs read from the workflow cache instead of computed: a cached workflow's,
    #: or a cached map's items (each counts one), in the driver's process.
    cache_hits: int = 0
    #: Whether the command line ends the run with its summary line (a pipeline's
    #: commands do; management commands, which only read runs, do not).
    announce: bool = False
    #: The run's log file (:mod:`outflow.core.logging.run_log`), where it has one.
    log_path: str | None = None
    #: The exception that ended the run (None: it succeeded).
    error: BaseException | None = field(default=None, repr=False, compare=False)
    #: Free space for plugins (run tracking keeps its database ids here).
    extra: dict[str, Any] = field(default_factory=dict)

    def count_items(self, done: int, failed: int = 0) -> None:
        """A map of the run finished (or stopped) with ``done`` items, ``failed`` of them
        failed: only maps outside any item count, so nested items are not counted twice."""
        self.items += done
        self.items_failed += failed

    def count_cache_hits(self, hits: int) -> None:
        """Outputs of ``hits`` workflows or map items were read from the workflow cache."""
        self.cache_hits += hits

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["error"] = None  # the run's end stays with its driver
        return state


__all__ = ["RunInfo"]

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
    state: str = "running"  # running | success | failed
    db_untracked: bool = False
    #: Free space for plugins (run tracking keeps its database ids here).
    extra: dict[str, Any] = field(default_factory=dict)


__all__ = ["RunInfo"]

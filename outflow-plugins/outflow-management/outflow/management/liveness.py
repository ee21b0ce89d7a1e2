"""Is a run's process still alive? How a crashed run is told from a running one.

A run whose process died without finishing (``kill -9``, the OOM killer, a lost node,
a power cut) stays ``running`` in the database: nothing was left to say otherwise.
Inspection commands show such a run as ``crashed``, decided by a pid + host + process
start-time check:

- the run row records the driver's host (``hostname``), its pid and its *process
  identity*: the kernel's boot id and the process's start time in clock ticks since
  boot (``/proc/<pid>/stat``, field 22), which no other process can share, even one
  that got the same pid later, even after a reboot;
- a reader on the same host looks the pid up: no such process, or one with another
  identity, means the run's process is gone.

Why not a heartbeat (the run row touched every few seconds): it needs a thread in the
driver, and a driver with threads cannot fork its workers safely; it also adds a write
every few seconds to SQLite files that workers write too, and still cannot tell a dead
run from a slow one before its interval has passed. The check here costs nothing while
the run runs, and answers at once.

Limits, stated: a run started on another host cannot be checked from this one (it is
shown as ``running``); where ``/proc`` does not exist (macOS, Windows) the identity is
unknown and only the pid's existence is checked, so a pid reused by another process
would keep a crashed run ``running``.
"""

from __future__ import annotations

import os
import socket
from typing import Any

_BOOT_ID = "/proc/sys/kernel/random/boot_id"


def process_identity(pid: int | None = None) -> str | None:
    """``<boot id>:<start ticks>`` of process ``pid`` (this one by default); None where
    ``/proc`` does not say (another OS, or no such process)."""
    pid = os.getpid() if pid is None else pid
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(") ", 1)[1].split()
        with open(_BOOT_ID) as boot:
            boot_id = boot.read().strip()
    except (OSError, IndexError):
        return None
    return f"{boot_id}:{fields[19]}"  # starttime, the 22nd field of the whole line


def is_alive(hostname: str | None, pid: int | None, identity: str | None) -> bool | None:
    """Whether the process that ran a run still runs; None when this host cannot tell
    (another host, no pid recorded)."""
    if pid is None or hostname != socket.gethostname():
        return None
    if identity is not None:
        current = process_identity(pid)
        if current is not None or os.path.isdir("/proc"):
            return current == identity
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def shown_state(run: Any) -> str:
    """The state to show for a run row: ``crashed`` for a ``running`` run whose process
    is gone, else the stored state."""
    state = str(run.state)
    if state == "running" and is_alive(run.hostname, getattr(run, "pid", None),
                                       getattr(run, "process", None)) is False:
        return "crashed"
    return state


__all__ = ["is_alive", "process_identity", "shown_state"]

"""sbatch directives: from a map's keyword arguments and the ``slurm:`` configuration.

A map's resources (``MapWorkflow(..., partition="short", mem="4G", cpus_per_task=2)``)
and the ``slurm:`` section of the configuration become ``sbatch`` options, the map
winning. Python names use ``_`` where sbatch uses ``-`` (``cpus_per_task`` is
``--cpus-per-task``). Everything is checked before anything is submitted:

- a name that is no sbatch option is refused, with the closest one (``partiton``: did
  you mean ``partition``?). On Slurm a typo must not quietly send the work to the
  default partition;
- the options the backend sets itself (``array``, ``output``, ``job_name``...) are
  refused;
- values that sbatch would reject later, per job, are checked now: ``time`` as
  ``[D-]HH:MM:SS`` or minutes, ``mem`` as a number with an optional K/M/G/T unit, counts
  as positive integers; ``True`` is a flag (``exclusive=True``).

Three names are the backend's own, not sbatch's: ``simultaneous_tasks`` (at most that
many elements of the map's array run at once: ``--array=0-N%K``), ``timeout`` (the
map's ``timeout=`` in seconds: each element's ``--time``, rounded up to the minute,
Slurm's resolution, unless ``time`` is given) and ``mpi`` (a whole map as one MPI job:
not supported yet, refused).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from outflow.core.pipeline.config import ConfigurationError

#: sbatch's options (Slurm 22.05 and later) that a map may set, by their Python names.
SBATCH_OPTIONS = frozenset({
    "account", "acctg_freq", "batch", "bb", "bbf", "begin", "cluster_constraint",
    "clusters", "comment", "constraint", "container", "contiguous", "core_spec",
    "cores_per_socket", "cpu_freq", "cpus_per_gpu", "cpus_per_task", "deadline",
    "delay_boot", "dependency", "distribution", "exclude", "exclusive", "export",
    "get_user_env", "gpu_bind", "gpu_freq", "gpus", "gpus_per_node", "gpus_per_socket",
    "gpus_per_task", "gres", "gres_flags", "hint", "hold", "ignore_pbs",
    "kill_on_invalid_dep", "licenses", "mail_type", "mail_user", "mcs_label", "mem",
    "mem_bind", "mem_per_cpu", "mem_per_gpu", "mincpus", "network", "nice", "no_kill",
    "no_requeue", "nodefile", "nodelist", "nodes", "ntasks", "ntasks_per_core",
    "ntasks_per_gpu", "ntasks_per_node", "ntasks_per_socket", "overcommit",
    "oversubscribe", "partition", "power", "priority", "profile", "propagate", "qos",
    "reboot", "requeue", "reservation", "signal", "sockets_per_node", "spread_job",
    "switches", "thread_spec", "threads_per_core", "time", "time_min", "tmp",
    "use_min_nodes", "wait_all_nodes", "wckey",
})
#: sbatch options the backend sets itself.
RESERVED = frozenset({"array", "output", "error", "job_name", "chdir", "wrap", "parsable",
                      "wait", "input", "open_mode"})
#: The backend's own resources, beside sbatch's.
OWN = frozenset({"simultaneous_tasks", "timeout", "mpi"})

_COUNTS = frozenset({"cpus_per_task", "nodes", "ntasks", "ntasks_per_node", "mincpus",
                     "cpus_per_gpu", "ntasks_per_core", "ntasks_per_socket",
                     "ntasks_per_gpu", "cores_per_socket", "sockets_per_node",
                     "threads_per_core", "simultaneous_tasks"})
_MEMORY = frozenset({"mem", "mem_per_cpu", "mem_per_gpu", "tmp"})
_TIMES = frozenset({"time", "time_min"})
# ASCII digits only ([0-9], not \d): sbatch reads no other.
_MEMORY_VALUE = re.compile(r"^[0-9]+[KMGT]?B?$", re.IGNORECASE)
_TIME_VALUE = re.compile(r"^([0-9]+-)?[0-9]+(:[0-9]{1,2}){0,2}$|^[0-9]+-[0-9]+$")


class DirectiveError(ConfigurationError):
    """A directive sbatch would not take; named before anything is submitted."""


class Directives:
    """The checked directives of one map: sbatch options and the backend's own."""

    def __init__(self, sbatch: dict[str, Any], simultaneous_tasks: int | None) -> None:
        self.sbatch = sbatch
        self.simultaneous_tasks = simultaneous_tasks

    @classmethod
    def of(cls, section: Mapping[str, Any], resources: Mapping[str, Any] | None,
           label: str, locate: Callable[[str], str] = lambda name: f"slurm.{name}",
           ) -> Directives:
        """Merge the configuration's ``slurm:`` directives (``section``, whose entries
        ``locate`` places in the file) and the ``resources`` of the map ``label`` (they
        win); :class:`DirectiveError` names the first bad one."""
        merged: dict[str, Any] = {}
        for name, value in section.items():
            merged[name] = check(name, value, locate(name))
        for name, value in (resources or {}).items():
            merged[name] = check(name, value, f"{label}: {name}")
        if merged.get("mpi"):
            raise DirectiveError(f"{label}: mpi=True (a whole map as one MPI job) is not "
                                 "supported by the slurm backend yet")
        merged.pop("mpi", None)
        simultaneous = merged.pop("simultaneous_tasks", None)
        timeout = merged.pop("timeout", None)
        if timeout and merged.get("time") is None:  # Slurm counts in minutes
            merged["time"] = max(1, math.ceil(float(timeout) / 60))
        return cls({name: value for name, value in merged.items() if value is not None},
                   simultaneous)

    def options(self) -> list[str]:
        """The sbatch command-line options (``--cpus-per-task=2``, ``--exclusive``)."""
        arguments = []
        for name, value in sorted(self.sbatch.items()):
            option = "--" + name.replace("_", "-")
            if value is True:
                arguments.append(option)
            elif value is not False:
                arguments.append(f"{option}={value}")
        return arguments


def check(name: str, value: Any, where: str) -> Any:
    """``value`` for directive ``name``, checked; :class:`DirectiveError` otherwise,
    starting with ``where`` (where the directive was given, and its name)."""
    if name in RESERVED:
        raise DirectiveError(f"{where} is an sbatch option that the slurm backend sets "
                             "itself: it cannot be given")
    if name not in SBATCH_OPTIONS and name not in OWN:
        from difflib import get_close_matches

        close = get_close_matches(name, sorted(SBATCH_OPTIONS | OWN), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DirectiveError(f"{where} is not an sbatch directive{hint}")
    if value is None or isinstance(value, bool):
        return value
    if name == "timeout":
        if isinstance(value, (int, float)) and value > 0:
            return value
        raise DirectiveError(f"{where} must be a positive number of seconds, got {value!r}")
    if name in _COUNTS:
        if not isinstance(value, int) or value < 1:
            raise DirectiveError(f"{where} must be a positive integer, got {value!r}")
        return value
    text = str(value).strip()
    if name in _MEMORY and not _MEMORY_VALUE.match(text):
        raise DirectiveError(f"{where} must be a size such as 4G or 500M, got {value!r}")
    if name in _TIMES and not _TIME_VALUE.match(text):
        raise DirectiveError(f"{where} must be a time limit such as 30 (minutes), 1:30:00 "
                             f"or 2-00:00:00, got {value!r}")
    if not text or any(character in text for character in "\n\r"):
        raise DirectiveError(f"{where} must be a non-empty line, got {value!r}")
    return text if not isinstance(value, (int, float)) else value


__all__ = ["OWN", "RESERVED", "SBATCH_OPTIONS", "DirectiveError", "Directives", "check"]

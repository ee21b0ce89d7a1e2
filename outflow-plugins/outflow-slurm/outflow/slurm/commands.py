"""The Slurm commands the backend runs, and what it reads of their output.

Every call is a subprocess with a timeout; a command that fails says so in a
:class:`SlurmError` naming it and quoting its stderr. Status comes from one ``squeue``
call per polling cycle for every array of a map (``-r``: one line per element), and,
for the few elements that left the queue without a result, one ``scontrol show job``
per array (it keeps finished jobs for ``MinJobAge`` seconds, 300 by default), then
``sacct`` where accounting is configured, for those it forgot.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Sequence

from outflow.core.backends import BackendError

#: Seconds a Slurm command may take before it is given up.
COMMAND_SECONDS = 60


class SlurmError(BackendError):
    """A Slurm command failed, or Slurm is not installed."""


def run(arguments: Sequence[str], timeout: float = COMMAND_SECONDS) -> str:
    """Run a Slurm command; its stdout. :class:`SlurmError` when it fails."""
    if shutil.which(arguments[0]) is None:
        raise SlurmError(f"{arguments[0]} not found: the slurm backend needs the Slurm "
                         "client commands (sbatch, squeue, scontrol, scancel) on the PATH")
    try:
        done = subprocess.run(list(arguments), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SlurmError(f"{arguments[0]} did not answer within {timeout:.0f} s") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise SlurmError(f"{' '.join(arguments[:2])} failed ({done.returncode}): "
                         f"{detail[-1] if detail else 'no message'}")
    return done.stdout


def submit(options: Sequence[str], script: str) -> str:
    """``sbatch --parsable OPTIONS`` with ``script`` on stdin; the job id."""
    if shutil.which("sbatch") is None:
        run(["sbatch"])  # raises the "not found" error
    done = subprocess.run(["sbatch", "--parsable", *options], input=script,
                          capture_output=True, text=True, timeout=COMMAND_SECONDS)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise SlurmError(f"sbatch refused the job array: "
                         f"{detail[-1] if detail else f'exit code {done.returncode}'}")
    return done.stdout.strip().split(";")[0]


def queue(job_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """``squeue`` for these array jobs: ``{"<job>_<index>": (state, reason)}``.

    Elements not split out yet (``123_[4-49%2]``) are expanded: they are pending.
    """
    ids = ",".join(job_ids)
    if not ids:
        return {}
    try:
        text = run(["squeue", "-h", "-r", "-j", ids, "-o", "%i|%T|%r"])
    except SlurmError as error:
        if "Invalid job id" in str(error):  # every job left the queue
            return {}
        raise
    states: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 3:
            continue
        job, state, reason = parts
        for element in _expand(job):
            states[element] = (state, reason)
    return states


def _expand(job: str) -> list[str]:
    """``123_[4-6,9%2]`` -> ``123_4``, ``123_5``, ``123_6``, ``123_9``; others as they are."""
    if "_[" not in job:
        return [job]
    base, _, ranges = job.partition("_[")
    ranges = ranges.rstrip("]").split("%")[0]
    elements = []
    for part in ranges.split(","):
        first, _, last = part.partition("-")
        for index in range(int(first), int(last or first) + 1):
            elements.append(f"{base}_{index}")
    return elements


def finished(array_job: str) -> dict[str, dict[str, str]]:
    """What ``scontrol show job`` says of the elements of ``array_job`` still known:
    ``{"<job>_<index>": {"JobState": ..., "Reason": ..., "ExitCode": ...}}``."""
    try:
        text = run(["scontrol", "-o", "show", "job", array_job])
    except SlurmError:
        return {}
    elements: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        fields = dict(field.split("=", 1) for field in line.split() if "=" in field)
        job, index = fields.get("ArrayJobId"), fields.get("ArrayTaskId")
        if job and index and index.isdigit():
            elements[f"{job}_{index}"] = fields
    return elements


def accounted(array_job: str) -> dict[str, dict[str, str]]:
    """What ``sacct`` says of the elements of ``array_job``, in the fields of
    :func:`finished`; empty where the cluster keeps no accounting (no slurmdbd)."""
    try:
        text = run(["sacct", "-X", "-P", "-n", "-j", array_job,
                    "-o", "JobID,State,ExitCode,Reason"])
    except SlurmError:
        return {}
    elements: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) == 4 and "_" in parts[0] and "[" not in parts[0]:
            state = parts[1].split()[0] if parts[1].strip() else "UNKNOWN"
            elements[parts[0]] = {"JobState": state, "ExitCode": parts[2],
                                  "Reason": parts[3] or "None"}
    return elements


def cancel(name: str) -> None:
    """``scancel`` this user's jobs named ``name``; quietly (they may have ended).

    By name, not by id: the name carries the run's uuid, so this also reaches an array
    whose ``sbatch`` was interrupted after the cluster took it, before its id was read.
    """
    if shutil.which("scancel") is not None:
        import os

        subprocess.run(["scancel", f"--name={name}", f"--user={os.getuid()}"],
                       capture_output=True, timeout=COMMAND_SECONDS, check=False)


def cancel_elements(elements: Iterable[str]) -> None:
    """``scancel`` these array elements (``<job>_<index>``)."""
    ids = sorted(elements)
    if ids and shutil.which("scancel") is not None:
        subprocess.run(["scancel", *ids], capture_output=True, timeout=COMMAND_SECONDS,
                       check=False)


def max_array_size() -> int:
    """The cluster's ``MaxArraySize``: array indexes go up to it, excluded."""
    for line in run(["scontrol", "show", "config"]).splitlines():
        name, _, value = line.partition("=")
        if name.strip() == "MaxArraySize":
            return int(value.strip())
    return 1001  # Slurm's default


__all__ = ["SlurmError", "accounted", "cancel", "cancel_elements", "finished",
           "max_array_size", "queue", "run", "submit"]

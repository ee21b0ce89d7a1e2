"""One map on Slurm: its payload, its job arrays, the polling until every item is back.

On disk, under ``TEMP_DIR/slurm/<run uuid>/map-<n>/`` (a private directory, see
:mod:`outflow.core.private_directory`), each file written atomically (temporary name,
then rename):

- ``workflow.pkl``: the workflow, once per map (with the run's WorkerKit: the
  elements set themselves up from it), and ``items.pkl``: the items, once;
- ``result-<position>.pkl``: ``(result, failure)`` of each item, written by its element;
- ``logs/<start>_<index>.log``: stdout and stderr of each element (``<start>`` is the
  first position of its array, ``<index>`` its index in the array).

The items are submitted as job arrays of at most the cluster's ``MaxArraySize``
elements (``--array=0-N%K``, K from ``simultaneous_tasks``), named after the run
(``outflow-<run uuid>``). Then, once per polling cycle, with back-off (from
``poll_interval`` up to ``max_poll_interval`` seconds while nothing changes):

1. new result files are read: their items are done (progress moves, results are kept
   should the map fail later);
2. **one** ``squeue`` for all the map's arrays says which elements are pending or
   running; an element that is not in the queue yet is pending;
3. an element that left the queue without a result is looked up with one ``scontrol
   show job`` per array (``sacct`` for those it forgot, where there is accounting):
   FAILED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, CANCELLED,
   PREEMPTED, BOOT_FAIL... become a failure of its item naming the state, the reason,
   the exit code, the log and its last lines; COMPLETED without a result means the
   node could not write to TEMP_DIR.

After a failure (an item's exception, or a job's), the elements that cannot hold an
earlier failing item are cancelled (those waiting, those of later items); the running
elements of earlier items end, as a worker pool's running chunks do, so the failure
named is the first in input order and the finished items are kept. Then the arrays
are cancelled (``scancel``) and the map fails; Ctrl-C, SIGTERM and SIGHUP cancel them
at once. Results come back in input
order. The map's directory is removed after a map that succeeded, kept after one that
failed (the logs are in it), unless ``keep_files`` says otherwise.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outflow.core.atomic_write import write_atomically
from outflow.core.backends import ItemFailure, ItemTimedOut, WorkerDied, earliest
from outflow.core.backends.shipping import ship
from outflow.core.private_directory import check_private_file
from outflow.slurm import commands
from outflow.slurm.directives import Directives
from outflow.slurm.job import PAYLOAD_MISSING

if TYPE_CHECKING:
    from outflow.slurm.backend import SlurmBackend
    from outflow.slurm.settings import SlurmSettings

log = logging.getLogger(__name__)

#: Slurm states of a job that has not ended.
ACTIVE_STATES = frozenset({"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED",
                           "REQUEUED", "RESIZING", "SIGNALING", "STAGE_OUT"})
#: Polling cycles an element may be out of the queue, without a result, before it is
#: looked up (its result file may take a moment to show on a shared filesystem).
GRACE_CYCLES = 2
#: Polling cycles after which an element that neither the queue, nor ``scontrol``, nor
#: accounting knows any more has ended without a result.
FORGOTTEN_CYCLES = 6 * GRACE_CYCLES
#: Why elements wait, in the usual course: their turn (not logged).
USUAL_PENDING_REASONS = frozenset({"None", "Priority", "Resources", "JobArrayTaskLimit",
                                   "BeginTime", "Dependency"})
#: Seconds squeue may keep failing (a controller restarting, overloaded) before the
#: map gives up.
QUEUE_PATIENCE = 300.0
#: Looks at the queue after a map's last result, :data:`LEFT_GRACE` seconds apart,
#: before elements still shown running are taken for stale and cancelled.
LEFT_CHECKS = 5
LEFT_GRACE = 0.2
#: Slurm states of an element whose item is being run (after a failure, it may still
#: turn out to be an earlier failing item: it is waited for).
RUNNING_STATES = frozenset({"RUNNING", "CONFIGURING", "COMPLETING", "SIGNALING",
                            "STAGE_OUT"})
#: Lines of an element's log quoted in a failure.
TAIL_LINES = 8


class SlurmJobFailed(RuntimeError):
    """Why a job array element ended without its item's result."""


class MapSubmission:
    """Run ``items`` of ``workflow`` as job arrays; see the module doc."""

    def __init__(self, backend: SlurmBackend, workflow: Any, items: Sequence[Any],
                 directives: Directives, settings: SlurmSettings, map_dir: Path) -> None:
        self.backend = backend
        self.settings = settings
        self.workflow = workflow
        self.label = str(getattr(workflow, "label", workflow))  # the kernel's failures
        #: how messages of this backend name the map (as its directive errors do)
        self.name = f"map {getattr(workflow, 'name', workflow)}"
        self.items = items
        self.directives = directives
        self.map_dir = map_dir
        self.results: list[Any] = [None] * len(items)
        self.remaining = set(range(len(items)))
        self.failures: list[ItemFailure] = []
        #: positions of the failed items (after one, only earlier running items count)
        self.failed_positions: set[int] = set()
        #: the last squeue answer: element -> (state, reason)
        self.queued: dict[str, tuple[str, str]] = {}
        #: array job id -> (first position, number of elements)
        self.arrays: dict[str, tuple[int, int]] = {}
        #: position -> polling cycles it has been out of the queue without a result
        self.absent: dict[int, int] = {}
        #: pending reasons already logged (see _say_why_pending)
        self.reasons_said: set[str] = set()
        #: since when squeue has been failing (None while it answers)
        self.queue_silent_since: float | None = None
        #: whether the last squeue showed elements of the map (waiting or running)
        self.queued_seen = False

    # -- the map --------------------------------------------------------------------
    def run(self) -> list[Any]:
        self._write_payload()
        try:
            self._submit()
            self._wait()
        except BaseException:
            self._cancel()
            raise
        if self.failures:
            self._cancel()
            raise earliest(self.failures)
        self._leave_nothing_queued()
        self.backend.active.difference_update(self.arrays)
        if not self.settings.keep_files:
            shutil.rmtree(self.map_dir, ignore_errors=True)
        return self.results

    def _write_payload(self) -> None:
        workflow = ship(self.workflow, "Slurm jobs")
        items = ship(self.workflow, "Slurm jobs", items=list(self.items))
        (self.map_dir / "logs").mkdir(mode=0o700, exist_ok=True)
        write_atomically(self.map_dir / "workflow.pkl", workflow)
        write_atomically(self.map_dir / "items.pkl", items)

    def _submit(self) -> None:
        size = self.backend.max_array_size()
        total = len(self.items)
        for start in range(0, total, size):
            count = min(size, total - start)
            job = commands.submit(self._options(start, count), self._script(start))
            self.arrays[job] = (start, count)
            self.backend.active.add(job)

    def _options(self, start: int, count: int) -> list[str]:
        limit = self.directives.simultaneous_tasks
        array = f"0-{count - 1}" + (f"%{limit}" if limit else "")
        return [f"--array={array}", f"--job-name={self.backend.job_name()}",
                f"--output={self.map_dir / 'logs' / f'{start}_%a.log'}",
                f"--chdir={os.getcwd()}", *self.directives.options()]

    def _script(self, start: int) -> str:
        return (f"#!/bin/sh\nexec {_shell_quote(self.settings.python)} -m outflow.slurm.job "
                f"{_shell_quote(str(self.map_dir))} {start}\n")

    # -- polling --------------------------------------------------------------------
    def _wait(self) -> None:
        fastest = self.settings.poll_interval
        slowest = self.settings.max_poll_interval
        interval = fastest
        while self._outstanding():
            changed = self._read_results()
            if not self._outstanding():
                return
            changed = self._check_queue() or changed
            if not self._outstanding():
                return
            interval = fastest if changed or self.failures else min(slowest, interval * 1.5)
            time.sleep(interval)

    def _outstanding(self) -> bool:
        """Whether items are still awaited: all of them until one fails; after, only
        those running before the first failing position (see :meth:`_give_up_after`)."""
        if self.failures:
            self._give_up_after(min(self.failed_positions))
        return bool(self.remaining)

    def _give_up_after(self, floor: int) -> None:
        """Cancel the elements that cannot hold a failure earlier than position ``floor``:
        later items, and earlier ones not running (still waiting, or gone from the queue
        for longer than their result takes to show)."""
        dropped = []
        for position in self.remaining:
            element = self._element(position)[1]
            state = self.queued.get(element, ("", ""))[0]
            if position < floor and (
                    state in RUNNING_STATES
                    or (not state and self.absent.get(position, 0) <= 2 * GRACE_CYCLES)):
                continue  # running, or just ended: its result may come before the others
            dropped.append(position)
        if not dropped:
            return
        self.remaining.difference_update(dropped)
        commands.cancel_elements(
            element for element in (self._element(position)[1] for position in dropped)
            if element in self.queued)

    def _read_results(self) -> bool:
        """Read the result files that appeared; True when there were some."""
        landed = False
        for entry in os.scandir(self.map_dir):
            name = entry.name
            if not (name.startswith("result-") and name.endswith(".pkl")):
                continue
            position = int(name[len("result-"):-len(".pkl")])
            if position not in self.remaining:
                continue
            with open(entry.path, "rb") as handle:
                check_private_file(handle.fileno(), Path(entry.path), "item result")
                result, failure = pickle.load(handle)
            self.remaining.discard(position)
            self.absent.pop(position, None)
            landed = True
            if failure is not None:
                self.failures.append(failure)
                self.failed_positions.add(position)
            else:
                self.results[position] = result
                self.workflow.item_returned(self.items[position], result)
        return landed

    def _check_queue(self) -> bool:
        """One squeue for the whole map; look up elements gone without a result."""
        try:
            queued = commands.queue(self.arrays)
        except commands.SlurmError as error:
            self._queue_unanswered(error)
            return False
        self.queue_silent_since = None
        self.queued = queued
        running = sum(1 for state, _ in queued.values() if state == "RUNNING")
        self.queued_seen = bool(queued)
        self.workflow.items_queued(running=running, pending=len(self.remaining) - running)
        self._say_why_pending(queued)
        gone: dict[str, list[int]] = {}
        for position in sorted(self.remaining):
            job, element = self._element(position)
            if element in queued:
                self.absent.pop(position, None)
                continue
            self.absent[position] = self.absent.get(position, 0) + 1
            if self.absent[position] > GRACE_CYCLES:
                gone.setdefault(job, []).append(position)
        if not gone:
            return False
        for job, positions in gone.items():
            known = commands.finished(job)
            if any(self._element(position)[1] not in known for position in positions):
                known = {**commands.accounted(job), **known}
            for position in positions:
                fields = known.get(self._element(position)[1])
                if fields is None and self.absent[position] > FORGOTTEN_CYCLES:
                    fields = {"JobState": "UNKNOWN", "ExitCode": "?", "Reason": (
                        "Slurm no longer knows the job: a restarted controller lost it, "
                        "or it ended more than MinJobAge ago and there is no accounting")}
                if fields is not None:
                    self._ended_without_result(position, fields)
        return True

    def _leave_nothing_queued(self) -> None:
        """Every result is in, so no element of the map has work left: one still waiting
        was requeued (a node or a controller failed), one still running after a short
        grace is shown so by a controller that restarted from older state. Either would
        run an item again, or hold a node: cancel them. Elements ending (``COMPLETING``)
        are left alone; most maps cost one ``squeue`` here, or none."""
        if not self.queued_seen:
            return  # the last look at the queue showed nothing of the map
        for attempt in range(LEFT_CHECKS):
            try:
                queued = commands.queue(self.arrays)
            except commands.SlurmError:
                return  # the queue does not answer: what it holds is not ours to guess
            last = attempt == LEFT_CHECKS - 1
            left = {element for element, (state, _) in queued.items()
                    if state in ("PENDING", "REQUEUED", "RUNNING")}
            stale = {element for element in left if last or queued[element][0] != "RUNNING"}
            if stale:
                log.debug("%s: cancelling elements left in the queue: %s", self.name,
                          ", ".join(sorted(stale)))
                commands.cancel_elements(stale)
            if not left - stale:
                return
            time.sleep(LEFT_GRACE)

    def _queue_unanswered(self, error: commands.SlurmError) -> None:
        """squeue failed: a busy or restarting controller answers again soon (results
        still land meanwhile); give up after :data:`QUEUE_PATIENCE` seconds."""
        now = time.monotonic()
        if self.queue_silent_since is None:
            self.queue_silent_since = now
            log.warning("%s: the Slurm queue did not answer (%s); trying again", self.name,
                        error)
        elif now - self.queue_silent_since > QUEUE_PATIENCE:
            raise commands.SlurmError(f"{self.name}: the Slurm queue has not answered for "
                                      f"{QUEUE_PATIENCE:.0f} s: {error}") from error

    def _say_why_pending(self, queued: dict[str, tuple[str, str]]) -> None:
        """Log, once per reason, why items wait when it is not their turn that they
        wait for (a node down, a limit, a hold): a user watching a map that does not
        move sees why."""
        waiting: dict[str, int] = {}
        for state, reason in queued.values():
            if state == "PENDING" and reason not in USUAL_PENDING_REASONS:
                waiting[reason] = waiting.get(reason, 0) + 1
        for reason, count in waiting.items():
            if reason not in self.reasons_said:
                self.reasons_said.add(reason)
                log.warning("%s: %d item(s) wait in the Slurm queue because of %s",
                            self.name, count, reason)

    def _element(self, position: int) -> tuple[str, str]:
        """The array job holding ``position``, and its element's id (``<job>_<index>``)."""
        for job, (start, count) in self.arrays.items():
            if start <= position < start + count:
                return job, f"{job}_{position - start}"
        raise KeyError(position)

    def _ended_without_result(self, position: int, fields: dict[str, str]) -> None:
        state = fields.get("JobState", "UNKNOWN")
        if state in ACTIVE_STATES:
            self.absent[position] = 0  # not gone: squeue had not shown it yet
            return
        if state == "COMPLETED" and self.absent[position] <= 2 * GRACE_CYCLES:
            return  # finished: its result file may still be on its way
        job, element = self._element(position)
        log = self.map_dir / "logs" / f"{self.arrays[job][0]}_{element.split('_')[1]}.log"
        exit_code = fields.get("ExitCode", "?")
        reason = fields.get("Reason", "None")
        if state == "COMPLETED" or exit_code.split(":")[0] == str(PAYLOAD_MISSING):
            why = (f"Slurm job {element} ended {state} (exit code {exit_code}) without "
                   f"writing a result to {self.map_dir}: TEMP_DIR must be on a filesystem "
                   "shared by the driver and the nodes")
        else:
            why = (f"Slurm job {element} ended {state} (reason {reason}, exit code "
                   f"{exit_code})")
        why += f"; log {log}" + _tail(log)
        index = getattr(self.items[position], "index", position)
        self.remaining.discard(position)
        failure: WorkerDied
        if state == "TIMEOUT":
            limit = self.directives.sbatch.get("time")
            failure = ItemTimedOut(self.label, index, f"it ran longer than its time limit"
                                   f"{f' of {limit} min' if limit else ''} ({why})")
        else:
            failure = WorkerDied(self.label, index, SlurmJobFailed(why))
        replacement = self.workflow.lost_item(self.items[position], failure)
        if replacement is not None:  # a map that keeps going: a failed item, no more
            self.results[position] = replacement
            return
        self.failures.append(failure)
        self.failed_positions.add(position)

    def _cancel(self) -> None:
        """Cancel the run's arrays: those known, and one whose sbatch was interrupted
        after the cluster took it (by the run's job name)."""
        commands.cancel(self.backend.job_name())
        self.backend.active.difference_update(self.arrays)


def _tail(log: Path) -> str:
    """``; last lines: ...`` of the element's log, or why there are none."""
    try:
        lines = log.read_text(errors="replace").rstrip().splitlines()
    except OSError:
        return " (not readable here)"
    if not lines:
        return " (empty)"
    return "; last lines: " + " | ".join(lines[-TAIL_LINES:])


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


__all__ = ["ACTIVE_STATES", "MapSubmission", "SlurmJobFailed"]

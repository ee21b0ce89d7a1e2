"""``management list_runs``: the tracked runs, newest first."""

from __future__ import annotations

from outflow.core.commands import Command
from outflow.management.commands import Management


@Management.subcommand(db_untracked=True)
class ListRuns(Command):
    """List the recorded runs: id, command, start, duration and state, newest first.

    A run still ``running`` whose process is gone shows as ``crashed`` (see
    :mod:`outflow.management.liveness`).
    """

    def add_arguments(self) -> None:
        self.add_argument("--limit", type=int, default=20, metavar="N",
                          help="Show at most N runs (0: all).")

    def setup_tasks(self) -> None:
        from outflow.core.pipeline import context
        from outflow.management.liveness import shown_state
        from outflow.management.runs import duration, latest_runs, local_time

        runs = latest_runs(context.databases, context.args.limit)
        if not runs:
            print("No run recorded.")
            return
        header = ("id", "command", "start", "duration", "state")
        rows = [(str(run.id), run.command, local_time(run.start_time),
                 duration(run.start_time, run.end_time), shown_state(run)) for run in runs]
        widths = [max(len(row[index]) for row in [header, *rows]) for index in range(5)]
        for row in [header, *rows]:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())

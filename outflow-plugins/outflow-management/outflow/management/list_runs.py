"""``management list_runs``: the tracked runs, newest first."""

from __future__ import annotations

from typing import Any

from outflow.core.commands import Command
from outflow.management.commands import Management


@Management.subcommand(db_untracked=True)
class ListRuns(Command):
    """List the recorded runs: id, command, start, duration and state, newest first.

    A run still ``running`` whose process is gone shows as ``crashed`` (see
    :mod:`outflow.management.liveness`). The table fits the terminal (a long command
    wraps); ``--json`` prints every field in full, the path of the run's log file
    included, for scripts.
    """

    help = ("List the recorded runs: id, command, start, duration and state, newest first.\n\n"
            "A run still 'running' whose process is gone shows as 'crashed'. Filter with "
            "--state, --command and --since; --json prints every field in full, for "
            "scripts.")

    def add_arguments(self) -> None:
        from outflow.management.runs import STATES, parse_since

        self.add_argument("--limit", type=int, default=20, metavar="N",
                          help="Show at most N runs (0: all).")
        self.add_argument("--state", choices=STATES,
                          help="Only the runs in this state (crashed: running, but "
                               "their process is gone).")
        self.add_argument("--command", metavar="TEXT",
                          help="Only the runs whose command line contains TEXT.")
        self.add_argument("--since", type=parse_since, metavar="WHEN",
                          help="Only the runs started since WHEN: 30m, 2h, 3d, 1w ago, or "
                               "a date or time (2026-12-01, 2026-12-01T14:00).")
        self.add_argument("--json", action="store_true", dest="as_json",
                          help="Print a JSON array of the runs (fields in README).")

    def setup_tasks(self) -> None:
        from outflow.core.cli.tables import WRAP, Column, format_table
        from outflow.core.pipeline import context
        from outflow.management.liveness import shown_state
        from outflow.management.runs import blocks_done, duration, latest_runs, local_time

        args = context.args
        databases = context.databases
        runs = latest_runs(databases, args.limit, state=args.state, command=args.command,
                           since=args.since)
        if context.args.as_json:
            import json

            done = blocks_done(databases, [run.id for run in runs])
            print(json.dumps([run_as_dict(run, done.get(run.id, 0)) for run in runs],
                             indent=2))
            return
        if not runs:
            filtered = args.state or args.command or args.since
            print("No run matches." if filtered else "No run recorded.")
            return
        columns = [Column("id"), Column("command", WRAP), Column("start"),
                   Column("duration"), Column("state")]
        states = [shown_state(run) for run in runs]
        rows = [[str(run.id), run.command, local_time(run.start_time),
                 duration(run.start_time, run.end_time), state]
                for run, state in zip(runs, states)]
        unfinished = [run.id for run, state in zip(runs, states)
                      if state in ("running", "crashed")]
        if unfinished:  # how far the runs still going (or gone) got; state stays last
            done = blocks_done(databases, unfinished)
            columns.insert(-1, Column("blocks done"))
            for row, run in zip(rows, runs):
                row.insert(-1, str(done.get(run.id, 0)) if run.id in unfinished else "")
        print(format_table(columns, [tuple(row) for row in rows]))


def run_as_dict(run: Any, blocks_done: int | None = None) -> dict[str, Any]:
    """A run as ``list_runs --json`` prints it: the state as shown (``crashed`` included),
    times in UTC ISO 8601, the duration in seconds (null while it runs), the number of
    its blocks that ended (as the database has them so far)."""
    from outflow.management.liveness import shown_state
    from outflow.management.runs import log_file, seconds, utc_time

    return {
        "id": run.id,
        "uuid": run.uuid,
        "command": run.command,
        "state": shown_state(run),
        "start": utc_time(run.start_time),
        "end": utc_time(run.end_time),
        "duration": seconds(run.start_time, run.end_time),
        "backend": run.backend,
        "user": run.user,
        "host": run.hostname,
        "log": log_file(run),
        "cache_hits": getattr(run, "cache_hits", None),
        "blocks_done": blocks_done,
    }

"""``management debug [RUN]``: why a run failed (its failed blocks and their exceptions);
the latest failed or crashed run when no run is named."""

from __future__ import annotations

from typing import Any

from outflow.core.commands import Command
from outflow.management.commands import Management


def complete_runs(ctx: Any, param: Any, incomplete: str) -> list[Any]:
    """``management debug <TAB>``: the ids of the tracked runs, newest first, each with its
    command, state and start (shells that show descriptions show them).

    Completion must not get in the way: no database (or no run table yet, or a server
    that does not answer) completes nothing, silently.
    """
    from click.shell_completion import CompletionItem

    from outflow.core.pipeline.context import active_context
    from outflow.management.liveness import shown_state
    from outflow.management.runs import local_time, runs_starting_with

    try:
        runs = runs_starting_with(active_context().databases, incomplete)
    except Exception:  # noqa: BLE001 - a completion completes or is silent
        return []
    by_uuid = bool(incomplete) and not incomplete.isdigit()
    return [CompletionItem(run.uuid if by_uuid else str(run.id),
                           help=f"{run.command} [{shown_state(run)}] "
                                f"{local_time(run.start_time)}")
            for run in runs]


@Management.subcommand(db_untracked=True)
class Debug(Command):
    """Show the failed blocks of a run with their exception type, message and traceback."""

    def add_arguments(self) -> None:
        self.add_argument("run", metavar="RUN", nargs="?", default=None,
                          help="Run id, or the beginning of its uuid (default: the latest "
                               "failed or crashed run).",
                          shell_complete=complete_runs)

    def setup_tasks(self) -> None:
        from outflow.core.pipeline import context
        from outflow.management.liveness import shown_state
        from outflow.management.runs import (
            failed_blocks,
            find_run,
            latest_failed_run,
            run_header,
        )

        databases = context.databases
        reference = context.args.run
        run = (latest_failed_run(databases) if reference is None
               else find_run(databases, str(reference)))
        state = shown_state(run)
        print(run_header(run))
        blocks = failed_blocks(databases, run.id)
        if not blocks:
            print("No failed block." if state != "failed"
                  else "The run failed but recorded no failed block.")
            return
        for block in blocks:
            where = f"{block.kind} {block.name}"
            if block.map_index is not None:
                where += f" (map item {block.map_index})"
            if block.plugin:
                where += f" in {block.plugin}"
            print()
            print(f"{where}: failed")
            if block.exception_type is None:
                print("  (failed because a block inside it failed)")
                continue
            print(f"  {block.exception_type}: {block.message}")
            if block.traceback:
                print("  " + block.traceback.rstrip().replace("\n", "\n  "))

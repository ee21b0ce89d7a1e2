"""``management show [RUN]``: what a run did, task by task (the latest run by default).

Where ``debug`` says why a run failed, ``show`` says what it did: for each task and
workflow, how many times it ran (a task in a map runs once per item), how many of
those succeeded or failed, and how long they took (total, mean, longest); then the
map items that failed, with their task, error and inputs (masked, cut), and how many
outputs came from the workflow cache.
"""

from __future__ import annotations

from typing import Any

from outflow.core.commands import Command
from outflow.management.commands import Management
from outflow.management.debug import complete_runs


@Management.subcommand(db_untracked=True)
class Show(Command):
    """Show what a run did: per task, how many ran, succeeded, failed, and how long."""

    def add_arguments(self) -> None:
        self.add_argument("run", metavar="RUN", nargs="?", default=None,
                          help="Run id, or the beginning of its uuid (default: the latest "
                               "run).", shell_complete=complete_runs)
        self.add_argument("--json", action="store_true", dest="as_json",
                          help="Print the run and its per-task figures as JSON.")

    def setup_tasks(self) -> None:
        from outflow.core.pipeline import context
        from outflow.management.runs import block_stats, failed_blocks, find_run, latest_run

        databases = context.databases
        reference = context.args.run
        run = latest_run(databases) if reference is None else find_run(databases,
                                                                         str(reference))
        stats = block_stats(databases, run.id)
        failed = [block for block in failed_blocks(databases, run.id)
                  if block.map_index is not None and block.exception_type is not None]
        if context.args.as_json:
            import json

            print(json.dumps(_as_dict(run, stats, failed), indent=2))
            return
        _print(run, stats, failed)


def _print(run: Any, stats: list[Any], failed: list[Any]) -> None:
    from outflow.core.cli.tables import Column, format_table
    from outflow.management.runs import run_header

    print(run_header(run))
    if not stats:
        print("No block recorded.")
        return
    columns = [Column(name) for name in ("block", "runs", "success", "failed", "total",
                                         "mean", "longest")]
    rows = [(f"{entry.kind} {entry.name}", str(entry.count), str(entry.success),
             str(entry.failed), _seconds(entry.total if entry.timed else None),
             _seconds(entry.mean), _seconds(entry.longest if entry.timed else None))
            for entry in stats]
    print()
    print(format_table(columns, rows))
    if run.cache_hits:
        print()
        print(f"read from the workflow cache: {run.cache_hits} (workflows and map items)")
    if failed:
        print()
        print(f"failed items ({len(failed)}):")
        for block in failed:
            print(f"  item {block.map_index}: {_error(block)}")
            for name, value in (block.input_values or {}).items():
                print(f"    input {name} = {value}")


def _error(block: Any) -> str:
    """``task square failed: ValueError: ...``: the message of a task's failure names
    the task and the error already; any other error with its type."""
    if str(block.exception_type).rsplit(".", 1)[-1] == "TaskError":
        return str(block.message)
    return f"{block.kind} {block.name}: {block.exception_type}: {block.message}"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 0.01:
        return f"{value * 1000:.1f} ms"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _as_dict(run: Any, stats: list[Any], failed: list[Any]) -> dict[str, Any]:
    from outflow.management.list_runs import run_as_dict

    return {
        "run": run_as_dict(run),
        "blocks": [{"kind": entry.kind, "name": entry.name, "runs": entry.count,
                    "success": entry.success, "failed": entry.failed,
                    "total_seconds": entry.total if entry.timed else None,
                    "mean_seconds": entry.mean,
                    "longest_seconds": entry.longest if entry.timed else None}
                   for entry in stats],
        "failed_items": [{"index": block.map_index, "block": f"{block.kind} {block.name}",
                          "error": _error(block), "inputs": block.input_values}
                         for block in failed],
    }

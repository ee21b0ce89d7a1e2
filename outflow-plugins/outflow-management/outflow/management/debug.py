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
    """Show the failed blocks of a run: the error, the line that raised it, the inputs
    and the traceback."""

    def add_arguments(self) -> None:
        self.add_argument("run", metavar="RUN", nargs="?", default=None,
                          help="Run id, or the beginning of its uuid (default: the latest "
                               "failed or crashed run).",
                          shell_complete=complete_runs)
        self.add_argument("--full", action="store_true",
                          help="Print each traceback as recorded: every part of its chain, "
                               "outflow's own frames included.")

    def setup_tasks(self) -> None:
        from outflow.core.pipeline import context
        from outflow.management.liveness import shown_state
        from outflow.management.runs import failed_blocks, find_run, latest_failed_run, run_header

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
        shown: dict[str, str] = {}  # condensed traceback -> the block that showed it
        for block in sorted(blocks, key=_innermost_first):
            print()
            print("\n".join(describe_failure(block, shown, full=context.args.full)))


def describe_failure(block: Any, shown: dict[str, str], full: bool = False) -> list[str]:
    """The lines ``debug`` prints for one failed block: where, what, the user's line that
    raised, the inputs, the traceback (condensed, and only once for one error)."""
    from outflow.core.tracebacks import (
        condense,
        is_outflow_file,
        short_location,
        user_frame_in_text,
    )

    where = f"{block.kind} {block.name}"
    if block.map_index is not None:
        where += f" (map item {block.map_index})"
    lines = [f"{where}{f' in {block.plugin}' if block.plugin else ''}: failed"]
    if block.exception_type is None:
        return [*lines, "  (failed because a block inside it failed)"]
    traceback = (block.traceback or "").rstrip()
    condensed = condense(traceback) if traceback else ""
    frame = user_frame_in_text(condensed) if condensed else None
    if frame is not None and is_outflow_file(frame[0]):
        frame = None  # raised by outflow itself: no line of the user's to point at
    wrapper = _is_wrapper(block.exception_type)
    last = condensed.splitlines()[-1] if condensed else ""
    # A task's failure says the user's error; a workflow's, its own message (which
    # names the item and counts what finished).
    if last and wrapper and block.kind == "task":
        lines.append(f"  {last}")
    else:  # outflow's wrappers by their short name; any other error by its full one
        kind = block.exception_type.rsplit(".", 1)[-1] if wrapper else block.exception_type
        lines.append(f"  {kind}: {block.message}")
    if traceback and not full and (condensed in shown or (wrapper and frame is None)):
        said = (f"the error of {shown[condensed]}, above" if condensed in shown
                else "the errors of the blocks inside it, above")
        return [*lines, f"  ({said})"]
    if frame is not None:
        source = _source_line(*frame)
        lines.append(f"  at {short_location(frame)}{f': {source}' if source else ''}")
    for name, value in (block.input_values or {}).items():
        lines.append(f"  input {name} = {value}")
    if not traceback:
        return lines
    shown.setdefault(condensed, where)
    text = traceback if full else condensed
    return [*lines, "  " + text.replace("\n", "\n  ")]


def _innermost_first(block: Any) -> tuple[int, int]:
    """Tasks first (where errors are raised), in the order they ran; then the workflows
    around them, innermost first; then errors raised outside any block."""
    if block.id is None:
        return (2, 0)
    return (0, block.id) if block.kind == "task" else (1, -block.id)


def _is_wrapper(exception_type: str) -> bool:
    from outflow.core.tracebacks import WRAPPERS

    return exception_type.startswith("outflow.") and exception_type.rsplit(".", 1)[-1] in WRAPPERS


def _source_line(filename: str, line: int) -> str:
    """The line of code, as the file reads now (blank when it is not here)."""
    import linecache

    return linecache.getline(filename, line).strip()

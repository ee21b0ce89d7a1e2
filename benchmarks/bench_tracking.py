"""Cost of run tracking per task, on SQLite and on PostgreSQL.

Run: ``.venv/bin/python benchmarks/bench_tracking.py [--tasks 200] [--items 1000]
[--repeat 5] [--no-postgres]``.

For each database, in the same process, with outflow's tables migrated:

- chain: a workflow of ``--tasks`` chained trivial tasks (plus its first one), run
  as a command runs it (run-level hooks around ``Backend.run``), untracked
  (``RunInfo(db_untracked=True)``: the hooks are still dispatched, nothing is
  written) and tracked (run row, one block row per
  task, edges, all written in batches);
- map: a MapWorkflow of ``--items`` items (each one trivial task), when the
  library plugin (``outflow.library``) is installed; skipped with a message
  otherwise;
- map, parallel backend: the same map with ``--backend parallel``, every item in
  the pool of worker processes (which record their blocks themselves), when
  ``outflow.multiprocessing`` is installed. The pool's start-up is in both timings,
  so this row is noisier.

Reported: median time of each run and the tracking cost per task,
``(tracked - untracked) / blocks``. The goal is <= 0.5 ms per tracked task on
SQLite (outflow 0.9 committed every state change: about 23 ms per task).

PostgreSQL: ``OUTFLOW_TEST_POSTGRES`` (a superuser URL) or a throwaway server
started with ``outflow.core.test.postgres`` when PostgreSQL is installed.
No assertion: this is a measurement to read, not a test.
"""
# ruff: noqa: F821 - outflow's output annotations, `-> {"name": type}`

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "outflow-plugins" / "outflow-sequential",
             ROOT / "outflow-plugins" / "outflow-management"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from timing import timings  # noqa: E402

from outflow.core.commands.backend_choice import load_backend_class  # noqa: E402
from outflow.core.pipeline.context import PipelineContext, activate  # noqa: E402
from outflow.core.pipeline.settings import Settings  # noqa: E402
from outflow.core.plugins.host import PluginHost  # noqa: E402
from outflow.core.runs import RunInfo  # noqa: E402
from outflow.core.tasks import as_task  # noqa: E402
from outflow.core.workflow import Workflow  # noqa: E402


@as_task
def Start() -> {"x": int}:
    return {"x": 0}


@as_task
def Increment(x: int) -> {"x": int}:
    return {"x": x + 1}


@as_task
def Items(n: int) -> {"items": list}:
    return {"items": list(range(n))}


def build_chain(n_tasks: int) -> Workflow:
    with Workflow(name="chain") as top:
        block = Start()
        for _ in range(n_tasks):
            block = block | Increment()
    top.validate()
    return top


def build_map(n_items: int) -> Workflow | None:
    try:
        from outflow.library.workflows import MapWorkflow
    except ImportError:
        return None

    @MapWorkflow.as_workflow(cache=False)
    def increment_each():
        Increment()

    with Workflow(name="map") as top:
        Items(n=n_items) | increment_each()
    top.validate()
    return top


def pipeline_context(databases: dict[str, Any], root: Path) -> PipelineContext:
    from outflow.management.migrate import Migrations

    config = {"databases": databases}
    context = PipelineContext(Settings(TEMP_DIR=root / "tmp"), config,
                              host=PluginHost().load(), root_directory=root)
    with activate(context):
        Migrations(context).upgrade("heads")
    return context


def _count_blocks(context: PipelineContext) -> int:
    from sqlalchemy import func, select

    from outflow.management.models import Block

    with context.databases.engine().connect() as connection:
        return connection.execute(select(func.count()).select_from(Block.__table__)).scalar()


def measure(label: str, context: PipelineContext, workflow: Workflow, blocks: int,
            repeat: int, backend_name: str = "default") -> None:
    backend_class = load_backend_class(backend_name, context.host, context.settings)

    def run(info: RunInfo) -> None:
        """What ``execute_command`` does around the backend: the run-level hooks, and
        the backend closed (its workers shut down) before the run is finalised."""
        hook = context.hook
        hook.outflow_run_started(run=info)
        error = None
        backend = backend_class(context)
        try:
            backend.run(workflow, info)
        except BaseException as exc:
            error = exc
            raise
        finally:
            backend.close()
            info.end_time = time.time()
            info.state = "failed" if error is not None else "success"
            hook.outflow_run_finished(run=info, state=info.state, error=error)

    def untracked() -> None:
        run(RunInfo(command="bench", argv=[], backend=backend_name, db_untracked=True))

    def tracked() -> None:
        run(RunInfo(command="bench", argv=[], backend=backend_name))

    with activate(context):
        tracked()  # warm-up: imports, prepared statements, first connection
        untracked()
        before = _count_blocks(context)
        off = statistics.median(timings(untracked, repeat))
        on = statistics.median(timings(tracked, repeat))
        written = _count_blocks(context) - before
    if written != repeat * blocks:
        raise SystemExit(f"{label}: {written} block rows written, expected {repeat * blocks}")
    per_block = (on - off) / blocks * 1e3
    print(f"  {label:<28} untracked {off * 1e3:8.1f} ms   tracked {on * 1e3:8.1f} ms   "
          f"tracking {per_block:6.3f} ms per task ({blocks} blocks)")


def bench_database(name: str, databases: dict[str, Any], options: argparse.Namespace) -> None:
    print(f"{name}:")
    with tempfile.TemporaryDirectory() as directory:
        context = pipeline_context(databases, Path(directory))
        measure(f"chain of {options.tasks} tasks", context, build_chain(options.tasks),
                options.tasks + 2, options.repeat)
        mapped = build_map(options.items)
        if mapped is None:
            print("  map: skipped (MapWorkflow comes with the library plugin, "
                  "outflow.library, which is not installed)")
        else:
            # one inner task per item + the map, the items task and the top workflow
            measure(f"map of {options.items} items", context, mapped,
                    options.items + 3, max(1, options.repeat // 2))
            if parallel_backend_installed():
                measure(f"map of {options.items}, parallel", context, mapped,
                        options.items + 3, max(1, options.repeat // 2), "parallel")
            else:
                print("  map, parallel: skipped (outflow.multiprocessing is not installed)")
        context.databases.dispose()


def parallel_backend_installed() -> bool:
    try:
        import outflow.multiprocessing.backend  # noqa: F401
    except ImportError:
        return False
    return True


def postgres_databases() -> tuple[dict[str, Any] | None, Any]:
    from outflow.core.test.postgres import (
        PostgresUnavailable,
        create_test_database,
        server_from_environment,
        start_throwaway_server,
    )

    server = server_from_environment()
    started = None
    if server is None:
        try:
            server = started = start_throwaway_server()
        except PostgresUnavailable as error:
            print(f"PostgreSQL: skipped ({error})")
            return None, None
    database = create_test_database(server, prefix="outflow_bench")

    def cleanup() -> None:
        database.drop()
        if started is not None:
            started.stop()

    return {"default": database.config}, cleanup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        bench_database("SQLite (WAL)", {"default": {"dialect": "sqlite",
                                                    "path": f"{directory}/bench.db"}}, options)
    if options.no_postgres:
        return
    databases, cleanup = postgres_databases()
    if databases is None:
        return
    try:
        bench_database("PostgreSQL", databases, options)
    finally:
        cleanup()


if __name__ == "__main__":
    main()

"""Run tracking with ``--backend parallel``: blocks run by worker processes are recorded.

A run's block table must not depend on the backend: the inner tasks of each
MapWorkflow item, run in a worker process, are written by that worker (its own
connections, the run's ids) with the same parent, map index, state, parameters and
targets as the sequential backend writes them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, aliased

from outflow.management.models import Block, Edge, Run, RuntimeException

ITEMS = 8

COMMANDS = '''
import os
import time

from outflow.core.commands import Command, RootCommand
from outflow.core.tasks import Parameter, as_task
from outflow.library.workflows import MapWorkflow


@as_task
def Numbers() -> {"values": list}:
    from outflow.core.pipeline import context

    if context.args.write_rows:  # a table of the pipeline's own, written by the items
        from sqlalchemy import text

        with context.databases.engine().begin() as connection:
            connection.execute(text("CREATE TABLE IF NOT EXISTS item_row (value INTEGER)"))
    return {"values": list(range(context.args.n))}


@as_task
def Shift(value: int, offset: Parameter(int)) -> {"shifted": int}:
    from outflow.core.pipeline import context

    if value == context.args.fail_at:
        raise ValueError(f"cannot shift {value}")
    if context.args.write_rows:
        from sqlalchemy import text

        with context.databases.engine().begin() as connection:
            connection.execute(text("INSERT INTO item_row VALUES (:value)"), {"value": value})
    return {"shifted": value + offset}


@as_task
def Square(shifted: int) -> {"square": int, "pid": int}:
    from outflow.core.pipeline import context

    time.sleep(context.args.sleep)
    return {"square": shifted * shifted, "pid": os.getpid()}


@as_task
def Report(map_output: list):
    from outflow.core.pipeline import context

    pids = sorted({outputs[0]["pid"] for outputs in map_output})
    print("item pids:", " ".join(map(str, pids)))
    print("driver pid:", os.getpid())
    if context.args.count_rows:  # what the workers wrote while the pool still runs
        from sqlalchemy import text

        run_id = context.run.extra["outflow.management"]["run_id"]
        with context.databases.engine().connect() as connection:
            count = connection.execute(text(
                "SELECT count(*) FROM block WHERE run_id = :run AND map_index IS NOT NULL"
            ), {"run": run_id}).scalar()
        print("item rows before the pool closed:", count)
    if context.args.write_rows:
        from sqlalchemy import text

        with context.databases.engine().connect() as connection:
            count = connection.execute(text("SELECT count(*) FROM item_row")).scalar()
        print("rows written by the items:", count)


@MapWorkflow.as_workflow(cache=False)
def shift_and_square():
    Shift() | Square()


@RootCommand.subcommand()
class Mapped(Command):
    def add_arguments(self):
        self.add_argument("--n", type=int, default=8)
        self.add_argument("--fail-at", type=int, default=-1)
        self.add_argument("--sleep", type=float, default=0.0)
        self.add_argument("--count-rows", action="store_true")
        self.add_argument("--write-rows", action="store_true")

    def setup_tasks(self):
        Numbers() | shift_and_square() | Report()


@RootCommand.subcommand(db_untracked=True)
class MappedUntracked(Mapped):
    pass
'''

CONFIG = """\
parameters:
  shift:
    offset: 10
parallel:
  max_workers: 2
"""


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


needs_two_cpus = pytest.mark.skipif(_cpus() < 2, reason="the parallel backend runs items "
                                    "in worker processes only with 2 CPUs or more")


@pytest.fixture
def map_pipeline(make_pipeline, demo_sources):
    def make(databases: dict[str, dict[str, Any]] | None = None) -> Path:
        config = demo_sources["databases"](databases or {"default": {"dialect": "sqlite"}})
        return make_pipeline(plugins=["pmap"], config=config + CONFIG,
                             files={"plugins/pmap/pmap/__init__.py": "",
                                    "plugins/pmap/pmap/commands.py": COMMANDS})

    return make


def _outflow(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command line in its own interpreter: workers' logs land in its stderr."""
    return subprocess.run([sys.executable, "-m", "outflow", *args], cwd=root,
                          capture_output=True, text=True, timeout=300)


def _upgrade(root: Path) -> None:
    done = _outflow(root, "management", "db", "upgrade", "heads")
    assert done.returncode == 0, done.stderr


def _clean(done: subprocess.CompletedProcess[str]) -> None:
    for problem in ("database is locked", "could not write the tracking",
                    "could not find the", "Traceback"):
        assert problem not in done.stderr, done.stderr


def _pids(out: str, label: str) -> set[str]:
    line = next(line for line in out.splitlines() if line.startswith(label))
    return set(line.split(":", 1)[1].split())


def _rows(session: Session, run_id: int) -> Counter[tuple[Any, ...]]:
    parent = aliased(Block)
    query = (select(Block.kind, Block.name, Block.state, Block.map_index, parent.name,
                    Block.parameters, Block.input_targets, Block.output_targets)
             .outerjoin(parent, Block.parent_id == parent.id)
             .where(Block.run_id == run_id))
    rows = Counter()
    for kind, name, state, index, parent_name, parameters, inputs, outputs in session.execute(
            query):
        rows[(kind, name, state, index, parent_name, repr(parameters), repr(inputs),
              repr(outputs))] += 1
    return rows


def _edges(session: Session, run_id: int) -> Counter[tuple[Any, ...]]:
    up, down = aliased(Block), aliased(Block)
    query = (select(up.name, up.map_index, down.name, down.map_index).select_from(Edge)
             .join(up, Edge.upstream_id == up.id).join(down, Edge.downstream_id == down.id)
             .where(Edge.run_id == run_id))
    return Counter(tuple(row) for row in session.execute(query))


def _check_same_blocks_whichever_backend(root: Path, url: str, *options: str) -> None:
    sequential = _outflow(root, "mapped", "--n", str(ITEMS), *options)
    assert sequential.returncode == 0, sequential.stderr
    parallel = _outflow(root, "mapped", "--n", str(ITEMS), *options, "--backend", "parallel")
    assert parallel.returncode == 0, parallel.stderr
    _clean(parallel)
    driver = _pids(parallel.stdout, "driver pid")
    workers = _pids(parallel.stdout, "item pids") - driver
    assert workers  # items did run in worker processes, and only there
    assert _pids(parallel.stdout, "item pids") == workers

    engine = create_engine(url)
    with Session(engine) as session:
        runs = session.scalars(select(Run).order_by(Run.id)).all()
        assert [(run.backend, run.state) for run in runs] == [("default", "success"),
                                                             ("parallel", "success")]
        expected, got = _rows(session, runs[0].id), _rows(session, runs[1].id)
        assert sum(got.values()) == 3 + 1 + 2 * ITEMS  # top, numbers, map, report + items
        assert got == expected
        assert _edges(session, runs[1].id) == _edges(session, runs[0].id)
        blocks = session.scalars(select(Block).where(Block.run_id == runs[1].id)).all()
        mapped = next(block for block in blocks if block.name == "shift_and_square")
        inner = [block for block in blocks if block.name in ("shift", "square")]
        assert {block.parent_id for block in inner} == {mapped.id}
        assert sorted(block.map_index for block in inner if block.name == "square") == list(
            range(ITEMS))
        assert all(block.start_time is not None and block.end_time is not None
                   and block.end_time >= block.start_time for block in blocks)
        # each item's shift ran before its square, and within the map
        by_item = {(block.name, block.map_index): block for block in inner}
        for index in range(ITEMS):
            shift, square = by_item["shift", index], by_item["square", index]
            assert shift.end_time <= square.start_time
            assert mapped.start_time <= shift.start_time
            assert square.end_time <= mapped.end_time
    engine.dispose()


@needs_two_cpus
def test_parallel_and_sequential_runs_record_the_same_blocks_on_sqlite(map_pipeline) -> None:
    root = map_pipeline()
    _upgrade(root)
    _check_same_blocks_whichever_backend(root, f"sqlite:///{root / 'outflow.db'}")


@needs_two_cpus
def test_workers_started_by_forkserver_record_their_blocks_too(map_pipeline) -> None:
    root = map_pipeline()
    config = root / "config.yml"
    config.write_text(config.read_text() + "  start_method: forkserver\n")
    _upgrade(root)
    _check_same_blocks_whichever_backend(root, f"sqlite:///{root / 'outflow.db'}")


@needs_two_cpus
def test_mapped_tasks_writing_to_the_pipelines_sqlite_database_never_hang(map_pipeline) -> None:
    """The driver and every worker write to the same SQLite file (tracking, and the
    tasks' own rows): no worker may inherit a lock the driver held when it forked."""
    root = map_pipeline()
    _upgrade(root)
    done = _outflow(root, "mapped", "--n", "400", "--write-rows", "--backend", "parallel")
    assert done.returncode == 0, done.stderr
    _clean(done)
    assert "rows written by the items: 400" in done.stdout
    with Session(create_engine(f"sqlite:///{root / 'outflow.db'}")) as session:
        run = session.scalars(select(Run)).one()
        assert run.state == "success"
        squares = session.scalars(select(Block).where(Block.name == "square")).all()
        assert sorted(block.map_index for block in squares) == list(range(400))


@needs_two_cpus
def test_parallel_and_sequential_runs_record_the_same_blocks_on_postgresql(
        map_pipeline, postgresql_fixture) -> None:
    root = map_pipeline({"default": postgresql_fixture.config})
    _upgrade(root)
    _check_same_blocks_whichever_backend(root, postgresql_fixture.url(admin=True))


@needs_two_cpus
def test_workers_write_after_long_items_without_waiting_for_the_end(map_pipeline) -> None:
    root = map_pipeline()
    _upgrade(root)
    done = _outflow(root, "mapped", "--n", "4", "--sleep", "0.3", "--count-rows",
                    "--backend", "parallel")
    assert done.returncode == 0, done.stderr
    _clean(done)
    assert "item rows before the pool closed: 8" in done.stdout


@needs_two_cpus
def test_a_failing_item_in_a_worker_records_its_exception(map_pipeline) -> None:
    root = map_pipeline()
    _upgrade(root)
    done = _outflow(root, "mapped", "--n", str(ITEMS), "--fail-at", "3",
                    "--backend", "parallel")
    assert done.returncode == 1
    assert "cannot shift 3" in done.stderr
    assert "database is locked" not in done.stderr
    assert "could not write the tracking" not in done.stderr
    with Session(create_engine(f"sqlite:///{root / 'outflow.db'}")) as session:
        run = session.scalars(select(Run)).one()
        assert run.state == "failed"
        blocks = session.scalars(select(Block)).all()
        states = {(block.name, block.map_index): block.state for block in blocks}
        assert states["shift", 3] == "failed"
        assert ("square", 3) not in states
        assert states["shift_and_square", None] == "failed"
        assert states["mapped", None] == "failed"
        assert all(states["shift", i] == "success" for i in range(3))
        assert "running" not in states.values()
        errors = session.scalars(select(RuntimeException)).all()
        [item_error] = [error for error in errors
                        if error.block is not None and error.block.name == "shift"]
        assert item_error.block.map_index == 3
        assert item_error.run_id == run.id
        assert "TaskError" in item_error.type and "cannot shift 3" in item_error.message
        assert "ValueError: cannot shift 3" in item_error.traceback
        mapped = next(block for block in blocks if block.name == "shift_and_square")
        assert item_error.block.parent_id == mapped.id


@needs_two_cpus
@pytest.mark.parametrize("argv", [["mapped", "--db-untracked"], ["mapped_untracked"]],
                         ids=" ".join)
def test_untracked_parallel_runs_write_nothing(map_pipeline, argv: list[str]) -> None:
    root = map_pipeline()
    done = _outflow(root, *argv, "--backend", "parallel")
    assert done.returncode == 0, done.stderr
    assert _pids(done.stdout, "item pids").isdisjoint(_pids(done.stdout, "driver pid"))
    assert not list(root.glob("outflow.db*"))


@needs_two_cpus
def test_untracked_parallel_runs_write_nothing_to_a_migrated_database(map_pipeline) -> None:
    root = map_pipeline()
    _upgrade(root)
    done = _outflow(root, "mapped", "--db-untracked", "--backend", "parallel")
    assert done.returncode == 0, done.stderr
    with Session(create_engine(f"sqlite:///{root / 'outflow.db'}")) as session:
        assert session.scalars(select(Run)).all() == []
        assert session.scalars(select(Block)).all() == []

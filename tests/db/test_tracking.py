"""Run tracking: what is recorded, when nothing is, secrets, batching, worker processes."""
# ruff: noqa: F821 - outflow's documented output annotations, `-> {"name": type}`

import multiprocessing
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from outflow.core.pipeline.context import PipelineContext, activate
from outflow.core.runs import RunInfo
from outflow.core.tasks import as_task
from outflow.core.workflow import Workflow
from outflow.management import tracker as tracker_module
from outflow.management import tracking
from outflow.management.models import Block, Configuration, Edge, Run, RuntimeException

SECRET = "s3cret-T0ken"


def _session(root: Path) -> Session:
    return Session(create_engine(f"sqlite:///{root / 'outflow.db'}"))


def _upgraded(demo_pipeline, run_cli, **kwargs) -> Path:
    root = demo_pipeline(**kwargs)
    code, _, err = run_cli(["management", "db", "upgrade", "heads"], root)
    assert code == 0, err
    return root


def test_a_tracked_run_records_run_blocks_edges_and_configuration(demo_pipeline,
                                                                  run_cli) -> None:
    root = _upgraded(demo_pipeline, run_cli)
    for _ in range(2):
        code, _, err = run_cli(["chain", "--n", "5"], root)
        assert code == 0, err
    with _session(root) as session:
        runs = session.scalars(select(Run).order_by(Run.id)).all()
        assert [(run.command, run.state) for run in runs] == [("chain", "success")] * 2
        assert all(run.end_time is not None and run.end_time >= run.start_time for run in runs)
        assert session.scalar(select(func.count()).select_from(Configuration)) == 1
        assert runs[0].configuration_id == runs[1].configuration_id
        blocks = session.scalars(select(Block).where(Block.run_id == runs[0].id)
                                 .order_by(Block.id)).all()
        top = blocks[0]
        assert (top.kind, top.name, top.state, top.parent_id) == ("workflow", "chain",
                                                                  "success", None)
        assert top.end_time is not None
        tasks = blocks[1:]
        assert [block.name for block in tasks] == ["start"] + ["inc"] * 5
        assert all(block.kind == "task" and block.state == "success" for block in tasks)
        assert all(block.parent_id == top.id and block.end_time is not None for block in tasks)
        assert tasks[1].plugin == "demo.commands"
        assert tasks[1].input_targets == {"x": "int"} and tasks[1].output_targets == {"x": "int"}
        edges = session.scalars(select(Edge).where(Edge.run_id == runs[0].id)).all()
        assert {(edge.upstream_id, edge.downstream_id) for edge in edges} == {
            (tasks[i].id, tasks[i + 1].id) for i in range(5)
        }


def test_a_failed_run_records_the_exception(demo_pipeline, run_cli) -> None:
    root = _upgraded(demo_pipeline, run_cli)
    code, _, _ = run_cli(["chain", "--n", "2", "--fail"], root)
    assert code == 1
    with _session(root) as session:
        run = session.scalars(select(Run)).one()
        assert run.state == "failed" and run.end_time is not None
        states = {block.name: block.state for block in session.scalars(select(Block))}
        assert states == {"chain": "failed", "start": "success", "inc": "success",
                          "boom": "failed"}
        [error] = session.scalars(select(RuntimeException)).all()
        assert error.block.name == "boom"
        assert "TaskError" in error.type and "boom at 2" in error.message
        assert "ValueError: boom at 2" in error.traceback


def test_parameter_values_are_recorded(demo_pipeline, run_cli) -> None:
    root = _upgraded(demo_pipeline, run_cli, extra_config="""
        parameters:
          scale:
            factor: 3
        """)
    code, _, err = run_cli(["scaled"], root)
    assert code == 0, err
    with _session(root) as session:
        blocks = {block.name: block for block in session.scalars(select(Block))}
        assert blocks["scale"].parameters == {"factor": 3}
        assert blocks["inc"].parameters is None


@pytest.mark.parametrize("argv", [["chain", "--db-untracked"], ["untracked"],
                                  ["chain", "--dry-run"]], ids=" ".join)
def test_untracked_runs_write_nothing_and_create_no_file(demo_pipeline, run_cli,
                                                         argv: list[str]) -> None:
    root = demo_pipeline()
    code, _, err = run_cli(argv, root)
    assert code == 0, err
    assert not list(root.glob("outflow.db*"))


def test_untracked_runs_never_connect(demo_pipeline, run_cli) -> None:
    root = demo_pipeline(databases={"default": {
        "dialect": "postgresql", "address": "127.0.0.1:1", "database": "nowhere",
        "user": f"u:{SECRET}"}})
    code, _, err = run_cli(["chain", "--db-untracked"], root)
    assert code == 0, err


def test_a_database_without_tables_stops_the_run_with_a_hint(demo_pipeline, run_cli) -> None:
    root = demo_pipeline()
    code, _, err = run_cli(["chain"], root)
    assert code == 1
    assert "management db upgrade heads" in err
    assert not list(root.glob("outflow.db*"))


def test_unreachable_database_error_shows_no_password(demo_pipeline, run_cli) -> None:
    root = demo_pipeline(databases={"default": {
        "dialect": "postgresql", "address": "127.0.0.1:1", "database": "nowhere",
        "user": f"someone:{SECRET}"}})
    code, out, err = run_cli(["chain"], root)
    assert code == 1
    assert "127.0.0.1:1" in err
    assert SECRET not in out + err


def test_secrets_reach_neither_the_database_nor_the_logs(demo_pipeline, run_cli) -> None:
    root = _upgraded(demo_pipeline, run_cli, extra_config=f"""
        secrets:
          token: {SECRET}
        parameters:
          some_task:
            password: {SECRET}
        """)
    done = subprocess.run(
        [sys.executable, "-m", "outflow", "chain", "--n", "2", "--label", SECRET,
         "-ll", "DEBUG"], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    with _session(root) as session:
        run = session.scalars(select(Run)).one()
        assert SECRET not in str(run.argv) and "******" in run.argv
        stored = session.scalars(select(Configuration)).one().config
        assert SECRET not in str(stored)
        assert stored["secrets"]["token"] == "******"
        assert stored["parameters"]["some_task"]["password"] == "******"


# -------------------------------------------------------------- the tracker itself


@as_task
def Add1(x: int) -> {"x": int}:
    return {"x": x + 1}


def _tracked_context(root: Path) -> PipelineContext:
    from outflow.core.db import Model

    pipeline_context = PipelineContext(config={"databases": {"default": {"dialect": "sqlite"}}},
                                       root_directory=root)
    Model.metadata.create_all(pipeline_context.databases.engine())
    return pipeline_context


def _drive(pipeline_context: PipelineContext, n: int, run: RunInfo | None = None,
           between: object = None) -> RunInfo:
    """What the engine does for a chain of ``n`` tasks, calling the hooks directly."""
    from outflow.management import plugin

    run = run or RunInfo(command="chain")
    with activate(pipeline_context):
        plugin.outflow_run_started(run)
        with Workflow(name="chain") as top:
            tasks = [Add1() for _ in range(n)]
            for upstream, downstream in zip(tasks, tasks[1:]):
                upstream | downstream
        plugin.outflow_block_started(run, top, {})
        values = {"x": 0}
        for task in tasks:
            plugin.outflow_block_started(run, task, values)
            values = task(**values)
            plugin.outflow_block_succeeded(run, task, values)
            if callable(between):
                between()
        plugin.outflow_block_succeeded(run, top, {})
        run.end_time = time.time()
        plugin.outflow_run_finished(run, "success", None)
    return run


def _count_blocks(root: Path) -> int:
    with _session(root) as session:
        return session.scalar(select(func.count()).select_from(Block))


def test_blocks_are_written_in_batches(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(tracker_module, "FLUSH_EVERY", 10)
    pipeline_context = _tracked_context(tmp_path)
    seen: list[int] = []
    _drive(pipeline_context, 30, between=lambda: seen.append(_count_blocks(tmp_path)))
    assert seen[0] == 0  # nothing is written per block...
    assert 0 < max(seen[:-1]) < 31  # ...but batches land while the run goes on
    assert _count_blocks(tmp_path) == 31
    with _session(tmp_path) as session:
        assert {block.state for block in session.scalars(select(Block))} == {"success"}


def test_tracking_costs_little_per_task(tmp_path: Path) -> None:
    pipeline_context = _tracked_context(tmp_path)
    costs = []
    for _ in range(3):
        started = time.perf_counter()
        _drive(pipeline_context, 200, RunInfo(command="chain", db_untracked=True))
        untracked = time.perf_counter() - started
        started = time.perf_counter()
        _drive(pipeline_context, 200)
        tracked = time.perf_counter() - started
        costs.append((tracked - untracked) / 200)
    assert min(costs) < 1e-3, f"tracking costs {min(costs) * 1e3:.3f} ms per task"


def test_a_tracker_never_writes_from_another_process(tmp_path: Path) -> None:
    pipeline_context = _tracked_context(tmp_path)
    run = RunInfo(command="chain")
    with activate(pipeline_context):
        tracking.run_started(run)
    tracker = run.extra[tracking.TRACKER_KEY]
    copy = pickle.loads(pickle.dumps(run))  # what a worker receives
    assert copy.extra[tracking.TRACKER_KEY] is None
    assert copy.extra[tracking.IDS_KEY] == run.extra[tracking.IDS_KEY]

    def forked_child() -> None:
        task = Add1()
        tracker.block_started(task, {"x": 1})
        tracker.block_succeeded(task, {"x": 2})
        tracker.finish("success", None)
        os._exit(0)

    child = multiprocessing.get_context("fork").Process(target=forked_child)
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert _count_blocks(tmp_path) == 0
    with activate(pipeline_context):
        tracking.run_finished(run, "success", None)
    with _session(tmp_path) as session:
        assert session.scalars(select(Run.state)).one() == "success"


def test_a_copy_of_the_run_in_the_driver_process_records_nothing(tmp_path: Path) -> None:
    """Only worker processes (``outflow_worker_started``) attach a tracker to a run that
    arrived pickled."""
    from outflow.management import plugin

    pipeline_context = _tracked_context(tmp_path)
    run = RunInfo(command="chain")
    with activate(pipeline_context):
        tracking.run_started(run)
        copy = pickle.loads(pickle.dumps(run))
        task = Add1()
        plugin.outflow_block_started(copy, task, {"x": 1})
        plugin.outflow_block_succeeded(copy, task, {"x": 2})
        assert copy.extra[tracking.TRACKER_KEY] is None
        tracking.run_finished(run, "success", None)
    assert _count_blocks(tmp_path) == 0


def test_a_worker_records_its_blocks_under_the_workflow_of_the_driver(tmp_path: Path) -> None:
    """What a forked worker does with the run it received pickled (no pool here)."""
    from outflow.management import plugin

    pipeline_context = _tracked_context(tmp_path)
    run = RunInfo(command="chain")
    with activate(pipeline_context):
        tracking.run_started(run)
        with Workflow(name="chain") as top:
            task = Add1()
        plugin.outflow_block_started(run, top, {})
        driver = run.extra[tracking.TRACKER_KEY]
        driver._flush()  # what the driver does when a map starts: its workers need the row
        [top_record] = [records[-1] for records in driver._open.values()]
        setattr(top, tracker_module.OUTER_ID_ATTRIBUTE, (run.uuid, top_record.id))
        shipped = pickle.dumps((run, task))

        def worker() -> None:
            copy, inner = pickle.loads(shipped)
            context = PipelineContext(config=pipeline_context.config, root_directory=tmp_path)
            with activate(context):
                plugin.outflow_worker_started(context, copy)
                plugin.outflow_block_started(copy, inner, {"x": 1})
                plugin.outflow_block_failed(copy, inner, ValueError("worker failure"))
                assert _count_blocks(tmp_path) == 1  # only the driver's: buffered here
                plugin.outflow_worker_finished(copy)  # the worker ends: rows written

        child = multiprocessing.get_context("fork").Process(target=worker)
        child.start()
        child.join(30)
        assert child.exitcode == 0
        plugin.outflow_block_succeeded(run, top, {})
        tracking.run_finished(run, "success", None)
    with _session(tmp_path) as session:
        block = session.scalars(select(Block).where(Block.name == "add1")).one()
        assert (block.state, block.parent_id, block.map_index) == ("failed", top_record.id,
                                                                   None)
        error = session.scalars(select(RuntimeException)).one()
        assert error.block_id == block.id and "worker failure" in error.message
        assert session.scalars(select(Block.state).where(Block.id == top_record.id)).one() == (
            "success")


MAP_COMMANDS = '''
from outflow.core.commands import Command, RootCommand
from outflow.core.tasks import as_task
from outflow.library.workflows import MapWorkflow


@as_task
def Items() -> {"items": list}:
    return {"items": [10, 20, 30]}


@as_task
def Half(items: int) -> {"half": int}:
    return {"half": items // 2}


@MapWorkflow.as_workflow(cache=False)
def halve_each():
    Half()


@RootCommand.subcommand()
class Mapped(Command):
    def setup_tasks(self):
        Items() | halve_each()
'''


def test_mapped_items_are_recorded_with_their_index(make_pipeline, run_cli) -> None:
    root = make_pipeline(plugins=["mapdemo"], config="databases:\n  default: {dialect: sqlite}\n",
                         files={"plugins/mapdemo/mapdemo/__init__.py": "",
                                "plugins/mapdemo/mapdemo/commands.py": MAP_COMMANDS})
    assert run_cli(["management", "db", "upgrade", "heads"], root)[0] == 0
    code, _, err = run_cli(["mapped"], root)
    assert code == 0, err
    with _session(root) as session:
        blocks = session.scalars(select(Block).order_by(Block.id)).all()
        mapped = next(block for block in blocks if block.name == "halve_each")
        inner = [block for block in blocks if block.name == "half"]
        assert [block.map_index for block in inner] == [0, 1, 2]
        assert {block.parent_id for block in inner} == {mapped.id}
        assert {block.state for block in blocks} == {"success"}

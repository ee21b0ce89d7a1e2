"""The parallel backend: same results as sequential, in workers, failures reported."""

# ruff: noqa: F821 - outflow's documented output annotations, `-> {"name": type}`,
# are dict literals whose string keys pyflakes mistakes for forward references.

import os
import signal
import textwrap
import threading
import time
from contextlib import contextmanager

import pytest

from outflow.core.backends import Backend, current_backend
from outflow.core.pipeline.context import PipelineContext, activate
from outflow.core.pipeline.settings import Settings
from outflow.core.plugins.host import LoadOptions, PluginHost
from outflow.core.tasks import as_task
from outflow.core.types import Parameter
from outflow.core.workflow import Workflow
from outflow.library import progress
from outflow.library.tasks import MapItemError, MapWorkflow
from outflow.multiprocessing import backend as parallel
from outflow.multiprocessing.backend import ParallelBackend, WorkerDied, chunk_size

DRIVER = os.getpid()


@as_task
def Values(count: int) -> {"value_array": list}:
    return list(range(count))


@as_task
def Scale(value: int, factor: Parameter(int)) -> {"scaled": int, "pid": int}:
    return {"scaled": value * factor, "pid": os.getpid()}


@as_task
def Square(value: int) -> {"square": int}:
    if value == 13:
        raise ValueError("unlucky 13")
    return value * value


@as_task
def Killer(value: int) -> {"value": int}:
    if value == 5 and os.getpid() != DRIVER:  # never kill the test process itself
        os.kill(os.getpid(), signal.SIGKILL)
    return value


def scale_workflow():
    @MapWorkflow.as_workflow(output_name="results")
    def scaled():
        Scale()

    return scaled


def run_top(backend_or_class, pipeline, count, make_map):
    with Workflow(name="top") as top:
        Values(count=count) | make_map()
    backend = backend_or_class
    if isinstance(backend, type):
        with backend(pipeline) as instance:
            return instance.run(top)
    return backend.run(top)


@contextmanager
def deadline(seconds: int):
    """Fail instead of hanging (SIGALRM interrupts the wait in the driver)."""

    def expired(signum, frame):
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_parallel_equals_sequential_and_parameters_reach_the_workers(pipeline):
    pipeline.config["parameters"] = {"scale": {"factor": 3}}
    (sequential,) = run_top(Backend, pipeline, 20, scale_workflow())
    (in_pool,) = run_top(ParallelBackend, pipeline, 20, scale_workflow())

    def values(outputs):
        return [item[0]["scaled"] for item in outputs["results"]]

    assert values(in_pool) == values(sequential) == [3 * i for i in range(20)]
    pids = {item[0]["pid"] for item in in_pool["results"]}
    assert DRIVER not in pids and 1 <= len(pids) <= 2  # a Parameter-typed task, in workers
    assert {item[0]["pid"] for item in sequential["results"]} == {DRIVER}


def test_one_pool_for_the_run_and_workflows_shipped_once(pipeline, backend, monkeypatch):
    from concurrent.futures import ProcessPoolExecutor

    pipeline.config["parameters"] = {"scale": {"factor": 2}}
    payloads = []
    original = ProcessPoolExecutor.submit
    monkeypatch.setattr(ProcessPoolExecutor, "submit", lambda self, fn, *args: (
        payloads.append(args[1]) or original(self, fn, *args)))
    (first,) = run_top(backend, pipeline, 40, scale_workflow())
    executor = backend._executor
    # The first workflow went to each worker with the pool's initializer, once.
    assert len(payloads) == 8 and set(payloads) == {None}
    payloads.clear()
    (second,) = run_top(backend, pipeline, 40, scale_workflow())  # another workflow
    assert backend._executor is executor  # the same pool
    assert [item[0]["scaled"] for item in second["results"]] == list(range(0, 80, 2))
    # A later workflow rides with its chunks, pickled once in the driver.
    assert len(payloads) == 8 and len({id(payload) for payload in payloads}) == 1
    backend.close()
    assert backend._executor is None and backend.closed


def test_chunks_and_pool_size(monkeypatch, pipeline):
    assert chunk_size(1000, 2) == 125
    assert chunk_size(8, 2) == 1
    assert chunk_size(3, 8) == 1
    monkeypatch.setattr(parallel, "available_cpus", lambda: 8)
    backend = ParallelBackend(pipeline)
    assert backend.workers_for({}) == 8
    assert backend.workers_for({"cpus_per_task": 3, "mem": "2G"}) == 2
    assert backend.workers_for({"cpus_per_task": 16}) == 1
    pipeline.config["parallel"]["max_workers"] = 3
    assert backend.workers_for(None) == 3


def test_small_maps_and_single_workers_run_in_the_driver(pipeline, backend, monkeypatch):
    pipeline.config["parameters"] = {"scale": {"factor": 1}}
    (one,) = run_top(backend, pipeline, 1, scale_workflow())
    assert one["results"][0][0]["pid"] == DRIVER and backend._executor is None

    @MapWorkflow.as_workflow(output_name="results", cpus_per_task=2)
    def greedy():
        Scale()

    (outputs,) = run_top(backend, pipeline, 4, greedy)  # 2 CPUs // 2: one worker
    assert {item[0]["pid"] for item in outputs["results"]} == {DRIVER}
    assert backend._executor is None


def test_an_item_error_names_index_task_error_and_keeps_finished_outputs(pipeline, backend):
    @MapWorkflow.as_workflow(cache=True)
    def squares():
        Square()

    with pytest.raises(MapItemError) as caught:
        run_top(backend, pipeline, 20, squares)
    error = caught.value
    assert "workflow squares: item 13 failed in task square: ValueError: unlucky 13" in str(
        error)
    assert error.index == 13 and error.block_name == "square"
    assert "Traceback" in error.remote_traceback and "unlucky 13" in error.remote_traceback
    assert all(error.completed[i] == [{"square": i * i}] for i in error.completed)
    assert set(range(13)) <= set(error.completed) and 13 not in error.completed
    # Kept in the workflow cache too: a run over the first 13 items computes nothing.
    with Workflow(name="top") as top:
        Values(count=13) | squares()
    calls = []
    original = backend.map
    backend.map = lambda workflow, items, **kw: calls.append(len(items)) or original(
        workflow, items, **kw)
    (outputs,) = backend.run(top)
    assert calls == [0] and outputs["map_square"][12] == [{"square": 144}]


def test_a_killed_worker_is_reported_never_a_hang(pipeline, backend):
    @MapWorkflow.as_workflow
    def killers():
        Killer()

    with deadline(60), pytest.raises(MapItemError) as caught:
        run_top(backend, pipeline, 12, killers)
    error = caught.value
    assert "item 5 failed" in str(error)
    assert "killed by SIGKILL" in str(error)
    assert isinstance(error.__cause__, WorkerDied)
    assert all(error.completed[i] == [{"value": i}] for i in error.completed)
    # The broken pool was discarded: the next map starts a new one.
    pipeline.config["parameters"] = {"scale": {"factor": 1}}
    with deadline(60):
        (outputs,) = run_top(backend, pipeline, 4, scale_workflow())
    assert [item[0]["scaled"] for item in outputs["results"]] == [0, 1, 2, 3]


def test_workflows_defined_in_a_function_are_shipped_by_value(pipeline, backend):
    offset = 1000

    @as_task
    def Shift(value: int) -> {"shifted": int}:
        return value + offset

    with Workflow(name="top") as top:
        Values(count=6) | MapWorkflow(Shift(), output_name="shifted")
    (outputs,) = backend.run(top)
    assert [item[0]["shifted"] for item in outputs["shifted"]] == list(range(1000, 1006))


def test_the_backend_maps_any_workflow(pipeline, backend):
    """Not only MapWorkflows: the interface is ``map(workflow, items)``."""

    @as_task
    def Double(value: int) -> {"double": int}:
        return 2 * value

    inner = Workflow(Double(), name="inner")
    inner.validate(root=False)
    results = backend.map(inner, [{"value": i} for i in range(5)])
    assert results == [{"double": 2 * i} for i in range(5)]


def test_nested_maps_run_sequentially_inside_workers(pipeline, backend):
    @as_task
    def Row(value: int) -> {"cell_array": list}:
        return [value, value + 1]

    @as_task
    def Cell(cell: int) -> {"where": tuple}:
        return (cell, os.getpid(), type(current_backend()).__name__)

    with Workflow(name="top") as top:
        values = Values(count=3)
        with MapWorkflow(output_name="rows") as rows:
            Row() | MapWorkflow(Cell())
        values | rows
    (outputs,) = backend.run(top)
    cells = [cell[0]["where"] for row in outputs["rows"] for cell in row[0]["map_where"]]
    assert [cell[0] for cell in cells] == [0, 1, 1, 2, 2, 3]
    assert {cell[2] for cell in cells} == {"Backend"} and DRIVER not in {c[1] for c in cells}


def test_progress_comes_back_from_the_workers(pipeline, backend, monkeypatch):
    seen = []

    class Recording(progress.MapProgress):
        def advance(self, done=1, failed=0):
            seen.append((os.getpid(), done, failed))
            super().advance(done, failed)

    monkeypatch.setattr(progress, "MapProgress", Recording)
    pipeline.config["parameters"] = {"scale": {"factor": 1}}
    run_top(backend, pipeline, 16, scale_workflow())
    assert sum(done for _, done, _ in seen) == 16
    assert {pid for pid, _, _ in seen} == {DRIVER} and len(seen) >= 2  # per chunk


# -------------------------------------------- maps shared by the driver and the pool


@pytest.fixture
def shared(pipeline, monkeypatch):
    """The default: the driver runs items too. Returns a function that makes the
    pool pay off at once (else only maps of more than ~60 ms of work start it)."""
    pipeline.config["parallel"]["driver_runs_items"] = True

    def eager():
        monkeypatch.setattr(parallel, "POOL_START_SECONDS", 0.0)
        monkeypatch.setattr(parallel, "POOL_USE_SECONDS", 0.0)

    return eager


@as_task
def Nap(value: int, seconds: Parameter(float)) -> {"value": int, "pid": int}:
    time.sleep(seconds)
    return {"value": value, "pid": os.getpid()}


@as_task
def Fragile(value: int) -> {"value": int}:
    time.sleep(0.002)
    if value == 25:
        raise ValueError("fragile 25")
    return value


@as_task
def DriverSlowWorkerDies(value: int) -> {"value": int}:
    if os.getpid() == DRIVER:
        time.sleep(0.05)  # the worker surely gets items
    elif value >= 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return value


@as_task
def Interrupt(value: int) -> {"value": int}:
    if value == 3 and os.getpid() == DRIVER:
        raise KeyboardInterrupt
    return value


def nap_workflow():
    @MapWorkflow.as_workflow(output_name="naps")
    def naps():
        Nap()

    return naps


def test_small_maps_never_start_a_pool_and_nothing_is_kept(pipeline, backend, shared):
    pipeline.config["parameters"] = {"scale": {"factor": 2}}
    for _ in range(2):
        (outputs,) = run_top(backend, pipeline, 200, scale_workflow())
        assert [item[0]["scaled"] for item in outputs["results"]] == list(range(0, 400, 2))
        assert {item[0]["pid"] for item in outputs["results"]} == {DRIVER}
        assert backend._executor is None
    temp = pipeline.settings.TEMP_DIR
    assert not temp.exists() or not list(temp.iterdir())  # no measurement persisted


def test_long_items_start_the_pool_while_the_driver_works(pipeline, backend, shared):
    pipeline.config["parameters"] = {"nap": {"seconds": 0.1}}
    with deadline(60):
        (outputs,) = run_top(backend, pipeline, 10, nap_workflow())
    naps = [item[0] for item in outputs["naps"]]
    assert [nap["value"] for nap in naps] == list(range(10))
    pids = [nap["pid"] for nap in naps]
    # The first item started here before any worker existed; workers took some of
    # the others, before a single item had ended (8 x 0.1 s: the pool pays off).
    assert pids[0] == DRIVER and DRIVER in pids[1:] and set(pids) - {DRIVER}
    executor = backend._executor
    assert executor is not None and backend._pool_size == 1  # the driver is a runner
    # The pool stays for the later maps of the run.
    pipeline.config["parameters"] = {"nap": {"seconds": 0.02}}
    (outputs,) = run_top(backend, pipeline, 20, nap_workflow())
    assert [item[0]["value"] for item in outputs["naps"]] == list(range(20))
    assert backend._executor is executor


def test_short_items_start_the_pool_when_the_work_left_pays_for_it(pipeline, backend,
                                                                   shared):
    shared()
    pipeline.config["parameters"] = {"nap": {"seconds": 0.01}}
    with deadline(60):
        (outputs,) = run_top(backend, pipeline, 60, nap_workflow())
    naps = [item[0] for item in outputs["naps"]]
    assert [nap["value"] for nap in naps] == list(range(60))
    pids = {nap["pid"] for nap in naps}
    assert DRIVER in pids and len(pids) == 2


def test_a_shared_map_reports_the_first_failing_item_and_keeps_the_others(
        pipeline, backend, shared):
    shared()

    @MapWorkflow.as_workflow(cache=True)
    def fragile():
        Fragile()

    with deadline(60), pytest.raises(MapItemError) as caught:
        run_top(backend, pipeline, 60, fragile)
    error = caught.value
    assert error.index == 25 and error.block_name == "fragile"
    assert "item 25 failed in task fragile: ValueError: fragile 25" in str(error)
    assert "fragile 25" in error.remote_traceback
    # Every item before the failing one ran; those after it that ran are kept too.
    assert set(range(25)) <= set(error.completed) and 25 not in error.completed
    assert all(error.completed[i] == [{"value": i}] for i in error.completed)


def test_a_worker_killed_during_a_shared_map_is_reported(pipeline, backend, shared):
    shared()

    @MapWorkflow.as_workflow
    def dies():
        DriverSlowWorkerDies()

    with deadline(60), pytest.raises(MapItemError) as caught:
        run_top(backend, pipeline, 40, dies)
    error = caught.value
    assert isinstance(error.__cause__, WorkerDied) and "killed by SIGKILL" in str(error)
    assert all(error.completed[i] == [{"value": i}] for i in error.completed)
    assert backend._executor is None  # discarded: the next map starts a new pool
    pipeline.config["parameters"] = {"nap": {"seconds": 0.01}}
    with deadline(60):
        (outputs,) = run_top(backend, pipeline, 60, nap_workflow())
    assert [item[0]["value"] for item in outputs["naps"]] == list(range(60))


def test_progress_of_a_shared_map_counts_every_item_once(pipeline, backend, shared,
                                                        monkeypatch):
    shared()
    seen = []

    class Recording(progress.MapProgress):
        def advance(self, done=1, failed=0):
            seen.append((os.getpid(), done, failed))
            super().advance(done, failed)

    monkeypatch.setattr(progress, "MapProgress", Recording)
    pipeline.config["parameters"] = {"nap": {"seconds": 0.01}}
    (outputs,) = run_top(backend, pipeline, 60, nap_workflow())
    assert {item[0]["pid"] for item in outputs["naps"]} - {DRIVER}  # workers ran some
    assert sum(done for _, done, _ in seen) == 60
    assert {pid for pid, _, _ in seen} == {DRIVER}


def test_ctrl_c_in_the_driver_keeps_what_finished_by_index(pipeline, backend, shared):
    @MapWorkflow.as_workflow(cache=True)
    def interrupted():
        Interrupt()

    with pytest.raises(KeyboardInterrupt) as caught:
        run_top(backend, pipeline, 8, interrupted)
    # No item failed; the outputs that finished are given by index (the driver's
    # items need not be the first ones), and the MapWorkflow cached them.
    assert caught.value.item_index == 8
    assert caught.value.item_results == {i: [{"value": i}] for i in range(3)}
    with Workflow(name="top") as top:
        Values(count=3) | interrupted()
    calls = []
    original = backend.map
    backend.map = lambda workflow, items, **kw: calls.append(len(items)) or original(
        workflow, items, **kw)
    backend.run(top)
    assert calls == [0]


def test_nested_maps_of_items_the_driver_runs_are_sequential(pipeline, backend, shared):
    @as_task
    def Row(value: int) -> {"cell_array": list}:
        return [value, value + 1]

    @as_task
    def Cell(cell: int) -> {"where": int}:
        return os.getpid()

    with Workflow(name="top") as top:
        values = Values(count=3)
        with MapWorkflow(output_name="rows") as rows:
            Row() | MapWorkflow(Cell())
        values | rows
    (outputs,) = backend.run(top)
    cells = [cell[0]["where"] for row in outputs["rows"] for cell in row[0]["map_where"]]
    assert cells == [DRIVER] * 6 and backend._executor is None


def test_items_needing_several_cpus_go_to_the_pool_only(pipeline, backend, shared,
                                                       monkeypatch):
    monkeypatch.setattr(parallel, "available_cpus", lambda: 4)
    pipeline.config["parameters"] = {"scale": {"factor": 1}}

    @MapWorkflow.as_workflow(output_name="results", cpus_per_task=2)
    def two_cpus_each():
        Scale()

    (outputs,) = run_top(backend, pipeline, 6, two_cpus_each)
    assert [item[0]["scaled"] for item in outputs["results"]] == list(range(6))
    assert DRIVER not in {item[0]["pid"] for item in outputs["results"]}


def test_a_workflow_that_cannot_be_pickled_runs_in_the_driver(pipeline, backend, shared,
                                                              caplog):
    shared()
    lock = threading.Lock()  # cloudpickle cannot send a lock

    @as_task
    def Locked(value: int) -> {"value": int}:
        with lock:
            time.sleep(0.002)
            return value

    with Workflow(name="top") as top:
        Values(count=30) | MapWorkflow(Locked(), output_name="locked")
    for _ in range(2):  # the second run does not try again
        (outputs,) = backend.run(top)
        assert [item[0]["value"] for item in outputs["locked"]] == list(range(30))
    assert backend._executor is None
    warnings = [r for r in caplog.records if "no worker processes" in r.getMessage()]
    assert len(warnings) == 1 and "cannot be sent to worker processes" in (
        warnings[0].getMessage())


HOOK_PLUGIN = '''
import os

from outflow.core.plugins import hookimpl

LOG = {log!r}


@hookimpl
def outflow_block_succeeded(block, outputs):
    with open(LOG, "a") as handle:
        handle.write(f"{{os.getpid()}} {{block.name}}\\n")
'''


@pytest.mark.parametrize("start_method", ["fork", "forkserver"])
def test_lifecycle_hooks_of_inner_blocks_fire_in_the_workers(tmp_path, monkeypatch,
                                                             start_method):
    log = tmp_path / "hooks.log"
    plugin_dir = tmp_path / "plugins"
    (plugin_dir / "hook_recorder_plugin").mkdir(parents=True)
    (plugin_dir / "hook_recorder_plugin" / "__init__.py").write_text(
        textwrap.dedent(HOOK_PLUGIN.format(log=str(log))))
    monkeypatch.syspath_prepend(str(plugin_dir))
    host = PluginHost(LoadOptions(autoload=False))
    host.add_pipeline_plugins(["hook_recorder_plugin"])
    context = PipelineContext(
        settings=Settings(TEMP_DIR=tmp_path / "tmp"), host=host,
        config={"parameters": {"scale": {"factor": 2}},
                "parallel": {"driver_runs_items": False, "start_method": start_method}})
    with activate(context):
        (outputs,) = run_top(ParallelBackend, context, 6, scale_workflow())
    assert [item[0]["scaled"] for item in outputs["results"]] == [0, 2, 4, 6, 8, 10]
    lines = [line.split() for line in log.read_text().splitlines()]
    in_workers = [name for pid, name in lines if int(pid) != DRIVER]
    in_driver = [name for pid, name in lines if int(pid) == DRIVER]
    assert in_workers == ["scale"] * 6
    assert in_driver == ["values", "scaled", "top"]


def test_the_plugin_registers_the_parallel_backend():
    import outflow.multiprocessing.plugin as multiprocessing_plugin

    host = PluginHost(LoadOptions(autoload=False))
    host.pm.register(multiprocessing_plugin, name="multiprocessing")
    for name in ("parallel", "multiprocessing"):
        assert host.resolve("backends", name).load() is ParallelBackend
    assert ParallelBackend.capabilities.parallel and ParallelBackend.capabilities.other_processes

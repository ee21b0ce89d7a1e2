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

from outflow.core.backends import Backend, BackendError, Item, WorkerDied, current_backend
from outflow.core.pipeline.context import PipelineContext, activate
from outflow.core.pipeline.settings import Settings
from outflow.core.plugins.host import LoadOptions, PluginHost
from outflow.core.tasks import TaskError, as_task
from outflow.core.test.backend_contract import is_running
from outflow.core.types import Parameter
from outflow.core.workflow import Workflow
from outflow.library import progress
from outflow.library.tasks import MapItemError, MapWorkflow
from outflow.multiprocessing import backend as parallel
from outflow.multiprocessing import pool as pool_module
from outflow.multiprocessing.backend import ParallelBackend
from outflow.multiprocessing.pool import Worker

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


@as_task
def Exits(value: int) -> {"value": int}:
    if value == 7 and os.getpid() != DRIVER:
        os._exit(1)
    time.sleep(0.01)  # long enough for each result to be sent on its own
    return value


@as_task
def Nap(value: int, seconds: Parameter(float)) -> {"value": int, "pid": int}:
    time.sleep(seconds)
    return {"value": value, "pid": os.getpid()}


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


def test_every_item_runs_in_a_worker_even_a_single_one(pipeline, backend):
    pipeline.config["parameters"] = {"scale": {"factor": 1}}
    (one,) = run_top(backend, pipeline, 1, scale_workflow())
    assert one["results"][0][0]["pid"] != DRIVER


def test_one_pool_for_the_run_and_each_workflow_sent_once_per_worker(pipeline, backend,
                                                                     monkeypatch):
    pipeline.config["parameters"] = {"scale": {"factor": 2}}
    sent = []
    original = Worker.send
    monkeypatch.setattr(Worker, "send", lambda self, message: (
        sent.append((self.pid, message)) or original(self, message)))
    (first,) = run_top(backend, pipeline, 40, scale_workflow())
    pool = backend._pool
    pids = {worker.pid for worker in pool}
    chunks = [(pid, message) for pid, message in sent if message[0] == "chunk"]
    with_payload = [pid for pid, message in chunks if message[2] is not None]
    assert len(chunks) > 2 and sorted(with_payload) == sorted(set(with_payload))
    sent.clear()
    (second,) = run_top(backend, pipeline, 40, scale_workflow())  # another workflow
    assert backend._pool is pool and {worker.pid for worker in pool} == pids
    assert [item[0]["scaled"] for item in second["results"]] == list(range(0, 80, 2))
    with_payload = [pid for pid, message in sent if message[0] == "chunk" and message[2]]
    assert sorted(with_payload) == sorted(set(with_payload))
    backend.close()
    assert backend._pool is None and backend.closed
    assert not any(is_running(pid) for pid in pids)
    backend.close()  # idempotent


def test_the_pool_starts_before_the_first_task_when_the_command_maps(pipeline, backend):
    seen = {}

    @as_task
    def First() -> {"value_array": list}:
        seen["pool"] = backend._pool is not None and backend._pool.started
        return [1, 2]

    with Workflow(name="top") as top:
        First() | MapWorkflow(Square())
    backend.run(top)
    assert seen["pool"] is True


def test_pool_size_and_workers_per_map(monkeypatch, pipeline):
    monkeypatch.setattr(parallel, "available_cpus", lambda: 8)
    backend = ParallelBackend(pipeline)
    assert backend.pool_size == 8
    assert backend.workers_for({}) == 8
    assert backend.workers_for({"cpus_per_task": 3, "mem": "2G"}) == 2
    assert backend.workers_for({"cpus_per_task": 16}) == 1
    pipeline.config["parallel"]["max_workers"] = 3
    assert backend.workers_for(None) == 3


def test_the_start_method_is_fork_only_while_the_driver_has_one_thread(monkeypatch):
    if not os.path.isdir("/proc/self/task"):
        pytest.skip("counting native threads needs Linux's /proc")
    monkeypatch.setattr(pool_module.sys, "platform", "linux")
    assert pool_module.start_method() == "fork"
    assert pool_module.start_method("spawn") == "spawn"
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert pool_module.start_method() == "forkserver"
    finally:
        stop.set()
        thread.join()
    monkeypatch.setattr(pool_module.sys, "platform", "darwin")
    assert pool_module.start_method() == "spawn"


def test_a_pool_started_while_a_thread_runs_uses_forkserver(pipeline, backend):
    pipeline.config["parameters"] = {"scale": {"factor": 5}}
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        (outputs,) = run_top(backend, pipeline, 6, scale_workflow())
    finally:
        stop.set()
        thread.join()
    assert backend._pool.method == "forkserver"
    assert [item[0]["scaled"] for item in outputs["results"]] == [0, 5, 10, 15, 20, 25]


def test_an_item_error_names_index_task_error_and_keeps_finished_outputs(pipeline, backend):
    @MapWorkflow.as_workflow(cache=True)
    def squares():
        Square()

    with pytest.raises(MapItemError) as caught:
        run_top(backend, pipeline, 20, squares)
    error = caught.value
    assert "item 13 of workflow squares failed in task square: ValueError: unlucky 13 (" in str(
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
    assert "item 5 of " in str(error)
    assert "killed by SIGKILL" in str(error)
    assert isinstance(error.__cause__, WorkerDied)
    assert all(error.completed[i] == [{"value": i}] for i in error.completed)
    # The dead worker is replaced at the next map.
    pipeline.config["parameters"] = {"scale": {"factor": 1}}
    with deadline(60):
        (outputs,) = run_top(backend, pipeline, 4, scale_workflow())
    assert [item[0]["scaled"] for item in outputs["results"]] == [0, 1, 2, 3]


def test_an_item_calling_os_exit_names_the_item_and_keeps_what_finished(pipeline, backend):
    @MapWorkflow.as_workflow(cache=True)
    def exits():
        Exits()

    with deadline(60), pytest.raises(MapItemError) as caught:
        run_top(backend, pipeline, 10, exits)
    error = caught.value
    assert error.index == 7 and "exited with code 1" in str(error)
    assert isinstance(error.__cause__, WorkerDied)
    # Results are sent after each item of 10 ms: what finished before came back.
    assert set(range(7)) <= set(error.completed)
    assert all(error.completed[i] == [{"value": i}] for i in error.completed)


@pytest.mark.parametrize("kill", [True, False])
def test_a_map_that_keeps_going_loses_nothing_when_a_worker_dies(pipeline, backend, kill):
    """The worker holding item 5 dies (killed, or stopped past its timeout) while the
    results of the trivial items before it in its chunk are not sent yet: they are run
    again, a new worker takes its place, every other item comes back."""

    @as_task
    def Fragile(value: int) -> {"value": int}:
        if value == 5 and os.getpid() != DRIVER:
            if kill:
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(60)
        return value

    with deadline(60), pytest.raises(MapItemError) as caught:
        run_top(backend, pipeline, 40, lambda: MapWorkflow(
            Fragile(), keep_going=True, **({} if kill else {"timeout": 1})))
    error = caught.value
    assert "1 of 40 items of " in str(error) and "item 5: " in str(error)
    assert ("killed by SIGKILL" if kill else "TimeoutError: it ran longer than its timeout "
            "of 1 s") in str(error)
    assert error.completed == {i: [{"value": i}] for i in range(40) if i != 5}


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
    results = backend.map(inner, [Item({"value": i}, i) for i in range(5)])
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
    pipeline.config["parameters"] = {"nap": {"seconds": 0.01}}

    @MapWorkflow.as_workflow(output_name="naps")
    def naps():
        Nap()

    run_top(backend, pipeline, 16, naps)
    assert sum(done for _, done, _ in seen) == 16
    assert {pid for pid, _, _ in seen} == {DRIVER} and len(seen) >= 8  # as items end


def test_ctrl_c_in_the_driver_stops_the_workers_and_pending_items(pipeline, backend,
                                                                 tmp_path):
    pipeline.config["parameters"] = {"nap": {"seconds": 0.2}}

    @MapWorkflow.as_workflow(output_name="naps")
    def naps():
        Nap()

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_top(backend, pipeline, 40, naps)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 5  # 40 x 0.2 s on 2 workers would take 4 s
    assert backend._pool is not None and not list(backend._pool)  # all killed
    pipeline.config["parameters"] = {"scale": {"factor": 1}}
    (outputs,) = run_top(backend, pipeline, 3, scale_workflow())  # a new pool
    assert [item[0]["scaled"] for item in outputs["results"]] == [0, 1, 2]


def test_items_needing_several_cpus_use_fewer_workers_at_a_time(pipeline, backend,
                                                              monkeypatch):
    monkeypatch.setattr(parallel, "available_cpus", lambda: 4)
    pipeline.config["parameters"] = {"nap": {"seconds": 0.05}}
    busy = []
    original = Worker.send
    monkeypatch.setattr(Worker, "send", lambda self, message: (
        busy.append(self.pid) or original(self, message)))

    @MapWorkflow.as_workflow(output_name="naps", cpus_per_task=2)
    def two_cpus_each():
        Nap()

    (outputs,) = run_top(backend, pipeline, 6, two_cpus_each)
    assert [item[0]["value"] for item in outputs["naps"]] == list(range(6))
    assert len(set(busy)) == 2 and backend._pool.size == 4


def test_a_workflow_that_cannot_be_pickled_is_a_clear_error(pipeline, backend):
    lock = threading.Lock()  # cloudpickle cannot send a lock

    @as_task
    def Locked(value: int) -> {"value": int}:
        with lock:
            return value

    with Workflow(name="top") as top:
        Values(count=3) | MapWorkflow(Locked(), output_name="locked")
    with pytest.raises(TaskError, match="cannot be sent to worker processes") as caught:
        backend.run(top)
    assert isinstance(caught.value.__cause__, BackendError)


def test_a_result_that_cannot_be_sent_back_fails_its_item(pipeline, backend):
    @as_task
    def Unsendable(value: int) -> {"value": object}:
        return threading.Lock() if value == 2 else value

    with Workflow(name="top") as top:
        Values(count=4) | MapWorkflow(Unsendable(), output_name="out")
    with pytest.raises(MapItemError, match="item 2 of .* failed.*cannot be sent back"):
        backend.run(top)


HOOK_PLUGIN = '''
import os

from outflow.core.plugins import hookimpl

LOG = {log!r}


def _write(text):
    with open(LOG, "a") as handle:
        handle.write(f"{{os.getpid()}} {{text}}\\n")


@hookimpl
def outflow_block_succeeded(block, outputs):
    _write(block.name)


@hookimpl
def outflow_worker_started(context, run):
    _write("worker-started")


@hookimpl
def outflow_worker_finished(run):
    _write("worker-finished")
'''


@pytest.mark.parametrize("start_method", ["fork", "forkserver"])
def test_block_and_worker_hooks_fire_in_the_workers(tmp_path, monkeypatch, start_method):
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
                "parallel": {"start_method": start_method}})
    with activate(context):
        (outputs,) = run_top(ParallelBackend, context, 6, scale_workflow())
    assert [item[0]["scaled"] for item in outputs["results"]] == [0, 2, 4, 6, 8, 10]
    lines = [line.split() for line in log.read_text().splitlines()]
    in_workers = [name for pid, name in lines if int(pid) != DRIVER]
    in_driver = [name for pid, name in lines if int(pid) == DRIVER]
    assert in_workers.count("scale") == 6
    workers = {pid for pid, name in lines if name == "worker-started"}
    assert workers and workers == {pid for pid, name in lines if name == "worker-finished"}
    assert in_driver == ["values", "scaled", "top"]


def test_the_plugin_registers_the_parallel_backend():
    import outflow.multiprocessing.plugin as multiprocessing_plugin

    host = PluginHost(LoadOptions(autoload=False))
    host.pm.register(multiprocessing_plugin, name="multiprocessing")
    for name in ("parallel", "multiprocessing"):
        assert host.resolve("backends", name).load() is ParallelBackend
    assert ParallelBackend.capabilities.parallel and ParallelBackend.capabilities.other_processes


def _double(value: int) -> int:
    return 2 * value


def test_an_item_may_start_processes_of_its_own(pipeline, backend):
    """Workers are not daemons: a task may use multiprocessing itself."""
    from concurrent.futures import ProcessPoolExecutor

    @as_task
    def Fans(value: int) -> {"doubled": int}:
        with ProcessPoolExecutor(1) as executor:
            return executor.submit(_double, value).result()

    with Workflow(name="top") as top:
        Values(count=3) | MapWorkflow(Fans(), output_name="doubled")
    with deadline(60):
        (outputs,) = backend.run(top)
    assert [item[0]["doubled"] for item in outputs["doubled"]] == [0, 2, 4]

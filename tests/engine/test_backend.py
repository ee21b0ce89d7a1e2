"""The backend interface, the sequential backend and the run lifecycle hooks."""

# ruff: noqa: F821 - outflow's documented output annotations, `-> {"name": type}`,
# are dict literals whose string keys pyflakes mistakes for forward references.

import pickle

import cloudpickle
import pytest

from outflow.core.backends import Backend, Capabilities, context_snapshot, current_backend
from outflow.core.pipeline.context import PipelineContext, activate
from outflow.core.plugins import hookimpl
from outflow.core.plugins.host import LoadOptions, PluginHost
from outflow.core.runs import RunInfo
from outflow.core.tasks import TaskError, TaskTypeError, as_task
from outflow.core.types import Parameter, Skipped
from outflow.core.workflow import Workflow, as_workflow
from outflow.sequential.backend import SequentialBackend


class Recorder:
    """A plugin recording every lifecycle hook call."""

    def __init__(self):
        self.events = []

    @hookimpl
    def outflow_run_started(self, run):
        self.events.append(("run_started", run.command if run else None))

    @hookimpl
    def outflow_run_finished(self, run, state, error):
        self.events.append(("run_finished", state, type(error).__name__ if error else None))

    @hookimpl
    def outflow_block_started(self, run, block, inputs):
        self.events.append(("started", block.name, dict(inputs)))

    @hookimpl
    def outflow_block_succeeded(self, block, outputs):  # fewer arguments than the spec
        self.events.append(("succeeded", block.name, dict(outputs)))

    @hookimpl
    def outflow_block_failed(self, run, block, error):
        self.events.append(("failed", block.name, str(error)))

    @hookimpl
    def outflow_block_skipped(self, run, block):
        self.events.append(("skipped", block.name))


@pytest.fixture
def recorded(tmp_path):
    host = PluginHost(LoadOptions(autoload=False))
    recorder = Recorder()
    host.pm.register(recorder, name="recorder")
    context = PipelineContext(config={"parameters": {"scale": {"factor": 3}}}, host=host)
    with activate(context):
        yield context, recorder


@as_task
def GenData() -> {"raw_data": int}:
    return 2


@as_task
def Scale(raw_data: int, factor: Parameter(int)) -> {"scaled": int}:
    return raw_data * factor


@as_task
def Divide(scaled: int) -> {"ratio": float}:
    return scaled / 0


def test_lifecycle_hooks_for_tasks_and_workflows(recorded):
    context, recorder = recorded

    @as_workflow
    def inner():
        Scale()

    with Workflow(name="compute_data") as top:
        GenData() | inner()
    run = RunInfo(command="compute_data")
    assert SequentialBackend(context).run(top, run) == [{"scaled": 6}]
    assert recorder.events == [  # the run-level hooks are the kernel's, not the backend's
        ("started", "compute_data", {}),
        ("started", "gen_data", {}),
        ("succeeded", "gen_data", {"raw_data": 2}),
        ("started", "inner", {"raw_data": 2}),
        ("started", "scale", {"raw_data": 2, "factor": 3}),
        ("succeeded", "scale", {"scaled": 6}),
        ("succeeded", "inner", {"scaled": 6}),
        ("succeeded", "compute_data", {}),
    ]
    assert context.run is run and context.backend.name == "default"


def test_a_failing_task_names_itself_and_fails_the_run(recorded):
    context, recorder = recorded

    @as_workflow
    def inner():
        Divide()

    with Workflow(name="top") as top:
        GenData() | Scale() | inner()
    run = RunInfo(command="top")
    with pytest.raises(TaskError) as caught:
        SequentialBackend(context).run(top, run)
    assert str(caught.value) == "task divide failed: ZeroDivisionError: division by zero"
    assert isinstance(caught.value.__cause__, ZeroDivisionError)
    failed = [event for event in recorder.events if event[0] == "failed"]
    assert [name for _, name, _ in failed] == ["divide", "inner", "top"]
    assert not any(event[0] == "succeeded" and event[1] == "top" for event in recorder.events)


def test_type_errors_are_not_wrapped(recorded):
    context, _ = recorded

    @as_task
    def Wrong() -> {"raw_data": int}:
        return "x"

    with Workflow(name="top") as top:
        Wrong()
    with pytest.raises(TaskTypeError, match="task wrong: output 'raw_data' must be int"):
        Backend(context).run(top)


def test_skipped_hook(recorded):
    context, recorder = recorded

    @as_task
    def Nothing() -> {"raw_data": int}:
        return Skipped()

    with Workflow(name="top") as top:
        Nothing() | Scale()
    assert Backend(context).run(top) == [{"scaled": Skipped()}]
    assert ("skipped", "scale") in recorder.events


def test_hooks_are_called_with_run_none(recorded):
    context, recorder = recorded
    with Workflow(name="top") as top:
        GenData()
    Backend(context).run(top)
    assert context.run is None and recorder.events[0] == ("started", "top", {})


def test_empty_top_level_workflow_result(pipeline):
    with Workflow(name="data_reduction") as top:
        pass  # a command that only logs
    assert SequentialBackend(pipeline).run(top) == [{"None": None}]


def test_current_backend_inside_a_running_task(pipeline):
    seen = []

    @as_task
    def Probe():
        seen.append(current_backend())

    backend = SequentialBackend(pipeline)
    with Workflow(name="top") as top:
        Probe()
    backend.run(top)
    assert seen == [backend]


def test_current_backend_outside_a_run_is_sequential():
    context = PipelineContext()
    with activate(context):
        backend = current_backend()
        assert type(backend) is Backend and current_backend() is backend


class ToyMapWorkflow(Workflow):
    """The shape of the library's MapWorkflow, to exercise ``Backend.map``."""

    def __init__(self, *blocks, map_on="values", output_name="results", **kwargs):
        super().__init__(*blocks, output_name=None, **kwargs)
        self.map_on = map_on
        self.result_name = output_name

    def finalize_targets(self, plan):
        (name, target), = self.inputs.items()
        self.inner_input = name
        self.inputs = {self.map_on: target.copy(name=self.map_on, type=list)}
        self.outputs = {self.result_name: target.copy(name=self.result_name, type=list)}

    def _run(self, **inputs):
        items = [{self.inner_input: value} for value in inputs[self.map_on]]
        return {self.result_name: current_backend().map(self, items, resources={"mem": "1G"})}


def test_map_through_the_backend_keeps_input_order(pipeline):
    @as_task
    def Values() -> {"values": list}:
        return [3, 1, 2]

    @as_task
    def Square(value: int) -> {"square": int}:
        return value * value

    @ToyMapWorkflow.as_workflow
    def squares():
        Square()

    with Workflow(name="top") as top:
        Values() | squares()
    assert Backend(pipeline).run(top) == [{"results": [{"square": 9}, {"square": 1},
                                                       {"square": 4}]}]


def test_validated_workflow_and_context_ship_to_a_worker(pipeline):
    """What a multiprocessing backend does: pickle once, restore, run items."""
    pipeline.config["parameters"] = {"scale": {"factor": 5}}

    @as_workflow
    def inner():
        Scale()

    workflow = inner()
    workflow.validate(root=False)
    payload = cloudpickle.dumps((context_snapshot(pipeline), workflow))
    snapshot, restored = pickle.loads(payload)
    with activate(snapshot.restore()) as worker_context:
        assert worker_context.config["parameters"]["scale"]["factor"] == 5
        assert restored.run_item({"raw_data": 2}) == {"scaled": 10}


def test_module_level_tasks_pickle_with_plain_pickle():
    task = Scale()
    assert task(1, factor=2) == {"scaled": 2}  # builds the runtime caches
    restored = pickle.loads(pickle.dumps(task))
    assert type(restored) is Scale and restored(2, factor=2) == {"scaled": 4}


def test_the_sequential_plugin_registers_the_default_backend():
    import outflow.sequential.plugin as sequential_plugin

    host = PluginHost(LoadOptions(autoload=False))
    host.pm.register(sequential_plugin, name="sequential")
    for name in ("default", "sequential"):  # the name and its alias
        assert host.resolve("backends", name).load() is SequentialBackend
    context = PipelineContext(host=host)
    backend = SequentialBackend(context)
    assert backend.name == "default" and backend.pipeline_context is context
    assert backend.capabilities == Capabilities()
    with backend:
        pass
    assert backend.closed


def test_a_validated_inner_workflow_ships_without_the_rest_of_the_graph(pipeline):
    import threading

    @as_task
    def Holder(lock) -> {"raw_data": int}:
        return 2

    @as_workflow
    def inner():
        Scale(factor=4)

    with Workflow(name="top") as top:
        Holder(lock=threading.Lock()) | inner()  # a sibling holding something unpicklable
    top.validate()
    (workflow,) = [child for child in top.children if child.name == "inner"]
    shipped = pickle.loads(cloudpickle.dumps(workflow))
    assert shipped.parent is None and shipped.shipped and not shipped.needs_validation()
    assert shipped.run_item({"raw_data": 3}) == {"scaled": 12}
    with pytest.raises(Exception, match="cannot be validated or rewired here"):
        shipped.validate()
    with pytest.raises(TypeError):
        cloudpickle.dumps(top)  # the whole graph does hold the lock

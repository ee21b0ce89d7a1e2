"""MapWorkflow on the default backend: the spec's examples, naming, cache, failures."""

# ruff: noqa: F821 - outflow's documented output annotations, `-> {"name": type}`,
# are dict literals whose string keys pyflakes mistakes for forward references.

import logging
from argparse import Namespace

import pytest

from outflow.core.backends import Backend
from outflow.core.pipeline import context
from outflow.core.tasks import GraphError, TaskInputError, as_task
from outflow.core.test import TaskTestCase
from outflow.core.types import Parameter
from outflow.core.workflow import Workflow
from outflow.library import tasks, workflows
from outflow.library.workflows import MapItemError, MapWorkflow, SlurmMapWorkflow

CALLS: list[int] = []


@as_task
def GenData() -> {"raw_data_array": list}:
    raw_data_array = [42, 43, 44, 45]
    return {"raw_data_array": raw_data_array}


@as_task
def Transform(raw_data: int) -> {"transformed_data": int}:
    return {"transformed_data": raw_data}


@as_task
def Compute(transformed_data: int, multiplier: Parameter(int)) -> {"computation_result": int}:
    return transformed_data * multiplier


@as_task
def PrintData(map_computation_result: list):
    logging.getLogger("tuto").info(f"Result of the mapped computation: {map_computation_result}")


@as_task
def Counted(value: int) -> {"double": int}:
    CALLS.append(value)
    if value < 0:
        raise ValueError(f"negative value {value}")
    return 2 * value


@as_task
def ComputeMore(some_data: int) -> {"computation_result": int}:
    return some_data * context.args.multiplier


@pytest.fixture
def multiplier(pipeline):
    pipeline.config["parameters"] = {"compute": {"multiplier": 3}}
    return 3


@pytest.fixture(autouse=True)
def _reset_calls():
    CALLS.clear()


def test_tutorial_part_4_map_workflow(pipeline, multiplier, caplog):
    @MapWorkflow.as_workflow(cache=False)
    def process_data():
        Transform() | Compute()

    with Workflow(name="compute_data") as top:
        GenData() | process_data() | PrintData()
    with caplog.at_level(logging.INFO, logger="tuto"):
        Backend(pipeline).run(top)
    assert ("Result of the mapped computation: [[{'computation_result': 126}], "
            "[{'computation_result': 129}], [{'computation_result': 132}], "
            "[{'computation_result': 135}]]") in caplog.text


def test_map_result_is_named_after_the_single_inner_output(pipeline, multiplier):
    @MapWorkflow.as_workflow
    def process_data():
        Transform() | Compute()

    with Workflow(name="top") as top:
        GenData() | process_data()
    (outputs,) = Backend(pipeline).run(top)
    assert list(outputs) == ["map_computation_result"]
    (map_workflow,) = [b for b in top.children if isinstance(b, MapWorkflow)]
    assert map_workflow.mapping == {"raw_data_array": "raw_data"}


class TestComputeMoreTasks(TaskTestCase):
    """Part 7 of the tutorial: ``MapWorkflow(ComputeMore(), output_name=...)`` directly."""

    @pytest.fixture(autouse=True)
    def setup_context(self, with_pipeline_context_manager):
        context.force_dry_run = False
        context.db_untracked = False

    def test_compute_more(self):
        data_array = [4, 8, 15, 16, 23]
        mult = 7
        context.args = Namespace(multiplier=mult, dry_run=False, db_untracked=False)

        mapped_computation = MapWorkflow(ComputeMore(), output_name="map_computation_result")
        self.task = mapped_computation
        result = self.run_task(some_data_array=data_array)

        assert isinstance(result, dict)
        assert "map_computation_result" in result
        assert len(result["map_computation_result"]) == len(data_array)
        for data in data_array:
            assert [{"computation_result": data * mult}] in result["map_computation_result"]
        # and in input order
        assert result["map_computation_result"] == [
            [{"computation_result": data * mult}] for data in data_array]


def test_context_manager_with_map_on_and_resources(pipeline, multiplier):
    @as_task
    def Pairs() -> {"lefts": list, "rights": list, "offset": int}:
        return {"lefts": [1, 2, 3], "rights": [10, 20, 30], "offset": 100}

    @as_task
    def Add(left: int, right: int, offset: int) -> {"total": int}:
        return left + right + offset

    with Workflow(name="top") as top:
        source = Pairs()
        with MapWorkflow(map_on={"lefts": "left", "rights": "right"}, output_name="totals",
                         cpus_per_task=2, mem="10GB", partition="short",
                         simultaneous_tasks=4) as mapped:
            Add()
        source | mapped
    (outputs,) = Backend(pipeline).run(top)
    assert outputs == {"totals": [[{"total": 111}], [{"total": 122}], [{"total": 133}]]}
    assert mapped.resources == {"cpus_per_task": 2, "mem": "10GB", "partition": "short",
                                "simultaneous_tasks": 4}
    assert set(mapped.inputs) == {"lefts", "rights", "offset"}  # offset: every item


def test_slurm_map_workflow_runs_on_any_backend(pipeline, multiplier):
    my_map_config = {"partition": "batch", "cpus_per_task": 2, "simultaneous_tasks": 10}

    @SlurmMapWorkflow.as_workflow(**my_map_config)
    def process():
        Transform() | Compute()

    with Workflow(name="top") as top:
        GenData() | process()
    (outputs,) = Backend(pipeline).run(top)
    assert outputs["map_computation_result"][0] == [{"computation_result": 126}]


def test_sequence_length_mismatch_and_not_a_sequence(pipeline):
    @as_task
    def Add(left: int, right: int) -> {"total": int}:
        return left + right

    mapped = MapWorkflow(Add(), map_on={"lefts": "left", "rights": "right"})
    with pytest.raises(TaskInputError, match="differ in length.*lefts: 2, rights: 1"):
        mapped(lefts=[1, 2], rights=[3])
    with pytest.raises(TaskInputError, match="input 'lefts' must be a sequence"):
        mapped(lefts=3, rights=[3])


def test_ambiguous_or_wrong_map_on_is_a_graph_error(pipeline):
    @as_task
    def Add(left: int, right: int) -> {"total": int}:
        return left + right

    with pytest.raises(GraphError, match="cannot tell which input to map on"):
        MapWorkflow(Add()).validate(root=False)
    with pytest.raises(GraphError, match="map_on maps 'xs' to 'x'"):
        MapWorkflow(Add(), map_on={"xs": "x"}).validate(root=False)


def test_empty_sequence(pipeline):
    assert MapWorkflow(Counted())(value_array=[]) == {"map_double": []}


def test_cache_per_item_keeps_input_order_with_partial_hits(pipeline):
    @MapWorkflow.as_workflow(cache=True)
    def doubles():
        Counted()

    first = doubles()
    assert first(value_array=[3, 1, 2]) == {"map_double": [[{"double": 6}], [{"double": 2}],
                                                           [{"double": 4}]]}
    assert CALLS == [3, 1, 2]
    CALLS.clear()
    second = doubles()  # another instance of the same workflow: same cache entries
    result = second(value_array=[5, 1, 4, 3, 2])
    assert result == {"map_double": [[{"double": 10}], [{"double": 2}], [{"double": 8}],
                                     [{"double": 6}], [{"double": 4}]]}
    assert CALLS == [5, 4]  # only the items not cached ran, in order
    CALLS.clear()
    pipeline.overwrite_cache = True
    doubles()(value_array=[1])
    assert CALLS == [1]


def test_failing_item_names_index_task_and_error_and_keeps_finished_outputs(pipeline):
    @MapWorkflow.as_workflow(cache=True)
    def doubles():
        Counted()

    with pytest.raises(MapItemError) as caught:
        doubles()(value_array=[1, 2, -3, 4])
    error = caught.value
    assert str(error).startswith(
        "item 2 of workflow doubles failed in task counted: ValueError: negative value -3 "
        "(tests/library/test_map_workflow.py:")
    assert error.origin.startswith("tests/library/test_map_workflow.py:")
    assert error.index == 2 and error.block_name == "counted"
    assert error.completed == {0: [{"double": 2}], 1: [{"double": 4}]}
    assert isinstance(error.error.__cause__, ValueError)
    # The finished items were cached: fixing the input reruns only what is missing.
    CALLS.clear()
    assert doubles()(value_array=[1, 2, 3, 4])["map_double"][2] == [{"double": 6}]
    assert CALLS == [3, 4]


def test_failing_map_inside_a_command_fails_the_run_with_the_message(pipeline):
    @as_task
    def Values() -> {"value_array": list}:
        return [0, -1]

    with Workflow(name="top") as top:
        Values() | MapWorkflow(Counted())
    with pytest.raises(MapItemError,
                       match="item 1 of workflow map_workflow failed in task counted"):
        Backend(pipeline).run(top)


def test_every_block_is_importable_from_both_modules():
    names = ["MapWorkflow", "SlurmMapWorkflow", "IfThenElse", "IfElse", "MergeTask",
             "LoopWorkflow", "IterativeWorkflow", "IPythonTask", "InteractiveTask",
             "Skipped", "exit_pipeline"]
    from outflow.library import workflow

    for name in names:
        assert getattr(tasks, name) is getattr(workflows, name) is getattr(workflow, name)
    assert tasks.IfElse is tasks.IfThenElse and tasks.IPythonTask is tasks.InteractiveTask


def test_the_plugin_registers_every_block_lazily():
    import outflow.library.plugin as library_plugin
    from outflow.core.plugins.host import LoadOptions, PluginHost

    host = PluginHost(LoadOptions(autoload=False))
    host.pm.register(library_plugin, name="library")
    assert host.resolve("blocks", "MapWorkflow").load() is MapWorkflow
    assert host.resolve("blocks", "IfThenElse").load() is tasks.IfThenElse
    assert host.resolve("blocks", "InteractiveTask").load() is tasks.InteractiveTask
    assert len(host.collect().names("blocks")) == 9


FAILING: set[int] = set()
SLEEPY_CALLS: list[int] = []


@as_task
def Sleepy(value: int) -> {"result": int}:
    import time

    SLEEPY_CALLS.append(value)
    time.sleep(0.002 * (20 - value))  # later items end first in a thread pool
    if value in FAILING:
        raise ValueError(f"boom on {value}")
    return value * 10


@as_task
def Twenty() -> {"value_array": list}:
    return list(range(20))


class NaiveThreads(Backend):
    """A backend written from the documentation alone: ``executor.map`` over run_item."""

    name = "threads"

    def map(self, workflow, items, *, resources=None):
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(4) as executor:
            return list(executor.map(workflow.run_item, items))


def test_a_naive_thread_pool_backend_names_the_item_and_keeps_only_right_outputs(pipeline):
    """What a concurrent backend got wrong when the map assumed items ran in order: the
    failing item, the kept outputs and the cache entries now travel with the items."""
    from outflow.core.backends import current_item_index

    seen = {}

    @as_task
    def Where(value: int) -> {"value": int}:
        seen[value] = current_item_index()
        return value

    @MapWorkflow.as_workflow(cache=True, output_name="results")
    def sleepy():
        Where() | Sleepy()

    FAILING.update({5, 11})
    SLEEPY_CALLS.clear()
    try:
        with Workflow(name="top") as top:
            Twenty() | sleepy()
        with pytest.raises(MapItemError) as caught:
            NaiveThreads(pipeline).run(top)
    finally:
        FAILING.clear()
    error = caught.value
    assert error.index == 5 and error.block_name == "sleepy"
    assert "failed in task sleepy: ValueError: boom on 5" in str(error)
    assert error.completed and all(error.completed[i] == [{"result": i * 10}]
                                   for i in error.completed)
    assert seen == {value: value for value in seen}  # each item knew its index
    finished = set(SLEEPY_CALLS) - {5, 11}
    # A clean run reads every finished item from the cache, and they are all right.
    SLEEPY_CALLS.clear()
    with Workflow(name="top") as top:
        Twenty() | sleepy()
    (outputs,) = NaiveThreads(pipeline).run(top)
    assert outputs["results"] == [[{"result": value * 10}] for value in range(20)]
    assert set(SLEEPY_CALLS) == set(range(20)) - finished

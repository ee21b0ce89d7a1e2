"""Workflows as the tutorial (part 3) and the user guide write them."""

# ruff: noqa: F821 - outflow's documented output annotations, `-> {"name": type}`,
# are dict literals whose string keys pyflakes mistakes for forward references.

import logging
import random

import pytest

from outflow.core.backends import Backend
from outflow.core.tasks import GraphError, Task, TaskInputError, as_task
from outflow.core.types import Parameter, Skipped
from outflow.core.workflow import Workflow, as_workflow

logger = logging.getLogger(__name__)
log: list[str] = []


@pytest.fixture(autouse=True)
def _clear():
    log.clear()


@as_task
def GenData():
    raw_data = 42
    return {"raw_data": raw_data}


@as_task
def Transform(raw_data):
    log.append("transform")
    result = raw_data * 2
    return {"transformed_data": result}


@as_task
def Compute(transformed_data: int, multiplier: Parameter(int)) -> {"computation_result": int}:
    log.append("compute")
    return transformed_data * multiplier


@as_task
def PrintData(computation_result):
    log.append(f"print {computation_result}")


@as_workflow
def process_data():
    Transform() | Compute()


def _tutorial_config(pipeline, multiplier=3):
    pipeline.config["parameters"] = {"compute": {"multiplier": multiplier}}


def test_tutorial_part_3_workflow(pipeline):
    _tutorial_config(pipeline)
    with Workflow(name="compute_data") as top:
        GenData() | process_data() | PrintData()
    assert Backend(pipeline).run(top) == [{}]
    assert log == ["transform", "compute", "print 252"]


def test_workflow_targets_come_from_first_and_last_blocks(pipeline):
    _tutorial_config(pipeline)
    with Workflow(name="compute_data") as top:
        process = process_data()
    top.validate(root=False)
    assert list(process.inputs) == ["raw_data"]
    assert list(process.outputs) == ["computation_result"]
    assert process.outputs["computation_result"].type is int
    assert [type(child).__name__ for child in process.children] == ["Transform", "Compute"]


def test_a_workflow_called_directly(pipeline):
    _tutorial_config(pipeline, multiplier=2)
    workflow = process_data()
    assert workflow(raw_data=5) == {"computation_result": 20}
    assert workflow(5) == {"computation_result": 20}
    assert workflow({"raw_data": 1}) == {"computation_result": 4}
    with pytest.raises(TaskInputError, match="workflow process_data: input 'raw_data' is missing"):
        workflow()


def test_as_workflow_with_parentheses_and_options():
    @as_workflow(cache=True, output_name="result")
    def options():
        GenData()

    workflow = options()
    assert (workflow.cache, workflow.output_name, workflow.name) == (True, "result", "options")


def test_explicit_workflow_start_stop(pipeline):
    _tutorial_config(pipeline)
    with Workflow(name="my_command") as top:
        gen = GenData()
        process = Workflow(name="process")
        process.start()  # everything declared until stop() belongs to "process"
        Transform() | Compute()
        process.stop()
        gen | process | PrintData()
    assert [child.name for child in top.children] == ["gen_data", "process", "print_data"]
    assert len(process.children) == 2
    Backend(pipeline).run(top)
    assert log == ["transform", "compute", "print 252"]


def test_stop_must_match_start():
    outer, inner = Workflow(name="outer"), Workflow(name="inner")
    outer.start()
    inner.start()
    with pytest.raises(RuntimeError, match="reverse order"):
        outer.stop()
    inner.stop()
    outer.stop()


@as_task
def BigComputation() -> {"big_result": int}:
    log.append("big")
    return 1000


@as_task
def Extract() -> {"extracted": int}:
    log.append("extract")
    return 1


@as_task
def TransformWithBig(extracted: int, big_result: int) -> {"transformed": int}:
    log.append("transform")
    return extracted + big_result


@as_task
def Load(transformed: int) -> {"loaded": int}:
    log.append("load")
    return transformed


def test_external_block_with_the_decorator(pipeline):
    @as_workflow
    def process(big_computation):
        transform = TransformWithBig()

        big_computation | transform
        Extract() | transform | Load()

    with Workflow(name="my_command") as top:
        big_computation = BigComputation()
        process(big_computation)
    assert Backend(pipeline).run(top) == [{"loaded": 1001}]
    assert log == ["big", "extract", "transform", "load"]


def test_external_block_with_the_explicit_syntax(pipeline):
    with Workflow(name="my_command") as top:
        big_computation = BigComputation()

        process = Workflow(name="process")
        process.start()
        transform = TransformWithBig()
        big_computation | transform
        Extract() | transform | Load()
        process.stop()
    assert Backend(pipeline).run(top) == [{"loaded": 1001}]
    assert process.external_upstream == [big_computation]


def test_workflow_blocks_adopted_from_the_constructor(pipeline):
    with Workflow(name="top") as top:
        gen = GenData()
        transform = Transform()
        inner = Workflow(transform, name="inner")
        gen | inner
    assert transform.parent is inner and transform not in top.children
    assert Backend(pipeline).run(top) == [{"transformed_data": 84}]


class RandomWorkflow(Workflow):
    def _run(self, **inputs):
        if random.choice([True, False]):
            logger.info("Heads, I run")
            return super()._run(**inputs)
        logger.info("Tails, I sleep")
        return {output: None for output in self.outputs}  # None for all output targets


@RandomWorkflow.as_workflow(cache=False, output_name="computation_result")
def compute_workflow():
    GenData() | Transform()


@pytest.mark.parametrize(("heads", "expected"), [(True, 84), (False, None)])
def test_random_workflow_subclass(pipeline, monkeypatch, heads, expected):
    monkeypatch.setattr(random, "choice", lambda options: heads)
    with Workflow(name="top") as top:
        workflow = compute_workflow()
    assert isinstance(workflow, RandomWorkflow)
    assert Backend(pipeline).run(top) == [{"computation_result": expected}]
    assert ("transform" in log) is heads


def test_subclass_options_reach_the_constructor():
    class MapLike(Workflow):
        def __init__(self, *blocks, map_on=None, cpus_per_task=1, **kwargs):
            super().__init__(*blocks, **kwargs)
            self.map_on = map_on
            self.cpus_per_task = cpus_per_task

    @MapLike.as_workflow(cache=False, map_on={"values": "value"}, output_name="results",
                         cpus_per_task=5)
    def mapped():
        Extract()

    workflow = mapped()
    assert isinstance(workflow, MapLike)
    assert (workflow.map_on, workflow.cpus_per_task, workflow.output_name, workflow.name) == (
        {"values": "value"}, 5, "results", "mapped")

    @Workflow.as_workflow(not_an_option=1)
    def typo():
        pass

    with pytest.raises(TypeError, match="not_an_option"):
        typo()


def test_output_name_needs_a_single_output(pipeline):
    @as_workflow(output_name="x")
    def two_outputs():
        GenData()
        Extract()

    with Workflow(name="top") as top:
        two_outputs()
    with pytest.raises(GraphError, match="output_name='x' renames the workflow's single output"):
        top.validate()


def test_ambiguous_workflow_outputs_are_refused(pipeline):
    @as_task
    def OtherExtract() -> {"extracted": int}:
        return 2

    @as_workflow
    def ambiguous():
        Extract()
        OtherExtract()

    with Workflow(name="top") as top:
        ambiguous() | Load()
    with pytest.raises(GraphError, match="workflow ambiguous: output 'extracted' is produced by "
                                         "both task extract and task other_extract"):
        top.validate()


def test_unprovided_workflow_input_names_the_inner_task(pipeline):
    _tutorial_config(pipeline)
    with Workflow(name="top") as top:
        Extract() | process_data()
    with pytest.raises(GraphError) as caught:
        top.validate()
    assert str(caught.value) == (
        "workflow process_data: input 'raw_data' (needed by task transform) is not provided by "
        "any upstream block (upstream: extract outputs extracted)"
    )


def test_explicit_workflow_input(pipeline):
    @as_task
    def Process(value: int, reduced_data: int = 0) -> {"processed": int}:
        return value + reduced_data

    @as_task
    def Source() -> {"value": int, "reduced_data": int}:
        return {"value": 1, "reduced_data": 10}

    @as_workflow
    def inner():
        Process()

    with Workflow(name="top") as top:
        workflow = inner()
        workflow.add_input("reduced_data", type=int)
        Source() | workflow
    assert Backend(pipeline).run(top) == [{"processed": 11}]
    assert workflow.inputs["reduced_data"].type is int


def test_nested_workflows(pipeline):
    _tutorial_config(pipeline, multiplier=1)

    @as_workflow
    def outer():
        process_data() | PrintData()

    with Workflow(name="top") as top:
        GenData() | outer()
    Backend(pipeline).run(top)
    assert log == ["transform", "compute", "print 84"]


def test_skipped_propagates_down_a_branch(pipeline):
    @as_task
    def Choose() -> {"left": int, "right": int}:
        return {"left": 1, "right": Skipped()}

    @as_task
    def Left(left: int) -> {"out": int}:
        log.append("left")
        return left

    @as_task
    def Right(right: int) -> {"out2": int}:
        log.append("right")
        return right

    @as_task
    def AfterRight(out2: int) -> {"final": int}:
        log.append("after_right")
        return out2

    @as_task
    def Unrelated() -> {"u": int}:
        return 5

    with Workflow(name="top") as top:
        choose = Choose()
        choose | Left()
        choose | Right() | AfterRight()
        Unrelated()
    assert Backend(pipeline).run(top) == [{"out": 1}, {"final": Skipped()}, {"u": 5}]
    assert log == ["left"]


def test_a_skipped_workflow_outputs_skipped(pipeline):
    @as_task
    def Nothing() -> {"raw_data": int}:
        return Skipped()

    _tutorial_config(pipeline)
    with Workflow(name="top") as top:
        Nothing() | process_data() | PrintData()
    assert Backend(pipeline).run(top) == [{}]
    assert log == []


def test_multiple_providers_for_merge_blocks(pipeline):
    class Merge(Task):
        allow_multiple_providers = True
        skip_if_upstream_skipped = False

        def run(self, out: int) -> {"out": int}:
            return out

    @as_task
    def Then() -> {"out": int}:
        return Skipped()

    @as_task
    def Else() -> {"out": int}:
        return 2

    with Workflow(name="top") as top:
        merge = Merge()
        Then() | merge
        Else() | merge
    assert Backend(pipeline).run(top) == [{"out": 2}]


def test_pass_through_blocks_mirror_their_inputs(pipeline):
    class Interactive(Task):
        outputs_mirror_inputs = True

        def run(self, **kwargs) -> None:
            return kwargs

    with Workflow(name="top") as top:
        GenData() | Interactive() | Transform()
    assert Backend(pipeline).run(top) == [{"transformed_data": 84}]

"""Graph building and validation: every mistake is refused before any task runs."""

# ruff: noqa: F821 - outflow's documented output annotations, `-> {"name": type}`,
# are dict literals whose string keys pyflakes mistakes for forward references.

from pathlib import Path

import pytest

from outflow.core.backends import Backend
from outflow.core.pipeline.config import Config
from outflow.core.pipeline.context import PipelineContext, activate
from outflow.core.tasks import GraphError, MissingParameterError, as_task
from outflow.core.types import Parameter
from outflow.core.workflow import Workflow

executed: list[str] = []


@pytest.fixture(autouse=True)
def _clear():
    executed.clear()


@as_task
def A() -> {"a": int}:
    executed.append("a")
    return 1


@as_task
def B(a: int) -> {"b": int}:
    executed.append("b")
    return a + 1


@as_task
def C(b: int) -> {"c": int}:
    executed.append("c")
    return b * 10


@as_task
def D(b: int) -> {"d": int}:
    executed.append("d")
    return b * 100


@as_task
def E(c: int, d: int) -> {"e": int}:
    executed.append("e")
    return c + d


def test_pipe_and_shift_return_the_right_hand_block():
    with Workflow(name="top"):
        a, b = A(), B()
        assert (a | b) is b
        c = C()
        assert (b >> c) is c
    assert b.upstream == [a] and a.downstream == [b] and c.upstream == [b]


def test_fan_out_and_fan_in(pipeline):
    #               ╭−> C −−╮
    #     A −−> B −−┤       ├−−> E
    #               ╰−> D −−╯
    with Workflow(name="my_command") as top:
        a = A()
        b = B()
        e = E()
        a | b | C() | e
        b | D() | e
    assert Backend(pipeline).run(top) == [{"e": 20 + 200}]
    assert executed == ["a", "b", "c", "d", "e"]


def test_topological_order_follows_edges_not_definition(pipeline):
    with Workflow(name="top") as top:
        e, d, c, b, a = E(), D(), C(), B(), A()
        a | b
        b | c | e
        b | d | e
    Backend(pipeline).run(top)
    assert executed == ["a", "b", "d", "c", "e"]  # ties: definition order (d before c)


def test_several_sinks_give_one_result_each_in_definition_order(pipeline):
    with Workflow(name="top") as top:
        a = A()
        b = B()
        a | b
        b | D()
        b | C()
    assert Backend(pipeline).run(top) == [{"d": 200}, {"c": 20}]


def test_unconnected_input(pipeline):
    @as_task
    def Compute(raw_data) -> {"transformed_data": int}:
        executed.append("compute")
        return raw_data

    @as_task
    def GenData() -> {"raw_data": int}:
        executed.append("gen_data")
        return 1

    @as_task
    def PrintData(computation_result):
        executed.append("print_data")

    with Workflow(name="compute_data") as top:
        GenData() | Compute() | PrintData()
    with pytest.raises(GraphError) as caught:
        Backend(pipeline).run(top)
    assert str(caught.value) == (
        "task print_data: input 'computation_result' is not provided by any upstream block "
        "(upstream: compute outputs transformed_data)"
    )
    assert executed == []


def test_input_without_any_upstream(pipeline):
    with Workflow(name="top") as top:
        B()
    with pytest.raises(GraphError, match=r"task b: input 'a' is not provided by any upstream "
                                         r"block \(no upstream block\)"):
        top.validate()


def test_input_provided_twice(pipeline):
    @as_task
    def OtherA() -> {"a": int}:
        return 2

    with Workflow(name="top") as top:
        b = B()
        A() | b
        OtherA() | b
    with pytest.raises(GraphError) as caught:
        Backend(pipeline).run(top)
    assert str(caught.value).startswith(
        "task b: input 'a' is provided by several upstream blocks: task a, task other_a"
    )
    assert executed == []


def test_bound_value_and_upstream_for_the_same_input(pipeline):
    with Workflow(name="top") as top:
        A() | B(a=5)
    with pytest.raises(GraphError, match="task b: input 'a' is provided both by task a and by "
                                         "a value bound at instantiation"):
        top.validate()


def test_bound_value_for_an_unknown_input(pipeline):
    with Workflow(name="top") as top:
        A(nope=1)
    with pytest.raises(GraphError, match="task a: value bound for unknown input 'nope'"):
        top.validate()


def test_bound_values_and_defaults_satisfy_inputs(pipeline):
    @as_task
    def Sleep(seconds=0) -> {"slept": int}:
        return seconds

    with Workflow(name="top") as top:
        B(a=4) | C()
        Sleep(seconds=60)
        Sleep()
    assert Backend(pipeline).run(top) == [{"c": 50}, {"slept": 60}, {"slept": 0}]


def test_cycle_is_refused(pipeline):
    @as_task
    def Loop(b: int) -> {"a": int}:
        return b

    with Workflow(name="top") as top:
        b = B()
        loop = Loop()
        b | loop | b
    with pytest.raises(GraphError) as caught:
        top.validate()
    assert "the graph has a cycle" in str(caught.value)
    assert "task b -> task loop -> task b" in str(caught.value)
    assert executed == []


def test_a_block_cannot_be_piped_into_itself():
    with Workflow(name="top"):
        a = A()
        with pytest.raises(ValueError, match="cannot be piped into itself"):
            a | a


def test_upstream_from_outside_the_top_level_workflow_is_refused(pipeline):
    outsider = A()  # instantiated while no workflow is being defined
    with Workflow(name="top") as top:
        outsider | B()
    with pytest.raises(GraphError, match="task b: upstream task a is not part of workflow top"):
        top.validate()


def test_piping_an_uncalled_workflow_factory_gives_a_hint():
    from outflow.core.workflow import as_workflow

    @as_workflow
    def process():
        B()

    with Workflow(name="top"), pytest.raises(TypeError, match=r"call it|call the workflow"):
        A() | process


def test_missing_parameter_stops_the_run_before_any_task():
    @as_task
    def Compute(b: int, multiplier: Parameter(int)) -> {"result": int}:
        executed.append("compute")
        return b * multiplier

    config = Config({"parameters": {"other": {"x": 1}}}, file=Path("/pipeline/config.yml"))
    context = PipelineContext(config=config)
    with activate(context):
        with Workflow(name="top") as top:
            A() | B() | Compute()
        with pytest.raises(MissingParameterError) as caught:
            Backend(context).run(top)
    message = str(caught.value)
    assert message.startswith("task compute: parameter 'multiplier' is missing")
    assert "/pipeline/config.yml" in message and "parameters.compute.multiplier" in message
    assert executed == []


def test_parameters_are_type_checked_before_the_run(pipeline):
    @as_task
    def Compute(b: int, multiplier: Parameter(int)) -> {"result": int}:
        executed.append("compute")
        return b * multiplier

    pipeline.config["parameters"] = {"compute": {"multiplier": "3"}}
    with Workflow(name="top") as top:
        A() | B() | Compute()
    with pytest.raises(TypeError, match="task compute: parameter 'multiplier' must be int, "
                                        r"got str \('3'\)"):
        Backend(pipeline).run(top)
    assert executed == []


def test_parameters_are_namespaced_per_task(pipeline):
    @as_task
    def First(factor: Parameter(int)) -> {"x": int}:
        return factor

    @as_task
    def Second(x: int, factor: Parameter(int)) -> {"y": int}:
        return x * factor

    pipeline.config["parameters"] = {"first": {"factor": 2}, "second": {"factor": 7}}
    with Workflow(name="top") as top:
        First() | Second()
    assert Backend(pipeline).run(top) == [{"y": 14}]


def test_kwargs_tasks_receive_every_upstream_output(pipeline):
    @as_task
    def Collect(**kwargs) -> {"names": list}:
        return sorted(kwargs)

    with Workflow(name="top") as top:
        a = A()
        collect = Collect()
        a | B() | collect
        a | collect
    assert Backend(pipeline).run(top) == [{"names": ["a", "b"]}]


def test_revalidation_after_the_graph_changes(pipeline):
    with Workflow(name="top") as top:
        a = A()
    top.validate()
    assert not top.needs_validation()
    with top:
        a | B()
    assert top.needs_validation()
    assert Backend(pipeline).run(top) == [{"b": 2}]

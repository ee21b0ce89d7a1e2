"""Tasks as the user guide and the tutorial write them, run directly."""

# ruff: noqa: F821 - outflow's documented output annotations, `-> {"name": type}`,
# are dict literals whose string keys pyflakes mistakes for forward references.

import logging
from typing import Any, TypedDict

import pytest

from outflow.core.tasks import (
    Target,
    TargetError,
    Task,
    TaskInputError,
    TaskOutputError,
    as_task,
)
from outflow.core.types import Parameter, Skipped


@as_task
def GenData():
    raw_data = 42
    return {"raw_data": raw_data}


@as_task
def Transform(raw_data):
    return {"transformed_data": raw_data * 2}


@as_task
def Add(a: int, b: int) -> {"result": int}:
    return a + b


@as_task()
def WithParentheses(x):
    return {"y": x}


class MyTask(Task):
    def run(self, a: int, b: int) -> {"result": int}:
        return {"result": a + b}


class ExplicitTask(Task):
    def setup_targets(self):
        self.add_input("a", int)
        self.add_input("b", int)
        self.add_output("result", int)

    def run(self, a, b):
        return {"result": a + b}


class HybridTask(Task):
    def setup_targets(self):
        self.add_input("a", int)
        self.add_input("b", int)
        super().setup_targets()  # outputs from the annotation

    def run(self, a, b) -> {"result": int}:
        return {"result": a + b}


class HybridFromReturn(Task):
    def setup_targets(self):
        self.add_input("a", int)
        self.add_input("b", int)
        super().setup_targets()  # outputs from the return statement

    def run(self, a, b):
        return {"result": a + b}


class ImplicitReturn(Task):
    def setup_targets(self):
        self.add_input("a", int)
        self.add_input("b", int)
        self.add_output("result", int)

    def run(self, a, b):
        return a + b


def test_as_task_makes_a_task_class_named_in_snake_case():
    assert isinstance(GenData, type) and issubclass(GenData, Task)
    assert GenData.name == "gen_data"
    assert WithParentheses.name == "with_parentheses"
    assert MyTask.name == "my_task"
    assert GenData().outputs.keys() == {"raw_data"}


def test_direct_call_maps_positional_values_to_inputs():
    assert Add()(2, 4) == {"result": 6}
    assert Add()(2, b=4) == {"result": 6}
    assert MyTask()(a=1, b=2) == {"result": 3}


@pytest.mark.parametrize("task_class", [MyTask, ExplicitTask, HybridTask, HybridFromReturn,
                                        ImplicitReturn])
def test_every_definition_alternative_gives_the_same_task(task_class):
    task = task_class()
    assert list(task.inputs) == ["a", "b"]
    assert list(task.outputs) == ["result"]
    assert task(1, 2) == {"result": 3}


def test_typed_outputs_from_annotations_and_any_from_return_literal():
    assert HybridTask().outputs["result"].type is int
    assert HybridFromReturn().outputs["result"].type is Any
    assert ExplicitTask().inputs["a"].type is int


def test_calling_with_another_tasks_result_spreads_it():
    assert Transform()(GenData()()) == {"transformed_data": 84}


def test_single_dict_argument_for_a_single_dict_input_is_not_spread():
    @as_task
    def Keys(data: dict) -> {"keys": list}:
        return sorted(data)

    assert Keys()({"b": 1, "a": 2}) == {"keys": ["a", "b"]}


def test_bare_return_for_a_single_output():
    @as_task
    def One() -> {"value": int}:
        return 42

    assert One()() == {"value": 42}


def test_bare_dict_value_for_a_single_output():
    @as_task
    def Mapping() -> {"mapping": dict}:
        return {"a": 1}

    assert Mapping()() == {"mapping": {"a": 1}}


def test_task_without_outputs_returns_an_empty_dict():
    @as_task
    def PrintData(computation_result):
        logging.getLogger(__name__).info("Result: %s", computation_result)

    @as_task
    def ExplicitNone() -> None:
        return None

    assert PrintData().outputs == {}
    assert PrintData()(1) == {}
    assert ExplicitNone()() == {}


def test_inputs_bound_at_instantiation():
    @as_task
    def Sleep(seconds=0):
        return {"slept": seconds}

    assert Sleep(seconds=60)() == {"slept": 60}
    assert Sleep()() == {"slept": 0}
    assert Sleep().inputs["seconds"].optional


def test_defaults_make_inputs_optional():
    @as_task
    def Scale(value: int, factor: int = 2) -> {"scaled": int}:
        return value * factor

    task = Scale()
    assert not task.inputs["value"].optional
    assert task.inputs["factor"].default == 2
    assert task(3) == {"scaled": 6}


def test_target_output_decorator():
    @Target.output("returned_data", type=int)
    @as_task
    def DoStuff():
        ret = 41 + 1
        return {"returned_data": ret}

    @Target.output("returned_data")
    @as_task
    def DoStuffAnnotated() -> {"returned_data": int}:
        return {"returned_data": 1}

    assert DoStuff().outputs["returned_data"].type is int
    assert DoStuff()() == {"returned_data": 42}
    # The annotation's type is kept when the decorator gives none.
    assert DoStuffAnnotated().outputs["returned_data"].type is int


def test_target_output_decorator_declares_outputs_inference_cannot_find():
    @Target.output("a", type=int)
    @Target.output("b", type=str)
    @as_task
    def Computed():
        result = {"a": 1, "b": "x"}
        return result

    assert list(Computed().outputs) == ["a", "b"]
    assert Computed()() == {"a": 1, "b": "x"}


def test_target_decorators_do_not_leak_to_the_parent_class():
    class Base(Task):
        def run(self):
            return None

    Target.output("x")(type("Child", (Base,), {}))
    assert Base._declared_targets == ()


def test_task_template_overrides_call():
    calls = []

    class LogTask(Task):
        def __call__(self, *args, **kwargs):
            calls.append(self.name)
            return super().__call__(*args, **kwargs)

    @LogTask.as_task
    def MyLoggedTask():
        pass

    assert issubclass(MyLoggedTask, LogTask)
    assert MyLoggedTask()() == {}
    assert calls == ["my_logged_task"]


def test_as_task_with_self():
    @as_task(with_self=True)
    def Named(self) -> {"name": str}:
        return self.name

    assert Named()() == {"name": "named"}


def test_typed_dict_return_annotation():
    class Outputs(TypedDict):
        total: int
        label: str

    @as_task
    def Summary(values: list) -> Outputs:
        return {"total": sum(values), "label": "sum"}

    task = Summary()
    assert {name: t.type for name, t in task.outputs.items()} == {"total": int, "label": str}
    assert task([1, 2]) == {"total": 3, "label": "sum"}


def test_parameter_inputs_are_parameters_not_inputs(pipeline):
    @as_task
    def Compute(transformed_data: int, multiplier: Parameter(int)) -> {"computation_result": int}:
        return transformed_data * multiplier

    task = Compute()
    assert list(task.inputs) == ["transformed_data"]
    assert task.parameters["multiplier"].type is int
    pipeline.config["parameters"] = {"compute": {"multiplier": 3}}
    assert task(2) == {"computation_result": 6}


def test_explicit_add_parameter():
    class Scale(Task):
        def setup_targets(self):
            self.add_input("value", int)
            self.add_parameter("factor", int)
            self.add_output("scaled", int)

        def run(self, value, factor):
            return value * factor

    assert Scale()(2, factor=5) == {"scaled": 10}


def test_parameter_cannot_have_a_default():
    @as_task
    def Bad(x: Parameter(int) = 3):
        return {"x": x}

    with pytest.raises(TargetError, match="task bad: parameter 'x' cannot have a default"):
        Bad()


def test_returning_skipped_skips_every_output():
    @as_task
    def Maybe() -> {"a": int, "b": int}:
        return Skipped()

    assert Maybe()() == {"a": Skipped(), "b": Skipped()}


def test_missing_and_undeclared_outputs_are_errors():
    @as_task
    def Missing() -> {"a": int, "b": int}:
        return {"a": 1}

    @as_task
    def Extra() -> {"a": int, "b": int}:
        return {"a": 1, "b": 2, "c": 3}

    @as_task
    def Unexpected() -> {}:
        return 3

    with pytest.raises(TaskOutputError, match=r"task missing: output\(s\) 'b' missing"):
        Missing()()
    with pytest.raises(TaskOutputError, match=r"task extra: returned undeclared output\(s\) 'c'"):
        Extra()()
    with pytest.raises(TaskOutputError, match="task unexpected: returned a int but declares no"):
        Unexpected()()


def test_call_argument_errors():
    with pytest.raises(TaskInputError, match="task add: takes 2 positional"):
        Add()(1, 2, 3)
    with pytest.raises(TaskInputError, match="task add: input 'b' is missing"):
        Add()(1)
    with pytest.raises(TaskInputError, match="task add: unknown input"):
        Add()(a=1, c=2)


def test_kwargs_task_accepts_any_input():
    @as_task
    def Collect(**kwargs) -> {"seen": list}:
        return sorted(kwargs)

    task = Collect()
    assert task.accepts_extra_inputs
    assert task(x=1, y=2) == {"seen": ["x", "y"]}

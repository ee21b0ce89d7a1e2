"""Annotations given as strings (``from __future__ import annotations``) are resolved."""

# ruff: noqa: F821, UP037 - outflow's documented output annotations, `-> {"name": type}`,
# are dict literals whose string keys pyflakes mistakes for forward references.

from __future__ import annotations

from typing import TypedDict

import pytest

from outflow.core.tasks import Task, TaskTypeError, as_task
from outflow.core.types import Parameter


class Measurement:
    def __init__(self, value: float) -> None:
        self.value = value


class Stats(TypedDict):
    mean: float
    count: int


@as_task
def Measure(raw: int) -> {"measurement": Measurement}:
    return Measurement(raw / 2)


@as_task
def Summarise(values: list[int], scale: Parameter(int)) -> Stats:
    return {"mean": sum(values) / len(values) * scale, "count": len(values)}


class Described(Task):
    def run(self, measurement: Measurement) -> {"text": str}:
        return f"{measurement.value:.1f}"


def test_string_annotations_are_evaluated_in_the_module():
    task = Measure()
    assert task.inputs["raw"].type is int
    assert task.outputs["measurement"].type is Measurement
    assert Described().inputs["measurement"].type is Measurement
    assert Described()(Measure()(3)) == {"text": "1.5"}


def test_string_parameter_and_typed_dict():
    task = Summarise()
    assert task.parameters["scale"].type is int
    assert task.outputs["mean"].type is float
    assert task([1, 2, 3], scale=2) == {"mean": 4.0, "count": 3}


def test_string_annotations_are_checked():
    with pytest.raises(TaskTypeError, match=r"task summarise: input 'values' must be list\[int\]"):
        Summarise()(["a"], scale=1)

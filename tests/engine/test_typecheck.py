"""Type checks of inputs and outputs, and the compatibility of connected targets."""

# ruff: noqa: F821 - outflow's documented output annotations, `-> {"name": type}`,
# are dict literals whose string keys pyflakes mistakes for forward references.
# ruff: noqa: UP006, UP007, UP035, UP045 - these tests exercise the `typing` spellings
# (List, Optional, Union...) that the documentation and users write.

import dataclasses
from typing import Any, Dict, List, Literal, Optional, Sequence, Tuple, TypedDict, Union

import pytest

from outflow.core.backends import Backend
from outflow.core.tasks import GraphError, TaskTypeError, as_task
from outflow.core.tasks.typecheck import compatible, describe_type, make_checker
from outflow.core.workflow import Workflow


@as_task
def GenDataStr():
    raw_data = "42"  # the tutorial's deliberate mistake
    return {"raw_data": raw_data}


@as_task
def Transform(raw_data):
    return {"transformed_data": raw_data * 2}


@as_task
def Compute(transformed_data: int) -> {"computation_result": int}:
    return transformed_data // 2


@as_task
def GenDataTyped() -> {"raw_data": int}:
    raw_data = "42"
    return {"raw_data": raw_data}


def test_input_type_error_names_task_target_expected_and_actual(pipeline):
    with Workflow(name="compute_data") as top:
        GenDataStr() | Transform() | Compute()
    with pytest.raises(TaskTypeError) as caught:
        Backend(pipeline).run(top)
    assert str(caught.value) == (
        "task compute: input 'transformed_data' must be int, got str ('4242')"
    )
    assert isinstance(caught.value, TypeError)
    assert (caught.value.kind, caught.value.target, caught.value.expected) == (
        "input", "transformed_data", int)


def test_output_type_error_is_raised_when_the_task_returns(pipeline):
    ran = []

    @as_task
    def Downstream(raw_data):
        ran.append(raw_data)

    with Workflow(name="compute_data") as top:
        GenDataTyped() | Downstream()
    with pytest.raises(TaskTypeError) as caught:
        Backend(pipeline).run(top)
    assert str(caught.value) == "task gen_data_typed: output 'raw_data' must be int, got str ('42')"
    assert ran == []


@dataclasses.dataclass
class Point:
    x: int


class Movie(TypedDict):
    title: str
    year: int


@pytest.mark.parametrize(("hint", "good", "bad"), [
    (int, 3, "3"),
    (float, 3, "3.0"),  # the numeric tower: an int is a float
    (List[int], [1, 2], ["1", "2"]),  # containers: one item sampled per check
    (list[int], [1, 2], ["x"]),
    (Optional[int], None, 1.5),
    (Union[int, str], "x", 1.5),
    (int | None, 1, "1"),
    (Dict[str, int], {"a": 1}, {"a": "b"}),
    (dict, {}, []),
    (Tuple[int, str], (1, "a"), (1, 2)),
    (Sequence[int], (1, 2), 3),
    (Literal["a", "b"], "a", "c"),
    (Movie, {"title": "x", "year": 1999}, ["x"]),
    (Point, Point(1), {"x": 1}),
])
def test_checkers_follow_typing_semantics(hint, good, bad):
    checker = make_checker(hint)
    assert checker(good)
    assert not checker(bad)


@pytest.mark.parametrize("hint", [Any, object])
def test_any_needs_no_check(hint):
    assert make_checker(hint) is None


def test_every_construct_is_checked_on_tasks():
    @as_task
    def Typed(points: List[Point], label: Optional[str] = None) -> {"count": int}:
        return len(points)

    assert Typed()([Point(1)]) == {"count": 1}
    with pytest.raises(TaskTypeError, match=r"task typed: input 'points' must be List\[Point\], "
                                            r"got list \(\[1\]\)"):
        Typed()([1])
    with pytest.raises(TaskTypeError, match=r"input 'label' must be Optional\[str\]"):
        Typed()([], label=3)


def test_long_values_are_truncated_in_messages():
    @as_task
    def Short(text: int):
        pass

    with pytest.raises(TaskTypeError) as caught:
        Short()("x" * 500)
    assert len(str(caught.value)) < 150 and str(caught.value).endswith("...)")


@pytest.mark.parametrize(("provided", "expected", "ok"), [
    (int, int, True),
    (Any, int, True),
    (int, Any, True),
    (bool, int, True),
    (int, float, True),
    (int, str, False),
    (str, int, False),
    (list, Sequence, True),  # narrowing is allowed: the runtime check decides
    (Sequence[int], list, True),
    (List[int], List[str], False),
    (List[int], list, True),
    (Optional[int], int, True),
    (Optional[str], int, False),
    (Movie, dict, True),
    (Point, Point, True),
    (Point, int, False),
])
def test_edge_compatibility(provided, expected, ok):
    assert compatible(provided, expected) is ok


def test_incompatible_edge_types_are_refused_before_running(pipeline):
    ran = []

    @as_task
    def Produce() -> {"value": str}:
        ran.append("produce")
        return "x"

    @as_task
    def Consume(value: int):
        ran.append("consume")

    with Workflow(name="top") as top:
        Produce() | Consume()
    with pytest.raises(GraphError) as caught:
        Backend(pipeline).run(top)
    assert str(caught.value) == (
        "task consume: input 'value' expects int but task produce outputs 'value' as str"
    )
    assert ran == []


def test_describe_type():
    assert describe_type(List[int]) == "List[int]"
    assert describe_type(Any) == "Any"
    assert describe_type(Point) == "Point"
    assert describe_type(type(None)) == "None"

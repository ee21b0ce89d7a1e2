"""IfThenElse, MergeTask, LoopWorkflow and IterativeWorkflow, as the user guide uses them."""

# ruff: noqa: F821 - outflow's documented output annotations, `-> {"name": type}`,
# are dict literals whose string keys pyflakes mistakes for forward references.

from typing import Optional

import pytest

from outflow.core.backends import Backend
from outflow.core.tasks import TaskError, as_task
from outflow.core.workflow import Workflow
from outflow.library.tasks import (
    IfElse,
    IfThenElse,
    IterativeWorkflow,
    LoopWorkflow,
    MapWorkflow,
    MergeTask,
    Skipped,
    exit_pipeline,
)

ran_log: list[str] = []


@pytest.fixture(autouse=True)
def _reset():
    ran_log.clear()


# ----------------------------------------------------------------- IfThenElse


@as_task
def A() -> {"choice": bool}:
    return {"choice": CHOICE[0]}


@as_task
def B(choice: bool) -> {"output": str}:
    ran_log.append("b")
    return {"output": "b"}


@as_task
def C(choice: bool) -> {"output": str}:
    ran_log.append("c")
    return {"output": "c"}


CHOICE = [True]


def condition(**kwargs):
    return kwargs["choice"]


@pytest.mark.parametrize("choice", [True, False])
def test_if_then_else_runs_one_branch_and_skips_the_other(pipeline, choice):
    CHOICE[0] = choice
    with Workflow(name="some_command") as top:
        a = A()
        b = B()
        c = C()
        if_t, then_t, else_t = IfThenElse(condition)
        a | if_t
        then_t | b
        else_t | c
    results = Backend(pipeline).run(top)
    assert ran_log == ["b" if choice else "c"]
    assert results == ([{"output": "b"}, {"output": Skipped()}] if choice
                       else [{"output": Skipped()}, {"output": "c"}])


@as_task
def A1() -> {"out1": str}:
    return {"out1": "a"}


@as_task
def B1(out1: str) -> {"out1": str, "out2": str}:
    return {"out1": out1, "out2": "b"}


@as_task
def C1(out1: str) -> {"out1": str, "out2": str}:
    return {"out1": out1, "out2": "c"}


@as_task
def LastTask(out1: str, out2: str) -> {"line": str}:
    return {"line": f"{out1=} , {out2=}"}


@pytest.mark.parametrize(("choice", "expected"), [(True, "b"), (False, "c")])
def test_merge_task_joins_if_else_branches(pipeline, choice, expected):
    with Workflow(name="some_conditional_command") as top:
        a = A1()
        b = B1()
        c = C1()
        if_t, then_t, else_t = IfElse(lambda **kwargs: choice)
        merge_task = MergeTask()
        last_task = LastTask()

        a | if_t

        then_t | b | merge_task
        else_t | c | merge_task

        merge_task | last_task
    assert Backend(pipeline).run(top) == [{"line": f"out1='a' , out2='{expected}'"}]


def test_merge_task_joins_manual_branches(pipeline):
    @as_task
    def Left(out1: str) -> {"out2": str}:
        return Skipped()

    @as_task
    def Right(out1: str) -> {"out2": str}:
        return {"out2": "right"}

    @as_task
    def Last(out2: str) -> {"seen": str}:
        return out2

    with Workflow(name="top") as top:
        a = A1()
        merge = MergeTask()
        a | Left() | merge
        a | Right() | merge
        merge | Last()
    assert Backend(pipeline).run(top) == [{"seen": "right"}]


def test_merge_of_skipped_branches_is_skipped(pipeline):
    @as_task
    def Nothing(out1: str) -> {"out2": str}:
        return Skipped()

    with Workflow(name="top") as top:
        a = A1()
        merge = MergeTask()
        a | Nothing() | merge
        a | Nothing() | merge
    assert Backend(pipeline).run(top) == [{"out2": Skipped()}]


def test_if_then_else_inside_a_map_decides_per_item(pipeline):
    @as_task
    def Numbers() -> {"number_array": list}:
        return [1, 2, 3, 4]

    @as_task
    def Half(number: int) -> {"result": str}:
        return f"{number} even"

    @as_task
    def Odd(number: int) -> {"result": str}:
        return f"{number} odd"

    @as_task
    def Number(number: int) -> {"number": int}:
        return number

    @MapWorkflow.as_workflow(output_name="results")
    def classify():
        if_t, then_t, else_t = IfThenElse(lambda number: number % 2 == 0)
        merge = MergeTask()
        Number() | if_t
        then_t | Half() | merge
        else_t | Odd() | merge

    with Workflow(name="top") as top:
        Numbers() | classify()
    (outputs,) = Backend(pipeline).run(top)
    assert [item[0]["result"] for item in outputs["results"]] == [
        "1 odd", "2 even", "3 odd", "4 even"]


# --------------------------------------------------------------- LoopWorkflow


@as_task
def TaskA() -> {"count": int}:
    ran_log.append("a")
    return len(ran_log)


@as_task
def TaskB(count: int) -> {"last": int}:
    ran_log.append("b")
    if count >= 7:
        exit_pipeline()
    return count


def test_loop_workflow_repeats_n_times(pipeline):
    @LoopWorkflow.as_workflow(iterations=3)
    def looped_workflow():
        TaskA() | TaskB()

    with Workflow(name="top") as top:
        looped_workflow()
    assert Backend(pipeline).run(top) == [{"last": 5}]
    assert ran_log == ["a", "b"] * 3


def test_infinite_loop_stops_on_exit_pipeline(pipeline):
    @LoopWorkflow.as_workflow(infinite=True)
    def infinite_processing():
        TaskA() | TaskB()

    with Workflow(name="top") as top:
        infinite_processing()
    assert Backend(pipeline).run(top) == [{"last": 5}]  # the last complete iteration
    assert ran_log == ["a", "b"] * 4


def test_infinite_loop_stops_on_an_exception(pipeline):
    @as_task
    def Fails(count: int) -> {"last": int}:
        raise RuntimeError("disk full")

    @LoopWorkflow.as_workflow(infinite=True)
    def infinite_processing():
        TaskA() | Fails()

    with Workflow(name="top") as top:
        infinite_processing()
    with pytest.raises(TaskError, match="task fails failed: RuntimeError: disk full"):
        Backend(pipeline).run(top)


def test_loop_workflow_arguments_are_checked():
    with pytest.raises(ValueError, match="iterations=N or infinite=True"):
        LoopWorkflow()
    with pytest.raises(ValueError, match="not both"):
        LoopWorkflow(iterations=2, infinite=True)


def test_zero_iterations_skip_the_outputs(pipeline):
    loop = LoopWorkflow(TaskA(), iterations=0)
    assert loop() == {"count": Skipped()}
    assert ran_log == []


# ----------------------------------------------------------- IterativeWorkflow
# The user guide's "Nesting MapWorkflow and IterativeWorkflow" pattern, as written.

threshold = 40


@as_task
def ListFiles() -> {"file_path_list": list}:
    return ["a.txt", "bb.txt", "ccc.txt"]


@as_task
def Read(file_path: str) -> {"data": int}:
    return len(file_path)


@as_task
def Process(data: int, reduced_data: Optional[int]) -> {"processed": int}:  # noqa: UP045 - the guide's spelling
    # do something with reduced_data
    ran_log.append(f"process {data} {reduced_data}")
    return data + (reduced_data or 0)


@as_task
def ReduceProcessed(map_processed: list) -> {"reduced_data": int}:
    # return some int that represents the combination of all processed files
    return sum(item[0]["processed"] for item in map_processed)


@MapWorkflow.as_workflow
def inner_map_workflow():
    Read() | Process()


def break_func(reduced_data: int):
    if reduced_data > threshold:  # noqa: SIM103 - as the user guide writes it
        return True
    else:
        return False


@IterativeWorkflow.as_workflow(max_iterations=5, break_func=break_func)
def my_iterative_workflow():
    inner_map = inner_map_workflow()
    inner_map | ReduceProcessed()

    # mandatory : manually add input to the map_workflow
    inner_map.add_input("reduced_data", type=Optional[int])  # noqa: UP045


def test_iterative_workflow_with_a_nested_map(pipeline):
    with Workflow(name="my_command") as top:
        ListFiles() | my_iterative_workflow()
    # files of 5, 6 and 7 characters: 18, then 18 + 3 * 18 = 72 > 40: two iterations
    assert Backend(pipeline).run(top) == [{"reduced_data": 72}]
    assert ran_log == ["process 5 None", "process 6 None", "process 7 None",
                   "process 5 18", "process 6 18", "process 7 18"]


def test_iterative_workflow_stops_at_max_iterations(pipeline):
    @as_task
    def Increment(value: Optional[int]) -> {"value": int}:  # noqa: UP045
        return (value or 0) + 1

    loop = IterativeWorkflow(Increment(), max_iterations=4)
    assert loop() == {"value": 4}
    with pytest.raises(ValueError, match="max_iterations"):
        IterativeWorkflow(max_iterations=0)

"""Parameter values and names checked against the graph; ``sys.exit()`` in a task.

``parameter_matches`` is stricter than the per-task checks: a bool is no number, and
every item of a container is checked (beartype checks one random item).
"""

# ruff: noqa: F821 - outflow's documented output annotations, `-> {"name": type}`,
# are dict literals whose string keys pyflakes mistakes for forward references.
# ruff: noqa: UP006, UP007, UP035, UP045 - these tests exercise the `typing` spellings
# (List, Optional, Union...) that the documentation and users write.

import sys
from typing import Any, Dict, List, Literal, Optional, Tuple, Union

import pytest
from beartype import BeartypeConf
from beartype.door import is_bearable
from hypothesis import given
from hypothesis import strategies as st

from outflow.core.backends import Backend
from outflow.core.pipeline.config import Config, ConfigurationError
from outflow.core.pipeline.context import PipelineContext, activate
from outflow.core.tasks import TaskError, TaskTypeError, as_task
from outflow.core.tasks.typecheck import check_value, parameter_matches
from outflow.core.types import Parameter
from outflow.core.workflow import Workflow

ints = st.integers(-10**12, 10**12)
floats = st.floats(allow_nan=False)
scalars = st.one_of(st.none(), st.booleans(), ints, floats, st.text(max_size=5))
#: Values as a configuration file gives them.
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=10)
#: PEP 585 spellings: beartype warns about typing.List & co. (the kernel hides that
#: warning from users, see make_checker; the tests below use both spellings).
HINTS = [int, float, bool, str, Optional[int], Union[int, bool], int | str, list[int],
         list[float], dict[str, int], tuple[int, ...], tuple[int, str], list, dict,
         Literal[1, "a"], Any, list[Optional[int]], dict[str, list[bool]]]
#: The kernel's beartype configuration: an int is accepted where a float is declared.
TOWER = BeartypeConf(is_pep484_tower=True)


@given(ints)
def test_ints_are_ints_and_floats_not_bools(value: int) -> None:
    assert parameter_matches(int, value)
    assert parameter_matches(float, value)  # the numeric tower
    assert parameter_matches(Optional[int], value)
    assert not parameter_matches(bool, value)


@given(st.booleans())
def test_bools_are_not_numbers(value: bool) -> None:
    for hint in (int, float, complex, Optional[int], Union[int, str], List[int] | int,
                 Literal[0, 1]):
        assert not parameter_matches(hint, value), hint
        if hint is int:
            check_value("task t", "input", "x", hint, value)  # between tasks: Python's rule
    for hint in (bool, Union[int, bool], Optional[bool], Any, object, Literal[True, False]):
        assert parameter_matches(hint, value), hint


@given(st.lists(ints, min_size=1, max_size=30), st.data())
def test_every_item_is_checked(items: list[int], data: st.DataObject) -> None:
    assert parameter_matches(List[int], items)
    assert parameter_matches(Dict[str, int], {str(i): v for i, v in enumerate(items)})
    position = data.draw(st.integers(0, len(items) - 1))
    intruder = data.draw(st.one_of(st.booleans(), st.text(max_size=3), st.none()))
    spoiled = [*items[:position], intruder, *items[position + 1:]]
    assert not parameter_matches(List[int], spoiled)
    assert not parameter_matches(Tuple[int, ...], tuple(spoiled))
    assert not parameter_matches(Dict[str, int], {str(i): v for i, v in enumerate(spoiled)})


@given(values, st.sampled_from(HINTS))
def test_never_accepts_what_beartype_refuses(value: Any, hint: Any) -> None:
    if parameter_matches(hint, value):
        assert is_bearable(value, hint, conf=TOWER), (hint, value)


@given(st.one_of(st.none(), ints, floats, st.text(max_size=5)),
       st.sampled_from([int, float, str, type(None), Optional[int], int | str]))
def test_same_as_beartype_for_scalars_that_are_not_bools(value: Any, hint: Any) -> None:
    assert parameter_matches(hint, value) == is_bearable(value, hint, conf=TOWER)


# ---------------------------------------------------------------- in the graph


@as_task
def Compute(multiplier: Parameter(int)) -> {"result": int}:
    ran.append("compute")
    return multiplier * 2


@as_task
def Quit() -> {"result": int}:
    ran.append("quit")
    sys.exit(3)


@as_task
def Interrupt() -> {"result": int}:
    raise KeyboardInterrupt


ran: list[str] = []


@pytest.fixture(scope="module")
def make_context(tmp_path_factory: pytest.TempPathFactory):
    """Contexts whose configuration comes from a config.yml; module-scoped, for hypothesis."""
    tmp_path = tmp_path_factory.mktemp("parameter_checks")

    def make(parameters: Any, strict: bool = False) -> PipelineContext:
        ran.clear()
        path = tmp_path / "config.yml"
        path.write_text("parameters:\n  compute:\n    multiplier: placeholder\n")
        context = PipelineContext(config=Config({"parameters": parameters}, file=path))
        context.strict = strict
        return context

    return make


@given(st.booleans())
def test_a_bool_parameter_value_stops_the_run(make_context, value: bool) -> None:
    context = make_context({"compute": {"multiplier": value}})
    with activate(context):
        with Workflow(name="top") as top:
            Compute()
        with pytest.raises(TaskTypeError) as caught:
            Backend(context).run(top)
    assert str(caught.value) == (
        f"task compute: parameter 'multiplier' must be int, got bool ({value}) "
        f"(parameters.compute.multiplier in {context.config.__file__}:3:5)"
    )
    assert ran == []


@given(ints)
def test_an_int_parameter_value_runs(make_context, value: int) -> None:
    context = make_context({"compute": {"multiplier": value}})
    with activate(context):
        with Workflow(name="top") as top:
            Compute()
        assert Backend(context).run(top) == [{"result": value * 2}]


def test_a_value_bound_in_code_names_no_configuration_file(make_context) -> None:
    context = make_context({})
    with activate(context):
        with Workflow(name="top") as top:
            Compute(multiplier=True)
        with pytest.raises(TaskTypeError) as caught:
            Backend(context).run(top)
    assert str(caught.value) == "task compute: parameter 'multiplier' must be int, got bool (True)"


@pytest.mark.parametrize("parameters", [[1, 2], "compute", {"compute": 3}, {"compute": [1]}])
def test_a_malformed_section_set_at_run_time_is_a_configuration_error(make_context, parameters):
    context = make_context(parameters)
    with activate(context):
        with Workflow(name="top") as top:
            Compute()
        with pytest.raises(ConfigurationError, match="must be a mapping"):
            Backend(context).run(top)
    assert ran == []


def test_unknown_names_are_reported_once_per_pipeline(make_context, capsys) -> None:
    context = make_context({"compute": {"multiplier": 2, "multiplyer": 3}, "zzzq": {}})
    with activate(context):
        for _ in range(2):
            with Workflow(name="top") as top:
                Compute()
            assert Backend(context).run(top) == [{"result": 4}]
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2, err
    assert err[0].endswith("parameters.compute.multiplyer: task compute has no parameter "
                           "'multiplyer' (did you mean 'multiplier'?)")
    assert "parameters.zzzq: no task named 'zzzq'" in err[1]


def test_strict_unknown_names_stop_the_run(make_context) -> None:
    context = make_context({"compute": {"multiplier": 2, "factor": 3}}, strict=True)
    with activate(context):
        with Workflow(name="top") as top:
            Compute()
        with pytest.raises(ConfigurationError, match=r"task compute has no parameter 'factor' "
                                                     r"\(its parameters: multiplier\)"):
            Backend(context).run(top)
    assert ran == []


def test_sys_exit_is_a_task_failure_and_keyboard_interrupt_is_not(make_context) -> None:
    context = make_context({})
    with activate(context):
        with Workflow(name="top") as top:
            Quit()
        with pytest.raises(TaskError) as caught:
            Backend(context).run(top)
        assert str(caught.value) == "task quit failed: SystemExit: 3"
        assert isinstance(caught.value.__cause__, SystemExit)
        assert ran == ["quit"]
        with Workflow(name="top") as top:
            Interrupt()
        with pytest.raises(KeyboardInterrupt):
            Backend(context).run(top)

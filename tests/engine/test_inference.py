"""Target inference from return literals and annotation dicts, property-tested."""

# ruff: noqa: F821 - outflow's documented output annotations, `-> {"name": type}`,
# are dict literals whose string keys pyflakes mistakes for forward references.
# ruff: noqa: UP006, UP007, UP035, UP045 - these tests exercise the `typing` spellings
# (List, Optional, Union...) that the documentation and users write.

import keyword
import textwrap
from typing import Any, Dict, List, Optional, Tuple, Union

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outflow.core.tasks import GraphError, TargetError, as_task
from outflow.core.tasks.inference import (
    analyse_run,
    infer_outputs_from_source,
    outputs_from_annotation_dict,
)
from outflow.core.workflow import Workflow

identifiers = st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True).filter(
    lambda name: not keyword.iskeyword(name)
)
key_lists = st.lists(identifiers, min_size=1, max_size=8, unique=True)
hints = st.sampled_from([int, str, float, bytes, list, dict, Any, List[int], Dict[str, int],
                         Optional[int], Union[int, str], Tuple[int, ...]])


def _function_source(body: str) -> str:
    return "def run(a, b):\n" + textwrap.indent(textwrap.dedent(body), "    ")


@given(key_lists)
def test_keys_of_the_returned_literal_are_the_outputs(keys):
    literal = "{" + ", ".join(f"{key!r}: {i}" for i, key in enumerate(keys)) + "}"
    assert infer_outputs_from_source(_function_source(f"return {literal}\n")) == keys


@given(key_lists, key_lists)
def test_keys_of_several_returns_are_united_in_order(first, second):
    source = _function_source(
        "if a:\n"
        f"    return {{{', '.join(f'{k!r}: 1' for k in first)}}}\n"
        f"return {{{', '.join(f'{k!r}: 2' for k in second)}}}\n"
    )
    expected = list(dict.fromkeys([*first, *second]))
    assert infer_outputs_from_source(source) == expected


@given(key_lists)
def test_nested_functions_do_not_count(keys):
    literal = "{" + ", ".join(f"{key!r}: 0" for key in keys) + "}"
    source = _function_source(
        "def helper():\n    return 42\n"
        "values = [lambda: 3]\n"
        f"return {literal}\n"
    )
    assert infer_outputs_from_source(source) == keys


@pytest.mark.parametrize("body", [
    "return a",
    "return dict(a=1)",
    "return {**a}",
    "return {a: 1}",
    "return {'not valid': 1}",
    "if a:\n    return {'x': 1}\nreturn b",
])
def test_non_literal_returns_cannot_be_inferred(body):
    assert infer_outputs_from_source(_function_source(body)) is None


@pytest.mark.parametrize("body", ["pass", "return", "return None", "return Skipped()",
                                  "yield 3"])
def test_functions_returning_nothing_have_no_outputs(body):
    assert infer_outputs_from_source(_function_source(body)) == []


@given(st.dictionaries(identifiers, hints, min_size=1, max_size=6))
def test_annotation_dicts_give_typed_outputs(annotation):
    def run():
        return None

    targets = outputs_from_annotation_dict(annotation, run, "task t")
    assert [(t.name, t.type) for t in targets] == list(annotation.items())


@given(st.dictionaries(identifiers, hints, min_size=1, max_size=6))
def test_return_annotation_wins_over_the_literal(annotation):
    def run(x: int, y=3):
        return {"ignored": 1}

    run.__annotations__["return"] = dict(annotation)
    signature = analyse_run(run, skip_first=False, label="task run")
    assert signature.outputs_source == "annotation"
    assert {t.name: t.type for t in signature.outputs} == annotation
    assert [(t.name, t.type, t.optional) for t in signature.inputs] == [
        ("x", int, False), ("y", Any, True)
    ]


def test_string_types_inside_the_annotation_dict_are_resolved():
    def run() -> {"count": "int", "names": "List[str]"}:
        return None

    signature = analyse_run(run, skip_first=False, label="task run")
    assert [(t.name, t.type) for t in signature.outputs] == [("count", int),
                                                             ("names", List[str])]


def test_unresolvable_string_annotation_names_the_task():
    def run(x: "Undefined"):  # noqa: F821
        return None

    with pytest.raises(TargetError, match="task strange: cannot evaluate the input 'x'"):
        analyse_run(run, skip_first=False, label="task strange")


@as_task
def GenData():
    raw_data = 42
    return raw_data


def test_could_not_determine_outputs_is_raised_at_validation_with_the_task_name():
    with Workflow(name="compute_data") as top:
        GenData()  # instantiating is fine...
    with pytest.raises(GraphError, match="Could not automatically determine outputs of task "
                                         "gen_data"):
        top.validate()  # ...the graph is refused before anything runs


def test_could_not_determine_outputs_on_a_direct_call_too():
    with pytest.raises(TargetError, match="Could not automatically determine outputs of task "
                                          "gen_data"):
        GenData()()

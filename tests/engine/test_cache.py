"""The workflow cache: behaviour on disk, and properties of its key."""

# ruff: noqa: F821 - outflow's documented output annotations, `-> {"name": type}`,
# are dict literals whose string keys pyflakes mistakes for forward references.

import logging
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from outflow.core.backends import Backend
from outflow.core.pipeline.context import PipelineContext, activate
from outflow.core.pipeline.settings import Settings
from outflow.core.tasks import as_task
from outflow.core.types import Parameter
from outflow.core.workflow import Workflow, as_workflow
from outflow.core.workflow.cache import cache_key, stable_hash

ROOT = Path(__file__).resolve().parents[2]
runs: list[str] = []


@pytest.fixture(autouse=True)
def _clear():
    runs.clear()


@as_task
def GenData(value=42) -> {"raw_data": int}:
    return value


@as_task
def Compute(raw_data: int, multiplier: Parameter(int)) -> {"computation_result": int}:
    runs.append("compute")
    return raw_data * multiplier


@as_workflow(cache=True)
def process_data():
    Compute()


def _run(context, value=42):
    with activate(context):
        with Workflow(name="compute_data") as top:
            GenData(value=value) | process_data()
        return Backend(context).run(top)


def _context(tmp_path, multiplier=3, **config):
    return PipelineContext(
        settings=Settings(TEMP_DIR=tmp_path / "tmp"),
        config={"parameters": {"compute": {"multiplier": multiplier}}, **config},
    )


def test_second_run_reads_the_cache(tmp_path):
    assert _run(_context(tmp_path)) == [{"computation_result": 126}]
    assert _run(_context(tmp_path)) == [{"computation_result": 126}]
    assert runs == ["compute"]
    directory = tmp_path / "tmp" / "workflow_cache"
    assert len(list(directory.glob("*.pkl"))) == 1
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert not list(directory.glob(".tmp-*"))  # written atomically, nothing left behind


def test_changed_input_or_parameter_recomputes(tmp_path):
    _run(_context(tmp_path))
    assert _run(_context(tmp_path), value=1) == [{"computation_result": 3}]
    assert _run(_context(tmp_path, multiplier=4)) == [{"computation_result": 168}]
    assert runs == ["compute"] * 3


def test_overwrite_cache_recomputes(tmp_path):
    _run(_context(tmp_path))
    context = _context(tmp_path)
    context.overwrite_cache = True
    _run(context)
    assert runs == ["compute", "compute"]


def test_configured_cache_directory(tmp_path):
    _run(_context(tmp_path, workflow_cache_dir=str(tmp_path / "elsewhere")))
    assert len(list((tmp_path / "elsewhere").glob("*.pkl"))) == 1
    assert not (tmp_path / "tmp" / "workflow_cache").exists()


def test_unreadable_entry_is_logged_and_recomputed(tmp_path, caplog):
    _run(_context(tmp_path))
    (entry,) = (tmp_path / "tmp" / "workflow_cache").glob("*.pkl")
    entry.write_bytes(b"not a pickle")
    with caplog.at_level(logging.WARNING):
        assert _run(_context(tmp_path)) == [{"computation_result": 126}]
    assert runs == ["compute", "compute"]
    assert "unreadable" in caplog.text
    assert _run(_context(tmp_path)) == [{"computation_result": 126}]  # repaired
    assert runs == ["compute", "compute"]


def test_failed_write_leaves_no_entry(tmp_path, monkeypatch, caplog):
    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with caplog.at_level(logging.WARNING):
        assert _run(_context(tmp_path)) == [{"computation_result": 126}]
    assert "cannot store workflow cache entry" in caplog.text
    assert not list((tmp_path / "tmp" / "workflow_cache").iterdir())


# ---------------------------------------------------------------- key properties

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=12,
)
param_values = st.integers() | st.text(max_size=6) | st.lists(st.integers(), max_size=3)


def _make_task(version: int):
    if version == 0:
        def Work(raw_data, factor: Parameter()) -> {"out": object}:
            return (raw_data, factor)
    else:
        def Work(raw_data, factor: Parameter()) -> {"out": object}:
            return (factor, raw_data)  # edited code
    return as_task(Work)


WORK = [_make_task(0), _make_task(1)]


@as_task
def Other(out, factor: Parameter()) -> {"other": object}:
    return (out, factor)


def _key(inputs, work_factor, other_factor=0, version=0):
    context = PipelineContext(config={"parameters": {
        "work": {"factor": work_factor}, "other": {"factor": other_factor}}})
    with activate(context):
        @as_workflow(cache=True)
        def keyed():
            WORK[version]() | Other()

        workflow = keyed()
        workflow.validate(root=False)
        return cache_key(workflow, {"raw_data": inputs})


common = settings(max_examples=60, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])


@common
@given(json_values, param_values)
def test_same_inputs_give_the_same_key(value, factor):
    assert _key(value, factor) == _key(value, factor)


@common
@given(json_values, json_values, param_values)
def test_different_inputs_give_different_keys(first, second, factor):
    assume(first != second)
    assert _key(first, factor) != _key(second, factor)


@common
@given(json_values, param_values, param_values)
def test_different_parameters_give_different_keys(value, first, second):
    assume(first != second)
    assert _key(value, first) != _key(value, second)


@common
@given(param_values, param_values)
def test_parameters_are_namespaced_per_task(first, second):
    assume(first != second)
    assert _key(1, first, second) != _key(1, second, first)


@common
@given(json_values, param_values)
def test_edited_task_code_gives_a_different_key(value, factor):
    assert _key(value, factor, version=0) != _key(value, factor, version=1)


@given(st.dictionaries(st.text(max_size=5), st.integers(), max_size=6))
def test_dict_order_and_set_order_do_not_matter(mapping):
    reordered = dict(reversed(list(mapping.items())))
    assert stable_hash(mapping) == stable_hash(reordered)
    assert stable_hash(set(mapping)) == stable_hash(set(reversed(list(mapping))))


def test_values_of_different_types_differ():
    assert len({stable_hash(v) for v in (1, 1.0, True, "1", b"1", [1], (1,))}) == 7


def test_keys_are_stable_across_processes(tmp_path):
    module = tmp_path / "keyed_pipeline.py"
    module.write_text(textwrap.dedent("""
        from outflow.core.pipeline.context import PipelineContext, activate
        from outflow.core.tasks import as_task
        from outflow.core.types import Parameter
        from outflow.core.workflow import as_workflow
        from outflow.core.workflow.cache import cache_key

        @as_task
        def Work(raw_data: set, factor: Parameter(dict)) -> {"out": int}:
            return len(raw_data)

        @as_workflow(cache=True)
        def keyed():
            Work()

        context = PipelineContext(config={"parameters": {"work": {"factor": {"b": {"x", "y"}}}}})
        with activate(context):
            workflow = keyed()
            workflow.validate(root=False)
            print(cache_key(workflow, {"raw_data": {"alpha", "beta", "gamma", "delta"}}))
    """))
    keys = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed,
               "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
        output = subprocess.run([sys.executable, str(module)], env=env, check=True,
                                capture_output=True, text=True).stdout
        keys.add(output.strip())
    assert len(keys) == 1 and len(keys.pop()) == 64

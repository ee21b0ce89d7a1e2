"""A workflow cache you can trust: private directories only, keys that see helper code."""

# ruff: noqa: F821 - outflow's documented output annotations, `-> {"name": type}`,
# are dict literals whose string keys pyflakes mistakes for forward references.

import importlib
import os
import pickle
import sys
import textwrap
import time
from pathlib import Path

import pytest

from outflow.core.backends import Backend
from outflow.core.pipeline.context import PipelineContext, activate
from outflow.core.pipeline.settings import Settings
from outflow.core.private_directory import UnsafeDirectoryError, private_directory
from outflow.core.tasks import TaskError, as_task
from outflow.core.workflow import Workflow, as_workflow
from outflow.core.workflow.cache import WorkflowCache, cache_key, package_sources

#: A uid that is not ours (nobody), for directories another user owns.
OTHER_UID = 65534
as_root = pytest.mark.skipif(os.geteuid() != 0,
                             reason="giving a directory to another user needs root")


class Planted:
    """Unpickling it writes a marker: what a planted cache entry would run."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path(self.marker).write_text, ("planted code ran",))


@as_task
def Double(x: int) -> {"doubled": int}:
    return 2 * x


@as_task
def Three() -> {"x": int}:
    return 3


@as_workflow(cache=True)
def doubled():
    Double()


def _run(tmp_path: Path, cache_dir: Path) -> list[dict]:
    context = PipelineContext(settings=Settings(TEMP_DIR=tmp_path / "tmp"),
                              config={"workflow_cache_dir": str(cache_dir)})
    with activate(context):
        with Workflow(name="top") as top:
            Three() | doubled()
        return Backend(context).run(top)


def _plant(directory: Path, marker: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for key in ("a" * 64, "b" * 64):
        (directory / f"{key}.pkl").write_bytes(pickle.dumps(Planted(str(marker))))


def test_a_new_cache_directory_is_private(tmp_path):
    directory = private_directory(tmp_path / "a" / "cache", "workflow cache directory")
    assert directory.stat().st_mode & 0o777 == 0o700


def test_a_directory_others_can_write_to_is_refused_before_any_read(tmp_path):
    directory, marker = tmp_path / "cache", tmp_path / "marker"
    _plant(directory, marker)
    directory.chmod(0o777)
    cache = WorkflowCache(directory)
    with pytest.raises(UnsafeDirectoryError, match=r"writable by its group and others .*"
                                                   r"chmod go-w"):
        cache.load("a" * 64)
    with pytest.raises(UnsafeDirectoryError):
        cache.store("c" * 64, {"x": 1}, "identity")
    assert not marker.exists()


@as_root
def test_a_directory_of_another_user_is_refused_before_any_read(tmp_path):
    directory, marker = tmp_path / "cache", tmp_path / "marker"
    _plant(directory, marker)
    directory.chmod(0o700)
    os.chown(directory, OTHER_UID, OTHER_UID)
    with pytest.raises(UnsafeDirectoryError, match=f"belongs to user id {OTHER_UID}"):
        WorkflowCache(directory).load("a" * 64)
    assert not marker.exists()


@as_root
def test_a_file_of_another_user_in_a_private_directory_is_refused(tmp_path):
    directory, marker = tmp_path / "cache", tmp_path / "marker"
    _plant(directory, marker)
    directory.chmod(0o700)
    os.chown(directory / f"{'a' * 64}.pkl", OTHER_UID, OTHER_UID)
    with pytest.raises(UnsafeDirectoryError, match="file .* belongs to user id 65534"):
        WorkflowCache(directory).load("a" * 64)
    assert not marker.exists()


def test_a_run_with_an_unsafe_cache_directory_fails_naming_it(tmp_path):
    directory = tmp_path / "shared_cache"
    directory.mkdir(mode=0o700)
    directory.chmod(0o775)
    with pytest.raises(TaskError) as caught:
        _run(tmp_path, directory)
    assert isinstance(caught.value.__cause__, UnsafeDirectoryError)
    assert str(directory) in str(caught.value)


def test_clear_and_entries(tmp_path):
    cache = WorkflowCache(tmp_path / "cache")
    assert cache.entries() == []
    for key in ("a", "b"):
        cache.store(key * 64, {"x": key}, "identity")
    assert [path.name for path in cache.entries()] == ["a" * 64 + ".pkl", "b" * 64 + ".pkl"]
    assert cache.clear() == 2 and cache.entries() == []


HELPER = "def scale(x):\n    return x * {factor}\n"
TASKS = '''
from outflow.core.tasks import as_task

from {package}.helper import scale


@as_task
def Scaled(x: int) -> {{"scaled": int}}:
    return scale(x)
'''


def _plugin(tmp_path: Path, package: str, factor: int) -> Path:
    root = tmp_path / "plugins"
    (root / package).mkdir(parents=True, exist_ok=True)
    (root / package / "__init__.py").write_text("")
    (root / package / "helper.py").write_text(HELPER.format(factor=factor))
    (root / package / "tasks.py").write_text(textwrap.dedent(TASKS.format(package=package)))
    return root


def test_the_key_sees_a_helper_edited_in_another_module_of_the_plugin(tmp_path, monkeypatch):
    package = "cacheplug_helpers"
    monkeypatch.syspath_prepend(str(_plugin(tmp_path, package, 2)))
    context = PipelineContext(settings=Settings(PLUGINS=[package]), config={})
    with activate(context):
        tasks = importlib.import_module(f"{package}.tasks")
        before = package_sources(tasks.Scaled.__module__)
        workflow = Workflow(tasks.Scaled(), name="scaled")
        workflow.validate(root=False)
        key_before = cache_key(workflow, {"x": 1})
        time.sleep(0.01)  # a new modification time, whatever the file system's resolution
        (tmp_path / "plugins" / package / "helper.py").write_text(HELPER.format(factor=3))
        assert package_sources(tasks.Scaled.__module__) != before
        workflow = Workflow(tasks.Scaled(), name="scaled")
        workflow.validate(root=False)
        assert cache_key(workflow, {"x": 1}) != key_before
    for name in [name for name in sys.modules if name.startswith(package)]:
        del sys.modules[name]


def test_a_module_outside_any_plugin_counts_alone(tmp_path, monkeypatch):
    package = "cacheplug_alone"
    monkeypatch.syspath_prepend(str(_plugin(tmp_path, package, 2)))
    with activate(PipelineContext(settings=Settings(PLUGINS=[]), config={})):
        digest = package_sources(f"{package}.tasks")
        (tmp_path / "plugins" / package / "helper.py").write_text(HELPER.format(factor=5))
        assert package_sources(f"{package}.tasks") == digest  # only tasks.py counts


def test_cache_version_forces_a_new_key(pipeline):
    first = Workflow(Double(), name="double", cache=True)
    second = Workflow(Double(), name="double", cache=True, cache_version=2)
    for workflow in (first, second):
        workflow.validate(root=False)
    assert cache_key(first, {"x": 1}) != cache_key(second, {"x": 1})

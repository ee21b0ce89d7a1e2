"""The workflow cache under faults: planted entries, shared directories, edited code."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from faultkit import FaultPipeline

OTHER_UID = 65534  # nobody


class Planted:
    """Unpickling it writes a marker: what a planted cache entry would run."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path(self.marker).write_text, ("planted code ran",))


def _use_cache_dir(pipeline: FaultPipeline, directory: Path) -> None:
    config = pipeline.root / "config.yml"
    config.write_text(config.read_text() + f"workflow_cache_dir: {directory}\n")


def _plant(directory: Path, marker: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(3):
        (directory / f"{index:064x}.pkl").write_bytes(pickle.dumps(Planted(str(marker))))


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root")
@pytest.mark.parametrize("backend", ["default", "parallel"])
def test_a_planted_entry_in_a_foreign_directory_is_never_read(
        fault_pipeline: FaultPipeline, tmp_path: Path, backend: str) -> None:
    directory, marker = tmp_path / "shared" / "cache", tmp_path / "marker"
    _plant(directory, marker)
    os.chown(directory, OTHER_UID, OTHER_UID)
    _use_cache_dir(fault_pipeline, directory)
    done = fault_pipeline.run("fault_map", "--n", "3", "--sleep", "0", "--cache",
                              "-b", backend)
    assert done.returncode == 1
    line = done.stderr.strip().splitlines()[-1]
    assert str(directory) in line and f"belongs to user id {OTHER_UID}" in line, done.stderr
    assert not marker.exists()
    assert fault_pipeline.last_run()[1] == "failed"
    assert fault_pipeline.logged("start") == []  # refused before any item ran


def test_a_directory_others_can_write_to_is_refused(fault_pipeline: FaultPipeline,
                                                    tmp_path: Path) -> None:
    directory, marker = tmp_path / "shared" / "cache", tmp_path / "marker"
    _plant(directory, marker)
    directory.chmod(0o777)
    _use_cache_dir(fault_pipeline, directory)
    done = fault_pipeline.run("fault_map", "--n", "3", "--sleep", "0", "--cache")
    assert done.returncode == 1
    assert "writable by its group and others" in done.stderr.strip().splitlines()[-1]
    assert not marker.exists()


def test_editing_a_module_of_the_plugin_recomputes(fault_pipeline: FaultPipeline) -> None:
    def run() -> set[int]:
        fault_pipeline.log.write_text("")
        done = fault_pipeline.run("fault_map", "--n", "4", "--sleep", "0", "--cache")
        assert done.returncode == 0, done.stderr
        return {value for value, _ in fault_pipeline.logged("start")}

    assert run() == {0, 1, 2, 3}
    assert run() == set()  # every item read from the cache
    helper = fault_pipeline.root / "plugins" / "faultplug" / "faultplug" / "helpers.py"
    helper.write_text("FACTOR = 1  # a helper the tasks could call, edited\n")
    assert run() == {0, 1, 2, 3}


def test_cache_info_and_clear(fault_pipeline: FaultPipeline) -> None:
    done = fault_pipeline.run("fault_map", "--n", "4", "--sleep", "0", "--cache")
    assert done.returncode == 0, done.stderr
    info = fault_pipeline.run("management", "cache", "info")
    assert info.returncode == 0, info.stderr
    assert "4 entries" in info.stdout
    cleared = fault_pipeline.run("management", "cache", "clear")
    assert cleared.stdout.startswith("removed 4 entries from ")
    assert "no entry" in fault_pipeline.run("management", "cache", "info").stdout

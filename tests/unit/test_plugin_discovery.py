"""The entry-point cache: right after every install and uninstall, and cheap otherwise.

Each test builds a small ``sys.path`` of real directories holding real
``*.dist-info`` metadata, so ``importlib.metadata`` runs for real behind the cache.
"""

from __future__ import annotations

import importlib.metadata  # noqa: F401 - imported before sys.path is narrowed
import os
import shutil
import sys
from pathlib import Path

import pytest

from outflow.core.plugins import discovery
from outflow.core.plugins.discovery import EntryPointInfo, discover_entry_points


def install(site: Path, distribution: str, version: str, entry_points: dict[str, str]) -> Path:
    """Write the metadata pip leaves for a distribution declaring ``outflow.plugins``."""
    info = site / f"{distribution.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n")
    lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[outflow.plugins]\n{lines}")
    return info


def age(path: Path, seconds: float = 60) -> None:
    """Move a directory's time into the past, as it is for anything installed earlier."""
    stamp = path.stat().st_mtime - seconds
    os.utime(path, (stamp, stamp))


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A ``sys.path`` of two directories, a private cache, and a count of real scans."""
    site, workdir = tmp_path / "site", tmp_path / "work"
    site.mkdir()
    workdir.mkdir()
    monkeypatch.setattr(sys, "path", [str(workdir), str(site)])
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("OUTFLOW_NO_PLUGIN_CACHE", raising=False)
    scans: list[int] = []
    real_scan = discovery.scan_entry_points

    def counting_scan() -> list[EntryPointInfo]:
        scans.append(1)
        return real_scan()

    monkeypatch.setattr(discovery, "scan_entry_points", counting_scan)
    return site, workdir, scans


def names(infos: list[EntryPointInfo]) -> list[str]:
    return [info.name for info in infos]


def test_second_start_reads_the_cache(environment):
    site, workdir, scans = environment
    install(site, "outflow-alpha", "1.0", {"alpha": "alpha.plugin"})
    age(site)
    age(workdir)
    first = discover_entry_points()
    assert first == [EntryPointInfo("alpha", "alpha.plugin", "outflow-alpha", "1.0")]
    assert discover_entry_points() == first
    assert len(scans) == 1


def test_install_and_uninstall_are_seen_at_once(environment):
    site, _, scans = environment
    alpha = install(site, "outflow-alpha", "1.0", {"alpha": "alpha.plugin"})
    assert names(discover_entry_points()) == ["alpha"]
    # Installed within the same clock tick as the look above, so the directory's
    # time does not move: still seen.
    tick = site.stat().st_mtime_ns
    install(site, "outflow-beta", "2.0", {"beta": "beta.plugin"})
    os.utime(site, ns=(tick, tick))
    assert names(discover_entry_points()) == ["alpha", "beta"]
    shutil.rmtree(alpha)
    assert names(discover_entry_points()) == ["beta"]
    assert len(scans) == 3


def test_upgrade_in_place_is_seen(environment):
    site, _, _ = environment
    old = install(site, "outflow-alpha", "1.0", {"alpha": "alpha.plugin"})
    age(old)
    age(site)
    assert discover_entry_points()[0].version == "1.0"
    shutil.rmtree(old)
    install(site, "outflow-alpha", "1.1", {"alpha": "alpha.plugin"})
    assert discover_entry_points()[0].version == "1.1"


def test_unrelated_changes_in_the_working_directory_cost_no_scan(environment):
    site, workdir, scans = environment
    install(site, "outflow-alpha", "1.0", {"alpha": "alpha.plugin"})
    age(site)
    discover_entry_points()
    for step in range(3):  # a run's journal file comes and goes
        journal = workdir / f"outflow.db-{step}"
        journal.write_text("")
        assert names(discover_entry_points()) == ["alpha"]
        journal.unlink()
    assert len(scans) == 1


def test_a_distribution_in_the_working_directory_is_seen(environment):
    _, workdir, _ = environment
    assert discover_entry_points() == []
    install(workdir, "outflow-local", "0.1", {"local": "local.plugin"})
    assert names(discover_entry_points()) == ["local"]


def test_a_corrupt_cache_is_rewritten(environment):
    site, _, scans = environment
    install(site, "outflow-alpha", "1.0", {"alpha": "alpha.plugin"})
    age(site)
    discover_entry_points()
    cache_file = Path(discovery.cache_file_for(list(sys.path)))
    cache_file.write_bytes(b"not marshal data")
    assert names(discover_entry_points()) == ["alpha"]
    assert names(discover_entry_points()) == ["alpha"]
    assert len(scans) == 2


def test_the_cache_can_be_turned_off(environment, monkeypatch: pytest.MonkeyPatch):
    site, _, scans = environment
    install(site, "outflow-alpha", "1.0", {"alpha": "alpha.plugin"})
    monkeypatch.setenv("OUTFLOW_NO_PLUGIN_CACHE", "1")
    discover_entry_points()
    discover_entry_points()
    assert len(scans) == 2
    assert not (Path(os.environ["XDG_CACHE_HOME"]) / "outflow").exists()


def test_old_cache_files_are_pruned(environment, monkeypatch: pytest.MonkeyPatch):
    _, workdir, _ = environment
    for index in range(discovery._KEEP + 3):
        monkeypatch.setattr(sys, "path", [str(workdir), f"/nonexistent/{index}"])
        discover_entry_points()
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "outflow"
    assert len(list(cache.glob("entry-points-*"))) == discovery._KEEP

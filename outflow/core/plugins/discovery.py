"""Find the entry points of the group ``outflow.plugins``, with a start-up cache.

``importlib.metadata`` costs about 50 ms to import and scan on these machines, more
than the rest of ``outflow --help``. The scan's result is therefore cached, one
small file per ``sys.path`` (that is, per environment and launcher).

The cache must notice every ``pip install`` and ``pip uninstall`` while costing
almost nothing when nothing changed. Installing or removing a distribution adds or
removes ``*.dist-info``, ``*.egg-info`` or ``*.pth`` entries in a ``sys.path``
directory, which changes that directory's modification time. So:

1. one ``stat`` per ``sys.path`` directory; a directory whose time is the cached one
   is unchanged;
2. a directory whose time moved (the working directory does so all the time: a
   SQLite journal appears and goes) is listed again, and only if its distribution
   entries (names and times) differ from the cached ones is the real scan run;
3. the cache is rewritten whenever anything moved, so step 2 happens once per change.

File times advance in ticks of a few milliseconds, so a directory changed in the
same tick as it was looked at would keep its time. As git does for its index, a
directory whose time is that recent when the cache is written is stored as "racy"
and listed again next time.

``OUTFLOW_NO_PLUGIN_CACHE=1`` turns the cache off.
"""

from __future__ import annotations

import marshal
import os
import sys
import time
from typing import Any

from outflow.core.atomic_write import write_atomically
from outflow.core.plugins import ENTRY_POINT_GROUP
from outflow.core.records import FrozenRecord

_CACHE_FORMAT = 2
_KEEP = 8  # cache files kept: one per environment recently used
_DISTRIBUTION_SUFFIXES = (".dist-info", ".egg-info", ".pth")
_RACY_NS = 2_000_000_000  # a directory changed this recently is listed again next time
_RACY = -1  # the stored time of such a directory: it never matches a real one

# Per directory: (its st_mtime_ns, or None when it cannot be read; its distribution
# entries as "name@mtime" text).
DirectoryState = tuple[int | None, str]


class EntryPointInfo(FrozenRecord):
    """What the host needs of one entry point, without importing its target."""

    __slots__ = ("name", "value", "distribution", "version")

    def __init__(self, name: str, value: str, distribution: str | None,
                 version: str | None) -> None:
        self.name = name
        self.value = value
        self.distribution = distribution
        self.version = version

    @property
    def module(self) -> str:
        return self.value.partition(":")[0].strip()



def discover_entry_points() -> list[EntryPointInfo]:
    """Return the ``outflow.plugins`` entry points of the running environment."""
    if os.environ.get("OUTFLOW_NO_PLUGIN_CACHE"):
        return scan_entry_points()
    paths = list(sys.path)
    cache_file = cache_file_for(paths)
    cached = _read_cache(cache_file, paths)
    cached_dirs: dict[str, DirectoryState] = cached["directories"] if cached else {}
    directories, moved = directory_states(paths, cached_dirs)
    if cached is not None and not moved:
        return [EntryPointInfo(*item) for item in cached["entry_points"]]
    if cached is not None and all(directories[p][1] == cached_dirs.get(p, (None, ""))[1]
                                  for p in moved):
        infos = [EntryPointInfo(*item) for item in cached["entry_points"]]
    else:
        infos = scan_entry_points()
    _write_cache(cache_file, paths, directories, infos, prune=cached is None)
    return infos


def scan_entry_points() -> list[EntryPointInfo]:
    """The real, uncached scan through ``importlib.metadata``."""
    from importlib.metadata import MetadataPathFinder, entry_points

    # importlib.metadata caches each directory's listing by its time in a process;
    # a process that scans again (a shell, a test) has been told something changed.
    try:
        MetadataPathFinder.invalidate_caches()
    except TypeError:  # before 3.12 it is declared without @classmethod
        MetadataPathFinder.invalidate_caches(MetadataPathFinder)  # type: ignore[arg-type]

    found: dict[str, EntryPointInfo] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        info = EntryPointInfo(
            name=ep.name,
            value=ep.value,
            distribution=dist.metadata["Name"] if dist is not None else None,
            version=dist.version if dist is not None else None,
        )
        # The first distribution on sys.path wins, as it does for imports.
        found.setdefault(ep.name, info)
    return sorted(found.values(), key=lambda info: info.name)


def directory_states(
    paths: list[str], cached: dict[str, DirectoryState]
) -> tuple[dict[str, DirectoryState], list[str]]:
    """The state of each path directory, and the directories whose time moved.

    Only moved directories are listed; the others keep their cached entries.
    """
    states: dict[str, DirectoryState] = {}
    moved: list[str] = []
    racy_since = time.time_ns() - _RACY_NS
    for entry in paths:
        if entry in states:
            continue
        try:
            mtime: int | None = os.stat(entry or ".").st_mtime_ns
        except OSError:
            mtime = None
        previous = cached.get(entry)
        if previous is not None and previous[0] == mtime:
            states[entry] = previous
            continue
        entries = distribution_entries(entry) if mtime is not None else ""
        stored = _RACY if mtime is not None and mtime >= racy_since else mtime
        states[entry] = (stored, entries)
        moved.append(entry)
    return states, moved


def distribution_entries(directory: str) -> str:
    """The ``*.dist-info``, ``*.egg-info`` and ``*.pth`` entries of a directory, with times."""
    parts: list[str] = []
    try:
        with os.scandir(directory or ".") as children:
            for child in children:
                if child.name.endswith(_DISTRIBUTION_SUFFIXES):
                    parts.append(f"{child.name}@{child.stat().st_mtime_ns}")
    except OSError:
        return "-"
    return "|".join(sorted(parts))


def cache_file_for(paths: list[str]) -> str:
    """One cache file per ``sys.path``.

    The name hashes a tuple of the path's bytes: integers hash alike in every process,
    unlike ``str`` (``PYTHONHASHSEED``), and neither ``hashlib`` nor ``zlib`` need be
    imported. The file stores the path whole, so a collision costs a rescan, never a
    wrong answer.
    """
    key = hash(tuple("\0".join(paths).encode(errors="surrogateescape"))) & 0xFFFFFFFFFFFF
    return os.path.join(cache_dir(), f"entry-points-{key:012x}.marshal")


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "outflow")


def _read_cache(cache_file: str, paths: list[str]) -> dict[str, Any] | None:
    # marshal rather than json: a builtin module, nothing to import at start-up. A file
    # written by another Python version fails to load and is simply rewritten.
    try:
        with open(cache_file, "rb") as handle:
            data = marshal.load(handle)
        if data["format"] == _CACHE_FORMAT and data["paths"] == paths:
            return data  # type: ignore[no-any-return]
    except (OSError, ValueError, TypeError, KeyError, EOFError):
        pass
    return None


def _write_cache(cache_file: str, paths: list[str], directories: dict[str, DirectoryState],
                 infos: list[EntryPointInfo], prune: bool) -> None:
    payload = {
        "format": _CACHE_FORMAT,
        "paths": paths,
        "directories": directories,
        "entry_points": [info.values() for info in infos],
    }
    _store(cache_file, marshal.dumps(payload), prune)


def _store(path: str, data: bytes, prune: bool) -> None:
    """Write the cache file; failures are ignored (the next start scans again).

    ``prune`` (when a new cache file appears) removes all but the newest ``_KEEP``.
    """
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, exist_ok=True)
        write_atomically(path, data)
        if not prune:
            return
        caches = [os.path.join(directory, name) for name in os.listdir(directory)
                  if name.startswith("entry-points-")]
        for old in sorted(caches, key=os.path.getmtime)[:-_KEEP]:
            os.unlink(old)
    except OSError:
        pass

"""Find the entry points of the group ``outflow.plugins``, with a start-up cache.

``importlib.metadata`` costs about 50 ms to import and scan on these machines, more
than the rest of ``outflow --help``. The scan's result is therefore cached in a
small file keyed by a fingerprint of ``sys.path``: the names and modification
times of the ``*.dist-info``, ``*.egg-info`` and ``*.pth`` entries of each path
directory (not the directories' own times: the working directory is on the path
and changes all the time). Any ``pip install`` or ``pip uninstall`` changes that
fingerprint, so the cache is never stale in practice;
``OUTFLOW_NO_PLUGIN_CACHE=1`` turns it off.
"""

from __future__ import annotations

import marshal
import os
import sys
import zlib
from dataclasses import asdict, dataclass

from outflow.core.plugins import ENTRY_POINT_GROUP

_CACHE_FORMAT = 1
_KEEP = 8  # cache files kept: one per environment recently used


@dataclass(frozen=True)
class EntryPointInfo:
    """What the host needs of one entry point, without importing its target."""

    name: str
    value: str
    distribution: str | None
    version: str | None

    @property
    def module(self) -> str:
        return self.value.partition(":")[0].strip()


def _path_fingerprint(paths: list[str]) -> str:
    """Text that changes whenever a distribution is installed or removed on ``paths``.

    The cache file is named by a CRC of it and stores it whole: a CRC collision
    therefore costs a rescan, never a wrong answer (and ``hashlib`` stays unimported).
    """
    parts = [str(_CACHE_FORMAT)]
    for entry in paths:
        parts.append(f"|{entry}")
        try:
            with os.scandir(entry or ".") as children:
                for child in children:
                    if child.name.endswith((".dist-info", ".egg-info", ".pth")):
                        parts.append(f":{child.name}@{child.stat().st_mtime_ns}")
        except OSError:
            parts.append(":-")
    return "".join(parts)


def _cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "outflow")


def _scan() -> list[EntryPointInfo]:
    from importlib.metadata import entry_points

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


def discover_entry_points() -> list[EntryPointInfo]:
    """Return the ``outflow.plugins`` entry points of the running environment."""
    if os.environ.get("OUTFLOW_NO_PLUGIN_CACHE"):
        return _scan()
    fingerprint = _path_fingerprint(list(sys.path))
    key = zlib.crc32(fingerprint.encode(errors="surrogateescape"))
    # marshal rather than json: a builtin module, nothing to import at start-up. A file
    # written by another Python version fails to load and is simply rewritten.
    cache_file = os.path.join(_cache_dir(), f"entry-points-{key:08x}.marshal")
    try:
        with open(cache_file, "rb") as handle:
            data = marshal.load(handle)
        if data["fingerprint"] == fingerprint:
            return [EntryPointInfo(**item) for item in data["entry_points"]]
    except (OSError, ValueError, TypeError, KeyError, EOFError):
        pass
    infos = _scan()
    payload = {"fingerprint": fingerprint, "entry_points": [asdict(info) for info in infos]}
    _write_atomically(cache_file, marshal.dumps(payload))
    return infos


def _write_atomically(path: str, data: bytes) -> None:
    """Write the cache without ever leaving a half-written file; failures are ignored."""
    import tempfile

    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
        caches = [os.path.join(directory, name) for name in os.listdir(directory)
                  if name.startswith("entry-points-")]
        for old in sorted(caches, key=os.path.getmtime)[:-_KEEP]:
            os.unlink(old)
    except OSError:
        pass

"""Measure first: how long items of each mapped workflow take, remembered across runs.

Why: starting a pool of processes costs a fixed time (on a 2-core machine, about
10 ms to fork the workers and 6 ms to stop them, plus the workers' set-up while
they compete with the driver for the CPUs). A map of a few hundred trivial items
is done sooner in the calling process. How long an item takes cannot be known
before running some, and running a probe in the calling process first would
delay every map of slow items by one item (with 8 items of 0.5 s on 2 cores, 25%
of the run). So the first map of a workflow always uses the pool, and the
average item duration measured there (in the workers, or wherever the items ran)
is kept; later runs of the same workflow, the usual case of a pipeline run again
and again, run in this process when ``seconds per item x items`` is smaller than
what the pool would save (its measured start-up and shut-down time, times
``workers / (workers - 1)``).

Workflows are identified by their identity (class and definition function) and
the classes of their inner blocks. The durations live in ``settings.TEMP_DIR /
"parallel-timings.json"``, written atomically once per run (in ``close()``); a
missing, unreadable or unwritable file only means measuring again.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

#: Pool start-up and shut-down times assumed until measured on this machine.
DEFAULT_POOL_SECONDS = {"start": 0.02, "stop": 0.01}
#: Weight of the newest measurement in the running averages.
_NEW = 0.5
#: A measurement within this fraction of the average changes nothing (and writes no file).
_SAME = 0.5
#: Workflows remembered: the most recently used ones.
_KEEP = 256
_FORMAT = 1


class ItemTimings:
    """Seconds per item of mapped workflows, and the pool's own cost, for one run."""

    FILE = "parallel-timings.json"

    def __init__(self, path: Path | None, enabled: bool = True) -> None:
        self.path = path
        self.enabled = enabled
        self._data: dict[str, Any] | None = None
        self._dirty = False

    @classmethod
    def for_context(cls, pipeline_context: Any, enabled: bool = True) -> ItemTimings:
        """The timings file of ``pipeline_context``'s ``settings.TEMP_DIR``."""
        try:
            path: Path | None = Path(pipeline_context.settings.TEMP_DIR) / cls.FILE
        except Exception:  # noqa: BLE001 - no usable TEMP_DIR: measure every time
            path = None
        return cls(path, enabled)

    # -- the file -----------------------------------------------------------------
    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = self._read()
        return self._data

    def _read(self) -> dict[str, Any]:
        empty: dict[str, Any] = {"format": _FORMAT, "items": {}, "pool": {}}
        if self.path is None or not self.enabled:
            return empty
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return empty
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            return empty
        if not isinstance(data.get("items"), dict) or not isinstance(data.get("pool"), dict):
            return empty
        return data

    def save(self) -> None:
        """Write the file if something was measured (atomically; failures are ignored)."""
        if not self._dirty or self.path is None or not self.enabled:
            return
        data = self.data
        items = data["items"]
        if len(items) > _KEEP:
            recent = sorted(items, key=lambda key: items[key][1], reverse=True)[:_KEEP]
            data["items"] = {key: items[key] for key in recent}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".timings-")
            with os.fdopen(fd, "w") as handle:
                json.dump(data, handle)
            os.replace(temporary, self.path)
        except OSError:
            return
        self._dirty = False

    # -- reading and recording ----------------------------------------------------
    def key(self, workflow: Any) -> str | None:
        """The workflow's identity and the classes of its blocks, or None (no plan).

        Cheaper than the cache's plan fingerprint (which reads the tasks' source
        code): a changed task is measured again within a run or two anyway.
        """
        if not self.enabled:
            return None
        plan = getattr(workflow, "plan", None)
        if plan is None:
            return None
        names = [str(getattr(workflow, "identity", type(workflow).__qualname__))]
        names += [f"{type(step.block).__module__}.{type(step.block).__qualname__}"
                  for step in plan.steps]
        text = "|".join(names)
        return f"{zlib.crc32(text.encode()):08x}{len(text):04x}"

    def item_seconds(self, key: str | None) -> float | None:
        entry = self.data["items"].get(key) if key is not None else None
        return float(entry[0]) if entry else None

    def pool_seconds(self) -> float:
        """Measured (or assumed) start-up plus shut-down time of a pool."""
        pool = self.data["pool"]
        return sum(float(pool.get(part, default)) for part, default in
                   DEFAULT_POOL_SECONDS.items())

    def too_small(self, key: str | None, items: int, workers: int) -> bool:
        """Whether running ``items`` here beats starting a pool of ``workers``."""
        if workers < 2:
            return True
        seconds = self.item_seconds(key)
        if seconds is None:
            return False  # never measured: the pool (see the module doc)
        return seconds * items < self.pool_seconds() * workers / (workers - 1)

    def record(self, key: str | None, seconds: float | None) -> None:
        """Fold a measured average duration per item into the running average."""
        if key is None or seconds is None or not self.enabled:
            return
        items = self.data["items"]
        previous = self.item_seconds(key)
        if previous is not None and abs(seconds - previous) <= _SAME * previous:
            return  # nothing new: no file to write
        value = seconds if previous is None else _NEW * seconds + (1 - _NEW) * previous
        items[key] = [value, time.time()]
        self._dirty = True

    def record_pool(self, seconds: float, part: str = "start") -> None:
        """Fold a measured pool start-up (or ``part="stop"``) time into the average."""
        if not self.enabled or seconds < 0:
            return
        pool = self.data["pool"]
        previous = pool.get(part)
        if previous is not None and abs(seconds - previous) <= _SAME * previous:
            return
        pool[part] = seconds if previous is None else _NEW * seconds + (1 - _NEW) * previous
        self._dirty = True


__all__ = ["DEFAULT_POOL_SECONDS", "ItemTimings"]

"""``management cache info|clear``: what the workflow cache holds, and emptying it.

The cache directory is ``config["workflow_cache_dir"]``, else ``TEMP_DIR /
workflow_cache`` (see :mod:`outflow.core.workflow.cache`). Both commands refuse a
directory that is not private to the user, like every run does.
"""

from __future__ import annotations

from typing import Any

from outflow.core.commands import Command
from outflow.management.commands import Management


def _cache() -> Any:
    from outflow.core.pipeline.context import active_context
    from outflow.core.workflow.cache import WorkflowCache, cache_directory

    return WorkflowCache(cache_directory(active_context()))


def _size(count: float) -> str:
    """``532 B``, ``12.3 kB``, ``4.5 MB``..."""
    units = ["B", "kB", "MB", "GB"]
    while count >= 1000 and len(units) > 1:
        count /= 1000
        units.pop(0)
    return f"{count:.0f} B" if units[0] == "B" else f"{count:.1f} {units[0]}"


@Management.subcommand(invokable=False, db_untracked=True)
class Cache(Command):
    """Inspect or empty the workflow cache: info, clear."""


@Cache.subcommand(db_untracked=True)
class Info(Command):
    """Show where the workflow cache is, how many entries it holds and their size."""

    def setup_tasks(self) -> None:
        cache = _cache()
        entries = cache.entries()
        print(f"workflow cache: {cache.directory}")
        if not entries:
            print("no entry")
            return
        stats = [path.stat() for path in entries]
        total = sum(stat.st_size for stat in stats)
        print(f"{len(entries)} entries, {_size(total)}")
        oldest, newest = (min(s.st_mtime for s in stats), max(s.st_mtime for s in stats))
        print(f"oldest {_when(oldest)}, newest {_when(newest)}")


def _when(timestamp: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


@Cache.subcommand(db_untracked=True)
class Clear(Command):
    """Delete every entry of the workflow cache (the next runs compute them again)."""

    def setup_tasks(self) -> None:
        cache = _cache()
        removed = cache.clear()
        print(f"removed {removed} entr{'y' if removed == 1 else 'ies'} from {cache.directory}")

"""The ``default`` backend (alias ``sequential``): every block, one after the other, here.

Tasks pass their output dicts to the next ones without copies or serialisation,
so objects may be as big as memory allows. MapWorkflows run their items in turn.
All of this is what :class:`outflow.core.backends.Backend` already does; this
class gives it its registered name and its capabilities.
"""

from __future__ import annotations

from typing import ClassVar

from outflow.core.backends import Backend, Capabilities


class SequentialBackend(Backend):
    """Runs the workflow in the calling process, in topological order."""

    name: ClassVar[str] = "default"
    capabilities: ClassVar[Capabilities] = Capabilities(
        parallel=False, other_processes=False, needs_shared_filesystem=False, remote=False
    )


__all__ = ["SequentialBackend"]

"""Pipeline scope: ``context``, ``settings``, ``config`` and the :class:`Pipeline` runner.

``from outflow.core.pipeline import context, settings, config`` gives views on the
active pipeline (see :mod:`outflow.core.pipeline.context`). ``Pipeline`` is imported
on first use: it pulls in the plugin host and the command line.
"""

from typing import Any

from outflow.core.pipeline.context import (
    PipelineContext,
    PipelineScopeError,
    activate,
    active_context,
    config,
    context,
    settings,
)

__all__ = [
    "Pipeline",
    "PipelineContext",
    "PipelineScopeError",
    "activate",
    "active_context",
    "config",
    "context",
    "settings",
]


def __getattr__(name: str) -> Any:
    if name == "Pipeline":
        from outflow.core.pipeline.pipeline import Pipeline

        return Pipeline
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Pipeline scope: ``context``, ``settings``, ``config`` and the :class:`Pipeline` runner.

``from outflow.core.pipeline import context, settings, config`` gives views on the
active pipeline (see :mod:`outflow.core.pipeline.context`). ``Pipeline`` and
``PipelineNotFoundError`` are imported on first use: they pull in the plugin host and
the command line, which a worker process or a task module has no use for.

``config`` and ``settings`` here are the views, not the submodules of the same names:
importing :mod:`~outflow.core.pipeline.context` loads both submodules first, so the
views bound below are the last word (a test checks it).
"""

from outflow.core import lazy_exports
from outflow.core.pipeline.config import Config, ConfigError
from outflow.core.pipeline.context import (
    PipelineContext,
    PipelineScopeError,
    activate,
    active_context,
    config,
    context,
    has_active_context,
    settings,
)
from outflow.core.pipeline.settings import Settings, SettingsError

__all__ = [
    "Config",
    "ConfigError",
    "Pipeline",
    "PipelineContext",
    "PipelineNotFoundError",
    "PipelineScopeError",
    "Settings",
    "SettingsError",
    "activate",
    "active_context",
    "config",
    "context",
    "has_active_context",
    "settings",
]

__getattr__ = lazy_exports(globals(), {
    "outflow.core.pipeline.pipeline": ("Pipeline",),
    "outflow.core.pipeline.discovery": ("PipelineNotFoundError",),
})

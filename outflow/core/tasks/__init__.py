"""Tasks: ``Task``, ``as_task`` and the targets they declare.

``from outflow.core.tasks import Task, as_task, Target`` is all a plugin needs to
write tasks; the engine's exceptions are exported here too, to be caught by name.
``connect`` and ``current_definition`` are for plugins that build blocks themselves
(the library's branches, the management shell).

The names are imported on first access: importing a submodule (the backends import
``outflow.core.tasks.errors``) must not pull in the task machinery and its type
checker, which ``outflow plugins list`` has no use for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from outflow.core import lazy_exports

if TYPE_CHECKING:
    from outflow.core.target import MISSING, Target
    from outflow.core.tasks.block import Block, connect, current_definition
    from outflow.core.tasks.errors import (
        EngineError,
        GraphError,
        MissingParameterError,
        TargetError,
        TaskError,
        TaskInputError,
        TaskOutputError,
        TaskTypeError,
    )
    from outflow.core.tasks.task import Task, as_task
    from outflow.core.types import Parameter, Skipped

__getattr__ = lazy_exports(globals(), {
    "outflow.core.target": ("MISSING", "Target"),
    "outflow.core.tasks.block": ("Block", "connect", "current_definition"),
    "outflow.core.tasks.errors": ("EngineError", "GraphError", "MissingParameterError",
                                  "TargetError", "TaskError", "TaskInputError",
                                  "TaskOutputError", "TaskTypeError"),
    "outflow.core.tasks.task": ("Task", "as_task"),
    "outflow.core.types": ("Parameter", "Skipped"),
})

__all__ = [
    "MISSING",
    "Block",
    "EngineError",
    "GraphError",
    "MissingParameterError",
    "Parameter",
    "Skipped",
    "Target",
    "TargetError",
    "Task",
    "TaskError",
    "TaskInputError",
    "TaskOutputError",
    "TaskTypeError",
    "as_task",
    "connect",
    "current_definition",
]

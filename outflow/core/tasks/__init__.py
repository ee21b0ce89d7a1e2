"""Tasks: ``Task``, ``as_task`` and the targets they declare.

``from outflow.core.tasks import Task, as_task, Target`` is all a plugin needs to
write tasks; the engine's exceptions are exported here too, to be caught by name.
"""

from outflow.core.target import MISSING, Target
from outflow.core.tasks.block import Block
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
]

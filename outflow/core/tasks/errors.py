"""The engine's exceptions: one class per kind of mistake, each naming the block at fault.

Every message starts with the block (``task compute: ...``) so that a user reading
one line of a log knows where to look; the previous implementation lost the task
name of type errors. All derive from :class:`EngineError`, so the command line can
report them without a traceback.
"""

from __future__ import annotations

from typing import Any

from outflow.core.errors import OutflowError


class EngineError(OutflowError):
    """Base class of the errors raised by the task and workflow engine."""


class GraphError(EngineError):
    """The workflow graph is invalid; raised by validation, before any task runs."""


class TargetError(GraphError, TypeError):
    """A block's targets cannot be set up: an annotation that cannot be evaluated, a
    parameter with a default, outputs that cannot be determined..."""


class MissingParameterError(GraphError):
    """A ``Parameter`` input has no value in the configuration file."""


class TaskTypeError(EngineError, TypeError):
    """A value does not match the declared type of a target.

    ``str(error)`` is one line: ``task compute: input 'x' must be int, got str ('42')``.
    """

    def __init__(self, message: str, *, block: str, kind: str, target: str,
                 expected: Any, value: Any) -> None:
        super().__init__(message)
        self.block = block
        self.kind = kind
        self.target = target
        self.expected = expected
        self.value = value

    def __reduce__(self) -> Any:  # backends send errors back from worker processes
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class TaskInputError(EngineError, TypeError):
    """A task was called with unknown, missing or too many input values."""


class TaskOutputError(EngineError):
    """A task returned something that does not match its declared outputs."""


class TaskError(EngineError):
    """An exception raised inside a task, annotated with the task's name.

    ``str(error)`` is ``task compute failed: ZeroDivisionError: division by zero``;
    the original exception is ``error.__cause__`` (and ``error.error``).
    """

    def __init__(self, block_name: str, error: BaseException, *, kind: str = "task") -> None:
        super().__init__(f"{kind} {block_name} failed: {type(error).__name__}: {error}")
        self.block_name = block_name
        self.error = error

    def __reduce__(self) -> Any:  # picklable for backends that return errors from workers
        return (_rebuild_task_error, (self.block_name, self.error, self.args))


def _rebuild(cls: type[Exception], args: tuple[Any, ...], state: dict[str, Any]) -> Exception:
    instance = cls.__new__(cls)
    Exception.__init__(instance, *args)
    instance.__dict__.update(state)
    return instance


def _rebuild_task_error(block_name: str, error: BaseException, args: tuple[Any, ...]) -> TaskError:
    instance = TaskError.__new__(TaskError)
    Exception.__init__(instance, *args)
    instance.block_name = block_name
    instance.error = error
    instance.__cause__ = error
    return instance


__all__ = [
    "EngineError",
    "GraphError",
    "MissingParameterError",
    "TargetError",
    "TaskError",
    "TaskInputError",
    "TaskOutputError",
    "TaskTypeError",
]

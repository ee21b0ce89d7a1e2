"""Targets: the named, typed inputs, outputs and parameters of a block.

A target is a name, a type (``typing.Any`` when not given) and, for inputs, an
optional default. The engine matches targets by name to wire blocks together and
checks values against their type when a task runs.

Targets are usually inferred from a task's ``run`` signature. ``Target.output``
(and ``Target.input``, ``Target.parameter``) declare them with a class decorator
instead, stacked above ``@as_task``::

    @Target.output("returned_data", type=int)
    @as_task
    def DoStuff():
        return {"returned_data": 42}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

_C = TypeVar("_C", bound=type)


class _Missing:
    """Sentinel for "no default": ``None`` is a legitimate default value."""

    __slots__ = ()

    def __reduce__(self) -> str:
        return "MISSING"

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Target:
    """One named and typed value flowing into or out of a block."""

    __slots__ = ("name", "type", "default", "origin", "_checker")

    def __init__(self, name: str, type: Any = Any, default: Any = MISSING,  # noqa: A002
                 *, origin: Any = None) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"target name must be a Python identifier, got {name!r}")
        self.name = name
        self.type = type
        self.default = default
        #: For targets a workflow derives from its inner blocks: the block that needs
        #: (input) or produces (output) the value, for error messages.
        self.origin = origin
        self._checker: Any = None

    @property
    def optional(self) -> bool:
        """An input with a default need not be provided by any upstream block."""
        return self.default is not MISSING

    def checker(self) -> Callable[[Any], bool] | None:
        """A predicate testing a value against :attr:`type`; None when anything goes.

        Built on first use and kept: type checks are on the per-task hot path.
        """
        checker = self._checker
        if checker is None:
            from outflow.core.tasks.typecheck import make_checker

            checker = self._checker = make_checker(self.type) or _ACCEPT_ALL
        return None if checker is _ACCEPT_ALL else checker

    def copy(self, **changes: Any) -> Target:
        values = {"name": self.name, "type": self.type, "default": self.default,
                  "origin": self.origin}
        values.update(changes)
        return Target(**values)

    # Checkers are caches built from ``type``: rebuild them after unpickling.
    def __getstate__(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "default": self.default,
                "origin": self.origin}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        self._checker = None

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Target)
            and (other.name, other.type, other.default) == (self.name, self.type, self.default)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        from outflow.core.tasks.typecheck import describe_type

        text = f"Target({self.name!r}, {describe_type(self.type)}"
        if self.optional:
            text += f", default={self.default!r}"
        return text + ")"

    # -- class decorators ---------------------------------------------------------
    @staticmethod
    def output(name: str, type: Any = Any) -> Callable[[_C], _C]:  # noqa: A002
        """Declare an output of the decorated Task class (stack it above ``@as_task``)."""
        return _declare("output", Target(name, type))

    @staticmethod
    def input(name: str, type: Any = Any, default: Any = MISSING) -> Callable[[_C], _C]:  # noqa: A002
        """Declare an input of the decorated Task class."""
        return _declare("input", Target(name, type, default))

    @staticmethod
    def parameter(name: str, type: Any = Any) -> Callable[[_C], _C]:  # noqa: A002
        """Declare a configuration parameter of the decorated Task class."""
        return _declare("parameter", Target(name, type))


class _AcceptAll:
    """Marker cached on a target whose type accepts every value."""

    __slots__ = ()


_ACCEPT_ALL: Any = _AcceptAll()


def _declare(kind: str, target: Target) -> Callable[[_C], _C]:
    def decorator(cls: _C) -> _C:
        if not isinstance(cls, type) or not hasattr(cls, "_declared_targets"):
            raise TypeError(
                f"Target.{kind} decorates a Task class: put it above @as_task, got {cls!r}"
            )
        # A new tuple per class, so that a subclass never adds to its parent's targets.
        # Decorators apply bottom-up: prepend to keep the order they are read in.
        cls._declared_targets = ((kind, target), *cls._declared_targets)  # type: ignore[attr-defined]
        return cls

    return decorator


__all__ = ["MISSING", "Target"]

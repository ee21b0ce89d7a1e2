"""Marker types used in task signatures: :class:`Parameter` and :class:`Skipped`.

Both cross process boundaries (the multiprocessing, MPI and Slurm backends pickle
tasks and their results), so both are plain importable classes with an explicit
``__reduce__``: the previous implementation built ``Parameter`` types on the fly and
they could not be pickled.
"""

from __future__ import annotations

from typing import Any


class Parameter:
    """Annotation marking a task input whose value comes from the configuration.

    ``def Compute(transformed_data: int, multiplier: Parameter(int))``: the value of
    ``multiplier`` is read from ``parameters.compute.multiplier`` of the
    configuration file before the run starts, and checked against ``int``.
    """

    __slots__ = ("type",)

    def __init__(self, type: Any = Any) -> None:  # noqa: A002 - documented spelling
        object.__setattr__(self, "type", type)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Parameter markers are immutable")

    def __reduce__(self) -> tuple[Any, tuple[Any]]:
        return (Parameter, (self.type,))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Parameter) and other.type == self.type

    def __hash__(self) -> int:
        return hash((Parameter, self.type))

    def __repr__(self) -> str:
        name = getattr(self.type, "__name__", None) or repr(self.type)
        return f"Parameter({name})"


class Skipped:
    """The value of every output of a branch that did not run.

    ``return Skipped()`` from a task marks all its outputs skipped; a block all of
    whose upstream inputs are skipped is not executed and outputs ``Skipped`` in
    turn. ``Skipped()`` always returns the same object, so ``value is Skipped()``
    and ``isinstance(value, Skipped)`` both work, also after unpickling.
    """

    __slots__ = ()
    _instance: Skipped | None = None

    def __new__(cls) -> Skipped:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (Skipped, ())

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "Skipped()"


#: The one ``Skipped`` instance; the engine compares with ``is``.
SKIPPED = Skipped()


def is_skipped(value: Any) -> bool:
    """True for ``Skipped()`` and for the class itself (``return Skipped`` is accepted)."""
    return value is SKIPPED or value is Skipped


__all__ = ["SKIPPED", "Parameter", "Skipped", "is_skipped"]

"""Equality and ``repr`` for the small value classes on the start-up path.

Why not dataclasses: ``outflow --help`` builds these classes at every start, and
importing and applying ``dataclasses`` cost more there than everything the classes
do (about 5 ms, a tenth of the command). A subclass declares ``__slots__`` and an
``__init__``; :class:`Record` compares and prints it by those slots.
"""

from __future__ import annotations

from typing import Any


class Record:
    """Compared and printed by the values of the subclass's ``__slots__``; unhashable."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]  # mutable: like a dataclass without frozen

    def values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> Any:
        if type(other) is not type(self):
            return NotImplemented
        return self.values() == other.values()  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


class FrozenRecord(Record):
    """A :class:`Record` whose values do not change after ``__init__``: hashable."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash(self.values())

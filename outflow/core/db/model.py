"""``Model``: the declarative base of every outflow model (outflow's own and plugins').

One base for all plugins means one ``MetaData``: migrations see every table and
foreign keys between plugins resolve. Each table is remembered with the database it
lives in (``__bind_key__``, None for the main database) and the module that declared
it, so that sessions route queries and autogenerate can filter tables per database
and per plugin. That record is kept beside the table rather than in ``table.info``,
which Alembic would copy into every generated migration.
"""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import Column, Table
from sqlalchemy.orm import DeclarativeBase, MappedColumn, declared_attr

from outflow.core.naming import snake_case

#: ``table.info`` keys read for tables declared without :class:`Model` (``Table(...)``).
BIND_KEY = "bind_key"
MODULE_KEY = "module"

#: Table -> (bind key, declaring module), for tables of :class:`Model` subclasses.
_OWNERS: weakref.WeakKeyDictionary[Table, tuple[str | None, str]] = weakref.WeakKeyDictionary()


def _declares_primary_key(cls: type) -> bool:
    for value in cls.__dict__.values():
        column = value.column if isinstance(value, MappedColumn) else value
        if isinstance(column, Column) and column.primary_key:
            return True
    return False


def _inherits_a_table(cls: type) -> bool:
    """A subclass of a mapped model without its own primary key: single-table inheritance."""
    return any("__table__" in vars(base) for base in cls.__mro__[1:]) and not (
        _declares_primary_key(cls)
    )


class Model(DeclarativeBase):
    """Base class of outflow models: SQLAlchemy 2 declarative, classic or annotated.

    Both ``id = Column(Integer, primary_key=True)`` and
    ``id: Mapped[int] = mapped_column(primary_key=True)`` work. The table name defaults
    to the class name in snake_case (``ComputationResult`` -> ``computation_result``);
    set ``__tablename__`` to choose another. ``__bind_key__ = "label"`` stores the
    model in the database of that label of the configuration's ``databases`` section.
    """

    @declared_attr.directive
    def __tablename__(cls) -> str | None:  # noqa: N805 - declarative directive
        if _inherits_a_table(cls):
            return None
        return snake_case(cls.__name__)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = cls.__dict__.get("__table__")
        if isinstance(table, Table) and table not in _OWNERS:
            _OWNERS[table] = (getattr(cls, "__bind_key__", None), cls.__module__)


def bind_key_of(table: Any) -> str | None:
    """The database label a table was declared for (None: the main database)."""
    if table is None:
        return None
    owner = _OWNERS.get(table) if isinstance(table, Table) else None
    if owner is not None:
        return owner[0]
    return (getattr(table, "info", None) or {}).get(BIND_KEY)


def module_of(table: Any) -> str:
    """The module whose model declared the table ("" when unknown)."""
    owner = _OWNERS.get(table) if isinstance(table, Table) else None
    if owner is not None:
        return owner[1]
    return str((getattr(table, "info", None) or {}).get(MODULE_KEY, ""))


__all__ = ["BIND_KEY", "MODULE_KEY", "Model", "bind_key_of", "module_of"]

"""The ``register`` callables that registration hooks receive, as types.

For plugin authors' annotations (``def outflow_register_backends(register:
RegisterBackend)``) and for the hook specs. Only ``typing`` is imported: the specs
are loaded at every start-up.
"""

from __future__ import annotations

from typing import Any, Protocol


class RegisterCommand(Protocol):
    def __call__(self, name: str, target: Any, *, help: str = "") -> None:
        """``target``: a ``Command`` subclass or a lazy ``"module:Class"`` string."""


class RegisterBackend(Protocol):
    def __call__(self, name: str, target: Any, *, aliases: tuple[str, ...] = (),
                 help: str = "") -> None:
        """``target``: a ``Backend`` subclass or a lazy ``"module:Class"`` string."""


class RegisterModels(Protocol):
    def __call__(self, module: str) -> None:
        """``module``: a module holding SQLAlchemy models, imported on first use."""


class RegisterMigrations(Protocol):
    def __call__(self, path: str, *, database: str = "default", branch: str = ...) -> None:
        """``path``: a directory or ``"package:relative/dir"`` of Alembic revisions."""


class RegisterBlock(Protocol):
    def __call__(self, name: str, target: Any, *, help: str = "") -> None:
        """``target``: a Task/Workflow class or a lazy ``"module:Class"`` string."""


class RegisterConfigDefaults(Protocol):
    def __call__(self, section: str, defaults: Any) -> None:
        """``defaults``: a mapping, overridden key by key by the user's configuration."""


__all__ = ["RegisterBackend", "RegisterBlock", "RegisterCommand", "RegisterConfigDefaults",
           "RegisterMigrations", "RegisterModels"]

"""Logging for outflow and its plugins: one ``logger`` to import, per-module logger names.

Usage, anywhere (kernel, plugin, user pipeline)::

    from outflow.core.logging import logger

    logger.info("Result of the computation: 168")
    # 2020-11-17 18:19:58,369 - tuto.data_reduction.tasks - tasks.py:15 - INFO - Result ...

The configuration file's ``logging`` section is a :func:`logging.config.dictConfig`
mapping laid over :func:`default_logging_config`, so a user only writes what differs::

    logging:
      loggers:
        my_plugin: {level: DEBUG}

This module imports only the standard :mod:`logging` package at import time (which almost
everything imports anyway); :mod:`logging.config` is imported when logging is configured.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

from outflow.core.configuration.logging_defaults import LOG_FORMAT, default_logging_config

__all__ = [
    "LOG_FORMAT",
    "LEVEL_NAMES",
    "ModuleLogger",
    "configure_logging",
    "default_logging_config",
    "is_debug",
    "logger",
]

LEVEL_NAMES = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
"""The level names accepted by ``-ll/--log-level``."""


class ModuleLogger:
    """A logger that logs under the name of the module that calls it.

    Why this shape:

    * one object, importable everywhere (``from outflow.core.logging import logger``):
      plugin and pipeline authors need no ``logging.getLogger(__name__)`` boilerplate;
    * each record still carries the *calling module's* ``__name__`` as its logger name, so
      users can set levels and handlers per plugin or per package in the configuration
      file (``loggers: {my_plugin: {level: DEBUG}}``) -- the standard hierarchy applies;
    * ``filename:lineno`` are the caller's, thanks to ``stacklevel``;
    * no trick with ``sys.modules`` (replacing this module by a logger object, or
      inspecting stacks to patch modules): ``logger`` is an ordinary attribute of an
      ordinary module, which type checkers, IDEs and ``importlib.reload`` understand.

    Each call costs one ``sys._getframe`` and one ``logging.getLogger``, a dictionary
    look-up once the named logger exists.
    """

    __slots__ = ()

    @staticmethod
    def _target(depth: int = 2) -> logging.Logger:
        # depth 2: the frame that called the public method that called _target.
        name = sys._getframe(depth).f_globals.get("__name__", "outflow")
        return logging.getLogger(name)

    @staticmethod
    def _stacklevel(kwargs: dict[str, Any]) -> int:
        # +1 skips the ModuleLogger method, so the record points at its caller.
        return int(kwargs.pop("stacklevel", 1)) + 1

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log ``msg % args`` at DEBUG level."""
        target = self._target()
        if target.isEnabledFor(logging.DEBUG):
            target.debug(msg, *args, stacklevel=self._stacklevel(kwargs), **kwargs)

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log ``msg % args`` at INFO level."""
        target = self._target()
        if target.isEnabledFor(logging.INFO):
            target.info(msg, *args, stacklevel=self._stacklevel(kwargs), **kwargs)

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log ``msg % args`` at WARNING level."""
        target = self._target()
        if target.isEnabledFor(logging.WARNING):
            target.warning(msg, *args, stacklevel=self._stacklevel(kwargs), **kwargs)

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log ``msg % args`` at ERROR level."""
        target = self._target()
        if target.isEnabledFor(logging.ERROR):
            target.error(msg, *args, stacklevel=self._stacklevel(kwargs), **kwargs)

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log ``msg % args`` at ERROR level with the exception being handled."""
        # Through ``error`` rather than ``Logger.exception``: the extra logging frame
        # would make ``stacklevel`` point one frame too low on Python 3.10.
        kwargs.setdefault("exc_info", True)
        target = self._target()
        if target.isEnabledFor(logging.ERROR):
            target.error(msg, *args, stacklevel=self._stacklevel(kwargs), **kwargs)

    def critical(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log ``msg % args`` at CRITICAL level."""
        target = self._target()
        if target.isEnabledFor(logging.CRITICAL):
            target.critical(msg, *args, stacklevel=self._stacklevel(kwargs), **kwargs)

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        """Log ``msg % args`` at the integer ``level``."""
        target = self._target()
        if target.isEnabledFor(level):
            target.log(level, msg, *args, stacklevel=self._stacklevel(kwargs), **kwargs)

    def isEnabledFor(self, level: int) -> bool:  # the name logging.Logger uses
        """Whether the calling module's logger would emit a record of ``level``."""
        return self._target().isEnabledFor(level)


logger = ModuleLogger()
"""The logger to import: ``from outflow.core.logging import logger``."""


def configure_logging(section: Mapping[str, Any] | None = None, level: str | None = None) -> None:
    """Configure logging from the defaults, the configuration file and the command line.

    ``section`` (the configuration file's ``logging`` mapping) is merged over
    :func:`default_logging_config`, so it only needs what differs. ``level`` (the
    command line's ``-ll/--log-level``, any case) wins over both: it is set on the root
    logger and on every logger the merged configuration declares, because a user asking
    for ``-ll DEBUG`` expects debug output from every plugin, not only from those the
    file leaves at the root's level.

    Level names inside ``section`` are accepted in any case too (``level: debug``).

    Raises :class:`ValueError` (one line) for an unknown ``level``; a malformed section
    raises what :func:`logging.config.dictConfig` raises.
    """
    import logging.config

    from outflow.core.configuration.merge import merge_config

    forced = _check_level(level) if level is not None else None
    config = merge_config(default_logging_config(), section or {})
    _upper_levels(config)
    if forced is not None:
        root = config.get("root")
        if not isinstance(root, dict):
            root = config["root"] = {}
        root["level"] = forced
        for declared in (config.get("loggers") or {}).values():
            if isinstance(declared, dict):
                declared["level"] = forced
    logging.config.dictConfig(config)


def is_debug() -> bool:
    """Whether the root logger lets DEBUG records through: the CLI then shows tracebacks."""
    return logging.getLogger().isEnabledFor(logging.DEBUG)


def _check_level(level: str) -> str:
    name = str(level).strip().upper()
    if name not in LEVEL_NAMES:
        raise ValueError(f"invalid log level {level!r}: choose one of {', '.join(LEVEL_NAMES)}")
    return name


def _upper_levels(config: dict[str, Any]) -> None:
    """Upper-case ``level`` values: dictConfig only knows ``"DEBUG"``, users write ``debug``."""
    sections = [config.get("root")]
    for group in ("loggers", "handlers"):
        declared = config.get(group)
        if isinstance(declared, dict):
            sections.extend(declared.values())
    for entry in sections:
        if isinstance(entry, dict) and isinstance(entry.get("level"), str):
            entry["level"] = entry["level"].upper()

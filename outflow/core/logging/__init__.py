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

Every handler :func:`configure_logging` sets up (the defaults' and the user's) carries a
:class:`SecretFilter`: the secrets of the active pipeline's configuration are masked in
the records outflow prints or writes, at any level, tracebacks included.

This module imports only the standard :mod:`logging` package at import time (which almost
everything imports anyway); :mod:`logging.config` is imported when logging is configured.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from typing import Any

from outflow.core.configuration.logging_defaults import (
    LOG_FORMAT,
    SECRET_FILTER,
    default_logging_config,
)

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

    Every handler declared by the merged configuration gets the :class:`SecretFilter`
    (declared as the filter :data:`SECRET_FILTER`), whatever the section says: a user
    routing records to a file of their own must not write the secrets there either.

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
    _install_secret_filter(config)
    logging.config.dictConfig(config)


class SecretFilter(logging.Filter):
    """Mask the known secrets in each record before a handler formats it.

    Why a filter on the handlers: a handler filter sees every record the handler
    emits, those propagated from any logger included (a logger's own filters only see
    the records logged on it), and it runs before the formatter, so the record itself
    is cleaned: its message and arguments, its exception text, its stack text.

    The secrets are those of the configuration of the active pipeline context (read
    at each record, so the filter, installed before the pipeline's context is
    activated, follows whichever pipeline runs) and those given to
    :func:`~outflow.core.configuration.secrets.register_secrets`; the password of any
    ``scheme://user:password@host`` URL is masked too. See
    :mod:`outflow.core.configuration.secrets` for the rules.

    What is changed on the record:

    * where the message or a string argument holds a secret, ``msg`` becomes the
      formatted, masked message and ``args`` becomes ``()`` (the arguments, which held
      the secret, are dropped); other records keep their ``msg`` and ``args``;
    * with ``exc_info``, ``exc_text`` is the masked traceback: it is formatted here
      with the standard :meth:`logging.Formatter.formatException` when absent, so that
      the handlers' formatters print it instead of formatting ``exc_info`` again;
    * ``stack_info`` is masked.

    A failure while masking never makes the logging call fail and never lets the
    record through unmasked: the record's text is replaced by a notice.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask ``record`` in place; always let it through."""
        try:
            _mask_record(record, _active_masker())
        except Exception as error:  # noqa: BLE001 - a log call must not fail; hide, not leak
            record.msg = f"(log record hidden: masking its secrets failed: {type(error).__name__})"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True


def _active_masker() -> Callable[[str], str]:
    """The text masker for the active pipeline's configuration (or none) and registry."""
    from outflow.core.configuration.secrets import masker_for

    config = None
    # Not imported here: when the module is not loaded, no pipeline can be active.
    context_module = sys.modules.get("outflow.core.pipeline.context")
    if context_module is not None:
        try:
            config = context_module.active_context().config
        except context_module.PipelineScopeError:
            config = None
    return masker_for(config)


def _mask_record(record: logging.LogRecord, mask: Callable[[str], str]) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format: the handler reports it, masked
        record.msg = mask(str(record.msg))
        if isinstance(record.args, tuple):
            record.args = tuple(mask(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {key: mask(arg) if isinstance(arg, str) else arg
                           for key, arg in record.args.items()}
    else:
        masked = mask(message)
        if masked != message or _args_hold_secret(record.args, mask):
            record.msg = masked
            record.args = ()
    if record.exc_info and not record.exc_text:
        record.exc_text = _PLAIN_FORMATTER.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask(record.exc_text)
    if record.stack_info:
        record.stack_info = mask(record.stack_info)


def _args_hold_secret(args: Any, mask: Callable[[str], str]) -> bool:
    """Whether a string argument holds a secret the message does not show (``%.3s``).

    Only strings are checked: ``str()`` of another object may be costly, and it is in
    the formatted message already when the format uses it.
    """
    if not args:
        return False
    values = args.values() if isinstance(args, Mapping) else args
    return any(isinstance(value, str) and mask(value) != value for value in values)


_PLAIN_FORMATTER = logging.Formatter()


def _install_secret_filter(config: dict[str, Any]) -> None:
    """Declare :class:`SecretFilter` and put it on every handler of ``config``."""
    filters = config.get("filters")
    config["filters"] = {**(filters or {}), SECRET_FILTER: {"()": SecretFilter}}
    handlers = config.get("handlers")
    if not isinstance(handlers, dict):
        return
    for name, handler in list(handlers.items()):
        if isinstance(handler, dict):
            listed = list(handler.get("filters") or [])
            if SECRET_FILTER not in listed:
                listed.append(SECRET_FILTER)
            handlers[name] = {**handler, "filters": listed}


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

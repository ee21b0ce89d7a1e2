"""Configuration: what may change from one run of a pipeline to the next.

A plain ``dict`` that can also be read by attribute (``config.logging``). Attribute
assignment is refused, as the user guide asks; item assignment stays possible for
tests that prepare a configuration (``config["databases"] = ...``).

This module also holds what the checks of a configuration share (the pipeline checks
its top-level sections, the graph validation its ``parameters``): the error raised
for a malformed or, with ``--strict``, unknown entry, the warning printed otherwise,
and the ``file:line:column`` naming the entry at fault. It is on the start-up path:
the file loader and :mod:`difflib` are imported only once there is something to say.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from outflow.core.errors import OutflowError

if TYPE_CHECKING:
    from pathlib import Path

#: Top-level sections the kernel itself reads. Plugins add theirs by registering
#: defaults (``outflow_config_defaults``), backends by their name, a pipeline with
#: ``CONFIG_SECTIONS`` in ``settings.py``.
KERNEL_SECTIONS = frozenset({
    "parameters",          # task parameters: parameters.<task name>.<parameter name>
    "databases",           # outflow.core.db
    "logging",             # a logging.config.dictConfig laid over outflow's defaults
    "backend",             # the backend of commands that do not choose one
    "workflow_cache_dir",  # where cached workflows are stored
    "secrets",             # values never printed, logged or stored
})

NO_CONFIGURATION_FILE = "the configuration (no configuration file was loaded)"


class ConfigError(OutflowError, AttributeError):
    """A missing configuration key read by attribute, or an attribute assignment."""


class ConfigurationError(OutflowError, ValueError):
    """A configuration entry or a setting that is malformed, or unknown with ``--strict``.

    A mistake of the user's files rather than of the pipeline's code: the command
    line reports it on one line, naming the file (and line) at fault, with exit
    status 2 like a usage error.
    """


class Config(dict):
    """The pipeline configuration; ``config.__file__`` is the file it came from."""

    def __init__(self, *args: Any, file: Path | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        object.__setattr__(self, "__file__", file)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            where = self.__file__ or "the configuration file"
            raise ConfigError(f"configuration has no key {name!r} (in {where})") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise ConfigError(
            f"the configuration is read-only at run time: set {name!r} in "
            f"{self.__file__ or 'the configuration file'} instead"
        )


def config_location(config: Any, *keys: Any) -> str:
    """Where the entry ``keys`` (``"parameters", "compute"``) of ``config`` is written.

    ``path:line:column`` when the file is YAML and the key is found in it (through
    ``!include`` too), else the file's path, else :data:`NO_CONFIGURATION_FILE`: the
    same form as :class:`~outflow.core.configuration.loader.ConfigFileError`, which
    editors and terminals turn into a link.
    """
    path = getattr(config, "__file__", None)
    if path is None:
        return NO_CONFIGURATION_FILE
    if keys:
        from outflow.core.configuration.loader import locate_key

        found = locate_key(path, keys)
        if found is not None:
            file, line, column = found
            return f"{file}:{line}:{column}"
    return str(path)


def did_you_mean(name: Any, candidates: Iterable[Any]) -> str:
    """`` (did you mean 'parameters'?)`` for the closest candidate, or ``""``."""
    import difflib

    matches = difflib.get_close_matches(str(name), sorted({str(c) for c in candidates}), n=1)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def describe_entry(value: Any, limit: int = 40) -> str:
    """``list ([1, 2])``: the type of a configuration value and a short repr of it."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(value).__name__} ({text})"


def config_problem(message: str, *, strict: bool, pipeline_context: Any = None) -> None:
    """An unknown configuration entry: a :class:`ConfigurationError` when ``strict``,
    else a warning on stderr, printed once per pipeline context.

    Unknown entries are warnings by default because a configuration file outlives
    the code that reads it (it is shared by several commands, and an entry of a
    removed task is harmless); ``--strict`` is for CI, where a typo must fail.
    """
    if strict:
        raise ConfigurationError(message)
    if pipeline_context is not None:
        reported: set[str] | None = getattr(pipeline_context, "config_warnings", None)
        if reported is None:
            reported = set()
            pipeline_context.config_warnings = reported
        if message in reported:
            return
        reported.add(message)
    print(f"outflow: warning: {message}", file=sys.stderr)


def parameters_section(config: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """``config["parameters"]``, checked: a mapping of task names to mappings.

    An absent or empty (``null``) section, or task entry, is no parameter at all.
    Raises :class:`ConfigurationError` naming the file and line of the entry that
    is not a mapping: without it, ``parameters: [1, 2]`` failed with an
    ``AttributeError`` from deep inside the graph validation.
    """
    if config is None:
        return {}
    section = config.get("parameters")
    if section is None:
        return {}
    if not isinstance(section, Mapping):
        raise ConfigurationError(
            f"{config_location(config, 'parameters')}: 'parameters' must be a mapping of "
            f"task names to their parameters (parameters.<task>.<parameter>: value), "
            f"got {describe_entry(section)}"
        )
    checked: dict[str, Mapping[str, Any]] = {}
    for task, values in section.items():
        if values is None:
            values = {}
        elif not isinstance(values, Mapping):
            raise ConfigurationError(
                f"{config_location(config, 'parameters', task)}: 'parameters.{task}' must be "
                f"a mapping of parameter names to values (parameters.{task}.<parameter>: "
                f"value), got {describe_entry(values)}"
            )
        checked[task] = values
    return checked


def check_sections(config: Mapping[str, Any], known: Iterable[str], *, strict: bool,
                   pipeline_context: Any = None) -> None:
    """Report the top-level sections of ``config`` that nothing reads (see
    :func:`config_problem`); ``known`` are those something reads."""
    known = set(known)
    for name in config:
        if name in known:
            continue
        hint = did_you_mean(name, known) or (
            " (a section the pipeline reads itself belongs in CONFIG_SECTIONS of settings.py)"
        )
        config_problem(
            f"{config_location(config, name)}: unknown top-level section {str(name)!r}{hint}",
            strict=strict, pipeline_context=pipeline_context,
        )

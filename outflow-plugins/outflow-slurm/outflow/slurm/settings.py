"""The slurm backend's own settings, from the ``slurm`` section of the configuration.

The section holds two kinds of keys: sbatch directives for every map (checked by
:mod:`outflow.slurm.directives`) and the backend's settings below, checked here once
per run, before anything is submitted, so that a typo in a number fails with a line
naming the setting instead of half way through a run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from outflow.core.pipeline.config import ConfigurationError, config_location


def locator(config: Any) -> Callable[[str], str]:
    """``locate(key)``: where ``slurm.<key>`` is written (``config.yml:7:3: slurm.mem``),
    for messages about the ``slurm`` section of ``config``."""

    def locate(key: str) -> str:
        return f"{config_location(config, 'slurm', key)}: slurm.{key}"

    return locate


class SlurmSettings:
    """``poll_interval``/``max_poll_interval`` (seconds between two looks at the queue,
    growing from the first to the second while nothing changes), ``python`` (the
    interpreter the elements run), ``keep_files`` (keep a map's directory after it
    succeeded) and ``array_size`` (at most this many elements per job array, below the
    cluster's ``MaxArraySize``)."""

    #: The keys of the section that are settings, not sbatch directives.
    NAMES = frozenset({"poll_interval", "max_poll_interval", "python", "keep_files",
                       "array_size"})

    __slots__ = ("array_size", "keep_files", "max_poll_interval", "poll_interval", "python")

    def __init__(self, section: Mapping[str, Any],
                 locate: Callable[[str], str] = lambda key: f"slurm.{key}") -> None:
        self.poll_interval = _seconds(section, "poll_interval", 0.5, locate)
        self.max_poll_interval = max(self.poll_interval,
                                     _seconds(section, "max_poll_interval", 10.0, locate))
        python = section.get("python")
        if python is not None and (not isinstance(python, str) or not python.strip()):
            raise ConfigurationError(f"{locate('python')} must be the path of an "
                                     f"interpreter, got {python!r}")
        self.python = python or sys.executable
        keep = section.get("keep_files", False)
        if not isinstance(keep, bool):
            raise ConfigurationError(f"{locate('keep_files')} must be true or false, "
                                     f"got {keep!r}")
        self.keep_files = keep
        size = section.get("array_size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int)
                                 or size < 1):
            raise ConfigurationError(f"{locate('array_size')} must be a positive integer, "
                                     f"got {size!r}")
        self.array_size: int | None = size

    @classmethod
    def directives(cls, section: Mapping[str, Any]) -> dict[str, Any]:
        """The keys of ``section`` that are sbatch directives."""
        return {key: value for key, value in section.items() if key not in cls.NAMES}


def _seconds(section: Mapping[str, Any], name: str, default: float,
             locate: Callable[[str], str]) -> float:
    value = section.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigurationError(f"{locate(name)} must be a positive number of seconds, "
                                 f"got {value!r}")
    return float(value)


__all__ = ["SlurmSettings", "locator"]

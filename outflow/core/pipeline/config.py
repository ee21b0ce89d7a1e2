"""Configuration: what may change from one run of a pipeline to the next.

A plain ``dict`` that can also be read by attribute (``config.logging``). Attribute
assignment is refused, as the user guide asks; item assignment stays possible for
tests that prepare a configuration (``config["databases"] = ...``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from outflow.core.errors import OutflowError

if TYPE_CHECKING:
    from pathlib import Path


class ConfigError(OutflowError, AttributeError):
    """A missing configuration key read by attribute, or an attribute assignment."""


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

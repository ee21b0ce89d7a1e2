"""Configuration values that do not come from the file as written: ``${env:NAME}`` and
``--set KEY.PATH=VALUE``.

``${env:NAME}`` (or ``${env:NAME:-default}``) in a string of the configuration file is
replaced by the environment variable when the file is read, so that a database
password need not live in a file: ``user: "alice:${env:DB_PASSWORD}"``. A variable
that is not set, and has no default, is an error naming the file, line and key.
``$${`` stands for a literal ``${``.

``--set parameters.compute.multiplier=5`` (repeatable, a global option) sets one value
after the file and the plugins' defaults are merged: the command line wins. The value
is read as YAML (``5`` is an int, ``true`` a bool, ``[1, 2]`` a list, ``x`` a string);
missing sections are created. Both end up in the one merged configuration: shown by
``display_config`` (secrets masked), stored with the run, sent to workers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

#: ``${env:NAME}`` or ``${env:NAME:-default}``, unless written ``$${...}``.
_REFERENCE = re.compile(r"\$?\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def interpolate_environment(values: Any, path: Path, environ: Mapping[str, str] | None = None,
                            keys: tuple[Any, ...] = ()) -> Any:
    """``values`` with every ``${env:NAME}`` replaced (see the module doc)."""
    env = os.environ if environ is None else environ
    if isinstance(values, dict):
        return {key: interpolate_environment(value, path, env, (*keys, key))
                for key, value in values.items()}
    if isinstance(values, list):
        return [interpolate_environment(value, path, env, (*keys, position))
                for position, value in enumerate(values)]
    if not isinstance(values, str) or "${" not in values:
        return values

    def replace(match: re.Match[str]) -> str:
        if match.group(0).startswith("$$"):
            return match.group(0)[1:]  # $${env:X} is the text ${env:X}
        name, default = match.group(1), match.group(2)
        value = env.get(name)
        if value is not None:
            return value
        if default is not None:
            return default
        raise _unset(path, keys, name)

    return _REFERENCE.sub(replace, values)


def _unset(path: Path, keys: tuple[Any, ...], name: str) -> Exception:
    from outflow.core.configuration.loader import ConfigFileError, locate_key

    named = [key for key in keys if not isinstance(key, int)]
    where = locate_key(path, named) if path.suffix.lower() in (".yml", ".yaml") else None
    dotted = ".".join(str(key) for key in keys)
    message = (f"{dotted}: the environment variable {name} is not set (write "
               f"${{env:{name}:-default}} for a default)")
    if where is None:
        return ConfigFileError(path, message)
    return ConfigFileError(where[0], message, where[1], where[2])


def apply_overrides(values: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """``values`` with each ``KEY.PATH=VALUE`` of ``overrides`` set, in order (the
    mapping is copied where it changes)."""
    for override in overrides:
        keys, value = parse_override(override)
        values = _set(values, keys, value, override)
    return values


def parse_override(override: str) -> tuple[list[str], Any]:
    """``"a.b=5"`` -> ``(["a", "b"], 5)``; a ``ConfigurationError`` for anything else."""
    from outflow.core.pipeline.config import ConfigurationError

    target, has_value, text = override.partition("=")
    keys = target.strip().split(".")
    if not has_value or not all(key.strip() for key in keys):
        raise ConfigurationError(f"--set {override}: expected KEY.PATH=VALUE, e.g. "
                                 "--set parameters.compute.multiplier=5")
    return [key.strip() for key in keys], _yaml_value(text, override)


def _yaml_value(text: str, override: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from outflow.core.configuration.loader import _to_plain
    from outflow.core.pipeline.config import ConfigurationError

    if not text.strip():
        return ""
    try:
        return _to_plain(YAML(typ="safe", pure=True).load(text))
    except YAMLError as error:
        problem = " ".join(str(getattr(error, "problem", None) or error).split())
        raise ConfigurationError(f"--set {override}: the value is not valid YAML "
                                 f"({problem})") from error


def _set(values: dict[str, Any], keys: list[str], value: Any, override: str
         ) -> dict[str, Any]:
    """A copy of ``values`` with ``value`` at ``keys`` (the sections on the way copied,
    missing ones created)."""
    from outflow.core.pipeline.config import ConfigurationError

    root = dict(values)
    node = root
    for depth, key in enumerate(keys[:-1]):
        inner = node.get(key)
        if inner is None:
            inner = {}
        if not isinstance(inner, dict):
            raise ConfigurationError(f"--set {override}: {'.'.join(keys[:depth + 1])} is "
                                     f"not a section (it is {inner!r})")
        node[key] = node = dict(inner)
    node[keys[-1]] = value
    return root


__all__ = ["apply_overrides", "interpolate_environment", "parse_override"]

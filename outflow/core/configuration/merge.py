"""Merge configuration mappings: the user's values laid over plugins' defaults.

A module of its own so that a start without a configuration file (``outflow --help``
outside a pipeline) merges the plugins' defaults without importing the file loader.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def merge_config(defaults: Mapping[Any, Any], overrides: Mapping[Any, Any]) -> dict[Any, Any]:
    """Return a new dict: ``overrides`` laid over ``defaults``.

    Where both sides hold a mapping the two are merged recursively, so a user who writes
    only ``logging: {loggers: ...}`` keeps the default formatters and handlers. Any other
    value in ``overrides`` -- lists included -- replaces the default: concatenating lists
    would make it impossible to remove a default entry. Neither argument is modified, and
    the result shares no mutable value with them.
    """
    merged = {key: _copy(value) for key, value in defaults.items()}
    for key, value in overrides.items():
        base = merged.get(key)
        if isinstance(value, Mapping) and isinstance(base, Mapping):
            merged[key] = merge_config(base, value)
        else:
            merged[key] = _copy(value)
    return merged


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(item) for item in value]
    if isinstance(value, (set, dict, bytearray)):
        return value.copy()
    return value

"""Parameter values: read from ``parameters.<task name>.<parameter>`` of the configuration.

Resolved once per run, when the graph is validated, so that a missing or mistyped
parameter stops the run before any task executes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from outflow.core.tasks.errors import MissingParameterError
from outflow.core.tasks.typecheck import check_value

if TYPE_CHECKING:
    from outflow.core.tasks.block import Block


def configuration_file(config: Any) -> str:
    path = getattr(config, "__file__", None)
    return str(path) if path else "the configuration (no configuration file was loaded)"


def resolve_parameters(block: Block, config: Mapping[str, Any] | None,
                       given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Values of ``block``'s parameters; ``given`` values win over the configuration.

    Raises :class:`MissingParameterError` naming the task, the parameter and the
    configuration file; values are type-checked (``TaskTypeError``).
    """
    values: dict[str, Any] = {}
    if not block.parameters:
        return values
    section: Any = None
    if config is not None:
        section = (config.get("parameters") or {}).get(block.name)
    for name, target in block.parameters.items():
        if given is not None and name in given:
            value = given[name]
        elif isinstance(section, Mapping) and name in section:
            value = section[name]
        else:
            where = configuration_file(config) if config is not None else (
                "the configuration (no pipeline is active)"
            )
            raise MissingParameterError(
                f"{block.label}: parameter '{name}' is missing from {where}: "
                f"set parameters.{block.name}.{name}"
            )
        check_value(block.label, "parameter", name, target.type, value)
        values[name] = value
    return values


def active_config() -> Mapping[str, Any] | None:
    """The active pipeline's configuration, or None outside a pipeline."""
    from outflow.core.pipeline.context import active_context, has_active_context

    return active_context().config if has_active_context() else None


__all__ = ["active_config", "configuration_file", "resolve_parameters"]

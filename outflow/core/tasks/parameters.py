"""Parameter values: read from ``parameters.<task name>.<parameter>`` of the configuration.

Resolved once per run, when the graph is validated, so that a missing or mistyped
parameter stops the run before any task executes. Values are checked strictly
(:func:`~outflow.core.tasks.typecheck.parameter_matches`): a configuration value is
written by hand, and ``multiplier: true`` for ``Parameter(int)`` is a mistake, not 1.

The names are checked too (:func:`check_parameter_names`), against the graph of the
command being run. A configuration file is shared by every command of the pipeline,
so the rule is:

- ``parameters.<task>`` where no task of the command's graph is named ``<task>``:
  reported only when no task class of the pipeline has that name either (it would
  be another command's task). Task classes are known once their module is imported:
  a plugin's ``commands`` module is imported at start-up, and the tasks it imports
  with it;
- ``parameters.<task>.<name>`` for a task of the graph that declares no parameter
  ``<name>``: always reported (tasks of the same name share their parameters).

Reported means a warning naming the file, line and closest match, and with
``--strict`` (``OUTFLOW_STRICT=1``) a :class:`~outflow.core.pipeline.config.ConfigurationError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from outflow.core.pipeline.config import (
    NO_CONFIGURATION_FILE,
    config_location,
    config_problem,
    did_you_mean,
    parameters_section,
)
from outflow.core.tasks.errors import MissingParameterError, TaskTypeError
from outflow.core.tasks.typecheck import describe_type, describe_value, parameter_matches

if TYPE_CHECKING:
    from outflow.core.tasks.block import Block


def configuration_file(config: Any) -> str:
    path = getattr(config, "__file__", None)
    return str(path) if path else NO_CONFIGURATION_FILE


def resolve_parameters(block: Block, config: Mapping[str, Any] | None,
                       given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Values of ``block``'s parameters; ``given`` values win over the configuration.

    Raises :class:`MissingParameterError` naming the task, the parameter and the
    configuration file; values are type-checked (``TaskTypeError`` naming the task,
    ``parameters.<task>.<parameter>``, the expected type, the value and where it is
    written); a ``parameters`` section that is not a mapping of mappings is a
    :class:`~outflow.core.pipeline.config.ConfigurationError`.
    """
    values: dict[str, Any] = {}
    if not block.parameters:
        return values
    section = parameters_section(config).get(block.name, {})
    for name, target in block.parameters.items():
        from_config = False
        if given is not None and name in given:
            value = given[name]
        elif name in section:
            value = section[name]
            from_config = True
        else:
            where = configuration_file(config) if config is not None else (
                "the configuration (no pipeline is active)"
            )
            raise MissingParameterError(
                f"{block.label}: parameter '{name}' is missing from {where}: "
                f"set parameters.{block.name}.{name}"
            )
        if not parameter_matches(target.type, value):
            raise _type_error(block, name, target.type, value,
                              config if from_config else None)
        values[name] = value
    return values


def _type_error(block: Block, name: str, hint: Any, value: Any,
                config: Mapping[str, Any] | None) -> TaskTypeError:
    """``task compute: parameter 'multiplier' must be int, got bool (True)``, followed,
    for a value read from the configuration, by where to fix it:
    ``(parameters.compute.multiplier in /pipeline/config.yml:3:5)``."""
    message = (f"{block.label}: parameter '{name}' must be {describe_type(hint)}, "
               f"got {describe_value(value)}")
    if config is not None:
        where = config_location(config, "parameters", block.name, name)
        message += f" (parameters.{block.name}.{name} in {where})"
    return TaskTypeError(message, block=block.label, kind="parameter", target=name,
                         expected=hint, value=value)


def check_parameter_names(blocks: Iterable[Block], config: Mapping[str, Any] | None,
                          known_tasks: Iterable[str] = ()) -> None:
    """Report the entries of ``parameters`` that no task of the graph reads (see the
    module's docstring for the rule); ``known_tasks``: names of the pipeline's other
    task classes. Does nothing without a configuration."""
    section = parameters_section(config)
    if not section:
        return
    declared: dict[str, set[str]] = {}
    for block in blocks:
        if block.kind != "workflow":  # workflows read no parameter
            declared.setdefault(block.name, set()).update(block.parameters)
    known = set(known_tasks)
    context = _active_context()
    strict = bool(getattr(context, "strict", False))
    for task, values in section.items():
        if task not in declared:
            if task in known:
                continue
            hint = did_you_mean(task, [*declared, *known])
            config_problem(
                f"{config_location(config, 'parameters', task)}: parameters.{task}: no task "
                f"named {str(task)!r}{hint}",
                strict=strict, pipeline_context=context,
            )
            continue
        for name in values:
            if name in declared[task]:
                continue
            parameters = declared[task]
            hint = did_you_mean(name, parameters) or (
                f" (its parameters: {', '.join(sorted(parameters))})" if parameters
                else " (it has no parameter)"
            )
            config_problem(
                f"{config_location(config, 'parameters', task, name)}: "
                f"parameters.{task}.{name}: task {task} has no parameter {str(name)!r}{hint}",
                strict=strict, pipeline_context=context,
            )


def _active_context() -> Any:
    from outflow.core.pipeline.context import active_context, has_active_context

    return active_context() if has_active_context() else None


def active_config() -> Mapping[str, Any] | None:
    """The active pipeline's configuration, or None outside a pipeline."""
    from outflow.core.pipeline.context import active_context, has_active_context

    return active_context().config if has_active_context() else None


__all__ = ["active_config", "check_parameter_names", "configuration_file", "resolve_parameters"]

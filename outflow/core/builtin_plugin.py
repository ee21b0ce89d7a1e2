"""The kernel's own plugin: the ``plugins`` command, registered like any other."""

from outflow.core.plugins import hookimpl


@hookimpl
def outflow_register_commands(register):
    register(
        "plugins",
        "outflow.core.cli.plugins_command:plugins",
        help="List installed plugins and what they provide.",
    )


@hookimpl
def outflow_config_defaults(register):
    from outflow.core.configuration.logging_defaults import default_logging_config

    register("logging", default_logging_config())

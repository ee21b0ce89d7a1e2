"""The kernel's own plugin: the ``plugins`` command, registered like any other."""

from outflow.core.plugins import hookimpl


@hookimpl
def outflow_register_commands(register):
    register(
        "plugins",
        "outflow.core.cli.plugins_command:plugins",
        help="List installed plugins and what they provide.",
    )

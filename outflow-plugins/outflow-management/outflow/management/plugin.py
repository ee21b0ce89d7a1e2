"""Entry point of outflow-management: registers the ``management`` group lazily."""

from outflow.core.plugins import hookimpl


@hookimpl
def outflow_register_commands(register):
    register(
        "management",
        "outflow.management.commands:Management",
        help="Create pipelines and plugins, manage the database, inspect runs.",
    )

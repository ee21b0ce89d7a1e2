"""The ``management`` command group.

Its subcommands are added by the modules of this package as they are built
(``create``, ``db``, ``shell``, ``display_config``, ``list_runs``, ``debug``,
``cache``).
"""

from outflow.core.commands import Command


class Management(Command):
    """Create pipelines and plugins, manage the database, inspect runs."""

    name = "management"
    invokable = False
    announce_run = False  # they look at runs, pipelines and databases; no summary line


def _load_subcommands() -> None:
    """Import the modules that attach subcommands to :class:`Management`."""
    import outflow.management.create  # noqa: F401
    import outflow.management.shell  # noqa: F401
    from outflow.management import (  # noqa: F401
        cache,
        db,
        debug,
        display_config,
        list_runs,
        show,
    )


_load_subcommands()

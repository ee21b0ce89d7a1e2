"""``management db``: apply, revert, write and inspect migrations (Alembic, one branch per plugin).

Each subcommand does its work in ``setup_tasks`` and runs no task; the heavy imports
(Alembic, SQLAlchemy) happen there, so ``outflow management --help`` stays fast.
Migrations connect with the database's admin role.
"""

from __future__ import annotations

from typing import Any

from outflow.core.commands import Command
from outflow.management.commands import Management


def _active() -> Any:
    from outflow.core.pipeline.context import active_context

    return active_context()


def _migrations(database: str | None) -> Any:
    import logging

    quiet = logging.getLogger("alembic.runtime.plugins")  # "setup plugin ..." at INFO
    if quiet.level == logging.NOTSET:
        quiet.setLevel(logging.WARNING)
    from outflow.management.migrate import Migrations

    return Migrations(_active(), database)


def _add_database_option(command: Command) -> None:
    command.add_argument("--database", metavar="LABEL", default=None,
                         help="Label of the database in the configuration "
                              "(default: the main database).")


@Management.subcommand(invokable=False, db_untracked=True)
class Db(Command):
    """Manage the database schema: upgrade, downgrade, make_migrations, current, history."""


@Db.subcommand(db_untracked=True)
class Upgrade(Command):
    """Apply migrations up to REVISION (default: heads, the last revision of every branch)."""

    def add_arguments(self) -> None:
        self.add_argument("revision", nargs="?", default="heads",
                          help="Target revision: heads, a revision id, or BRANCH@head.")
        _add_database_option(self)

    def setup_tasks(self) -> None:
        from outflow.core.pipeline import context

        _migrations(context.args.database).upgrade(context.args.revision)


@Db.subcommand(db_untracked=True)
class Downgrade(Command):
    """Revert migrations down to REVISION: a revision id, BRANCH@-1 (one step back on a
    branch: each plugin has its own), BRANCH@base, or base (everything)."""

    def add_arguments(self) -> None:
        self.add_argument("revision", help="Target revision (e.g. outflow.management@-1).")
        _add_database_option(self)

    def setup_tasks(self) -> None:
        from outflow.core.pipeline import context

        _migrations(context.args.database).downgrade(context.args.revision)


@Db.subcommand(db_untracked=True)
class MakeMigrations(Command):
    """Write a new revision of a plugin's branch from the changes of its models."""

    def add_arguments(self) -> None:
        self.add_argument("--plugin", required=True, metavar="PLUGIN",
                          help="The plugin (package) whose models changed.")
        self.add_argument("-m", "--message", default=None, metavar="TEXT",
                          help="What the revision does (its file name derives from it).")
        _add_database_option(self)

    def setup_tasks(self) -> None:
        from outflow.core.pipeline import context
        from outflow.management.migrate import database_of_plugin

        args = context.args
        database = args.database or database_of_plugin(_active(), args.plugin)
        created = _migrations(database).make_migrations(args.plugin, args.message)
        if created is None:
            print(f"No changes in the models of {args.plugin}: no migration written.")
        else:
            print(f"Wrote {created}")


@Db.subcommand(db_untracked=True)
class Current(Command):
    """Show the revision(s) the database is at."""

    def add_arguments(self) -> None:
        self.add_argument("-v", "--verbose", action="store_true", help="Show details.")
        _add_database_option(self)

    def setup_tasks(self) -> None:
        from outflow.core.pipeline import context

        _migrations(context.args.database).current(verbose=context.args.verbose)


@Db.subcommand(db_untracked=True)
class History(Command):
    """List the revisions of every branch, marking the current ones."""

    def add_arguments(self) -> None:
        self.add_argument("-v", "--verbose", action="store_true", help="Show details.")
        _add_database_option(self)

    def setup_tasks(self) -> None:
        from outflow.core.pipeline import context

        _migrations(context.args.database).history(verbose=context.args.verbose)

"""``management create pipeline|plugin``: new pipelines and plugins from the templates.

``outflow management create pipeline NAME [--pipeline_dir DIR]`` writes ``./NAME`` (or
``DIR``) from ``templates/pipeline``; ``outflow management create plugin ns.name
[--plugin_dir DIR]`` writes ``./name`` (or ``DIR``) from ``templates/plugin``. Names
are checked and the target must not exist before anything is written. The templates
are package data of outflow-management: ``outflow/management/templates``.
"""

from __future__ import annotations

from pathlib import Path

from outflow.core.commands import Command
from outflow.management.commands import Management
from outflow.management.create.names import check_pipeline_name, check_plugin_name
from outflow.management.create.rendering import create_from_template
from outflow.management.create.requirements import pipeline_variables


@Management.subcommand(invokable=False)
class Create(Command):
    """Create a pipeline or a plugin from outflow's templates."""


@Create.subcommand(name="pipeline", db_untracked=True)
class CreatePipeline(Command):
    """Create a pipeline directory: config.yml, settings.py, manage.py, plugins/."""

    def add_arguments(self) -> None:
        self.add_argument("name", help="Name of the pipeline, and of its directory.")
        self.add_argument("--pipeline_dir", metavar="DIR",
                          help="Where to create the pipeline (default: ./NAME).")

    def setup_tasks(self) -> None:
        from outflow.core.pipeline import context

        name = check_pipeline_name(context.args.name)
        target = _target(context.args.pipeline_dir, name)
        create_from_template("pipeline", target, pipeline_variables(name))
        print(f"Created the pipeline {name} in {target}")
        print(f"Next: cd {target} && python manage.py --help")


@Create.subcommand(name="plugin", db_untracked=True)
class CreatePlugin(Command):
    """Create a plugin (PEP 420 package ns.name) with example commands, tasks and models."""

    def add_arguments(self) -> None:
        self.add_argument("name", metavar="NAMESPACE.NAME",
                          help="Dotted name of the plugin, e.g. tuto.data_reduction.")
        self.add_argument("--plugin_dir", metavar="DIR",
                          help="Where to create the plugin (default: ./NAME, the last part).")

    def setup_tasks(self) -> None:
        from outflow.core.pipeline import context

        names = check_plugin_name(context.args.name, _registered_commands(context))
        target = _target(context.args.plugin_dir, names.name)
        create_from_template("plugin", target, names.variables())
        print(f"Created the plugin {names.plugin} in {target}")
        print(f"Next: add '{names.plugin}' to PLUGINS in settings.py, then run "
              f"python manage.py {names.command_name}")


def _target(directory: str | None, default_name: str) -> Path:
    return Path.cwd() / (Path(directory).expanduser() if directory else default_name)


def _registered_commands(pipeline_context: object) -> frozenset[str]:
    """Top-level commands of installed plugins (``management``, ``plugins``, ...)."""
    host = getattr(pipeline_context, "host", None)
    if host is None:
        return frozenset()
    return frozenset(entry.name for entry in host.collect().all("commands"))

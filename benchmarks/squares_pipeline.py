"""A pipeline of one command, ``squares --n N``: a map squaring N ints (SQLite).

Shared by the benchmarks that run a whole command line in their own process (the run
features, the dashboard): :func:`make_pipeline` writes it into a folder.
"""
# ruff: noqa: F821 - outflow's output annotations, `-> {"name": type}`

from __future__ import annotations

import textwrap
from pathlib import Path

#: ``settings.py`` of the pipeline, before any setting a benchmark adds.
SETTINGS = "PLUGINS = ['outflow.management', 'benchdemo']\n"

COMMANDS = '''
from outflow.core.commands import Command, RootCommand
from outflow.core.tasks import as_task
from outflow.library.workflows import MapWorkflow


@as_task
def Values() -> {"value_array": list}:
    from outflow.core.pipeline import context
    return list(range(context.args.n))


@as_task
def Square(value: int) -> {"square": int}:
    return value * value


@RootCommand.subcommand()
class Squares(Command):
    def add_arguments(self):
        self.add_argument("--n", type=int, default=10)

    def setup_tasks(self):
        Values() | MapWorkflow(Square(), name="squares_map")
'''


def make_pipeline(root: Path) -> None:
    """The pipeline in ``root``: its plugin ``benchdemo``, settings, an SQLite config."""
    package = root / "benchdemo"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "commands.py").write_text(textwrap.dedent(COMMANDS).lstrip())
    (root / "settings.py").write_text(SETTINGS)
    (root / "config.yml").write_text("databases:\n  default:\n    dialect: sqlite\n")

"""Database tests: a real PostgreSQL for the session, pipelines that track their runs.

The PostgreSQL server comes from ``outflow_postgres_server`` (``tests/conftest.py``);
each test gets a fresh database from the test helpers' ``postgresql_fixture``.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import outflow.management.models  # noqa: F401 - declare outflow's tables once
from outflow.core.db import Model

DEMO_COMMANDS = '''
from outflow.core.commands import Command, RootCommand
from outflow.core.logging import logger
from outflow.core.tasks import Parameter, as_task


@as_task
def Start() -> {"x": int}:
    return {"x": 0}


@as_task
def Inc(x: int) -> {"x": int}:
    return {"x": x + 1}


@as_task
def Boom(x: int) -> {"x": int}:
    raise ValueError(f"boom at {x}")


@RootCommand.subcommand()
class Chain(Command):
    """A chain of Inc tasks, optionally ending with a failing one."""

    def add_arguments(self):
        self.add_argument("--n", type=int, default=5)
        self.add_argument("--fail", action="store_true")
        self.add_argument("--label", default="")

    def setup_tasks(self):
        from outflow.core.pipeline import context

        logger.info("chain of %s tasks", context.args.n)
        task = Start()
        for _ in range(context.args.n):
            task = task | Inc()
        if context.args.fail:
            task | Boom()


@as_task
def Scale(x: int, factor: Parameter(int)) -> {"x": int}:
    return {"x": x * factor}


@RootCommand.subcommand()
class Scaled(Command):
    def setup_tasks(self):
        Start() | Inc() | Scale()


@RootCommand.subcommand(db_untracked=True)
class Untracked(Command):
    def setup_tasks(self):
        Start() | Inc()
'''

MODEL = '''
from sqlalchemy import INTEGER, Column, UniqueConstraint

from outflow.core.db import Model


class ComputationResult(Model):
    id_computation_result = Column(INTEGER(), primary_key=True)
    input_value = Column(INTEGER(), nullable=False)
    multiplier = Column(INTEGER(), nullable=False)
    result = Column(INTEGER(), nullable=False)

    __table_args__ = (UniqueConstraint("input_value", "multiplier"),)
'''


@pytest.fixture(autouse=True)
def _forget_test_models() -> Iterator[None]:
    """Tables declared by a test's pipeline leave ``Model.metadata`` with the test."""
    before = set(Model.metadata.tables)
    yield
    removed = {Model.metadata.tables[name] for name in set(Model.metadata.tables) - before}
    for mapper in list(Model.registry.mappers):
        if mapper.local_table in removed:
            Model.registry._dispose_cls(mapper.class_)  # else a same-named model warns
    for table in removed:
        Model.metadata.remove(table)


def yaml_databases(entries: dict[str, dict[str, Any]]) -> str:
    lines = ["databases:"]
    for label, entry in entries.items():
        lines.append(f"  {label}:")
        lines += [f"    {key}: {value}" for key, value in entry.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def demo_pipeline(make_pipeline: Callable[..., Path]) -> Callable[..., Path]:
    """A pipeline with the ``demo`` plugin (``chain`` command) and the given databases."""

    def make(databases: dict[str, dict[str, Any]] | None = None, extra_config: str = "",
             models: bool = False) -> Path:
        files = {
            "plugins/demo/demo/__init__.py": "",
            "plugins/demo/demo/commands.py": DEMO_COMMANDS,
        }
        plugins = ["demo"]
        if models:
            plugins.append("tuto.data_reduction")
            files.update({
                "plugins/data_reduction/tuto/data_reduction/__init__.py": "",
                "plugins/data_reduction/tuto/data_reduction/models/__init__.py": "",
                "plugins/data_reduction/tuto/data_reduction/models/computation_result.py":
                    MODEL,
            })
        config = yaml_databases(databases or {"default": {"dialect": "sqlite"}})
        return make_pipeline(plugins=plugins, files=files,
                             config=config + textwrap.dedent(extra_config))

    return make


def outflow_command(root: Path, *args: str) -> list[str]:
    """A command line running outflow in a separate interpreter from ``root``."""
    del root
    return [sys.executable, "-m", "outflow", *args]


@pytest.fixture
def demo_sources() -> dict[str, Any]:
    """The sources of the demo pipeline, for tests that write their own pipeline."""
    return {"commands": DEMO_COMMANDS, "model": MODEL, "databases": yaml_databases}

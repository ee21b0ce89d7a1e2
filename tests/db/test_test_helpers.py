"""The test helpers of ``outflow.core.test``, used the way the tutorial's part 7 does."""
# ruff: noqa: F821 - outflow's documented output annotations, `-> {"name": type}`

from argparse import Namespace
from pathlib import Path
from unittest import mock

import pytest
from sqlalchemy import INTEGER, Column, select
from sqlalchemy.exc import NoResultFound

from outflow.core.commands import Command, RootCommand
from outflow.core.db import Model
from outflow.core.pipeline import config, context
from outflow.core.tasks import as_task
from outflow.core.test import CommandTestCase, PostgresCommandTestCase, TaskTestCase
from outflow.management.models import Run


class HelperResult(Model):
    id_helper_result = Column(INTEGER(), primary_key=True)
    input_value = Column(INTEGER(), nullable=False)
    result = Column(INTEGER(), nullable=False)


@as_task
def GenOneData() -> {"some_data": int}:
    return {"some_data": 40}


@as_task
def ComputeOne(some_data: int) -> {"computation_result": int}:
    session = context.session
    multiplier = context.args.multiplier
    try:
        found = session.query(HelperResult).filter_by(input_value=some_data).one()
        return {"computation_result": found.result}
    except NoResultFound:
        result = some_data * multiplier
        session.add(HelperResult(input_value=some_data, result=result))
        session.commit()
        return {"computation_result": result}


class TestTasks(TaskTestCase):
    def test_gen_one(self) -> None:
        self.task = GenOneData()
        self.config = {}
        assert self.run_task() == {"some_data": 40}

    def test_parameters_come_from_self_config(self) -> None:
        from outflow.core.types import Parameter

        @as_task
        def Scale(value: int, factor: Parameter(int)) -> {"scaled": int}:
            return {"scaled": value * factor}

        self.task = Scale()
        self.config = {"parameters": {"scale": {"factor": 3}}}
        assert self.run_task(value=2) == {"scaled": 6}


class TestTasksWithMockedSession(TaskTestCase):
    @pytest.fixture(autouse=True)
    def setup_context(self, with_pipeline_context_manager):
        context.force_dry_run = False
        context.db_untracked = False
        context._models = []
        config["databases"] = mock.MagicMock()

    @mock.patch("outflow.core.db.database.Databases.session", new_callable=mock.PropertyMock)
    def test_already_in_db(self, mock_session) -> None:
        mock_session.return_value.query.return_value.filter_by.return_value.one.return_value = (
            HelperResult(input_value=4, result=12))
        context.args = Namespace(multiplier=3, dry_run=False, db_untracked=False)
        self.task = ComputeOne()
        assert self.run_task(some_data=4) == {"computation_result": 12}
        added = [call.args[0] for call in mock_session.return_value.add.call_args_list]
        assert added == []

    @mock.patch("outflow.core.db.database.Databases.session", new_callable=mock.PropertyMock)
    def test_not_in_db(self, mock_session) -> None:
        query = mock_session.return_value.query.return_value
        query.filter_by.return_value.one.side_effect = NoResultFound
        context.args = Namespace(multiplier=3, dry_run=False, db_untracked=False)
        self.task = ComputeOne()
        assert self.run_task(some_data=5) == {"computation_result": 15}
        added = [call.args[0] for call in mock_session.return_value.add.call_args_list
                 if isinstance(call.args[0], HelperResult)]
        assert len(added) == 1


@RootCommand.subcommand(db_untracked=True)
class HelperHello(Command):
    def setup_tasks(self):
        GenOneData()


class TestCommands(CommandTestCase):
    def test_run_a_command_class(self) -> None:
        self.root_command_class = HelperHello
        return_code, result = self.run_command([])
        assert return_code == 0
        assert result == [{"some_data": 40}]

    def test_usage_error(self) -> None:
        return_code, result = self.run_command(["no_such_command"])
        assert return_code == 2 and result is None


class TestPostgresCommands(PostgresCommandTestCase):
    PLUGINS = ["outflow.management", "demo", "tuto.data_reduction"]

    @pytest.fixture(autouse=True)
    def setup_db_upgrade(self, tmp_path: Path, monkeypatch, write_tree, demo_sources,
                         with_pipeline_context_manager):
        write_tree(tmp_path, {
            "settings.py": f"PLUGINS = {self.PLUGINS!r}\n",
            "config.yml": demo_sources["databases"]({"default": {"dialect": "sqlite"}}),
            "plugins/demo/demo/__init__.py": "",
            "plugins/demo/demo/commands.py": demo_sources["commands"],
            "plugins/data_reduction/tuto/data_reduction/__init__.py": "",
            "plugins/data_reduction/tuto/data_reduction/models/__init__.py": "",
            "plugins/data_reduction/tuto/data_reduction/models/computation_result.py":
                demo_sources["model"],
        })
        monkeypatch.chdir(tmp_path)
        upgrade = ["management", "db", "upgrade", "heads", "-ll", "INFO"]
        assert self.run_command(upgrade, force_dry_run=False)[0] == 0
        make = ["management", "db", "make_migrations", "--plugin", "tuto.data_reduction",
                "--message", "results"]
        assert self.run_command(make, force_dry_run=False)[0] == 0
        assert self.run_command(upgrade, force_dry_run=False)[0] == 0

    def test_db_upgrade(self) -> None:
        from tuto.data_reduction.models.computation_result import ComputationResult

        with self.pipeline_db_session() as session:
            assert session.query(ComputationResult).count() == 0
        assert not (Path.cwd() / "outflow.db").exists()  # the PostgreSQL database is used

    def test_tracked_only_without_dry_run(self) -> None:
        assert self.run_command(["chain", "--n", "3"]) == (0, [{"x": 3}])
        with self.pipeline_db_session() as session:
            assert session.scalars(select(Run)).all() == []
        assert self.run_command(["chain", "--n", "3"], force_dry_run=False)[0] == 0
        with self.pipeline_db_session() as session:
            [run] = session.scalars(select(Run)).all()
            assert (run.command, run.state) == ("chain", "success")

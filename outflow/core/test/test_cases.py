"""Test cases for tasks and commands, as the tutorial's part 7 uses them.

* :class:`TaskTestCase`: set ``self.task`` and ``self.config``, call
  ``self.run_task(**inputs)`` and get the outputs dict. The task runs in a pipeline
  context with that configuration: the one of the ``with_pipeline_context_manager``
  fixture when the test uses it (so that what the test put in ``context`` and
  ``config`` is seen), otherwise a fresh one.
* :class:`CommandTestCase`: ``run_command(args, force_dry_run=True)`` runs the command
  line in-process with :class:`~outflow.core.pipeline.Pipeline` and returns
  ``(return_code, result)``. ``PLUGINS`` overrides the pipeline's
  ``settings.PLUGINS``; ``root_command_class`` names the command to run (its name is
  put in front of ``args``) or a custom root. ``force_dry_run`` (the default) runs
  without tracking.
* :class:`PostgresCommandTestCase`: the same on a fresh PostgreSQL database per test
  (an admin and a user role, like production), dropped afterwards;
  ``pipeline_db_session()`` gives a session on it.

Why pytest fixtures rather than ``setUp``: pytest creates one instance per test and
injects fixtures into methods, which is how the tutorial's tests are written.
"""

from __future__ import annotations

import itertools
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from outflow.core.pipeline.config import Config
from outflow.core.pipeline.context import (
    PipelineContext,
    activate,
    active_context,
    has_active_context,
)

_settings_counter = itertools.count()


def _pipeline_root() -> Path | None:
    """The pipeline the tests run in (``settings.py`` in the working directory or above)."""
    from outflow.core.pipeline.discovery import find_settings_file

    found = find_settings_file(Path.cwd())
    return found.parent if found is not None else None


def make_test_context(config: dict[str, Any] | None = None) -> PipelineContext:
    """A fresh pipeline context: the pipeline's settings when one is found, ``config``."""
    from outflow.core.pipeline.discovery import locate_pipeline
    from outflow.core.pipeline.settings import Settings

    root = _pipeline_root()
    settings = Settings()
    if root is not None:
        location = locate_pipeline(root_directory=root)
        settings = Settings(location.settings_module)
    return PipelineContext(settings, Config(dict(config or {})), root_directory=root)


def _close(pipeline_context: PipelineContext) -> None:
    databases = getattr(pipeline_context, "_databases", None)
    if databases is not None and hasattr(databases, "dispose"):
        databases.dispose()


@pytest.fixture
def with_pipeline_context_manager(request: pytest.FixtureRequest) -> Iterator[PipelineContext]:
    """Activate a pipeline context for the whole test (``context``/``config`` work in it).

    In a test case, it is the context ``run_task`` uses and whose configuration
    ``run_command`` starts from.
    """
    instance = request.instance
    config = dict(getattr(instance, "config", None) or {}) if instance is not None else {}
    pipeline_context = make_test_context(config)
    if instance is not None:
        instance._outflow_context = pipeline_context
    with activate(pipeline_context):
        yield pipeline_context
    if instance is not None:
        instance._outflow_context = None
    _close(pipeline_context)


class TaskTestCase:
    """Run one task (or workflow) with given inputs and configuration; see the module doc."""

    task: Any = None
    config: dict[str, Any] | None = None
    _outflow_context: PipelineContext | None = None

    def run_task(self, **inputs: Any) -> dict[str, Any]:
        """Run ``self.task`` with ``inputs`` and return its outputs dict."""
        if self.task is None:
            raise ValueError("set self.task (an instance of the task to test) first")
        fixture_context = self._outflow_context
        if (fixture_context is not None and has_active_context()
                and active_context() is fixture_context):
            fixture_context.config.update(self.config or {})
            return self.task(**inputs)
        pipeline_context = make_test_context(self.config)
        try:
            with activate(pipeline_context):
                return self.task(**inputs)
        finally:
            _close(pipeline_context)


class CommandTestCase:
    """Run commands of the pipeline in-process; see the module doc."""

    root_command_class: Any = None
    PLUGINS: list[str] | None = None
    config: dict[str, Any] | None = None
    _outflow_context: PipelineContext | None = None

    @pytest.fixture(autouse=True)
    def _outflow_command_test_case(self, request: pytest.FixtureRequest,
                                   tmp_path: Path) -> Iterator[None]:
        self._outflow_request = request
        self._outflow_tmp = tmp_path
        yield
        for name in getattr(self, "_outflow_settings_modules", []):
            sys.modules.pop(name, None)

    # -- running ------------------------------------------------------------------
    def run_command(self, args: list[str], force_dry_run: bool = True) -> tuple[int, Any]:
        """Run ``args`` as a command line; return ``(return_code, result)``."""
        from outflow.core.pipeline import Pipeline

        root = _pipeline_root() or getattr(self, "_outflow_tmp", None)
        with Pipeline(root_directory=root, settings_module=self._settings_module(root),
                      argv=self._argv(args), force_dry_run=force_dry_run) as pipeline:
            if pipeline.context is not None:
                self.prepare_context(pipeline.context)
            try:
                code = pipeline.run()
            finally:
                if pipeline.context is not None:
                    _close(pipeline.context)
        return code, pipeline.result

    def prepare_context(self, pipeline_context: PipelineContext) -> None:
        """Apply the test's configuration (fixture context, then ``self.config``)."""
        if self._outflow_context is not None:
            pipeline_context.config.update(self._outflow_context.config)
        pipeline_context.config.update(self.config or {})

    def _argv(self, args: list[str]) -> list[str]:
        from outflow.core.commands import RootCommand

        command = self.root_command_class
        if command is None or (isinstance(command, type) and issubclass(command, RootCommand)):
            return list(args)
        return [*command.full_name().split(), *args]

    def _settings_module(self, root: Path | None) -> str | None:
        """A settings module: the pipeline's, with ``PLUGINS`` and the root class overridden."""
        from outflow.core.commands import RootCommand

        command = self.root_command_class
        custom_root = isinstance(command, type) and issubclass(command, RootCommand) and (
            command is not RootCommand)
        if self.PLUGINS is None and not custom_root:
            return None
        values: dict[str, Any] = {}
        if root is not None and (root / "settings.py").is_file():
            from outflow.core.pipeline.discovery import locate_pipeline

            module = locate_pipeline(root_directory=root).settings_module
            values = {key: getattr(module, key) for key in dir(module) if key.isupper()}
        if self.PLUGINS is not None:
            values["PLUGINS"] = list(self.PLUGINS)
        if custom_root:
            values["ROOT_COMMAND_CLASS"] = command
        name = f"_outflow_test_settings_{next(_settings_counter)}"
        module = types.ModuleType(name)
        module.__dict__.update(values)
        sys.modules[name] = module
        self.__dict__.setdefault("_outflow_settings_modules", []).append(name)
        return name


class PostgresCommandTestCase(CommandTestCase):
    """A :class:`CommandTestCase` whose main database is a fresh PostgreSQL database."""

    def _outflow_database(self) -> Any:
        database = getattr(self, "_outflow_postgres", None)
        if database is None:
            database = self._outflow_request.getfixturevalue("postgresql_fixture")
            self._outflow_postgres = database
        return database

    def database_config(self) -> dict[str, Any]:
        """The ``databases.<main>`` entry pointing at this test's database."""
        return self._outflow_database().config

    def prepare_context(self, pipeline_context: PipelineContext) -> None:
        super().prepare_context(pipeline_context)
        label = getattr(pipeline_context.settings, "MAIN_DATABASE", "default")
        databases = dict(pipeline_context.config.get("databases") or {})
        databases[label] = self.database_config()
        pipeline_context.config["databases"] = databases

    @contextmanager
    def pipeline_db_session(self) -> Iterator[Any]:
        """A SQLAlchemy session on the test database, with the pipeline's user role."""
        from sqlalchemy import create_engine
        from sqlalchemy.orm import Session

        engine = create_engine(self._outflow_database().url())
        session = Session(engine)
        try:
            yield session
        finally:
            session.close()
            engine.dispose()


@pytest.fixture(scope="session")
def outflow_postgres_server(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A PostgreSQL server for the session (see :mod:`outflow.core.test.postgres`)."""
    from outflow.core.test.postgres import (
        PostgresUnavailable,
        server_from_environment,
        server_from_pytest_options,
        start_throwaway_server,
    )

    server = server_from_environment() or server_from_pytest_options(request.config)
    if server is not None:
        yield server
        return
    try:
        server = start_throwaway_server()
    except PostgresUnavailable as error:
        pytest.skip(str(error))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgresql_fixture(outflow_postgres_server: Any) -> Iterator[Any]:
    """A fresh database (admin and user roles) on the session's server, dropped afterwards."""
    from outflow.core.test.postgres import create_test_database

    database = create_test_database(outflow_postgres_server)
    try:
        yield database
    finally:
        database.drop()


__all__ = [
    "CommandTestCase",
    "PostgresCommandTestCase",
    "TaskTestCase",
    "make_test_context",
    "outflow_postgres_server",
    "postgresql_fixture",
    "with_pipeline_context_manager",
]

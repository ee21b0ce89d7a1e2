"""The kernel's database layer: models, binds, SQLite settings, sessions, fork safety."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from unittest import mock

import pytest
from sqlalchemy import Column, Integer, String, select, text
from sqlalchemy.orm import Mapped, mapped_column

from outflow.core.db import Databases, Model, bind_key_of
from outflow.core.db.settings import DatabaseConfigError, parse_databases
from outflow.core.pipeline.context import PipelineContext, activate


class ClassicModel(Model):
    id_classic = Column(Integer, primary_key=True)
    value = Column(Integer)


class AnnotatedModel(Model):
    __tablename__ = "annotated_things"
    __bind_key__ = "other"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


class HTTPServerLog(Model):
    id = Column(Integer, primary_key=True)


def _context(tmp_path: Path, databases: dict | None = None) -> PipelineContext:
    databases = databases or {"default": {"dialect": "sqlite"},
                              "other": {"dialect": "sqlite", "path": "other.db"}}
    return PipelineContext(config={"databases": databases}, root_directory=tmp_path)


@pytest.fixture
def databases(tmp_path: Path):
    pipeline_context = _context(tmp_path)
    databases = pipeline_context.databases
    Model.metadata.create_all(databases.engine(), tables=[ClassicModel.__table__,
                                                          HTTPServerLog.__table__])
    Model.metadata.create_all(databases.engine("other"), tables=[AnnotatedModel.__table__])
    yield databases
    databases.dispose()


def test_table_names_default_to_snake_case_and_can_be_overridden() -> None:
    assert ClassicModel.__tablename__ == "classic_model"
    assert HTTPServerLog.__tablename__ == "http_server_log"
    assert AnnotatedModel.__table__.name == "annotated_things"
    assert bind_key_of(AnnotatedModel.__table__) == "other"
    assert bind_key_of(ClassicModel.__table__) is None


def test_session_routes_models_to_their_database(databases: Databases, tmp_path: Path) -> None:
    session = databases.session
    assert session is databases.session  # one session per thread
    session.add_all([ClassicModel(value=3), AnnotatedModel(name="x")])
    session.commit()
    assert session.scalars(select(AnnotatedModel.name)).all() == ["x"]
    assert session.query(ClassicModel).count() == 1
    with databases.engine("other").connect() as connection:
        assert connection.execute(text("select count(*) from annotated_things")).scalar() == 1
        assert "classic_model" not in {
            row[0] for row in connection.execute(text("select name from sqlite_master"))
        }
    assert (tmp_path / "outflow.db").exists() and (tmp_path / "other.db").exists()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(databases: Databases) -> None:
    with databases.engine().connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def test_default_database_is_outflow_db_in_the_pipeline_root(tmp_path: Path) -> None:
    settings = parse_databases(None, tmp_path, "default")
    assert settings["default"].path == str(tmp_path / "outflow.db")


def test_postgres_entries_and_their_roles() -> None:
    parsed = parse_databases({"default": {
        "dialect": "postgresql", "address": "db.example:6543", "database": "pipe",
        "admin": "boss:adminpwd", "user": "worker:userpwd"}}, None, "default")["default"]
    assert (parsed.host, parsed.port, parsed.database) == ("db.example", 6543, "pipe")
    assert parsed.url(admin=True).username == "boss"
    assert parsed.url().username == "worker"
    assert "userpwd" not in repr(parsed) and "adminpwd" not in repr(parsed)
    only_user = parse_databases({"default": {"dialect": "postgresql", "address": "h",
                                             "database": "d", "user": "u:p"}}, None, "default")
    assert only_user["default"].url(admin=True).username == "u"  # one role for both
    assert only_user["default"].port == 5432
    with pytest.raises(DatabaseConfigError, match="unknown dialect"):
        parse_databases({"default": {"dialect": "oracle"}}, None, "default")


def test_urls_are_shown_without_password(tmp_path: Path) -> None:
    pipeline_context = _context(tmp_path, {"default": {
        "dialect": "postgresql", "address": "localhost:5432", "database": "d",
        "user": "u:s3cr3t-pass"}})
    text_url = pipeline_context.databases.describe()
    assert "s3cr3t-pass" not in text_url and "***" in text_url
    assert pipeline_context.databases.mask("failed with s3cr3t-pass") == "failed with ******"
    assert "s3cr3t-pass" not in repr(pipeline_context.databases.settings_for())


def test_session_can_be_mocked_as_the_tutorial_does(tmp_path: Path) -> None:
    pipeline_context = PipelineContext(config={"databases": mock.MagicMock()})
    with mock.patch("outflow.core.db.database.Databases.session",
                    new_callable=mock.PropertyMock) as mock_session:
        mock_session.return_value.query.return_value.count.return_value = 42
        with activate(pipeline_context):
            from outflow.core.pipeline import context

            assert context.session.query(ClassicModel).count() == 42


def _child_uses_database(databases: Databases, queue) -> None:
    try:
        inherited = databases._engines[("default", False)]
        engine = databases.engine()
        session = databases.session
        session.add(ClassicModel(value=os.getpid()))
        session.commit()
        queue.put(("ok", engine is not inherited))
    except Exception as error:  # pragma: no cover - reported to the parent
        queue.put(("error", repr(error)))


def test_a_forked_child_gets_its_own_engines_and_session(databases: Databases) -> None:
    parent_session = databases.session
    parent_session.add(ClassicModel(value=1))
    parent_session.commit()
    engine = databases.engine()
    fork = multiprocessing.get_context("fork")
    queue = fork.Queue()
    child = fork.Process(target=_child_uses_database, args=(databases, queue))
    child.start()
    child.join(30)
    assert queue.get(timeout=5) == ("ok", True)
    assert databases.engine() is engine  # the parent's pool is untouched
    assert parent_session.query(ClassicModel).count() == 2


def test_unknown_label_names_the_configured_ones(databases: Databases) -> None:
    with pytest.raises(DatabaseConfigError, match="configured: default, other"):
        databases.engine("nope")

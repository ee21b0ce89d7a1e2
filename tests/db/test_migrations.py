"""Migrations: every shipped revision up and down, plugin branches, make_migrations, roles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import ProgrammingError

from outflow.core.pipeline.context import PipelineContext, activate
from outflow.core.plugins.host import PluginHost
from outflow.management.migrate import Migrations

OUTFLOW_TABLES = {"configuration", "run", "block", "edge", "runtime_exception"}


def _tables(url: Any) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def _sqlite_url(root: Path) -> str:
    return f"sqlite:///{root / 'outflow.db'}"


def _migrations(config: dict[str, Any], root: Path) -> tuple[Migrations, PipelineContext]:
    pipeline_context = PipelineContext(config=config, root_directory=root,
                                       host=PluginHost().load())
    return Migrations(pipeline_context), pipeline_context


def _walk_each_revision(migrations: Migrations, pipeline_context: PipelineContext,
                        url: Any) -> None:
    """Upgrade one shipped revision at a time, then downgrade one at a time, then heads."""
    from alembic.script import ScriptDirectory

    config, _ = migrations.alembic_config()
    script = ScriptDirectory.from_config(config)
    revisions = list(reversed(list(script.walk_revisions("base", "heads"))))
    assert revisions, "outflow ships at least its initial migration"
    with activate(pipeline_context):
        for revision in revisions:
            migrations.upgrade(revision.revision)
            assert revision.revision in migrations.heads_applied()
        assert _tables(url) >= OUTFLOW_TABLES
        for revision in reversed(revisions):
            migrations.downgrade(revision.down_revision or "base")
        assert migrations.heads_applied() == set()
        assert not OUTFLOW_TABLES & _tables(url)
        migrations.upgrade("heads")
        assert _tables(url) >= OUTFLOW_TABLES
    pipeline_context.databases.dispose()


def test_every_shipped_migration_up_and_down_on_sqlite(tmp_path: Path) -> None:
    migrations, pipeline_context = _migrations({"databases": {"default": {"dialect": "sqlite"}}},
                                               tmp_path)
    _walk_each_revision(migrations, pipeline_context, _sqlite_url(tmp_path))


def test_every_shipped_migration_up_and_down_on_postgresql(tmp_path: Path,
                                                           postgresql_fixture) -> None:
    databases = {"default": postgresql_fixture.config}
    migrations, pipeline_context = _migrations({"databases": databases}, tmp_path)
    _walk_each_revision(migrations, pipeline_context, postgresql_fixture.url(admin=True))


def test_upgrade_downgrade_upgrade_commands(demo_pipeline, run_cli) -> None:
    root = demo_pipeline()
    code, out, err = run_cli(["management", "db", "upgrade", "heads"], root)
    assert code == 0, err
    assert _tables(_sqlite_url(root)) >= OUTFLOW_TABLES
    code, out, err = run_cli(["management", "db", "current"], root)
    assert code == 0 and "(head)" in out, err
    code, out, err = run_cli(["management", "db", "downgrade", "base"], root)
    assert code == 0, err
    assert not OUTFLOW_TABLES & _tables(_sqlite_url(root))
    code, out, err = run_cli(["management", "db", "upgrade"], root)
    assert code == 0, err
    code, out, err = run_cli(["management", "db", "history"], root)
    assert code == 0 and "outflow.management" in out and "(current)" in out, err
    # Migration commands are never tracked themselves.
    engine = create_engine(_sqlite_url(root))
    with engine.connect() as connection:
        assert connection.execute(text("select count(*) from run")).scalar() == 0
    engine.dispose()


def test_user_role_cannot_drop_tables_but_can_write_rows(tmp_path: Path,
                                                         postgresql_fixture) -> None:
    databases = {"default": postgresql_fixture.config}
    migrations, pipeline_context = _migrations({"databases": databases}, tmp_path)
    with activate(pipeline_context):
        migrations.upgrade("heads")
        with pipeline_context.databases.engine().connect() as connection:
            current_user = connection.execute(text("select current_user")).scalar()
            assert current_user == postgresql_fixture.user
            connection.execute(text(
                "insert into configuration (hash, config, created) values ('h', '{}', now())"))
            connection.commit()
            with pytest.raises(ProgrammingError, match="must be owner"):
                connection.execute(text("drop table edge"))
            connection.rollback()
        pipeline_context.databases.dispose()
    assert "edge" in _tables(postgresql_fixture.url(admin=True))


@pytest.mark.parametrize("form", ["equals", "separate"])
def test_make_migrations_writes_the_plugin_branch(demo_pipeline, run_cli, form: str) -> None:
    root = demo_pipeline(models=True)
    code, _, err = run_cli(["management", "db", "upgrade", "heads"], root)
    assert code == 0, err
    message = "Add table 'computation_result'"
    options = [f"--message={message}"] if form == "equals" else ["--message", message]
    code, out, err = run_cli(["management", "db", "make_migrations", "--plugin",
                              "tuto.data_reduction", *options], root)
    assert code == 0, err
    versions = root / "plugins/data_reduction/tuto/data_reduction/models/versions/default"
    [written] = list(versions.glob("*.py"))
    assert written.name.endswith("_add_table_computation_result.py")
    source = written.read_text()
    assert message in source
    assert "branch_labels = ('tuto.data_reduction',)" in source
    assert "op.create_table('computation_result'" in source
    assert 'op.grant_permissions("computation_result")' in source
    assert "'run'" not in source  # only the plugin's own tables
    code, _, err = run_cli(["management", "db", "upgrade", "heads"], root)
    assert code == 0, err
    assert "computation_result" in _tables(_sqlite_url(root))
    code, out, err = run_cli(["management", "db", "make_migrations", "--plugin",
                              "tuto.data_reduction", "-m", "again"], root)
    assert code == 0 and "No changes" in out, err
    assert len(list(versions.glob("*.py"))) == 1


def test_plugin_migration_on_postgresql_grants_the_user(demo_pipeline, run_cli,
                                                        postgresql_fixture) -> None:
    root = demo_pipeline(databases={"default": postgresql_fixture.config}, models=True)
    assert run_cli(["management", "db", "upgrade", "heads"], root)[0] == 0
    code, _, err = run_cli(["management", "db", "make_migrations", "--plugin",
                            "tuto.data_reduction", "--message", "results"], root)
    assert code == 0, err
    code, _, err = run_cli(["management", "db", "upgrade", "heads"], root)
    assert code == 0, err
    engine = create_engine(postgresql_fixture.url())  # the user role
    with engine.begin() as connection:
        connection.execute(text("insert into computation_result (input_value, multiplier, "
                                "result) values (2, 3, 6)"))
        assert connection.execute(text("select result from computation_result")).scalar() == 6
    engine.dispose()
    code, _, err = run_cli(["management", "db", "downgrade", "tuto.data_reduction@base"], root)
    assert code == 0, err
    assert "computation_result" not in _tables(postgresql_fixture.url(admin=True))
    assert "run" in _tables(postgresql_fixture.url(admin=True))


def test_models_bound_to_another_database_migrate_there(demo_pipeline, run_cli,
                                                        write_tree) -> None:
    root = demo_pipeline(databases={"default": {"dialect": "sqlite"},
                                    "archive": {"dialect": "sqlite", "path": "archive.db"}},
                         models=True)
    write_tree(root, {"plugins/data_reduction/tuto/data_reduction/models/archived.py": '''
        from sqlalchemy import Column, Integer
        from outflow.core.db import Model

        class ArchivedItem(Model):
            __bind_key__ = "archive"
            id = Column(Integer, primary_key=True)
        '''})
    # The plugin's models bind to two databases: make_migrations needs --database.
    code, out, err = run_cli(["management", "db", "upgrade", "--database", "archive"], root)
    assert code == 0, err
    code, out, err = run_cli(["management", "db", "make_migrations", "--plugin",
                              "tuto.data_reduction", "--database", "archive", "-m", "archive"],
                             root)
    assert code == 0, err
    versions = root / "plugins/data_reduction/tuto/data_reduction/models/versions/archive"
    [written] = list(versions.glob("*.py"))
    assert "archived_item" in written.read_text()
    assert "computation_result" not in written.read_text()
    assert run_cli(["management", "db", "upgrade", "--database", "archive"], root)[0] == 0
    assert "archived_item" in _tables(f"sqlite:///{root / 'archive.db'}")
    assert "archived_item" not in _tables(_sqlite_url(root))

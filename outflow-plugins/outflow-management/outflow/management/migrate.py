"""Migrations with Alembic, run programmatically: one Alembic branch per plugin.

Why this shape (see the design notes): each plugin owns the tables of its models and
ships their revisions in its own branch (``branch_labels=(plugin,)``), in
``<plugin package>/models/versions/<database label>/``; outflow's own tables are the
``outflow.management`` branch. ``upgrade heads`` applies every branch of a database.
There is no ``alembic.ini``: the script location is this package's ``migrations``
directory and the version locations are gathered from the plugins:

* locations registered with the ``outflow_register_migrations`` hook;
* ``models/versions/<label>`` next to every registered models module (pipeline
  plugins listed in ``settings.PLUGINS`` get their ``models`` registered
  automatically).

The label ``default`` in those places means the main database
(``settings.MAIN_DATABASE``). Migrations connect with the admin role.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outflow.core.db import DatabaseError, Model, bind_key_of
from outflow.core.db.model import module_of
from outflow.management import migration_ops

SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"
DEFAULT_LABEL = "default"


@dataclass(frozen=True)
class VersionLocation:
    """A directory of revisions of one branch for one database."""

    path: Path
    database: str
    branch: str | None = None


@dataclass
class EnvironmentSetup:
    """What ``migrations/env.py`` needs, handed over through ``Config.attributes``."""

    connection: Any
    label: str
    main_label: str
    user_role: str | None = None
    plugin: str | None = None  # make_migrations: only this plugin's tables
    no_changes: list[bool] = field(default_factory=list)

    def owns(self, table: Any) -> bool:
        """Whether autogenerate should consider this table of the models."""
        if (bind_key_of(table) or self.main_label) != self.label:
            return False
        if self.plugin is None:
            return True
        module = module_of(table)
        return module == self.plugin or module.startswith(self.plugin + ".")

    def include_object(self, obj: Any, name: str | None, type_: str, reflected: bool,
                       compare_to: Any) -> bool:
        if type_ != "table":
            return True
        if reflected and compare_to is None:
            return False  # a table no model declares: not ours to drop
        return self.owns(obj)

    def process_revision_directives(self, context: Any, revision: Any,
                                    directives: list[Any]) -> None:
        migration_ops.grant_after_create(context, revision, directives)
        script = directives[0] if directives else None
        if script is not None and all(ops.is_empty() for ops in script.upgrade_ops_list):
            directives[:] = []
            self.no_changes.append(True)


def run_environment(alembic_context: Any) -> None:
    """Body of ``env.py``: configure Alembic on the prepared connection and run."""
    setup: EnvironmentSetup = alembic_context.config.attributes["outflow"]
    if alembic_context.is_offline_mode():
        raise DatabaseError("outflow runs migrations online only (no --sql)")
    alembic_context.configure(
        connection=setup.connection,
        target_metadata=Model.metadata,
        include_object=setup.include_object,
        process_revision_directives=setup.process_revision_directives,
        render_as_batch=True,  # ALTERs that also work on SQLite
        compare_type=True,
        # outflow's SQLite engines begin transactions themselves (see outflow.core.db):
        # DDL is transactional there too, so a failed migration leaves nothing behind.
        transactional_ddl=True,
        **{migration_ops.USER_ROLE_OPTION: setup.user_role},
    )
    with alembic_context.begin_transaction():
        alembic_context.run_migrations()


def import_models(host: Any) -> list[str]:
    """Import every registered models module, so that ``Model.metadata`` is complete.

    A models package is imported with all its submodules (``models/computation_result.py``
    declares its model even if ``models/__init__.py`` is empty), except ``versions``.
    """
    names = []
    for entry in host.collect().all("models") if host is not None else []:
        target = entry.target
        module = importlib.import_module(target) if isinstance(target, str) else target
        names.append(module.__name__)
        names += _import_submodules(module)
    return names


def _import_submodules(package: Any) -> list[str]:
    names = []
    for info in pkgutil.iter_modules(getattr(package, "__path__", None) or []):
        if info.name == "versions" or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        names.append(module.__name__)
        if info.ispkg:
            names += _import_submodules(module)
    return names


def _package_dir(package: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin).parent if spec.origin else None


def _resolve_path(target: Any) -> Path | None:
    """``"package:relative/dir"`` or a plain path."""
    text = str(target)
    if ":" in text and not os.path.isabs(text):
        package, _, relative = text.partition(":")
        base = _package_dir(package)
        return (base / relative).resolve() if base is not None else None
    return Path(text).resolve()


class Migrations:
    """Alembic commands for one database of a pipeline context."""

    def __init__(self, pipeline_context: Any, database: str | None = None) -> None:
        self.context = pipeline_context
        self.databases = pipeline_context.databases
        self.main_label = self.databases.main_label
        label = self.main_label if database in (None, DEFAULT_LABEL) else database
        self.label = self.databases.resolve_label(label)

    # -- locations ----------------------------------------------------------------
    def _label_of(self, name: str) -> str:
        return self.main_label if name == DEFAULT_LABEL else name

    def locations(self) -> list[VersionLocation]:
        """Every version location of this database, registered or discovered."""
        host = getattr(self.context, "host", None)
        found: dict[Path, VersionLocation] = {}
        registry = host.collect() if host is not None else None
        for entry in registry.all("migrations") if registry is not None else []:
            database = self._label_of(str(entry.options.get("database", DEFAULT_LABEL)))
            path = _resolve_path(entry.target)
            if path is not None and database == self.label:
                found.setdefault(path, VersionLocation(path, database,
                                                       entry.options.get("branch")))
        for entry in registry.all("models") if registry is not None else []:
            module = entry.target if isinstance(entry.target, str) else entry.target.__name__
            base = _package_dir(module)
            if base is None:
                continue
            versions = base / "versions"
            if not versions.is_dir():
                continue
            for directory in sorted(versions.iterdir()):
                if directory.is_dir() and self._label_of(directory.name) == self.label:
                    found.setdefault(directory.resolve(),
                                     VersionLocation(directory.resolve(), self.label))
        return list(found.values())

    def _user_role(self) -> str | None:
        settings = self.databases.settings_for(self.label)
        if settings.is_sqlite or settings.user is None or settings.admin is None:
            return None
        return settings.user.name if settings.user.name != settings.admin.name else None

    # -- alembic ------------------------------------------------------------------
    def alembic_config(self, connection: Any = None, plugin: str | None = None,
                       extra: list[Path] = (), stdout: Any = None) -> tuple[Any, EnvironmentSetup]:
        from alembic.config import Config

        # Alembic's default stdout is bound when alembic is imported: give today's one.
        config = Config(stdout=stdout if stdout is not None else sys.stdout)
        config.set_main_option("script_location", _escape(str(SCRIPT_LOCATION)))
        config.set_main_option("path_separator", "os")
        paths = [str(location.path) for location in self.locations()]
        paths += [str(path) for path in extra if str(path) not in paths]
        config.set_main_option("version_locations", _escape(os.pathsep.join(paths)))
        setup = EnvironmentSetup(connection, self.label, self.main_label, self._user_role(),
                                 plugin)
        config.attributes["outflow"] = setup
        return config, setup

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        engine = self.databases.admin_engine(self.label)
        try:
            with engine.connect() as connection:
                yield connection
                if connection.in_transaction():
                    connection.commit()
        except DatabaseError:
            raise
        except Exception as error:
            raise DatabaseError(self._describe_error(error)) from None

    def _describe_error(self, error: BaseException) -> str:
        where = self.databases.describe(self.label, admin=True)
        return self.databases.mask(f"{type(error).__name__} on {where}: {error}")

    def _run(self, name: str, *args: Any, plugin: str | None = None,
             extra: list[Path] = (), **kwargs: Any) -> EnvironmentSetup:
        from alembic import command
        with self._connection() as connection:
            config, setup = self.alembic_config(connection, plugin, extra)
            getattr(command, name)(config, *args, **kwargs)
        return setup

    def upgrade(self, revision: str = "heads") -> None:
        import_models(getattr(self.context, "host", None))
        self._run("upgrade", revision)

    def downgrade(self, revision: str) -> None:
        import_models(getattr(self.context, "host", None))
        self._run("downgrade", revision)

    def current(self, verbose: bool = False) -> None:
        self._run("current", verbose=verbose)

    def history(self, verbose: bool = False) -> None:
        self._run("history", verbose=verbose, indicate_current=True)

    def heads_applied(self) -> set[str]:
        """Revisions the database is at (for tests and messages)."""
        from alembic.runtime.migration import MigrationContext

        with self._connection() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())

    def make_migrations(self, plugin: str, message: str | None) -> Path | None:
        """Autogenerate a revision of ``plugin``'s branch; None when its models did not change."""
        from alembic.script import ScriptDirectory

        import_models(getattr(self.context, "host", None))
        package = _package_dir(plugin)
        if package is None:
            raise DatabaseError(f"make_migrations: plugin {plugin!r} cannot be imported")
        versions = package / "models" / "versions" / (
            DEFAULT_LABEL if self.label == self.main_label else self.label)
        config, _ = self.alembic_config(extra=[versions])
        script = ScriptDirectory.from_config(config)
        try:
            has_branch = bool(script.get_revisions(f"{plugin}@head"))
        except Exception:  # noqa: BLE001 - alembic raises several kinds for "unknown"
            has_branch = False
        versions.mkdir(parents=True, exist_ok=True)
        options: dict[str, Any] = {"message": message, "autogenerate": True}
        if has_branch:
            options["head"] = f"{plugin}@head"
        else:
            options.update(head="base", branch_label=plugin, version_path=str(versions))
        before = set(versions.glob("*.py"))
        setup = self._run("revision", plugin=plugin, extra=[versions], **options)
        if setup.no_changes:
            return None
        created = sorted(set(versions.glob("*.py")) - before)
        return created[-1] if created else None

    def tables_of(self, plugin: str) -> list[Any]:
        """Tables declared by ``plugin``'s models (any database)."""
        import_models(getattr(self.context, "host", None))
        return [table for table in Model.metadata.tables.values()
                if module_of(table).startswith(plugin)]


def database_of_plugin(pipeline_context: Any, plugin: str) -> str | None:
    """The label of the database the plugin's models bind to (None: no model or several)."""
    databases = pipeline_context.databases
    import_models(getattr(pipeline_context, "host", None))
    labels = {
        bind_key_of(table) or databases.main_label
        for table in Model.metadata.tables.values()
        if module_of(table) == plugin or module_of(table).startswith(plugin + ".")
    }
    return labels.pop() if len(labels) == 1 else None


def _escape(value: str) -> str:
    return value.replace("%", "%%")  # ConfigParser interpolation


__all__ = ["EnvironmentSetup", "Migrations", "VersionLocation", "database_of_plugin",
           "import_models", "run_environment"]

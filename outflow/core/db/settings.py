"""The ``databases:`` section of the configuration, parsed into connection settings.

Why a separate parsed form: passwords must never be printed, so they live in fields
that ``repr`` leaves out, and every URL shown to users is rendered with the password
hidden. Two roles exist for PostgreSQL, as the user guide explains: ``admin`` owns the
schema and applies migrations, ``user`` only reads and writes rows; a configuration
giving one of them uses it for both.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outflow.core.errors import OutflowError

DEFAULT_SQLITE_PATH = "outflow.db"
DEFAULT_POSTGRES_PORT = 5432
DIALECTS = ("sqlite", "postgresql")


class DatabaseConfigError(OutflowError, ValueError):
    """The ``databases`` section is missing a field or names an unknown dialect."""


@dataclass(frozen=True)
class Credentials:
    """``name:password``; the password is left out of ``repr``."""

    name: str
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, text: Any, label: str, key: str) -> Credentials | None:
        if text is None or text == "":
            return None
        if not isinstance(text, str):
            raise DatabaseConfigError(f"databases.{label}.{key} must be 'name:password'")
        name, sep, password = text.partition(":")
        return cls(name, password if sep else None)


@dataclass(frozen=True)
class DatabaseSettings:
    """One entry of ``databases``: enough to build the user and admin URLs."""

    label: str
    dialect: str
    path: str | None = None  # sqlite: absolute path, or ":memory:"
    host: str | None = None
    port: int | None = None
    database: str | None = None
    user: Credentials | None = None
    admin: Credentials | None = None
    driver: str | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def credentials(self, admin: bool) -> Credentials | None:
        """Admin for migrations, user for runs; either one stands in for a missing other."""
        first, second = (self.admin, self.user) if admin else (self.user, self.admin)
        return first or second

    def url(self, admin: bool = False) -> Any:
        """The SQLAlchemy URL (built with ``URL.create``: no escaping issue in passwords)."""
        from sqlalchemy.engine import URL

        if self.is_sqlite:
            return URL.create("sqlite", database=self.path)
        credentials = self.credentials(admin)
        return URL.create(
            f"postgresql+{self.driver or _postgres_driver()}",
            username=credentials.name if credentials else None,
            password=credentials.password if credentials else None,
            host=self.host,
            port=self.port,
            database=self.database,
        )


def _postgres_driver() -> str:
    """psycopg (3) when installed, else psycopg2: whichever the environment provides."""
    for module, driver in (("psycopg", "psycopg"), ("psycopg2", "psycopg2")):
        if importlib.util.find_spec(module) is not None:
            return driver
    return "psycopg"


def parse_database(label: str, entry: Any, root: Path | None) -> DatabaseSettings:
    """Parse one ``databases.<label>`` entry; SQLite paths are relative to the pipeline root."""
    if not isinstance(entry, Mapping):
        raise DatabaseConfigError(f"databases.{label} must be a mapping with a 'dialect'")
    dialect = str(entry.get("dialect") or "sqlite").lower()
    if dialect in ("postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        dialect = "postgresql"
    if dialect not in DIALECTS:
        raise DatabaseConfigError(
            f"databases.{label}.dialect: unknown dialect {dialect!r} "
            f"(supported: {', '.join(DIALECTS)})"
        )
    if dialect == "sqlite":
        raw = str(entry.get("path") or DEFAULT_SQLITE_PATH)
        if raw != ":memory:":
            path = Path(raw).expanduser()
            if not path.is_absolute():
                path = (root or Path.cwd()) / path
            raw = str(path)
        return DatabaseSettings(label, "sqlite", path=raw)
    address = str(entry.get("address") or "localhost")
    host, sep, port_text = address.rpartition(":") if ":" in address else (address, "", "")
    try:
        port = int(port_text) if sep else DEFAULT_POSTGRES_PORT
    except ValueError:
        raise DatabaseConfigError(
            f"databases.{label}.address: expected host:port, got {address!r}"
        ) from None
    database = entry.get("database")
    if not database:
        raise DatabaseConfigError(f"databases.{label}: 'database' (its name) is required")
    user = Credentials.parse(entry.get("user"), label, "user")
    admin = Credentials.parse(entry.get("admin"), label, "admin")
    if user is None and admin is None:
        raise DatabaseConfigError(
            f"databases.{label}: give 'user: name:password' (and 'admin' to apply migrations)"
        )
    return DatabaseSettings(
        label, "postgresql", host=host or "localhost", port=port, database=str(database),
        user=user, admin=admin, driver=entry.get("driver"),
    )


def parse_databases(section: Any, root: Path | None, main: str) -> dict[str, DatabaseSettings]:
    """All entries; without a ``databases`` section the main one is ``outflow.db`` in the root."""
    if section is None or section == {}:
        section = {main: {"dialect": "sqlite", "path": DEFAULT_SQLITE_PATH}}
    if not isinstance(section, Mapping):
        raise DatabaseConfigError("the 'databases' section must map labels to database entries")
    return {str(label): parse_database(str(label), entry, root) for label, entry in section.items()}


__all__ = [
    "Credentials",
    "DatabaseConfigError",
    "DatabaseSettings",
    "parse_database",
    "parse_databases",
]

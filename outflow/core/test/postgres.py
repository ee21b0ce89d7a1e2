"""A PostgreSQL server for tests, and a fresh database with two roles per test.

Why outflow starts its own server: tests of migrations and tracking are only
meaningful on a real PostgreSQL (roles, grants, concurrent writers), and CI machines
rarely have one running. In order of preference:

1. ``OUTFLOW_TEST_POSTGRES=postgresql://superuser:password@host:port/postgres``: a
   running server (CI services, a developer's instance); never stopped by outflow.
2. A throwaway server: ``initdb`` + ``pg_ctl`` in a temporary directory, on a free
   port of 127.0.0.1, with fsync off, stopped and deleted at the end. PostgreSQL
   refuses to run as root, so as root both run as the ``postgres`` user through
   ``runuser`` in a directory owned by that user.

Each test database has an ``admin`` role (owner: applies migrations) and a ``user``
role (reads and writes rows), like the user guide recommends for pipelines.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

ENVIRONMENT_VARIABLE = "OUTFLOW_TEST_POSTGRES"


class PostgresUnavailable(RuntimeError):
    """No server is configured and none can be started (PostgreSQL is not installed)."""


@dataclass
class PostgresServer:
    """Where a superuser can connect; ``data_dir`` is set when outflow started the server."""

    host: str
    port: int
    user: str = "postgres"
    password: str | None = field(default=None, repr=False)
    data_dir: Path | None = None
    bin_dir: Path | None = None

    def url(self, database: str = "postgres") -> Any:
        from sqlalchemy.engine import URL

        from outflow.core.db.settings import _postgres_driver

        return URL.create(f"postgresql+{_postgres_driver()}", username=self.user,
                          password=self.password, host=self.host, port=self.port,
                          database=database)

    def execute(self, *statements: str, database: str = "postgres") -> None:
        """Run statements as the superuser, outside any transaction (CREATE DATABASE)."""
        from sqlalchemy import create_engine

        engine = create_engine(self.url(database), isolation_level="AUTOCOMMIT",
                               poolclass=_null_pool())
        try:
            with engine.connect() as connection:
                for statement in statements:
                    connection.exec_driver_sql(statement)
        finally:
            engine.dispose()

    def stop(self) -> None:
        """Stop and delete a server outflow started; leave others alone."""
        if self.data_dir is None:
            return
        _as_postgres([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir / "data"),
                      "-m", "immediate", "-w", "stop"], check=False)
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir = None


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool


def server_from_environment() -> PostgresServer | None:
    """The server named by ``OUTFLOW_TEST_POSTGRES``, if set."""
    value = os.environ.get(ENVIRONMENT_VARIABLE)
    if not value:
        return None
    parts = urlsplit(value)
    return PostgresServer(
        host=parts.hostname or "127.0.0.1", port=parts.port or 5432,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password) if parts.password else None,
    )


def server_from_pytest_options(config: Any) -> PostgresServer | None:
    """The running server described by pytest-postgresql's options, if a password is given.

    The tutorial's ``pytest.ini`` sets ``postgresql_user``/``postgresql_password``/
    ``postgresql_host`` for an existing server; without a password those options only
    hold pytest-postgresql's defaults and outflow starts its own server instead.
    """

    def option(name: str) -> Any:
        try:
            return config.getoption(name) or config.getini(name)
        except (ValueError, KeyError):  # pytest-postgresql is not installed
            return None

    password = option("postgresql_password")
    if not password:
        return None
    return PostgresServer(
        host=str(option("postgresql_host") or "127.0.0.1"),
        port=int(option("postgresql_port") or 5432),
        user=str(option("postgresql_user") or "postgres"),
        password=str(password),
    )


def find_bin_dir() -> Path | None:
    """Directory of ``initdb``/``pg_ctl``: PATH, ``pg_config --bindir``, Debian's layout."""
    candidates: list[Path] = []
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(Path(found).resolve().parent)
    if shutil.which("pg_config"):
        try:
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                                 timeout=10, check=True).stdout.strip()
            candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass
    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        candidates.append(Path(directory))
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    return None


def _as_postgres(command: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise PostgresUnavailable(
            f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}"
        )
    return done


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_throwaway_server(base_dir: str | os.PathLike[str] | None = None) -> PostgresServer:
    """initdb + pg_ctl start in a new temporary directory; the caller must ``stop()`` it."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PostgresUnavailable(
            "PostgreSQL is not installed (no initdb/pg_ctl found): install it "
            f"(scripts/services/postgres.sh) or set {ENVIRONMENT_VARIABLE}"
        )
    directory = Path(tempfile.mkdtemp(prefix="outflow-pg-", dir=base_dir))
    password = secrets.token_urlsafe(16)
    (directory / "pwfile").write_text(password + "\n")
    directory.chmod(0o700)
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
        shutil.chown(directory / "pwfile", "postgres", "postgres")
        parent = directory.parent
        while parent != parent.parent:  # postgres must be able to reach its directory
            parent.chmod(parent.stat().st_mode | 0o001)
            parent = parent.parent
    port = free_port()
    server = PostgresServer("127.0.0.1", port, "postgres", password, directory, bin_dir)
    try:
        _as_postgres([str(bin_dir / "initdb"), "-D", str(directory / "data"), "-U", "postgres",
                      "-E", "UTF8", "--no-sync", "--auth-local=trust",
                      "--auth-host=scram-sha-256", f"--pwfile={directory / 'pwfile'}"])
        options = (f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off -c synchronous_commit=off -c max_connections=200")
        _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(directory / "data"), "-l",
                      str(directory / "server.log"), "-o", options, "-w", "start"])
    except BaseException:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return server


@dataclass
class TestDatabase:
    """A database owned by ``admin``, with ``user`` allowed to read and write rows."""

    __test__ = False  # not a pytest test class

    server: PostgresServer
    name: str
    admin: str
    admin_password: str = field(repr=False)
    user: str
    user_password: str = field(repr=False)

    @property
    def config(self) -> dict[str, Any]:
        """The ``databases.<label>`` entry of a configuration for this database."""
        return {
            "dialect": "postgresql",
            "address": f"{self.server.host}:{self.server.port}",
            "database": self.name,
            "admin": f"{self.admin}:{self.admin_password}",
            "user": f"{self.user}:{self.user_password}",
        }

    def url(self, admin: bool = False) -> Any:
        from sqlalchemy.engine import URL

        from outflow.core.db.settings import _postgres_driver

        name, password = ((self.admin, self.admin_password) if admin
                          else (self.user, self.user_password))
        return URL.create(f"postgresql+{_postgres_driver()}", username=name,
                          password=password, host=self.server.host,
                          port=self.server.port, database=self.name)

    def drop(self) -> None:
        self.server.execute(
            f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)',
            f'DROP ROLE IF EXISTS "{self.user}"',
            f'DROP ROLE IF EXISTS "{self.admin}"',
        )


def create_test_database(server: PostgresServer, prefix: str = "outflow_test") -> TestDatabase:
    """A new database and its two roles, with random names and passwords."""
    suffix = secrets.token_hex(4)
    database = TestDatabase(
        server, f"{prefix}_{suffix}", f"{prefix}_admin_{suffix}", secrets.token_urlsafe(12),
        f"{prefix}_user_{suffix}", secrets.token_urlsafe(12),
    )
    server.execute(
        f"CREATE ROLE \"{database.admin}\" LOGIN PASSWORD '{database.admin_password}' "
        "NOSUPERUSER CREATEDB NOCREATEROLE INHERIT",
        f"CREATE ROLE \"{database.user}\" LOGIN PASSWORD '{database.user_password}' "
        "NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT",
        f'CREATE DATABASE "{database.name}" WITH OWNER "{database.admin}"',
    )
    return database


__all__ = [
    "ENVIRONMENT_VARIABLE",
    "PostgresServer",
    "PostgresUnavailable",
    "TestDatabase",
    "create_test_database",
    "server_from_environment",
    "server_from_pytest_options",
    "start_throwaway_server",
]

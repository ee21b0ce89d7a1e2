"""``Databases``: the engines and sessions of one pipeline context.

Built lazily by ``context.databases`` from the configuration's ``databases:``
section. Design choices, and why:

* ``session`` is a plain property of the class, so that tests can replace it with
  ``mock.patch('outflow.core.db.database.Databases.session', new_callable=PropertyMock)``
  as the user guide shows, and nothing else (run tracking included) goes through it.
* One session (per thread: sessions are not thread-safe) serves every database: it
  routes each model to the engine of its ``__bind_key__`` label.
* SQLite runs in WAL mode with a 30 s busy timeout, so concurrent runs writing to the
  same file wait for each other instead of failing with "database is locked".
* Fork safety: a child process never reuses its parent's connections (both would talk
  on the same socket or file handle) nor its ORM objects; engines and sessions are
  recreated when ``os.getpid()`` changes.
* Passwords are never shown: URLs are rendered with ``hide_password`` and error
  messages go through :func:`outflow.core.configuration.secrets.mask_text`.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from outflow.core.db.model import bind_key_of
from outflow.core.db.settings import DatabaseConfigError, DatabaseSettings, parse_databases
from outflow.core.errors import OutflowError

#: SQLite busy timeout, in milliseconds: how long a writer waits for another one.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Connection execution option: ``{"outflow_sqlite_begin": "IMMEDIATE"}`` takes the
#: write lock when the transaction starts (the busy handler then applies; a deferred
#: transaction that later writes can fail at once with SQLITE_BUSY).
SQLITE_BEGIN_OPTION = "outflow_sqlite_begin"
#: Connection execution option: ``{"outflow_sqlite_busy_ms": 250}`` waits that long
#: (instead of :data:`SQLITE_BUSY_TIMEOUT_MS`) for another writer's lock, for writes
#: that can be retried later rather than hold up the work (run tracking during a run).
SQLITE_BUSY_OPTION = "outflow_sqlite_busy_ms"


class DatabaseError(OutflowError, RuntimeError):
    """A database cannot be reached or is not configured; the message holds no secret."""


class RoutingSession(Session):
    """A session that sends each model to the engine of its database label."""

    def __init__(self, databases: Databases, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._outflow_databases = databases

    def get_bind(self, mapper: Any = None, clause: Any = None, **kwargs: Any) -> Any:
        label = None
        if mapper is not None:
            cls = getattr(mapper, "class_", mapper)
            label = getattr(cls, "__bind_key__", None)
        elif clause is not None:
            label = bind_key_of(getattr(clause, "table", None))
        return self._outflow_databases.engine(label)


class Databases:
    """The databases of a pipeline context: settings, engines, admin engines, sessions."""

    def __init__(self, context: Any = None) -> None:
        self._context = context
        self._lock = threading.RLock()
        self._reset(os.getpid())

    def _reset(self, pid: int) -> None:
        self._pid = pid
        self._settings: dict[str, DatabaseSettings] | None = None
        self._engines: dict[tuple[str, bool], Engine] = {}
        self._sessions: list[Session] = []
        self._local = threading.local()

    def _check_process(self) -> None:
        """In a forked child, forget the parent's pools and sessions without closing them."""
        pid = os.getpid()
        if pid != self._pid:
            for engine in self._engines.values():
                engine.dispose(close=False)
            self._reset(pid)

    # -- configuration ------------------------------------------------------------
    @property
    def main_label(self) -> str:
        """Label of the database for unbound models and outflow's tables."""
        settings = getattr(self._context, "settings", None)
        label = getattr(settings, "MAIN_DATABASE", None) if settings is not None else None
        return str(label or "default")

    def _root(self) -> Path | None:
        root = getattr(self._context, "root_directory", None)
        if root is None:
            settings = getattr(self._context, "settings", None)
            value = getattr(settings, "ROOT_DIRECTORY", None) if settings is not None else None
            root = Path(value) if value else None
        return Path(root) if root is not None else None

    @property
    def config(self) -> dict[str, Any]:
        """The whole configuration of the context (for masking secrets)."""
        return dict(getattr(self._context, "config", None) or {})

    def all_settings(self) -> dict[str, DatabaseSettings]:
        """Parsed ``databases`` entries by label."""
        if self._settings is None:
            section = self.config.get("databases")
            self._settings = parse_databases(section, self._root(), self.main_label)
        return self._settings

    def labels(self) -> list[str]:
        return list(self.all_settings())

    def resolve_label(self, label: str | None) -> str:
        """``None`` means the main database; the label must be configured."""
        label = label or self.main_label
        known = self.all_settings()
        if label not in known:
            raise DatabaseConfigError(
                f"no database labelled {label!r} in the configuration's 'databases' section "
                f"(configured: {', '.join(known) or 'none'})"
            )
        return label

    def settings_for(self, label: str | None = None) -> DatabaseSettings:
        return self.all_settings()[self.resolve_label(label)]

    def url(self, label: str | None = None, admin: bool = False) -> Any:
        return self.settings_for(label).url(admin=admin)

    def describe(self, label: str | None = None, admin: bool = False) -> str:
        """The URL with its password hidden, for messages."""
        return self.url(label, admin).render_as_string(hide_password=True)

    def mask(self, text: str) -> str:
        """``text`` with every secret of the configuration replaced by a mask."""
        from outflow.core.configuration.secrets import mask_text

        return mask_text(text, self.config)

    # -- engines ------------------------------------------------------------------
    def engine(self, label: str | None = None) -> Engine:
        """The engine of ``label`` (main database by default), with the user role."""
        return self._engine(label, admin=False)

    def admin_engine(self, label: str | None = None) -> Engine:
        """The engine of ``label`` with the admin role: for migrations only."""
        return self._engine(label, admin=True)

    def _engine(self, label: str | None, admin: bool) -> Engine:
        self._check_process()
        label = self.resolve_label(label)
        key = (label, admin)
        engine = self._engines.get(key)
        if engine is None:
            with self._lock:
                engine = self._engines.get(key)
                if engine is None:
                    settings = self.all_settings()[label]
                    if not admin and settings.is_sqlite and (label, True) in self._engines:
                        engine = self._engines[(label, True)]  # one role on SQLite
                    elif admin and settings.is_sqlite and (label, False) in self._engines:
                        engine = self._engines[(label, False)]
                    else:
                        engine = _create_engine(settings, admin)
                    self._engines[key] = engine
        return engine

    def sqlite_file(self, label: str | None = None) -> Path | None:
        """Path of a SQLite database file (None for PostgreSQL or in-memory)."""
        settings = self.settings_for(label)
        if not settings.is_sqlite or settings.path in (None, ":memory:"):
            return None
        return Path(settings.path)

    # -- sessions -----------------------------------------------------------------
    @property
    def session(self) -> Session:
        """The session of this thread, routing each model to its database."""
        self._check_process()
        session = getattr(self._local, "session", None)
        if session is None:
            session = RoutingSession(self)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        """Close the sessions of this process (their transactions are rolled back)."""
        self._check_process()
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()

    def dispose(self) -> None:
        """Close sessions and every pooled connection."""
        self.close()
        with self._lock:
            engines = {id(engine): engine for engine in self._engines.values()}
            self._engines.clear()
        for engine in engines.values():
            engine.dispose()

    def __repr__(self) -> str:
        labels = ", ".join(self._settings) if self._settings is not None else "not loaded"
        return f"<Databases {labels}>"


# ------------------------------------------------------------------------ engines


def _create_engine(settings: DatabaseSettings, admin: bool) -> Engine:
    url = settings.url(admin=admin)
    if settings.is_sqlite:
        if settings.path == ":memory:":
            engine = create_engine(url, poolclass=StaticPool,
                                   connect_args={"check_same_thread": False})
        else:
            engine = create_engine(url, connect_args={
                "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False,
            })
        _configure_sqlite(engine, wal=settings.path != ":memory:")
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except ImportError as error:  # no driver: say which package provides one
        raise DatabaseError(
            f"database {settings.label!r} needs a PostgreSQL driver ({error}): "
            "pip install 'psycopg[binary]'"
        ) from None


def _configure_sqlite(engine: Engine, wal: bool) -> None:
    """WAL, busy timeout, and transactions begun by SQLAlchemy rather than by pysqlite.

    pysqlite opens transactions implicitly and late, which defeats ``BEGIN IMMEDIATE``
    and makes DDL non-transactional; SQLAlchemy's documented recipe hands that job to
    the ``begin`` event.
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        # Set on every transaction: pooled connections keep the last value.
        busy = int(options.get(SQLITE_BUSY_OPTION) or SQLITE_BUSY_TIMEOUT_MS)
        connection.exec_driver_sql(f"PRAGMA busy_timeout={busy}")
        mode = options.get(SQLITE_BEGIN_OPTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


__all__ = [
    "SQLITE_BEGIN_OPTION",
    "SQLITE_BUSY_OPTION",
    "DatabaseError",
    "Databases",
    "RoutingSession",
]

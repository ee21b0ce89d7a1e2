"""The pipeline context, and the scope in which ``context``, ``settings`` and ``config`` work.

Tasks and commands read the context through the module-level objects
``outflow.core.pipeline.context``/``settings``/``config`` documented by the user
guide. Those three are thin views on the *active* :class:`PipelineContext`, which a
:class:`~outflow.core.pipeline.Pipeline` (or a test helper, or a backend worker)
activates with :func:`activate`. Outside that scope they raise one clear error
instead of returning half-initialised state.

The active contexts form a plain stack, shared by all threads of the process, so a
task running in a thread pool sees the pipeline that started it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from outflow.core.errors import OutflowError
from outflow.core.pipeline.config import Config
from outflow.core.pipeline.settings import Settings

if TYPE_CHECKING:
    from pathlib import Path


class PipelineScopeError(OutflowError, RuntimeError):
    """The pipeline context was used outside a pipeline."""


_SCOPE_HINT = (
    "{what} is only available inside a pipeline: in a task's run(), in a command's "
    "setup_tasks(), or within `with Pipeline(...)`"
)


class PipelineContext:
    """Everything a run shares: settings, configuration, arguments, plugins, database.

    Attributes may be added freely (tests and plugins do); the documented ones are
    below.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        config: Config | dict[str, Any] | None = None,
        *,
        host: Any = None,
        args: Any = None,
        root_directory: Path | None = None,
    ) -> None:
        self.settings = settings if settings is not None else Settings()
        self.config = config if isinstance(config, Config) else Config(config or {})
        self.host = host
        # Commands set an argparse.Namespace; this empty default avoids importing argparse.
        self.args = args if args is not None else SimpleNamespace()
        #: The command line as typed (recorded with each run).
        self.argv: list[str] = []
        self.root_directory = root_directory
        self.backend_name: str | None = None
        self.force_dry_run = False
        self.dry_run = False
        self.db_untracked = False
        self.overwrite_cache = False
        #: ``--keep-going``: every map runs all its items, then fails naming those that
        #: failed (``MapWorkflow(keep_going=True)`` for the whole run).
        self.keep_going = False
        self.run: Any = None
        #: The backend running the command (set by ``Backend.run``).
        self.backend: Any = None
        #: ``(run, WorkerKit)``: what worker processes of that run get (see
        #: :mod:`outflow.core.backends.shipping`).
        self.worker_kit: Any = None
        self.log_level: str | None = None
        #: The ``logging`` section was applied (a forked worker inherits it).
        self.logging_configured = False
        self._databases: Any = None

    def configure_logging(self) -> None:
        """Apply the configuration's ``logging`` section and ``-ll``, once.

        Deferred until something may log (a pipeline's code is imported, a command
        runs), which keeps ``outflow --help`` from importing ``logging.config``.
        """
        if self.logging_configured:
            return
        from outflow.core.logging import configure_logging

        configure_logging(self.config.get("logging"), self.log_level)
        self.logging_configured = True

    @property
    def hook(self) -> Any:
        """The plugin hooks (``context.hook.outflow_block_started(...)``)."""
        if self.host is None:
            from outflow.core.plugins.host import LoadOptions, PluginHost

            self.host = PluginHost(LoadOptions(autoload=False))
        return self.host.hook

    @property
    def databases(self) -> Any:
        """The pipeline's databases, opened on first use (needs outflow's db module)."""
        if self._databases is None:
            from outflow.core.db.database import Databases

            self._databases = Databases(self)
        return self._databases

    @property
    def databases_opened(self) -> bool:
        """Whether :attr:`databases` was used (connections may be open)."""
        return self._databases is not None

    def close_databases(self) -> None:
        """Close the connections of the databases, if any were opened."""
        if self._databases is not None:
            self._databases.dispose()

    @property
    def session(self) -> Any:
        """The SQLAlchemy session of the main database."""
        return self.databases.session


_stack: list[PipelineContext] = []
_lock = threading.Lock()


def active_context() -> PipelineContext:
    """The innermost active context; :class:`PipelineScopeError` when there is none."""
    try:
        return _stack[-1]
    except IndexError:
        raise PipelineScopeError(_SCOPE_HINT.format(what="the pipeline context")) from None


def has_active_context() -> bool:
    return bool(_stack)


@contextmanager
def activate(pipeline_context: PipelineContext) -> Iterator[PipelineContext]:
    """Make ``pipeline_context`` the active one for the duration of the block."""
    with _lock:
        _stack.append(pipeline_context)
    try:
        yield pipeline_context
    finally:
        with _lock:
            # Remove this very context even if an inner one leaked.
            for index in range(len(_stack) - 1, -1, -1):
                if _stack[index] is pipeline_context:
                    del _stack[index:]
                    break


class _ContextView:
    """``outflow.core.pipeline.context``: attribute access on the active context."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        return getattr(active_context(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(active_context(), name, value)

    def __repr__(self) -> str:
        return f"<pipeline context view: {'active' if _stack else 'no pipeline'}>"


class _SettingsView:
    """``outflow.core.pipeline.settings``: the active pipeline's :class:`Settings`."""

    __slots__ = ()

    def _target(self) -> Settings:
        if not _stack:
            raise PipelineScopeError(_SCOPE_HINT.format(what="settings"))
        return _stack[-1].settings

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target(), name, value)

    def __contains__(self, name: object) -> bool:
        return name in self._target()


class _ConfigView:
    """``outflow.core.pipeline.config``: the active pipeline's :class:`Config` mapping."""

    __slots__ = ()

    def _target(self) -> Config:
        if not _stack:
            raise PipelineScopeError(_SCOPE_HINT.format(what="config"))
        return _stack[-1].config

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target(), name, value)

    def __getitem__(self, key: str) -> Any:
        return self._target()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._target()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._target()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._target()

    def __iter__(self) -> Iterator[str]:
        return iter(self._target())

    def __len__(self) -> int:
        return len(self._target())

    def get(self, key: str, default: Any = None) -> Any:
        return self._target().get(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._target().update(*args, **kwargs)

    def keys(self) -> Any:
        return self._target().keys()

    def items(self) -> Any:
        return self._target().items()

    def values(self) -> Any:
        return self._target().values()


context: Any = _ContextView()
settings: Any = _SettingsView()
config: Any = _ConfigView()

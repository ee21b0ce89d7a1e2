"""``management shell``: a Python shell inside the pipeline, for development and debugging.

IPython is used when it is installed, otherwise the standard library's
:class:`code.InteractiveConsole` (``--plain`` forces it, like Django's
``shell -i python``). In scope: ``context``, ``config`` and ``settings`` (the objects
tasks import from :mod:`outflow.core.pipeline`) and ``session``, the SQLAlchemy
session of the main database.

Design choices, and why:

* The shell is not a tracked run (``db_untracked=True``: no row in the ``run``
  table, and an unmigrated database does not stop it), but it can use the
  database: in outflow ``db_untracked`` only turns run tracking off,
  ``context.session`` still works.
* ``session`` is a proxy that opens the database on first use: a pipeline without
  a (reachable) database still gets its shell, and the error comes when ``session``
  is used, inside the shell.
* The shell runs in ``setup_tasks`` with the command's workflow definition paused,
  so that tasks instantiated in the shell are standalone (call them with their
  inputs: ``MyTask()(x=1)``) instead of being added to the command's workflow and
  run again when the shell exits.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from outflow.core.commands import Command
from outflow.management.commands import Management

BANNER = (
    "outflow shell: you are inside the pipeline{where}.\n"
    "In scope: context (the pipeline context), session (the main database's SQLAlchemy "
    "session, opened on first use), config and settings.\n"
    "Import tasks and call them with their inputs, e.g. "
    "`from my_ns.my_plugin.tasks import GenData; GenData()()`.\n"
    "Quit with EOF (Ctrl-D) or exit()."
)


class LazySession:
    """``session`` in the shell: the main database's session, opened on first use.

    Attribute access (``session.query(...)``, ``session.add(...)``) goes to
    ``context.session``; use ``context.session`` itself where a real
    :class:`~sqlalchemy.orm.Session` instance is needed.
    """

    __slots__ = ("_context",)

    def __init__(self, pipeline_context: Any) -> None:
        object.__setattr__(self, "_context", pipeline_context)

    def _session(self) -> Any:
        return self._context.session

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # IPython's display probes (_repr_html_...) open nothing
            raise AttributeError(name)
        return getattr(self._session(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._session(), name, value)

    def __enter__(self) -> Any:
        return self._session().__enter__()

    def __exit__(self, *exc_info: Any) -> Any:
        return self._session().__exit__(*exc_info)

    def __dir__(self) -> list[str]:
        try:
            return sorted(set(dir(self._session())))
        except Exception:  # noqa: BLE001 - completion must not fail on a bad database
            return sorted(set(object.__dir__(self)) - {"_context"})

    def __repr__(self) -> str:
        if not self._context.databases_opened:
            return "<session of the main database: opened on first use>"
        return repr(self._session())


def shell_namespace(pipeline_context: Any) -> dict[str, Any]:
    """The names the shell starts with: those tasks import, and ``session``."""
    from outflow.core.pipeline import config, context, settings

    return {
        "context": context,
        "session": LazySession(pipeline_context),
        "config": config,
        "settings": settings,
    }


@contextmanager
def outside_workflow_definitions() -> Iterator[None]:
    """Pause the workflows being defined (the command's own), resume them afterwards."""
    from outflow.core.tasks.block import current_definition

    paused = []
    while (workflow := current_definition()) is not None:
        workflow.stop()
        paused.append(workflow)
    try:
        yield
    finally:
        while (workflow := current_definition()) is not None:  # left open in the shell
            workflow.stop()
        for workflow in reversed(paused):
            workflow.start()


def ipython_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("IPython") is not None


def start_ipython(namespace: dict[str, Any], banner: str) -> None:
    import IPython
    from traitlets.config import Config

    ipython_config = Config()
    ipython_config.TerminalInteractiveShell.banner2 = banner + "\n"
    IPython.start_ipython(argv=[], user_ns=namespace, config=ipython_config)


def start_console(namespace: dict[str, Any], banner: str) -> None:
    import code

    class Console(code.InteractiveConsole):
        """Prompts on stderr when the input is not a terminal, like ``python -i``.

        So that ``echo 'print(settings.PLUGINS)' | python manage.py management shell``
        prints only what the commands print on stdout.
        """

        def raw_input(self, prompt: str = "") -> str:
            if sys.stdin.isatty():
                return input(prompt)
            sys.stderr.write(prompt)
            sys.stderr.flush()
            line = sys.stdin.readline()
            if not line:
                raise EOFError
            return line.rstrip("\n")

    if sys.stdin.isatty():
        try:  # line editing and history, where the platform has readline
            import readline  # noqa: F401
        except ImportError:
            pass
    Console(locals=namespace).interact(banner=banner, exitmsg="")


@Management.subcommand(db_untracked=True)
class Shell(Command):
    """Open a Python shell (IPython if installed) with context, session, config, settings."""

    def add_arguments(self) -> None:
        self.add_argument("--plain", action="store_true",
                          help="Use the standard Python console even if IPython is installed.")

    def setup_tasks(self) -> None:
        from outflow.core.pipeline.context import active_context

        pipeline_context = active_context()
        root = pipeline_context.root_directory
        banner = BANNER.format(where=f" {root}" if root is not None else "")
        namespace = shell_namespace(pipeline_context)
        use_ipython = not pipeline_context.args.plain and ipython_available()
        with outside_workflow_definitions():
            try:
                if use_ipython:
                    start_ipython(namespace, banner)
                else:
                    start_console(namespace, banner)
            except SystemExit as leave:  # exit() / quit(): leave the shell, not the run
                if leave.code not in (None, 0):
                    raise
        sys.stdout.flush()


__all__ = ["LazySession", "Shell", "shell_namespace"]

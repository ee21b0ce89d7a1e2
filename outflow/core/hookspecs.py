"""The hooks a plugin may implement: the reference for plugin authors.

outflow is a thin kernel: management commands, run tracking, the task library and
every backend arrive through the hooks below, the built-in ones exactly like a
third-party package. A plugin is a module (usually tiny) named by an entry point in
the group ``outflow.plugins``::

    # pyproject.toml of the distribution ``outflow-hello``
    [project.entry-points."outflow.plugins"]
    hello = "outflow_hello.plugin"

    # outflow_hello/plugin.py
    from outflow.core.plugins import hookimpl

    @hookimpl
    def outflow_register_commands(register):
        register("hello", "outflow_hello.commands:Hello", help="Say hello")

Registration hooks receive a ``register`` callable instead of returning values: the
host validates each name, refuses collisions with a message naming both plugins,
and remembers which plugin provides what (``outflow plugins list`` shows it).

Targets given as ``"package.module:attribute"`` strings are imported only when the
feature is used, so a plugin costs nothing at start-up; ``outflow --help`` must stay
fast however many plugins are installed.

Hooks are called with keyword arguments, and an implementation may accept fewer
arguments than its spec names: specs can grow without breaking plugins.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("outflow")


# --------------------------------------------------------------------------- host


@hookspec(historic=True)
def outflow_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    """Publish hook specs of your own, for plugins that extend your plugin.

    Call ``pluginmanager.add_hookspecs(my_hookspecs_module)``. The call is historic:
    a plugin registered later still receives it.
    """


# ------------------------------------------------------------------ registration


@hookspec
def outflow_register_commands(register: Any) -> None:
    """Add top-level commands to the ``outflow`` command line.

    ``register(name, target, help="")`` where ``target`` is a
    :class:`outflow.core.commands.Command` subclass or a lazy
    ``"module:ClassName"`` string. ``help`` is the one-line summary shown by
    ``outflow --help`` without importing the target. The management plugin
    registers ``management`` this way.

    Pipeline plugins (those listed in ``settings.PLUGINS``) need not implement this
    hook: their ``commands`` module is imported and its
    ``@RootCommand.subcommand()`` classes are found.
    """


@hookspec
def outflow_register_backends(register: Any) -> None:
    """Provide execution backends, selected by name with ``--backend NAME``.

    ``register(name, target, aliases=(), help="")`` where ``target`` is a
    :class:`outflow.core.backends.Backend` subclass or a lazy ``"module:Class"``
    string. The name is what users type; aliases are accepted too (``default``
    has the alias ``sequential``). A backend name may be provided by one plugin
    only. See :mod:`outflow.core.backends` for the interface a backend implements.
    """


@hookspec
def outflow_register_models(register: Any) -> None:
    """Declare modules holding SQLAlchemy models (subclasses of ``outflow.core.db.Model``).

    ``register("my_plugin.models")``: the module is imported when a database is
    used (run tracking, migrations, ``context.session``), never at start-up.
    """


@hookspec
def outflow_register_migrations(register: Any) -> None:
    """Declare Alembic version locations.

    ``register(path, database="default", branch="my.plugin")``: ``path`` is a
    directory (or ``"package:relative/dir"``) holding revisions of the Alembic
    branch ``branch`` for the database labelled ``database``. ``management db
    upgrade heads`` applies every branch.
    """


@hookspec
def outflow_register_blocks(register: Any) -> None:
    """Offer reusable tasks and workflows (the library plugin offers MapWorkflow).

    ``register(name, target, help="")``; ``target`` is a Task/Workflow class or a
    lazy ``"module:Class"`` string. Blocks are listed by ``outflow plugins list``
    and resolved with ``context.host.resolve("blocks", name).load()``.
    """


@hookspec
def outflow_config_defaults(register: Any) -> None:
    """Give defaults for configuration sections your plugin reads.

    ``register(section, defaults)`` where ``defaults`` is a mapping. The user's
    configuration file overrides them key by key (one level deep); ``logging``
    belongs to the kernel.
    """


# ------------------------------------------------------------------ run lifecycle
# Called by the engine while a command runs; run tracking (the management plugin)
# and progress display are implemented on these. Implementations must be cheap:
# they are on the per-task path. ``run`` is a :class:`outflow.core.runs.RunInfo`.


@hookspec
def outflow_run_started(run: Any) -> None:
    """A command starts: called before its ``setup_tasks`` so that a run whose set-up
    fails (missing parameter, invalid graph) is still recorded, as failed."""


@hookspec
def outflow_run_finished(run: Any, state: str, error: BaseException | None) -> None:
    """The run ended: ``state`` is ``"success"`` or ``"failed"`` (then ``error`` is set).

    Called exactly once per started run, also when it failed or was interrupted.
    """


@hookspec
def outflow_block_started(run: Any, block: Any, inputs: dict[str, Any]) -> None:
    """A task or workflow starts with these input values."""


@hookspec
def outflow_block_succeeded(run: Any, block: Any, outputs: dict[str, Any]) -> None:
    """A task or workflow returned ``outputs``."""


@hookspec
def outflow_block_failed(run: Any, block: Any, error: BaseException) -> None:
    """A task or workflow raised ``error``; the run will fail."""


@hookspec
def outflow_block_skipped(run: Any, block: Any) -> None:
    """A task or workflow was skipped (an upstream branch returned ``Skipped``)."""

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
arguments than its spec names: specs can grow without breaking plugins. The specs
below come in lifecycle order: the host starts, plugins register what they provide,
a run starts, its blocks run (in the driver, and in worker processes between
``outflow_worker_started`` and ``outflow_worker_finished``), the run finishes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from outflow.core.pipeline.context import PipelineContext
    from outflow.core.plugins.registrars import (
        RegisterBackend,
        RegisterBlock,
        RegisterCommand,
        RegisterConfigDefaults,
        RegisterMigrations,
        RegisterModels,
    )
    from outflow.core.process_role import ProcessRole
    from outflow.core.runs import RunInfo
    from outflow.core.tasks.block import Block

hookspec = pluggy.HookspecMarker("outflow")


# --------------------------------------------------------------------------- host


@hookspec(historic=True)
def outflow_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    """Publish hook specs of your own, for plugins that extend your plugin.

    Call ``pluginmanager.add_hookspecs(my_hookspecs_module)``. The call is historic:
    a plugin registered later still receives it.
    """


@hookspec(firstresult=True)
def outflow_process_role(argv: list[str]) -> ProcessRole | None:
    """Claim this process for a role other than "run the command line", or wrap it.

    Called once per process (``outflow ...`` or ``manage.py``), after the plugins load
    and before the pipeline is set up or the command line parsed. Return None to let
    the command line run, or a :class:`~outflow.core.process_role.ProcessRole`: the
    process calls ``role.run(run_command_line)`` and exits with what it returns. A
    role may run the command line (doing something around it) or not at all: every
    rank of ``mpiexec -n 3 python manage.py ...`` starts here, and only rank 0 runs the
    command; the MPI plugin makes the others serve its map items, and has rank 0
    release them when the command is over. Keep the decision cheap (environment
    variables, no heavy import): every start pays for it.
    """


# ------------------------------------------------------------------ registration


@hookspec
def outflow_register_commands(register: RegisterCommand) -> None:
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
def outflow_register_backends(register: RegisterBackend) -> None:
    """Provide execution backends, selected by name with ``--backend NAME``.

    ``register(name, target, aliases=(), help="")`` where ``target`` is a
    :class:`outflow.core.backends.Backend` subclass or a lazy ``"module:Class"``
    string. The name is what users type, and what the run records (also when they
    typed an alias; ``default`` has the alias ``sequential``). A backend name may be
    provided by one plugin only. See :mod:`outflow.core.backends` for the contract a
    backend follows, and ``outflow.core.test.backend_contract`` for its test suite.
    """


@hookspec
def outflow_register_models(register: RegisterModels) -> None:
    """Declare modules holding SQLAlchemy models (subclasses of ``outflow.core.db.Model``).

    ``register("my_plugin.models")``: the module is imported when a database is
    used (run tracking, migrations, ``context.session``), never at start-up.
    """


@hookspec
def outflow_register_migrations(register: RegisterMigrations) -> None:
    """Declare Alembic version locations.

    ``register(path, database="default", branch="my.plugin")``: ``path`` is a
    directory (or ``"package:relative/dir"``) holding revisions of the Alembic
    branch ``branch`` for the database labelled ``database``. ``management db
    upgrade heads`` applies every branch.
    """


@hookspec
def outflow_register_blocks(register: RegisterBlock) -> None:
    """Offer reusable tasks and workflows (the library plugin offers MapWorkflow).

    ``register(name, target, help="")``; ``target`` is a Task/Workflow class or a
    lazy ``"module:Class"`` string. Blocks are listed by ``outflow plugins list``
    and resolved with ``context.host.resolve("blocks", name).load()``.
    """


@hookspec
def outflow_config_defaults(register: RegisterConfigDefaults) -> None:
    """Give defaults for configuration sections your plugin reads.

    ``register(section, defaults)`` where ``defaults`` is a mapping. The user's
    configuration file overrides them key by key, at any depth; ``logging``
    belongs to the kernel.
    """


# ------------------------------------------------------------------ run lifecycle
# Called while a command runs; run tracking (the management plugin) is implemented
# on these. Implementations must be cheap: the block hooks are on the per-task path,
# and a hook that no plugin implements is not called at all.


@hookspec
def outflow_run_started(run: RunInfo) -> None:
    """A command starts, in the driver: called before its ``setup_tasks`` so that a
    run whose set-up fails (missing parameter, invalid graph) is still recorded, as
    failed."""


@hookspec
def outflow_block_started(run: RunInfo | None, block: Block, inputs: dict[str, object]) -> None:
    """A task or workflow starts with these input values (in the process running it).

    Inside a map item, ``outflow.core.backends.current_item_index()`` is the item.
    """


@hookspec
def outflow_block_succeeded(run: RunInfo | None, block: Block,
                            outputs: dict[str, object]) -> None:
    """A task or workflow returned ``outputs``."""


@hookspec
def outflow_block_failed(run: RunInfo | None, block: Block, error: BaseException) -> None:
    """A task or workflow raised ``error``; the run will fail."""


@hookspec
def outflow_block_skipped(run: RunInfo | None, block: Block) -> None:
    """A task or workflow was skipped (an upstream branch returned ``Skipped``)."""


@hookspec
def outflow_run_finished(run: RunInfo, state: str, error: BaseException | None) -> None:
    """The run ended, in the driver: ``state`` is ``"success"``, ``"failed"`` or
    ``"interrupted"`` (Ctrl-C, SIGTERM, SIGHUP); ``error`` is set unless it succeeded.

    Called exactly once per started run, also when it failed or was interrupted,
    after the backend was closed (its workers have finished).
    """


# ------------------------------------------------------------------ worker lifecycle
# A worker is a process other than the driver that runs map items of a run: a pool
# process, an MPI rank, a Slurm job. The kernel's worker bootstrap
# (outflow.core.backends.worker) calls these, whichever backend started the process.


@hookspec
def outflow_worker_started(context: PipelineContext, run: RunInfo | None) -> None:
    """This process will run items of ``run`` (restored from the driver's snapshot).

    Called once per process and run, before its first item, with the worker's own
    ``context`` active: set up per-process state here (run tracking makes its
    tracker, with its own database connection).
    """


@hookspec
def outflow_worker_finished(run: RunInfo | None) -> None:
    """This process runs no more items of ``run``: write what is buffered.

    Called once, when the backend stops the worker or the process exits normally
    (a killed process gets no call: what it had not written is lost).
    """

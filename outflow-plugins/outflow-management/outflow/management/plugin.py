"""Entry point of outflow-management: commands, models, migrations and run tracking.

Kept tiny on purpose: it is imported at every start-up. Everything heavy (the
commands, SQLAlchemy, Alembic) is named by lazy ``"module:attribute"`` strings or
imported inside the hook bodies, and the per-block hooks cost two dictionary lookups
when the run is not tracked. In a worker process, the kernel's worker hooks start and
finish that process's own tracker.
"""

from outflow.core.plugins import hookimpl

_TRACKER = "outflow.management.tracker"  # == tracking.TRACKER_KEY, without importing it


@hookimpl
def outflow_register_commands(register):
    register(
        "management",
        "outflow.management.commands:Management",
        help="Create pipelines and plugins, manage the database, inspect runs.",
    )


@hookimpl
def outflow_register_models(register):
    register("outflow.management.models")


@hookimpl
def outflow_register_migrations(register):
    register("outflow.management:models/versions/default", database="default",
             branch="outflow.management")


@hookimpl
def outflow_run_started(run):
    from outflow.management.tracking import run_started

    run_started(run)


@hookimpl
def outflow_run_finished(run, state, error):
    from outflow.management.tracking import run_finished

    run_finished(run, state, error)


@hookimpl
def outflow_worker_started(context, run):
    from outflow.management.tracking import worker_started

    worker_started(context, run)


@hookimpl
def outflow_worker_finished(run):
    from outflow.management.tracking import worker_finished

    worker_finished(run)


def _tracker_of(run):
    """The tracker of ``run`` in this process, or None when the run is not tracked here
    (or already finished)."""
    return run.extra.get(_TRACKER) if run is not None else None


@hookimpl
def outflow_block_started(run, block, inputs):
    tracker = _tracker_of(run)
    if tracker is None:
        return
    tracker.block_started(block, inputs)


@hookimpl
def outflow_block_succeeded(run, block, outputs):
    tracker = _tracker_of(run)
    if tracker is None:
        return
    tracker.block_succeeded(block, outputs)


@hookimpl
def outflow_block_failed(run, block, error):
    tracker = _tracker_of(run)
    if tracker is None:
        return
    tracker.block_failed(block, error)


@hookimpl
def outflow_block_skipped(run, block):
    tracker = _tracker_of(run)
    if tracker is None:
        return
    tracker.block_skipped(block)

"""Entry point of outflow-management: commands, models, migrations and run tracking.

Kept tiny on purpose: it is imported at every start-up. Everything heavy (the
commands, SQLAlchemy, Alembic) is named by lazy ``"module:attribute"`` strings or
imported inside the hook bodies, and the per-block hooks cost two dictionary lookups
when the run is not tracked. In a worker process, the first block hook of a tracked
run creates that process's tracker (``tracking.worker_tracker``).
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


def _worker_tracker(run):
    """A worker process received the run with its tracker left behind: make its own."""
    from outflow.management.tracking import worker_tracker

    return worker_tracker(run)


def _tracker_of(run):
    """The tracker of ``run`` in this process (made on first use in a worker), or None
    when the run is not tracked or already finished."""
    tracker = run.extra.get(_TRACKER) if run is not None else None
    if tracker is None and run is not None and _TRACKER in run.extra:
        tracker = _worker_tracker(run)
    return tracker


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

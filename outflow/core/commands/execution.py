"""Run one command: set up its workflow, pick the backend, run, and report the lifecycle.

The run is announced to plugins (``outflow_run_started``) before ``setup_tasks``
so that a run whose set-up fails (a missing parameter, a bad graph) is still
recorded, as failed; ``outflow_run_finished`` is called exactly once either way,
after the backend was closed.
"""

from __future__ import annotations

import sys
import time
from argparse import Namespace
from collections.abc import Callable
from typing import Any

from outflow.core.commands.backend_choice import choose_backend_name, resolve_backend
from outflow.core.commands.command import Command
from outflow.core.interrupts import signals_interrupt
from outflow.core.pipeline.context import PipelineContext, active_context
from outflow.core.runs import RunInfo


def execute_command(command_class: type[Command], args: Namespace) -> Any:
    """Run ``command_class`` in the active pipeline with parsed ``args``; return its result."""
    pipeline_context = active_context()
    pipeline_context.configure_logging()
    pipeline_context.args = args
    pipeline_context.db_untracked = bool(
        pipeline_context.db_untracked or command_class.db_untracked
    )
    plan_format = getattr(pipeline_context, "plan", None)
    if plan_format:
        return show_plan(command_class, plan_format)
    chosen = choose_backend_name(
        pipeline_context.backend_name, command_class, pipeline_context.config
    )
    backend_name, backend_class = resolve_backend(
        chosen, pipeline_context.host, pipeline_context.settings
    )
    return run_workflow(
        pipeline_context,
        lambda: build_workflow(command_class),
        backend_class,
        command=command_class.full_name() or command_class.name,
        backend_name=backend_name,
        announce=command_class.announces_run(),
    )


def run_workflow(pipeline_context: PipelineContext, build: Callable[[], Any],
                 backend_class: type, *, command: str, backend_name: str | None = None,
                 announce: bool = False) -> Any:
    """Run the workflow that ``build()`` makes as the command ``command``, in the active
    ``pipeline_context``: the run lifecycle hooks around ``build`` and the backend's
    run, and the backend closed before the run is finalised. With ``announce``, a
    successful run ends with its summary line (:mod:`~outflow.core.commands.summary`;
    the command line's error report says how a failed one ended).

    SIGTERM and SIGHUP stop the run like Ctrl-C (:mod:`outflow.core.interrupts`); the
    run then ends ``interrupted``.
    """
    with signals_interrupt():
        return _run(pipeline_context, build, backend_class, command, backend_name, announce)


def _run(pipeline_context: PipelineContext, build: Callable[[], Any], backend_class: type,
         command: str, backend_name: str | None, announce: bool) -> Any:
    run = RunInfo(
        command=command,
        argv=list(pipeline_context.argv or sys.argv[1:]),
        backend=backend_name or getattr(backend_class, "name", "default"),
        db_untracked=pipeline_context.db_untracked,
        announce=announce,
    )
    pipeline_context.run = run
    hook = pipeline_context.hook
    hook.outflow_run_started(run=run)
    run_log = None
    if run.id is not None:  # a recorded run keeps its log in a file of its own
        from outflow.core.logging.run_log import open_run_log

        run_log = open_run_log(pipeline_context, run)
    error: BaseException | None = None
    backend = None
    try:
        workflow = build()
        backend = backend_class(pipeline_context)
        result = backend.run(workflow, run)
    except BaseException as exc:
        error = run.error = exc
        raise
    finally:
        try:
            if backend is not None:
                backend.close()
        finally:
            run.end_time = time.time()
            run.state = run_state(error)
            try:
                hook.outflow_run_finished(run=run, state=run.state, error=error)
            finally:
                if run_log is not None:
                    _close_run_log(run_log, run)
    from outflow.core.commands.summary import announce_success

    announce_success(run)
    return result


def _close_run_log(run_log: Any, run: RunInfo) -> None:
    """End the run's log file with how the run ended (the error's traceback too)."""
    import logging

    from outflow.core.commands.summary import duration, elapsed

    error = run.error
    took = duration(elapsed(run))
    if error is None:
        run_log.write(logging.INFO, f"run {run.id} succeeded in {took}")
    else:
        run_log.write(logging.ERROR, f"run {run.id} {run.state} after {took}: "
                                     f"{type(error).__name__}: {error}", exc_info=error)
    run_log.close()


def show_plan(command_class: type[Command], fmt: str) -> None:
    """``--plan``: build and validate the command's workflow and print it; nothing runs
    and no run is recorded (see :mod:`outflow.core.workflow.plan_view`)."""
    from outflow.core.workflow.plan_view import FORMATS, describe_plan

    if fmt not in FORMATS:
        from outflow.core.pipeline.config import ConfigurationError

        raise ConfigurationError(
            f"--plan={fmt}: unknown format (choose {', '.join(FORMATS)})")
    workflow = build_workflow(command_class)
    workflow.validate()
    print(describe_plan(workflow, fmt))


def run_state(error: BaseException | None) -> str:
    """How a run ended: ``success``, ``interrupted`` (a signal, Ctrl-C) or ``failed``."""
    if error is None:
        return "success"
    return "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"


def build_workflow(command_class: type[Command]) -> Any:
    """Instantiate the command and collect the blocks its ``setup_tasks`` creates."""
    from outflow.core.workflow import Workflow

    command = command_class()
    with Workflow(name=command_class.name) as workflow:
        command.setup_tasks()
    return workflow

"""The in-process executor: runs a :class:`~outflow.core.workflow.plan.Plan` step by step.

This loop is the per-task hot path of every backend (the sequential backend runs
the whole command with it; parallel backends run each mapped item with it), so it
does as little as possible per block: copy the step's constant inputs, look up the
wired ones, call the lifecycle hooks that some plugin implements, call the block.
Hooks nobody implements are not called at all: pluggy's dispatch costs more than
a trivial task.

A task's ``sys.exit(3)`` is that task's failure, like any exception it raises: a
``TaskError`` naming the task, so the run is recorded as failed and the command
line says which task stopped it (a bare ``SystemExit`` left the process with
status 3 and no word). ``KeyboardInterrupt`` is not a failure of the task that
happened to be running: it passes unchanged and the run ends ``interrupted``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from outflow.core.tasks.block import Block
from outflow.core.tasks.errors import EngineError, TaskError
from outflow.core.types import SKIPPED
from outflow.core.workflow.plan import Plan

_MISSING: Any = object()


class Hooks:
    """The block lifecycle hooks of the active pipeline, or None for those unimplemented."""

    __slots__ = ("run", "started", "succeeded", "failed", "skipped")

    def __init__(self) -> None:
        from outflow.core.pipeline.context import active_context, has_active_context

        self.run: Any = None
        self.started: Callable[..., Any] | None = None
        self.succeeded: Callable[..., Any] | None = None
        self.failed: Callable[..., Any] | None = None
        self.skipped: Callable[..., Any] | None = None
        if not has_active_context():
            return
        context = active_context()
        self.run = context.run
        hook = context.hook
        for slot, name in (("started", "outflow_block_started"),
                           ("succeeded", "outflow_block_succeeded"),
                           ("failed", "outflow_block_failed"),
                           ("skipped", "outflow_block_skipped")):
            caller = getattr(hook, name)
            if caller.get_hookimpls():
                setattr(self, slot, caller)


def call_block(block: Block, inputs: dict[str, Any], hooks: Hooks,
               call: Callable[[], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Run one block with the lifecycle hooks around it; errors name the block.

    ``call`` runs the block instead of ``block(**inputs)`` (a backend running a
    command's top-level workflow returns its sinks' outputs, not the block's).
    """
    attempt = 0
    while True:
        if hooks.started is not None:
            hooks.started(run=hooks.run, block=block, inputs=inputs)
        try:
            outputs = block(**inputs) if call is None else call()
        except EngineError as error:  # already names its block (or an inner one)
            if hooks.failed is not None:
                hooks.failed(run=hooks.run, block=block, error=error)
            raise
        except (Exception, SystemExit) as error:
            wrapped = TaskError(block.name, error, kind=block.kind)
            if hooks.failed is not None:
                hooks.failed(run=hooks.run, block=block, error=wrapped)
            if attempt < block.retries and isinstance(error, Exception):
                attempt += 1
                _before_retry(block, error, attempt)
                continue
            raise wrapped from error
        except BaseException as error:  # KeyboardInterrupt (Ctrl-C, a signal): never wrap
            if hooks.failed is not None:
                hooks.failed(run=hooks.run, block=block, error=error)
            raise
        break
    if hooks.succeeded is not None:
        hooks.succeeded(run=hooks.run, block=block, outputs=outputs)
    return outputs


def _before_retry(block: Block, error: Exception, attempt: int) -> None:
    """Say that ``block`` failed and runs again; wait its ``retry_delay``."""
    import logging
    import time

    delay = float(block.retry_delay)
    logging.getLogger("outflow.core.workflow").warning(
        "%s failed (attempt %d of %d): %s: %s; trying again%s", block.label, attempt,
        block.retries + 1, type(error).__name__, error,
        f" in {delay:g} s" if delay else "")
    if delay:
        time.sleep(delay)


def execute(plan: Plan, inputs: Mapping[str, Any], hooks: Hooks | None = None
            ) -> list[dict[str, Any]]:
    """Run every step of ``plan``; return the outputs dict of each step, by position."""
    if hooks is None:
        hooks = Hooks()
    results: list[Any] = [None] * len(plan.steps)
    for position, step in enumerate(plan.steps):
        kwargs = step.static.copy()
        skipped = 0
        for name, source, key in step.wired:
            value = results[source][key]
            if value is SKIPPED:
                skipped += 1
            kwargs[name] = value
        if step.external:
            for name, key, optional in step.external:
                value = inputs.get(key, _MISSING)
                if value is _MISSING:
                    if optional:
                        continue
                    raise KeyError(f"{step.block.label}: workflow input '{key}' is missing")
                if value is SKIPPED:
                    skipped += 1
                kwargs[name] = value
        if step.multi:
            for name, providers in step.multi:
                value = SKIPPED
                for source, key in providers:
                    candidate = results[source][key]
                    if candidate is not SKIPPED:
                        value = candidate
                        break
                if value is SKIPPED:
                    skipped += 1
                kwargs[name] = value
        block = step.block
        if step.skippable and skipped == step.n_upstream:
            if hooks.skipped is not None:
                hooks.skipped(run=hooks.run, block=block)
            results[position] = dict.fromkeys(block.outputs, SKIPPED)
            continue
        if hooks.started is None and hooks.succeeded is None and hooks.failed is None:
            try:
                results[position] = block(**kwargs)
            except EngineError:
                raise
            except (Exception, SystemExit) as error:
                raise TaskError(block.name, error, kind=block.kind) from error
        else:
            results[position] = call_block(block, kwargs, hooks)
    return results


__all__ = ["Hooks", "call_block", "execute"]

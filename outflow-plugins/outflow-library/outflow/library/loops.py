"""Loops: ``LoopWorkflow`` (repeat) and ``IterativeWorkflow`` (repeat, feeding outputs back).

``LoopWorkflow(iterations=3)`` runs its inner graph three times with the same
inputs; ``LoopWorkflow(infinite=True)`` until a task raises, Ctrl-C is pressed or
a task calls :func:`exit_pipeline`. Both return the outputs of the last complete
iteration.

``IterativeWorkflow(max_iterations=5, break_func=f)`` runs its inner graph, then
feeds each output back as the input of the same name for the next iteration,
until ``f(**outputs)`` is true or ``max_iterations`` is reached. An input that is
also an output is optional (``None`` in the first iteration), so the workflow can
be piped after blocks that do not provide it. A MapWorkflow inside it receives
the value only if it declares the input itself (``inner_map.add_input(
"reduced_data", type=Optional[int])``, the user guide's pattern), since the
engine only wires inputs one level deep.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from outflow.core.logging import logger
from outflow.core.tasks import Block, EngineError, TaskError
from outflow.core.types import SKIPPED
from outflow.core.workflow import Plan, Workflow


class ExitPipeline(EngineError):
    """Raised by :func:`exit_pipeline`: ends the enclosing LoopWorkflow cleanly.

    An engine error so that the engine passes it on unwrapped. Outside a loop it
    ends the run like any error, with this message.
    """

    def __init__(self, message: str = "exit_pipeline() was called") -> None:
        super().__init__(message)


def exit_pipeline(message: str = "exit_pipeline() was called") -> None:
    """Stop the enclosing ``LoopWorkflow`` after the current iteration's task.

    The loop returns the outputs of its last complete iteration.
    """
    raise ExitPipeline(message)


def _exit_requested(error: BaseException) -> bool:
    return isinstance(error, ExitPipeline) or (
        isinstance(error, TaskError) and isinstance(error.error, ExitPipeline))


def _skipped_outputs(workflow: Workflow) -> dict[str, Any]:
    return dict.fromkeys(workflow.outputs, SKIPPED)


class LoopWorkflow(Workflow):
    """Repeat the inner graph ``iterations`` times, or forever with ``infinite=True``."""

    def __init__(self, *blocks: Block, iterations: int | None = None, infinite: bool = False,
                 **options: Any) -> None:
        super().__init__(*blocks, **options)
        if infinite and iterations is not None:
            raise ValueError(f"{self.label}: give iterations=N or infinite=True, not both")
        if not infinite and iterations is None:
            raise ValueError(f"{self.label}: give iterations=N or infinite=True")
        if not infinite and (not isinstance(iterations, int) or isinstance(iterations, bool)
                             or iterations < 0):
            raise ValueError(f"{self.label}: iterations must be an integer >= 0, "
                             f"got {iterations!r}")
        self.iterations = iterations
        self.infinite = infinite

    def _run(self, **inputs: Any) -> dict[str, Any]:
        outputs: dict[str, Any] | None = None
        count = 0
        while self.infinite or count < (self.iterations or 0):
            try:
                outputs = self.run_graph(**inputs)
            except KeyboardInterrupt:
                logger.warning("%s: interrupted after %d iteration(s)", self.label, count)
                raise
            except EngineError as error:
                if not _exit_requested(error):
                    raise
                logger.info("%s: exit_pipeline() after %d iteration(s)", self.label, count)
                break
            count += 1
        return outputs if outputs is not None else _skipped_outputs(self)


class IterativeWorkflow(Workflow):
    """Run the inner graph, feed its outputs back as inputs, until ``break_func``."""

    def __init__(self, *blocks: Block, max_iterations: int,
                 break_func: Callable[..., Any] | None = None, **options: Any) -> None:
        super().__init__(*blocks, **options)
        if not isinstance(max_iterations, int) or isinstance(max_iterations, bool) or (
                max_iterations < 1):
            raise ValueError(f"{self.label}: max_iterations must be an integer >= 1, "
                             f"got {max_iterations!r}")
        if break_func is not None and not callable(break_func):
            raise TypeError(f"{self.label}: break_func must be callable, got {break_func!r}")
        self.max_iterations = max_iterations
        self.break_func = break_func

    def finalize_targets(self, plan: Plan) -> None:
        """Inputs fed back from outputs are optional: ``None`` in the first iteration."""
        self.inputs = {
            name: target.copy(default=None) if name in self.outputs and not target.optional
            else target
            for name, target in self.inputs.items()
        }

    def _run(self, **inputs: Any) -> dict[str, Any]:
        values = dict(inputs)
        outputs: dict[str, Any] = {}
        for iteration in range(1, self.max_iterations + 1):
            outputs = self.run_graph(**values)
            if self._should_stop(outputs):
                logger.debug("%s: break_func stopped it after %d iteration(s)", self.label,
                             iteration)
                break
            values.update((name, value) for name, value in outputs.items() if name in values)
        return outputs

    def _should_stop(self, outputs: dict[str, Any]) -> bool:
        function = self.break_func
        if function is None:
            return False
        try:
            parameters = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):  # a builtin without signature: pass everything
            return bool(function(**outputs))
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            return bool(function(**outputs))
        names = {p.name for p in parameters}
        return bool(function(**{k: v for k, v in outputs.items() if k in names}))


__all__ = ["ExitPipeline", "IterativeWorkflow", "LoopWorkflow", "exit_pipeline"]

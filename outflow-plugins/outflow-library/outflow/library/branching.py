"""Branching: ``IfThenElse`` (alias ``IfElse``) and ``MergeTask``.

``IfThenElse(condition)`` returns three tasks::

    if_t, then_t, else_t = IfThenElse(condition)
    a | if_t          # the values to decide on
    then_t | b        # runs when condition(**values) is true
    else_t | c        # runs otherwise
    b | merge; c | merge   # optional: MergeTask() joins the branches

The three are pass-through tasks: each outputs what it receives, so ``b`` and
``c`` take the outputs of ``a`` as inputs. The branch not taken returns
``Skipped()``, which the engine propagates: every block downstream of it whose
inputs are all Skipped is not run. A ``MergeTask`` accepts the same input from
several blocks (``allow_multiple_providers``) and passes on the value that is not
Skipped.

Why the decision travels on the ``if`` task rather than as an extra output: an
extra output would flow into the user's tasks and the merged outputs. The three
tasks always run in one process, one after the other (a branch is never split
across processes: even inside a MapWorkflow, one item's graph runs in one
worker), so the ``then`` and ``else`` tasks read the decision the ``if`` task has
just taken.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from outflow.core.tasks import EngineError, Task
from outflow.core.tasks.block import connect
from outflow.core.types import SKIPPED, Skipped


class PassThroughTask(Task):
    """A task whose outputs are its inputs, whatever the upstream blocks provide."""

    outputs_mirror_inputs: ClassVar[bool] = True

    def setup_targets(self) -> None:
        """No inference: inputs come from the upstream outputs, at validation."""
        self.accepts_extra_inputs = True
        self.output_problem = None

    def run(self, **kwargs: Any) -> dict[str, Any]:
        return kwargs


class IfTask(PassThroughTask):
    """Evaluates ``condition(**inputs)`` and passes its inputs on to both branches."""

    name = "if"

    def __init__(self, condition: Callable[..., Any], **bound: Any) -> None:
        if not callable(condition):
            raise TypeError(f"IfThenElse needs a callable condition, got {condition!r}")
        self.condition = condition
        #: The last decision taken, read by the branch tasks right after.
        self.decision: bool | None = None
        super().__init__(**bound)

    def run(self, **kwargs: Any) -> dict[str, Any]:
        self.decision = None
        self.decision = bool(self.condition(**kwargs))
        return kwargs


class BranchTask(PassThroughTask):
    """Passes its inputs on when the ``if`` task decided ``taken_when``; else Skipped."""

    taken_when: ClassVar[bool] = True

    def __init__(self, if_task: IfTask, **bound: Any) -> None:
        self.if_task = if_task
        super().__init__(**bound)

    def run(self, **kwargs: Any) -> dict[str, Any] | Skipped:
        decision = self.if_task.decision
        if decision is None:
            raise EngineError(f"{self.label}: {self.if_task.label} has not decided yet: "
                              "pipe the if task into its branches, as IfThenElse does")
        return kwargs if decision is self.taken_when else SKIPPED


class ThenTask(BranchTask):
    """The branch taken when the condition is true."""

    name = "then"
    taken_when = True


class ElseTask(BranchTask):
    """The branch taken when the condition is false."""

    name = "else"
    taken_when = False


def IfThenElse(condition: Callable[..., Any]) -> tuple[IfTask, ThenTask, ElseTask]:
    """``(if, then, else)`` tasks for ``condition(**inputs) -> bool``; see the module doc."""
    if_task = IfTask(condition)
    then_task = ThenTask(if_task)
    else_task = ElseTask(if_task)
    connect(if_task, then_task)
    connect(if_task, else_task)
    return if_task, then_task, else_task


IfElse = IfThenElse


class MergeTask(PassThroughTask):
    """Joins branches: each output is the value of the branch that was not skipped.

    Every input may come from several upstream blocks; the engine passes the first
    value that is not ``Skipped``. Skipped itself when every branch was.
    """

    name = "merge"
    allow_multiple_providers: ClassVar[bool] = True


__all__ = [
    "BranchTask",
    "ElseTask",
    "IfElse",
    "IfTask",
    "IfThenElse",
    "MergeTask",
    "PassThroughTask",
    "ThenTask",
]

"""Blocks: what tasks and workflows have in common.

A block has named, typed targets (inputs, outputs), is connected to other blocks
with ``|`` or ``>>`` (the right-hand block consumes the outputs of the left-hand
one, matched by name), and belongs to the workflow that was being defined when it
was instantiated. That last rule is what lets users write a graph as plain
expressions inside ``setup_tasks()`` or an ``@as_workflow`` function: a
thread-local stack holds the workflows being defined, and every new block
registers in the innermost one.
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING, Any, ClassVar

from outflow.core.naming import snake_case
from outflow.core.target import MISSING, Target

if TYPE_CHECKING:
    from outflow.core.workflow.workflow import Workflow

_graph_version = itertools.count(1)
_current_version = 0


def graph_changed() -> None:
    """Note that some graph or targets changed: validated plans must be rebuilt."""
    global _current_version
    _current_version = next(_graph_version)


def graph_version() -> int:
    """A number that changes whenever any block's edges, children or targets change."""
    return _current_version


class _DefinitionStack(threading.local):
    def __init__(self) -> None:
        self.workflows: list[Workflow] = []


_definitions = _DefinitionStack()


def push_definition(workflow: Workflow) -> None:
    """Make ``workflow`` the one new blocks register in (``Workflow.start()``)."""
    _definitions.workflows.append(workflow)


def pop_definition(workflow: Workflow) -> None:
    """End the definition of ``workflow`` (``Workflow.stop()``); it must be the innermost."""
    stack = _definitions.workflows
    if not stack or stack[-1] is not workflow:
        current = stack[-1].label if stack else "none"
        raise RuntimeError(
            f"{workflow.label}.stop() called while the workflow being defined is {current}: "
            "workflows must be stopped in the reverse order they were started"
        )
    stack.pop()


def current_definition() -> Workflow | None:
    """The innermost workflow being defined, or None."""
    stack = _definitions.workflows
    return stack[-1] if stack else None


class Block:
    """Base class of :class:`~outflow.core.tasks.Task` and :class:`~outflow.core.workflow.Workflow`.

    Subclasses fill :attr:`inputs` and :attr:`outputs`; the engine reads them to
    validate and wire the graph. Class attributes let library blocks (MergeTask,
    IfThenElse...) change how the engine treats them:

    - ``allow_multiple_providers``: an input may come from several upstream blocks;
      the engine passes the first value that is not ``Skipped`` (in the order the
      edges were made), or ``Skipped`` when all are;
    - ``skip_if_upstream_skipped``: when every upstream-provided input is
      ``Skipped`` the block is not run and all its outputs are ``Skipped``;
    - ``outputs_mirror_inputs``: the outputs are a copy of the inputs, resolved at
      validation (for pass-through blocks such as an interactive shell);
    - ``retries`` and ``retry_delay``: a block whose code raises is run again, up to
      ``retries`` more times, ``retry_delay`` seconds apart (``as_task(retries=2)``).
      Only for exceptions of the block's own code: a type error of its inputs or
      outputs, or a failure of a block inside a workflow, is not retried. Each attempt
      fires the block hooks (run tracking records each).
    """

    kind: ClassVar[str] = "block"
    name: str = "block"
    allow_multiple_providers: ClassVar[bool] = False
    skip_if_upstream_skipped: ClassVar[bool] = True
    outputs_mirror_inputs: ClassVar[bool] = False
    retries: ClassVar[int] = 0
    retry_delay: ClassVar[float] = 0.0

    def __init__(self) -> None:
        self.inputs: dict[str, Target] = {}
        self.outputs: dict[str, Target] = {}
        self.parameters: dict[str, Target] = {}
        #: Input values given at instantiation (``Sleep(seconds=60)``).
        self.bound: dict[str, Any] = {}
        #: ``**kwargs`` in a task's run: any upstream output is accepted as an input.
        self.accepts_extra_inputs = False
        self.parent: Workflow | None = None
        self.upstream: list[Block] = []
        self.downstream: list[Block] = []
        self._runtime: Any = None
        workflow = current_definition()
        if workflow is not None:
            workflow.add_block(self)

    # -- targets ------------------------------------------------------------------
    @property
    def label(self) -> str:
        """``task gen_data``: how messages name this block."""
        return f"{self.kind} {self.name}"

    def add_input(self, name: str, type: Any = Any, default: Any = MISSING) -> Target:  # noqa: A002
        """Declare an input; a default makes it optional."""
        target = Target(name, type, default)
        self.inputs[name] = target
        self._runtime = None
        graph_changed()
        return target

    def add_output(self, name: str, type: Any = Any) -> Target:  # noqa: A002
        """Declare an output."""
        target = Target(name, type)
        self.outputs[name] = target
        self._runtime = None
        graph_changed()
        return target

    # -- graph --------------------------------------------------------------------
    def is_inside(self, workflow: Workflow) -> bool:
        """Whether ``workflow`` is this block's parent, or a parent of its parent, ..."""
        parent = self.parent
        while parent is not None:
            if parent is workflow:
                return True
            parent = parent.parent
        return False

    def __or__(self, other: Any) -> Any:
        """``a | b``: ``b`` consumes the outputs of ``a``; returns ``b`` so chains work."""
        if not isinstance(other, Block):
            if callable(other) and hasattr(other, "workflow_class"):
                raise TypeError(
                    f"{self.label} | {getattr(other, '__name__', other)}: call the workflow "
                    f"to instantiate it: {getattr(other, '__name__', 'workflow')}()"
                )
            return NotImplemented
        connect(self, other)
        return other

    __rshift__ = __or__

    def __ror__(self, other: Any) -> Any:
        if callable(other) and hasattr(other, "workflow_class"):
            raise TypeError(
                f"{getattr(other, '__name__', other)} | {self.label}: call the workflow to "
                f"instantiate it: {getattr(other, '__name__', 'workflow')}()"
            )
        return NotImplemented

    __rrshift__ = __ror__

    # -- pickling -----------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        """Pickle what running needs, not the whole graph around the block.

        Backends ship validated workflows to other processes. Once the enclosing
        workflow is validated, its plan holds the wiring, so edges to blocks outside
        it are dropped: pickling a MapWorkflow must not drag along the rest of the
        command's graph (and whatever values its other tasks hold).
        """
        state = self.__dict__.copy()
        state["_runtime"] = None  # caches of bound methods and checkers: rebuilt on use
        parent = self.parent
        if parent is not None and getattr(parent, "_plan", None) is not None:
            state["upstream"] = [b for b in self.upstream if b.parent is parent]
            state["downstream"] = [b for b in self.downstream if b.parent is parent]
        return state

    def __repr__(self) -> str:
        return f"<{self.label}>"


def connect(upstream: Block, downstream: Block) -> None:
    """Record the edge ``upstream -> downstream`` (idempotent)."""
    if upstream is downstream:
        raise ValueError(f"{upstream.label} cannot be piped into itself")
    if downstream not in upstream.downstream:
        upstream.downstream.append(downstream)
    if upstream not in downstream.upstream:
        downstream.upstream.append(upstream)
    graph_changed()


__all__ = [
    "Block",
    "connect",
    "current_definition",
    "graph_changed",
    "graph_version",
    "pop_definition",
    "push_definition",
    "snake_case",
]

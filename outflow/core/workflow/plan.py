"""The execution plan of a workflow: what validation computes so that running is cheap.

A plan lists the workflow's blocks in topological order, each as a :class:`Step`
saying where every input value comes from: a constant (bound value, default or
parameter, resolved at validation), the output of an earlier step, or an input of
the workflow itself. Running a step is then a dict copy, a few lookups and the
call (see :mod:`outflow.core.workflow.engine`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outflow.core.tasks.block import Block


@dataclass(eq=False)
class Step:
    """One block of a plan and the wiring of its inputs."""

    block: Block
    #: Values known before the run: bound values, defaults, parameter values.
    static: dict[str, Any]
    #: ``(input name, step position, output name)``: from an earlier step.
    wired: tuple[tuple[str, int, str], ...] = ()
    #: ``(input name, workflow input name, optional)``: from the workflow's own inputs.
    external: tuple[tuple[str, str, bool], ...] = ()
    #: ``(input name, ((step position, output name), ...))``: several providers,
    #: for blocks with ``allow_multiple_providers``; the first non-Skipped value wins.
    multi: tuple[tuple[str, tuple[tuple[int, str], ...]], ...] = ()
    #: Skip the block when every upstream-provided input is Skipped.
    skippable: bool = False
    #: Number of upstream-provided inputs (wired + external + multi).
    n_upstream: int = 0
    #: Parameter values, kept apart for cache keys and run tracking.
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class Plan:
    """A validated workflow, ready to run."""

    steps: list[Step]
    #: Positions (in ``steps``) of the terminal blocks, in definition order.
    sinks: list[int]
    #: ``(workflow output name, step position, block output name)``.
    outputs: list[tuple[str, int, str]]
    #: :func:`outflow.core.tasks.block.graph_version` when the plan was built.
    version: int = 0
    #: Whether the workflow was validated as a top-level workflow.
    root: bool = False
    #: Memoised static part of the cache key (see :mod:`outflow.core.workflow.cache`).
    fingerprint: bytes | None = None


__all__ = ["Plan", "Step"]

"""Graph validation: from blocks and edges to a :class:`~outflow.core.workflow.plan.Plan`.

Everything that can be checked before a task runs is checked here, so that a
mistake costs a second, not an hour of computation:

- every input of every block comes from exactly one upstream output, a value bound
  at instantiation, a default or (for workflows used as blocks) the workflow's own
  inputs; parameters are read from the configuration;
- the declared types on both ends of each edge are compatible;
- the graph has no cycle;
- every task's outputs are known;
- every entry of ``parameters`` in the configuration is read by some task (else a
  warning, an error with ``--strict``).

Nested workflows are validated first: their inputs (what their inner blocks need
and nothing inside provides) and outputs (what their terminal blocks produce) are
derived, and then they are checked like any block of the enclosing graph. A block
from outside a workflow piped into one of its inner blocks (``big_computation |
transform``) becomes an upstream of the workflow itself.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from outflow.core.target import MISSING, Target
from outflow.core.tasks.block import Block, graph_version
from outflow.core.tasks.errors import GraphError, TargetError
from outflow.core.tasks.parameters import check_parameter_names, resolve_parameters
from outflow.core.tasks.typecheck import compatible, describe_type, is_any
from outflow.core.workflow.plan import Plan, Step

if TYPE_CHECKING:
    from outflow.core.workflow.workflow import Workflow


def build_plan(workflow: Workflow, *, root: bool, config: Mapping[str, Any] | None) -> Plan:
    """Validate ``workflow`` (and the workflows inside it) and return its plan.

    ``root``: the workflow is the top-level one, so an input nothing provides is an
    error instead of becoming an input of the workflow. The top-level graph is the
    whole command: the entries of the configuration's ``parameters`` that none of
    its tasks reads are reported first (see
    :func:`~outflow.core.tasks.parameters.check_parameter_names`), so that a typo'd
    parameter name comes before the "missing parameter" error it causes.
    """
    if root and config is not None:
        check_parameter_names(workflow.iter_blocks(), config, task_class_names())
    return _Validator(config).plan(workflow, root)


def task_class_names() -> set[str]:
    """Names of every task class defined so far (``@as_task`` makes classes too): the
    tasks of the pipeline's other commands, whose parameters share the file."""
    from outflow.core.tasks.task import Task

    names: set[str] = set()
    pending: list[type] = [Task]
    while pending:
        for subclass in pending.pop().__subclasses__():
            name = getattr(subclass, "name", None)
            if isinstance(name, str):
                names.add(name)
            pending.append(subclass)
    return names


def _child_containing(block: Block, workflow: Workflow) -> Block | None:
    """The child of ``workflow`` that is ``block`` or contains it, if any."""
    current: Block | None = block
    while current is not None:
        if current.parent is workflow:
            return current
        current = current.parent
    return None


def _upstream_summary(sources: list[Block]) -> str:
    if not sources:
        return "no upstream block"
    parts = [f"{b.name} outputs {', '.join(b.outputs) or 'nothing'}" for b in sources]
    return "upstream: " + "; ".join(parts)


def _input_label(block: Block, target: Target) -> str:
    origin = target.origin
    if origin is not None and origin is not block:
        return f"input '{target.name}' (needed by {origin.label})"
    return f"input '{target.name}'"


class _Validator:
    def __init__(self, config: Mapping[str, Any] | None) -> None:
        self.config = config

    def plan(self, workflow: Workflow, root: bool) -> Plan:
        from outflow.core.workflow.workflow import Workflow

        children = list(workflow.children)
        for child in children:
            if isinstance(child, Workflow):
                child._plan = self.plan(child, root=False)

        position = {id(child): i for i, child in enumerate(children)}
        sources: list[list[int]] = []  # per child: definition indexes of upstream children
        external_upstream: list[Block] = []
        for child in children:
            upstream = list(child.upstream)
            if isinstance(child, Workflow):
                upstream += child.external_upstream
            inner: list[int] = []
            for block in upstream:
                owner = _child_containing(block, workflow)
                if owner is child:
                    raise GraphError(
                        f"{child.label}: {block.label} is inside it and cannot be piped into it"
                    )
                if owner is not None:
                    if position[id(owner)] not in inner:
                        inner.append(position[id(owner)])
                elif root:
                    where = f"workflow {block.parent.name}" if block.parent else "no workflow"
                    raise GraphError(
                        f"{child.label}: upstream {block.label} is not part of {workflow.label} "
                        f"(it belongs to {where}): instantiate it while the workflow is defined"
                    )
                elif block not in external_upstream:
                    external_upstream.append(block)
            sources.append(inner)
        workflow.external_upstream = external_upstream

        order = _topological_order(workflow, children, sources)
        step_of = {index: pos for pos, index in enumerate(order)}
        consumed = set()
        for inner in sources:
            consumed.update(inner)

        derived_inputs: dict[str, Target] = {}
        steps: list[Step] = []
        for index in order:
            child = children[index]
            steps.append(self._step(root, child,
                                    [children[i] for i in sources[index]],
                                    [step_of[i] for i in sources[index]],
                                    derived_inputs))

        exposed = [
            i for i, child in enumerate(children)
            if i not in consumed or any(not d.is_inside(workflow) for d in child.downstream)
        ]
        sinks = [step_of[i] for i, child in enumerate(children) if i not in consumed]
        outputs: list[tuple[str, int, str]] = []
        if not root:
            workflow.inputs = {**workflow.explicit_inputs, **{
                name: target for name, target in derived_inputs.items()
                if name not in workflow.explicit_inputs
            }}
            outputs = self._outputs(workflow, [children[i] for i in exposed],
                                    [step_of[i] for i in exposed])
        else:
            workflow.inputs = dict(workflow.explicit_inputs)
        workflow._runtime = None
        plan = Plan(steps=steps, sinks=sinks, outputs=outputs, version=graph_version(),
                    root=root)
        workflow.finalize_targets(plan)
        return plan

    # -- one block ----------------------------------------------------------------
    def _step(self, root: bool, child: Block, providers: list[Block],
              provider_steps: list[int], derived_inputs: dict[str, Target]) -> Step:
        """Wire the inputs of ``child``; inputs from outside become workflow inputs."""
        problem = getattr(child, "output_problem", None)
        if problem:
            raise TargetError(problem)
        for name in child.bound:
            if (name not in child.inputs and name not in child.parameters
                    and not child.accepts_extra_inputs):
                raise GraphError(
                    f"{child.label}: value bound for unknown input '{name}' "
                    f"(inputs: {', '.join(child.inputs) or 'none'})"
                )
        if child.accepts_extra_inputs:
            for provider in providers:
                for name, target in provider.outputs.items():
                    if name not in child.inputs and name not in child.parameters:
                        child.inputs[name] = Target(name, target.type, origin=child)
            child._runtime = None

        static: dict[str, Any] = {}
        wired: list[tuple[str, int, str]] = []
        external: list[tuple[str, str, bool]] = []
        multi: list[tuple[str, tuple[tuple[int, str], ...]]] = []
        for name, target in child.inputs.items():
            found = [(p, s) for p, s in zip(providers, provider_steps) if name in p.outputs]
            if name in child.bound:
                if found:
                    raise GraphError(
                        f"{child.label}: {_input_label(child, target)} is provided both by "
                        f"{found[0][0].label} and by a value bound at instantiation"
                    )
                static[name] = child.bound[name]
                continue
            for provider, _ in found:
                provided = provider.outputs[name].type
                if not compatible(provided, target.type):
                    raise GraphError(
                        f"{child.label}: {_input_label(child, target)} expects "
                        f"{describe_type(target.type)} but {provider.label} outputs "
                        f"'{name}' as {describe_type(provided)}"
                    )
            if len(found) > 1:
                if not child.allow_multiple_providers:
                    raise GraphError(
                        f"{child.label}: {_input_label(child, target)} is provided by several "
                        f"upstream blocks: {', '.join(p.label for p, _ in found)}; "
                        "each input must come from exactly one block"
                    )
                multi.append((name, tuple((s, name) for _, s in found)))
            elif found:
                wired.append((name, found[0][1], name))
            elif not root:
                self._derive_input(derived_inputs, child, target)
                external.append((name, name, target.optional))
                if target.optional:
                    static[name] = target.default
            elif target.optional:
                static[name] = target.default
            else:
                raise GraphError(
                    f"{child.label}: {_input_label(child, target)} is not provided by any "
                    f"upstream block ({_upstream_summary(providers)})"
                )

        parameters: dict[str, Any] = {}
        if child.parameters:
            given = {k: v for k, v in child.bound.items() if k in child.parameters}
            parameters = resolve_parameters(child, self.config, given)
            static.update(parameters)

        if child.outputs_mirror_inputs:
            child.outputs = {name: Target(name, t.type, origin=child)
                             for name, t in child.inputs.items()}
            child._runtime = None

        n_upstream = len(wired) + len(external) + len(multi)
        return Step(
            block=child,
            static=static,
            wired=tuple(wired),
            external=tuple(external),
            multi=tuple(multi),
            skippable=child.skip_if_upstream_skipped and n_upstream > 0,
            n_upstream=n_upstream,
            parameters=parameters,
        )

    @staticmethod
    def _derive_input(derived: dict[str, Target], child: Block, target: Target) -> None:
        """Make ``target`` of ``child`` an input of the enclosing workflow."""
        existing = derived.get(target.name)
        if existing is None:
            derived[target.name] = Target(target.name, target.type, target.default,
                                          origin=target.origin or child)
            return
        # Needed by several inner blocks: required if any needs it without default,
        # typed by the first block that declares a type.
        kind = existing.type if not is_any(existing.type) else target.type
        default = existing.default if existing.optional and target.optional else MISSING
        derived[target.name] = Target(target.name, kind, default, origin=existing.origin)

    @staticmethod
    def _outputs(workflow: Workflow, exposed: list[Block], steps: list[int]
                 ) -> list[tuple[str, int, str]]:
        owners: dict[str, Block] = {}
        mapping: list[tuple[str, int, str]] = []
        targets: dict[str, Target] = {}
        for block, step in zip(exposed, steps):
            for name, target in block.outputs.items():
                if name in owners:
                    raise GraphError(
                        f"{workflow.label}: output '{name}' is produced by both "
                        f"{owners[name].label} and {block.label}: pipe them into one block "
                        "(a MergeTask for exclusive branches) or rename one output"
                    )
                owners[name] = block
                mapping.append((name, step, name))
                targets[name] = Target(name, target.type, origin=block)
        if workflow.output_name is not None:
            if len(mapping) != 1:
                raise GraphError(
                    f"{workflow.label}: output_name={workflow.output_name!r} renames the "
                    f"workflow's single output, but it has {len(mapping)} "
                    f"({', '.join(targets) or 'none'})"
                )
            (name, step, key), = mapping
            mapping = [(workflow.output_name, step, key)]
            targets = {workflow.output_name: Target(workflow.output_name, targets[name].type,
                                                    origin=owners[name])}
        workflow.outputs = targets
        return mapping


def _topological_order(workflow: Workflow, children: list[Block],
                        sources: list[list[int]]) -> list[int]:
    """Kahn's algorithm; ties broken by definition order, so runs are reproducible."""
    waiting = [len(set(s)) for s in sources]
    consumers: list[list[int]] = [[] for _ in children]
    for index, inner in enumerate(sources):
        for source in set(inner):
            consumers[source].append(index)
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        index = heapq.heappop(ready)
        order.append(index)
        for consumer in consumers[index]:
            waiting[consumer] -= 1
            if waiting[consumer] == 0:
                heapq.heappush(ready, consumer)
    if len(order) != len(children):
        cycle = _find_cycle([i for i in range(len(children)) if waiting[i] > 0], sources)
        path = " -> ".join(children[i].label for i in cycle)
        raise GraphError(f"{workflow.label}: the graph has a cycle: {path}")
    return order


def _find_cycle(remaining: list[int], sources: list[list[int]]) -> list[int]:
    """A cycle among ``remaining`` nodes, as a closed path in edge direction."""
    left = set(remaining)
    node = remaining[0]
    seen: list[int] = []
    while node not in seen:
        seen.append(node)
        node = next(s for s in sources[node] if s in left)  # walk upstream
    cycle = seen[seen.index(node):]
    cycle.reverse()  # upstream walk: reverse for the direction of the edges
    start = cycle.index(min(cycle))  # begin with the block defined first
    cycle = cycle[start:] + cycle[:start]
    return [*cycle, cycle[0]]


__all__ = ["build_plan"]

"""``--plan``: a command's validated graph, shown instead of run.

``outflow compute_data --plan`` validates the command's workflow (exactly as a run
would: missing parameters, type mismatches and cycles are reported the same way) and
prints what would run, without running anything or recording a run:

- every block, nested under the workflow that holds it, in execution order;
- where each block's inputs come from (``<- gen_data.raw_data_array``);
- maps: which sequence they map on, the resources they request (``cpus_per_task``...);
- resolved parameter values (secrets masked);
- the workflow cache: ``on`` for a cached workflow, and whether its entry exists when
  its inputs are known before the run (constants only); a map's items are keyed by
  values known at run time.

``--plan=dot`` and ``--plan=mermaid`` print the same graph for Graphviz (``| dot -Tsvg``)
or for a Mermaid block in Markdown: each workflow a cluster/subgraph, each data edge
an arrow.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outflow.core.workflow.plan import Plan, Step
    from outflow.core.workflow.workflow import Workflow

FORMATS = ("text", "dot", "mermaid")


def describe_plan(workflow: Workflow, fmt: str = "text") -> str:
    """The validated ``workflow`` (its plan must exist) in format ``fmt``."""
    plan = workflow.plan
    if plan is None:
        raise ValueError(f"{workflow.label} is not validated")
    view = _View(workflow)
    if fmt == "dot":
        return view.dot()
    if fmt == "mermaid":
        return view.mermaid()
    return view.text()


def _label(block: Any) -> str:
    """``task compute``, ``workflow process``, ``map process_data``."""
    kind = "map" if getattr(block, "maps_items", False) else block.kind
    return f"{kind} {block.name}"


class _Node:
    """One block of the plan, with a stable id for the drawings."""

    __slots__ = ("block", "children", "id", "step", "upstream")

    def __init__(self, block: Any, step: Step | None, node_id: str) -> None:
        self.block = block
        self.step = step
        self.id = node_id
        self.children: list[_Node] = []
        #: (upstream node, its output, our input) for each wired input
        self.upstream: list[tuple[_Node, str, str]] = []

    @property
    def is_workflow(self) -> bool:
        return getattr(self.block, "plan", None) is not None


class _View:
    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.root = _Node(workflow, None, "n")
        self._build(self.root, workflow.plan)  # type: ignore[arg-type]

    def _build(self, node: _Node, plan: Plan) -> None:
        for position, step in enumerate(plan.steps):
            child = _Node(step.block, step, f"{node.id}_{position}")
            for input_name, source, output in step.wired:
                child.upstream.append((node.children[source], output, input_name))
            for input_name, providers in step.multi:
                for source, output in providers:
                    child.upstream.append((node.children[source], output, input_name))
            node.children.append(child)
            inner = getattr(step.block, "plan", None)
            if inner is not None:
                self._build(child, inner)

    def nodes(self, node: _Node | None = None) -> Iterator[_Node]:
        for child in (node or self.root).children:
            yield child
            yield from self.nodes(child)

    # -- text ---------------------------------------------------------------------
    def text(self) -> str:
        blocks = list(self.nodes())
        maps = sum(1 for node in blocks if getattr(node.block, "maps_items", False))
        lines = [f"{self.workflow.label}: {len(blocks)} blocks"
                 + (f", {maps} map{'s' if maps != 1 else ''}" if maps else "")
                 + " (validated; nothing ran)"]
        self._text(self.root, 1, lines)
        return "\n".join(lines)

    def _text(self, node: _Node, depth: int, lines: list[str]) -> None:
        for child in node.children:
            block = child.block
            parts = [f"{'  ' * depth}{_label(block)}"]
            sources = [f"{up.block.name}.{output}" for up, output, _ in child.upstream]
            if child.step is not None and child.step.external:
                sources += [f"{node.block.name}.{key}" for _, key, _ in child.step.external]
            if sources:
                parts.append(f"<- {', '.join(sources)}")
            details = self._details(child)
            if details:
                parts.append(f"[{'; '.join(details)}]")
            lines.append("  ".join(parts))
            self._text(child, depth + 1, lines)

    def _details(self, node: _Node) -> list[str]:
        from outflow.core.configuration.secrets import mask_secrets

        block, step = node.block, node.step
        details: list[str] = []
        if getattr(block, "maps_items", False):
            mapping = getattr(block, "mapping", {}) or {}
            details.append("items: " + ", ".join(f"{sequence} -> {inner}"
                                                 for sequence, inner in mapping.items()))
            resources = getattr(block, "resources", {}) or {}
            if resources:
                details.append(", ".join(f"{key}={value!r}"
                                         for key, value in sorted(resources.items())))
        if step is not None and step.parameters:
            shown = mask_secrets(dict(step.parameters))
            details.append(", ".join(f"{key}={value!r}" for key, value in shown.items()))
        if getattr(block, "cache", False):
            details.append(f"cache: {self._cache_state(node)}")
        return details

    def _cache_state(self, node: _Node) -> str:
        """``on``; ``hit``/``miss`` when the workflow's inputs are constants."""
        step, block = node.step, node.block
        if getattr(block, "maps_items", False):
            return "on, per item"
        if step is None or step.wired or step.external or step.multi:
            return "on (inputs known at run time)"
        from outflow.core.pipeline.context import active_context, has_active_context
        from outflow.core.workflow.cache import (
            CacheKeyError,
            WorkflowCache,
            cache_directory,
            cache_key,
        )

        if not has_active_context():
            return "on"
        try:
            key = cache_key(block, dict(step.static))
        except CacheKeyError:
            return "on (inputs cannot be hashed)"
        cache = WorkflowCache(cache_directory(active_context()))
        return "hit" if cache.path(key).exists() else "miss"

    # -- drawings -------------------------------------------------------------------
    def _entries(self, node: _Node) -> list[_Node]:
        """The nodes an edge into ``node`` reaches: itself, or a workflow's first blocks."""
        if not node.children:
            return [node]
        firsts = [child for child in node.children if not child.upstream]
        return [leaf for child in firsts or node.children[:1] for leaf in self._entries(child)]

    def _exits(self, node: _Node) -> list[_Node]:
        """The nodes an edge out of ``node`` leaves from: itself, or a workflow's sinks."""
        if not node.children:
            return [node]
        used = {id(up) for child in node.children for up, _, _ in child.upstream}
        lasts = [child for child in node.children if id(child) not in used]
        return [leaf for child in lasts for leaf in self._exits(child)]

    def _edges(self) -> Iterator[tuple[_Node, _Node, str]]:
        for node in self.nodes():
            for upstream, output, _ in node.upstream:
                for source in self._exits(upstream):
                    for target in self._entries(node):
                        yield source, target, output

    def dot(self) -> str:
        lines = [f"digraph {_quote(self.workflow.name)} {{", "  rankdir=LR;",
                 "  node [shape=box];"]
        self._dot(self.root, 1, lines)
        for source, target, output in self._edges():
            lines.append(f"  {source.id} -> {target.id} [label={_quote(output)}];")
        lines.append("}")
        return "\n".join(lines)

    def _dot(self, node: _Node, depth: int, lines: list[str]) -> None:
        pad = "  " * depth
        for child in node.children:
            label = _label(child.block)
            if child.children:
                lines.append(f"{pad}subgraph cluster_{child.id} {{")
                lines.append(f"{pad}  label={_quote(label)};")
                self._dot(child, depth + 1, lines)
                lines.append(f"{pad}}}")
            else:
                lines.append(f"{pad}{child.id} [label={_quote(label)}];")

    def mermaid(self) -> str:
        lines = ["flowchart LR"]
        self._mermaid(self.root, 1, lines)
        for source, target, output in self._edges():
            lines.append(f"  {source.id} -->|{_mermaid_text(output)}| {target.id}")
        return "\n".join(lines)

    def _mermaid(self, node: _Node, depth: int, lines: list[str]) -> None:
        pad = "  " * depth
        for child in node.children:
            label = _mermaid_text(_label(child.block))
            if child.children:
                lines.append(f'{pad}subgraph {child.id}["{label}"]')
                self._mermaid(child, depth + 1, lines)
                lines.append(f"{pad}end")
            else:
                lines.append(f'{pad}{child.id}["{label}"]')


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mermaid_text(text: str) -> str:
    return text.replace('"', "'").replace("|", "/")


__all__ = ["FORMATS", "describe_plan"]

"""Workflows: blocks made of blocks, with an optional on-disk cache of their outputs.

A workflow's inputs are what its inner blocks need and nothing inside provides
(plus those added with :meth:`Workflow.add_input`); its outputs are what its
terminal blocks produce. Both are derived when the graph is validated.

Subclasses change how a workflow runs by overriding :meth:`Workflow._run` (the
spec's ``RandomWorkflow`` calls ``super()._run(**inputs)`` half of the time; a
MapWorkflow runs its inner graph once per item through the backend's ``map``) and
may adjust the derived targets in :meth:`Workflow.finalize_targets`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

from outflow.core.target import MISSING, Target
from outflow.core.tasks.block import (
    Block,
    graph_changed,
    graph_version,
    pop_definition,
    push_definition,
    snake_case,
)
from outflow.core.tasks.errors import TaskInputError
from outflow.core.tasks.parameters import active_config
from outflow.core.workflow.engine import execute
from outflow.core.workflow.plan import Plan

logger = logging.getLogger(__name__)


def _qualified(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


class Workflow(Block):
    """A graph of blocks, itself usable as a block.

    Use it as a context manager (or ``start()``/``stop()``): blocks instantiated
    meanwhile belong to it. ``Workflow(*blocks)`` adopts blocks created earlier.
    Subclasses accept their own keyword options and pass ``name``, ``cache``,
    ``output_name`` and ``cache_version`` on to this constructor
    (``MapWorkflow.as_workflow(map_on=...)`` relies on it).
    """

    kind: ClassVar[str] = "workflow"
    #: Whether the workflow runs its inner graph once per item, through the backend's
    #: ``map`` (a MapWorkflow): backends that start workers early look for one.
    maps_items: ClassVar[bool] = False

    def __init__(self, *blocks: Block, name: str | None = None, cache: bool = False,
                 output_name: str | None = None, cache_version: Any = None) -> None:
        super().__init__()
        self.name = name or snake_case(type(self).__name__)
        self.cache = cache
        #: Part of the cache key: change it to force new entries (see the cache module).
        self.cache_version = cache_version
        self.output_name = output_name
        self.children: list[Block] = []
        #: Inputs declared with :meth:`add_input`, kept when targets are derived.
        self.explicit_inputs: dict[str, Target] = {}
        #: Blocks outside this workflow piped into its inner blocks (set by validation).
        self.external_upstream: list[Block] = []
        #: What the cache key calls this workflow: its class, and its definition function.
        self.identity = f"{_qualified(type(self))}:{self.name}"
        #: Unpickled after validation (in a worker): runnable, but detached from the
        #: graph it was defined in, so it cannot be validated again.
        self.shipped = False
        #: The run's WorkerKit, when the workflow arrived pickled (see ``run_item``).
        self.worker_kit: Any = None
        self._plan: Plan | None = None
        for block in blocks:
            self.add_block(block)

    # -- definition ---------------------------------------------------------------
    def add_block(self, block: Block) -> None:
        """Make ``block`` a child of this workflow (moving it from its previous one)."""
        if block is self or (isinstance(block, Workflow) and self.is_inside(block)):
            raise ValueError(f"{self.label} cannot contain itself")
        if block.parent is self:
            return
        if block.parent is not None:
            block.parent.children.remove(block)
        block.parent = self
        self.children.append(block)
        graph_changed()

    def add_input(self, name: str, type: Any = Any, default: Any = MISSING) -> Target:  # noqa: A002
        """Declare an input explicitly, beside those derived from the inner blocks.

        Its value is passed to every inner block that needs an input of that name and
        has no provider inside the workflow (the spec's nested MapWorkflow case).
        """
        target = super().add_input(name, type, default)
        self.explicit_inputs[name] = target
        return target

    def start(self) -> Workflow:
        """Start registering the blocks instantiated from now on in this workflow."""
        push_definition(self)
        return self

    def stop(self) -> None:
        """Stop registering blocks in this workflow."""
        pop_definition(self)

    def __enter__(self) -> Workflow:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @classmethod
    def as_workflow(cls, func: Callable[..., Any] | None = None, /, **options: Any) -> Any:
        """Decorate a function defining a graph; calling the result builds the workflow.

        Works with and without parentheses; ``options`` (``cache``, ``output_name``,
        and those of subclasses) go to the constructor of ``cls``.
        """

        def decorate(function: Callable[..., Any]) -> WorkflowFactory:
            return WorkflowFactory(cls, function, options)

        return decorate if func is None else decorate(func)

    def iter_blocks(self) -> Iterator[Block]:
        """Every block inside this workflow, at any depth, depth first."""
        for child in self.children:
            yield child
            if isinstance(child, Workflow):
                yield from child.iter_blocks()

    # -- validation ---------------------------------------------------------------
    def validate(self, *, root: bool = True) -> Plan:
        """Check the whole graph and prepare its execution; nothing runs.

        ``root=True`` (a command's top-level workflow): every input must be provided
        inside. ``root=False`` (a workflow run on its own, e.g. in a test): inputs
        nothing provides become inputs of the workflow. Raises
        :class:`~outflow.core.tasks.GraphError`.
        """
        from outflow.core.tasks.errors import GraphError
        from outflow.core.workflow.graph import build_plan

        if self.shipped:
            raise GraphError(
                f"{self.label} was validated before being sent to this process: "
                "it runs as it is, and cannot be validated or rewired here"
            )
        self._plan = build_plan(self, root=root, config=active_config())
        return self._plan

    @property
    def plan(self) -> Plan | None:
        """The plan of the last validation, or None."""
        return self._plan

    def needs_validation(self) -> bool:
        """True when never validated as a top-level workflow, or the graph changed since."""
        plan = self._plan
        if self.shipped:
            return False
        return plan is None or not plan.root or plan.version != graph_version()

    def finalize_targets(self, plan: Plan) -> None:
        """Adjust :attr:`inputs`/:attr:`outputs` after they were derived (for subclasses)."""

    # -- execution ----------------------------------------------------------------
    def __call__(self, *args: Any, **inputs: Any) -> dict[str, Any]:
        """Run the workflow as a block: cache lookup, then :meth:`_run`.

        The engine calls it with every input by keyword; called directly, positional
        values map to the inputs in order and a single dict argument is spread.
        """
        if self._plan is None:
            self.validate(root=False)
        if args or len(inputs) != len(self.inputs):
            inputs = self.bind_arguments(args, inputs)
        if self.cache:
            return self._cached_run(inputs)
        return self._run(**inputs)

    def _run(self, **inputs: Any) -> dict[str, Any]:
        """Run the inner graph and return the workflow's outputs; override to change that."""
        return self.run_graph(**inputs)

    def run_graph(self, **inputs: Any) -> dict[str, Any]:
        """Run every inner block once; return the outputs of the workflow."""
        plan = self._plan
        if plan is None:
            plan = self.validate(root=False)
        results = execute(plan, inputs)
        return {name: results[position][key] for name, position, key in plan.outputs}

    # -- items (the backend protocol, see outflow.core.backends) -------------------
    def run_item(self, item: Mapping[str, Any]) -> Any:
        """Run one item of a map: what :meth:`Backend.map
        <outflow.core.backends.Backend.map>` calls, in any thread or process.

        In a process that received the workflow pickled, the first call sets the
        process up (:func:`~outflow.core.backends.worker.ensure_worker`). While the
        item runs, :func:`~outflow.core.backends.current_item_index` is its index; an
        exception comes out as an :class:`~outflow.core.backends.ItemFailure` naming
        the item (``KeyboardInterrupt`` and ``SystemExit`` pass unchanged).
        """
        from outflow.core.backends.items import ItemFailure, enter_item, leave_item

        kit = self.worker_kit
        if kit is not None and not kit.made_here():
            from outflow.core.backends.worker import ensure_worker

            ensure_worker(kit)
        token = enter_item(item)
        try:
            return self.compute_item(item)
        except ItemFailure as failure:
            if failure.index == getattr(item, "index", None) and failure.label == self.label:
                raise  # already this item's (a subclass's compute_item raised it)
            raise ItemFailure.of(self, item, failure) from failure
        except Exception as error:
            raise ItemFailure.of(self, item, error) from error
        finally:
            leave_item(token)

    def compute_item(self, item: Mapping[str, Any]) -> Any:
        """The result of one item (inside :meth:`run_item`): the inner graph's outputs
        with ``item`` as inputs; a MapWorkflow returns its sinks' outputs."""
        return self.run_graph(**item)

    def item_returned(self, item: Mapping[str, Any], result: Any) -> None:
        """A backend got ``item``'s result back in the driver (items run elsewhere).

        Backends whose items run in other processes call it as results land; a
        MapWorkflow moves its progress display and keeps the result should a later
        item fail. Nothing to do here.
        """

    def lost_item(self, item: Mapping[str, Any], failure: Any) -> Any:
        """A backend lost ``item``: its process died, or it ran past its timeout
        (``failure``, a :class:`~outflow.core.backends.WorkerDied`). The result to
        use in its place, the map going on; or None (here): the map fails with it.
        A MapWorkflow that keeps going answers with its failed-item result."""
        return None

    def items_queued(self, running: int, pending: int) -> None:
        """A backend with a queue (a cluster) says how many items run and wait now.

        A MapWorkflow shows it in its progress display. Nothing to do here.
        """

    def run_sinks(self, **inputs: Any) -> list[dict[str, Any]]:
        """Run the inner graph; return the outputs dict of each terminal block.

        This is the result of a command: ``[{"None": None}]`` when it has no block.
        """
        plan = self._plan
        if plan is None:
            plan = self.validate()
        if not plan.steps:
            return [{"None": None}]
        results = execute(plan, inputs)
        return [results[position] for position in plan.sinks]

    def _cached_run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        from outflow.core.pipeline.context import active_context, has_active_context
        from outflow.core.workflow.cache import (
            CacheKeyError,
            WorkflowCache,
            cache_directory,
            cache_key,
            count_cache_hits,
        )

        if not has_active_context():
            return self._run(**inputs)
        context = active_context()
        try:
            key = cache_key(self, inputs)
        except CacheKeyError as exc:
            logger.warning("%s: not cached: %s", self.label, exc)
            return self._run(**inputs)
        store = WorkflowCache(cache_directory(context))
        if not context.overwrite_cache:
            cached = store.load(key)
            if cached is not None:
                logger.info("%s: outputs read from the workflow cache (%s)", self.label, key[:12])
                count_cache_hits(context, 1)
                return cached
        outputs = self._run(**inputs)
        store.store(key, outputs, self.identity)
        return outputs

    def bind_arguments(self, args: tuple[Any, ...], inputs: dict[str, Any]) -> dict[str, Any]:
        """Complete the inputs of a direct call: positional values, defaults, checks."""
        values = dict(inputs)
        if len(args) == 1 and not inputs and isinstance(args[0], dict) and (
            len(self.inputs) != 1 or next(iter(self.inputs)) in args[0]
        ):
            values = {k: v for k, v in args[0].items() if k in self.inputs}
            args = ()
        free = [name for name in self.inputs if name not in values]
        if len(args) > len(free):
            raise TaskInputError(
                f"{self.label}: takes {len(free)} positional input value(s) but "
                f"{len(args)} were given"
            )
        values.update(zip(free, args))
        unknown = [name for name in values if name not in self.inputs]
        if unknown:
            raise TaskInputError(
                f"{self.label}: unknown input(s) {', '.join(map(repr, unknown))} "
                f"(inputs: {', '.join(self.inputs) or 'none'})"
            )
        for name, target in self.inputs.items():
            if name not in values:
                if not target.optional:
                    raise TaskInputError(f"{self.label}: input '{name}' is missing")
                values[name] = target.default
        return values

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Pickled after validation inside a pipeline, a workflow carries its run's
        :class:`~outflow.core.backends.WorkerKit`, unpickled (and ``sys.path`` set)
        before the workflow's own class and blocks are looked up."""
        kit = self._kit_to_ship()
        if kit is None:
            return super().__reduce_ex__(protocol)
        return (_unpickle_workflow, (kit, type(self)), self.__getstate__())

    def _kit_to_ship(self) -> Any:
        if self._plan is None:
            return None
        if self.worker_kit is not None:  # passed on by a worker that received it
            return self.worker_kit
        from outflow.core.pipeline.context import active_context, has_active_context

        if not has_active_context():
            return None
        from outflow.core.backends.shipping import worker_kit

        return worker_kit(active_context())

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["worker_kit"] = None  # travels in __reduce_ex__'s arguments, ahead
        if self._plan is not None:
            # Validated: ship the workflow detached from the graph around it (see
            # Block.__getstate__). Its plan says where every value comes from.
            state.update(parent=None, upstream=[], downstream=[], external_upstream=[],
                         shipped=True)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        kit = self.__dict__.get("worker_kit")  # set by _unpickle_workflow, before
        self.__dict__.update(state)
        if kit is not None:
            self.worker_kit = kit


def _unpickle_workflow(kit: Any, cls: type[Workflow]) -> Workflow:
    workflow = cls.__new__(cls)
    workflow.worker_kit = kit
    return workflow


class WorkflowFactory:
    """What ``@as_workflow`` returns: calling it builds and registers a new workflow.

    Arguments of the call are passed to the decorated function (external blocks:
    ``process(big_computation)``).
    """

    def __init__(self, workflow_class: type[Workflow], function: Callable[..., Any],
                 options: dict[str, Any]) -> None:
        self.workflow_class = workflow_class
        self.function = function
        self.options = dict(options)
        functools.update_wrapper(self, function)

    def __call__(self, *args: Any, **kwargs: Any) -> Workflow:
        options = dict(self.options)
        name = options.pop("name", None) or self.function.__name__
        workflow = self.workflow_class(name=name, **options)
        workflow.identity = f"{_qualified(self.workflow_class)}:{_qualified(self.function)}"
        with workflow:
            self.function(*args, **kwargs)
        return workflow

    def __repr__(self) -> str:
        return f"<workflow factory {self.function.__qualname__} ({self.workflow_class.__name__})>"


as_workflow: Any = Workflow.as_workflow

__all__ = ["Workflow", "WorkflowFactory", "as_workflow"]

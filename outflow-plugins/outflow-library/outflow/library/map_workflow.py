"""MapWorkflow: run a workflow once per item of a sequence, on whatever backend runs.

One generic class for every backend: the MapWorkflow splits its input sequences
into items (dicts of the inner workflow's inputs) and hands them to
``current_backend().map(self, items, resources=...)``. The sequential backend runs
them here one after the other, the parallel one in a process pool, a cluster
backend as a job array; ``resources`` (``cpus_per_task``, ``mem``, ``partition``,
``simultaneous_tasks``...) are passed along and each backend uses those it
understands. That is why ``SlurmMapWorkflow`` is only an alias: the same command
runs on a laptop and on a cluster.

Three spellings build one::

    @MapWorkflow.as_workflow(output_name="results", cpus_per_task=2)
    def process():
        Transform() | Compute()

    with MapWorkflow(map_on={"raw_data_array": "raw_data"}) as process:
        Transform() | Compute()

    process = MapWorkflow(Compute(), output_name="map_computation_result")

Inputs. ``map_on`` maps each input sequence name to the inner input receiving its
items (several sequences are zipped and must have the same length). Without it,
the inner workflow must have one required input besides those declared with
``add_input`` (or one needed by its first blocks); the sequence is then named
after the single output of the block piped into the MapWorkflow (looking at the
enclosing workflows when nothing is piped into it directly), else
``<inner input>_array`` (``raw_data`` -> ``raw_data_array``). Every other input of
the inner workflow (``add_input`` ones, optional ones) is passed unchanged to each
item.

Output. One list, ``output_name`` (default ``map_<output>`` when the inner
workflow has a single output, else ``map_output``), with one entry per item, in
input order: the list of the outputs dicts of the inner workflow's terminal blocks
(``[[{'computation_result': 126}], [{'computation_result': 129}]]``).

Items. The backend receives :class:`~outflow.core.backends.Item` objects (the
inner inputs, with the item's index) and calls :meth:`MapWorkflow.run_item` on each,
wherever it runs them (see :mod:`outflow.core.backends`).

Cache. ``cache=True`` caches each item on its own (keyed by the inner workflow,
its code and parameters, and the item), written by the process that computed the
item as soon as it finished. A run that failed, was stopped half way or whose driver
crashed only recomputes the missing items on the next run, and results come back in
input order whichever items came from the cache.

Failures. An item that raises fails the MapWorkflow with a :class:`MapItemError`
naming the item's index, the task and the error; the outputs of the items that
finished and came back are kept on the exception (``error.completed``, index ->
result).

Keep going. With ``keep_going=True`` (or the command's ``--keep-going``), an item
that raises does not stop the map: it comes back from ``run_item`` as a
:class:`FailedItem` result, which every backend returns like any other, so the
other items all run; then the map fails with a :class:`MapItemsFailed` naming how
many failed and the first few. A worker process that dies, or a cluster job that
ends without a result, is a failed item too, where the backend asks the workflow
(``lost_item``) before it fails the map.

Timeout. ``timeout=60`` stops an item that runs longer than 60 s, where the backend
can stop one item alone (``Capabilities(item_timeout=True)``: the parallel backend
stops its worker process, Slurm its job, an MPI rank the item itself); it fails with
a ``TimeoutError``, or counts as failed in a map that keeps going. Elsewhere a
warning says it is not enforced.

Retries. ``retries=N`` (``retry_delay`` seconds apart) runs a failing item again,
where it runs, up to N more times, for an exception raised by a task's code; an
input or output of the wrong type is never retried. Each attempt's blocks are
recorded.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

from outflow.core.backends import Item, ItemFailure, current_backend, current_item_path
from outflow.core.logging import logger
from outflow.core.target import Target
from outflow.core.tasks import Block, EngineError, GraphError, TaskError, TaskInputError
from outflow.core.workflow import Plan, Workflow


class MapItemError(ItemFailure):
    """An item of a map failed: ``item 5 of map p failed in task compute: <error> (...)``.

    An :class:`~outflow.core.backends.ItemFailure` (``index``, ``block_name``,
    ``error``, ``remote_traceback``...) that also says what the map kept:
    ``completed`` (index -> result of every item that finished, read from the cache
    or computed) and ``total`` (the number of items).
    """

    def __init__(self, label: str, index: int | None, error: BaseException, *,
                 completed: Mapping[int, Any] | None = None, total: int | None = None,
                 block_name: str | None = None, remote_traceback: str | None = None,
                 ran_on: str | None = None, origin: str | None = None) -> None:
        self.completed = dict(completed or {})
        self.total = total
        super().__init__(label, index, error, block_name=block_name,
                         remote_traceback=remote_traceback, ran_on=ran_on, origin=origin)

    def describe(self) -> str:
        message = super().describe()
        if self.total is not None:
            message += (f" ({len(self.completed)} of {self.total} items finished; "
                        "their outputs are kept)")
        return message

    def state(self) -> dict[str, Any]:
        return {**super().state(), "completed": self.completed, "total": self.total}


#: How many failed items a :class:`MapItemsFailed` names in its message.
NAMED_FAILURES = 5


class MapItemsFailed(MapItemError):
    """Items of a map that kept going failed: ``3 of 200 items of map p failed: item 5
    in task t: ValueError: ... (tasks.py:12); item 17 ...``.

    A :class:`MapItemError` whose ``index``, ``error``, ``block_name`` and traceback
    are those of the first failed item (in input order); ``failures`` holds every
    item's :class:`~outflow.core.backends.ItemFailure`.
    """

    def __init__(self, label: str, failures: list[ItemFailure], *,
                 completed: Mapping[int, Any] | None = None, total: int | None = None,
                 remote_traceback: str | None = None) -> None:
        self.failures = sorted(failures, key=lambda failure: failure.index or 0)
        first = self.failures[0]
        super().__init__(label, first.index, first.error, completed=completed, total=total,
                         block_name=first.block_name,
                         remote_traceback=remote_traceback or first.remote_traceback,
                         ran_on=first.ran_on, origin=first.origin)

    def describe(self) -> str:
        failures = getattr(self, "failures", [])
        if not failures:  # during the base class's construction
            return super().describe()
        total = "" if self.total is None else f" of {self.total}"
        named = "; ".join(_one_failure(failure) for failure in failures[:NAMED_FAILURES])
        more = len(failures) - NAMED_FAILURES
        message = (f"{len(failures)}{total} items of {self.label} failed: {named}"
                   + (f"; and {more} more" if more > 0 else ""))
        if self.total is not None:
            message += (f" ({len(self.completed)} of {self.total} items finished; "
                        "their outputs are kept)")
        return message

    def state(self) -> dict[str, Any]:
        state = super().state()
        for key in ("index", "error", "block_name", "ran_on", "origin"):
            del state[key]
        return {**state, "failures": self.failures}


def _one_failure(failure: ItemFailure) -> str:
    """``item 5 in task t: ValueError: bad (tasks.py:12)``: one failure, without its map."""
    text = failure.describe()
    prefix = f"item {failure.index} of {failure.label} failed"
    return f"item {failure.index}" + text[len(prefix):] if text.startswith(prefix) else text


class FailedItem:
    """The result of an item that failed in a map that keeps going: its
    :class:`~outflow.core.backends.ItemFailure`. Backends return it like any result
    (it pickles); the map sorts it out in the driver."""

    __slots__ = ("failure",)

    def __init__(self, failure: ItemFailure) -> None:
        self.failure = failure

    def __reduce__(self) -> tuple[type[FailedItem], tuple[ItemFailure]]:
        return (FailedItem, (self.failure,))


class CachedItem(Item):
    """An item whose result is stored in the workflow cache, under ``cache_key``, by
    the process that computes it."""

    __slots__ = ("cache_key",)

    def __init__(self, inputs: Mapping[str, Any], index: int, path: tuple[int, ...],
                 cache_key: str) -> None:
        super().__init__(inputs, index, path)
        self.cache_key = cache_key


class _MapRun:
    """What the driver of one map knows: the results that landed, and the progress.

    Fed by ``run_item`` when items run in the driver's process (in any of its
    threads: hence the lock) and by ``item_returned`` when a backend brings results
    back from elsewhere; an index is counted once either way.
    """

    __slots__ = ("failed_items", "lock", "pid", "progress", "results")

    def __init__(self, progress: Any) -> None:
        self.pid = os.getpid()
        self.progress = progress
        self.results: dict[int, Any] = {}
        #: indexes of the items that failed in a map that keeps going
        self.failed_items: set[int] = set()
        self.lock = threading.Lock()

    def landed(self, index: int, result: Any) -> None:
        with self.lock:
            if isinstance(result, FailedItem):
                if index not in self.failed_items:
                    self.failed_items.add(index)
                    self.progress.advance(1, failed=1)
            elif index not in self.results:
                self.results[index] = result
                self.progress.advance(1)

    def failed(self) -> None:
        with self.lock:
            self.progress.advance(1, failed=1)


class MapWorkflow(Workflow):
    """Run the inner workflow once per item of the input sequence(s); see the module doc.

    ``map_on``: ``{"sequence input": "inner input"}``; ``output_name``: the name of
    the output list; ``cache``: per-item cache (``cache_version`` forces new
    entries); ``keep_going``: run every item, then fail naming those that failed;
    ``retries``/``retry_delay``: run a failing item again; every other keyword argument
    (``cpus_per_task``, ``mem``, ``partition``, ``simultaneous_tasks``, any sbatch
    directive) is a resource request passed to the backend, which ignores those it
    does not use.
    """

    maps_items = True

    def __init__(self, *blocks: Block, map_on: Mapping[str, str] | None = None,
                 output_name: str | None = None, name: str | None = None,
                 cache: bool = False, cache_version: Any = None, keep_going: bool = False,
                 retries: int = 0, retry_delay: float = 0.0, timeout: float | None = None,
                 **resources: Any) -> None:
        # The base class renames a single output; ours is the list of item results.
        super().__init__(*blocks, name=name, cache=cache, output_name=None,
                         cache_version=cache_version)
        if map_on is not None and (not isinstance(map_on, Mapping) or not map_on):
            raise TypeError(f"{self.label}: map_on must be a non-empty dict "
                            "{'sequence input': 'inner input'}")
        cpus = resources.get("cpus_per_task")
        if cpus is not None and (not isinstance(cpus, int) or isinstance(cpus, bool)
                                 or cpus < 1):
            raise GraphError(f"{self.label}: cpus_per_task must be a positive integer, "
                             f"got {cpus!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise GraphError(f"{self.label}: retries must be a positive integer or 0, "
                             f"got {retries!r}")
        if isinstance(retry_delay, bool) or not isinstance(retry_delay, (int, float)) \
                or retry_delay < 0:
            raise GraphError(f"{self.label}: retry_delay must be a number of seconds, "
                             f"got {retry_delay!r}")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(
                timeout, (int, float)) or timeout <= 0):
            raise GraphError(f"{self.label}: timeout must be a positive number of seconds, "
                             f"got {timeout!r}")
        #: Seconds an item may run, where the backend can stop it (see map_items).
        self.timeout = timeout
        #: Run every item whatever fails (``keep_going=True``; the command's
        #: ``--keep-going`` turns it on for the run, see :meth:`map_items`).
        self.keep_going = bool(keep_going)
        #: More attempts of a failing item, and the seconds between them.
        self.item_retries = retries
        self.item_retry_delay = float(retry_delay)
        self.map_on: dict[str, str] | None = dict(map_on) if map_on else None
        self.requested_output_name = output_name
        #: The name of the output list (final once validated).
        self.result_name = output_name or "map_output"
        #: Resource requests for the backend (``cpus_per_task``, ``mem``...).
        self.resources: dict[str, Any] = dict(resources)
        #: Sequence input name -> inner input name (set by validation).
        self.mapping: dict[str, str] = {}
        #: Inner inputs passed unchanged to every item (set by validation).
        self.broadcast: list[str] = []
        self._run_state: _MapRun | None = None
        self._hooks: tuple[Any, Any, Any] | None = None
        #: pid -> the workflow cache this process stores items in (see ``_store``).
        self._stores: dict[int, Any] = {}

    # -- targets ------------------------------------------------------------------
    def finalize_targets(self, plan: Plan) -> None:
        """Replace the derived inputs by the sequences, and the outputs by one list."""
        inner = dict(self.inputs)
        if self.map_on is not None:
            for sequence, target in self.map_on.items():
                if target not in inner:
                    raise GraphError(
                        f"{self.label}: map_on maps {sequence!r} to {target!r}, which is not "
                        f"an input of its inner blocks (inputs: {', '.join(inner) or 'none'})"
                    )
            mapping = dict(self.map_on)
        else:
            target = self._mapped_input(plan, inner)
            broadcast = set(inner) - {target}
            mapping = {self._sequence_name(target, broadcast): target}
        self.mapping = mapping
        self.broadcast = [name for name in inner if name not in mapping.values()]
        clash = [name for name in self.broadcast if name in mapping]
        if clash:
            raise GraphError(
                f"{self.label}: {clash[0]!r} names both a mapped sequence and an input passed "
                "to every item: choose another sequence name in map_on"
            )
        inputs = {sequence: Target(sequence, Any, origin=inner[target].origin)
                  for sequence, target in mapping.items()}
        inputs.update((name, inner[name]) for name in self.broadcast)
        self.inputs = inputs

        names = [name for position in plan.sinks for name in plan.steps[position].block.outputs]
        if self.requested_output_name is None:
            self.result_name = f"map_{names[0]}" if len(names) == 1 else "map_output"
        self.outputs = {self.result_name: Target(self.result_name, list, origin=self)}

    def _mapped_input(self, plan: Plan, inner: dict[str, Target]) -> str:
        """The single inner input to map on when ``map_on`` is not given."""
        candidates = [name for name, target in inner.items()
                      if name not in self.explicit_inputs and not target.optional]
        if len(candidates) > 1:  # prefer what the first blocks need
            first = {key for step in plan.steps if not step.wired and not step.multi
                     for _, key, _ in step.external}
            candidates = [name for name in candidates if name in first] or candidates
        if len(candidates) != 1:
            found = ", ".join(candidates) if candidates else "none"
            raise GraphError(
                f"{self.label}: cannot tell which input to map on (candidates: {found}); "
                "pass map_on={'<sequence input>': '<inner input>'}"
            )
        return candidates[0]

    def _sequence_name(self, target: str, broadcast: set[str]) -> str:
        """Name the sequence after what is piped in, else ``<target>_array``."""
        block: Block | None = self
        while block is not None and not block.upstream:
            block = block.parent
        if block is not None:
            offered = {name for upstream in block.upstream for name in upstream.outputs
                       if name not in broadcast}
            if len(offered) == 1:
                return offered.pop()
        return f"{target}_array"

    # -- running ------------------------------------------------------------------
    def __call__(self, *args: Any, **inputs: Any) -> dict[str, Any]:
        """Run the map (the engine calls it with every input by keyword).

        Called directly with a single sequence under another name
        (``MapWorkflow(ComputeMore())(some_data_array=[...])``), that sequence is
        the one mapped on.
        """
        if self.plan is None:
            self.validate(root=False)
        if args or inputs.keys() != self.inputs.keys():
            inputs = self.bind_arguments(args, self._rename_sequence(inputs))
        return self.map_inputs(**inputs)

    def _rename_sequence(self, inputs: dict[str, Any]) -> dict[str, Any]:
        unknown = [name for name in inputs if name not in self.inputs]
        missing = [name for name in self.mapping if name not in inputs]
        if len(unknown) == 1 and len(missing) == 1:
            inputs = dict(inputs)
            inputs[missing[0]] = inputs.pop(unknown[0])
        return inputs

    def _run(self, **inputs: Any) -> dict[str, Any]:
        return self.map_inputs(**inputs)

    def map_inputs(self, **inputs: Any) -> dict[str, Any]:
        """The map's outputs for these inputs: ``{output name: [result per item]}``."""
        return {self.result_name: self.map_items(self.items(inputs))}

    def items(self, inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The inner workflow's inputs for each item, in input order."""
        sequences: dict[str, list[Any]] = {}
        for sequence in self.mapping:
            value = inputs[sequence]
            try:
                sequences[sequence] = list(value)
            except TypeError:
                raise TaskInputError(
                    f"{self.label}: input '{sequence}' must be a sequence to map on, "
                    f"got {type(value).__name__}"
                ) from None
        lengths = {name: len(values) for name, values in sequences.items()}
        if len(set(lengths.values())) > 1:
            detail = ", ".join(f"{name}: {length}" for name, length in lengths.items())
            raise TaskInputError(f"{self.label}: the mapped sequences differ in length ({detail})")
        count = next(iter(lengths.values()), 0)
        fixed = {name: inputs[name] for name in self.broadcast if name in inputs}
        pairs = [(self.mapping[name], values) for name, values in sequences.items()]
        items = []
        for index in range(count):
            item = dict(fixed)
            for target, values in pairs:
                item[target] = values[index]
            items.append(item)
        return items

    def map_items(self, items: list[dict[str, Any]]) -> list[Any]:
        """Per-item cache, then the backend's ``map`` for the rest; results in input order."""
        from outflow.library.progress import MapProgress

        total = len(items)
        results: list[Any] = [None] * total
        todo = list(range(total))
        cache = self._item_cache(items)
        path = current_item_path()
        if cache is not None:
            todo = cache.lookup(results)
            work: list[Item] = [CachedItem(items[i], i, path, cache.keys[i]) for i in todo]
        else:
            work = [Item(item, index, path) for index, item in enumerate(items)]
        progress = MapProgress(total, f"{self.kind} {self.name}")
        progress.skip(total - len(todo))
        state = _MapRun(progress)
        self._run_state = state
        keep_going = self.keep_going
        self.keep_going = keep_going or _run_keeps_going()  # shipped with the workflow
        backend = current_backend()
        resources = self.resources
        if self.timeout is not None:
            resources = {**resources, "timeout": self.timeout}
            if not backend.capabilities.item_timeout:
                logger.warning("%s: timeout=%gs is not enforced by the %s backend (it "
                               "cannot stop an item alone)", self.label, self.timeout,
                               backend.name)
        try:
            computed = backend.map(self, work, resources=resources)
        except BaseException as error:
            if not path:
                _count_items(progress.done, progress.failed or isinstance(error, ItemFailure))
            self._fail(error, state, results, todo)
            raise  # not an item failure (KeyboardInterrupt, a backend error...)
        finally:
            self.keep_going = keep_going
            self._run_state = None
            progress.close()
        if len(computed) != len(todo):
            raise EngineError(f"{self.label}: the backend returned {len(computed)} results "
                              f"for {len(todo)} items")
        failures = []
        for index, result in zip(todo, computed):
            if isinstance(result, FailedItem):
                failures.append(result.failure)
            else:
                results[index] = result
        if not path:
            _count_items(total - len(failures), len(failures))
        if failures:
            failed = {failure.index for failure in failures}
            raise MapItemsFailed(
                self.label, failures, total=total,
                completed={i: result for i, result in enumerate(results) if i not in failed}
            ) from failures[0]
        return results

    def _fail(self, error: BaseException, state: _MapRun, results: list[Any],
              todo: list[int]) -> None:
        """Raise a MapItemError naming the failed item, with what finished; for any
        other error, say what was kept and let it go on."""
        pending = set(todo)
        completed = {i: result for i, result in enumerate(results) if i not in pending}
        completed.update(state.results)
        if isinstance(error, ItemFailure):
            # The backend's own exception (WorkerDied...) stays in the chain, under ours.
            raise MapItemError(
                self.label, error.index, error.error, completed=completed,
                total=len(results), block_name=error.block_name,
                remote_traceback=error.remote_traceback, ran_on=error.ran_on,
                origin=error.origin,
            ) from error
        if state.results:  # a backend error says so; an interrupt is said once, later
            logger.log(logging.DEBUG if isinstance(error, KeyboardInterrupt) else logging.WARNING,
                       "%s: stopped; %d of %d items had finished%s", self.label,
                       len(completed), len(results),
                       " (kept in the workflow cache)" if self.cache else "")

    def _item_cache(self, items: list[dict[str, Any]]) -> _ItemCache | None:
        if not self.cache:
            return None
        from outflow.core.pipeline.context import active_context, has_active_context

        if not has_active_context():
            return None
        return _ItemCache.open(self, active_context(), items)

    def run_item(self, item: Mapping[str, Any]) -> Any:
        """One item: the list of the outputs dicts of the inner terminal blocks.

        Where it runs, a cached map's item stores its result in the workflow cache as
        soon as it finished; in the driver's process, it also feeds the progress
        display and keeps the result, so that a failure later in the map loses
        nothing.
        """
        attempt = 0
        while True:
            try:
                result = super().run_item(item)
                break
            except ItemFailure as failure:
                if attempt < self.item_retries and isinstance(failure.error, TaskError):
                    attempt += 1
                    self._before_retry(failure, attempt)
                    continue
                if not self.keep_going:
                    state = self._run_state
                    if state is not None and state.pid == os.getpid():
                        state.failed()
                    raise
                result = FailedItem(failure)
                break
        key = getattr(item, "cache_key", None)
        if key is not None and not isinstance(result, FailedItem):
            self._store(key, result)
        index = getattr(item, "index", None)
        state = self._run_state
        if index is not None and state is not None and state.pid == os.getpid():
            state.landed(index, result)
        return result

    def _before_retry(self, failure: ItemFailure, attempt: int) -> None:
        """Say that an item failed and runs again; wait ``retry_delay``."""
        import time

        delay = self.item_retry_delay
        logger.warning("%s (attempt %d of %d); trying again%s", failure.describe(), attempt,
                       self.item_retries + 1, f" in {delay:g} s" if delay else "")
        if delay:
            time.sleep(delay)

    def lost_item(self, item: Mapping[str, Any], failure: Any) -> Any:
        """A backend lost ``item`` (its process died, it timed out): a map that keeps
        going counts it failed and goes on; any other fails with it."""
        if not self.keep_going:
            return None
        result = FailedItem(failure)
        self.item_returned(item, result)
        return result

    def item_returned(self, item: Mapping[str, Any], result: Any) -> None:
        """A backend brought ``item``'s result back from another process."""
        state = self._run_state
        index = getattr(item, "index", None)
        if state is not None and index is not None:
            state.landed(index, result)

    def items_queued(self, running: int, pending: int) -> None:
        """A backend with a queue says how many items run and wait (progress display)."""
        state = self._run_state
        if state is not None:
            state.progress.queued(running, pending)

    def _store(self, key: str, result: Any) -> None:
        """Write one item's cache entry (in the process that computed it)."""
        store = self._stores.get(os.getpid())
        if store is None:
            from outflow.core.pipeline.context import active_context
            from outflow.core.workflow.cache import WorkflowCache, cache_directory

            store = self._stores[os.getpid()] = WorkflowCache(cache_directory(active_context()))
        store.store(key, {"result": result}, self.identity)

    def compute_item(self, item: Mapping[str, Any]) -> list[dict[str, Any]]:
        """``run_sinks(**item)``, with the lifecycle hooks looked up once per run.

        Looking the hooks up is a quarter of the engine's cost for a trivial item;
        they only change with the pipeline context or its run, so they are kept
        while both stay the same (in a worker, for its whole life).
        """
        plan = self.plan
        if plan is None or not plan.steps:
            return self.run_sinks(**item)
        from outflow.core.pipeline.context import active_context, has_active_context
        from outflow.core.workflow.engine import Hooks, execute

        context = active_context() if has_active_context() else None
        run = getattr(context, "run", None)
        cached = self._hooks
        if cached is None or cached[0] is not context or cached[1] is not run:
            cached = self._hooks = (context, run, Hooks())
        results = execute(plan, item, cached[2])
        return [results[position] for position in plan.sinks]

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_run_state"] = None  # progress and results stay with the driver
        state["_hooks"] = None  # hook callers of this process's plugin host
        state["_stores"] = {}  # cache stores: made again where the workflow runs
        return state


def _run_keeps_going() -> bool:
    """Whether the command was given ``--keep-going``."""
    from outflow.core.pipeline.context import active_context, has_active_context

    return has_active_context() and bool(getattr(active_context(), "keep_going", False))


def _count_items(done: int, failed: int) -> None:
    """Add a top-level map's items to its run's counts (the run's summary line)."""
    from outflow.core.pipeline.context import active_context, has_active_context

    run = getattr(active_context(), "run", None) if has_active_context() else None
    if run is not None and hasattr(run, "count_items"):
        run.count_items(done, int(failed))


class _ItemCache:
    """The workflow cache, one entry per item (see the module doc)."""

    def __init__(self, workflow: MapWorkflow, store: Any, keys: list[str],
                 overwrite: bool, context: Any) -> None:
        self.workflow = workflow
        self.store_ = store
        self.keys = keys
        self.overwrite = overwrite
        self.context = context

    @classmethod
    def open(cls, workflow: MapWorkflow, context: Any, items: list[dict[str, Any]]
             ) -> _ItemCache | None:
        from outflow.core.workflow.cache import (
            CacheKeyError,
            WorkflowCache,
            cache_directory,
            cache_key,
        )

        try:
            keys = [cache_key(workflow, {"outflow map item": item}) for item in items]
        except CacheKeyError as exc:
            logger.warning("%s: not cached: %s", workflow.label, exc)
            return None
        return cls(workflow, WorkflowCache(cache_directory(context)), keys,
                   bool(context.overwrite_cache), context)

    def lookup(self, results: list[Any]) -> list[int]:
        """Fill ``results`` with cached items; return the indexes still to compute."""
        if self.overwrite:
            return list(range(len(self.keys)))
        todo = []
        for index, key in enumerate(self.keys):
            entry = self.store_.load(key)
            if entry is None or "result" not in entry:
                todo.append(index)
            else:
                results[index] = entry["result"]
        hits = len(self.keys) - len(todo)
        if hits:
            from outflow.core.workflow.cache import count_cache_hits

            logger.info("%s: %d of %d items read from the workflow cache",
                        self.workflow.label, hits, len(self.keys))
            count_cache_hits(self.context, hits)
        return todo


#: sbatch directives (``partition``, ``mem``...) are resource requests like any
#: other: the Slurm backend turns them into ``sbatch`` options and the others ignore
#: them, so the spec's ``SlurmMapWorkflow`` code runs on every backend. An alias, not
#: a subclass, so that switching spelling keeps the workflow's cache entries.
SlurmMapWorkflow = MapWorkflow


__all__ = ["CachedItem", "FailedItem", "MapItemError", "MapItemsFailed", "MapWorkflow",
           "SlurmMapWorkflow"]

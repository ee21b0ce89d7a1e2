"""The item protocol: how one item of a map runs and fails, whichever backend runs it.

A MapWorkflow hands a backend a list of :class:`Item` objects: dicts of the inner
workflow's inputs that also carry their ``index`` (position in the map's input
sequence) and ``path`` (the indexes of the items of enclosing maps, for a map nested
in an item). The backend calls ``workflow.run_item(item)`` for each, anywhere: in
this thread, a thread pool, a process pool, an MPI rank, a Slurm job. Because the
item knows who it is, nothing depends on the order in which a backend runs items:

- while an item runs, :func:`current_item_index` (and :func:`current_item_path`)
  say which one, in that thread or process: a context variable set by ``run_item``
  itself, so it is right in threads and in processes alike. Run tracking numbers
  the blocks of mapped items with it;
- an item that raises comes out of ``run_item`` as an :class:`ItemFailure` naming
  its index, the task that failed and the error. It pickles (with the traceback as
  text, and a stand-in for an error that does not pickle), so a backend sends it
  back from a worker unchanged and re-raises it in the driver;
- a worker process that dies while it runs an item is reported by the backend as
  :class:`WorkerDied`, an ItemFailure naming the item and how the process ended.

When several items fail, the failure a backend raises is the one of the first item
in input order (:func:`earliest`); ``list(executor.map(workflow.run_item, items))``
already does so.
"""

from __future__ import annotations

import pickle
import traceback
from collections.abc import Iterable, Mapping
from contextvars import ContextVar, Token
from typing import Any

from outflow.core.backends.base import BackendError
from outflow.core.tasks.errors import EngineError, TaskError

#: The indexes of the items being run in this thread (enclosing maps first): ``()``
#: outside of any item. A context variable, not a global: every thread (and every
#: process) running items has its own.
_ITEM_PATH: ContextVar[tuple[int, ...]] = ContextVar("outflow_item_path", default=())


class Item(dict):  # type: ignore[type-arg]
    """One item of a map: the inner workflow's inputs, with its place in the map.

    ``index`` is the item's position in the map's input sequence; ``path`` the
    indexes of the items of the enclosing maps (``()`` for a top-level map). It
    pickles with both, so it may be sent anywhere.
    """

    __slots__ = ("index", "path")

    def __init__(self, inputs: Mapping[str, Any], index: int,
                 path: tuple[int, ...] = ()) -> None:
        super().__init__(inputs)
        self.index = index
        self.path = path

    def __repr__(self) -> str:
        return f"Item({self.index}, {dict.__repr__(self)})"


def current_item_index() -> int | None:
    """Index of the map item that the calling thread runs now; None outside an item.

    In a map nested in an item, the index of the inner item.
    """
    path = _ITEM_PATH.get()
    return path[-1] if path else None


def current_item_path() -> tuple[int, ...]:
    """Indexes of the items the calling thread runs now, outermost first (``()``
    outside any item)."""
    return _ITEM_PATH.get()


def enter_item(item: Mapping[str, Any]) -> Token[tuple[int, ...]] | None:
    """Mark ``item`` as the one this thread runs (``run_item`` does it); returns the
    token for :func:`leave_item`. A plain dict (no index) changes nothing."""
    index = getattr(item, "index", None)
    if index is None:
        return None
    return _ITEM_PATH.set((*item.path, index))  # type: ignore[attr-defined]


def leave_item(token: Token[tuple[int, ...]] | None) -> None:
    if token is not None:
        _ITEM_PATH.reset(token)


class ItemFailure(EngineError):
    """An item of a map raised: ``item 5 of map process failed in task compute: ValueError: ...``.

    Attributes: ``label`` (the map, e.g. ``map process``), ``index`` (the item's
    position in the map's input sequence; None for a plain dict item), ``error``
    (the item's own exception, also the ``__cause__`` of the exception raised in the
    item's process), ``block_name`` (the task that failed, when known) and
    ``remote_traceback`` (the traceback as text, filled in when the failure crossed
    a process boundary).
    """

    def __init__(self, label: str, index: int | None, error: BaseException, *,
                 block_name: str | None = None, remote_traceback: str | None = None,
                 ran_on: str | None = None, origin: str | None = None) -> None:
        self.label = label
        self.index = index
        self.error = error
        self.block_name = block_name if block_name is not None else failing_block(error)
        self.remote_traceback = remote_traceback
        #: where the item ran, when a backend says (``MPI rank 2 (pid 123, host node7)``)
        self.ran_on = ran_on
        #: the line of the user's code that raised (``tasks.py:12``; ``""`` if unknown)
        self.origin = origin if origin is not None else error_origin(error, remote_traceback)
        super().__init__(self.describe())

    def located(self, ran_on: str) -> ItemFailure:
        """This failure, saying where its item ran (a backend that runs items on
        several hosts or ranks calls it where the item ran, before sending it back)."""
        self.ran_on = ran_on
        self.args = (self.describe(),)
        return self

    @classmethod
    def of(cls, workflow: Any, item: Mapping[str, Any], error: BaseException) -> ItemFailure:
        """The failure of ``item`` of ``workflow`` raising ``error``."""
        label = getattr(workflow, "label", None) or repr(workflow)
        return cls(label, getattr(item, "index", None), error)

    def describe(self) -> str:
        """The one-line message (subclasses add to it)."""
        inner = self.error.error if isinstance(self.error, TaskError) else self.error
        where = f" in task {self.block_name}" if self.block_name else ""
        item = "an item" if self.index is None else f"item {self.index}"
        at = f" ({self.origin})" if self.origin else ""
        on = f"; it ran on {self.ran_on}" if self.ran_on else ""
        return (f"{item} of {self.label} failed{where}: {type(inner).__name__}: {inner}"
                f"{at}{on}")

    def traceback_text(self) -> str:
        """Where the item failed: the remote traceback, else this process's."""
        if self.remote_traceback:
            return self.remote_traceback
        cause = self.__cause__ or self.error
        return "".join(traceback.format_exception(type(cause), cause, cause.__traceback__))

    def __reduce__(self) -> Any:
        # Sent from the process that ran the item to the driver: the traceback goes
        # as text (traceback objects do not pickle), the error as itself if it can.
        return (_rebuild_failure, (type(self), self.state(), self.traceback_text()))

    def state(self) -> dict[str, Any]:
        """The constructor's arguments (subclasses add theirs), the error made picklable."""
        return {"label": self.label, "index": self.index, "error": picklable(self.error),
                "block_name": self.block_name, "ran_on": self.ran_on, "origin": self.origin}


class ProcessDied(RuntimeError):
    """Why a :class:`WorkerDied`: which process died, by which signal or exit code."""


class WorkerDied(ItemFailure, BackendError):
    """The process running an item died (killed by a signal, ``os._exit``, out of memory).

    ``WorkerDied(label, index, "worker process 1234 was killed by SIGKILL")``: the
    item is ``index``; ``error`` becomes a :class:`ProcessDied` (the class's
    :attr:`error_type`) with that description.
    """

    #: What a description given as text becomes.
    error_type: type[Exception] = ProcessDied

    def __init__(self, label: str, index: int | None, error: str | BaseException, *,
                 block_name: str | None = None, remote_traceback: str | None = None,
                 ran_on: str | None = None, origin: str | None = None) -> None:
        if not isinstance(error, BaseException):
            error = self.error_type(error)
        super().__init__(label, index, error, block_name=block_name,
                         remote_traceback=remote_traceback, ran_on=ran_on,
                         origin=origin if origin is not None else "")


class ItemTimedOut(WorkerDied):
    """An item ran longer than its map's ``timeout``, and the backend stopped it:
    ``item 5 of map m failed: TimeoutError: it ran longer than its timeout of 60 s
    (worker process 1234 was stopped)``."""

    error_type = TimeoutError

    @classmethod
    def after(cls, label: str, index: int | None, seconds: float, how: str) -> ItemTimedOut:
        """The item ``index`` ran ``seconds`` (its timeout); ``how`` it was stopped."""
        return cls(label, index, f"it ran longer than its timeout of {seconds:g} s ({how})")


def earliest(failures: Iterable[ItemFailure]) -> ItemFailure:
    """The failure of the first item in input order (items without index last)."""
    return min(failures, key=lambda failure: (failure.index is None, failure.index or 0))


def failing_block(error: BaseException) -> str | None:
    """The task an engine error names (``TaskError.block_name``, ``TaskTypeError.block``)."""
    name = getattr(error, "block_name", None)
    if isinstance(name, str):
        return name
    label = getattr(error, "block", None)  # a label: "task compute"
    return label.split(" ", 1)[-1] if isinstance(label, str) else None


def error_origin(error: BaseException, remote_traceback: str | None = None) -> str:
    """``tasks.py:12``: the user's line where an item's error was raised (see
    :mod:`outflow.core.tracebacks`), from its traceback or the text of one that came
    back from elsewhere; an inner map's failure keeps the line it found."""
    from outflow.core.tracebacks import short_location, user_frame, user_frame_in_text

    inner = getattr(error, "origin", None)
    if isinstance(error, ItemFailure) and isinstance(inner, str):
        return inner
    frame = user_frame(error)
    if frame is None and remote_traceback:
        frame = user_frame_in_text(remote_traceback)
    return short_location(frame)


def picklable(error: BaseException) -> BaseException:
    """``error`` if it survives pickling, else a RuntimeError with its type and message
    (inside a TaskError when it was one, so that the task stays named)."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - any failure to pickle or unpickle
        inner = error.error if isinstance(error, TaskError) else error
        replacement = RuntimeError(f"{type(inner).__name__}: {inner}")
        if isinstance(error, TaskError):
            return TaskError(error.block_name, replacement)
        return replacement
    return error


def _rebuild_failure(cls: type[ItemFailure], state: dict[str, Any],
                     remote_traceback: str) -> ItemFailure:
    failure = cls(**state, remote_traceback=remote_traceback)
    failure.__cause__ = failure.error
    return failure


__all__ = [
    "Item",
    "ItemFailure",
    "ItemTimedOut",
    "ProcessDied",
    "WorkerDied",
    "current_item_index",
    "current_item_path",
    "earliest",
    "error_origin",
    "enter_item",
    "failing_block",
    "leave_item",
    "picklable",
]

"""``Tracker``: buffers what happens to the blocks of one run and writes it in batches.

Why batches: the old implementation committed on every state change (about 23 ms per
task on SQLite). Here a block costs a few microseconds in the hooks; rows are written
with executemany-style core statements, in one transaction, when the run ends and
every :data:`FLUSH_EVERY` blocks or :data:`FLUSH_INTERVAL` seconds, so a long run is
visible while it progresses. Block ids come back from the database (``RETURNING``),
one statement per nesting depth, so parents are inserted before their children and
edges and exceptions can reference them.

A failure to write during the run is logged (secrets masked) and retried at the next
flush: tracking never makes a pipeline fail once it has started.

Worker processes (a backend running MapWorkflow items elsewhere, see
:mod:`outflow.core.backends`) record the blocks they run with a
:class:`WorkerTracker` of their own: a fresh engine in that process, the run's
database ids from ``run.extra`` (which the context snapshot carries), the same id
reservation, and its own batches. So that workers can attach their rows to the map
block, the driver writes that block as soon as it starts when the backend runs items
in other processes and sets its id on the workflow, which the backend then ships. The
worker hooks drive it: ``outflow_worker_started`` makes it, ``outflow_worker_finished``
writes what it still buffers. In between it writes every :data:`FLUSH_EVERY` blocks
or :data:`FLUSH_INTERVAL` seconds, and after an item when that takes little of its
time (:data:`WORKER_FLUSH_SHARE`). Backends stop their workers in ``close()``, which
the kernel calls before ``outflow_run_finished``: every worker row is written before
the run is finalised.

Every block row records the map item it ran for: ``current_item_index()``, which
``run_item`` sets in whatever thread or process runs the item. Open blocks are keyed
by the block and the item path, so a backend running items in threads of the
driver's process gets each item's rows right too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from itertools import groupby
from typing import Any

from sqlalchemy import bindparam, func, insert, inspect, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from outflow.core.backends import current_item_path
from outflow.core.configuration.secrets import mask_secrets, mask_text
from outflow.core.db import DatabaseError
from outflow.core.db.database import SQLITE_BEGIN_OPTION, SQLITE_BUSY_OPTION
from outflow.management.liveness import process_identity
from outflow.management.models import Block, Configuration, Edge, Run, RuntimeException

#: How long a write during the run waits for another writer's lock on SQLite (a task's
#: open transaction, another run), in milliseconds, before it gives up until the next
#: flush: tracking must not hold up the work. The last writes of a run wait the
#: database's full busy timeout.
RUN_TIME_BUSY_MS = 250
#: Flush once this many blocks changed since the last write...
FLUSH_EVERY = 500
#: ...or this many seconds passed.
FLUSH_INTERVAL = 2.0
#: Longest text kept for a parameter value that is not plain JSON.
MAX_REPR = 500
#: Longest text kept for each input value of a failed block, unless the setting
#: ``TRACKED_INPUT_LENGTH`` says otherwise (0: none kept).
TRACKED_INPUT_LENGTH = 200
#: A worker process writes its rows after an item once writing would take this share
#: of its time at most: after each item when items are long, every few tens of
#: milliseconds when they are trivial (and in any case when it exits).
WORKER_FLUSH_SHARE = 0.05
#: Attribute of a MapWorkflow whose items run in other processes: ``(run uuid, block
#: id)``, set by the driver when the map starts, read by the workers' trackers.
OUTER_ID_ATTRIBUTE = "_outflow_tracking_block"

log = logging.getLogger(__name__)

_BLOCK = Block.__table__
_RUN = Run.__table__


def _utc(timestamp: float | None) -> datetime | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).replace(tzinfo=None)


def _input_length() -> int:
    """The setting ``TRACKED_INPUT_LENGTH`` of the active pipeline, or its default."""
    from outflow.core.pipeline.context import active_context, has_active_context

    settings = active_context().settings if has_active_context() else None
    value = getattr(settings, "TRACKED_INPUT_LENGTH", TRACKED_INPUT_LENGTH)
    return value if isinstance(value, int) and value >= 0 else TRACKED_INPUT_LENGTH


def _type_name(hint: Any) -> str:
    if isinstance(hint, type):
        return hint.__qualname__ if hint.__module__ == "builtins" else (
            f"{hint.__module__}.{hint.__qualname__}")
    return str(hint).replace("typing.", "")


def _jsonable(value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if depth < 4 and isinstance(value, Mapping):
        return {str(key): _jsonable(item, depth + 1) for key, item in value.items()}
    if depth < 4 and isinstance(value, (list, tuple)):
        return [_jsonable(item, depth + 1) for item in value]
    return repr(value)[:MAX_REPR]


def input_previews(inputs: Mapping[str, Any], length: int,
                   config: Mapping[str, Any]) -> dict[str, str]:
    """``{name: text}``: each input as a short ``repr`` (at most ``length``
    characters, long containers abridged), with the secrets masked: the values under
    a secret-looking name, at any depth, and the configuration's secret values and URL
    passwords wherever they appear in the text."""
    import reprlib

    from outflow.core.configuration.secrets import text_masker

    shorten = reprlib.Repr()
    shorten.maxstring = shorten.maxother = max(length, 12)
    shorten.maxlevel = 3
    mask = text_masker(config)
    previews = {}
    for name, value in inputs.items():
        try:  # under a secret-looking name (at any depth): masked, whatever it is
            value = mask_secrets({name: value})[name]
        except Exception:  # noqa: BLE001 - a value that cannot be copied: as it is
            pass
        try:
            text = shorten.repr(value)
        except Exception as error:  # noqa: BLE001 - a broken __repr__ is not our failure
            text = f"<{type(value).__name__}: repr failed: {type(error).__name__}>"
        text = mask(text)
        previews[str(name)] = text if len(text) <= length else text[:length - 1] + "…"
    return previews


class BlockRecord:
    """One execution of a block, as it will be written to the ``block`` table."""

    __slots__ = ("id", "kind", "name", "plugin", "state", "start", "end", "parameters",
                 "inputs", "outputs", "parent", "map_index", "depth", "is_map", "given",
                 "input_values")

    def __init__(self, block: Any, state: str, start: float | None,
                 parent: BlockRecord | None, targets: tuple[Any, Any],
                 map_index: int | None = None) -> None:
        self.id: int | None = None
        cls = type(block)
        self.kind = str(getattr(block, "kind", None) or "block")
        self.name = str(getattr(block, "name", None) or cls.__name__)
        self.plugin = cls.__module__
        self.state = state
        self.start = start
        self.end: float | None = None
        self.parameters: Any = None
        self.inputs, self.outputs = targets
        self.parent = parent
        self.depth = parent.depth + 1 if parent is not None else 0
        #: A mapped workflow (it maps items): its inner blocks run once per item.
        self.is_map = bool(getattr(block, "maps_items", False))
        #: The map item the block ran for (``current_item_index()``), else None.
        self.map_index = map_index
        #: The inputs the block was given, while it runs (recorded if it fails).
        self.given: Mapping[str, Any] | None = None
        #: ``{name: text}`` of a failed block's inputs (see :func:`input_previews`).
        self.input_values: dict[str, str] | None = None

    def row(self, run_id: int) -> dict[str, Any]:
        return {
            "run_id": run_id, "kind": self.kind, "name": self.name, "plugin": self.plugin,
            "state": self.state, "start_time": _utc(self.start), "end_time": _utc(self.end),
            "parameters": self.parameters, "input_targets": self.inputs,
            "output_targets": self.outputs,
            "parent_id": self.parent.id if self.parent is not None else None,
            "map_index": self.map_index, "input_values": self.input_values,
        }


class Tracker:
    """Tracks one run into the main database; used only in the process that started it."""

    def __init__(self, databases: Any, run: Any, config: Mapping[str, Any]) -> None:
        self.databases = databases
        self.run = run
        self.config = config
        #: Longest text kept per input of a failed block (0: none).
        self.input_length = _input_length()
        #: The process whose connections the tracker uses: a forked copy (a child that
        #: got the driver's memory) must never write through them, so it ignores hooks.
        self.pid = os.getpid()
        self.run_id: int | None = None
        self.configuration_id: int | None = None
        self._lock = threading.RLock()
        #: (id(block), item path) -> records of that block open there (innermost last)
        self._open: dict[tuple[int, tuple[int, ...]], list[BlockRecord]] = {}
        #: (id(block), item path) -> (block, its last record there): edges start there
        self._last: dict[tuple[int, tuple[int, ...]], tuple[Any, BlockRecord]] = {}
        self._targets: dict[int, tuple[Any, tuple[Any, Any]]] = {}
        self._new: list[BlockRecord] = []
        self._changed: dict[int, BlockRecord] = {}
        self._edges: list[tuple[BlockRecord, BlockRecord]] = []
        self._exceptions: list[tuple[BlockRecord | None, BaseException]] = []
        self._errors_seen: set[int] = set()
        self._pending = 0
        self._last_flush = time.monotonic()
        self._waiting = False  # rows wait for a busy database (said once)

    def __reduce__(self) -> Any:
        from outflow.management.tracking import detached

        return detached, ()

    # -- run ----------------------------------------------------------------------
    def start(self) -> None:
        """Insert the configuration (once per distinct one) and the run row."""
        databases = self.databases
        sqlite_file = databases.sqlite_file()
        if sqlite_file is not None and not sqlite_file.exists():
            raise DatabaseError(self._missing_tables_message())
        masked = mask_secrets(self.config)
        text = json.dumps(masked, sort_keys=True, default=str)
        digest = hashlib.sha256(text.encode()).hexdigest()
        run = self.run
        from outflow.core.configuration.secrets import mask_argv

        argv = mask_argv(getattr(run, "argv", []), self.config)
        try:
            with self._transaction() as connection:
                self.configuration_id = self._configuration_id(connection, digest, text)
                result = connection.execute(insert(_RUN), {
                    "uuid": run.uuid, "command": run.command, "argv": argv,
                    "user": run.user, "hostname": run.hostname, "backend": run.backend,
                    "start_time": _utc(run.start_time), "end_time": None,
                    "state": "running", "configuration_id": self.configuration_id,
                    "pid": os.getpid(), "process": process_identity(),
                })
                self.run_id = int(result.inserted_primary_key[0])
        except SQLAlchemyError as error:
            raise DatabaseError(self._start_error(error)) from None

    def _configuration_id(self, connection: Any, digest: str, text: str) -> int:
        table = Configuration.__table__
        query = select(table.c.id).where(table.c.hash == digest)
        found = connection.execute(query).scalar()
        if found is not None:
            return int(found)
        dialect = connection.dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        statement = dialect_insert(table).values(
            hash=digest, config=json.loads(text), created=_utc(time.time())
        ).on_conflict_do_nothing(index_elements=["hash"])
        connection.execute(statement)  # a concurrent run may have inserted it: no error
        return int(connection.execute(query).scalar_one())

    def finish(self, state: str, error: BaseException | None) -> None:
        """Finalise open blocks and the run row, and write everything, in one transaction."""
        if os.getpid() != self.pid:
            return
        now = time.time()
        with self._lock:
            self._close_open(state if state in ("success", "interrupted") else "failed", now)
            if error is not None and id(error) not in self._errors_seen:
                self._errors_seen.add(id(error))
                self._exceptions.append((None, error))
            end = {"end_time": _utc(getattr(self.run, "end_time", None) or now),
                   "state": state, "cache_hits": getattr(self.run, "cache_hits", 0)}
            if not self._flush(run_values=end):
                log.error("outflow: run %s could not be recorded completely "
                          "(see the previous warning)", self.run_id)

    # -- blocks (hot path) --------------------------------------------------------
    # Blocks are told apart by the block and the map items being run (the item path):
    # a backend may run the items of a map in several threads of this process, each
    # opening the same inner blocks at the same time.
    def block_started(self, block: Any, inputs: Mapping[str, Any]) -> None:
        if os.getpid() != self.pid:
            return
        now = time.time()
        path = current_item_path()
        key = (id(block), path)
        with self._lock:
            parent = self._parent_of(block, path)
            record = BlockRecord(block, "running", now, parent, self._describe(block),
                                 path[-1] if path else None)
            record.given = inputs
            parameters = getattr(block, "parameters", None)
            if parameters and inputs:
                values = {name: inputs[name] for name in parameters if name in inputs}
                if values:
                    record.parameters = _jsonable(mask_secrets(values))
            for upstream in getattr(block, "upstream", ()) or ():
                last = self._last.get((id(upstream), path))
                if last is not None and last[0] is upstream:
                    self._edges.append((last[1], record))
            self._open.setdefault(key, []).append(record)
            self._last[key] = (block, record)
            self._new.append(record)
            self._pending += 1
            if record.is_map and self._items_elsewhere():
                # Write the row now, and tell the workers its id: the backend ships the
                # workflow (its attributes included) once the map has started.
                self._flush()
                try:
                    setattr(block, OUTER_ID_ATTRIBUTE, (self.run.uuid, record.id))
                except AttributeError:  # a block without __dict__: workers look it up
                    pass
            else:
                self._maybe_flush()

    def block_succeeded(self, block: Any, outputs: Mapping[str, Any]) -> None:
        self._end(block, "success")

    def block_failed(self, block: Any, error: BaseException) -> None:
        # A signal (Ctrl-C, scancel, a time limit) stopping a block is not its failure.
        state = "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
        record = self._end(block, state)
        if record is not None and id(error) not in self._errors_seen:
            with self._lock:
                self._errors_seen.add(id(error))
                self._exceptions.append((record, error))

    def block_skipped(self, block: Any) -> None:
        if os.getpid() != self.pid:
            return
        if self._end(block, "skipped") is not None:
            return
        now = time.time()
        path = current_item_path()
        with self._lock:
            parent = self._parent_of(block, path)
            record = BlockRecord(block, "skipped", now, parent, self._describe(block),
                                 path[-1] if path else None)
            record.end = now
            self._last[(id(block), path)] = (block, record)
            self._new.append(record)
            self._pending += 1
            self._maybe_flush()

    def _end(self, block: Any, state: str) -> BlockRecord | None:
        if os.getpid() != self.pid:
            return None
        now = time.time()
        key = (id(block), current_item_path())
        with self._lock:
            opened = self._open.get(key)
            if not opened:
                return None
            record = opened.pop()
            if not opened:
                del self._open[key]
            record.state = state
            record.end = now
            if state == "failed" and record.given and self.input_length:
                record.input_values = input_previews(record.given, self.input_length,
                                                     self.config)
            record.given = None
            self._changed_record(record)
            self._pending += 1
            if record.parent is None and getattr(block, "parent", None) is None:
                # The command's workflow ended: write everything now, waiting for the
                # database if need be, before the backend stops its workers (their last
                # rows hang under rows of ours, such as a map's).
                self._flush(final=True)
            else:
                self._maybe_flush()
            return record

    def _close_open(self, state: str, now: float) -> None:
        """End every block still open with ``state`` (the run or the process ends)."""
        for records in self._open.values():
            for record in records:
                record.state, record.end, record.given = state, now, None
                self._changed_record(record)
        self._open.clear()

    def _parent_of(self, block: Any, path: tuple[int, ...]) -> BlockRecord | None:
        """The record of the workflow running ``block`` (None at the top, or when that
        workflow runs in another process)."""
        parent_block = getattr(block, "parent", None)
        if parent_block is None:
            return None
        if path and getattr(parent_block, "maps_items", False):
            path = path[:-1]  # the map runs outside the items it maps
        opened = self._open.get((id(parent_block), path))
        return opened[-1] if opened else None

    def _items_elsewhere(self) -> bool:
        """Whether the backend of the active pipeline runs map items in other processes."""
        from outflow.core.pipeline.context import active_context, has_active_context

        if not has_active_context():
            return False
        backend = getattr(active_context(), "backend", None)
        return bool(getattr(getattr(backend, "capabilities", None), "other_processes", False))

    def _changed_record(self, record: BlockRecord) -> None:
        if record.id is not None:  # already written: update it at the next flush
            self._changed[id(record)] = record

    def _describe(self, block: Any) -> tuple[Any, Any]:
        """Names and types of the block's inputs and outputs (computed once per block)."""
        cached = self._targets.get(id(block))
        if cached is not None and cached[0] is block:
            return cached[1]
        described = tuple(
            {name: _type_name(getattr(target, "type", Any))
             for name, target in (getattr(block, attribute, None) or {}).items()}
            for attribute in ("inputs", "outputs")
        )
        self._targets[id(block)] = (block, described)  # type: ignore[assignment]
        return described  # type: ignore[return-value]

    def _maybe_flush(self) -> None:
        if self._pending >= FLUSH_EVERY or (
            time.monotonic() - self._last_flush >= FLUSH_INTERVAL
        ):
            self._flush()

    # -- writing ------------------------------------------------------------------
    @contextmanager
    def _transaction(self, busy_ms: int | None = None) -> Iterator[Any]:
        """A connection in a transaction (``BEGIN IMMEDIATE`` on SQLite), then closed;
        ``busy_ms``: how long to wait for another writer (default: the database's)."""
        with self.databases.engine().connect() as connection:
            connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE",
                                            SQLITE_BUSY_OPTION: busy_ms})
            with connection.begin():
                yield connection

    def _flush(self, run_values: dict[str, Any] | None = None, final: bool = False) -> bool:
        """Write buffered rows in one transaction; on failure keep them for the next try.

        During the run a locked database is waited for :data:`RUN_TIME_BUSY_MS` only
        (and said once); ``final`` writes (the run or the worker ends) wait longer.
        """
        final = final or run_values is not None
        self._pending = 0
        self._last_flush = time.monotonic()
        if self.run_id is None:
            return False
        new, changed = self._new, list(self._changed.values())
        edges, exceptions = self._edges, self._exceptions
        assigned: list[BlockRecord] = []
        try:
            with self._transaction(None if final else RUN_TIME_BUSY_MS) as connection:
                self._before_write(connection, final)
                self._insert_blocks(connection, new, assigned)
                if changed:
                    connection.execute(_UPDATE_BLOCK, [
                        {"b_id": r.id, "b_state": r.state, "b_end": _utc(r.end),
                         "b_inputs": r.input_values}
                        for r in changed
                    ])
                if edges:
                    connection.execute(insert(Edge.__table__), [
                        {"run_id": self.run_id, "upstream_id": up.id, "downstream_id": down.id}
                        for up, down in edges
                    ])
                if exceptions:
                    connection.execute(insert(RuntimeException.__table__), [
                        self._exception_row(record, error) for record, error in exceptions
                    ])
                if run_values is not None:
                    connection.execute(
                        update(_RUN).where(_RUN.c.id == self.run_id).values(**run_values)
                    )
        except Exception as error:  # noqa: BLE001 - tracking must not break the run
            for record in assigned:
                record.id = None
            self._write_failed(error, final)
            return False
        self._new, self._edges, self._exceptions = [], [], []
        self._changed = {}
        self._waiting = False
        return True

    def _write_failed(self, error: Exception, final: bool) -> None:
        """Say why rows wait: at DEBUG level, once per streak, when the database is only
        busy during the run (another writer: they are written later, and a last write
        that fails is an error); as a warning otherwise."""
        busy = isinstance(error, _NotYet) or "locked" in str(error)
        if busy and not final:
            if not self._waiting:
                self._waiting = True
                log.debug("outflow: the tracking rows of run %s wait: %s; they are written "
                          "later", self.run_id, error if isinstance(error, _NotYet) else
                          "the database is locked by another writer")
            return
        log.warning("outflow: could not write the tracking of run %s: %s", self.run_id,
                    mask_text(f"{type(error).__name__}: {error}", self.config))

    def _before_write(self, connection: Any, final: bool) -> None:
        """Called in each flush's transaction before anything is written."""

    def _insert_blocks(self, connection: Any, new: list[BlockRecord],
                       assigned: list[BlockRecord]) -> None:
        """Insert new blocks, parents first; ids are reserved first, so one executemany."""
        if not new:
            return
        ordered = sorted(new, key=lambda record: record.depth)
        ids = _reserve_ids(connection, len(ordered))
        if ids is None:  # no way to reserve: let the database number rows, depth by depth
            self._insert_blocks_returning(connection, ordered, assigned)
            return
        for record, block_id in zip(ordered, ids):
            record.id = block_id
            assigned.append(record)
        run_id = self.run_id
        rows = []
        for record in ordered:
            row = record.row(run_id)  # type: ignore[arg-type]
            row["id"] = record.id
            rows.append(row)
        connection.execute(insert(_BLOCK), rows)

    def _insert_blocks_returning(self, connection: Any, ordered: list[BlockRecord],
                                 assigned: list[BlockRecord]) -> None:
        bulk = connection.dialect.insert_executemany_returning_sort_by_parameter_order
        statement = insert(_BLOCK).returning(_BLOCK.c.id, sort_by_parameter_order=True)
        for _depth, group in groupby(ordered, key=lambda record: record.depth):
            records = list(group)
            rows = [record.row(self.run_id) for record in records]  # type: ignore[arg-type]
            if bulk and len(rows) > 1:
                ids = connection.execute(statement, rows).scalars().all()
            else:
                ids = [connection.execute(insert(_BLOCK), row).inserted_primary_key[0]
                       for row in rows]
            for record, block_id in zip(records, ids):
                record.id = int(block_id)
                assigned.append(record)

    def _exception_row(self, record: BlockRecord | None, error: BaseException) -> dict[str, Any]:
        from outflow.core.configuration.secrets import text_masker
        from outflow.core.tracebacks import traceback_text

        cls = type(error)
        text = traceback_text(error)

        # One masker for both texts: the configuration is walked once. It masks the
        # configuration's and the registered secrets and any URL's password.
        mask = text_masker(self.config)
        return {
            "run_id": self.run_id,
            "block_id": record.id if record is not None else None,
            "type": _type_name(cls),
            "message": mask(str(error)),
            "traceback": mask(text),
        }

    # -- messages -----------------------------------------------------------------
    def _missing_tables_message(self) -> str:
        where = self.databases.describe()
        return (f"outflow's tables are missing from database {where}: run "
                "`management db upgrade heads` first, or run the command with --db-untracked")

    def _start_error(self, error: SQLAlchemyError) -> str:
        try:
            with self.databases.engine().connect() as connection:
                inspector = inspect(connection)
                missing = not inspector.has_table(_RUN.name)
                columns = set() if missing else {
                    column["name"] for column in inspector.get_columns(_RUN.name)}
        except SQLAlchemyError:
            missing, columns = False, set(_RUN.columns.keys())
        if missing:
            return self._missing_tables_message()
        if not set(_RUN.columns.keys()) <= columns:
            return (f"outflow's tables in database {self.databases.describe()} are older "
                    "than this version of outflow: run `management db upgrade heads`")
        where = self.databases.describe()
        return mask_text(f"cannot record the run in database {where}: "
                         f"{type(error).__name__}: {error}", self.config)


class WorkerTracker(Tracker):
    """Tracks the blocks that a worker process runs for a run started in another one.

    Created when the worker starts (the hook ``outflow_worker_started``, see
    :func:`outflow.management.tracking.worker_started`), with the worker's own
    databases (never a connection of the driver) and the run's ids. Blocks whose
    workflow runs in the driver (the inner blocks of a shipped MapWorkflow) are
    attached to that workflow's row, which the driver wrote when the workflow started
    and whose id it set on the workflow before the backend shipped it
    (:data:`OUTER_ID_ATTRIBUTE`; without it, the id is looked up when writing: the
    run's latest running block with that name, kind and plugin). Their map index
    is the index of the item being run (``current_item_index()``). Buffered rows are
    written like the driver's, after an item when that costs little
    (:data:`WORKER_FLUSH_SHARE`), and at the latest when the worker ends (the hook
    ``outflow_worker_finished``).
    """

    def __init__(self, databases: Any, run: Any, config: Mapping[str, Any],
                 ids: Mapping[str, Any]) -> None:
        super().__init__(databases, run, config)
        self.run_id = int(ids["run_id"])
        self.configuration_id = ids.get("configuration_id")
        #: id(workflow) -> (workflow, record standing for its row written by the driver)
        self._outer: dict[int, tuple[Any, BlockRecord]] = {}
        self._outer_records: set[int] = set()  # ids of those records
        self._item_done = False  # a block directly under an outer workflow ended
        #: Seconds between writes after items (see WORKER_FLUSH_SHARE), from the last one.
        self._item_interval = 0.1
        self._flushes = 0

    def _parent_of(self, block: Any, path: tuple[int, ...]) -> BlockRecord | None:
        parent = super()._parent_of(block, path)
        parent_block = getattr(block, "parent", None)
        if parent is None and parent_block is not None:
            return self._outer_record(parent_block)  # the map, run by the driver
        return parent

    def _outer_record(self, workflow: Any) -> BlockRecord:
        """The record standing for ``workflow``'s row, written by the driver."""
        known = self._outer.get(id(workflow))
        if known is not None and known[0] is workflow:
            return known[1]
        record = BlockRecord(workflow, "running", None, None, ({}, {}))
        mark = getattr(workflow, OUTER_ID_ATTRIBUTE, None)
        if isinstance(mark, tuple) and len(mark) == 2 and mark[0] == self.run.uuid:
            record.id = mark[1]  # else looked up when writing (see _before_write)
        self._outer[id(workflow)] = (workflow, record)
        self._outer_records.add(id(record))
        return record

    # -- writing after items ------------------------------------------------------
    def block_succeeded(self, block: Any, outputs: Mapping[str, Any]) -> None:
        super().block_succeeded(block, outputs)
        if self._item_done:
            self._after_item()

    def block_failed(self, block: Any, error: BaseException) -> None:
        super().block_failed(block, error)
        if self._item_done:
            self._after_item()

    def _end(self, block: Any, state: str) -> BlockRecord | None:
        record = super()._end(block, state)
        if record is not None and id(record.parent) in self._outer_records:
            self._item_done = True
        return record

    def _after_item(self) -> None:
        """An item (or a block of it run directly under the map) ended: maybe write."""
        self._item_done = False
        if time.monotonic() - self._last_flush >= self._item_interval:
            with self._lock:
                self._flush()

    def _flush(self, run_values: dict[str, Any] | None = None, final: bool = False) -> bool:
        started = time.monotonic()
        first = self._flushes == 0
        written = super()._flush(run_values, final)
        self._flushes += 1
        if not written:
            self._item_interval = FLUSH_INTERVAL  # do not retry (and warn) after every item
        elif not first:  # the first one also opened the process's first connection
            self._item_interval = min(FLUSH_INTERVAL,
                                      (time.monotonic() - started) / WORKER_FLUSH_SHARE)
        return written

    def _before_write(self, connection: Any, final: bool) -> None:
        for _workflow, record in self._outer.values():
            if record.id is None:  # not shipped with its id: the run's latest such block
                record.id = (self._outer_id(connection, record, running=True)
                             or self._outer_id(connection, record, running=False))
            if record.id is None and not final:
                # The driver has not written it yet (its database was busy): the rows
                # that hang under it wait; at the worker's end they go without a parent.
                raise _NotYet(f"the row of {record.kind} {record.name} is not written yet")

    def _outer_id(self, connection: Any, record: BlockRecord, running: bool) -> int | None:
        query = (select(_BLOCK.c.id)
                 .where(_BLOCK.c.run_id == self.run_id, _BLOCK.c.name == record.name,
                        _BLOCK.c.kind == record.kind, _BLOCK.c.plugin == record.plugin)
                 .order_by(_BLOCK.c.id.desc()).limit(1))
        if running:
            query = query.where(_BLOCK.c.state == "running")
        found = connection.execute(query).scalar()
        return None if found is None else int(found)

    def finish(self, state: str, error: BaseException | None) -> None:
        """Workers never finalise the run: write what is buffered."""
        del state, error
        self.close()

    def close(self) -> None:
        """Write what is buffered (blocks still open are recorded as failed): the worker
        ends (the hook ``outflow_worker_finished``)."""
        if os.getpid() != self.pid:
            return
        with self._lock:
            self._close_open("failed", time.time())
            if self._new or self._changed or self._edges or self._exceptions:
                self._flush(final=True)


class _NotYet(Exception):
    """A worker's rows wait for a row the driver has not written yet."""


def _reserve_ids(connection: Any, count: int) -> list[int] | None:
    """``count`` new ids of the ``block`` table, or None when the dialect has no way.

    PostgreSQL: from the table's sequence (concurrent runs get distinct ids). SQLite:
    after the largest id, which is safe because tracking transactions begin with
    ``BEGIN IMMEDIATE`` and so hold the write lock. Knowing the ids before inserting
    lets one executemany write every block (children reference their parents), where
    ``INSERT ... RETURNING`` would need a statement per nesting depth and, with
    psycopg, a costly parse of a statement holding thousands of parameters.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        query = text("SELECT nextval(pg_get_serial_sequence('block', 'id')) "
                     "FROM generate_series(1, :count)")
        return sorted(int(value) for value in connection.execute(query, {"count": count})
                      .scalars())
    if dialect == "sqlite":
        last = connection.execute(select(func.max(_BLOCK.c.id))).scalar() or 0
        return list(range(last + 1, last + 1 + count))
    return None


_UPDATE_BLOCK = (
    update(_BLOCK)
    .where(_BLOCK.c.id == bindparam("b_id"))
    .values(state=bindparam("b_state"), end_time=bindparam("b_end"),
            input_values=bindparam("b_inputs"))
)


__all__ = ["FLUSH_EVERY", "FLUSH_INTERVAL", "OUTER_ID_ATTRIBUTE", "RUN_TIME_BUSY_MS",
           "TRACKED_INPUT_LENGTH", "WORKER_FLUSH_SHARE",
           "BlockRecord", "Tracker", "WorkerTracker", "input_previews"]

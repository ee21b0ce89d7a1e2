"""Workflow cache: outputs stored on disk, keyed by everything that determines them.

The key is a SHA-256 over a canonical encoding (never Python's ``hash()``, which
changes from one process to the next) of:

- the workflow's identity (module and qualified name of its definition);
- its input values;
- its ``cache_version`` (``@as_workflow(cache=True, cache_version=2)``): bump it to
  force new entries when something the key cannot see changed (a library, data
  files read by path);
- its input values;
- for every task inside it, at any depth, namespaced by its position: the task's
  class, its constant inputs (bound values, defaults) and parameter values, the
  source code of its ``run`` function and of every module of the pipeline plugin
  that defines it (:func:`package_sources`), so that editing a task or a helper it
  calls invalidates the entries computed with the old code (the previous
  implementation merged parameters by name and ignored code);
- the wiring of the inner graph.

Entries are files ``<key>.pkl`` (cloudpickle) in ``config["workflow_cache_dir"]``
or ``settings.TEMP_DIR / "workflow_cache"``, written atomically (temporary file,
then ``os.replace``). The directory and each entry must belong to the user and be
writable by nobody else, or nothing is read from it (unpickling runs code: see
:mod:`outflow.core.private_directory`). An unreadable entry is logged and recomputed.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import fractions
import hashlib
import inspect
import logging
import pathlib
import pickle
import struct
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outflow.core.atomic_write import write_atomically
from outflow.core.errors import OutflowError
from outflow.core.private_directory import (
    UnsafeDirectoryError,
    check_private_file,
    private_directory,
)

if TYPE_CHECKING:
    from outflow.core.workflow.plan import Plan
    from outflow.core.workflow.workflow import Workflow

logger = logging.getLogger(__name__)

_FORMAT = b"outflow-workflow-cache-1"


class CacheKeyError(OutflowError, ValueError):
    """A value cannot be encoded canonically (and cannot be pickled either)."""


# ------------------------------------------------------------ canonical encoding


def _encode(value: Any, out: Callable[[bytes], Any], depth: int = 0) -> None:
    """Feed a canonical, type-tagged encoding of ``value`` to ``out``.

    Equal values of the same types always give the same bytes, in any process:
    dicts are encoded sorted by the encoding of their keys, sets sorted likewise.
    Other objects fall back on their pickle, which is deterministic for the usual
    data containers (numpy arrays, dataclasses of plain values...).
    """
    if depth > 200:
        raise CacheKeyError("value nested too deeply to hash")
    kind = type(value)
    if value is None or value is True or value is False:
        out(b"c" + repr(value).encode())
    elif kind is int:
        text = str(value).encode()
        out(b"i" + struct.pack(">I", len(text)) + text)
    elif kind is float:
        out(b"f" + struct.pack(">d", value))
    elif kind is str:
        data = value.encode("utf-8", "surrogatepass")
        out(b"s" + struct.pack(">Q", len(data)) + data)
    elif kind in (bytes, bytearray):
        out(b"b" + struct.pack(">Q", len(value)) + bytes(value))
    elif kind in (list, tuple):
        out((b"l" if kind is list else b"t") + struct.pack(">Q", len(value)))
        for item in value:
            _encode(item, out, depth + 1)
    elif kind is dict or isinstance(value, Mapping):
        items = sorted(((_digest(k, depth), k, v) for k, v in value.items()),
                       key=lambda item: item[0])
        out(b"d" + _type_name(kind) + struct.pack(">Q", len(items)))
        for key_digest, _, item in items:
            out(key_digest)
            _encode(item, out, depth + 1)
    elif kind in (set, frozenset):
        digests = sorted(_digest(item, depth) for item in value)
        out((b"S" if kind is set else b"F") + struct.pack(">Q", len(digests)))
        for item_digest in digests:
            out(item_digest)
    elif isinstance(value, enum.Enum):
        out(b"e" + _type_name(kind))
        _encode(value.value, out, depth + 1)
    elif isinstance(value, (pathlib.PurePath, datetime.date, datetime.time,
                            datetime.timedelta, decimal.Decimal, fractions.Fraction,
                            uuid.UUID, complex)):
        out(b"r" + _type_name(kind))
        _encode(repr(value), out, depth + 1)
    elif isinstance(value, type):
        out(b"T" + _type_name(value))
    else:
        try:
            data = pickle.dumps(value, protocol=4)
        except Exception as exc:  # noqa: BLE001
            raise CacheKeyError(
                f"cannot hash a value of type {kind.__name__} for the workflow cache: {exc}"
            ) from None
        out(b"p" + _type_name(kind) + struct.pack(">Q", len(data)) + data)


def _type_name(kind: type) -> bytes:
    name = f"{kind.__module__}.{kind.__qualname__}".encode()
    return struct.pack(">H", len(name)) + name


def _digest(value: Any, depth: int = 0) -> bytes:
    hasher = hashlib.sha256()
    _encode(value, hasher.update, depth + 1)
    return hasher.digest()


def stable_hash(value: Any) -> str:
    """Hex SHA-256 of the canonical encoding of ``value``; equal in every process."""
    hasher = hashlib.sha256()
    _encode(value, hasher.update)
    return hasher.hexdigest()


# ------------------------------------------------------------------ the key


def source_of(func: Callable[..., Any]) -> str:
    """The source code of ``func``; its bytecode and constants when there is no source."""
    try:
        return inspect.getsource(func)
    except (OSError, TypeError):
        code = getattr(func, "__code__", None)
        if code is None:
            return f"<no source: {getattr(func, '__qualname__', repr(func))}>"
        return repr((code.co_code, code.co_consts, code.co_names))


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def plan_fingerprint(plan: Plan) -> bytes:
    """The static part of the cache key of a workflow: inner tasks, parameters, code.

    Memoised on the plan (rebuilt whenever the workflow is validated again).
    """
    if plan.fingerprint is None:
        hasher = hashlib.sha256()
        _describe(plan, (), hasher.update)
        plan.fingerprint = hasher.digest()
    return plan.fingerprint


def _describe(plan: Plan, path: tuple[int, ...], out: Callable[[bytes], Any]) -> None:
    from outflow.core.tasks.task import Task
    from outflow.core.workflow.workflow import Workflow

    for position, step in enumerate(plan.steps):
        block = step.block
        where = (*path, position)
        entry: dict[str, Any] = {
            "at": where,
            "kind": block.kind,
            "name": block.name,
            "class": _qualified(type(block)),
            "constants": {k: v for k, v in step.static.items() if k not in step.parameters},
            "parameters": step.parameters,
            "wired": step.wired,
            "external": step.external,
            "multi": step.multi,
        }
        if isinstance(block, Task):
            entry["code"] = source_of(type(block).run_function())
            entry["package"] = package_sources(type(block).__module__)
        _encode(entry, out)
        if isinstance(block, Workflow):
            if type(block)._run is not Workflow._run:
                _encode(source_of(type(block)._run), out)
            if block._plan is not None:
                _describe(block._plan, where, out)


def cache_key(workflow: Workflow, inputs: Mapping[str, Any]) -> str:
    """The cache key of running ``workflow`` (validated) with ``inputs``."""
    assert workflow._plan is not None, "validate the workflow before computing its cache key"
    hasher = hashlib.sha256(_FORMAT)
    _encode(workflow.identity, hasher.update)
    _encode(workflow.cache_version, hasher.update)
    hasher.update(plan_fingerprint(workflow._plan))
    _encode(dict(inputs), hasher.update)
    return hasher.hexdigest()


#: package -> ((path, mtime, size) of each source file, digest of their contents)
_PACKAGE_DIGESTS: dict[str, tuple[tuple[tuple[str, int, int], ...], str]] = {}


def package_sources(module_name: str) -> str:
    """A digest of the source code a task of module ``module_name`` may call.

    The module's pipeline plugin (the longest entry of ``settings.PLUGINS`` it lives
    in) is read whole: every ``.py`` file of that package, so that editing a helper
    function in another module of the plugin invalidates the entries of its tasks.
    A module of no pipeline plugin (an installed library, a script) counts alone.
    Code outside the plugin (other packages it imports) is not covered: bump the
    workflow's ``cache_version`` when it changes. Digests are kept per process and
    read again when a file's modification time or size changed.
    """
    package = _owning_plugin(module_name)
    files = _source_files(package)
    signature = tuple(_file_signature(path) for path in files)
    known = _PACKAGE_DIGESTS.get(package)
    if known is not None and known[0] == signature:
        return known[1]
    hasher = hashlib.sha256(package.encode())
    for path in files:
        hasher.update(path.name.encode() + b"\0")
        try:
            hasher.update(path.read_bytes())
        except OSError:
            hasher.update(b"<unreadable>")
    digest = hasher.hexdigest()
    _PACKAGE_DIGESTS[package] = (signature, digest)
    return digest


def _owning_plugin(module_name: str) -> str:
    from outflow.core.pipeline.context import active_context, has_active_context

    plugins: list[str] = []
    if has_active_context():
        plugins = [name for name in getattr(active_context().settings, "PLUGINS", ())
                   if isinstance(name, str)]
    owners = [name for name in plugins
              if module_name == name or module_name.startswith(name + ".")]
    return max(owners, key=len) if owners else module_name


def _source_files(name: str) -> list[Path]:
    """The ``.py`` files of package ``name`` (recursively), or the file of module ``name``."""
    import sys
    from importlib.util import find_spec

    try:
        spec = find_spec(name)
    except (ImportError, ValueError):  # __main__, or a module that cannot be found
        spec = None
    if spec is None:
        module_file = getattr(sys.modules.get(name), "__file__", None)
        return [Path(module_file)] if module_file else []
    if spec.submodule_search_locations:
        found = set()
        for location in spec.submodule_search_locations:
            found.update(path for path in Path(location).rglob("*.py")
                         if "__pycache__" not in path.parts)
        return sorted(found)
    return [Path(spec.origin)] if spec.origin and spec.origin.endswith(".py") else []


def _file_signature(path: Path) -> tuple[str, int, int]:
    try:
        info = path.stat()
    except OSError:
        return (str(path), 0, -1)
    return (str(path), info.st_mtime_ns, info.st_size)


# ------------------------------------------------------------------ the store


def cache_directory(pipeline_context: Any) -> Path:
    """``config["workflow_cache_dir"]``, else ``settings.TEMP_DIR / "workflow_cache"``."""
    configured = pipeline_context.config.get("workflow_cache_dir")
    if configured:
        return Path(configured).expanduser()
    return Path(pipeline_context.settings.TEMP_DIR) / "workflow_cache"


def count_cache_hits(pipeline_context: Any, hits: int) -> None:
    """Add ``hits`` outputs read from the cache to the context's run (its summary line
    and its database row say how many)."""
    run = getattr(pipeline_context, "run", None)
    if hits and run is not None and hasattr(run, "count_cache_hits"):
        run.count_cache_hits(hits)


class WorkflowCache:
    """A directory of cached workflow outputs, private to the user (checked before any
    entry is read or written: see :mod:`outflow.core.private_directory`)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._checked = False

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.pkl"

    def check(self) -> None:
        """Create the directory (0700) or make sure it is private; once per instance.

        Raises :class:`~outflow.core.private_directory.UnsafeDirectoryError`.
        """
        if not self._checked:
            private_directory(self.directory, "workflow cache directory")
            self._checked = True

    def entries(self) -> list[Path]:
        """The entry files, oldest first (none when the directory does not exist)."""
        if not self.directory.exists():
            return []
        self.check()
        return sorted(self.directory.glob("*.pkl"), key=lambda path: path.stat().st_mtime)

    def clear(self) -> int:
        """Delete every entry (and leftover temporary files); return how many entries."""
        entries = self.entries()
        for path in [*entries, *self.directory.glob(".tmp-*")]:
            path.unlink(missing_ok=True)
        return len(entries)

    def load(self, key: str) -> dict[str, Any] | None:
        """The outputs stored under ``key``, or None (missing or unreadable entry)."""
        self.check()
        path = self.path(key)
        try:
            with open(path, "rb") as handle:
                check_private_file(handle.fileno(), path, "workflow cache")
                entry = pickle.load(handle)
            if not isinstance(entry, dict) or entry.get("format") != _FORMAT:
                raise ValueError("not a workflow cache entry")
            outputs = entry["outputs"]
            if not isinstance(outputs, dict):
                raise ValueError("outputs are not a dict")
            return outputs
        except FileNotFoundError:
            return None
        except UnsafeDirectoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - any damage: recompute
            logger.warning("workflow cache entry %s is unreadable (%s: %s); recomputing",
                           path, type(exc).__name__, exc)
            return None

    def store(self, key: str, outputs: Mapping[str, Any], identity: str) -> None:
        """Write the entry atomically; a failure is logged, never raised."""
        import cloudpickle

        self.check()
        try:
            data = cloudpickle.dumps(
                {"format": _FORMAT, "workflow": identity, "outputs": dict(outputs)}
            )
            write_atomically(self.path(key), data)
        except Exception as exc:  # noqa: BLE001 - caching is an optimisation
            logger.warning("cannot store workflow cache entry in %s (%s: %s)",
                           self.directory, type(exc).__name__, exc)


__all__ = [
    "CacheKeyError",
    "WorkflowCache",
    "cache_directory",
    "cache_key",
    "count_cache_hits",
    "package_sources",
    "plan_fingerprint",
    "source_of",
    "stable_hash",
]

"""What each plugin provides: commands, backends, models, migrations, blocks, config defaults.

The registration hooks hand plugins a ``register`` callable bound to the plugin's
name, so the registry can validate names, refuse a second provider of the same
name, and tell ``outflow plugins list`` who provides what.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any

from outflow.core.errors import OutflowError
from outflow.core.records import Record

KINDS = ("commands", "backends", "models", "migrations", "blocks", "config_defaults")

_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_NAME_CHARS = _NAME_START | frozenset("0123456789_.-")


def valid_name(name: str) -> bool:
    """A letter, then letters, digits, ``_``, ``.`` or ``-`` (checked without ``re``:
    this runs for every registration of every start)."""
    return bool(name) and name[0] in _NAME_START and _NAME_CHARS.issuperset(name)


class RegistrationError(OutflowError, ValueError):
    """A plugin registered something invalid or already provided by another plugin."""


def load_target(target: Any) -> Any:
    """Resolve a lazy ``"package.module:attribute"`` target; other objects pass through."""
    if not isinstance(target, str):
        return target
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in filter(None, attribute.split(".")):
        obj = getattr(obj, part)
    return obj


class Provided(Record):
    """One thing a plugin provides."""

    __slots__ = ("kind", "name", "target", "plugin", "help", "aliases", "options")

    def __init__(self, kind: str, name: str, target: Any, plugin: str, help: str = "",
                 aliases: tuple[str, ...] = (), options: dict[str, Any] | None = None) -> None:
        self.kind = kind
        self.name = name
        self.target = target
        self.plugin = plugin
        self.help = help
        self.aliases = aliases
        self.options: dict[str, Any] = options if options is not None else {}

    def load(self) -> Any:
        """Import the target (a lazy string) and return it."""
        self.target = load_target(self.target)
        return self.target


class Registry:
    """Per-kind tables of :class:`Provided` entries, keyed by name (and aliases)."""

    def __init__(self) -> None:
        self._tables: dict[str, dict[str, Provided]] = {kind: {} for kind in KINDS}
        self._aliases: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
        #: kind -> name -> the plugins that registered it (a conflict: none gets it)
        self._conflicts: dict[str, dict[str, set[str]]] = {kind: {} for kind in KINDS}

    # -- registration -------------------------------------------------------------
    def add(self, entry: Provided) -> None:
        """Add ``entry``; :class:`RegistrationError` when it cannot be.

        Two plugins registering the same name (or alias) is a conflict that neither
        wins: both entries are withdrawn, whichever was installed or loaded first, and
        the name is recorded with its claimants (:meth:`conflict`), so that using it
        says who claims it. Their other registrations and hooks are unaffected.
        """
        if entry.kind not in self._tables:
            raise RegistrationError(f"unknown registration kind {entry.kind!r}")
        kind = entry.kind
        names = (entry.name, *entry.aliases)
        for name in names:
            if kind in ("commands", "backends", "blocks") and not valid_name(name):
                raise RegistrationError(
                    f"plugin {entry.plugin!r} registers an invalid {kind[:-1]} "
                    f"name {name!r}: use letters, digits, '_', '-' or '.'"
                )
        conflicts = self._conflicts[kind]
        clashes: dict[str, set[str]] = {}
        for name in names:
            owner = self.get(kind, name)
            if owner is not None:
                if owner.plugin == entry.plugin:
                    raise RegistrationError(
                        f"plugin {entry.plugin!r} registers {kind[:-1]} {name!r} twice")
                clashes[name] = {owner.plugin, entry.plugin}
                self._withdraw(owner)
            elif name in conflicts:
                clashes[name] = conflicts[name] | {entry.plugin}
        if clashes:
            for name, plugins in clashes.items():
                conflicts[name] = conflicts.get(name, set()) | plugins
            name = next(iter(clashes))
            first, *others = sorted(conflicts[name])
            raise RegistrationError(
                f"{kind[:-1]} {name!r} is registered by plugin {first!r} and by "
                f"{', '.join(repr(other) for other in others)}: none of them provides it; "
                "uninstall one, or block one with -p no:NAME"
            )
        self._tables[kind][entry.name] = entry
        for alias in entry.aliases:
            self._aliases[kind][alias] = entry.name

    def _withdraw(self, entry: Provided) -> None:
        """Remove ``entry`` and its aliases (it lost its name to a conflict)."""
        self._tables[entry.kind].pop(entry.name, None)
        for alias in entry.aliases:
            self._aliases[entry.kind].pop(alias, None)

    def conflict(self, kind: str, name: str) -> tuple[str, ...]:
        """The plugins that claim ``name`` (sorted), when it is in conflict; else ()."""
        return tuple(sorted(self._conflicts[kind].get(name, ())))

    def conflicts(self) -> dict[tuple[str, str], tuple[str, ...]]:
        """Every conflict: ``(kind, name)`` -> claimants (sorted)."""
        return {(kind, name): tuple(sorted(plugins))
                for kind, table in self._conflicts.items() for name, plugins in table.items()}

    def registrar(self, kind: str, plugin: str, errors: list[str]) -> Callable[..., None]:
        """The ``register`` callable handed to a plugin's registration hook."""

        def register(name: Any, target: Any = None, *, help: str = "", aliases: Iterable[str] = (),
                     **options: Any) -> None:
            if kind in ("models",):
                name, target = str(name), name
            elif kind == "migrations":
                database = options.pop("database", "default")
                branch = options.pop("branch", plugin)
                options.update(database=database, branch=branch)
                name, target = f"{branch}@{database}", name
            elif kind == "config_defaults":
                name, target = str(name), dict(target or {})
            try:
                self.add(Provided(kind, str(name), target, plugin, help, tuple(aliases), options))
            except RegistrationError as exc:
                errors.append(str(exc))

        return register

    # -- lookup -------------------------------------------------------------------
    def get(self, kind: str, name: str) -> Provided | None:
        table = self._tables[kind]
        if name in table:
            return table[name]
        canonical = self._aliases[kind].get(name)
        return table.get(canonical) if canonical else None

    def all(self, kind: str) -> list[Provided]:
        return list(self._tables[kind].values())

    def names(self, kind: str, with_aliases: bool = False) -> list[str]:
        names = list(self._tables[kind])
        if with_aliases:
            names += list(self._aliases[kind])
        return sorted(names)

    def provided_by(self, plugin: str) -> dict[str, list[str]]:
        """Names provided by one plugin, per kind (empty kinds left out)."""
        out: dict[str, list[str]] = {}
        for kind, table in self._tables.items():
            names = sorted(name for name, entry in table.items() if entry.plugin == plugin)
            if names:
                out[kind] = names
        return out

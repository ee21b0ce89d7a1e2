"""The plugin host: loads every plugin in isolation and collects what they provide.

pluggy's own ``load_setuptools_entrypoints`` stops at the first plugin that fails to
import; a host should not let one broken package take every command down. Here each
entry point is imported in its own ``try``; a failure (import error, a hook that no
spec declares, an invalid registration) is reported once on stderr and the plugin is
dropped. ``OUTFLOW_STRICT_PLUGINS=1`` turns such failures into a fatal error, which
is what plugin authors and CI want.

Switches, modelled on pytest, llm and datasette:

- ``OUTFLOW_DISABLE_PLUGIN_AUTOLOAD=1``: load no entry-point plugin except those
  named with ``-p NAME``;
- ``OUTFLOW_PLUGINS=a,b``: an allowlist of entry-point or distribution names;
- ``-p no:NAME``: block one plugin.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable
from types import ModuleType
from typing import Any

import pluggy

from outflow.core import hookspecs
from outflow.core.errors import OutflowError
from outflow.core.pipeline.config import ConfigurationError
from outflow.core.plugins.discovery import EntryPointInfo, discover_entry_points
from outflow.core.plugins.registry import KINDS, Provided, Registry
from outflow.core.records import FrozenRecord, Record

BUILTIN_PLUGINS = {"outflow.core": "outflow.core.builtin_plugin"}

_REPORTED: set[tuple[str, str]] = set()
_WARNED: set[str] = set()


class PluginLoadError(OutflowError, RuntimeError):
    """A plugin failed to load while ``OUTFLOW_STRICT_PLUGINS`` is set."""


class PipelinePluginError(PluginLoadError, ConfigurationError):
    """A plugin the pipeline lists in ``settings.PLUGINS`` cannot be loaded.

    Unlike an installed (entry-point) plugin, reported and skipped so that one broken
    package does not take every command down, a pipeline plugin is part of the
    pipeline: going on without it only fails later and less clearly (its commands
    "unknown", its tasks missing). A configuration error: exit status 2.
    """


class PluginRecord(Record):
    """One plugin as ``outflow plugins list`` shows it."""

    __slots__ = ("name", "module", "distribution", "version", "status", "error", "kind",
                 "hooks", "provides")

    def __init__(self, name: str, module: str, distribution: str | None = None,
                 version: str | None = None, kind: str = "entry-point") -> None:
        self.name = name
        self.module = module
        self.distribution = distribution
        self.version = version
        self.kind = kind  # entry-point | builtin | pipeline
        self.status = "loaded"  # loaded | blocked | error
        self.error: str | None = None
        self.hooks: list[str] = []
        self.provides: dict[str, list[str]] = {}

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "kind": self.kind,
            "status": self.status,
            "error": self.error,
            "provides": self.provides,
            "hooks": self.hooks,
        }


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


class LoadOptions(FrozenRecord):
    """How plugins are selected; built from the environment and ``-p`` options."""

    __slots__ = ("autoload", "allow", "blocked", "requested", "strict")

    def __init__(self, autoload: bool = True, allow: frozenset[str] | None = None,
                 blocked: frozenset[str] = frozenset(), requested: frozenset[str] = frozenset(),
                 strict: bool = False) -> None:
        self.autoload = autoload
        self.allow = allow
        self.blocked = blocked
        self.requested = requested
        self.strict = strict

    @classmethod
    def from_environment(cls, plugin_options: Iterable[str] = ()) -> LoadOptions:
        blocked, requested = set(), set()
        for value in plugin_options:
            if value.startswith("no:"):
                blocked.add(value[3:])
            else:
                requested.add(value)
        allow_text = os.environ.get("OUTFLOW_PLUGINS")
        allow = None
        if allow_text is not None:
            allow = frozenset(part.strip() for part in allow_text.split(",") if part.strip())
        return cls(
            autoload=not _env_flag("OUTFLOW_DISABLE_PLUGIN_AUTOLOAD"),
            allow=allow,
            blocked=frozenset(blocked),
            requested=frozenset(requested),
            strict=_env_flag("OUTFLOW_STRICT_PLUGINS"),
        )

    def blocking_reason(self, info: EntryPointInfo) -> str | None:
        names = {info.name, info.distribution or info.name}
        if names & self.blocked:
            return "blocked with -p no:" + info.name
        if names & self.requested:
            return None
        if not self.autoload:
            return "autoload disabled (OUTFLOW_DISABLE_PLUGIN_AUTOLOAD)"
        if self.allow is not None and not names & self.allow:
            return "not in OUTFLOW_PLUGINS"
        return None


class PluginHost:
    """A pluggy manager plus the records and registry of every plugin it loaded."""

    def __init__(self, options: LoadOptions | None = None) -> None:
        self.options = options or LoadOptions.from_environment()
        self.pm = pluggy.PluginManager("outflow")
        self.pm.add_hookspecs(hookspecs)
        # Historic: every plugin registered from now on receives it on registration.
        self.pm.hook.outflow_addhooks.call_historic(kwargs={"pluginmanager": self.pm})
        self.records: dict[str, PluginRecord] = {}
        self.registry = Registry()
        self._collected: set[tuple[str, str]] = set()  # (kind, plugin) already asked

    @property
    def hook(self) -> Any:
        return self.pm.hook

    # -- loading ------------------------------------------------------------------
    def load(self) -> PluginHost:
        """Register the built-ins and every selected entry-point plugin."""
        for name, module_name in BUILTIN_PLUGINS.items():
            record = PluginRecord(name=name, module=module_name, kind="builtin")
            record.version = _kernel_version()
            record.distribution = "outflow"
            self._register_module(record, lambda m=module_name: importlib.import_module(m))
        discovered = discover_entry_points()
        self._check_selection(discovered)
        for info in discovered:
            record = PluginRecord(
                name=info.name,
                module=info.module,
                distribution=info.distribution,
                version=info.version,
            )
            reason = self.options.blocking_reason(info)
            if reason is not None:
                record.status, record.error = "blocked", reason
                self.records[record.name] = record
                self.pm.set_blocked(record.name)
                continue
            self._register_module(record, lambda value=info.value: _load_entry_point(value))
        self._validate_hooks()
        return self

    def _check_selection(self, discovered: Iterable[EntryPointInfo]) -> None:
        """Names given to ``-p``, ``-p no:`` and ``OUTFLOW_PLUGINS`` that no installed
        plugin has: a warning with the closest name (fatal in strict mode), rather than
        a switch silently doing nothing."""
        infos = list(discovered)
        known = {*BUILTIN_PLUGINS, *(info.name for info in infos),
                 *(_normalised(info.distribution) for info in infos if info.distribution)}
        choices = sorted({*(info.name for info in infos),
                          *(info.distribution for info in infos if info.distribution)})
        options = self.options
        for switch, names in (("-p", options.requested), ("-p no:", options.blocked),
                              ("OUTFLOW_PLUGINS", options.allow or ())):
            for name in sorted(names):
                if name in known or _normalised(name) in known:
                    continue
                from difflib import get_close_matches

                close = get_close_matches(name, choices, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                where = {"-p": f"-p {name}", "-p no:": f"-p no:{name}"}.get(switch, switch)
                self._warn(f"outflow: warning: {where}: no installed plugin is named "
                           f"{name!r}{hint}")

    def _warn(self, text: str) -> None:
        """A problem with what the user asked for: fatal in strict mode, else printed once."""
        if self.options.strict:
            raise PluginLoadError(text.replace("outflow: warning: ", "outflow: ", 1))
        if text not in _WARNED:
            _WARNED.add(text)
            print(text, file=sys.stderr)

    def add_pipeline_plugins(self, module_names: Iterable[str],
                             where: str = "settings.PLUGINS") -> None:
        """Import the pipeline's plugins (``settings.PLUGINS``) and their ``commands`` module.

        A name that is the package of an entry-point plugin (``outflow.management``)
        is already served by that plugin. Others are imported, registered when they
        implement hooks, and their ``commands`` submodule imported so that their
        ``@RootCommand.subcommand()`` classes exist; ``models`` is only recorded,
        and imported when a database is used.

        Any failure of such a plugin (import, registration, a hook no spec declares,
        its ``commands`` module) raises :class:`PipelinePluginError`, its message
        starting with ``where`` (the settings file and setting); entry-point plugins
        keep the isolation of :meth:`load`.
        """
        for module_name in module_names:
            served = self.plugin_for_package(module_name, any_status=True)
            if served is not None:
                # An installed pipeline plugin (entry point = the package itself) still
                # declares its commands in ``commands``; plugins registering commands
                # through the hook, and blocked or broken ones, are left alone.
                if served.status == "loaded" and "outflow_register_commands" not in served.hooks:
                    self._import_submodule(served, f"{module_name}.commands")
                continue
            record = PluginRecord(name=module_name, module=module_name, kind="pipeline")
            self._load_pipeline_plugin(record, where)
            if _has_submodule(module_name, "models"):
                self.registry.add(Provided("models", f"{module_name}.models",
                                           f"{module_name}.models", record.name))
            self._validate_hooks()

    def _load_pipeline_plugin(self, record: PluginRecord, where: str) -> None:
        """Import, register and check one pipeline plugin, then import its ``commands``;
        :class:`PipelinePluginError` on any failure (nothing printed: the command line
        reports the error, once)."""
        from importlib.util import find_spec

        self.records[record.name] = record

        def failed(step: str, problem: str) -> PipelinePluginError:
            record.status, record.error = "error", f"{step}: {problem}"
            if self.pm.get_plugin(record.name) is not None:
                self.pm.unregister(name=record.name)
            return PipelinePluginError(f"{where}: plugin {record.name!r} {step}: {problem}")

        step = "cannot be imported"
        try:
            module = importlib.import_module(record.module)
            step = "cannot be registered"
            self.pm.register(module, name=record.name)
        except Exception as exc:
            raise failed(step, f"{type(exc).__name__}: {exc}") from exc
        callers = self.pm.get_hookcallers(module) or []
        unknown = sorted(c.name for c in callers if c.spec is None)
        if unknown:
            raise failed("cannot be registered",
                         "it implements hooks with no spec: " + ", ".join(unknown))
        record.hooks = sorted(c.name for c in callers)
        commands = f"{record.module}.commands"
        try:
            if find_spec(commands) is not None:
                importlib.import_module(commands)
        except Exception as exc:
            raise failed(f"cannot import {commands}", f"{type(exc).__name__}: {exc}") from exc

    def pipeline_plugins(self) -> list[str]:
        """Modules of the pipeline's own plugins that loaded (those of ``settings.PLUGINS``
        that are not entry points): what a worker process imports to have the same."""
        return [record.module for record in self.records.values()
                if record.kind == "pipeline" and record.status == "loaded"]

    def plugin_for_package(self, package: str, any_status: bool = False) -> PluginRecord | None:
        """The plugin whose module lives in ``package`` (or is it); loaded ones only,
        unless ``any_status``."""
        for record in self.records.values():
            if (any_status or record.status == "loaded") and (
                record.module == package or record.module.startswith(package + ".")
            ):
                return record
        return None

    def _register_module(self, record: PluginRecord, importer: Any) -> ModuleType | None:
        self.records[record.name] = record
        try:
            module = importer()
            self.pm.register(module, name=record.name)
        except Exception as exc:  # noqa: BLE001 - any failure of plugin code is reported
            self._fail(record, f"{type(exc).__name__}: {exc}")
            return None
        return module

    def _import_submodule(self, record: PluginRecord, name: str) -> None:
        from importlib.util import find_spec

        try:
            if find_spec(name) is not None:
                importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001
            self._fail(record, f"cannot import {name}: {type(exc).__name__}: {exc}")

    def _validate_hooks(self) -> None:
        """Drop plugins implementing a hook that no spec declares (pluggy's check_pending)."""
        for record in list(self.records.values()):
            if record.status != "loaded":
                continue
            plugin = self.pm.get_plugin(record.name)
            if plugin is None:
                continue
            callers = self.pm.get_hookcallers(plugin) or []
            unknown = sorted(c.name for c in callers if c.spec is None)
            if unknown:
                self.pm.unregister(plugin)
                self._fail(record, "implements hooks with no spec: " + ", ".join(unknown))
                continue
            record.hooks = sorted(c.name for c in callers)

    def _fail(self, record: PluginRecord, message: str) -> None:
        record.status, record.error = "error", message
        if self.pm.get_plugin(record.name) is not None:
            self.pm.unregister(name=record.name)
        label = record.name
        if record.distribution:
            label += f" ({record.distribution} {record.version or ''})".replace(" )", ")")
        self._report(record, message, f"outflow: plugin {label} failed to load: {message}",
                     "plugin skipped")

    # -- registrations ------------------------------------------------------------
    def collect(self) -> Registry:
        """Call each plugin's registration hooks once, attributing each entry to its plugin.

        A registration that is refused (a name another plugin has, an invalid name) is
        reported and skipped; the plugin keeps its other registrations and its hooks.
        A registration hook that raises drops the plugin, like an import error.
        """
        hook_names = {
            "commands": "outflow_register_commands",
            "backends": "outflow_register_backends",
            "models": "outflow_register_models",
            "migrations": "outflow_register_migrations",
            "blocks": "outflow_register_blocks",
            "config_defaults": "outflow_config_defaults",
        }
        for kind in KINDS:
            caller = getattr(self.pm.hook, hook_names[kind])
            for impl in caller.get_hookimpls():
                if (kind, impl.plugin_name) in self._collected:
                    continue
                self._collected.add((kind, impl.plugin_name))
                refused: list[str] = []
                register = self.registry.registrar(kind, impl.plugin_name, refused)
                record = self.records.get(impl.plugin_name)
                try:
                    impl.function(**{arg: register for arg in impl.argnames})
                except Exception as exc:  # noqa: BLE001
                    if record is not None:
                        self._fail(record, f"{hook_names[kind]} raised "
                                           f"{type(exc).__name__}: {exc}")
                    continue
                if refused and record is not None:
                    self._refuse(record, refused)
        self._note_conflicts()
        for record in self.records.values():
            record.provides = self.registry.provided_by(record.name)
        return self.registry

    def _note_conflicts(self) -> None:
        """Every plugin in a name conflict says so (``plugins list``), not only the one
        whose registration came second."""
        for (kind, name), plugins in self.registry.conflicts().items():
            what = f"{kind[:-1]} {name!r}"
            for plugin in plugins:
                record = self.records.get(plugin)
                if record is None or (record.error and what in record.error):
                    continue  # its own refusal said it already
                others = ", ".join(repr(other) for other in plugins if other != plugin)
                text = f"{what} is also registered by {others}: none of them provides it"
                record.error = text if record.error is None else f"{record.error}; {text}"

    def _refuse(self, record: PluginRecord, refused: list[str]) -> None:
        """Report registrations the registry refused; the plugin stays loaded."""
        message = "; ".join(refused)
        record.error = message if record.error is None else f"{record.error}; {message}"
        self._report(record, message, f"outflow: plugin {record.name}: {message}",
                     "registration skipped")

    def _report(self, record: PluginRecord, message: str, text: str, outcome: str) -> None:
        """A plugin problem: fatal in strict mode, else printed once per process."""
        if self.options.strict:
            raise PluginLoadError(text)
        key = (record.name, message)
        if key not in _REPORTED:
            _REPORTED.add(key)
            print(f"{text} ({outcome})", file=sys.stderr)

    def resolve(self, kind: str, name: str) -> Provided | None:
        return self.collect().get(kind, name)


def _normalised(name: str) -> str:
    """A distribution name as pip compares them (``outflow_hello`` is ``outflow-hello``)."""
    return name.lower().replace("_", "-").replace(".", "-")


def _load_entry_point(value: str) -> Any:
    from outflow.core.plugins.registry import load_target

    return load_target(value)


def _has_submodule(package: str, name: str) -> bool:
    from importlib.util import find_spec

    try:
        return find_spec(f"{package}.{name}") is not None
    except (ImportError, ValueError):
        return False


def _kernel_version() -> str:
    from outflow.core import __version__

    return __version__

"""Which backend runs a command: command line > command definition > config.yml > default.

Backends come from plugins (``outflow_register_backends``) and from
``settings.BACKENDS``. A name that is not available fails with one line (exit 2)
saying why: a backend of ours whose plugin is not installed (how to install it) or not
loaded (how to enable it), a name two plugins claim, or an unknown name (the closest
installed one, never a guessed ``pip install``).
"""

from __future__ import annotations

from typing import Any

from outflow.core.pipeline.config import ConfigurationError
from outflow.core.plugins.registry import load_target

DEFAULT_BACKEND = "default"


class BackendNotFoundError(ConfigurationError, LookupError):
    """No loaded plugin provides the requested backend (a usage error: exit 2)."""


def choose_backend_name(cli_choice: str | None, command_class: Any, config: Any) -> str:
    """Apply the documented priority order."""
    for candidate in (
        cli_choice,
        getattr(command_class, "backend", None),
        (config or {}).get("backend"),
    ):
        if candidate:
            return str(candidate)
    return DEFAULT_BACKEND


def load_backend_class(name: str, host: Any, settings: Any) -> type:
    """Import the class of backend ``name``; :class:`BackendNotFoundError` when unknown."""
    return resolve_backend(name, host, settings)[1]


def resolve_backend(name: str, host: Any, settings: Any) -> tuple[str, type]:
    """The registered name of backend ``name`` (an alias gives its backend's name) and
    its class; :class:`BackendNotFoundError` when unknown."""
    extra = dict(getattr(settings, "BACKENDS", {}) or {})
    if name in extra:
        return name, load_target(extra[name])
    entry = host.resolve("backends", name) if host is not None else None
    if entry is None:
        raise BackendNotFoundError(_unavailable(name, host, extra))
    return entry.name, entry.load()


def _unavailable(name: str, host: Any, extra: dict[str, Any]) -> str:
    """Why backend ``name`` cannot be used, and what to do about it."""
    from outflow.core.plugins.known import provider_of

    registry = host.collect() if host is not None else None
    claimants = registry.conflict("backends", name) if registry is not None else ()
    if claimants:
        first, *others = claimants
        return (f"backend {name!r} is registered by plugin {first!r} and by "
                f"{', '.join(repr(other) for other in others)}: uninstall one, or block "
                f"one with -p no:NAME")
    known = provider_of("backends", name)
    if known is not None:
        distribution, plugin = known
        record = host.records.get(plugin) if host is not None else None
        if record is None:
            return (f"backend {name!r} is provided by {distribution}, which is not "
                    f"installed: pip install {distribution}")
        if record.status == "blocked":
            return (f"backend {name!r} is provided by plugin {plugin!r} ({distribution}), "
                    f"which is not loaded: {record.error}; load it with -p {plugin}")
        return (f"backend {name!r} is provided by plugin {plugin!r} ({distribution}), which "
                f"failed to load: {record.error}")
    installed = sorted({*extra, *(registry.names("backends", True) if registry else [])})
    from difflib import get_close_matches

    close = get_close_matches(name, installed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown backend {name!r}{hint}; installed: {', '.join(installed) or 'none'}"

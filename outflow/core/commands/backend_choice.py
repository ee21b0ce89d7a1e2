"""Which backend runs a command: command line > command definition > config.yml > default.

Backends come from plugins (``outflow_register_backends``) and from
``settings.BACKENDS``; an unknown name fails with the installed names and the
package that would provide it.
"""

from __future__ import annotations

from typing import Any

from outflow.core.errors import OutflowError
from outflow.core.plugins.registry import load_target

DEFAULT_BACKEND = "default"


class BackendNotFoundError(OutflowError, LookupError):
    """No installed plugin provides the requested backend."""


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
        installed = sorted({*extra, *(host.collect().names("backends", True) if host else [])})
        listed = ", ".join(installed) or "none"
        raise BackendNotFoundError(
            f"unknown backend {name!r} (installed: {listed}); "
            f"to install it: pip install outflow-{name}"
        )
    return entry.name, entry.load()

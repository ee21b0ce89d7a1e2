"""The outflow kernel: hook specs, plugin host, command line root and pipeline.

Import nothing heavy here: ``outflow --help`` imports this package, and ``outflow
--version`` imports little else (not even :mod:`typing`).
"""

from __future__ import annotations

__version__ = "1.0.0.dev0"

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping


def lazy_exports(namespace: dict[str, object],
                 exports: Mapping[str, Iterable[str]]) -> Callable[[str], object]:
    """A module ``__getattr__`` that imports a re-exported name on first access.

    Why: a kernel package states its whole public API in its ``__init__`` (and its
    ``__all__``), but some of it lives in modules that ``outflow --help`` has no use
    for (the plugin host, parsers, SQLAlchemy's users...). ``exports`` maps a module
    to the names taken from it; ``namespace`` is the package's ``globals()``, where
    each name is kept once imported so that ``__getattr__`` runs once per name.

    ``__getattr__ = lazy_exports(globals(), {"outflow.core.pipeline.pipeline":
    ("Pipeline",)})`` in ``outflow/core/pipeline/__init__.py`` makes ``from
    outflow.core.pipeline import Pipeline`` import the runner then, not before.
    """
    package = namespace["__name__"]
    origins = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> object:
        module = origins.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__

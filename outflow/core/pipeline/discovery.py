"""Find the pipeline: its settings module, root directory and configuration file.

Order: ``--settings`` / ``OUTFLOW_SETTINGS_MODULE`` (a dotted module path), else a
``settings.py`` in the working directory or one of its parents. The root directory
is where that file lives unless ``PIPELINE_ROOT_DIRECTORY`` or the settings say
otherwise. Like the generated ``manage.py``, the root and each ``plugins/*``
directory are put on ``sys.path`` so that plugins work without being installed.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType
from typing import TYPE_CHECKING

from outflow.core.errors import OutflowError
from outflow.core.records import Record

if TYPE_CHECKING:
    from pathlib import Path


class PipelineNotFoundError(OutflowError, LookupError):
    """A settings module was named but could not be imported."""


class PipelineLocation(Record):
    """Where the pipeline is: its root directory and settings module (either may be None)."""

    __slots__ = ("root", "settings_module")

    def __init__(self, root: Path | None, settings_module: ModuleType | None) -> None:
        self.root = root
        self.settings_module = settings_module


def find_settings_file(start: str | os.PathLike[str]) -> Path | None:
    """``settings.py`` in ``start`` or the nearest parent that has one.

    Walks with ``os.path``: outside any pipeline (``outflow --help`` in a home
    directory) this is all that runs, and pathlib need not be imported for it.
    """
    directory = os.path.realpath(start)
    while True:
        candidate = os.path.join(directory, "settings.py")
        if os.path.isfile(candidate):
            from pathlib import Path

            return Path(candidate)
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _resolved(value: str | os.PathLike[str]) -> Path:
    """``Path(value).resolve()``; pathlib is imported only once a pipeline is involved."""
    from pathlib import Path

    return Path(value).resolve()


def add_pipeline_paths(root: Path) -> None:
    """Make the pipeline's own modules and its ``plugins/*`` importable."""
    entries = [str(root)]
    plugins_dir = root / "plugins"
    if plugins_dir.is_dir():
        entries += [str(path) for path in sorted(plugins_dir.iterdir()) if path.is_dir()]
    for entry in reversed(entries):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    importlib.invalidate_caches()


def _import_settings_file(path: Path) -> ModuleType:
    """Import ``path`` as the module ``settings``, replacing another pipeline's one."""
    import importlib.util  # only with a settings file: not on the path of a bare start

    current = sys.modules.get("settings")
    if current is not None and _resolved(getattr(current, "__file__", "") or "/") == path:
        return current
    spec = importlib.util.spec_from_file_location("settings", path)
    if spec is None or spec.loader is None:
        raise PipelineNotFoundError(f"cannot import settings from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["settings"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop("settings", None)
        raise
    return module


def locate_pipeline(
    settings_module: str | None = None,
    root_directory: str | os.PathLike[str] | None = None,
    cwd: Path | None = None,
) -> PipelineLocation:
    """Resolve the pipeline from explicit arguments, the environment, or the directory tree."""
    settings_module = settings_module or os.environ.get("OUTFLOW_SETTINGS_MODULE") or None
    root = _resolved(root_directory) if root_directory else None
    if root is None and os.environ.get("PIPELINE_ROOT_DIRECTORY"):
        root = _resolved(os.environ["PIPELINE_ROOT_DIRECTORY"])
    if settings_module:
        if root is not None:
            add_pipeline_paths(root)
        try:
            module = importlib.import_module(settings_module)
        except ModuleNotFoundError as error:
            if error.name and settings_module.startswith(error.name):
                raise PipelineNotFoundError(
                    f"settings module {settings_module!r} not found on the Python path"
                ) from None
            raise
        if root is None and getattr(module, "ROOT_DIRECTORY", None):
            root = _resolved(module.ROOT_DIRECTORY)
        if root is None and getattr(module, "__file__", None):
            root = _resolved(module.__file__).parent
            add_pipeline_paths(root)
        return PipelineLocation(root, module)
    if root is not None:
        settings_file = root / "settings.py"
        found = settings_file if settings_file.is_file() else None
    else:
        found = find_settings_file(cwd or os.getcwd())
        root = found.parent if found is not None else None
    if found is None:
        return PipelineLocation(root, None)
    add_pipeline_paths(found.parent)
    return PipelineLocation(root, _import_settings_file(found))

"""Render a template directory (``templates/pipeline``, ``templates/plugin``) to disk.

The templates live in this package, ``outflow/management/templates`` (see
:func:`templates_root`).

The substitution is deliberately tiny and safe (no code runs, nothing is evaluated):

- in the *content* of files whose name ends in ``.tmpl`` (or ``-tpl``), each
  ``{{ variable }}`` (spaces optional) is replaced by the variable's value; an unknown
  variable is an error of the template. The suffix is removed from the output name.
  Other files are copied byte for byte.
- a *path component* written ``__variable__`` is replaced by the variable's value, its
  dots becoming directories (``__namespace__/__name__`` -> ``tuto/data_reduction``).

See ``templates/README.md`` for the variables.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from outflow.core.errors import OutflowError

#: Suffixes of the files whose content is rendered; removed from the output name.
TEMPLATE_SUFFIXES = (".tmpl", "-tpl")
#: Never copied: caches that may appear in a source checkout.
_SKIPPED_NAMES = frozenset({"__pycache__", ".DS_Store", ".pytest_cache", ".ruff_cache"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_PATH_VARIABLE = re.compile(r"^__([A-Za-z][A-Za-z0-9_]*?)__$")
#: Files that must exist in a complete templates directory.
_MARKERS = ("pipeline/manage.py.tmpl", "plugin/pyproject.toml.tmpl")


class TemplateError(OutflowError, RuntimeError):
    """The templates are missing or malformed (a packaging or template bug)."""


class TargetExistsError(OutflowError, FileExistsError):
    """``management create`` never writes into an existing path."""


def _is_templates_dir(path: Path) -> bool:
    return all((path / marker).is_file() for marker in _MARKERS)


def templates_root() -> Path:
    """The ``templates`` directory of the ``outflow.management`` package.

    The templates are package data (``outflow/management/templates``): a wheel or an
    sdist of outflow-management ships them, and an editable install reads them in the
    source tree, where the repository's top-level ``templates`` is a symbolic link to
    them.
    """
    root = Path(__file__).resolve().parent.parent / "templates"
    if not _is_templates_dir(root):
        raise TemplateError(
            f"outflow-management's templates were not found in {root}: "
            "reinstall outflow-management"
        )
    return root


def render_text(text: str, variables: Mapping[str, str], source: str = "template") -> str:
    """Replace each ``{{ variable }}`` of ``text``; an unknown one raises :class:`TemplateError`."""

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in variables:
            raise TemplateError(f"{source}: unknown template variable {key!r}")
        return variables[key]

    return _PLACEHOLDER.sub(substitute, text)


def output_path(relative: PurePosixPath, variables: Mapping[str, str]) -> PurePosixPath:
    """Where the template file ``relative`` goes: path variables replaced, suffix removed."""
    parts: list[str] = []
    for part in relative.parts:
        match = _PATH_VARIABLE.match(part)
        if match and match.group(1) in variables:
            parts.extend(variables[match.group(1)].split("."))
        else:
            parts.append(part)
    name = parts[-1]
    for suffix in TEMPLATE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            parts[-1] = name[: -len(suffix)]
            break
    return PurePosixPath(*parts)


def is_rendered(relative: PurePosixPath) -> bool:
    return relative.name.endswith(TEMPLATE_SUFFIXES)


def render_tree(source: Path, variables: Mapping[str, str]) -> dict[PurePosixPath, bytes]:
    """Render every file under ``source`` in memory: ``{output path: content}``."""
    if not source.is_dir():
        raise TemplateError(f"template directory {source} not found")
    files: dict[PurePosixPath, bytes] = {}
    for path in sorted(source.rglob("*")):
        relative = PurePosixPath(path.relative_to(source).as_posix())
        if any(part in _SKIPPED_NAMES for part in relative.parts):
            continue
        if not path.is_file() or relative.name.endswith(_SKIPPED_SUFFIXES):
            continue
        target = output_path(relative, variables)
        if is_rendered(relative):
            text = path.read_text(encoding="utf-8")
            files[target] = render_text(text, variables, str(relative)).encode("utf-8")
        else:
            files[target] = path.read_bytes()
    return files


def write_tree(target: Path, files: Mapping[PurePosixPath, bytes]) -> list[Path]:
    """Create ``target`` (which must not exist) holding ``files``; return the paths written.

    On any failure the partly written ``target`` is removed.
    """
    if target.exists() or target.is_symlink():
        raise TargetExistsError(f"{target} already exists: nothing was written")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        target.mkdir()
    except FileExistsError:
        raise TargetExistsError(f"{target} already exists: nothing was written") from None
    written: list[Path] = []
    try:
        for relative, content in files.items():
            path = target.joinpath(*relative.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            if content.startswith(b"#!"):
                path.chmod(0o755)
            written.append(path)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return written


def create_from_template(kind: str, target: Path, variables: Mapping[str, str]) -> list[Path]:
    """Render ``templates/<kind>`` with ``variables`` into the new directory ``target``."""
    if target.exists() or target.is_symlink():
        raise TargetExistsError(f"{target} already exists: nothing was written")
    files = render_tree(templates_root() / kind, variables)
    return write_tree(target, files)

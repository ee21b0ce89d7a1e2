"""Read the project configuration file (YAML, TOML or JSON) into plain Python values.

Why plain values: the configuration is merged with plugin defaults, masked, logged,
stored with each run and sent to worker processes. ruamel's comment-preserving types,
or a parser-specific float, would leak into all of those places; plain ``dict``,
``list``, ``str``, ``int``, ``float``, ``bool`` and ``None`` travel everywhere.

Why errors carry a position: a malformed file is a user mistake, not a bug. The command
line prints ``str(ConfigFileError)`` -- ``path:line:column: message``, the form editors
and terminals turn into a link -- and exits with status 2, without a traceback.

The parsers (ruamel.yaml, tomllib, json) are imported inside the functions that use them:
importing this module must stay cheap, because the command line imports it at start-up.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from outflow.core.configuration.merge import merge_config
from outflow.core.errors import OutflowError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["CONFIG_FILE_NAMES", "ConfigFileError", "find_config_file", "load_config_file",
           "locate_key", "merge_config"]

CONFIG_FILE_NAMES = ("config.yml", "config.yaml", "config.toml", "config.json")
"""The names looked for in the project directory, in order of preference."""

_YAML_SUFFIXES = (".yml", ".yaml")
_SUPPORTED_SUFFIXES = (*_YAML_SUFFIXES, ".toml", ".json")
# Patterns as text: ``re`` compiles them when a TOML error is reported, not at every start.
_TOML_POSITION = r"\s*\(at line (\d+), column (\d+)\)\s*$"
_TOML_END_OF_DOCUMENT = r"\s*\(at end of document\)\s*$"


class ConfigFileError(OutflowError):
    """A configuration file that cannot be read: missing, malformed or of the wrong shape.

    ``line`` and ``column`` are 1-based, ``None`` when unknown. ``str(error)`` is a single
    line, ``path:line:column: message``, so that the command line can print it as it is.
    """

    def __init__(
        self,
        path: Path | str,
        message: str,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.path = _path(path)
        # One line whatever the parser said: the CLI prints exactly one line per error.
        self.message = " ".join(str(message).split())
        self.line = line
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        location = str(self.path)
        if self.line is not None:
            location += f":{self.line}"
            if self.column is not None:
                location += f":{self.column}"
        return f"{location}: {self.message}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross process boundaries (worker pools, MPI): keep them picklable.
        return (type(self), (self.path, self.message, self.line, self.column))


def find_config_file(root: Path) -> Path | None:
    """Return the first of :data:`CONFIG_FILE_NAMES` that exists in ``root``, else ``None``."""
    for name in CONFIG_FILE_NAMES:
        candidate = _path(root) / name
        if candidate.is_file():
            return candidate
    return None


def load_config_file(path: Path) -> dict[str, Any]:
    """Parse the configuration file at ``path``, choosing the parser by its suffix.

    YAML files may pull other YAML (or TOML, JSON) files in with ``key: !include other.yml``,
    the path being relative to the including file. An empty YAML file gives ``{}``.

    Raises :class:`ConfigFileError` for a missing file, an unsupported suffix, a syntax
    error, a broken or cyclic include, or a top level that is not a mapping.
    """
    path = _path(path)
    _check_suffix(path)
    data = _load_any(path, (path,))
    if data is None and path.suffix.lower() in _YAML_SUFFIXES:
        return {}
    if not isinstance(data, dict):
        raise ConfigFileError(path, f"top level must be a mapping, got {type(data).__name__}")
    return data


def _check_suffix(path: Path) -> None:
    if path.suffix.lower() not in _SUPPORTED_SUFFIXES:
        shown = repr(path.suffix) if path.suffix else "no suffix"
        raise ConfigFileError(
            path,
            f"unsupported configuration file type ({shown}): use .yml, .yaml, .toml or .json",
        )


def _read_text(path: Path) -> str:
    try:
        # utf-8-sig: files saved by some Windows editors start with a BOM; json and
        # tomllib both refuse it, yet the user sees nothing wrong in the file.
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigFileError(path, "file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigFileError(path, f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigFileError(path, exc.strerror or str(exc)) from None


def _load_any(path: Path, chain: tuple[Path, ...]) -> Any:
    """Parse one file; ``chain`` is the include chain from the top file down to ``path``."""
    text = _read_text(path)
    suffix = path.suffix.lower()
    if suffix in _YAML_SUFFIXES:
        data = _load_yaml(path, text, chain)
    elif suffix == ".toml":
        data = _load_toml(path, text)
    else:
        data = _load_json(path, text)
    return _to_plain(data)


def _load_json(path: Path, text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigFileError(path, exc.msg, exc.lineno, exc.colno) from None


def _load_toml(path: Path, text: str) -> Any:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef]

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)  # Python >= 3.14 only
        column = getattr(exc, "colno", None)
        message = getattr(exc, "msg", None) or str(exc)
        found = re.search(_TOML_POSITION, message)
        if found:
            if line is None:
                line, column = int(found.group(1)), int(found.group(2))
            message = message[: found.start()]
        elif re.search(_TOML_END_OF_DOCUMENT, message):
            if line is None:
                line = text.count("\n") + 1
            message = re.sub(_TOML_END_OF_DOCUMENT, "", message) + " (at end of document)"
        raise ConfigFileError(path, message, line, column) from None


def _load_yaml(path: Path, text: str, chain: tuple[Path, ...]) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="safe", pure=True)
    # A subclass of SafeConstructor: registering ``!include`` on ruamel's own class would
    # change YAML loading for every other library in the process.
    yaml.Constructor = _include_constructor_class()
    yaml.constructor.outflow_path = path
    yaml.constructor.outflow_chain = chain
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context:
            message = f"{exc.problem} ({exc.context})"
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        raise ConfigFileError(path, message, line, column) from None
    except (YAMLError, ValueError) as exc:
        # ReaderError (a forbidden character), or a value ruamel accepts but Python
        # does not (e.g. the date 2020-13-45).
        raise ConfigFileError(path, str(exc)) from None


@functools.cache
def _include_constructor_class() -> type:
    """Build (once, lazily: ruamel is imported here) the constructor that knows ``!include``."""
    from ruamel.yaml.constructor import SafeConstructor

    class _IncludeConstructor(SafeConstructor):  # type: ignore[misc]
        outflow_path: Path
        outflow_chain: tuple[Path, ...]

    _IncludeConstructor.add_constructor("!include", _construct_include)
    return _IncludeConstructor


def _construct_include(constructor: Any, node: Any) -> Any:
    from ruamel.yaml.nodes import ScalarNode

    path: Path = constructor.outflow_path
    chain: tuple[Path, ...] = constructor.outflow_chain
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    raw = constructor.construct_scalar(node) if isinstance(node, ScalarNode) else None
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigFileError(
            path, "!include expects a file path, e.g. `!include databases.yml`", line, column
        )
    target = path.parent / _path(raw.strip()).expanduser()
    if not target.is_file():
        raise ConfigFileError(path, f"included file not found: {target}", line, column)
    resolved = target.resolve()
    if any(resolved == link.resolve() for link in chain):
        root_dir = chain[0].parent
        shown = " -> ".join(_display(link, root_dir) for link in (*chain, target))
        raise ConfigFileError(path, f"include cycle: {shown}", line, column)
    _check_suffix(target)
    return _load_any(target, (*chain, target))


def locate_key(path: Path | str, keys: Sequence[Any]) -> tuple[Path, int, int] | None:
    """``(file, line, column)``, 1-based, of the key ``keys[-1]`` at ``keys`` in a YAML file.

    For warnings and errors about an entry that parsed fine but is wrong for the
    pipeline (``paramters:``, ``multiplier: true``): the loaded values carry no
    position, so the file is composed again -- only when there is something to
    report. An ``!include`` on the way is followed into the included YAML file,
    whose path is then returned. ``None`` when the position is unknown: a TOML or
    JSON file (their parsers give no positions), a file that no longer parses, a
    key that comes from plugin defaults or from an alias.
    """
    path = _path(path)
    found: tuple[Path, int, int] | None = None
    node: Any = None
    for key in keys:
        if node is None:
            node = _compose_yaml(path)
        elif getattr(node, "tag", None) == "!include":
            path = path.parent / _path(str(node.value).strip()).expanduser()
            node = _compose_yaml(path)
        if node is None or not isinstance(node.value, list):
            return None
        for key_node, value_node in node.value:
            if not isinstance(key_node.value, list) and str(key_node.value) == str(key):
                mark = key_node.start_mark
                found = (path, mark.line + 1, mark.column + 1)
                node = value_node
                break
        else:
            return None
    return found


def _compose_yaml(path: Path) -> Any:
    """The top node of a YAML file (ruamel's representation graph), or None."""
    if path.suffix.lower() not in _YAML_SUFFIXES:
        return None
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.nodes import MappingNode

    try:
        node = YAML(typ="safe", pure=True).compose(_read_text(path))
    except (YAMLError, ConfigFileError, ValueError):
        return None
    return node if isinstance(node, MappingNode) else None


def _path(value: Any) -> Path:
    """``Path(value)``, importing pathlib on first use: ``outflow --help`` outside a
    pipeline reads no file and should not pay for it."""
    from pathlib import Path

    return Path(value)


def _display(path: Path, root_dir: Path) -> str:
    try:
        return str(path.relative_to(root_dir))
    except ValueError:
        return str(path)


def _to_plain(value: Any) -> Any:
    """Convert parser-specific containers and scalars (ruamel's ScalarFloat...) to builtins."""
    if isinstance(value, Mapping):
        return {_to_plain(key): _to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    for plain in (str, int, float):
        if isinstance(value, plain):
            return value if type(value) is plain else plain(value)
    return value

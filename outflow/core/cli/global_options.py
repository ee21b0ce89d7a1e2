"""Global options, accepted before or after the subcommand.

``outflow compute_data --backend parallel`` and ``outflow --backend parallel
compute_data`` mean the same. Before click parses anything, the global options
are lifted out of the argument list and put in front, where the root group
declares them. Some are needed even earlier: ``--settings``, ``--config``,
``-ll`` and ``-p`` shape the pipeline and the plugins that provide the commands.
"""

from __future__ import annotations

from collections.abc import Sequence

from outflow.core.records import Record

#: option string -> (attribute, takes a value)
GLOBAL_OPTIONS: dict[str, tuple[str, bool]] = {
    "--version": ("version", False),
    "--settings": ("settings", True),
    "--config": ("config", True),
    "-b": ("backend", True),
    "--backend": ("backend", True),
    "-ll": ("log_level", True),
    "--log-level": ("log_level", True),
    "--dry-run": ("dry_run", False),
    "--db-untracked": ("db_untracked", False),
    "--overwrite-cache": ("overwrite_cache", False),
    "-p": ("plugins", True),
}


class GlobalOptionError(ValueError):
    """A global option lacks its value."""


class GlobalOptions(Record):
    """The global options found in ``argv``; unset ones keep their defaults."""

    __slots__ = ("version", "settings", "config", "backend", "log_level", "dry_run",
                 "db_untracked", "overwrite_cache", "plugins")

    def __init__(self) -> None:
        self.version = False
        self.settings: str | None = None
        self.config: str | None = None
        self.backend: str | None = None
        self.log_level: str | None = None
        self.dry_run = False
        self.db_untracked = False
        self.overwrite_cache = False
        self.plugins: list[str] = []


def hoist_global_options(argv: Sequence[str]) -> tuple[GlobalOptions, list[str]]:
    """Return the parsed global options and ``argv`` with them moved to the front.

    Everything after a ``--`` separator is left alone.
    """
    options = GlobalOptions()
    front: list[str] = []
    rest: list[str] = []
    tokens = list(argv)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == "--":
            rest.extend(tokens[index:])
            break
        name, has_inline, inline = token.partition("=")
        spec = GLOBAL_OPTIONS.get(name if name.startswith("--") else token)
        if spec is None:
            rest.append(token)
            index += 1
            continue
        attribute, takes_value = spec
        if not takes_value:
            setattr(options, attribute, True)
            front.append(token)
            index += 1
            continue
        if has_inline and name.startswith("--"):
            value = inline
            front.append(token)
            index += 1
        else:
            if index + 1 >= len(tokens):
                raise GlobalOptionError(f"option {token} requires a value")
            value = tokens[index + 1]
            front.extend((token, value))
            index += 2
        if attribute == "plugins":
            options.plugins.append(value)
        else:
            setattr(options, attribute, value)
    return options, front + rest

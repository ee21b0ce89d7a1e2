"""Global options, accepted before or after the subcommand.

``outflow compute_data --backend parallel`` and ``outflow --backend parallel
compute_data`` mean the same. Before click parses anything, the global options
are lifted out of the argument list and put in front, where the root group
declares them. Some are needed even earlier: ``--settings``, ``--config``,
``-ll`` and ``-p`` shape the pipeline and the plugins that provide the commands,
and ``--strict`` applies to the configuration checks made while the pipeline is set up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from outflow.core.errors import OutflowError
from outflow.core.records import FrozenRecord, Record


class GlobalOption(FrozenRecord):
    """One global option, declared once for the three places that need it.

    The hoisting below, the root group's click options (built in
    :mod:`outflow.core.cli.app`) and the names a command may not reuse
    (:data:`outflow.core.commands.arguments.RESERVED_OPTIONS`) all read
    :data:`GLOBAL_OPTIONS`, so an option added here is added everywhere. A plain
    record, not a ``click.Option``: this module is on the start-up path and has no use
    for click before the root group is built.
    """

    __slots__ = ("names", "attribute", "takes_value", "metavar", "help", "repeated",
                 "implied")

    def __init__(self, names: tuple[str, ...], attribute: str, help: str, *,
                 metavar: str | None = None, repeated: bool = False,
                 implied: str | None = None) -> None:
        #: Option strings as typed: ``("-b", "--backend")``.
        self.names = names
        #: Where the value goes: the attribute of :class:`GlobalOptions`, the name of
        #: the click parameter.
        self.attribute = attribute
        #: ``--backend NAME`` takes a value (it has a metavar); ``--dry-run`` is a flag.
        self.takes_value = metavar is not None
        self.metavar = metavar
        self.help = help
        #: ``-p a -p b`` keeps every value, in order.
        self.repeated = repeated
        #: The value of the option given alone (``--plan`` means ``--plan=text``): its
        #: value is then only ever written ``--plan=VALUE``, never taken from the next
        #: word (``outflow --plan compute_data`` must not read a format
        #: ``compute_data``).
        self.implied = implied

    def default(self) -> Any:
        """The value when absent: a new list when repeated, ``None``, or ``False`` for a flag."""
        if self.repeated:
            return []
        return None if self.takes_value else False


#: The global options, in the order ``outflow --help`` lists them.
GLOBAL_OPTIONS: tuple[GlobalOption, ...] = (
    GlobalOption(("--version",), "version", "Show the version and exit."),
    GlobalOption(("--settings",), "settings",
                 "Settings module (default: settings.py of the pipeline).", metavar="MODULE"),
    GlobalOption(("--config",), "config",
                 "Configuration file (default: config.yml of the pipeline).", metavar="PATH"),
    GlobalOption(("-b", "--backend"), "backend",
                 "Backend running the tasks (default, parallel, ...).", metavar="NAME"),
    GlobalOption(("-ll", "--log-level"), "log_level",
                 "Log level: DEBUG, INFO, WARNING, ERROR, CRITICAL.", metavar="LEVEL"),
    GlobalOption(("--dry-run",), "dry_run",
                 "Run the command without recording anything in the database (no run, no "
                 "block rows); --plan runs nothing at all."),
    GlobalOption(("--db-untracked",), "db_untracked",
                 "Do not record this run in the database (its tasks may still use it)."),
    GlobalOption(("--overwrite-cache",), "overwrite_cache",
                 "Recompute cached workflows and overwrite their entries."),
    GlobalOption(("--keep-going",), "keep_going",
                 "Maps run every item even when some fail, then fail naming those that "
                 "did (finished outputs are kept and cached)."),
    GlobalOption(("--strict",), "strict",
                 "Unknown configuration sections, tasks and parameters are errors, not "
                 "warnings (also OUTFLOW_STRICT=1)."),
    GlobalOption(("--plan",), "plan",
                 "Validate the command and print what would run (blocks, edges, maps, "
                 "parameters, cache), without running it: --plan, --plan=dot or "
                 "--plan=mermaid.", metavar="FORMAT", implied="text"),
    GlobalOption(("-p",), "plugins", "Load plugin NAME, or block it with no:NAME.",
                 metavar="NAME", repeated=True),
    GlobalOption(("--no-progress",), "no_progress",
                 "No progress bar for maps: log lines instead (also OUTFLOW_PROGRESS=0, "
                 "TERM=dumb)."),
    GlobalOption(("--set",), "overrides",
                 "Set one configuration value, over the file: --set "
                 "parameters.compute.multiplier=5 (the value is read as YAML; repeatable).",
                 metavar="KEY=VALUE", repeated=True),
)

#: Option string -> its declaration, for hoisting.
_BY_NAME: dict[str, GlobalOption] = {
    name: option for option in GLOBAL_OPTIONS for name in option.names
}

#: Every option string of a global option (``-b`` and ``--backend``...).
OPTION_STRINGS: frozenset[str] = frozenset(_BY_NAME)


class GlobalOptionError(OutflowError, ValueError):
    """A global option lacks its value."""


class GlobalOptions(Record):
    """The global options found in ``argv``; unset ones keep their defaults.

    One attribute per :data:`GLOBAL_OPTIONS` entry, with its :meth:`GlobalOption.default`;
    the annotations are for readers and type checkers (a test keeps them in step).
    """

    __slots__ = tuple(option.attribute for option in GLOBAL_OPTIONS)

    version: bool
    settings: str | None
    config: str | None
    backend: str | None
    log_level: str | None
    dry_run: bool
    db_untracked: bool
    overwrite_cache: bool
    keep_going: bool
    strict: bool
    plan: str | None
    plugins: list[str]
    no_progress: bool
    overrides: list[str]

    def __init__(self) -> None:
        for option in GLOBAL_OPTIONS:
            setattr(self, option.attribute, option.default())


def scan_global_options(argv: Sequence[str]
                        ) -> tuple[list[tuple[GlobalOption, list[str], str | None]], list[str]]:
    """The global options in ``argv``, each with the words it took (as typed) and its
    value (None for a flag, or for an option whose value is missing at the end), and
    the other words, in order. Everything after a ``--`` separator is left alone.

    One scan for the two readers: :func:`hoist_global_options` (a run) and the shell
    completion, which keeps an option still waiting for its value.
    """
    found: list[tuple[GlobalOption, list[str], str | None]] = []
    rest: list[str] = []
    tokens = list(argv)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == "--":
            rest.extend(tokens[index:])
            break
        name, has_inline, inline = token.partition("=")
        option = _BY_NAME.get(name if name.startswith("--") else token)
        if option is None:
            rest.append(token)
        elif not option.takes_value:
            found.append((option, [token], None))
        elif has_inline and name.startswith("--"):
            found.append((option, [token], inline))
        elif option.implied is not None:
            found.append((option, [token], option.implied))
        else:
            words = tokens[index:index + 2]
            found.append((option, words, words[1] if len(words) == 2 else None))
            index += 1
        index += 1
    return found, rest


def hoist_global_options(argv: Sequence[str]) -> tuple[GlobalOptions, list[str]]:
    """Return the parsed global options and ``argv`` with them moved to the front.

    Everything after a ``--`` separator is left alone.
    """
    options = GlobalOptions()
    front: list[str] = []
    found, rest = scan_global_options(argv)
    for option, words, value in found:
        if not option.takes_value:
            setattr(options, option.attribute, True)
            front.extend(words)
            continue
        if value is None:
            raise GlobalOptionError(f"option {words[0]} requires a value")
        if option.implied is not None and "=" not in words[0]:
            front.append(f"{words[0]}={value}")  # --plan alone means --plan=text
        else:
            front.extend(words)
        if option.repeated:
            getattr(options, option.attribute).append(value)
        else:
            setattr(options, option.attribute, value)
    return options, front + rest

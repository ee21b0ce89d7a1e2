"""Build the root click group for a pipeline and run it with outflow's error policy.

Error policy: a usage error (unknown command or option, bad value) prints one line
naming the culprit and exits 2; an error of the pipeline (bad configuration, graph,
types, a failing task) prints one line and exits 1. Tracebacks appear only with
``--log-level DEBUG``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from outflow.core.cli.click_commands import NoCompletion, documented_spelling
from outflow.core.cli.global_options import GLOBAL_OPTIONS, scan_global_options
from outflow.core.cli.root import OutflowRoot, PipelineCommands, root_command_classes
from outflow.core.cli.tables import terminal_columns
from outflow.core.errors import CommandInterrupted, OutflowError
from outflow.core.pipeline.config import ConfigurationError
from outflow.core.pipeline.context import PipelineContext

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem, ShellComplete

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
HELP_MAX_WIDTH = 100


def help_width(max_width: int = HELP_MAX_WIDTH) -> int:
    """The width of help text, chosen by click's rule without importing ``shutil``.

    Left to itself, click asks ``shutil.get_terminal_size()``; importing ``shutil``
    costs 4 to 5 ms, a tenth of ``outflow --help``. The rule is the same: the
    terminal's columns (:func:`~outflow.core.cli.tables.terminal_columns`: ``COLUMNS``
    first, 80 when there is no terminal), at most ``max_width``, minus 2, and at least 50.
    """
    return max(min(terminal_columns(), max_width) - 2, 50)


def _global_params() -> list[click.Parameter]:
    """The root group's click options, built from :data:`GLOBAL_OPTIONS`.

    ``--version`` acts as soon as click parses it (it prints and exits, whatever
    follows); the other options reach ``build_root``'s callback by attribute name.
    """
    from outflow.core import __version__

    eager = {"version": _print_version(__version__)}
    params: list[click.Parameter] = []
    for option in GLOBAL_OPTIONS:
        if option.attribute in eager:
            params.append(click.Option(list(option.names), is_flag=True, expose_value=False,
                                       is_eager=True, callback=eager[option.attribute],
                                       help=option.help))
        elif option.takes_value:
            params.append(click.Option([*option.names, option.attribute], metavar=option.metavar,
                                       multiple=option.repeated, help=option.help,
                                       shell_complete=VALUE_COMPLETERS.get(option.attribute)))
        else:
            params.append(click.Option([*option.names, option.attribute], is_flag=True,
                                       help=option.help))
    return params


Completer = Callable[[click.Context, click.Parameter, str], "list[CompletionItem]"]


def _complete_backends(ctx: click.Context, param: click.Parameter,
                       incomplete: str) -> list[CompletionItem]:
    """``-b <TAB>``: the registered backends and their aliases, and ``settings.BACKENDS``."""
    from click.shell_completion import CompletionItem

    from outflow.core.pipeline.context import active_context

    context = active_context()
    registry = context.host.collect()
    items: dict[str, str | None] = {}
    for name in registry.names("backends", with_aliases=True):
        entry = registry.get("backends", name)
        if entry is not None:
            items[name] = entry.help if entry.name == name else f"alias of {entry.name}"
    extra = getattr(context.settings, "BACKENDS", None) or {}
    for name in extra if isinstance(extra, dict) else ():
        items.setdefault(str(name), "settings.BACKENDS")
    return [CompletionItem(name, help=help_text)
            for name, help_text in sorted(items.items()) if name.startswith(incomplete)]


def _complete_log_levels(ctx: click.Context, param: click.Parameter,
                         incomplete: str) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    from outflow.core.logging import LEVEL_NAMES

    return [CompletionItem(level) for level in LEVEL_NAMES
            if level.startswith(incomplete.upper())]


def _complete_path(ctx: click.Context, param: click.Parameter,
                   incomplete: str) -> list[CompletionItem]:
    """The shell's own file-name completion (click's ``file`` completion type)."""
    from click.shell_completion import CompletionItem

    return [CompletionItem(incomplete, type="file")]


def _complete_plan_formats(ctx: click.Context, param: click.Parameter,
                           incomplete: str) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    from outflow.core.workflow.plan_view import FORMATS

    return [CompletionItem(name) for name in FORMATS if name.startswith(incomplete)]


#: Value completion of the global options, by :attr:`GlobalOption.attribute`: the options
#: are declared in :mod:`~outflow.core.cli.global_options`, which has no use for click.
VALUE_COMPLETERS: dict[str, Completer] = {
    "backend": _complete_backends,
    "log_level": _complete_log_levels,
    "config": _complete_path,
    "plan": _complete_plan_formats,
}


def _print_version(version: str) -> Any:
    def callback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value and not ctx.resilient_parsing:
            click.echo(f"outflow {version}")
            ctx.exit(0)

    return callback


def build_root(pipeline_context: PipelineContext, name: str = "outflow") -> OutflowRoot:
    settings = pipeline_context.settings
    host = pipeline_context.host
    reserved = {entry.name for entry in host.collect().all("commands")}
    table = PipelineCommands.collect(
        root_command_classes(settings), list(getattr(settings, "PLUGINS", [])), reserved
    )

    def remember_globals(**options: Any) -> None:
        pipeline_context.backend_name = options.get("backend")
        pipeline_context.dry_run = bool(options.get("dry_run"))
        pipeline_context.db_untracked = bool(options.get("db_untracked"))
        pipeline_context.overwrite_cache = bool(options.get("overwrite_cache"))
        pipeline_context.keep_going = bool(options.get("keep_going"))
        if options.get("strict"):  # else as set up (OUTFLOW_STRICT may have set it)
            pipeline_context.strict = True

    return OutflowRoot(
        host,
        table,
        name=name,
        params=_global_params(),
        callback=remember_globals,
        help="outflow: write, run and track task workflows.",
        context_settings={"help_option_names": ["--help", "-h"], "terminal_width": help_width(),
                          "token_normalize_func": documented_spelling},
    )


def run_root(root: click.Group, argv: Sequence[str], prog_name: str) -> tuple[int, Any]:
    """Run the click root; return ``(exit code, result of the command)``.

    A group typed alone (``outflow``, ``python manage.py``, ``outflow plugins``) prints
    its help on stdout and exits 0: asking what there is is not a usage error. With
    the shell's completion variable set (``_OUTFLOW_COMPLETE``, ``_MANAGE_PY_COMPLETE``)
    it completes instead (:func:`complete`).
    """
    instruction = completion_instruction(prog_name)
    if instruction is not None:
        return complete(root, prog_name, instruction), None
    try:
        result = root.main(args=list(argv), prog_name=prog_name, standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as bare:
        click.echo(bare.ctx.get_help())
        return 0, None
    except click.exceptions.Exit as done:
        return int(done.exit_code or 0), None
    except click.UsageError as error:
        return report(error.format_message(), EXIT_USAGE, error), None
    except click.Abort:
        return report("interrupted", EXIT_INTERRUPTED), None
    except KeyboardInterrupt as error:
        return report("interrupted", EXIT_INTERRUPTED, error), None
    except CommandInterrupted as error:  # Ctrl-C, SIGTERM or SIGHUP during a command
        return report(str(error), error.exit_code, error), None
    except click.ClickException as error:
        return report(error.format_message(), error.exit_code, error), None
    except ConfigurationError as error:  # the user's files, like a usage error
        return report(describe(error), EXIT_USAGE, error), None
    except Exception as error:  # noqa: BLE001 - the pipeline's own errors, reported on one line
        return report(describe_failure(error, prog_name), EXIT_FAILURE, error), None
    if isinstance(result, int) and not isinstance(result, bool):
        return result, None
    return 0, result


def describe(error: BaseException) -> str:
    """``ValueError: ...`` for unexpected errors; an :class:`OutflowError` is its message.

    Decided by class, not by the module that defines it: an error of a user's
    pipeline or plugin (even one living in the ``outflow.`` namespace) keeps its type
    in the line unless it derives from :class:`OutflowError` on purpose.
    """
    text = str(error).strip() or type(error).__name__
    if isinstance(error, OutflowError):
        return text
    return f"{type(error).__name__}: {text}"


def describe_failure(error: Exception, prog_name: str) -> str:
    """:func:`describe`, said of the run ``error`` ended when it ended one: ``run 14
    failed after 1.4 s: ... -> outflow management debug 14``."""
    from outflow.core.commands.summary import ended_run, failure_line

    run = ended_run(error)
    message = describe(error)
    return failure_line(run, message, prog_name) if run is not None else message


def report(message: str, code: int, error: BaseException | None = None) -> int:
    """Print the one-line error (plus the traceback at DEBUG level); return ``code``.

    Both are masked (:func:`_mask`): an exception's message, and so its traceback,
    often quotes the configuration value that failed, a password or a token included.
    """
    if error is not None and _debug_enabled():
        import traceback

        sys.stderr.write(_mask("".join(traceback.format_exception(error))))
    one_line = _mask(" ".join(message.split("\n")).strip())
    print(f"outflow: error: {one_line}", file=sys.stderr)
    return code


def _mask(text: str) -> str:
    """Hide the secrets in an error message or a traceback.

    The active pipeline's configuration secrets, the registered ones, and the password
    of any URL in ``text`` (see :mod:`outflow.core.configuration.secrets`); outside a
    pipeline (an error before its context was made) only the last two.
    """
    from outflow.core.configuration.secrets import mask_text
    from outflow.core.pipeline.context import active_context, has_active_context

    return mask_text(text, active_context().config if has_active_context() else None)


def _debug_enabled() -> bool:
    import logging

    return logging.getLogger().isEnabledFor(logging.DEBUG)


# -- shell completion -----------------------------------------------------------------
# click's mechanism: the script printed by ``_OUTFLOW_COMPLETE=bash_source outflow``
# runs ``outflow`` again at each <TAB> with ``_OUTFLOW_COMPLETE=bash_complete`` and the
# words typed in COMP_WORDS / COMP_CWORD. Two things are outflow's own: global options
# may follow the subcommand (they are hoisted, as for a run), and nothing but the
# completions may reach the terminal (no warning, no error, no traceback).


def completion_variable(prog_name: str) -> str | None:
    """click's completion variable of ``prog_name`` (``outflow``: ``_OUTFLOW_COMPLETE``,
    ``manage.py``: ``_MANAGE_PY_COMPLETE``); None for ``python -m outflow``, which no
    shell completes (the command word is ``python``)."""
    name = prog_name.replace("-", "_").replace(".", "_")
    return f"_{name}_COMPLETE".upper() if name.isidentifier() else None


def completion_instruction(prog_name: str) -> str | None:
    """The value of the completion variable (``bash_complete``...), None when unset."""
    variable = completion_variable(prog_name)
    return (os.environ.get(variable) or None) if variable is not None else None


def complete_command_line(prog_name: str, instruction: str) -> int:
    """``outflow`` run by the shell's completion script: print the script, or the completions.

    The script needs no pipeline. Completions do (its commands, its backends): it is
    set up from the working directory and the global options typed so far, with
    stdout and stderr silenced, so that a warning of the configuration or a print of
    the pipeline's code on import does not end up on the command line. A pipeline
    that fails to set up completes nothing.
    """
    from contextlib import redirect_stderr, redirect_stdout

    from outflow.core.pipeline.pipeline import Pipeline

    shell, _, action = instruction.partition("_")
    completion = completion_class(shell)
    if action == "source" or completion is None:
        return complete(click.Command(prog_name), prog_name, instruction)
    if action != "complete":
        return 1
    stdout = sys.stdout
    with open(os.devnull, "w") as sink, redirect_stdout(sink), redirect_stderr(sink):
        try:
            typed, _ = completion(click.Command(prog_name), {}, prog_name, "").get_completion_args()
            front, _ = split_global_options(typed)
            if front and front[-1] in _value_options():  # its value is being typed
                front = front[:-1]
            with Pipeline(argv=front, prog_name=prog_name) as pipeline:
                if pipeline.setup_error is not None or pipeline.context is None:
                    return 1
                root = build_root(pipeline.context, name=prog_name)
                with redirect_stdout(stdout):
                    return complete(root, prog_name, instruction)
        except Exception:  # noqa: BLE001 - a completion prints completions or nothing
            return 1


def complete(root: click.Command, prog_name: str, instruction: str) -> int:
    """click's ``shell_complete`` for ``root``, with :func:`completion_class`'s completions
    and without a word on stderr: an error completes nothing (exit 1)."""
    from contextlib import redirect_stderr

    shell, _, action = instruction.partition("_")
    completion = completion_class(shell)
    if completion is None or action not in ("source", "complete"):
        return 1
    variable = completion_variable(prog_name) or ""
    shell_completion = completion(root, {}, prog_name, variable)
    if action == "source":
        click.echo(shell_completion.source().encode(), nl=False)
        return 0
    with open(os.devnull, "w") as sink, redirect_stderr(sink):
        try:
            text = shell_completion.complete()
        except Exception:  # noqa: BLE001 - a completion prints completions or nothing
            return 1
    click.echo(text.encode())
    return 0


def completion_class(shell: str) -> type[ShellComplete] | None:
    """click's completion class for ``shell`` (bash, zsh, fish), completing the way
    outflow parses: see :func:`outflow_completions`."""
    from click.shell_completion import get_completion_class

    base = get_completion_class(shell)
    if base is None:
        return None

    def get_completions(self: ShellComplete, args: list[str],
                        incomplete: str) -> list[CompletionItem]:
        def resolve(args: list[str], incomplete: str) -> list[CompletionItem]:
            return base.get_completions(self, args, incomplete)

        return outflow_completions(resolve, args, incomplete)

    return type(f"Outflow{base.__name__}", (base,), {"get_completions": get_completions})


def outflow_completions(resolve: Callable[[list[str], str], list[CompletionItem]],
                        args: list[str], incomplete: str) -> list[CompletionItem]:
    """Completions of ``incomplete`` after ``args``, global options hoisted as for a run.

    ``resolve`` is click's completion (it follows ``args`` down the command tree). The
    value of a global option, wherever it is typed, is completed at the root, where the
    option is; after a subcommand, ``-<TAB>`` offers the global options beside the
    subcommand's own.
    """
    try:
        return _completions(resolve, _joined_equals(args), incomplete)
    except NoCompletion:  # after a word that names no command
        return []


def _completions(resolve: Callable[[list[str], str], list[CompletionItem]],
                 args: list[str], incomplete: str) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    name, has_value, value = incomplete.partition("=")
    if args and args[-1] in _value_options():  # -b <TAB>
        return resolve([*split_global_options(args[:-1])[0], args[-1]], incomplete)
    if args[-2:-1] and args[-1] == "=" and args[-2] in _inline_value_options():
        # bash splits --plan=<TAB> at the "=": ... --plan = <TAB>
        return resolve([*split_global_options(args[:-2])[0], args[-2]], incomplete)
    if has_value and name in _inline_value_options():  # --plan=<TAB> as one word
        return resolve([*split_global_options(args)[0], name], value)
    front, rest = split_global_options(args)
    items = resolve([*front, *rest], incomplete)
    if rest and incomplete.startswith("-"):
        given = {token.partition("=")[0] for token in front}
        offered = {item.value for item in items}
        for option in GLOBAL_OPTIONS:
            if option.attribute == "version" or (not option.repeated
                                                 and given.intersection(option.names)):
                continue
            items.extend(CompletionItem(option_name, help=option.help)
                         for option_name in option.names
                         if option_name.startswith(incomplete) and option_name not in offered)
    return items


def _joined_equals(args: list[str]) -> list[str]:
    """``--plan = dot`` (bash breaks words at ``=``) as typed: ``--plan=dot``."""
    joined: list[str] = []
    index = 0
    while index < len(args):
        if (args[index].startswith("--") and args[index + 1:index + 2] == ["="]
                and index + 2 < len(args)):
            joined.append(f"{args[index]}={args[index + 2]}")
            index += 3
        else:
            joined.append(args[index])
            index += 1
    return joined


def split_global_options(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(global options with their values, the rest)``, the way a run hoists them
    (:func:`~outflow.core.cli.global_options.hoist_global_options`), but a global
    option still waiting for its value is kept rather than refused."""
    found, rest = scan_global_options(args)
    return [word for _option, words, _value in found for word in words], rest


def _value_options() -> set[str]:
    """The option strings of the global options whose value is the next word (``-b``,
    ``--backend``...; not ``--plan``, whose value is only written ``--plan=dot``)."""
    return {name for option in GLOBAL_OPTIONS
            if option.takes_value and option.implied is None
            for name in option.names}


def _inline_value_options() -> set[str]:
    """The long option strings of the global options that take a value after ``=``."""
    return {name for option in GLOBAL_OPTIONS if option.takes_value
            for name in option.names if name.startswith("--")}

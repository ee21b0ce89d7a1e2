"""Build the root click group for a pipeline and run it with outflow's error policy.

Error policy: a usage error (unknown command or option, bad value) prints one line
naming the culprit and exits 2; an error of the pipeline (bad configuration, graph,
types, a failing task) prints one line and exits 1. Tracebacks appear only with
``--log-level DEBUG``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from outflow.core.cli.global_options import GLOBAL_OPTIONS
from outflow.core.cli.root import OutflowRoot, PipelineCommands, root_command_classes
from outflow.core.errors import CommandInterrupted, OutflowError
from outflow.core.pipeline.config import ConfigurationError
from outflow.core.pipeline.context import PipelineContext

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
HELP_MAX_WIDTH = 100


def help_width(max_width: int = HELP_MAX_WIDTH) -> int:
    """The width of help text, chosen by click's rule without importing ``shutil``.

    Left to itself, click asks ``shutil.get_terminal_size()``; importing ``shutil``
    costs 4 to 5 ms, a tenth of ``outflow --help``. The rule is the same: the
    terminal's columns (``COLUMNS`` first, 80 when there is no terminal), at most
    ``max_width``, minus 2, and at least 50.
    """
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return max(min(columns or 80, max_width) - 2, 50)


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
                                       multiple=option.repeated, help=option.help))
        else:
            params.append(click.Option([*option.names, option.attribute], is_flag=True,
                                       help=option.help))
    return params


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
        if options.get("strict"):  # else as set up (OUTFLOW_STRICT may have set it)
            pipeline_context.strict = True

    return OutflowRoot(
        host,
        table,
        name=name,
        params=_global_params(),
        callback=remember_globals,
        help="outflow: write, run and track task workflows.",
        context_settings={"help_option_names": ["--help", "-h"], "terminal_width": help_width()},
    )


def run_root(root: click.Group, argv: Sequence[str], prog_name: str) -> tuple[int, Any]:
    """Run the click root; return ``(exit code, result of the command)``."""
    try:
        result = root.main(args=list(argv), prog_name=prog_name, standalone_mode=False)
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
        return report(describe(error), EXIT_FAILURE, error), None
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

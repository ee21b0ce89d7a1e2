"""Turn :class:`~outflow.core.commands.Command` classes into click commands.

A command with subcommands becomes a group; invoking a group that is not
``invokable`` prints its help. The leaf's callback gathers the values of every
level's options into ``context.args`` (an ``argparse.Namespace``, as the user guide
shows) and hands over to :mod:`outflow.core.commands.execution`.

Names are documented with underscores (``list_runs``, ``--plugin_dir``: Python names)
and typed with dashes too (``list-runs``, ``--plugin-dir``: what other command lines
use). Both spellings work; help, errors and suggestions show the documented one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from argparse import Namespace

    from click.shell_completion import CompletionItem

from outflow.core.commands.command import Command


class SuggestingGroup(click.Group):
    """A group whose unknown-command error names the closest match, and that takes
    ``list-runs`` for its command ``list_runs``."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        try:
            command = self.get_command(ctx, name)
            if command is None and "-" in name and not name.startswith("-"):
                documented = name.replace("-", "_")
                command = self.get_command(ctx, documented)
                if command is not None:
                    name = documented
        except click.UsageError:  # e.g. a name two plugins define
            if not ctx.resilient_parsing:
                raise
            command = None
        if command is None and ctx.resilient_parsing and not name.startswith("-"):
            return name, NothingToComplete(name), args[1:]
        if command is None and not ctx.resilient_parsing:
            if name.startswith("-"):
                return super().resolve_command(ctx, args)
            raise click.UsageError(unknown_command_message(name, self.list_commands(ctx), ctx), ctx)
        return name, command, args[1:]

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """click's completions, plus the commands that ``list-r<TAB>`` means (``list_runs``)."""
        items = super().shell_complete(ctx, incomplete)
        if "-" in incomplete and incomplete[:1].isalnum():
            items.extend(super().shell_complete(ctx, incomplete.replace("-", "_")))
        return items


class NoCompletion(Exception):
    """Raised while completing after a word that names no command: see
    :class:`NothingToComplete`."""


class NothingToComplete(click.Command):
    """Where completion goes after a word that names no command (a typo, a name two
    plugins define). Left to itself, click would offer the group's commands again;
    :func:`~outflow.core.cli.app.outflow_completions` would add the global options.
    Raising :class:`NoCompletion` tells it that nothing is to be offered at all."""

    def __init__(self, name: str) -> None:
        super().__init__(name, add_help_option=False,
                         context_settings={"ignore_unknown_options": True,
                                           "allow_extra_args": True})

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        raise NoCompletion(self.name)


def documented_spelling(token: str) -> str:
    """The option name as the command declares it: ``plugin-dir`` is ``plugin_dir``
    when the command being parsed has ``--plugin_dir``; any other token is unchanged.

    Installed as the root's ``token_normalize_func``, which every command's context
    inherits: click passes it each option name without its dashes, both the declared
    ones (when it builds a parser) and the typed ones. It receives no context, but
    click parses within the command's context, so the current one is that command.
    Only underscores are added: ``--dry_run`` is not ``--dry-run``, because global
    options are picked out of the command line by their exact spelling before click
    parses it (:func:`~outflow.core.cli.global_options.hoist_global_options`).
    """
    if "-" not in token:
        return token
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return token
    documented = token.replace("-", "_")
    for param in ctx.command.params:
        for name in (*param.opts, *param.secondary_opts):
            if name.lstrip("-") == documented and name.startswith("-"):
                return documented
    return token


def unknown_command_message(name: str, known: list[str], ctx: click.Context) -> str:
    import difflib

    where = ctx.command_path
    message = f"unknown command {name!r} for {where!r}"
    close = difflib.get_close_matches(name.replace("-", "_"), known, n=1, cutoff=0.5)
    if close:
        message += f"; did you mean {close[0]!r}?"
    elif known:
        message += f"; available: {', '.join(sorted(known))}"
    return message


def _collect_args(ctx: click.Context) -> Namespace:
    """Options of every level from the root down, leaf values winning."""
    chain = []
    node: click.Context | None = ctx
    while node is not None:
        chain.append(node.params)
        node = node.parent
    values: dict[str, Any] = {}
    for params in reversed(chain):
        values.update(params)
    values.pop("version", None)
    values.pop("plugins", None)
    from argparse import Namespace

    return Namespace(**values)


def build_click_command(command_class: type[Command], name: str | None = None) -> click.Command:
    """The click command (or group) for ``command_class``."""
    name = name or command_class.name
    declaration = command_class()
    declaration.add_arguments()
    params = [spec.to_click(command_class.full_name() or name) for spec in declaration.arguments]
    help_text = (command_class.help or command_class.__doc__ or "").strip() or None

    def callback(**_: Any) -> Any:
        ctx = click.get_current_context()
        if isinstance(ctx.command, click.Group) and ctx.invoked_subcommand:
            return None
        if not command_class.invokable:
            click.echo(ctx.get_help())
            return None
        from outflow.core.commands.execution import execute_command
        from outflow.core.errors import CommandInterrupted

        try:
            return execute_command(command_class, _collect_args(ctx))
        except KeyboardInterrupt as interrupted:  # the run is wound down already
            # click would turn it into Abort, printing a blank line on the way.
            raise CommandInterrupted(interrupted) from interrupted

    if not command_class.subcommands:
        return click.Command(name, params=params, callback=callback, help=help_text,
                             short_help=command_class.summary() or None)
    group = SuggestingGroup(
        name,
        params=params,
        callback=callback,
        help=help_text,
        short_help=command_class.summary() or None,
        invoke_without_command=True,
        no_args_is_help=False,
    )
    for sub_name, sub_class in command_class.subcommands.items():
        group.add_command(build_click_command(sub_class, sub_name), sub_name)
    return group

"""The root ``outflow`` group: plugin commands, and the pipeline's commands flat and grouped.

Commands come from two places:

- plugins' ``outflow_register_commands`` hook (``management``, ``plugins``): listed
  from the registry without importing them, loaded when invoked;
- the pipeline: ``@RootCommand.subcommand()`` classes. Each is reachable by its own
  name (``outflow compute_data``) and under its plugin's name
  (``outflow data_reduction compute_data``), so two plugins may each define a
  ``compute`` command; the flat name of such a command is then ambiguous and the
  error says which grouped names to use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from outflow.core.cli.click_commands import SuggestingGroup, build_click_command
from outflow.core.commands.command import Command, RootCommand
from outflow.core.records import Record

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem


class PipelineCommands(Record):
    """The pipeline's commands, indexed by flat name and by plugin group."""

    __slots__ = ("flat", "groups")

    def __init__(self) -> None:
        self.flat: dict[str, list[type[Command]]] = {}
        self.groups: dict[str, tuple[str, dict[str, type[Command]]]] = {}

    @classmethod
    def collect(cls, root_classes: list[type[Command]], plugins: list[str],
                reserved: set[str]) -> PipelineCommands:
        table = cls()
        by_plugin: dict[str, dict[str, type[Command]]] = {}
        seen: set[type[Command]] = set()
        for root in root_classes:
            for command in root.registered:
                name = command.name
                if command in seen:
                    continue
                seen.add(command)
                table.flat.setdefault(name, []).append(command)
                plugin = owning_plugin(command, plugins)
                if plugin is not None:
                    by_plugin.setdefault(plugin, {})[name] = command
        short_names: dict[str, list[str]] = {}
        for plugin in by_plugin:
            short_names.setdefault(plugin.rpartition(".")[2], []).append(plugin)
        for plugin, commands in by_plugin.items():
            short = plugin.rpartition(".")[2]
            group_name = short if len(short_names[short]) == 1 and short not in reserved else plugin
            table.groups[group_name] = (plugin, commands)
        return table


def owning_plugin(command: type[Command], plugins: list[str]) -> str | None:
    """The pipeline plugin whose package defines ``command`` (longest match)."""
    module = command.__module__
    matches = [p for p in plugins if module == p or module.startswith(p + ".")]
    return max(matches, key=len) if matches else None


class PluginGroup(SuggestingGroup):
    """``outflow data_reduction ...``: one pipeline plugin's commands.

    When the plugin also has a command named like the group (the plugin template's
    hello command ``data_reduction``), invoking the group alone runs that command.
    """

    def __init__(self, name: str, plugin: str, commands: dict[str, type[Command]]) -> None:
        self.plugin = plugin
        self.own = commands.get(name)
        own_click = build_click_command(self.own, name) if self.own is not None else None
        super().__init__(
            name,
            params=list(own_click.params) if own_click is not None else [],
            callback=self._invoke_own,
            help=(own_click.help if own_click is not None else None)
            or f"Commands of the plugin {plugin}.",
            short_help=f"commands of plugin {plugin}",
            invoke_without_command=True,
        )
        self._own_click = own_click
        for sub_name, command in commands.items():
            if command is not self.own or command.subcommands:
                self.add_command(build_click_command(command, sub_name), sub_name)

    def _invoke_own(self, **_: Any) -> Any:
        ctx = click.get_current_context()
        if ctx.invoked_subcommand:
            return None
        if self._own_click is None:
            click.echo(ctx.get_help())
            return None
        return ctx.invoke(self._own_click.callback, **ctx.params)


class OutflowRoot(SuggestingGroup):
    """The root group; see the module docstring for where commands come from."""

    def __init__(self, host: Any, pipeline: PipelineCommands, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.host = host
        self.pipeline = pipeline

    def _registered(self) -> dict[str, Any]:
        return {entry.name: entry for entry in self.host.collect().all("commands")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(self._registered()) | set(self.pipeline.flat) | set(self.pipeline.groups)
        return sorted(names)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        entry = self._registered().get(name)
        if entry is not None:
            target = entry.load()
            if isinstance(target, click.Command):
                return target
            return build_click_command(target, name)
        if name in self.pipeline.groups:
            plugin, commands = self.pipeline.groups[name]
            return PluginGroup(name, plugin, commands)
        candidates = self.pipeline.flat.get(name)
        if not candidates:
            return None
        if len(candidates) > 1:
            grouped = [
                f"outflow {group} {name}"
                for group, (_, commands) in sorted(self.pipeline.groups.items())
                if name in commands
            ]
            raise click.UsageError(
                f"command {name!r} is defined by several plugins; use one of: "
                + ", ".join(grouped),
                ctx,
            )
        return build_click_command(candidates[0], name)

    def command_rows(self, ctx: click.Context) -> list[tuple[str, str]]:
        """``(name, summary)`` of every command, from what is registered: listing the
        commands (help, completion) imports no plugin command."""
        registered = self._registered()
        rows = []
        for name in self.list_commands(ctx):
            if name in registered:
                rows.append((name, registered[name].help or ""))
            elif name in self.pipeline.groups:
                rows.append((name, f"commands of plugin {self.pipeline.groups[name][0]}"))
            else:
                commands = self.pipeline.flat[name]
                summary = commands[0].summary() if len(commands) == 1 else "(several plugins)"
                rows.append((name, summary))
        return rows

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List commands from what is registered, without importing plugin commands."""
        rows = self.command_rows(ctx)
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """Commands (``list-r`` finds ``list_runs`` too) and the root's options.

        From :meth:`command_rows`: click's own completion would build every command,
        importing plugins' commands and failing on a name two plugins define.
        """
        from click.shell_completion import CompletionItem

        prefixes = (incomplete, incomplete.replace("-", "_"))
        items = [CompletionItem(name, help=summary) for name, summary in self.command_rows(ctx)
                 if name.startswith(prefixes)]
        items.extend(click.Command.shell_complete(self, ctx, incomplete))
        return items


def root_command_classes(settings: Any) -> list[type[Command]]:
    """``RootCommand`` plus ``settings.ROOT_COMMAND_CLASS`` when that is another class."""
    from outflow.core.plugins.registry import load_target

    configured = load_target(getattr(settings, "ROOT_COMMAND_CLASS", RootCommand))
    return [RootCommand] if configured is RootCommand else [configured, RootCommand]

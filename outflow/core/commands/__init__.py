"""Commands: ``from outflow.core.commands import Command, RootCommand``."""

from outflow.core.commands.command import Command, RootCommand

__all__ = ["Command", "RootCommand"]

"""Commands: ``from outflow.core.commands import Command, RootCommand``.

With the errors a command's definition or its backend choice can raise, to be caught
by name. ``BackendNotFoundError`` is imported on first use: choosing a backend is not
part of ``outflow --help``.
"""

from outflow.core import lazy_exports
from outflow.core.commands.arguments import ArgumentDefinitionError
from outflow.core.commands.command import Command, RootCommand

__all__ = ["ArgumentDefinitionError", "BackendNotFoundError", "Command", "RootCommand"]

__getattr__ = lazy_exports(globals(), {
    "outflow.core.commands.backend_choice": ("BackendNotFoundError",),
})

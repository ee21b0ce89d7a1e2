"""``Command``: an entry point of the command line that sets up a workflow.

A pipeline declares its commands by subclassing :class:`Command` and decorating the
class with ``@RootCommand.subcommand()`` (or ``@Parent.subcommand()`` for nested
commands, like ``git clone``). The class only *declares*: options through
:meth:`Command.add_arguments`, the task graph through :meth:`Command.setup_tasks`.
The command line (``outflow.core.cli``) turns the declarations into click commands,
and :mod:`outflow.core.commands.execution` runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from outflow.core.commands.arguments import ArgumentSpec
from outflow.core.naming import snake_case

C = TypeVar("C", bound=type["Command"])


class Command:
    """Base class of every command.

    Class attributes set by :meth:`subcommand`: ``name`` (what users type),
    ``invokable`` (False makes a pure group that prints its help), ``db_untracked``
    (run without any database) and ``backend`` (the backend this command prefers).
    """

    name: ClassVar[str] = ""
    invokable: ClassVar[bool] = True
    db_untracked: ClassVar[bool] = False
    backend: ClassVar[str | None] = None
    help: ClassVar[str | None] = None
    #: Whether a run of the command ends with its summary line (``run 14 succeeded in
    #: 4.3 s``); None: as the command it is registered under (yes at the root). Tools
    #: that only look at runs (``management``) say no for all their subcommands.
    announce_run: ClassVar[bool | None] = None
    parent: ClassVar[type[Command] | None] = None
    subcommands: ClassVar[dict[str, type[Command]]]
    #: Every class registered under this one, in order. Unlike ``subcommands`` (by
    #: name, last wins) it keeps two plugins' commands of the same name, which the
    #: command line then offers grouped by plugin.
    registered: ClassVar[list[type[Command]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.subcommands = {}  # each class keeps its own children
        cls.registered = []
        if "name" not in cls.__dict__:
            cls.name = snake_case(cls.__name__)

    def __init__(self) -> None:
        self.arguments: list[ArgumentSpec] = []

    # -- declaration API ----------------------------------------------------------
    def add_arguments(self) -> None:
        """Override to declare options with :meth:`add_argument`."""

    def add_argument(self, *names: str, **kwargs: Any) -> None:
        """Declare an option or positional argument, argparse style."""
        if not names:
            raise TypeError("add_argument() needs an option string or a positional name")
        self.arguments.append(ArgumentSpec(tuple(names), kwargs))

    def setup_tasks(self) -> Any:
        """Override to instantiate tasks and pipe them; nothing runs here yet."""
        return None

    # -- registration -------------------------------------------------------------
    @classmethod
    def subcommand(
        cls,
        name: str | None = None,
        invokable: bool = True,
        db_untracked: bool = False,
        backend: str | None = None,
        help: str | None = None,
    ) -> Callable[[C], C]:
        """Class decorator registering a command under this one."""

        def register(command_class: C) -> C:
            if not (isinstance(command_class, type) and issubclass(command_class, Command)):
                raise TypeError(
                    f"@{cls.__name__}.subcommand() decorates Command subclasses, "
                    f"not {command_class!r}"
                )
            command_class.name = name or snake_case(command_class.__name__)
            command_class.invokable = invokable
            command_class.db_untracked = db_untracked
            command_class.backend = backend
            if help is not None:
                command_class.help = help
            command_class.parent = cls
            cls.subcommands[command_class.name] = command_class
            key = (command_class.__module__, command_class.__qualname__)
            cls.registered[:] = [  # a module imported again replaces its classes
                known for known in cls.registered
                if (known.__module__, known.__qualname__) != key
            ] + [command_class]
            return command_class

        return register

    @classmethod
    def summary(cls) -> str:
        """First line of the help (``help=`` or the class docstring)."""
        text = cls.help or cls.__doc__ or ""
        return text.strip().splitlines()[0] if text.strip() else ""

    @classmethod
    def announces_run(cls) -> bool:
        """:attr:`announce_run`, inherited along the registration chain."""
        node: type[Command] | None = cls
        while node is not None:
            if node.__dict__.get("announce_run") is not None:
                return bool(node.__dict__["announce_run"])
            node = node.parent
        return True

    @classmethod
    def full_name(cls) -> str:
        """Space-separated path from the root: ``management db upgrade``."""
        parts = []
        node: type[Command] | None = cls
        while node is not None and not issubclass(node, RootCommand):
            parts.append(node.name)
            node = node.parent
        return " ".join(reversed(parts))


class RootCommand(Command):
    """The root of a pipeline's commands: decorate yours with ``@RootCommand.subcommand()``.

    ``settings.ROOT_COMMAND_CLASS`` may name a subclass for special behaviour; commands
    registered on ``RootCommand`` itself are available with any root class.
    """

    name: ClassVar[str] = "outflow"


Command.subcommands = {}
Command.registered = []

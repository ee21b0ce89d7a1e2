"""``Command.add_argument``: argparse's vocabulary, translated to click parameters.

The user guide writes command options the argparse way
(``self.add_argument("--multiplier", type=int, default=2)``); click parses them.
Supported: option strings or a positional name, ``action`` (store, store_true,
store_false, store_const, count, append), ``type``, ``default``, ``help``,
``choices``, ``nargs`` (an int, ``"?"``, ``"*"``, ``"+"``), ``required``, ``dest``,
``metavar``, ``const``. One keyword is not argparse's: ``shell_complete``, click's
completion callback ``(ctx, param, incomplete) -> list of str or CompletionItem``,
for the values of an argument that the shell should complete (``management debug
RUN`` completes run ids); ``choices`` complete without it.

An option declared ``--plugin_dir`` is typed ``--plugin-dir`` too (see
:func:`outflow.core.cli.click_commands.documented_spelling`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

from outflow.core.cli.global_options import OPTION_STRINGS
from outflow.core.errors import OutflowError
from outflow.core.records import Record

#: Options owned by the ``outflow`` root; a command may not define them again.
RESERVED_OPTIONS = OPTION_STRINGS | {"--help"}

_ACTIONS = {"store", "store_true", "store_false", "store_const", "count", "append"}


class ArgumentDefinitionError(OutflowError, ValueError):
    """A command declared an argument outflow cannot honour."""


class _CallableType(click.ParamType):
    """Wrap an argparse-style ``type=`` callable so its errors become usage errors."""

    def __init__(self, func: Callable[[str], Any]) -> None:
        self.func = func
        self.name = getattr(func, "__name__", "value")

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self.func(value)
        except (TypeError, ValueError) as exc:
            self.fail(f"invalid {self.name} value {value!r}: {exc}", param, ctx)


class _TypedChoice(click.ParamType):
    """``choices=`` after ``type=`` conversion, as argparse checks them."""

    name = "choice"

    def __init__(self, choices: Sequence[Any], inner: click.ParamType) -> None:
        self.choices = list(choices)
        self.inner = inner

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "{" + ",".join(str(choice) for choice in self.choices) + "}"

    def shell_complete(self, ctx: click.Context, param: click.Parameter,
                       incomplete: str) -> list[Any]:
        """The choices that start with what is typed."""
        from click.shell_completion import CompletionItem

        return [CompletionItem(str(choice)) for choice in self.choices
                if str(choice).startswith(incomplete)]

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        converted = self.inner.convert(value, param, ctx)
        if converted not in self.choices:
            listed = ", ".join(repr(choice) for choice in self.choices)
            self.fail(f"invalid choice {value!r} (choose from {listed})", param, ctx)
        return converted


def _click_type(type_: Any) -> click.ParamType:
    if type_ is None or type_ is str:
        return click.STRING
    if type_ in (int, float, bool):
        return click.types.convert_type(type_)
    if isinstance(type_, click.ParamType):
        return type_
    return _CallableType(type_)


class ArgumentSpec(Record):
    """One ``add_argument`` call, kept until the click parameter is built."""

    __slots__ = ("names", "kwargs")

    def __init__(self, names: tuple[str, ...], kwargs: dict[str, Any] | None = None) -> None:
        self.names = names
        self.kwargs: dict[str, Any] = kwargs if kwargs is not None else {}

    @property
    def is_option(self) -> bool:
        return self.names[0].startswith("-")

    @property
    def dest(self) -> str:
        if "dest" in self.kwargs:
            return str(self.kwargs["dest"])
        if not self.is_option:
            return self.names[0].replace("-", "_")
        longs = [name for name in self.names if name.startswith("--")]
        return (longs or list(self.names))[0].lstrip("-").replace("-", "_")

    def to_click(self, command_name: str) -> click.Parameter:
        kwargs = dict(self.kwargs)
        action = kwargs.pop("action", "store")
        if action not in _ACTIONS:
            raise ArgumentDefinitionError(
                f"command {command_name}: argument {self.names[0]}: unsupported action {action!r}"
            )
        # ``--dry_run`` too: typed ``--dry-run``, it would be taken for the global option.
        clash = sorted(name for name in self.names
                       if name in RESERVED_OPTIONS or name.replace("_", "-") in RESERVED_OPTIONS)
        if clash:
            raise ArgumentDefinitionError(
                f"command {command_name}: option {clash[0]} is a global option of outflow"
            )
        kwargs.pop("dest", None)
        type_ = _click_type(kwargs.pop("type", None))
        choices = kwargs.pop("choices", None)
        if choices is not None:
            type_ = _TypedChoice(choices, type_)
        nargs = kwargs.pop("nargs", None)
        common: dict[str, Any] = {
            "default": kwargs.pop("default", None),
            "required": bool(kwargs.pop("required", False)),
            "metavar": kwargs.pop("metavar", None),
        }
        help_text = kwargs.pop("help", None)
        const = kwargs.pop("const", None)
        completer = kwargs.pop("shell_complete", None)
        if kwargs:
            raise ArgumentDefinitionError(
                f"command {command_name}: argument {self.names[0]}: unsupported keyword(s) "
                + ", ".join(sorted(kwargs))
            )
        if not self.is_option:
            return self._positional(type_, nargs, common, completer)
        decls = [*self.names, self.dest]
        if action in ("store_true", "store_false"):
            flag_default = action == "store_false"
            default = flag_default if common["default"] is None else common["default"]
            return click.Option(decls, is_flag=True, flag_value=not flag_default,
                                default=default, help=help_text)
        if action == "store_const":
            return click.Option(decls, is_flag=True, flag_value=const,
                                default=common["default"], help=help_text)
        if action == "count":
            return click.Option(decls, count=True, default=common["default"] or 0, help=help_text)
        option_kwargs: dict[str, Any] = {"type": type_, "help": help_text,
                                         "shell_complete": completer, **common}
        if action == "append" or nargs in ("*", "+"):
            option_kwargs["multiple"] = True
            option_kwargs["default"] = common["default"] or ()
            if nargs == "+":
                option_kwargs["required"] = True
        elif isinstance(nargs, int):
            option_kwargs["nargs"] = nargs
        return click.Option(decls, show_default=common["default"] is not None, **option_kwargs)

    def _positional(
        self, type_: click.ParamType, nargs: Any, common: dict[str, Any], completer: Any = None
    ) -> click.Parameter:
        kwargs: dict[str, Any] = {"type": type_, "metavar": common["metavar"],
                                  "shell_complete": completer}
        if nargs in ("*", "+"):
            kwargs["nargs"] = -1
            kwargs["required"] = nargs == "+"
        elif nargs == "?":
            kwargs["required"] = False
            kwargs["default"] = common["default"]
        else:
            kwargs["required"] = True if common["default"] is None else common["required"]
            if isinstance(nargs, int):
                kwargs["nargs"] = nargs
            if common["default"] is not None:
                kwargs["default"] = common["default"]
        return click.Argument([self.dest], **kwargs)

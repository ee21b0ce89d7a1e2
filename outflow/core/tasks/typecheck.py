"""Runtime type checks of target values, and static compatibility of connected targets.

Values are checked with beartype, which understands every typing construct
(``List[int]``, ``Optional``, unions, ``TypedDict``, protocols...). Checks are on the
per-task hot path, so each target builds its predicate once (see
:meth:`outflow.core.target.Target.checker`): plain classes become an ``isinstance``
test, ``Any`` no test at all, everything else a cached beartype tester.

The PEP 484 numeric tower is on: an ``int`` is accepted where ``float`` is
declared, as type checkers and users expect. Containers are checked with
beartype's default constant-time strategy (one randomly chosen item per check),
so passing a list of a million values between tasks costs no more than passing one.
"""

from __future__ import annotations

import collections.abc
import inspect
import numbers
import re
import types
import typing
import warnings
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from beartype import BeartypeConf
from beartype.door import is_bearable
from beartype.roar import BeartypeDecorHintPep585DeprecationWarning, BeartypeException

from outflow.core.tasks.errors import TaskTypeError
from outflow.core.types import Skipped

_CONF = BeartypeConf(is_pep484_tower=True)
_NONE_TYPE = type(None)
_TOWER_CLASSES = (float, complex)


def is_any(hint: Any) -> bool:
    """True for hints that accept every value (``Any``, ``object``, no annotation)."""
    return hint is Any or hint is object or hint is inspect.Parameter.empty


def is_typeddict(hint: Any) -> bool:
    """True for TypedDict classes of ``typing`` and ``typing_extensions`` alike."""
    return (
        isinstance(hint, type)
        and issubclass(hint, dict)
        and hasattr(hint, "__total__")
        and hasattr(hint, "__annotations__")
    )


def _plain_class(hint: Any) -> bool:
    return (
        isinstance(hint, type)
        and hint not in _TOWER_CLASSES
        and not isinstance(hint, types.GenericAlias)
        and not is_typeddict(hint)
        and not getattr(hint, "_is_protocol", False)
    )


def make_checker(hint: Any) -> Callable[[Any], bool] | None:
    """A predicate ``value -> bool`` for ``hint``; None when every value is accepted.

    Raises :class:`TypeError` when beartype cannot check ``hint`` at all.
    """
    if is_any(hint):
        return None
    if _plain_class(hint):
        cls = hint
        return lambda value: isinstance(value, cls)
    try:
        return _beartype_checker(hint)
    except TypeError:  # unhashable hint: no cache
        return _build_beartype_checker(hint)


@lru_cache(maxsize=1024)
def _beartype_checker(hint: Any) -> Callable[[Any], bool]:
    return _build_beartype_checker(hint)


def _build_beartype_checker(hint: Any) -> Callable[[Any], bool]:
    try:
        with warnings.catch_warnings():
            # typing.List & co. are what users write (and what the docs show):
            # beartype's PEP 585 deprecation notice is noise for them.
            warnings.simplefilter("ignore", BeartypeDecorHintPep585DeprecationWarning)
            is_bearable(None, hint, conf=_CONF)  # beartype validates the hint here
    except BeartypeException as exc:
        raise TypeError(f"{describe_type(hint)} is not a type beartype can check: {exc}") from None

    def check(value: Any) -> bool:
        return is_bearable(value, hint, conf=_CONF)

    return check


# ------------------------------------------------------------------- messages

_TYPING_PREFIX = re.compile(r"\b(?:typing_extensions|typing|collections\.abc|builtins)\.")


def describe_type(hint: Any) -> str:
    """A short, readable spelling of a type hint: ``int``, ``List[Point]``, ``Any``."""
    if is_any(hint):
        return "Any"
    if hint is None or hint is _NONE_TYPE:
        return "None"
    if hint is Ellipsis:
        return "..."
    if isinstance(hint, list):  # the parameters of Callable[[...], ...]
        return "[" + ", ".join(describe_type(arg) for arg in hint) + "]"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is types.UnionType:
        return " | ".join(describe_type(arg) for arg in args)
    if origin is typing.Union:
        if len(args) == 2 and _NONE_TYPE in args:
            other = args[0] if args[1] is _NONE_TYPE else args[1]
            return f"Optional[{describe_type(other)}]"
        return "Union[" + ", ".join(describe_type(arg) for arg in args) + "]"
    if origin is typing.Literal:
        return "Literal[" + ", ".join(repr(arg) for arg in args) + "]"
    if isinstance(hint, type) and not isinstance(hint, types.GenericAlias):
        return hint.__name__
    if origin is not None and args:
        name = getattr(hint, "_name", None) or getattr(origin, "__name__", None)
        if name:
            return f"{name}[" + ", ".join(describe_type(arg) for arg in args) + "]"
    return _TYPING_PREFIX.sub("", repr(hint))


def describe_value(value: Any, limit: int = 60) -> str:
    """``str ('42')``: the type of a value and a truncated repr of it."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the type error
        text = "<unrepresentable>"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(value).__name__} ({text})"


def type_error(block_label: str, kind: str, name: str, hint: Any, value: Any) -> TaskTypeError:
    """The :class:`TaskTypeError` for ``value`` failing the ``hint`` of a target."""
    message = (
        f"{block_label}: {kind} '{name}' must be {describe_type(hint)}, "
        f"got {describe_value(value)}"
    )
    return TaskTypeError(message, block=block_label, kind=kind, target=name,
                         expected=hint, value=value)


def check_value(block_label: str, kind: str, name: str, hint: Any, value: Any) -> None:
    """Raise :class:`TaskTypeError` unless ``value`` matches ``hint`` (or is Skipped)."""
    checker = make_checker(hint)
    if checker is not None and not checker(value) and not isinstance(value, Skipped):
        raise type_error(block_label, kind, name, hint, value)


# ------------------------------------------------------------------ parameters

#: Origins of hints whose every item has the hint's one argument.
_ITEM_ORIGINS = frozenset({list, set, frozenset, collections.abc.Sequence,
                           collections.abc.MutableSequence, collections.abc.Set,
                           collections.abc.MutableSet, collections.abc.Collection,
                           collections.abc.Iterable})
#: Origins of hints whose keys and values have the hint's two arguments.
_MAPPING_ORIGINS = frozenset({dict, collections.abc.Mapping, collections.abc.MutableMapping})


def _bool_stands_for_number(hint: Any) -> bool:
    """Whether ``hint`` accepts a bool only because ``bool`` subclasses ``int``: ``int``,
    ``float`` and ``complex`` (the numeric tower), ``numbers.Integral``..."""
    if hint in _TOWER_CLASSES:
        return True
    return (isinstance(hint, type) and hint is not bool and issubclass(bool, hint)
            and issubclass(hint, numbers.Number))


def parameter_matches(hint: Any, value: Any) -> bool:
    """Whether a parameter's ``value`` (from the configuration) matches ``hint``, strictly.

    Stricter than :func:`check_value` in two ways, both cheap for a value checked
    once per run: a ``bool`` is not a number (``multiplier: true`` is a typo or a
    misunderstanding, never the ``1`` Python would make of it), and every item of a
    list or mapping is checked, not a random one (``[1, true, 3]`` for ``List[int]``
    fails every time). Hints this walk does not take apart are left to beartype,
    so it never accepts what :func:`check_value` refuses.
    """
    if is_any(hint):
        return True
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        return any(parameter_matches(arg, value) for arg in args)
    if origin is typing.Literal:
        return any(type(value) is type(arg) and value == arg for arg in args)
    if origin is typing.Annotated:
        return parameter_matches(args[0], value) and _bearable(hint, value)
    supertype = getattr(hint, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return parameter_matches(supertype, value)
    if isinstance(value, bool) and _bool_stands_for_number(hint):
        return False
    if not _bearable(hint, value):
        return False
    if origin in _ITEM_ORIGINS and len(args) == 1 and not isinstance(value, (str, bytes)):
        return all(parameter_matches(args[0], item) for item in value)
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return all(parameter_matches(args[0], item) for item in value)
        if args != ((),):
            return all(parameter_matches(arg, item) for arg, item in zip(args, value))
    if origin in _MAPPING_ORIGINS and len(args) == 2:
        key_hint, value_hint = args
        return all(parameter_matches(key_hint, key) and parameter_matches(value_hint, item)
                   for key, item in value.items())
    if is_typeddict(hint):
        try:
            fields = typing.get_type_hints(hint)
        except Exception:  # noqa: BLE001 - unresolvable annotations: beartype's answer stands
            return True
        return all(parameter_matches(fields[key], item)
                   for key, item in value.items() if key in fields)
    return True


def _bearable(hint: Any, value: Any) -> bool:
    checker = make_checker(hint)
    return checker is None or checker(value)


# ------------------------------------------------------------- compatibility


def compatible(provided: Any, expected: Any) -> bool:
    """Whether an output typed ``provided`` may feed an input typed ``expected``.

    Deliberately lenient, because the runtime check is exact: ``Any`` matches
    everything, unions match when any member does, classes match when one is a
    subclass of the other (a ``Sequence`` output may well be the ``list`` an input
    wants), and hints whose runtime class cannot be determined always match.
    Generic arguments are compared one level deep (``List[int]`` vs ``List[str]``).
    """
    if provided is expected or is_any(provided) or is_any(expected):
        return True
    try:
        return _compatible_cached(provided, expected)
    except TypeError:  # unhashable hints
        return _compatible(provided, expected)


@lru_cache(maxsize=4096)
def _compatible_cached(provided: Any, expected: Any) -> bool:
    return _compatible(provided, expected)


def _compatible(provided: Any, expected: Any) -> bool:
    try:
        return any(
            _pair_compatible(p, e)
            for p in _alternatives(provided)
            for e in _alternatives(expected)
        )
    except Exception:  # noqa: BLE001 - exotic hints: leave it to the runtime check
        return True


def _alternatives(hint: Any) -> list[Any]:
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return [alt for arg in typing.get_args(hint) for alt in _alternatives(arg)]
    if origin is typing.Literal:
        return [type(arg) for arg in typing.get_args(hint)]
    if origin is typing.Annotated:
        return _alternatives(typing.get_args(hint)[0])
    if isinstance(hint, typing.TypeVar):
        return _alternatives(hint.__bound__) if hint.__bound__ is not None else [Any]
    supertype = getattr(hint, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return _alternatives(supertype)
    return [hint]


def _runtime_class(hint: Any) -> type | None:
    if hint is None:
        return _NONE_TYPE
    if is_typeddict(hint):
        return dict
    origin = typing.get_origin(hint) or hint
    return origin if isinstance(origin, type) else None


def _pair_compatible(provided: Any, expected: Any) -> bool:
    if is_any(provided) or is_any(expected):
        return True
    provided_class, expected_class = _runtime_class(provided), _runtime_class(expected)
    if provided_class is None or expected_class is None:
        return True
    if expected_class in _TOWER_CLASSES and provided_class in (bool, int, float):
        return True
    if not (issubclass(provided_class, expected_class)
            or issubclass(expected_class, provided_class)):
        return False
    provided_args, expected_args = typing.get_args(provided), typing.get_args(expected)
    if (provided_args and expected_args and len(provided_args) == len(expected_args)
            and Ellipsis not in provided_args and Ellipsis not in expected_args
            and typing.get_origin(provided) is typing.get_origin(expected)):
        return all(compatible(p, e) for p, e in zip(provided_args, expected_args))
    return True


__all__ = [
    "check_value",
    "compatible",
    "describe_type",
    "describe_value",
    "is_any",
    "is_typeddict",
    "make_checker",
    "parameter_matches",
    "type_error",
]

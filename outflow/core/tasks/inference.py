"""Target inference: a task's inputs, parameters and outputs read from its ``run``.

- inputs come from the signature (a default makes the input optional);
- ``Parameter(T)`` annotations become configuration parameters;
- outputs come from the return annotation when it is a dict (``-> {"x": int}``) or
  a ``TypedDict``; otherwise from the keys of the dict literals the function
  returns (read from its source with :mod:`ast`); otherwise they are unknown and
  the task cannot be validated ("Could not automatically determine outputs").

String annotations (``from __future__ import annotations``) are evaluated in the
function's globals and closure. The analysis depends only on the function, so it
is done once per function and shared by every instance of the task.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import typing
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from outflow.core.target import MISSING, Target
from outflow.core.tasks.errors import TargetError
from outflow.core.tasks.typecheck import is_typeddict
from outflow.core.types import Parameter


@dataclass(frozen=True)
class RunSignature:
    """What the ``run`` function of a task tells about its targets."""

    inputs: tuple[Target, ...]
    parameters: tuple[Target, ...]
    #: ``**kwargs`` in the signature: the task accepts any upstream output.
    accepts_extra_inputs: bool
    #: Output targets, or None when they could not be determined.
    outputs: tuple[Target, ...] | None
    #: ``"annotation"``, ``"return"`` (dict literals) or ``"none"`` (nothing returned).
    outputs_source: str
    #: Why outputs are unknown (None when known), appended to the error message.
    outputs_problem: str | None = None


_CACHE: weakref.WeakKeyDictionary[Any, RunSignature] = weakref.WeakKeyDictionary()


def analyse_run(func: Callable[..., Any], *, skip_first: bool, label: str) -> RunSignature:
    """Analyse ``func`` (the task's run; ``skip_first`` drops ``self``); cached per function.

    ``label`` (``"task gen_data"``) prefixes the :class:`TargetError` raised for an
    annotation that cannot be evaluated or a parameter with a default.
    """
    key = getattr(func, "__func__", func)
    try:
        return _CACHE[key]
    except (KeyError, TypeError):
        pass
    result = _analyse(key, skip_first=skip_first, label=label)
    try:
        _CACHE[key] = result
    except TypeError:  # not weak-referenceable (a builtin): simply not cached
        pass
    return result


def _analyse(func: Callable[..., Any], *, skip_first: bool, label: str) -> RunSignature:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise TargetError(
            f"{label}: cannot read the signature of its run function: {exc}"
        ) from None
    params = list(signature.parameters.values())
    if skip_first and params and params[0].kind in (
        inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD
    ):
        params = params[1:]
    inputs: list[Target] = []
    parameters: list[Target] = []
    accepts_extra = False
    for param in params:
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            accepts_extra = True
            continue
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        annotation = resolve_annotation(param.annotation, func, label, f"input '{param.name}'")
        if isinstance(annotation, Parameter):
            if param.default is not inspect.Parameter.empty:
                raise TargetError(
                    f"{label}: parameter '{param.name}' cannot have a default value: "
                    f"parameters always come from the configuration file"
                )
            parameters.append(Target(param.name, annotation.type))
            continue
        default = MISSING if param.default is inspect.Parameter.empty else param.default
        inputs.append(Target(param.name, _any_if_empty(annotation), default))

    outputs, source, problem = _outputs(func, signature.return_annotation, label)
    return RunSignature(tuple(inputs), tuple(parameters), accepts_extra, outputs, source, problem)


def _any_if_empty(annotation: Any) -> Any:
    return Any if annotation is inspect.Parameter.empty else annotation


def _outputs(func: Callable[..., Any], annotation: Any, label: str
             ) -> tuple[tuple[Target, ...] | None, str, str | None]:
    annotation = resolve_annotation(annotation, func, label, "return annotation")
    if annotation is None or annotation is type(None):
        return (), "annotation", None
    if isinstance(annotation, dict):
        return outputs_from_annotation_dict(annotation, func, label), "annotation", None
    if is_typeddict(annotation):
        hints = typing.get_type_hints(annotation)
        return tuple(Target(name, hint) for name, hint in hints.items()), "annotation", None
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError):
        return None, "return", "its source code is not available"
    keys = infer_outputs_from_source(source)
    if keys is None:
        return None, "return", None
    if not keys:
        return (), "none", None
    return tuple(Target(key) for key in keys), "return", None


def outputs_from_annotation_dict(annotation: dict[Any, Any], func: Callable[..., Any],
                                 label: str) -> tuple[Target, ...]:
    """Targets of a ``{"name": type}`` return annotation (string types are resolved)."""
    targets = []
    for name, hint in annotation.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise TargetError(f"{label}: output names must be identifiers, got {name!r}")
        hint = resolve_annotation(hint, func, label, f"output '{name}'")
        if isinstance(hint, Parameter):
            raise TargetError(f"{label}: output '{name}' cannot be a Parameter")
        targets.append(Target(name, _any_if_empty(hint)))
    return tuple(targets)


def resolve_annotation(annotation: Any, func: Callable[..., Any], label: str, what: str) -> Any:
    """Evaluate a string annotation in the function's globals and closure."""
    if not isinstance(annotation, str):
        return annotation
    namespace: dict[str, Any] = {}
    code = getattr(func, "__code__", None)
    closure = getattr(func, "__closure__", None) or ()
    if code is not None:
        for name, cell in zip(code.co_freevars, closure):
            try:
                namespace[name] = cell.cell_contents
            except ValueError:  # empty cell
                pass
    globals_ = getattr(inspect.unwrap(func), "__globals__", {})
    try:
        return eval(annotation, globals_, namespace)  # noqa: S307 - annotations are code
    except Exception as exc:  # noqa: BLE001
        raise TargetError(
            f"{label}: cannot evaluate the {what} {annotation!r}: {type(exc).__name__}: {exc}"
        ) from None


# ------------------------------------------------------------- return literals


def infer_outputs_from_source(source: str) -> list[str] | None:
    """Output names from the ``return {...}`` statements of the first function in ``source``.

    Returns the keys of every returned dict literal, in order of appearance, ``[]``
    when the function returns nothing (or only ``None``/``Skipped``), and None when
    a return value is not a dict literal with constant string keys.
    """
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return None
    function = next(
        (node for node in ast.walk(tree)
         if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))),
        None,
    )
    if function is None:
        return None
    keys: list[str] = []
    for node in sorted(_returns(function), key=lambda n: (n.lineno, n.col_offset)):
        value = node.value
        if value is None or _is_none_or_skipped(value):
            continue
        if not isinstance(value, ast.Dict):
            return None
        for key in value.keys:
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)
                    and key.value.isidentifier()):
                return None  # ``**spread`` (key None) or a computed key
            if key.value not in keys:
                keys.append(key.value)
    return keys


def _is_none_or_skipped(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and node.value is None:
        return True
    if isinstance(node, ast.Call) and not node.args and not node.keywords:
        node = node.func
    return (isinstance(node, ast.Name) and node.id == "Skipped") or (
        isinstance(node, ast.Attribute) and node.attr == "Skipped"
    )


def _returns(function: ast.AST) -> Iterator[ast.Return]:
    """Return statements of ``function`` itself, not of functions or classes nested in it."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Return):
            yield node
        stack.extend(ast.iter_child_nodes(node))


__all__ = [
    "RunSignature",
    "analyse_run",
    "infer_outputs_from_source",
    "outputs_from_annotation_dict",
    "resolve_annotation",
]

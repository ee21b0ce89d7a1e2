"""Tasks: the smallest blocks, a ``run`` function with typed inputs and outputs.

Two spellings make the same class::

    @as_task
    def Add(a: int, b: int) -> {"result": int}:
        return a + b

    class Add(Task):
        def run(self, a: int, b: int) -> {"result": int}:
            return {"result": a + b}

Calling a task instance runs it: ``Add()(2, 4) == {"result": 6}``. The engine calls
tasks the same way (``task(**inputs)``), so a task template that overrides
``__call__`` (``LogTask.as_task``) wraps every execution. ``__call__`` is the hot
path of a run: it checks input types, calls ``run``, turns its return value into
the outputs dict and checks output types, using checkers prepared once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from outflow.core.target import Target
from outflow.core.tasks.block import Block, graph_changed, snake_case
from outflow.core.tasks.errors import (
    TargetError,
    TaskInputError,
    TaskOutputError,
)
from outflow.core.tasks.inference import RunSignature, analyse_run
from outflow.core.tasks.parameters import active_config, resolve_parameters
from outflow.core.tasks.typecheck import is_any, type_error
from outflow.core.types import SKIPPED, Skipped


class _TaskRuntime:
    """What ``__call__`` needs, computed once per task instance from its targets."""

    __slots__ = ("call", "n_args", "input_checks", "output_checks", "n_outputs", "single_output")

    def __init__(self, task: Task) -> None:
        problem = task.output_problem
        if problem is not None:
            raise TargetError(problem)
        self.call: Callable[..., Any] = task.run
        self.n_args = len(task.inputs) + len(task.parameters)
        self.input_checks = _checks(task.inputs)
        self.output_checks = _checks(task.outputs)
        self.n_outputs = len(task.outputs)
        self.single_output = next(iter(task.outputs)) if self.n_outputs == 1 else None


def _checks(targets: Mapping[str, Target]) -> tuple[tuple[str, Callable[[Any], bool], Any], ...]:
    checks = []
    for name, target in targets.items():
        try:
            checker = target.checker()
        except TypeError as exc:
            raise TargetError(f"target '{name}': {exc}") from None
        if checker is not None:
            checks.append((name, checker, target.type))
    return tuple(checks)


class Task(Block):
    """A block running one function. Subclass it and define ``run``, or use ``as_task``.

    Targets are set up at instantiation by :meth:`setup_targets`; keyword arguments
    bind input values (``Sleep(seconds=60)``).
    """

    kind: ClassVar[str] = "task"
    name = "task"
    #: Targets declared with the ``Target.output``/``input``/``parameter`` decorators.
    _declared_targets: ClassVar[tuple[tuple[str, Target], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = snake_case(cls.__name__)

    def __init__(self, **bound: Any) -> None:
        super().__init__()
        self.bound = bound
        #: Why the outputs could not be inferred; raised at validation.
        self.output_problem: str | None = None
        for kind, target in type(self)._declared_targets:
            getattr(self, f"{kind}s")[target.name] = target
        self.setup_targets()

    # -- targets ------------------------------------------------------------------
    def run(self, *args: Any, **kwargs: Any) -> Any:
        """The task's work: receives inputs and parameters as keyword arguments.

        Return a dict keyed by output name, the bare value when the task has exactly
        one output, ``None`` when it has none, or ``Skipped()``.
        """
        raise NotImplementedError(f"{self.label}: define run() or use @as_task")

    def setup_targets(self) -> None:
        """Declare the targets; by default infer them from :meth:`run`.

        Override it and call ``add_input``/``add_output``/``add_parameter``;
        call ``super().setup_targets()`` too to infer whatever was not declared.
        """
        signature = self.run_signature()
        for target in signature.inputs:
            if target.name not in self.inputs and target.name not in self.parameters:
                self.inputs[target.name] = target
        for target in signature.parameters:
            if target.name not in self.inputs and target.name not in self.parameters:
                self.parameters[target.name] = target
        self.accepts_extra_inputs = self.accepts_extra_inputs or signature.accepts_extra_inputs
        self._merge_inferred_outputs(signature)
        self._runtime = None

    def _merge_inferred_outputs(self, signature: RunSignature) -> None:
        if signature.outputs is None:
            if not self.outputs:
                problem = f"Could not automatically determine outputs of task {self.name}"
                if signature.outputs_problem:
                    problem += f" ({signature.outputs_problem})"
                self.output_problem = problem + (
                    ": return a dict literal (`return {\"name\": value}`) or declare the "
                    "outputs (`-> {\"name\": type}`, @Target.output or add_output)"
                )
            return
        self.output_problem = None
        if signature.outputs_source == "annotation":
            for target in signature.outputs:
                existing = self.outputs.get(target.name)
                if existing is None or is_any(existing.type):
                    self.outputs[target.name] = target
        elif not self.outputs:
            for target in signature.outputs:
                self.outputs[target.name] = target

    def add_parameter(self, name: str, type: Any = Any) -> Target:  # noqa: A002
        """Declare a parameter, read from ``parameters.<task name>.<name>`` of the config."""
        target = Target(name, type)
        self.parameters[name] = target
        self._runtime = None
        graph_changed()
        return target

    def add_output(self, name: str, type: Any = Any) -> Target:  # noqa: A002
        self.output_problem = None
        return super().add_output(name, type)

    @classmethod
    def _run_attribute(cls) -> Any:
        """The ``run`` attribute as defined in the class body (a function or staticmethod)."""
        for klass in cls.__mro__:
            if "run" in klass.__dict__:
                return klass.__dict__["run"]
        raise AttributeError("run")  # pragma: no cover - Task defines it

    @classmethod
    def run_function(cls) -> Callable[..., Any]:
        """The plain function behind ``run`` (its source code is part of cache keys)."""
        attribute = cls._run_attribute()
        return getattr(attribute, "__func__", attribute)

    def run_signature(self) -> RunSignature:
        """The targets inferred from ``run`` (cached per function)."""
        attribute = type(self)._run_attribute()
        if attribute is Task.__dict__["run"]:
            raise TargetError(f"{self.label}: define run() or use @as_task")
        return analyse_run(getattr(attribute, "__func__", attribute),
                           skip_first=not isinstance(attribute, staticmethod), label=self.label)

    # -- execution ----------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Run the task and return its outputs dict.

        Positional values map to the inputs in order; a single dict argument whose
        keys are inputs (the result of another task) is spread. Missing values come
        from bound values, defaults and, for parameters, the active configuration.
        """
        runtime = self._runtime or self._prepare()
        if args or len(kwargs) != runtime.n_args:
            kwargs = self.bind_arguments(args, kwargs)
        try:
            for name, check, hint in runtime.input_checks:
                value = kwargs[name]
                if not check(value) and not isinstance(value, Skipped):
                    raise type_error(self.label, "input", name, hint, value)
        except KeyError:  # as many values as inputs, but not the right names
            kwargs = self.bind_arguments((), kwargs)
            for name, check, hint in runtime.input_checks:
                value = kwargs[name]
                if not check(value) and not isinstance(value, Skipped):
                    raise type_error(self.label, "input", name, hint, value) from None
        result = runtime.call(**kwargs)
        if type(result) is dict and len(result) == runtime.n_outputs and (
            runtime.single_output is None or runtime.single_output in result
        ):
            outputs = result
        else:
            outputs = self._outputs_from(result, runtime)
        try:
            for name, check, hint in runtime.output_checks:
                value = outputs[name]
                if not check(value) and not isinstance(value, Skipped):
                    raise type_error(self.label, "output", name, hint, value)
        except KeyError:
            raise self._missing_outputs(outputs) from None
        return outputs

    def _prepare(self) -> _TaskRuntime:
        try:
            runtime = _TaskRuntime(self)
        except TargetError as exc:
            message = str(exc)
            if not message.startswith(self.label) and not message.startswith("Could not"):
                message = f"{self.label}: {message}"
            raise TargetError(message) from None
        self._runtime = runtime
        return runtime

    def _outputs_from(self, result: Any, runtime: _TaskRuntime) -> dict[str, Any]:
        """Turn a return value that is not the plain outputs dict into one (slow path)."""
        if result is SKIPPED or result is Skipped:
            return dict.fromkeys(self.outputs, SKIPPED)
        if isinstance(result, dict):
            if runtime.single_output is not None and runtime.single_output not in result:
                return {runtime.single_output: result}
            if self.outputs_mirror_inputs and not self.outputs:
                return dict(result)
            missing = [name for name in self.outputs if name not in result]
            extra = [name for name in result if name not in self.outputs]
            if missing:
                raise self._missing_outputs(result)
            if extra:
                raise TaskOutputError(
                    f"{self.label}: returned undeclared output(s) "
                    f"{', '.join(map(repr, extra))} (declared: {_names(self.outputs)})"
                )
            return dict(result)
        if result is None:
            if runtime.n_outputs == 0:
                return {}
            raise TaskOutputError(
                f"{self.label}: returned None but declares outputs {_names(self.outputs)}"
            )
        if runtime.single_output is not None:
            return {runtime.single_output: result}
        if runtime.n_outputs == 0:
            raise TaskOutputError(
                f"{self.label}: returned a {type(result).__name__} but declares no outputs: "
                "declare them (`-> {\"name\": type}`) or return None"
            )
        raise TaskOutputError(
            f"{self.label}: returned a {type(result).__name__}, not a dict of its outputs "
            f"{_names(self.outputs)}: a bare value is only allowed for a single output"
        )

    def _missing_outputs(self, result: Mapping[str, Any]) -> TaskOutputError:
        missing = [name for name in self.outputs if name not in result]
        return TaskOutputError(
            f"{self.label}: output(s) {', '.join(map(repr, missing))} missing from the "
            f"returned dict (returned: {_names(result)})"
        )

    def bind_arguments(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Complete the arguments of a direct call (slow path): see :meth:`__call__`."""
        values = dict(kwargs)
        if len(args) == 1 and not kwargs and self._spreads(args[0]):
            values = {
                key: value for key, value in args[0].items()
                if key in self.inputs or key in self.parameters or self.accepts_extra_inputs
            }
            args = ()
        free = [name for name in self.inputs if name not in values and name not in self.bound]
        if len(args) > len(free):
            raise TaskInputError(
                f"{self.label}: takes {len(free)} positional input value(s) "
                f"({', '.join(free) or 'none'}) but {len(args)} were given"
            )
        values.update(zip(free, args))
        if not self.accepts_extra_inputs:
            unknown = [k for k in values if k not in self.inputs and k not in self.parameters]
            if unknown:
                raise TaskInputError(
                    f"{self.label}: unknown input(s) {', '.join(map(repr, unknown))} "
                    f"(inputs: {_names(self.inputs)})"
                )
        for name, target in self.inputs.items():
            if name in values:
                continue
            if name in self.bound:
                values[name] = self.bound[name]
            elif target.optional:
                values[name] = target.default
            else:
                raise TaskInputError(f"{self.label}: input '{name}' is missing")
        if self.parameters:
            given = {name: values[name] for name in self.parameters if name in values}
            values.update(resolve_parameters(self, active_config(), given))
        return values

    def _spreads(self, value: Any) -> bool:
        """Whether a single positional dict is another task's outputs, to be spread."""
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            return False
        free = [name for name in self.inputs if name not in self.bound]
        # With a single free input not named in the dict, the dict is that input's value.
        return not (len(free) == 1 and free[0] not in value)


def _names(mapping: Mapping[str, Any]) -> str:
    return ", ".join(mapping) or "none"


# ------------------------------------------------------------------- as_task


def _as_task(cls: type[Task], func: Callable[..., Any] | None = None, /, *,
             with_self: bool = False, name: str | None = None, retries: int = 0,
             retry_delay: float = 0.0) -> Any:
    """Turn a function into a subclass of ``cls`` named like the function.

    With ``with_self=True`` the function receives the task instance first. ``name``
    overrides the task name (default: the function name in snake_case). ``retries``
    runs the function again, up to that many more times, when it raises,
    ``retry_delay`` seconds apart (see :class:`~outflow.core.tasks.Block`).
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"as_task: retries must be a positive integer or 0, got {retries!r}")
    if (isinstance(retry_delay, bool) or not isinstance(retry_delay, (int, float))
            or retry_delay < 0):
        raise ValueError(f"as_task: retry_delay must be a number of seconds >= 0, got "
                         f"{retry_delay!r}")

    def decorate(function: Callable[..., Any]) -> type[Task]:
        if not callable(function) or isinstance(function, type):
            raise TypeError(f"as_task decorates a function, got {function!r}")
        namespace: dict[str, Any] = {
            "run": function if with_self else staticmethod(function),
            "__module__": function.__module__,
            "__qualname__": function.__qualname__,
            "__doc__": function.__doc__,
            "name": name or snake_case(function.__name__),
        }
        if retries:
            namespace.update(retries=retries, retry_delay=float(retry_delay))
        return type(function.__name__, (cls,), namespace)

    return decorate if func is None else decorate(func)


Task.as_task = classmethod(_as_task)  # type: ignore[attr-defined]
as_task: Any = Task.as_task  # type: ignore[attr-defined]

__all__ = ["Task", "as_task"]

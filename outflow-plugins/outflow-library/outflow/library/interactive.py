"""``InteractiveTask`` (alias ``IPythonTask``): a Python shell between two tasks.

Put it in a workflow (``a | InteractiveTask() | b``) to look at, or edit, the
values flowing from ``a`` to ``b``: they are in the dict ``kwargs``, and what is
in ``kwargs`` when the shell exits (with EOF, Ctrl-D) is passed on to ``b``. The
pipeline context is there too (``from outflow.core.pipeline import context``).

IPython is used when it is installed (``pip install outflow-library[ipython]``);
otherwise the standard library's :class:`code.InteractiveConsole`, so the task
works in every environment (the previous implementation needed an undeclared
IPython). ``InteractiveTask(shell="console")`` forces the standard console.
"""

from __future__ import annotations

import sys
from typing import Any, ClassVar

from outflow.library.branching import PassThroughTask

BANNER = (
    "|> You are inside an outflow interactive task. You can access the outputs of the "
    "previous task through the dictionary 'kwargs'.\n"
    "If you edit the values in 'kwargs', the changes will be passed to the next task.\n"
    "To quit, do NOT use exit(), use EOF instead (usually CTRL+D)\n"
)
EXIT_MESSAGE = "now exiting InteractiveConsole..."
PROMPT = "|> "

_SHELLS = ("auto", "ipython", "console")


class InteractiveTask(PassThroughTask):
    """Open a shell with the upstream outputs in ``kwargs``; pass ``kwargs`` on."""

    name = "interactive_task"
    shells: ClassVar[tuple[str, ...]] = _SHELLS

    def __init__(self, *, shell: str = "auto", **bound: Any) -> None:
        if shell not in _SHELLS:
            raise ValueError(f"shell must be one of {', '.join(_SHELLS)}, got {shell!r}")
        self.shell = shell
        super().__init__(**bound)

    def run(self, **kwargs: Any) -> dict[str, Any]:
        namespace: dict[str, Any] = {"kwargs": kwargs, "task": self}
        if self.shell != "console" and _ipython_available():
            _ipython_shell(namespace)
        elif self.shell == "ipython":
            raise RuntimeError(f"{self.label}: IPython is not installed "
                               "(pip install outflow-library[ipython])")
        else:
            _console(namespace)
        result = namespace.get("kwargs", kwargs)
        if not isinstance(result, dict):
            raise TypeError(f"{self.label}: 'kwargs' must stay a dict, got "
                            f"{type(result).__name__}")
        return result


IPythonTask = InteractiveTask


def _ipython_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("IPython") is not None


def _ipython_shell(namespace: dict[str, Any]) -> None:
    from IPython.terminal.embed import InteractiveShellEmbed

    shell = InteractiveShellEmbed(banner1=BANNER, exit_msg=EXIT_MESSAGE)
    shell(local_ns=namespace)


def _console(namespace: dict[str, Any]) -> None:
    import code

    had_ps1 = hasattr(sys, "ps1")
    previous = getattr(sys, "ps1", None)
    sys.ps1 = PROMPT
    try:
        code.InteractiveConsole(locals=namespace).interact(banner=BANNER,
                                                           exitmsg=EXIT_MESSAGE)
    finally:
        if had_ps1:
            sys.ps1 = previous
        else:
            del sys.ps1


__all__ = ["IPythonTask", "InteractiveTask"]

"""Where in the user's code an error was raised: the frame a person wants to see first.

A traceback of a failing task runs through outflow's engine, the backend, maybe a
library, before it reaches the line of the pipeline that raised. The one-line report
of a failed run names that line (``(tasks.py:12)``) and ``management debug`` prints
it first. The user's frame is the innermost one outside outflow's packages, the
standard library and the installed packages; failing that (an error raised inside
numpy by a bad argument), the innermost outside outflow and the standard library;
failing that, the innermost frame.

The same choice is made from a traceback given as text (one that came back from a
worker process, a Slurm job or an MPI rank), so a failure reports its line wherever
its item ran.
"""

from __future__ import annotations

import os
import re
import traceback
from functools import lru_cache
from types import TracebackType

#: ``File "/path/tasks.py", line 12, in transform`` in a formatted traceback.
_FRAME_LINE = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)', re.MULTILINE)


@lru_cache(maxsize=1)
def _directories() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(outflow's and the standard library's directories, installed packages')``."""
    import sysconfig

    import outflow

    paths = sysconfig.get_paths()
    ours = [*outflow.__path__, paths.get("stdlib", ""), paths.get("platstdlib", "")]
    installed = [paths.get("purelib", ""), paths.get("platlib", "")]
    # outflow's packages sit in site-packages once installed: test ours first
    return (tuple(_folder(path) for path in ours if path),
            tuple(_folder(path) for path in installed if path))


def _folder(path: str) -> str:
    return os.path.join(os.path.realpath(path), "")


def _rank(filename: str) -> int:
    """2: the user's code; 1: an installed package; 0: outflow or the standard library."""
    if filename.startswith("<"):  # <string>, <frozen importlib._bootstrap>
        return 0
    real = os.path.realpath(filename)
    ours, installed = _directories()
    if real.startswith(ours):
        return 0
    return 1 if real.startswith(installed) else 2


def _pick(frames: list[tuple[str, int]]) -> tuple[str, int] | None:
    """The innermost frame of the best rank (see the module doc)."""
    best: tuple[str, int] | None = None
    best_rank = -1
    for filename, line in frames:  # outermost first: a later frame of equal rank wins
        rank = _rank(filename)
        if rank >= best_rank:
            best, best_rank = (filename, line), rank
    return best


def user_frame(error: BaseException) -> tuple[str, int] | None:
    """``(file, line)`` of the user's frame where ``error`` began; None without a
    traceback. Read from the innermost cause that has a traceback (a
    :class:`~outflow.core.tasks.errors.TaskError` is raised by the engine ``from`` the
    task's own exception, which holds the user's frames)."""
    for candidate in reversed(_causes(error)):
        frames = _frames(candidate.__traceback__)
        if frames:
            return _pick(frames)
    return None


def _causes(error: BaseException) -> list[BaseException]:
    """``error`` and its explicit causes (``raise ... from``), outermost first."""
    chain = [error]
    while chain[-1].__cause__ is not None and all(chain[-1].__cause__ is not seen
                                                  for seen in chain):
        chain.append(chain[-1].__cause__)
    return chain


def _frames(tb: TracebackType | None) -> list[tuple[str, int]]:
    return [(frame.filename, frame.lineno or 0) for frame in traceback.extract_tb(tb)]


def user_frame_in_text(text: str) -> tuple[str, int] | None:
    """:func:`user_frame` for a traceback printed as text: of its last exception (the
    part after the last ``Traceback (most recent call last):``)."""
    last = text.rfind("Traceback (most recent call last):")
    frames = [(match["file"], int(match["line"]))
              for match in _FRAME_LINE.finditer(text[max(last, 0):])]
    return _pick(frames) if frames else None


def short_location(frame: tuple[str, int] | None) -> str:
    """``tasks.py:12``: the file relative to the working directory when under it,
    else its full path; ``""`` for no frame."""
    if frame is None:
        return ""
    filename, line = frame
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive (Windows)
        relative = filename
    shown = filename if relative.startswith("..") else relative
    return f"{shown}:{line}"


def is_user_file(filename: str) -> bool:
    """Whether ``filename`` is the user's code rather than outflow, Python or a library."""
    return _rank(filename) == 2


__all__ = ["is_user_file", "short_location", "user_frame", "user_frame_in_text"]

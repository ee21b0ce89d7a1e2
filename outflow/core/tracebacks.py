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


def traceback_text(error: BaseException) -> str:
    """The whole traceback of ``error`` as text, the part that ran in another process
    included: the traceback an item's failure brought back from a worker, a Slurm job
    or an MPI rank (``remote_traceback``) comes first, as the cause of the part raised
    here (whose own causes came back without their frames)."""
    for cause in _causes(error):
        remote = getattr(cause, "remote_traceback", None)
        if isinstance(remote, str) and remote:
            here = traceback.format_exception(type(error), error, error.__traceback__,
                                              chain=False)
            return (remote.rstrip("\n") + "\n\nThe above exception was the direct cause "
                    "of the following exception:\n\n" + "".join(here))
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


def user_frame_in_text(text: str) -> tuple[str, int] | None:
    """:func:`user_frame` for a traceback printed as text: of its last exception (the
    part after the last ``Traceback (most recent call last):``)."""
    last = text.rfind("Traceback (most recent call last):")
    frames = [(match["file"], int(match["line"]))
              for match in _FRAME_LINE.finditer(text[max(last, 0):])]
    return _pick(frames) if frames else None


def shown_path(path: str | os.PathLike[str]) -> str:
    """A path as messages show it: relative to the working directory when under it,
    else in full."""
    path = os.fspath(path)
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if relative.startswith("..") else relative


def short_location(frame: tuple[str, int] | None) -> str:
    """``tasks.py:12``: the frame's file as :func:`shown_path` shows it, and its line;
    ``""`` for no frame."""
    if frame is None:
        return ""
    filename, line = frame
    return f"{shown_path(filename)}:{line}"


#: What separates the parts of a chained traceback (``raise ... from``, or an error
#: while handling another), with the blank lines around it.
_CHAIN = re.compile(r"(\n\n(?:The above exception was the direct cause of the following "
                    r"exception:|During handling of the above exception, another exception "
                    r"occurred:)\n\n)")
#: outflow's exceptions that wrap the error of a task or an item: their part of a
#: chained traceback repeats that error, through outflow's engine.
WRAPPERS = frozenset({"TaskError", "ItemFailure", "MapItemError", "MapItemsFailed"})


def condense(text: str) -> str:
    """A traceback (as text) as a person wants to read it: without the parts of its
    chain that outflow added to wrap the user's error (``TaskError``,
    ``ItemFailure``...), and without outflow's own frames in what is left (unless
    every frame is outflow's: then it is outflow's bug, shown whole)."""
    pieces = _CHAIN.split(text.strip("\n"))
    sections, separators = pieces[0::2], pieces[1::2]
    kept = [index for index, section in enumerate(sections) if not _wraps(section)]
    if not kept:
        kept = [len(sections) - 1]
    parts = [_without_outflow_frames(sections[kept[0]])]
    for index in kept[1:]:
        parts += [separators[index - 1], _without_outflow_frames(sections[index])]
    return "".join(parts)


def _wraps(section: str) -> bool:
    """Whether this part of a chain ends in one of outflow's :data:`WRAPPERS`."""
    lines = [line for line in section.splitlines() if line.strip()]
    if not lines:
        return False
    kind = lines[-1].split(":", 1)[0].strip()
    return kind.startswith("outflow.") and kind.rsplit(".", 1)[-1] in WRAPPERS


def _without_outflow_frames(section: str) -> str:
    kept: list[str] = []
    skipping = False
    dropped = 0
    for line in section.splitlines():
        match = _FRAME_LINE.match(line)
        if match is not None and line.startswith("  File "):
            skipping = is_outflow_file(match["file"])
            dropped += skipping
        elif not line.startswith("    "):
            skipping = False
        if not skipping:
            kept.append(line)
    frames = sum(1 for line in section.splitlines() if line.startswith("  File "))
    return section if dropped == frames else "\n".join(kept)


def is_outflow_file(filename: str) -> bool:
    """Whether ``filename`` is part of outflow's packages (the kernel or a plugin of it)."""
    import outflow

    real = os.path.realpath(filename)
    return any(real.startswith(_folder(path)) for path in outflow.__path__)


def is_user_file(filename: str) -> bool:
    """Whether ``filename`` is the user's code rather than outflow, Python or a library."""
    return _rank(filename) == 2


__all__ = ["WRAPPERS", "condense", "is_outflow_file", "is_user_file", "short_location",
           "shown_path", "traceback_text", "user_frame", "user_frame_in_text"]

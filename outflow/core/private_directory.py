"""Directories outflow reads pickles from must be private to the user running it.

Why: unpickling runs code. The workflow cache and the payloads of map items are
pickles; if another user can write into their directory (a shared ``/tmp``, a
group-writable project directory), a file planted there runs that user's code in
your next run. So before any pickle is read from a directory, it must belong to the
user running outflow and be writable by nobody else (no group or other write
permission), and so must each file read from it. Anything else is refused with an
:class:`UnsafeDirectoryError` naming the path and what is wrong: outflow never
"repairs" a directory someone else controls.

On platforms without POSIX ownership (Windows) the checks are skipped.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from outflow.core.errors import OutflowError


class UnsafeDirectoryError(OutflowError, PermissionError):
    """A directory (or file) outflow would read pickles from is not private to the user."""


def private_directory(path: Path | str, what: str) -> Path:
    """Create ``path`` (mode 0700, parents as needed) or check that it is private.

    ``what`` names the directory in messages (``"workflow cache"``).
    """
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    check_private(path, what)
    return path


def check_private(path: Path, what: str) -> None:
    """Raise :class:`UnsafeDirectoryError` unless ``path`` (a directory or a file, and the
    link itself when it is a symbolic link) belongs to this user and nobody else may
    write to it."""
    uid = getattr(os, "geteuid", None)
    if uid is None:  # no POSIX ownership here
        return
    for info in _stats(path):
        if info.st_uid != uid():
            raise UnsafeDirectoryError(
                f"{what} {path} belongs to user id {info.st_uid}, not to you "
                f"(user id {uid()}): outflow reads no pickle from a place another user "
                f"controls; remove it, or choose another directory"
            )
        if not stat.S_ISLNK(info.st_mode) and info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise UnsafeDirectoryError(
                f"{what} {path} is writable by {_writers(info.st_mode)} "
                f"(mode {stat.S_IMODE(info.st_mode):o}): outflow reads no pickle from a "
                f"place others can write to; run `chmod go-w {path}`"
            )


def check_private_file(descriptor: int, path: Path, what: str) -> None:
    """Like :func:`check_private`, for a file already open (no race with a swap)."""
    uid = getattr(os, "geteuid", None)
    if uid is None:
        return
    info = os.fstat(descriptor)
    if info.st_uid != uid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafeDirectoryError(
            f"{what} file {path} belongs to user id {info.st_uid} with mode "
            f"{stat.S_IMODE(info.st_mode):o}: outflow reads no pickle another user could "
            "have written; remove it"
        )


def _stats(path: Path) -> list[os.stat_result]:
    link = os.lstat(path)
    return [link, os.stat(path)] if stat.S_ISLNK(link.st_mode) else [link]


def _writers(mode: int) -> str:
    both = mode & stat.S_IWGRP and mode & stat.S_IWOTH
    return "its group and others" if both else "its group" if mode & stat.S_IWGRP else "others"


__all__ = ["UnsafeDirectoryError", "check_private", "check_private_file", "private_directory"]

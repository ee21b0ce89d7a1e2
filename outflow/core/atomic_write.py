"""Write a file so that a reader sees the old content or the new, never a part of it.

Used by the entry-point cache (on the start-up path, hence no ``tempfile``, whose
import costs milliseconds) and by the workflow cache (entries read by concurrent
runs).
"""

from __future__ import annotations

import os
import threading


def write_atomically(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``.

    The temporary file lives beside ``path`` (``os.replace`` needs the same file
    system), is named after this process and thread so that concurrent writers never
    share one, and is readable by its owner only, like ``tempfile.mkstemp``'s. An
    ``OSError`` is raised to the caller after the temporary file is removed.
    """
    target = os.fspath(path)
    directory, name = os.path.split(target)
    tmp = os.path.join(directory, f".tmp-{os.getpid()}-{threading.get_ident()}-{name}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise

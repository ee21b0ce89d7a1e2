"""``write_atomically``: the whole new content or the old one, and no temporary left."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from outflow.core.atomic_write import write_atomically


def test_replaces_the_content_readable_by_the_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "entry.bin"
    target.write_bytes(b"old")
    write_atomically(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == ["entry.bin"]


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()  # os.replace of a file onto a directory fails
    with pytest.raises(OSError):
        write_atomically(target, b"data")
    assert [path.name for path in tmp_path.iterdir()] == ["taken"]


def test_concurrent_writers_each_leave_a_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "shared"
    payloads = [bytes([index]) * 100_000 for index in range(8)]
    threads = [threading.Thread(target=write_atomically, args=(target, payload))
               for payload in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert target.read_bytes() in payloads
    assert [path.name for path in tmp_path.iterdir()] == ["shared"]

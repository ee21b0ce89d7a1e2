"""The MPI backend's tests: real ``mpiexec`` ranks (the mpich wheel's launcher)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _the_environment_s_launcher_first(mpiexec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mpich wheel's ``mpiexec`` first on PATH for every command the tests start:
    MPICH starts the first ``mpiexec`` it finds when it spawns processes, and another
    MPI's launcher on the machine would not understand it."""
    monkeypatch.setenv("PATH", f"{mpiexec.parent}{os.pathsep}{os.environ.get('PATH', '')}")

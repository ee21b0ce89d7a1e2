"""Every test of this directory runs on the session's Slurm cluster (``slurm_conf`` in
``tests/conftest.py``), with ``SLURM_CONF`` pointing at it so that the Slurm commands
the backend and the tests run reach it; no job of a test outlives it."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _use_the_cluster(slurm_conf: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every command of a test reaches the cluster; no job of a test outlives it."""
    monkeypatch.setenv("SLURM_CONF", str(slurm_conf))
    yield
    jobs = subprocess.run(["squeue", "-h", "-o", "%A"], capture_output=True, text=True,
                          env={**os.environ, "SLURM_CONF": str(slurm_conf)}, timeout=60)
    left = sorted(set(jobs.stdout.split()))
    if left:
        subprocess.run(["scancel", *left], env={**os.environ, "SLURM_CONF": str(slurm_conf)},
                       capture_output=True, timeout=60, check=False)
        wait_for_empty_queue(slurm_conf)


def wait_for_empty_queue(slurm_conf: Path, seconds: float = 30.0) -> None:
    """Until ``squeue`` shows no job (cancelled jobs take a moment to leave)."""
    deadline = time.monotonic() + seconds
    environment = {**os.environ, "SLURM_CONF": str(slurm_conf)}
    while time.monotonic() < deadline:
        jobs = subprocess.run(["squeue", "-h"], capture_output=True, text=True,
                              env=environment, timeout=60)
        if not jobs.stdout.strip():
            return
        time.sleep(0.2)

"""Fixtures of the parallel backend tests: the plugins importable without installing them.

Mirrors ``tests/engine/conftest.py`` (which these tests do not import).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, *(ROOT / "outflow-plugins" / name for name in (
        "outflow-sequential", "outflow-library", "outflow-multiprocessing"))):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[object]:
    """An active pipeline context with a private TEMP_DIR."""
    from outflow.core.pipeline.context import PipelineContext, activate
    from outflow.core.pipeline.settings import Settings

    context = PipelineContext(
        settings=Settings(TEMP_DIR=tmp_path / "outflow_tmp"),
        config={"parameters": {}, "parallel": {}},
    )
    with activate(context):
        yield context


@pytest.fixture
def backend(pipeline) -> Iterator[object]:
    """A parallel backend for the pipeline, closed after the test."""
    from outflow.multiprocessing.backend import ParallelBackend

    with ParallelBackend(pipeline) as parallel:
        yield parallel


@pytest.fixture(autouse=True)
def two_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers whatever the machine, so that the pool is used on one CPU too."""
    from outflow.multiprocessing import backend

    monkeypatch.setattr(backend, "available_cpus", lambda: 2)

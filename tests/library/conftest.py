"""Fixtures of the library tests: the plugins importable without installing them.

Mirrors ``tests/engine/conftest.py`` (which these tests do not import): the
kernel, the sequential backend and the library on ``sys.path``, and an active
pipeline context with an empty configuration and a private ``TEMP_DIR``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, ROOT / "outflow-plugins" / "outflow-sequential",
             ROOT / "outflow-plugins" / "outflow-library"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[object]:
    """An active pipeline context: empty configuration, private TEMP_DIR."""
    from outflow.core.pipeline.context import PipelineContext, activate
    from outflow.core.pipeline.settings import Settings

    context = PipelineContext(settings=Settings(TEMP_DIR=tmp_path / "outflow_tmp"),
                              config={"parameters": {}})
    with activate(context):
        yield context

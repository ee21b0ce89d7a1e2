"""Make the kernel and the sequential plugin importable without installing them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, ROOT / "outflow-plugins" / "outflow-sequential"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


@pytest.fixture
def pipeline(tmp_path):
    """An active pipeline context with an empty configuration and a private TEMP_DIR."""
    from outflow.core.pipeline.context import PipelineContext, activate
    from outflow.core.pipeline.settings import Settings

    context = PipelineContext(settings=Settings(TEMP_DIR=tmp_path / "outflow_tmp"),
                              config={"parameters": {}})
    with activate(context):
        yield context

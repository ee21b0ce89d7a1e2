"""Start-up stays light: `outflow --help` and `outflow plugins list` import no heavy library.

Each check runs in a fresh interpreter (``sys.modules`` of the test process is
polluted by other tests), outside any pipeline, and lists the forbidden modules
that the command imported. Heavy libraries belong inside the functions that use
them (see the design notes on start-up time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Modules whose import would make every ``outflow`` invocation pay for them.
FORBIDDEN = ("sqlalchemy", "alembic", "cloudpickle", "mpi4py", "ruamel", "beartype",
             "logging.config")

_PROBE = """
import contextlib, io, json, sys
from outflow.core.cli.main import run

argv = json.loads(sys.argv[1])
forbidden = json.loads(sys.argv[2])
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = run(argv)
imported = sorted(
    name for name in sys.modules
    if any(name == f or name.startswith(f + ".") for f in forbidden)
)
print(json.dumps({"code": code, "imported": imported, "stdout": out.getvalue()}))
"""


def _probe(argv: list[str], cwd: Path) -> dict:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("OUTFLOW_") and key not in ("PIPELINE_ROOT_DIRECTORY",)}
    env["XDG_CACHE_HOME"] = str(cwd / ".cache")
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(argv), json.dumps(FORBIDDEN)],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], ["plugins", "list"], ["--version"]],
                         ids=" ".join)
def test_cli_start_up_imports_no_heavy_library(tmp_path: Path, argv: list[str]) -> None:
    result = _probe(argv, tmp_path)
    assert result["code"] == 0, result
    assert result["stdout"], "the command printed nothing"
    assert result["imported"] == [], (
        f"`outflow {' '.join(argv)}` imported {result['imported']}: import them lazily"
    )

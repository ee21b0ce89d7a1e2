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


#: Modules that a start with a warm entry-point cache has no use for, outside a pipeline.
NOT_ON_A_WARM_START = ("importlib.metadata", "dataclasses", "shutil", "zlib", "pathlib",
                       "outflow.core.configuration.loader")

# Without json, which the probe above needs and which would hide json's own import.
_WARM_PROBE = """
import contextlib, io, sys
from outflow.core.cli.main import run

watched = sys.argv[1].split(",")
with contextlib.redirect_stdout(io.StringIO()):
    code = run(["--help"])
print(code, ",".join(sorted(name for name in watched if name in sys.modules)))
"""


def test_a_warm_start_reads_no_metadata_and_no_unused_module(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OUTFLOW_")}
    env["XDG_CACHE_HOME"] = str(tmp_path / ".cache")
    argv = [sys.executable, "-c", _WARM_PROBE, ",".join(NOT_ON_A_WARM_START)]
    cold = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=60)
    assert cold.stdout.split()[0] == "0", cold.stderr
    assert "importlib.metadata" in cold.stdout  # the first start scans
    warm = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=60)
    assert warm.stdout.split() == ["0"], f"a warm start imported {warm.stdout.split()[1:]}"

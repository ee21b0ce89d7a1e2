"""A third-party backend, written from the docs alone, passes the kernel's contract suite.

``tests/fixtures/outflow-threads`` registers ``threads`` and ``processes``, whose
``map`` is ``list(executor.map(workflow.run_item, items))`` over a thread pool and a
process pool. Its wheel is installed with outflow's wheels and pytest into a fresh
virtual environment, and its own test file (a subclass of
``outflow.core.test.backend_contract.BackendContract`` per backend) runs there, as
its author would run it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "outflow-threads"


def test_the_threads_and_processes_backends_pass_the_contract(tmp_path: Path,
                                                               wheelhouse) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    wheels = [str(wheelhouse.wheels[name])
              for name in (*wheelhouse.distributions, "outflow-threads")]
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check",
         "install", "-q", "--find-links", str(wheelhouse.directory), *wheels, "pytest"],
        capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr
    # The author's test file, away from this repository's conftest and settings.
    tests = tmp_path / "author" / "tests"
    shutil.copytree(FIXTURE / "tests", tests)
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV") and not key.startswith("OUTFLOW_")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    # Its own --basetemp: a pytest using the shared default (/tmp/pytest-of-<user>) resets
    # that directory to 0700, which the session's PostgreSQL server must traverse.
    done = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           f"--basetemp={tmp_path / 'author-tmp'}", str(tests)],
                          cwd=tests.parent, capture_output=True, text=True, timeout=900,
                          env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    from outflow.core.test.backend_contract import BackendContract

    contract = [name for name in dir(BackendContract) if name.startswith("test_")]
    assert f"{2 * len(contract)} passed" in done.stdout, done.stdout  # both backends, all

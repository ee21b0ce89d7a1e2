"""Secrets at DEBUG: a task logs and raises with a token and a URL password, on every
backend, with tracebacks printed; neither the terminal nor the run database shows them."""

from __future__ import annotations

import sqlite3

import pytest
from faultkit import FaultPipeline

TOKEN = "tok-9f8e7d6c5b4a"
PASSWORD = "hunter2-correct-horse"


@pytest.mark.parametrize("backend", ["default", "parallel"])
def test_secrets_never_reach_the_terminal_or_the_database(fault_pipeline: FaultPipeline,
                                                          backend: str) -> None:
    config = fault_pipeline.root / "config.yml"
    config.write_text(config.read_text()
                      + f"secrets:\n  api_token: {TOKEN}\n"
                      + f"service:\n  url: https://reader:{PASSWORD}@service.example/api\n")
    settings = fault_pipeline.root / "settings.py"
    settings.write_text(settings.read_text().replace("CONFIG_SECTIONS = ['fault_log']",
                                                     "CONFIG_SECTIONS = ['fault_log', 'service']"))
    done = fault_pipeline.run("fault_map", "--n", "3", "--sleep", "0", "--leak-at", "1",
                              "--log-level", "DEBUG", f"--label={TOKEN}", "-b", backend)
    assert done.returncode == 1, done.stderr
    printed = done.stdout + done.stderr
    assert "Traceback" in printed  # DEBUG: the traceback is printed...
    assert "refused" in printed and "token=" in printed  # ...and the task's log lines
    assert TOKEN not in printed and PASSWORD not in printed, printed
    with sqlite3.connect(fault_pipeline.database) as connection:
        dump = "\n".join(connection.iterdump())
    assert "refused" in dump  # the exception rows are there...
    assert TOKEN not in dump and PASSWORD not in dump  # ...masked

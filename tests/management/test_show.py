"""``management show [RUN]``: per task, how many ran, succeeded, failed, how long; the
failed map items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("restore_logging")  # the commands configure logging

@pytest.fixture
def pipeline(squares_pipeline) -> Path:
    return squares_pipeline


def test_show_counts_each_task_and_names_the_failed_items(pipeline, run_cli) -> None:
    root = pipeline(fail_at=3)
    assert run_cli(["management", "db", "upgrade", "heads"], root)[0] == 0
    assert run_cli(["squares"], root)[0] == 1
    code, out, err = run_cli(["management", "show", "--json"], root)  # the latest run
    assert code == 0, err
    shown = json.loads(out)
    assert shown["run"]["id"] == 1 and shown["run"]["state"] == "failed"
    blocks = {entry["name"]: entry for entry in shown["blocks"]}
    square = blocks["square"]  # the default backend stops at the failing item
    assert (square["runs"], square["success"], square["failed"]) == (4, 3, 1)
    assert blocks["values"]["runs"] == blocks["values"]["success"] == 1
    assert blocks["square"]["longest_seconds"] >= blocks["square"]["mean_seconds"] >= 0
    assert shown["failed_items"] == [{
        "index": 3, "block": "task square",
        "error": "task square failed: ValueError: no square for 3",
        "inputs": {"value": "3"}}]
    code, out, err = run_cli(["management", "show", "1"], root)
    assert code == 0, err
    assert out.startswith("run 1 (")
    assert "task square" in out and "failed items (1):" in out
    assert "  item 3: task square failed: ValueError: no square for 3" in out


def test_show_without_any_run_says_so(pipeline, run_cli) -> None:
    root = pipeline()
    assert run_cli(["management", "db", "upgrade", "heads"], root)[0] == 0
    code, _out, err = run_cli(["management", "show"], root)
    assert code != 0 and "no run recorded yet" in err


FLAKY = '''
from pathlib import Path

from outflow.core.commands import Command, RootCommand
from outflow.core.tasks import as_task


@as_task(retries=2)
def Fetch() -> {"data": int}:
    counter = Path("attempts.txt")
    attempts = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempts))
    if attempts < 3:
        raise ConnectionError(f"attempt {attempts}: the server did not answer")
    return attempts


@RootCommand.subcommand()
class FetchIt(Command):
    def setup_tasks(self):
        Fetch()
'''


def test_each_attempt_of_a_retried_task_is_tracked(make_pipeline, run_cli) -> None:
    root = make_pipeline(plugins=["flaky"],
                         files={"flaky/__init__.py": "", "flaky/commands.py": FLAKY},
                         config="databases:\n  default:\n    dialect: sqlite\n")
    assert run_cli(["management", "db", "upgrade", "heads"], root)[0] == 0
    code, _out, err = run_cli(["fetch_it"], root)
    assert code == 0, err
    assert err.count("task fetch failed (attempt") == 2
    code, out, err = run_cli(["management", "show", "--json"], root)
    fetch = next(entry for entry in json.loads(out)["blocks"] if entry["name"] == "fetch")
    assert (fetch["runs"], fetch["success"], fetch["failed"]) == (3, 1, 2)

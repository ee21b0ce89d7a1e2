"""``MapWorkflow(keep_going=True)`` and ``--keep-going``: every item runs, the map fails
at the end naming how many failed and the first of them; finished items are kept and
cached. ``MapWorkflow(retries=N)``: a failing item runs again where it runs."""

import json
import pickle
from pathlib import Path

import pytest

from outflow.core.backends import ItemFailure
from outflow.library.map_workflow import NAMED_FAILURES, MapItemsFailed

pytestmark = pytest.mark.usefixtures("restore_logging")  # the commands configure logging

#: Where ``Square`` of the ``squares_pipeline`` fixture raises.
SQUARES_RAISE_LINE = "squaresdemo/commands.py:17"


def _error_line(err: str) -> str:
    [line] = [line for line in err.splitlines() if line.startswith("outflow: error:")]
    return line


@pytest.mark.parametrize("backend", ["default", "parallel"])
def test_a_map_that_keeps_going_runs_every_item_and_names_the_failed_ones(
        squares_pipeline, run_cli, backend: str) -> None:
    root = squares_pipeline(fail_at=(1, 4), count=6, map_options="keep_going=True")
    assert run_cli(["management", "db", "upgrade", "heads"], root)[0] == 0
    code, _out, err = run_cli(["squares", "-b", backend], root)
    assert code == 1
    line = _error_line(err)
    assert (f"2 of 6 items of workflow squares_map failed: item 1 in task square: ValueError: "
            f"no square for 1 ({SQUARES_RAISE_LINE}); item 4 in task square: ValueError: no "
            f"square for 4 ({SQUARES_RAISE_LINE}) (4 of 6 items finished; their outputs are "
            "kept)") in line, line
    assert line.endswith("-> outflow management debug 1"), line
    assert "run 1 failed" in line
    code, out, err = run_cli(["management", "show", "--json"], root)
    square = next(entry for entry in json.loads(out)["blocks"] if entry["name"] == "square")
    assert (square["runs"], square["success"], square["failed"]) == (6, 4, 2)


def test_keep_going_on_the_command_line_caches_the_finished_items(
        squares_pipeline, run_cli) -> None:
    root = squares_pipeline(fail_at=(0, 2), count=5, map_options="cache=True")
    code, _out, err = run_cli(["squares", "--db-untracked", "--keep-going"], root)
    assert code == 1 and "2 of 5 items of workflow squares_map failed: item 0 " in err, err
    code, _out, err = run_cli(["squares", "--db-untracked", "-ll", "INFO"], root)
    assert code == 1 and "item 0 of workflow squares_map failed" in err, err
    assert "3 of 5 items read from the workflow cache" in err  # the finished ones


def test_the_message_names_the_first_failures_and_counts_the_others(
        squares_pipeline, run_cli) -> None:
    failing = tuple(range(0, 20, 2))
    root = squares_pipeline(fail_at=failing, count=20, map_options="keep_going=True")
    code, _out, err = run_cli(["squares", "--db-untracked"], root)
    assert code == 1
    line = _error_line(err)
    assert line.count("ValueError: no square for") == NAMED_FAILURES
    assert f"; and {len(failing) - NAMED_FAILURES} more (10 of 20 items finished" in line


def test_the_failures_of_a_map_that_kept_going_pickle_with_every_item() -> None:
    failures = [ItemFailure("map m", index, ValueError(f"bad {index}"), block_name="t",
                            origin="tasks.py:3") for index in (7, 2)]
    error = MapItemsFailed("map m", failures, completed={0: "a"}, total=9)
    assert (error.index, str(error.error)) == (2, "bad 2")
    back = pickle.loads(pickle.dumps(error))
    assert [failure.index for failure in back.failures] == [2, 7]
    assert str(back) == str(error)
    assert str(error).startswith("2 of 9 items of map m failed: item 2 in task t: ValueError: "
                                 "bad 2 (tasks.py:3); item 7 in task t")


FLAKY_ITEMS = '''
from pathlib import Path

from outflow.core.commands import Command, RootCommand
from outflow.core.tasks import as_task
from outflow.library.workflows import MapWorkflow


@as_task
def Values() -> {"value_array": list}:
    return [0, 1, 2]


@as_task
def Fetch(value: int) -> {"page": int}:
    marker = Path(f"attempted-{value}")
    if value == 1 and not marker.exists():
        marker.write_text("")
        raise ConnectionError("the server did not answer")
    return value


@as_task
def Typo(value: int) -> {"page": int}:
    with open(f"typo-{value}", "a") as attempts:
        attempts.write("x")
    return "not an int"


@RootCommand.subcommand()
class FetchAll(Command):
    def setup_tasks(self):
        Values() | MapWorkflow(Fetch(), name="pages", retries=1, retry_delay=0.01)


@RootCommand.subcommand()
class Mistyped(Command):
    def setup_tasks(self):
        Values() | MapWorkflow(Typo(), name="typos", retries=3)
'''


@pytest.mark.parametrize("backend", ["default", "parallel"])
def test_a_map_retries_a_failing_item_where_it_runs(make_pipeline, run_cli,
                                                    backend: str) -> None:
    root = make_pipeline(plugins=["flakyitems"],
                         files={"flakyitems/__init__.py": "",
                                "flakyitems/commands.py": FLAKY_ITEMS},
                         config="databases:\n  default:\n    dialect: sqlite\n")
    assert run_cli(["management", "db", "upgrade", "heads"], root)[0] == 0
    code, _out, err = run_cli(["fetch_all", "-b", backend], root)
    assert code == 0, err
    log = (root / ".outflow" / "logs" / "run-1.log").read_text()  # workers' lines too
    assert ("item 1 of workflow pages failed in task fetch: ConnectionError: the server did "
            "not answer (flakyitems/commands.py:18) (attempt 1 of 2); trying again in "
            "0.01 s") in log, log
    code, out, err = run_cli(["management", "show", "--json"], root)
    fetch = next(entry for entry in json.loads(out)["blocks"] if entry["name"] == "fetch")
    assert (fetch["runs"], fetch["success"], fetch["failed"]) == (4, 3, 1)
    code, _out, err = run_cli(["mistyped", "-b", backend, "--db-untracked"], root)
    assert code == 1 and "trying again" not in err, err
    attempts = [path.read_text() for path in Path(root).glob("typo-*")]
    assert attempts and set(attempts) == {"x"}  # each item that ran, once


@pytest.mark.parametrize("options", ["retries=-1", "retries=True", "retry_delay='soon'"])
def test_bad_retry_options_are_refused_naming_the_map(make_pipeline, run_cli,
                                                       options: str) -> None:
    root = make_pipeline(plugins=["badretries"], files={
        "badretries/__init__.py": "",
        "badretries/commands.py": FLAKY_ITEMS.replace("retries=1, retry_delay=0.01", options)})
    code, _out, err = run_cli(["fetch_all", "--db-untracked"], root)
    assert code != 0
    assert "workflow pages: retr" in err, err

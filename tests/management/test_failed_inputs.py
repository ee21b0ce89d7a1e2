"""What a run records of its failures and of the cache, and how ``debug`` and ``show``
say it: the failed item's inputs (secrets masked, long values cut), the user's line
first, each error's traceback once, and the outputs read from the workflow cache."""

import json

import pytest

pytestmark = pytest.mark.usefixtures("restore_logging")  # the commands configure logging

COMMANDS = '''
from outflow.core.commands import Command, RootCommand
from outflow.core.tasks import as_task
from outflow.library.workflows import MapWorkflow


@as_task
def Files() -> {"file_array": list}:
    return [{"name": "a.fits", "token": "tok-abc-123"},
            "postgresql://reader:hunter2222@db.example/x",
            "x" * 1000,
            "fine.fits"]


def check(file):
    if file != "fine.fits":
        raise ValueError("unreadable file")


@as_task
def Reduce(file) -> {"reduced": str}:
    check(file)
    return "ok"


@RootCommand.subcommand()
class ReduceAll(Command):
    def setup_tasks(self):
        Files() | MapWorkflow(Reduce(), name="reduction", keep_going=True, cache=True)
'''


@pytest.fixture
def pipeline(make_pipeline):
    root = make_pipeline(
        plugins=["reducer"],
        files={"reducer/__init__.py": "", "reducer/commands.py": COMMANDS},
        config="databases:\n  default:\n    dialect: sqlite\n")
    (root / "settings.py").write_text((root / "settings.py").read_text()
                                      + "TRACKED_INPUT_LENGTH = 60\n")
    return root


@pytest.mark.parametrize("backend", ["default", "parallel"])
def test_failed_items_keep_their_inputs_masked_and_cut(pipeline, run_cli, backend) -> None:
    assert run_cli(["management", "db", "upgrade", "heads"], pipeline)[0] == 0
    assert run_cli(["reduce_all", "-b", backend], pipeline)[0] == 1
    code, out, err = run_cli(["management", "show", "--json"], pipeline)
    assert code == 0, err
    inputs = {item["index"]: item["inputs"] for item in json.loads(out)["failed_items"]}
    assert inputs[0] == {"file": "{'name': 'a.fits', 'token': '******'}"}
    assert inputs[1] == {"file": "'postgresql://reader:******@db.example/x'"}
    assert len(inputs[2]["file"]) <= 60 and "..." in inputs[2]["file"]  # abridged
    assert 3 not in inputs
    assert "tok-abc-123" not in out and "hunter2222" not in out
    code, out, err = run_cli(["management", "show"], pipeline)
    assert "    input file = {'name': 'a.fits', 'token': '******'}" in out


def test_debug_shows_the_users_line_first_and_each_traceback_once(pipeline, run_cli) -> None:
    assert run_cli(["management", "db", "upgrade", "heads"], pipeline)[0] == 0
    assert run_cli(["reduce_all"], pipeline)[0] == 1
    code, out, err = run_cli(["management", "debug"], pipeline)
    assert code == 0, err
    first = out.split("\n\n")[1].splitlines()  # the first failed block, a task
    assert first[0] == "task reduce (map item 0) in reducer.commands: failed"
    assert first[1] == "  ValueError: unreadable file"
    assert first[2] == '  at reducer/commands.py:16: raise ValueError("unreadable file")'
    assert first[3] == "  input file = {'name': 'a.fits', 'token': '******'}"
    assert first[4] == "  Traceback (most recent call last):"
    assert "outflow/core" not in out and "TaskError" not in out  # outflow's part left out
    # Items 1 and 2 raised the same error on the same line, and the map's is theirs.
    assert out.count('in check\n      raise ValueError("unreadable file")') == 1
    assert out.count("(the error of task reduce (map item 0), above)") == 3
    code, full, err = run_cli(["management", "debug", "--full"], pipeline)
    assert "The above exception was the direct cause of the following exception" in full
    assert "outflow.core.tasks.errors.TaskError" in full


def test_the_cache_hits_are_counted_in_the_summary_and_shown(make_pipeline, squares_pipeline,
                                                             run_cli) -> None:
    root = squares_pipeline(map_options="cache=True")
    assert run_cli(["management", "db", "upgrade", "heads"], root)[0] == 0
    code, _out, err = run_cli(["squares"], root)
    assert code == 0 and "(5 items, 0 failed)" in err, err
    code, _out, err = run_cli(["squares"], root)
    assert code == 0 and "(5 items, 0 failed, 5 from the cache)" in err, err
    code, out, _err = run_cli(["management", "show"], root)
    assert "read from the workflow cache: 5 (workflows and map items)" in out
    code, out, _err = run_cli(["management", "list_runs", "--json"], root)
    assert [run["cache_hits"] for run in json.loads(out)] == [5, 0]

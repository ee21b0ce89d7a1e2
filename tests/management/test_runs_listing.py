"""``management list_runs --json``, its table in a narrow terminal, and the completion of
``management debug RUN`` from the tracked runs."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

COMMANDS = '''
from outflow.core.commands import Command, RootCommand
from outflow.core.tasks import as_task


@as_task
def Start() -> {"x": int}:
    return {"x": 1}


@as_task
def Boom(x: int) -> {"x": int}:
    raise ValueError("boom")


@RootCommand.subcommand(name="reduce_the_observations_of_the_night")
class Reduce(Command):
    def add_arguments(self):
        self.add_argument("--fail", action="store_true")

    def setup_tasks(self):
        from outflow.core.pipeline import context

        task = Start()
        if context.args.fail:
            task | Boom()
'''

COMMAND = "reduce_the_observations_of_the_night"


@pytest.fixture
def pipeline(make_pipeline) -> Path:
    return make_pipeline(
        plugins=["runsdemo"],
        files={"runsdemo/__init__.py": "", "runsdemo/commands.py": COMMANDS},
        config="databases:\n  default:\n    dialect: sqlite\n",
    )


@pytest.fixture
def two_runs(pipeline: Path, run_cli, restore_logging) -> Path:
    """Run 1 succeeded, run 2 failed."""
    assert run_cli(["management", "db", "upgrade", "heads"], pipeline)[0] == 0
    assert run_cli([COMMAND], pipeline)[0] == 0
    assert run_cli([COMMAND, "--fail"], pipeline)[0] == 1
    return pipeline


def complete(cwd: Path, line: str) -> subprocess.CompletedProcess[str]:
    """``line``'s last word completed as bash's script asks ``outflow``."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("OUTFLOW_", "COMP_"))}
    env.update(_OUTFLOW_COMPLETE="bash_complete", COMP_WORDS=line,
               COMP_CWORD=str(len(line.split(" ")) - 1), XDG_CACHE_HOME=str(cwd / ".cache"))
    return subprocess.run([sys.executable, "-c", "from outflow.core.cli.main import main; main()"],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=60)


def test_without_a_database_json_is_an_empty_array_and_nothing_is_created(pipeline, run_cli):
    code, out, err = run_cli(["management", "list_runs", "--json"], pipeline)
    assert code == 0, err
    assert json.loads(out) == []
    assert not list(pipeline.glob("outflow.db*"))


def test_list_runs_json_has_every_field_in_full(two_runs, run_cli):
    code, out, err = run_cli(["management", "list-runs", "--json"], two_runs)
    assert code == 0, err
    runs = json.loads(out)
    assert [run["id"] for run in runs] == [2, 1]
    assert [run["state"] for run in runs] == ["failed", "success"]
    first = runs[1]
    assert set(first) == {"id", "uuid", "command", "state", "start", "end", "duration",
                          "backend", "user", "host", "log", "cache_hits",
                          "blocks_done"}
    assert first["command"] == COMMAND and first["backend"] == "default"
    start, end = datetime.fromisoformat(first["start"]), datetime.fromisoformat(first["end"])
    assert start.utcoffset().total_seconds() == 0  # UTC, said so
    assert first["duration"] == pytest.approx((end - start).total_seconds())
    assert len(first["uuid"]) == 36
    code, out, _ = run_cli(["management", "list_runs", "--json", "--limit", "1"], two_runs)
    assert [run["id"] for run in json.loads(out)] == [2]


def test_list_runs_json_shows_a_crashed_run_as_the_table_does(two_runs, run_cli):
    with sqlite3.connect(two_runs / "outflow.db") as connection:  # process gone: crashed
        connection.execute("UPDATE run SET state = 'running', end_time = NULL, pid = ?, "
                           "process = 'another-boot:1' WHERE id = 1", (os.getpid(),))
    connection.close()
    code, out, err = run_cli(["management", "list_runs", "--json"], two_runs)
    assert code == 0, err
    crashed = json.loads(out)[1]
    assert (crashed["state"], crashed["end"], crashed["duration"]) == ("crashed", None, None)
    assert crashed["blocks_done"] > 0  # how far it got
    code, out, _ = run_cli(["management", "list_runs"], two_runs)
    lines = out.splitlines()  # a run not finished: the table says how far it got
    assert lines[0].split()[-3:] == ["blocks", "done", "state"]  # the state stays last
    rows = {line.split()[0]: line.split() for line in lines[1:] if line[:1].isdigit()}
    assert rows["1"][-2:] == [str(crashed["blocks_done"]), "crashed"]
    assert rows["2"][-1] == "failed"  # a finished run: nothing in that column


def test_the_table_fits_a_narrow_terminal_and_keeps_states_whole(two_runs, run_cli,
                                                                 monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    code, out, err = run_cli(["management", "list_runs"], two_runs)
    assert code == 0, err
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 60
    assert lines[0].split() == ["id", "command", "start", "duration", "state"]
    rows = [line for line in lines[1:] if line[:1].isdigit()]
    assert [row.split()[-1] for row in rows] == ["failed", "success"]
    newest = lines[1:lines.index(rows[1])]  # the row of run 2 and its continuation lines
    assert len(newest) > 1
    left, right = lines[0].index("command"), lines[0].index("start")
    assert "".join(line[left:right].strip() for line in newest) == COMMAND  # wrapped, not cut


def test_debug_completes_run_ids_newest_first_then_uuid_prefixes(two_runs):
    done = complete(two_runs, "outflow management debug ")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == ["plain,2", "plain,1"]
    assert complete(two_runs, "outflow management debug 1").stdout.splitlines() == ["plain,1"]
    with sqlite3.connect(two_runs / "outflow.db") as connection:
        uuid = connection.execute("SELECT uuid FROM run WHERE id = 2").fetchone()[0]
    connection.close()
    prefix = next(uuid[:length] for length in range(1, 37) if not uuid[:length].isdigit())
    done = complete(two_runs, f"outflow management debug {prefix}")
    assert f"plain,{uuid}" in done.stdout.splitlines()


def test_debug_completes_nothing_and_creates_no_database_before_any_run(pipeline):
    done = complete(pipeline, "outflow management debug ")
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "", "")
    assert not list(pipeline.glob("outflow.db*"))


def test_debug_completes_nothing_from_a_database_without_tables(pipeline):
    sqlite3.connect(pipeline / "outflow.db").close()  # an empty file: no run table
    done = complete(pipeline, "outflow management debug ")
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "", "")


# -- filters, and debug's default ----------------------------------------------------------
def _ids(run_cli, cwd: Path, *filters: str) -> list[int]:
    code, out, err = run_cli(["management", "list_runs", "--json", *filters], cwd)
    assert code == 0, err
    return [run["id"] for run in json.loads(out)]


def test_list_runs_filters_by_state_command_and_start(two_runs, run_cli):
    assert _ids(run_cli, two_runs, "--state", "failed") == [2]
    assert _ids(run_cli, two_runs, "--state", "success") == [1]
    assert _ids(run_cli, two_runs, "--state", "crashed") == []
    assert _ids(run_cli, two_runs, "--command", "observations") == [2, 1]
    assert _ids(run_cli, two_runs, "--command", "calibrate") == []
    assert _ids(run_cli, two_runs, "--since", "1h") == [2, 1]
    assert _ids(run_cli, two_runs, "--since", "2999-01-01") == []
    with sqlite3.connect(two_runs / "outflow.db") as connection:  # run 1: crashed
        connection.execute("UPDATE run SET state = 'running', end_time = NULL, pid = ?, "
                           "process = 'another-boot:1' WHERE id = 1", (os.getpid(),))
    connection.close()
    assert _ids(run_cli, two_runs, "--state", "crashed") == [1]
    assert _ids(run_cli, two_runs, "--state", "running") == []
    code, out, _ = run_cli(["management", "list_runs", "--state", "interrupted"], two_runs)
    assert (code, out.strip()) == (0, "No run matches.")


def test_a_bad_since_is_one_line(two_runs, run_cli):
    code, _out, err = run_cli(["management", "list_runs", "--since", "yesterday"], two_runs)
    assert code == 2
    assert "'yesterday' is neither a duration (30m, 2h, 3d, 1w) nor a date" in err
    assert len(err.strip().splitlines()) == 1


def test_debug_without_a_run_shows_the_latest_failed_one(two_runs, run_cli):
    code, out, err = run_cli(["management", "debug"], two_runs)
    assert code == 0, err
    assert out.startswith("run 2 (") and "ValueError: boom" in out


def test_debug_without_a_failed_run_says_so(pipeline, run_cli, restore_logging):
    assert run_cli(["management", "db", "upgrade", "heads"], pipeline)[0] == 0
    assert run_cli([COMMAND], pipeline)[0] == 0
    code, _out, err = run_cli(["management", "debug"], pipeline)
    assert code != 0
    assert "no failed run recorded" in err

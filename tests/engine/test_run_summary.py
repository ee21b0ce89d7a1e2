"""The line that ends a run: ``run 14 succeeded in 4.3 s (5 items, 0 failed)``, or the
failure line naming the run, the item, the user's line and the debug command."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outflow.core.commands.summary import debug_command, duration, failure_line, success_line
from outflow.core.runs import RunInfo

pytestmark = pytest.mark.usefixtures("restore_logging")  # the commands configure logging

@pytest.fixture
def pipeline(squares_pipeline) -> Path:
    return squares_pipeline


def test_a_tracked_run_ends_with_its_number_duration_and_counts(pipeline, run_cli) -> None:
    root = pipeline()
    assert run_cli(["management", "db", "upgrade", "heads"], root)[0] == 0
    code, _out, err = run_cli(["squares"], root)
    assert code == 0, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("run 1 succeeded in ") and last.endswith(" s (5 items, 0 failed)"), err


def test_management_commands_and_a_quiet_log_level_print_no_summary(pipeline, run_cli) -> None:
    root = pipeline()
    code, _out, err = run_cli(["management", "db", "upgrade", "heads"], root)
    assert code == 0 and "succeeded" not in err, err
    code, _out, err = run_cli(["squares", "-ll", "WARNING"], root)
    assert code == 0 and "succeeded" not in err, err
    code, out, err = run_cli(["management", "list_runs"], root)
    assert code == 0 and "succeeded" not in err + out


def test_a_failed_run_names_itself_the_item_the_line_and_the_debug_command(
        pipeline, run_cli) -> None:
    root = pipeline(fail_at=3)
    assert run_cli(["management", "db", "upgrade", "heads"], root)[0] == 0
    code, _out, err = run_cli(["squares"], root)
    assert code == 1
    [line] = [line for line in err.splitlines() if line.startswith("outflow: error:")]
    assert line.startswith("outflow: error: run 1 failed after "), line
    assert ("item 3 of workflow squares_map failed in task square: ValueError: no square for 3 "
            "(squaresdemo/commands.py:17)") in line, line
    assert line.endswith(" -> outflow management debug 1"), line
    # The debug command named there works.
    code, out, err = run_cli(["management", "debug", "1"], root)
    assert code == 0 and "no square for 3" in out + err


def test_an_untracked_failure_is_the_error_alone(pipeline, run_cli) -> None:
    root = pipeline(fail_at=0)
    code, _out, err = run_cli(["squares", "--db-untracked"], root)
    assert code == 1
    assert ("outflow: error: item 0 of workflow squares_map failed in task square: "
            "ValueError: no square for 0 (squaresdemo/commands.py:17)") in err, err
    assert "run failed" not in err and "management debug" not in err


def test_lines_of_runs_without_maps_or_number() -> None:
    run = RunInfo(command="c", start_time=100.0)
    run.end_time = 100.25
    assert success_line(run) == "run succeeded in 0.25 s"
    run.id, run.items, run.items_failed = 7, 3, 0
    assert success_line(run) == "run 7 succeeded in 0.25 s (3 items, 0 failed)"
    assert failure_line(run, "boom", "manage.py") == (
        "run 7 failed after 0.25 s: boom -> python manage.py management debug 7")
    assert debug_command("outflow") == "outflow management debug"


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0.00 s"), (0.424, "0.42 s"), (4.31, "4.3 s"), (37.2, "37 s"), (125, "2 min 05 s"),
    (3725, "1 h 02 min"),
])
def test_durations_read_like_a_person_writes_them(seconds: float, text: str) -> None:
    assert duration(seconds) == text


@given(st.floats(min_value=0, max_value=10**7, allow_nan=False))
def test_every_duration_is_short_and_in_seconds_minutes_or_hours(seconds: float) -> None:
    text = duration(seconds)
    assert len(text) <= 14 and text.split()[-1] in ("s", "min")

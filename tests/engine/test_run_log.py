"""Each recorded run's log file: ``.outflow/logs/run-<id>.log``, at DEBUG level whatever
the console shows, worker processes included, capped, the oldest pruned."""

from pathlib import Path

import pytest

from outflow.core.logging.run_log import prune

pytestmark = pytest.mark.usefixtures("restore_logging")  # the commands configure logging


@pytest.mark.parametrize("backend", ["default", "parallel"])
def test_a_recorded_run_writes_its_debug_log_and_its_end(squares_pipeline, run_cli,
                                                         backend: str) -> None:
    root = squares_pipeline(fail_at=2, count=4)
    assert run_cli(["management", "db", "upgrade", "heads"], root)[0] == 0
    code, _out, err = run_cli(["squares", "-b", backend], root)
    assert code == 1
    assert "squaring" not in err  # the console stays at INFO
    text = (root / ".outflow" / "logs" / "run-1.log").read_text()
    assert "DEBUG - values made" in text
    assert all(f"DEBUG - squaring {value}" in text for value in (0, 1, 2))
    assert "ERROR - run 1 failed after" in text and "ValueError: no square for 2" in text
    assert "Traceback (most recent call last):" in text
    code, out, _err = run_cli(["management", "debug", "1"], root)
    assert code == 0 and "  log .outflow/logs/run-1.log" in out
    code, out, _err = run_cli(["management", "list_runs", "--json"], root)
    assert '"log": ".outflow/logs/run-1.log"' in out


def test_untracked_runs_write_no_log_file(squares_pipeline, run_cli) -> None:
    root = squares_pipeline(count=4)
    assert run_cli(["squares", "--db-untracked"], root)[0] == 0
    assert not (root / ".outflow" / "logs").exists()


def test_the_log_stops_at_its_size_cap_and_old_logs_are_pruned(squares_pipeline,
                                                                 run_cli) -> None:
    root = squares_pipeline(count=4)
    settings = root / "settings.py"
    settings.write_text(settings.read_text() + "RUN_LOG_MAX_BYTES = 300\nRUN_LOG_KEEP = 2\n")
    assert run_cli(["management", "db", "upgrade", "heads"], root)[0] == 0
    for _ in range(3):
        assert run_cli(["squares"], root)[0] == 0
    logs = root / ".outflow" / "logs"
    assert sorted(path.name for path in logs.iterdir()) == ["run-2.log", "run-3.log"]
    text = (logs / "run-3.log").read_text()
    assert "(log stopped at" in text and "RUN_LOG_MAX_BYTES is 300" in text
    assert len(text) < 300 + 400  # the line that crossed the cap, and the notice


def test_prune_keeps_the_newest_by_run_number(tmp_path: Path) -> None:
    for number in (1, 2, 10, 11):
        (tmp_path / f"run-{number}.log").write_text("x")
    (tmp_path / "notes.txt").write_text("kept")
    prune(tmp_path, 2)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "notes.txt", "run-10.log", "run-11.log"]

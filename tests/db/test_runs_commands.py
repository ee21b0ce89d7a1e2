"""``management list_runs`` and ``management debug RUN``."""

from __future__ import annotations

from sqlalchemy import create_engine, select

from outflow.management.models import Run


def test_list_runs_and_debug(demo_pipeline, run_cli) -> None:
    root = demo_pipeline()
    code, out, err = run_cli(["management", "list_runs"], root)
    assert code == 0 and "No run recorded" in out, err
    assert not list(root.glob("outflow.db*"))  # reading creates no database
    assert run_cli(["management", "db", "upgrade", "heads"], root)[0] == 0
    assert run_cli(["chain", "--n", "2"], root)[0] == 0
    assert run_cli(["chain", "--n", "3", "--fail"], root)[0] == 1

    code, out, err = run_cli(["management", "list_runs"], root)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].split() == ["id", "command", "start", "duration", "state"]
    assert lines[1].split()[0] == "2" and lines[1].split()[-1] == "failed"  # newest first
    assert lines[2].split()[0] == "1" and lines[2].split()[-1] == "success"
    assert " s " in lines[1]  # a duration
    code, out, _ = run_cli(["management", "list_runs", "--limit", "1"], root)
    assert len(out.strip().splitlines()) == 2

    code, out, err = run_cli(["management", "debug", "2"], root)
    assert code == 0, err
    assert "chain [failed]" in out
    assert "task boom in demo.commands: failed" in out
    assert "\n  ValueError: boom at 3\n" in out  # the task's own error, not its wrapper
    assert "Traceback (most recent call last)" in out
    assert "workflow chain" in out and "task inc" not in out

    engine = create_engine(f"sqlite:///{root / 'outflow.db'}")
    with engine.connect() as connection:
        uuid = connection.execute(select(Run.__table__.c.uuid)
                                  .where(Run.__table__.c.id == 1)).scalar()
    engine.dispose()
    code, out, err = run_cli(["management", "debug", uuid[:8]], root)
    assert code == 0 and "No failed block." in out, err
    code, out, err = run_cli(["management", "debug", "zzzz"], root)
    assert code == 1 and "no run with id or uuid prefix 'zzzz'" in err
    # The inspection commands are not tracked themselves.
    code, out, _ = run_cli(["management", "list_runs"], root)
    assert len(out.strip().splitlines()) == 3

"""Concurrent pipeline runs tracking into one database lose no row and raise no error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select

from outflow.management.models import Block, Configuration, Run

TASKS = 40  # per run: Start + TASKS Inc + the top-level workflow


def _run_concurrently(root: Path, runs: int) -> list[subprocess.CompletedProcess[str]]:
    processes = [
        subprocess.Popen([sys.executable, "-m", "outflow", "chain", "--n", str(TASKS)],
                         cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(runs)
    ]
    done = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def _check(url: Any, done: list[subprocess.CompletedProcess[str]]) -> None:
    for result in done:
        assert result.returncode == 0, result.stderr
        assert "database is locked" not in result.stderr
        assert "could not write the tracking" not in result.stderr
    engine = create_engine(url)
    with engine.connect() as connection:
        states = connection.execute(select(Run.__table__.c.state)).scalars().all()
        assert states == ["success"] * len(done)
        blocks = connection.execute(select(func.count()).select_from(Block.__table__)).scalar()
        assert blocks == len(done) * (TASKS + 2)
        unfinished = connection.execute(
            select(func.count()).select_from(Block.__table__)
            .where(Block.__table__.c.end_time.is_(None))).scalar()
        assert unfinished == 0
        configurations = connection.execute(
            select(func.count()).select_from(Configuration.__table__)).scalar()
        assert configurations == 1
    engine.dispose()


def test_four_runs_on_sqlite_at_once(demo_pipeline, run_cli) -> None:
    root = demo_pipeline()
    assert run_cli(["management", "db", "upgrade", "heads"], root)[0] == 0
    _check(f"sqlite:///{root / 'outflow.db'}", _run_concurrently(root, 4))


def test_eight_runs_on_postgresql_at_once(demo_pipeline, run_cli, postgresql_fixture) -> None:
    root = demo_pipeline(databases={"default": postgresql_fixture.config})
    assert run_cli(["management", "db", "upgrade", "heads"], root)[0] == 0
    _check(postgresql_fixture.url(admin=True), _run_concurrently(root, 8))

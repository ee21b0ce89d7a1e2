"""Read the tracked runs: what ``list_runs`` and ``debug`` show, and what ``debug RUN``
completes.

Reading never creates anything: a SQLite database file that does not exist yet
means "no run recorded", not a new empty file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from outflow.core.errors import OutflowError


class RunNotFound(OutflowError, LookupError):
    """No run, or several, match what the user typed."""


@dataclass
class FailedBlock:
    """A failed block of a run and what it raised (None when it failed because a child did)."""

    id: int | None
    kind: str
    name: str
    plugin: str | None
    map_index: int | None
    exception_type: str | None
    message: str | None
    traceback: str | None
    #: ``{name: text}``: what the block was given (masked, cut; see the tracker)
    input_values: dict[str, str] | None = None


def has_database(databases: Any) -> bool:
    path = databases.sqlite_file()
    return path is None or path.exists()


def local_time(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.replace(tzinfo=timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return "-"
    seconds = (end - start).total_seconds()
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


def seconds(start: datetime | None, end: datetime | None) -> float | None:
    """A run's duration in seconds (None while it runs): for ``list_runs --json``."""
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def utc_time(value: datetime | None) -> str | None:
    """ISO 8601 in UTC (the database stores naive UTC times): for ``list_runs --json``."""
    return None if value is None else value.replace(tzinfo=timezone.utc).isoformat()


#: The states ``list_runs --state`` takes: those stored, and ``crashed`` (shown).
STATES = ("running", "success", "failed", "interrupted", "crashed")


def latest_runs(databases: Any, limit: int | None, *, state: str | None = None,
                command: str | None = None, since: datetime | None = None) -> list[Any]:
    """Runs, newest first: at most ``limit``, in ``state`` (as shown: ``crashed`` and
    ``running`` are told apart by :func:`~outflow.management.liveness.shown_state`),
    whose command contains ``command``, started at or after ``since`` (naive UTC)."""
    from sqlalchemy import select

    from outflow.management.liveness import shown_state
    from outflow.management.models import Run

    if not has_database(databases):
        return []
    table = Run.__table__
    query = select(table.c.id, table.c.uuid, table.c.command, table.c.start_time,
                   table.c.end_time, table.c.state, table.c.hostname, table.c.pid,
                   table.c.process, table.c.user, table.c.backend, table.c.cache_hits
                   ).order_by(table.c.id.desc())
    if state is not None:
        query = query.where(table.c.state == ("running" if state == "crashed" else state))
    if command:
        query = query.where(table.c.command.contains(command, autoescape=True))
    if since is not None:
        query = query.where(table.c.start_time >= since)
    live = state in ("running", "crashed")  # decided per row, after the query
    if limit and not live:
        query = query.limit(limit)
    with databases.engine().connect() as connection:
        runs = list(connection.execute(query).all())
    if live:
        runs = [run for run in runs if shown_state(run) == state]
    return runs[:limit] if limit else runs


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``--since``: ``30m``, ``2h``, ``3d``, ``1w`` ago, or a local date or time
    (``2026-12-01``, ``2026-12-01T14:00``); naive UTC, as the database stores times."""
    import re
    from datetime import timedelta

    now = datetime.now(timezone.utc) if now is None else now
    match = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text)
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
        moment = now - timedelta(**{unit[match.group(2)]: int(match.group(1))})
    else:
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is neither a duration (30m, 2h, 3d, 1w) nor a date "
                             "(2026-12-01, 2026-12-01T14:00)") from None
        if moment.tzinfo is None:
            moment = moment.astimezone()  # the user's local time
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def latest_failed_run(databases: Any) -> Any:
    """The newest run that failed or crashed: what ``debug`` shows by default."""
    from outflow.management.liveness import shown_state

    for run in latest_runs(databases, None):
        if shown_state(run) in ("failed", "crashed"):
            return find_run(databases, str(run.id))
    raise RunNotFound("no failed run recorded")


#: How long completing ``debug <TAB>`` waits for a PostgreSQL server: the shell waits too.
COMPLETION_CONNECT_TIMEOUT_S = 2


def runs_starting_with(databases: Any, prefix: str, limit: int = 50) -> list[Any]:
    """The newest runs whose id (digits) or uuid (anything else) starts with ``prefix``.

    For the shell's completion of ``management debug RUN``: no database file is created
    (none means no run), and a PostgreSQL server that does not answer is given
    :data:`COMPLETION_CONNECT_TIMEOUT_S` seconds, not the driver's minutes.
    """
    from sqlalchemy import String, cast, select

    from outflow.management.models import Run

    if not has_database(databases):
        return []
    table = Run.__table__
    query = select(table.c.id, table.c.uuid, table.c.command, table.c.start_time,
                   table.c.state, table.c.hostname, table.c.pid, table.c.process)
    if not prefix or prefix.isdigit():
        query = query.where(cast(table.c.id, String).like(prefix + "%"))
    else:
        query = query.where(table.c.uuid.like(prefix.lower() + "%"))
    query = query.order_by(table.c.id.desc()).limit(limit)
    if databases.settings_for(None).is_sqlite:
        with databases.engine().connect() as connection:
            return list(connection.execute(query).all())
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(databases.url(), poolclass=NullPool,
                           connect_args={"connect_timeout": COMPLETION_CONNECT_TIMEOUT_S})
    try:
        with engine.connect() as connection:
            return list(connection.execute(query).all())
    finally:
        engine.dispose()


def find_run(databases: Any, reference: str) -> Any:
    """A run by id (digits) or by the first characters of its uuid."""
    from sqlalchemy import select

    from outflow.management.models import Run

    if not has_database(databases):
        raise RunNotFound("no run recorded yet")
    table = Run.__table__
    with databases.engine().connect() as connection:
        if reference.isdigit():
            found = connection.execute(select(table).where(table.c.id == int(reference))).first()
            if found is not None:
                return found
        matches = connection.execute(
            select(table).where(table.c.uuid.like(reference.lower() + "%")).limit(2)
        ).all()
    if not matches:
        raise RunNotFound(f"no run with id or uuid prefix {reference!r}")
    if len(matches) > 1:
        raise RunNotFound(f"several runs have a uuid starting with {reference!r}: type more")
    return matches[0]


def blocks_done(databases: Any, run_ids: list[int]) -> dict[int, int]:
    """Run id -> how many of its blocks ended (succeeded, failed, skipped...), as written
    so far: a running run's progress (rows are written in batches, every few seconds)."""
    from sqlalchemy import func, select

    from outflow.management.models import Block

    if not run_ids:
        return {}
    block = Block.__table__
    query = (select(block.c.run_id, func.count())
             .where(block.c.run_id.in_(run_ids), block.c.state != "running")
             .group_by(block.c.run_id))
    with databases.engine().connect() as connection:
        return {int(run_id): int(count) for run_id, count in connection.execute(query)}


def failed_blocks(databases: Any, run_id: int) -> list[FailedBlock]:
    """Failed blocks of the run, in order, then exceptions raised outside any block."""
    from sqlalchemy import select

    from outflow.management.models import Block, RuntimeException

    block, error = Block.__table__, RuntimeException.__table__
    query = (
        select(block.c.id, block.c.kind, block.c.name, block.c.plugin, block.c.map_index,
               error.c.type, error.c.message, error.c.traceback, block.c.input_values)
        .select_from(block.outerjoin(error, error.c.block_id == block.c.id))
        .where(block.c.run_id == run_id, block.c.state == "failed")
        .order_by(block.c.id)
    )
    orphans = (
        select(error.c.type, error.c.message, error.c.traceback)
        .where(error.c.run_id == run_id, error.c.block_id.is_(None))
        .order_by(error.c.id)
    )
    with databases.engine().connect() as connection:
        rows = [FailedBlock(*row) for row in connection.execute(query).all()]
        rows += [FailedBlock(None, "run", "(outside any block)", None, None, *row)
                 for row in connection.execute(orphans).all()]
    return rows


@dataclass
class BlockStats:
    """What the blocks of one task or workflow of a run did: how many ran, in which
    state they ended, how long they took (seconds; those that ended)."""

    kind: str
    name: str
    count: int = 0
    success: int = 0
    failed: int = 0
    other: int = 0  # running, skipped...
    total: float = 0.0
    longest: float = 0.0
    timed: int = 0

    @property
    def mean(self) -> float | None:
        return self.total / self.timed if self.timed else None


def block_stats(databases: Any, run_id: int) -> list[BlockStats]:
    """Per task and workflow of the run, in the order they first ran."""
    from sqlalchemy import select

    from outflow.management.models import Block

    block = Block.__table__
    query = (select(block.c.kind, block.c.name, block.c.state, block.c.start_time,
                    block.c.end_time).where(block.c.run_id == run_id).order_by(block.c.id))
    stats: dict[tuple[str, str], BlockStats] = {}
    with databases.engine().connect() as connection:
        for kind, name, state, start, end in connection.execute(query):
            entry = stats.setdefault((kind, name), BlockStats(kind, name))
            entry.count += 1
            if state == "success":
                entry.success += 1
            elif state == "failed":
                entry.failed += 1
            else:
                entry.other += 1
            spent = seconds(start, end)
            if spent is not None:
                entry.timed += 1
                entry.total += spent
                entry.longest = max(entry.longest, spent)
    return list(stats.values())


def latest_run(databases: Any) -> Any:
    """The newest run: what ``show`` shows by default."""
    runs = latest_runs(databases, 1)
    if not runs:
        raise RunNotFound("no run recorded yet")
    return find_run(databases, str(runs[0].id))


__all__ = ["BlockStats", "FailedBlock", "RunNotFound", "block_stats", "blocks_done", "duration",
           "failed_blocks", "find_run", "latest_failed_run", "latest_run", "latest_runs",
           "local_time", "parse_since", "runs_starting_with", "seconds", "utc_time"]


def log_file(run: Any) -> str | None:
    """The path of ``run``'s log file (:mod:`outflow.core.logging.run_log`), relative to
    the working directory when under it; None when it has none (any more)."""
    from outflow.core.logging.run_log import run_log_directory, run_log_path
    from outflow.core.pipeline.context import active_context
    from outflow.core.tracebacks import shown_path

    directory = run_log_directory(active_context().settings)
    if directory is None:
        return None
    path = run_log_path(directory, run.id)
    if not path.is_file():
        return None
    return shown_path(path)


def run_header(run: Any) -> str:
    """What ``debug`` and ``show`` say of a run first: which, when, where, its log."""
    from outflow.management.liveness import shown_state

    lines = [f"run {run.id} ({run.uuid}): {run.command} [{shown_state(run)}]",
             f"  started {local_time(run.start_time)}, duration "
             f"{duration(run.start_time, run.end_time)}, {run.user}@{run.hostname}, "
             f"backend {run.backend}"]
    log = log_file(run)
    if log is not None:
        lines.append(f"  log {log}")
    return "\n".join(lines)


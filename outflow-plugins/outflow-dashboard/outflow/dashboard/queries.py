"""What the dashboard shows, read from the run database: two JSON documents.

- :func:`runs_document`: the runs, newest first, as ``list_runs --json`` has them,
  with their map items (started, failed, running) and the blocks that ended;
- :func:`run_document`: one run: its blocks per task (counts and durations), its
  graph (the blocks outside map items and the edges between them, with their
  states), the items of each map (state, duration), the failed blocks with their
  inputs and condensed tracebacks, its configuration and the end of its log file.

Read-only, a few grouped queries per document, whatever the number of items. What the
database holds is masked already (configuration, inputs, tracebacks and the log file
are masked when written); the server masks every response once more.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

#: Items listed per map in a run's document (the counts cover them all).
MAX_ITEMS = 10_000
#: Bytes of the end of a run's log file in its document.
LOG_TAIL_BYTES = 200_000


def runs_document(databases: Any, *, state: str | None = None, command: str | None = None,
                  limit: int = 200) -> dict[str, Any]:
    """The runs, newest first (at most ``limit``; filtered like ``list_runs``)."""
    from outflow.management.list_runs import run_as_dict
    from outflow.management.runs import blocks_done, latest_runs

    runs = latest_runs(databases, limit, state=state or None, command=command or None)
    ids = [run.id for run in runs]
    done = blocks_done(databases, ids)
    items = item_counts(databases, ids)
    return {"runs": [{**run_as_dict(run, done.get(run.id, 0)),
                      **items.get(run.id, {"items": 0, "items_failed": 0,
                                           "items_running": 0})}
                     for run in runs]}


def item_counts(databases: Any, run_ids: list[int]) -> dict[int, dict[str, int]]:
    """Run id -> its top-level map items: started, failed, still running.

    An item is a map index under a block outside any item (a top-level map); it
    failed when one of its blocks failed, it runs while one of them runs. Counted by
    the database (one row per run): the runs page is refreshed every few seconds,
    and a run may have a map of many thousand items."""
    from sqlalchemy import case, func, select

    if not run_ids:
        return {}
    item = _items_query(run_ids).subquery()
    query = (select(item.c.run_id, func.count(), func.sum(item.c.failed),
                    func.sum(case(((item.c.running == 1) & (item.c.failed == 0), 1),
                                  else_=0)))
             .group_by(item.c.run_id))
    with databases.engine().connect() as connection:
        return {int(run_id): {"items": int(count), "items_failed": int(failed or 0),
                              "items_running": int(running or 0)}
                for run_id, count, failed, running in connection.execute(query)}


def _counted(per_item: dict[tuple[int, int, int], tuple[int, int, Any, Any]]
             ) -> dict[int, dict[str, int]]:
    """:func:`item_counts` from the items already read (the page of one run)."""
    counts: dict[int, dict[str, int]] = {}
    for (run_id, _map_id, _index), (failed, running, _start, _end) in per_item.items():
        entry = counts.setdefault(run_id, {"items": 0, "items_failed": 0, "items_running": 0})
        entry["items"] += 1
        entry["items_failed"] += failed
        entry["items_running"] += running and not failed
    return counts


def _items_query(run_ids: list[int]) -> Any:
    """One row per item of the top-level maps of ``run_ids``: run, map block, index,
    failed (0/1), running (0/1), first start, last end."""
    from sqlalchemy import and_, case, func, select

    from outflow.management.models import Block

    block = Block.__table__
    parent = block.alias("parent")
    return (
        select(block.c.run_id, block.c.parent_id, block.c.map_index,
               func.max(case((block.c.state == "failed", 1), else_=0)).label("failed"),
               func.max(case((block.c.state == "running", 1), else_=0)).label("running"),
               func.min(block.c.start_time), func.max(block.c.end_time))
        .select_from(block.join(parent, and_(block.c.parent_id == parent.c.id,
                                             parent.c.map_index.is_(None))))
        .where(block.c.run_id.in_(run_ids), block.c.map_index.is_not(None))
        .group_by(block.c.run_id, block.c.parent_id, block.c.map_index)
    )


def _items(databases: Any, run_ids: list[int]
           ) -> dict[tuple[int, int, int], tuple[int, int, Any, Any]]:
    """(run, map block, index) -> (failed, running, first start, last end) of the items
    of the top-level maps of ``run_ids``."""
    if not run_ids:
        return {}
    query = _items_query(run_ids)
    with databases.engine().connect() as connection:
        return {(int(run_id), int(map_id), int(index)): (int(failed), int(running), start, end)
                for run_id, map_id, index, failed, running, start, end
                in connection.execute(query)}


def run_document(databases: Any, settings: Any, run_id: int) -> dict[str, Any]:
    """Everything the page of run ``run_id`` shows (see the module doc)."""
    from outflow.management.list_runs import run_as_dict
    from outflow.management.runs import blocks_done, find_run

    run = find_run(databases, str(run_id))
    done = blocks_done(databases, [run.id])
    items = _items(databases, [run.id])  # one query for the counts and the maps
    graph = _graph(databases, run.id)
    return {
        "run": {**run_as_dict(run, done.get(run.id, 0)),
                **_counted(items).get(run.id, {
                    "items": 0, "items_failed": 0, "items_running": 0})},
        "tasks": _tasks(databases, run.id),
        "graph": graph,
        "maps": _maps(items, graph),
        "failures": _failures(databases, run.id),
        "configuration": _configuration(databases, run),
        "log": _log_tail(settings, run.id),
    }


def _tasks(databases: Any, run_id: int) -> list[dict[str, Any]]:
    from outflow.management.runs import block_stats

    return [{"kind": entry.kind, "name": entry.name, "runs": entry.count,
             "success": entry.success, "failed": entry.failed, "other": entry.other,
             "total_seconds": entry.total if entry.timed else None,
             "mean_seconds": entry.mean,
             "longest_seconds": entry.longest if entry.timed else None}
            for entry in block_stats(databases, run_id)]


def _graph(databases: Any, run_id: int) -> dict[str, Any]:
    """The blocks outside map items (the command's workflow, its tasks, the maps, with
    their states) and the edges between them."""
    from sqlalchemy import select

    from outflow.management.models import Block, Edge

    block, edge = Block.__table__, Edge.__table__
    nodes_query = (select(block.c.id, block.c.kind, block.c.name, block.c.state,
                          block.c.parent_id)
                   .where(block.c.run_id == run_id, block.c.map_index.is_(None))
                   .order_by(block.c.id))
    with databases.engine().connect() as connection:
        nodes = [{"id": node_id, "kind": kind, "name": name, "state": state,
                  "parent": parent_id}
                 for node_id, kind, name, state, parent_id in connection.execute(nodes_query)]
        ids = {node["id"] for node in nodes}
        edges = [[up, down] for up, down in connection.execute(
                 select(edge.c.upstream_id, edge.c.downstream_id)
                 .where(edge.c.run_id == run_id).order_by(edge.c.id))
                 if up in ids and down in ids]
    return {"nodes": nodes, "edges": edges}


def _maps(items: dict[tuple[int, int, int], tuple[int, int, Any, Any]],
          graph: dict[str, Any]) -> list[dict[str, Any]]:
    """Each top-level map: its items in order (state, seconds), at most MAX_ITEMS."""
    names = {node["id"]: node["name"] for node in graph["nodes"]}
    per_map: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for (_run, map_id, index), (failed, running, start, end) in sorted(items.items()):
        state = "failed" if failed else "running" if running else "success"
        per_map[map_id].append({"index": index, "state": state, "seconds": (
            round((end - start).total_seconds(), 6) if start and end else None)})
    return [{"id": map_id, "name": names.get(map_id, "map"), "count": len(items),
             "failed": sum(item["state"] == "failed" for item in items),
             "items": items[:MAX_ITEMS]}
            for map_id, items in per_map.items()]


def _failures(databases: Any, run_id: int) -> list[dict[str, Any]]:
    """The failed blocks, tasks first, each with its error, the user's line, its inputs
    and its traceback as ``management debug`` shows it (condensed, once)."""
    from outflow.core.tracebacks import condense
    from outflow.management.debug import describe_failure
    from outflow.management.runs import failed_blocks

    shown: dict[str, str] = {}
    failures = []
    for failed in sorted(failed_blocks(databases, run_id),
                         key=lambda block: (block.id is None, block.kind != "task",
                                            block.id or 0)):
        lines = describe_failure(failed, shown)
        failures.append({"block": f"{failed.kind} {failed.name}", "index": failed.map_index,
                         # as debug says it: a task's own error, not outflow's wrapper
                         "error": lines[1].strip() if failed.exception_type else None,
                         "inputs": failed.input_values or {},
                         "traceback": condense(failed.traceback) if failed.traceback else "",
                         "summary": "\n".join(lines)})
    return failures


def _configuration(databases: Any, run: Any) -> Any:
    """The run's configuration as recorded (secrets masked when it was stored)."""
    from sqlalchemy import select

    from outflow.management.models import Configuration

    if run.configuration_id is None:
        return None
    table = Configuration.__table__
    with databases.engine().connect() as connection:
        return connection.execute(select(table.c.config)
                                  .where(table.c.id == run.configuration_id)).scalar()


def _log_tail(settings: Any, run_id: int) -> dict[str, Any] | None:
    """The end of the run's log file (masked when written), if it has one here."""
    from outflow.core.logging.run_log import run_log_directory, run_log_path
    from outflow.core.tracebacks import shown_path

    directory = run_log_directory(settings)
    if directory is None:
        return None
    path = run_log_path(directory, run_id)
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - LOG_TAIL_BYTES))
            text = handle.read().decode(errors="replace")
    except OSError:
        return None
    return {"path": shown_path(path), "size": size, "text": text,
            "truncated": size > LOG_TAIL_BYTES}


__all__ = ["LOG_TAIL_BYTES", "MAX_ITEMS", "item_counts", "run_document", "runs_document"]

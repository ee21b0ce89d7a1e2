"""The fault-injection suite: real runs, real signals, real crashes.

Each test starts a real command (``python -m outflow ...`` in its own session and
process group, as a shell or a batch system would), injects a fault at a chosen
point (a signal when items are running, ``kill -9``, an item that exits its worker,
a planted cache file...) and checks what a user would: the exit code and the one
line printed, the run's state in its database, that no process of the run is left,
and that no row of a block that finished is lost.

The pipeline's items write ``start <value> <pid>`` and ``done <value> <pid>`` lines
to a log, so that the tests know what ran where and can inject at the right time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from faultkit import FaultPipeline

COMMANDS = '''
import os
import time

from outflow.core.commands import Command, RootCommand
from outflow.core.logging import logger
from outflow.core.pipeline import config, context
from outflow.core.tasks import as_task
from outflow.library.workflows import MapWorkflow


def log(kind, value):
    with open(config["fault_log"], "a") as handle:
        handle.write(f"{kind} {value} {os.getpid()}\\n")


@as_task
def Values() -> {"value_array": list}:
    log("driver", 0)
    if context.args.hold:  # a write transaction left open while the map runs
        from sqlalchemy import text

        session = context.session
        session.execute(text("CREATE TABLE IF NOT EXISTS held (value INTEGER)"))
        session.execute(text("INSERT INTO held VALUES (1)"))
    return list(range(context.args.n))


@as_task
def Work(value: int) -> {"result": int}:
    log("start", value)
    if value == context.args.exit_at:
        os._exit(3)
    if value == context.args.leak_at:  # a task careless with secrets
        token, url = config["secrets"]["api_token"], config["service"]["url"]
        logger.debug(f"calling the service at {url} with {token}")
        logger.info(f"token={token}")
        raise ValueError(f"the service at {url} refused {token}")
    time.sleep(context.args.sleep if value >= context.args.fast else 0.0)
    log("done", value)
    return value


@as_task
def Total(results: list) -> {"total": int}:
    log("total", len(results))
    if context.args.hold:
        context.session.commit()
    return len(results)


@RootCommand.subcommand()
class FaultMap(Command):
    """Values | a map of Work | Total."""

    def add_arguments(self):
        self.add_argument("--n", type=int, default=10)
        self.add_argument("--sleep", type=float, default=30.0)
        self.add_argument("--fast", type=int, default=0, help="items below run at once")
        self.add_argument("--exit-at", type=int, default=-1)
        self.add_argument("--leak-at", type=int, default=-1)
        self.add_argument("--label", default="", help="free text, recorded with the run")
        self.add_argument("--cache", action="store_true")
        self.add_argument("--hold", action="store_true",
                          help="hold a database write transaction during the map")

    def setup_tasks(self):
        items = MapWorkflow(Work(), name="work_items", output_name="results",
                            cache=context.args.cache)
        Values() | items | Total()
'''


@pytest.fixture
def fault_pipeline(make_pipeline: Callable[..., Path], tmp_path: Path) -> Iterator[FaultPipeline]:
    root = make_pipeline(
        plugins=["faultplug"],
        files={"plugins/faultplug/faultplug/__init__.py": "",
               "plugins/faultplug/faultplug/commands.py": COMMANDS},
        config=(f"fault_log: {tmp_path / 'pipeline' / 'fault.log'}\n"
                "databases:\n  default:\n    dialect: sqlite\n"
                "parallel:\n  max_workers: 2\n"),
    )
    settings = root / "settings.py"
    settings.write_text(settings.read_text() + "CONFIG_SECTIONS = ['fault_log']\n")
    pipeline = FaultPipeline(root)
    upgrade = pipeline.run("management", "db", "upgrade", "heads")
    assert upgrade.returncode == 0, upgrade.stderr
    yield pipeline

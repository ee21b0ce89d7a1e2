"""End to end: a pipeline's command with a MapWorkflow, run with ``--backend parallel``."""

import os
import subprocess
import sys
import time

from outflow.core.test.backend_contract import assert_gone

TASKS = '''
import os

from outflow.core.pipeline import config
from outflow.core.tasks import as_task
from outflow.core.types import Parameter


@as_task
def GenData() -> {"raw_data_array": list}:
    raw_data_array = [42, 43, 44, 45]
    return {"raw_data_array": raw_data_array}


@as_task
def Transform(raw_data: int) -> {"transformed_data": int}:
    return {"transformed_data": raw_data}


@as_task
def Compute(transformed_data: int, multiplier: Parameter(int)) -> {"computation_result": int}:
    with open(config["pid_log"], "a") as log:  # where the item ran
        log.write(f"{os.getpid()}\\n")
    return transformed_data * multiplier


@as_task
def PrintData(map_computation_result: list):
    print(f"Result of the mapped computation: {map_computation_result}")
    print(f"driver {os.getpid()}")
'''

COMMANDS = '''
from outflow.core.commands import Command, RootCommand
from outflow.library.workflows import MapWorkflow

from mapplug.tasks import Compute, GenData, PrintData, Transform


@MapWorkflow.as_workflow(cache=False, cpus_per_task=1, partition="short")
def process_data():
    Transform() | Compute()


@RootCommand.subcommand(db_untracked=True)
class ComputeData(Command):
    def setup_tasks(self):
        GenData() | process_data() | PrintData()
'''


def test_compute_data_with_the_parallel_backend(make_pipeline, run_cli, tmp_path):
    pid_log = tmp_path / "pids.log"
    root = make_pipeline(
        plugins=["mapplug"],
        files={"mapplug/__init__.py": "", "mapplug/tasks.py": TASKS,
               "mapplug/commands.py": COMMANDS},
        config=(f"pid_log: {pid_log}\n"
                "parameters:\n  compute:\n    multiplier: 3\n"),
    )
    settings = root / "settings.py"
    settings.write_text(settings.read_text() + f"TEMP_DIR = {str(tmp_path / 'tmp')!r}\n")
    for backend in ("parallel", "multiprocessing", "default"):
        pid_log.write_text("")
        code, out, err = run_cli(["compute_data", "--backend", backend], root)
        assert code == 0, err
        assert ("Result of the mapped computation: [[{'computation_result': 126}], "
                "[{'computation_result': 129}], [{'computation_result': 132}], "
                "[{'computation_result': 135}]]") in out
        driver = {line.split()[1] for line in out.splitlines() if line.startswith("driver")}
        workers = set(pid_log.read_text().split())
        assert len(pid_log.read_text().split()) == 4
        assert driver == {str(os.getpid())}  # run_cli runs the command in this process
        if backend == "default":
            assert workers == driver
        else:
            assert workers and not workers & driver


SLOW_COMMANDS = '''
import os
import time

from outflow.core.commands import Command, RootCommand
from outflow.core.pipeline import config
from outflow.core.tasks import as_task
from outflow.library.workflows import MapWorkflow


@as_task
def Many() -> {"value_array": list}:
    return list(range(20))


@as_task
def Slow(value: int) -> {"value": int}:
    with open(config["pid_log"], "a") as log:
        log.write(f"{os.getpid()}\\n")
    time.sleep(0.5)
    return value


@RootCommand.subcommand(db_untracked=True)
class SlowMap(Command):
    def setup_tasks(self):
        Many() | MapWorkflow(Slow())
'''


def test_workers_exit_when_the_driver_is_killed(make_pipeline, tmp_path):
    """A driver killed with SIGKILL runs no clean-up: its workers see their pipe close
    and exit after their current item."""
    pid_log = tmp_path / "pids.log"
    root = make_pipeline(
        plugins=["slowplug"],
        files={"slowplug/__init__.py": "", "slowplug/commands.py": SLOW_COMMANDS},
        config=f"pid_log: {pid_log}\nparallel:\n  max_workers: 2\n",
    )
    driver = subprocess.Popen([sys.executable, "-m", "outflow", "slow_map", "-b", "parallel"],
                              cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while len(set(_read(pid_log))) < 2:
            assert driver.poll() is None, driver.communicate()
            assert time.monotonic() < deadline, "the workers did not start items"
            time.sleep(0.05)
        driver.kill()
        driver.wait(10)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert_gone(set(_read(pid_log)))  # the workers, after their current item
    assert len(_read(pid_log)) < 20  # they stopped taking items


def _read(path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


"""End to end: a pipeline's command with a MapWorkflow, run with ``--backend parallel``."""

import os

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
                "parameters:\n  compute:\n    multiplier: 3\n"
                "parallel:\n  driver_runs_items: false\n"),
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

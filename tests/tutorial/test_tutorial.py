"""The tutorial (user guide, parts 1 to 5 and 7), typed as a user types it.

Every distribution of this checkout (the kernel and ``outflow-plugins/*``) is built
as a wheel and installed in a fresh virtual environment, with pytest and the
PostgreSQL driver for part 7, as ``pip install outflow`` would. The tests then
walk the tutorial in a temporary directory: the venv's ``python -m outflow ...`` and
``python manage.py ...`` run as subprocesses, the tutorial's code is written into
the plugin at each step, and the printed results are checked.

The parts are test functions run in file order on one pipeline: each starts from
where the previous one ended, and is skipped when a previous part failed.

Where the tutorial's prose and its code disagree, the code's evident intent wins;
the comments marked ``tutorial:`` say where. In short: the prose's printed numbers
(168, 28.0) are not what its own code computes; part 4's last listing is garbled
(``@MapWorkflow.as_workflow(...) as map_task:``); part 4 was written after part 5
(its printed output and its last section use part 5's database version of
``Compute``), so this walk does part 4's MapWorkflow and parallel backend, then
part 5, then part 4's ``cpus_per_task`` section; part 7's "ray" backend is
``parallel`` and its code has lost some backslashes.

The ``time.sleep()`` of the tutorial's tasks (2 to 5 s) are reduced or removed
to keep the test fast; the parallel backend is still checked to overlap items.
A PostgreSQL server for part 7 is the session's (``outflow_postgres_server`` in
``tests/conftest.py``), handed to the plugin's tests through ``OUTFLOW_TEST_POSTGRES``.
"""

from __future__ import annotations

import ast
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: Installed beside the wheels: what part 7 needs (pytest, a PostgreSQL driver).
EXTRAS = ["pytest", "psycopg[binary]"]
#: Environment variables that would change what the child processes load.
_SCRUBBED = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV",
             "PIPELINE_ROOT_DIRECTORY", "PYTEST_ADDOPTS", "PYTEST_PLUGINS")

#: ``2020-11-17 18:19:58,369 - logger - file.py:15 - INFO - message``
LOG_LINE = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) - (?P<logger>[\w.]+) - "
    r"(?P<file>[\w.]+):(?P<line>\d+) - (?P<level>[A-Z]+) - (?P<message>.*)$"
)
TASKS_LOGGER = "tuto.data_reduction.tasks"
#: Compute's sleep in the parallel sections (the tutorial's: 4 s).
SLEEP = 0.3


# ------------------------------------------------------------------ the venv


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse) -> Path:
    """A fresh venv with every distribution installed from its wheel (see test_wheels.py)."""
    base = tmp_path_factory.mktemp("tutorial-venv")
    wheels = [wheelhouse.wheels[name] for name in wheelhouse.distributions]
    root = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True,
                   timeout=120)
    # Third-party dependencies from the configured index, through pip's cache; ours
    # from the wheel files only.
    command = [sys.executable, "-m", "pip", "--python", str(root / "bin" / "python"),
               "--disable-pip-version-check", "install", "-q", "--find-links",
               str(wheelhouse.directory),
               *(str(wheel) for wheel in wheels), *EXTRAS]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"
    return root


# -------------------------------------------------------------- the tutorial


@dataclass
class Tutorial:
    """The user's terminal: a working directory, the venv's python, the files typed."""

    venv: Path
    workdir: Path
    passed: set[str] = field(default_factory=set)

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def pipeline(self) -> Path:
        return self.workdir / "tuto_pipeline"

    @property
    def plugin(self) -> Path:
        """The plugin's package: ``plugins/data_reduction/tuto/data_reduction``."""
        return self.pipeline / "plugins" / "data_reduction" / "tuto" / "data_reduction"

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               if key not in _SCRUBBED and not key.startswith(("OUTFLOW_", "PYTEST_"))}
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["XDG_CACHE_HOME"] = str(self.workdir / ".cache")
        env["TMPDIR"] = str(self.workdir / ".tmp")
        env.update(extra or {})
        return env

    def run(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``python ARGS`` with the venv's python (in the pipeline once it exists)."""
        if cwd is None:
            cwd = self.pipeline if self.pipeline.is_dir() else self.workdir
        return subprocess.run([str(self.python), *args], capture_output=True, text=True,
                              cwd=cwd, env=self.env(env), timeout=timeout)

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``python manage.py ARGS``, which must succeed."""
        done = self.run("manage.py", *args)
        assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done

    # -- typing code ----------------------------------------------------------------
    def write(self, path: str, text: str) -> None:
        """Write a file of the plugin (the tutorial's listing)."""
        target = self.plugin / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip())

    def edit(self, path: Path | str, old: str, new: str) -> None:
        """Replace ``old`` (there once) by ``new`` in a file (of the plugin if relative)."""
        target = path if isinstance(path, Path) else self.plugin / path
        text = target.read_text()
        assert text.count(old) == 1, f"{old!r} not found once in {target}:\n{text}"
        target.write_text(text.replace(old, new))

    def require(self, *parts: str) -> None:
        missing = [part for part in parts if part not in self.passed]
        if missing:
            pytest.skip(f"needs {', '.join(missing)} of the tutorial, which did not pass")


@pytest.fixture(scope="module")
def tutorial(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Tutorial:
    workdir = tmp_path_factory.mktemp("tutorial")
    (workdir / ".tmp").mkdir()
    return Tutorial(venv, workdir)


# ------------------------------------------------------------------ checking


@dataclass
class Log:
    time: datetime
    logger: str
    file: str
    level: str
    message: str


def logs(done: subprocess.CompletedProcess[str], logger: str = TASKS_LOGGER) -> list[Log]:
    """The log records of ``logger`` printed by a command (on stderr)."""
    found = []
    for line in done.stderr.splitlines():
        match = LOG_LINE.match(line)
        if match and match["logger"] == logger:
            found.append(Log(datetime.strptime(match["time"], "%Y-%m-%d %H:%M:%S,%f"),
                             match["logger"], match["file"], match["level"],
                             match["message"]))
    return found


def messages(done: subprocess.CompletedProcess[str], logger: str = TASKS_LOGGER) -> list[str]:
    return [record.message for record in logs(done, logger)]


def transformed(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [message for message in messages(done) if message.startswith("Transforming data")]


def assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit code 1 and one ``outflow: error:`` line holding ``fragments``, no traceback."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    errors = [line for line in done.stderr.splitlines() if line.startswith("outflow: error: ")]
    assert len(errors) == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def transform_span(done: subprocess.CompletedProcess[str]) -> float:
    """Seconds from the first to the last "Transforming data" of a run."""
    times = [r.time for r in logs(done) if r.message.startswith("Transforming data")]
    return (max(times) - min(times)).total_seconds()


def code(text: str) -> str:
    """A listing of the tutorial, indented in this file: dedented."""
    return textwrap.dedent(text)


def mapped(values: list[int]) -> str:
    """What PrintData logs for a MapWorkflow: one list of outputs dicts per item."""
    return f"Result of the mapped computation: {[[{'computation_result': v}] for v in values]}"


# ------------------------------------------------------------------ part 1


def test_part1_pipeline_and_plugins(tutorial: Tutorial) -> None:
    done = tutorial.run("-m", "outflow", "--version")
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"outflow \d+\.\d+\.\d+\S*", done.stdout.strip()), done.stdout

    done = tutorial.run("-m", "outflow", "management", "create", "pipeline", "tuto_pipeline")
    assert done.returncode == 0, done.stderr
    for name in ("config.yml", "plugins", "manage.py", "requirements.txt", "settings.py"):
        assert (tutorial.pipeline / name).exists(), name

    # $ cd tuto_pipeline  (tutorial.run works in the pipeline from now on)
    done = tutorial.run("-m", "outflow", "management", "create", "plugin", "tuto.data_reduction",
                        "--plugin_dir", "plugins/data_reduction")
    assert done.returncode == 0, done.stderr
    for name in ("commands.py", "tasks.py", "models/__init__.py"):
        assert (tutorial.plugin / name).is_file(), name
    assert not (tutorial.plugin.parent / "__init__.py").exists()  # PEP 420 namespace "tuto"

    tutorial.edit(tutorial.pipeline / "settings.py", code("""\
        PLUGINS = [
            'outflow.management',
        ]
        """), code("""\
        PLUGINS = [
            'outflow.management',
            'tuto.data_reduction',
        ]
        """))
    done = tutorial.manage("data_reduction")
    hello = logs(done, "tuto.data_reduction.commands")
    assert [(r.file, r.level, r.message) for r in hello] == [
        ("commands.py", "INFO", "Hello from data_reduction")], done.stderr

    # Part 2 starts with the template's example command: GenData() | PrintData()
    done = tutorial.manage("compute_data")
    assert messages(done) == ["Result of the computation: 42"], done.stderr
    tutorial.passed.add("part 1")


# ------------------------------------------------------------------ part 2

#: Edits of GenData: with the line break before them, they do not match the commented
#: explicit-syntax version of the tasks at the bottom of the template's tasks.py.
RETURN_DICT = '\n    return {"raw_data": raw_data}\n'
RETURN_OBJECT = "\n    return raw_data\n"
VALUE_INT = "\n    raw_data = 42\n"
VALUE_STR = '\n    raw_data = "42"\n'


def test_part2_tasks_and_commands(tutorial: Tutorial) -> None:
    tutorial.require("part 1")
    # "Getting started with tasks" lists GenData without a return annotation (the
    # template's has one): "Specify targets type" adds it later.
    tutorial.edit("tasks.py", 'def GenData() -> {"raw_data": int}:', "def GenData():")

    # "Add a new task": Transform and Compute (the tutorial's sleep(2): removed).
    tutorial.edit("tasks.py", "from outflow.core.logging import logger\n",
                  "import time\n\nfrom outflow.core.logging import logger\n")
    tutorial.edit("tasks.py", code('''\
        @as_task
        def PrintData(raw_data: int):
            """Log the data computed upstream."""
            logger.info(f"Result of the computation: {raw_data}")
        '''), code('''\
        @as_task
        def Transform(raw_data):
            logger.info(f"Transforming data {raw_data=}")
            # Simulate a big computation
            time.sleep(0)  # tutorial: 2 s
            result = raw_data * 2

            # return the result for the next task
            return {"transformed_data": result}


        @as_task
        def Compute(transformed_data):
            logger.info(f"Running computation for {transformed_data=}")
            time.sleep(0)  # tutorial: 2 s
            result = transformed_data / 2

            return {"computation_result": result}


        @as_task
        def PrintData(computation_result):
            logger.info(f"Result of the computation: {computation_result}")
        '''))
    # "Edit a command"
    tutorial.edit("commands.py", "from .tasks import GenData, PrintData",
                  "from .tasks import GenData, PrintData, Transform, Compute")
    tutorial.edit("commands.py", "GenData() | PrintData()",
                  "GenData() | Transform() | Compute() | PrintData()")
    done = tutorial.manage("compute_data")
    # tutorial: prints "168"; its code computes 42 * 2 / 2.
    assert messages(done) == ["Transforming data raw_data=42",
                              "Running computation for transformed_data=84",
                              "Result of the computation: 42.0"], done.stderr

    # Note: ">>" is equivalent to "|".
    tutorial.edit("commands.py", "GenData() | Transform() | Compute() | PrintData()",
                  "GenData() >> Transform() >> Compute() >> PrintData()")
    assert messages(tutorial.manage("compute_data"))[-1] == "Result of the computation: 42.0"
    tutorial.edit("commands.py", "GenData() >> Transform() >> Compute() >> PrintData()",
                  "GenData() | Transform() | Compute() | PrintData()")

    # "Task targets": outputs are found in the returned dict literal.
    tutorial.edit("tasks.py", RETURN_DICT, RETURN_OBJECT)
    assert_one_line_error(tutorial.run("manage.py", "compute_data"),
                          "Could not automatically determine outputs of task gen_data")
    tutorial.edit("tasks.py", RETURN_OBJECT, RETURN_DICT)

    # "Specify targets type": "42" instead of 42.
    # tutorial: "Your command will run but will not print the expected value"; with its
    # own Transform ("42" * 2 == "4242") Compute's "/ 2" fails, reported on one line.
    tutorial.edit("tasks.py", VALUE_INT, VALUE_STR)
    assert_one_line_error(tutorial.run("manage.py", "compute_data"),
                          "task compute", "TypeError", "unsupported operand")

    tutorial.edit("tasks.py", "def Compute(transformed_data):",
                  "def Compute(transformed_data: int):")
    # tutorial: names raw_data (its Compute used to take raw_data): here transformed_data.
    assert_one_line_error(tutorial.run("manage.py", "compute_data"),
                          "task compute", "'transformed_data'", "must be int", "got str")

    tutorial.edit("tasks.py", "def GenData():", 'def GenData() -> {"raw_data": int}:')
    done = tutorial.run("manage.py", "compute_data")
    assert_one_line_error(done, "task gen_data", "'raw_data'", "must be int", "got str")
    assert transformed(done) == []  # fails earlier, when GenData returns

    tutorial.edit("tasks.py", VALUE_STR, VALUE_INT)
    assert messages(tutorial.manage("compute_data"))[-1] == "Result of the computation: 42.0"

    # "Tasks with only one output": return the object itself.
    tutorial.edit("tasks.py", RETURN_DICT, RETURN_OBJECT)
    assert messages(tutorial.manage("compute_data"))[-1] == "Result of the computation: 42.0"

    # "Adding task parameters"
    tutorial.edit("tasks.py", "from outflow.core.tasks import as_task\n",
                  "from outflow.core.tasks import as_task\n"
                  "from outflow.core.types import Parameter\n")
    tutorial.edit("tasks.py", code('''\
        @as_task
        def Compute(transformed_data: int):
            logger.info(f"Running computation for {transformed_data=}")
            time.sleep(0)  # tutorial: 2 s
            result = transformed_data / 2

            return {"computation_result": result}
        '''), code('''\
        @as_task
        def Compute(transformed_data: int, multiplier: Parameter(int)) -> {
                "computation_result": int}:
            time.sleep(0)  # tutorial: 4 s
            # Compute the product of "raw_data" and the multiplier
            result = transformed_data * multiplier
            return result
        '''))
    # A parameter must be in the configuration file.
    assert_one_line_error(tutorial.run("manage.py", "compute_data"),
                          "task compute", "multiplier", "parameters.compute.multiplier")
    tutorial.edit(tutorial.pipeline / "config.yml", code("""\
        # parameters:
        #   my_task:
        #     my_param1: param_value1
        """), code("""\
        parameters:
          compute:
            multiplier: 3
        """))
    done = tutorial.manage("compute_data")
    # tutorial: prints "28.0"; its code computes 42 * 2 * 3.
    assert messages(done) == ["Transforming data raw_data=42",
                              "Result of the computation: 252"], done.stderr
    tutorial.passed.add("part 2")


# ------------------------------------------------------------------ part 3


COMMANDS_PART3 = '''\
    from outflow.core.commands import Command, RootCommand
    from outflow.core.logging import logger
    from outflow.core.workflow import as_workflow

    # tutorial: imports "GenData, PrintData, Compute" but uses Transform too.
    from .tasks import GenData, PrintData, Transform, Compute


    @RootCommand.subcommand(invokable=True, db_untracked=True)
    class DataReduction(Command):
        """Say hello: checks that the plugin tuto.data_reduction is loaded."""

        def setup_tasks(self):
            logger.info("Hello from data_reduction")


    # create a workflow
    @as_workflow
    def process_data():
        Transform() | Compute()


    @RootCommand.subcommand(db_untracked=True)
    class ComputeData(Command):
        def setup_tasks(self):
            # setup the main workflow by using the workflow defined outside command
            GenData() | process_data() | PrintData()
    '''


def test_part3_workflow_and_caching(tutorial: Tutorial) -> None:
    tutorial.require("part 2")
    tutorial.write("commands.py", COMMANDS_PART3)
    done = tutorial.manage("compute_data")
    assert messages(done) == ["Transforming data raw_data=42",
                              "Result of the computation: 252"], done.stderr

    # "Workflow caching": the second run executes only PrintData.
    tutorial.edit("commands.py", "@as_workflow\n", "@as_workflow(cache=True)\n")
    first = tutorial.manage("compute_data")
    assert messages(first) == ["Transforming data raw_data=42",
                               "Result of the computation: 252"], first.stderr
    second = tutorial.manage("compute_data")
    assert messages(second) == ["Result of the computation: 252"], second.stderr
    # Stored in settings.TEMP_DIR / "workflow_cache" (TEMP_DIR: .outflow/tmp of the
    # pipeline, which the template git-ignores).
    assert list((tutorial.pipeline / ".outflow" / "tmp" / "workflow_cache").iterdir())
    assert ".outflow/" in (tutorial.pipeline / ".gitignore").read_text()

    # Changing the parameter runs the workflow again.
    tutorial.edit(tutorial.pipeline / "config.yml", "multiplier: 3", "multiplier: 4")
    done = tutorial.manage("compute_data")
    assert messages(done) == ["Transforming data raw_data=42",
                              "Result of the computation: 336"], done.stderr
    assert messages(tutorial.manage("compute_data")) == ["Result of the computation: 336"]

    # "Overwrite cache"
    done = tutorial.manage("compute_data", "--overwrite-cache")
    assert messages(done) == ["Transforming data raw_data=42",
                              "Result of the computation: 336"], done.stderr
    tutorial.passed.add("part 3")


# ------------------------------------------------------------------ part 4


def test_part4_map_workflow_and_parallel_backend(tutorial: Tutorial) -> None:
    tutorial.require("part 3")
    # "Edit the tasks": GenData returns a list.
    tutorial.edit("tasks.py", code('''\
        def GenData() -> {"raw_data": int}:
            """Generate the data."""
            raw_data = 42
            return raw_data
        '''), code('''\
        def GenData() -> {"raw_data_array": list}:  # <-- edit the return annotation
            raw_data_array = [42, 43, 44, 45]
            return {"raw_data_array": raw_data_array}
        '''))
    # tutorial: its output shows PrintData logging "Result of the mapped computation"
    # for the MapWorkflow's output (map_computation_result), without the listing.
    tutorial.edit("tasks.py", code('''\
        def PrintData(computation_result):
            logger.info(f"Result of the computation: {computation_result}")
        '''), code('''\
        def PrintData(map_computation_result):
            logger.info(f"Result of the mapped computation: {map_computation_result}")
        '''))
    tutorial.edit("tasks.py", "time.sleep(0)  # tutorial: 4 s",
                  f"time.sleep({SLEEP})  # tutorial: 4 s")
    # "Add MapWorkflow to the command workflow"
    tutorial.edit("commands.py", "from outflow.core.workflow import as_workflow\n",
                  "from outflow.core.workflow import as_workflow\n"
                  "from outflow.library.workflows import MapWorkflow\n")
    tutorial.edit("commands.py", "@as_workflow(cache=True)\n", code("""\
        # Change the decorator and disable cache for now
        @MapWorkflow.as_workflow(cache=False)
        """))
    done = tutorial.manage("compute_data")
    multiplier = 4  # config.yml, since part 3
    assert transformed(done) == [f"Transforming data raw_data={x}" for x in (42, 43, 44, 45)]
    assert messages(done)[-1] == mapped([x * 2 * multiplier for x in (42, 43, 44, 45)])

    # "The parallel backend": more data, then the same command with --backend parallel.
    tutorial.edit("tasks.py",
                  '    raw_data_array = [42, 43, 44, 45]\n'
                  '    return {"raw_data_array": raw_data_array}\n',
                  "    raw_data_array = [i for i in range(6)]\n"
                  "    return raw_data_array\n")
    expected = mapped([x * 2 * multiplier for x in range(6)])
    sequential = tutorial.manage("compute_data")
    assert messages(sequential)[-1] == expected
    parallel = tutorial.manage("compute_data", "--backend", "parallel")
    assert messages(parallel)[-1] == expected  # in input order
    assert sorted(transformed(parallel)) == sorted(transformed(sequential))
    if len(os.sched_getaffinity(0)) >= 2:
        # Items overlap: the Transform of the last item starts well before the
        # sequential pace (one item every SLEEP seconds) would allow.
        assert transform_span(sequential) >= 5 * SLEEP * 0.9, sequential.stderr
        assert transform_span(parallel) < 0.8 * transform_span(sequential), parallel.stderr
    tutorial.passed.add("part 4")


def test_part4_distribute_workflows_on_a_slurm_cluster(tutorial: Tutorial,
                                                       slurm_conf: Path) -> None:
    """"Simply run the command with the argument --backend slurm": outflow-slurm is
    installed in the venv, the cluster is the session's one-node cluster."""
    tutorial.require("part 4")
    done = tutorial.run("manage.py", "compute_data", "--backend", "slurm",
                        env={"SLURM_CONF": str(slurm_conf)}, timeout=300)
    assert done.returncode == 0, done.stderr
    multiplier = 4
    assert messages(done)[-1] == mapped([x * 2 * multiplier for x in range(6)])
    assert transformed(done) == []  # the items ran in the array's elements, not here
    logs = sorted((tutorial.pipeline / ".outflow").rglob("*.log"))
    assert logs == []  # the map's directory (with its logs) is gone after success


# ------------------------------------------------------------------ part 5


MODEL = '''\
    from sqlalchemy import Column, INTEGER, UniqueConstraint
    from outflow.core.db import Model

    class ComputationResult(Model):
        id_computation_result = Column(INTEGER(), primary_key=True)
        input_value = Column(INTEGER(), nullable=False)
        multiplier = Column(INTEGER(), nullable=False)
        result = Column(INTEGER(), nullable=False)

        __table_args__ = (UniqueConstraint("input_value", "multiplier"),)
    '''

TASKS_PART5 = '''\
    import time

    from outflow.core.logging import logger
    from outflow.core.tasks import as_task
    from outflow.core.pipeline import context
    from sqlalchemy.orm.exc import NoResultFound

    from .models.computation_result import ComputationResult


    @as_task
    def GenData() -> {"raw_data_array": list}:
        raw_data_array = [42, 43, 44, 45]
        return {"raw_data_array": raw_data_array}


    @as_task
    def Compute(raw_data: int) -> {"computation_result": int}:
        # get the session of the default database
        session = context.session

        multiplier = context.args.multiplier

        # Check if the result of the computation is already in the database
        try:
            # query the database with our model ComputationResult
            computation_result_obj = session.query(ComputationResult) \\
                .filter_by(input_value=raw_data, multiplier=multiplier).one()

            logger.info("Result found in database")

            # get the result from the model object (ie from the row in the table)
            computation_result = computation_result_obj.result

        except NoResultFound:
            # Result not in the database: compute the value like before
            logger.info("Result not found in database, computing result and inserting")

            # simulate a big computation
            time.sleep(0)  # tutorial: 3 s
            computation_result = raw_data * multiplier

            # create an object ComputationResult
            computation_result_obj = ComputationResult(
                input_value=raw_data,
                multiplier=multiplier,
                result=computation_result
            )

            # and insert it in the database
            session.add(computation_result_obj)
            session.commit()

        # return the result for the next task
        return {"computation_result": computation_result}


    @as_task
    def PrintData(map_computation_result):
        logger.info(f"Result of the mapped computation: {map_computation_result}")
    '''

COMMANDS_PART5 = '''\
    from outflow.core.commands import Command, RootCommand
    from outflow.core.logging import logger
    from outflow.library.workflows import MapWorkflow

    from .tasks import GenData, PrintData, Compute


    @RootCommand.subcommand(invokable=True, db_untracked=True)
    class DataReduction(Command):
        """Say hello: checks that the plugin tuto.data_reduction is loaded."""

        def setup_tasks(self):
            logger.info("Hello from data_reduction")


    @MapWorkflow.as_workflow(cache=False)
    def process_data():
        Compute()


    # remove the argument  ↓
    @RootCommand.subcommand()
    class ComputeData(Command):
        def add_arguments(self):
            # tutorial: Compute reads context.args.multiplier; the command declares it.
            self.add_argument("--multiplier", type=int, required=True,
                              help="Multiply the data by this.")

        def setup_tasks(self):
            GenData() | process_data() | PrintData()
    '''


def test_part5_models_and_database(tutorial: Tutorial) -> None:
    tutorial.require("part 4")
    tutorial.manage("management", "db", "upgrade", "heads")
    assert (tutorial.pipeline / "outflow.db").is_file()

    # "Writing a model for our plugin", in models/computation_result.py (renamed from
    # model.py, so models/__init__.py imports the new name).
    (tutorial.plugin / "models" / "model.py").unlink()
    tutorial.write("models/computation_result.py", MODEL)
    tutorial.edit("models/__init__.py", "from . import model ", "from . import computation_result ")

    tutorial.manage("management", "db", "make_migrations", "--plugin", "tuto.data_reduction",
                    "--message=Add table 'computation_result'")
    revisions = list((tutorial.plugin / "models" / "versions" / "default").glob("*.py"))
    assert len(revisions) == 1, revisions
    assert revisions[0].name.endswith("_add_table_computation_result.py")
    source = revisions[0].read_text()
    assert source.startswith("\"\"\"Add table 'computation_result'")
    module = ast.parse(source)
    values = {target.id: node.value for node in module.body if isinstance(node, ast.Assign)
              for target in node.targets if isinstance(target, ast.Name)}
    # tutorial: shows branch_labels = ("tuto.data_reduction",) (quote style aside)
    assert ast.literal_eval(values["branch_labels"]) == ("tuto.data_reduction",)
    assert ast.literal_eval(values["down_revision"]) is None
    calls = {ast.unparse(node) for node in ast.walk(module) if isinstance(node, ast.Call)
             and ast.unparse(node.func) in ("op.grant_permissions", "op.drop_table")}
    assert calls == {"op.grant_permissions('computation_result')",
                     "op.drop_table('computation_result')"}
    assert "op.create_table('computation_result'" in ast.unparse(module)

    tutorial.manage("management", "db", "upgrade", "heads")
    with sqlite3.connect(tutorial.pipeline / "outflow.db") as connection:
        assert connection.execute("select count(*) from computation_result").fetchone() == (0,)

    # "Access our database table": Compute caches its results in the table. The
    # mapped workflow is Compute alone, as part 4's printed output shows (126 = 42 * 3).
    tutorial.write("tasks.py", TASKS_PART5)
    tutorial.write("commands.py", COMMANDS_PART5)
    first = tutorial.manage("compute_data", "--multiplier", "3")
    assert messages(first) == [
        *["Result not found in database, computing result and inserting"] * 4,
        "Result of the mapped computation: [[{'computation_result': 126}], "
        "[{'computation_result': 129}], [{'computation_result': 132}], "
        "[{'computation_result': 135}]]",
    ], first.stderr
    second = tutorial.manage("compute_data", "--multiplier", "3")
    assert messages(second) == [*["Result found in database"] * 4, messages(first)[-1]]
    with sqlite3.connect(tutorial.pipeline / "outflow.db") as connection:
        assert connection.execute("select count(*) from computation_result").fetchone() == (4,)
        # Without db_untracked, the runs are recorded.
        assert connection.execute(
            "select count(*) from run where command = 'compute_data' and state = 'success'"
        ).fetchone() == (2,)
    tutorial.passed.add("part 5")


def test_part4_cpus_per_task(tutorial: Tutorial) -> None:
    """Part 4's last section, which edits part 5's Compute."""
    tutorial.require("part 5")
    in_except = " " * 8  # the lines are in Compute's "except NoResultFound:"
    tutorial.edit("tasks.py", textwrap.indent(code('''\
        # simulate a big computation
        time.sleep(0)  # tutorial: 3 s
        '''), in_except), textwrap.indent(code('''\
        # add this line to access number of CPUs available
        from multiprocessing import cpu_count  # tutorial: "cpu_count()"

        # simulate a multiprocess computation (tutorial: 5 s in all)
        computation_time = 0.2/cpu_count()
        logger.info(f"{cpu_count()} CPUs available, "
                    f"computation will last {computation_time} seconds")
        time.sleep(computation_time)
        '''), in_except))
    # tutorial: "@MapWorkflow.as_workflow(cpus_per_task=5, output_name=...) as map_task:"
    # followed by a lone "def": the decorator of part 4, with the new parameter.
    tutorial.edit("commands.py", "@MapWorkflow.as_workflow(cache=False)",
                  "@MapWorkflow.as_workflow(cpus_per_task=5, cache=False)")
    done = tutorial.manage("compute_data", "--multiplier", "15", "--backend", "parallel")
    said = messages(done)
    cpus = os.cpu_count()
    assert said.count("Result not found in database, computing result and inserting") == 4
    assert sum(1 for m in said if m.startswith(f"{cpus} CPUs available, computation will last "))\
        == 4, said
    assert said[-1] == mapped([x * 15 for x in (42, 43, 44, 45)])
    tutorial.passed.add("part 4 cpus_per_task")


# ------------------------------------------------------------------ part 7


# tutorial: "Tutorial code modifications" names the tasks ComputeOneData, GenOneData...
# without listing them; its tests import GenOneData, GenMoreData, ComputeOne and
# ComputeMore, and read "some_data" outputs: the names here.
TASKS_PART7 = '''\
    import time

    from outflow.core.logging import logger
    from outflow.core.pipeline import context
    from outflow.core.tasks import as_task
    from sqlalchemy.orm.exc import NoResultFound

    from .models.computation_result import ComputationResult


    def _compute(some_data, multiplier):
        """The cached computation of part 5, shared by ComputeOne and ComputeMore."""
        session = context.session
        try:
            computation_result_obj = session.query(ComputationResult) \\
                .filter_by(input_value=some_data, multiplier=multiplier).one()
            logger.info("Result found in database")
            computation_result = computation_result_obj.result
        except NoResultFound:
            logger.info("Result not found in database, computing result and inserting")
            time.sleep(0.05)  # tutorial: 3 s
            computation_result = some_data * multiplier
            session.add(ComputationResult(input_value=some_data, multiplier=multiplier,
                                          result=computation_result))
            session.commit()
        return computation_result


    @as_task
    def GenOneData() -> {"some_data": int}:
        some_data = 42
        return {"some_data": some_data}


    @as_task
    def ComputeOne(some_data: int) -> {"computation_result": int}:
        return {"computation_result": _compute(some_data, context.args.multiplier)}


    # The print tasks pass their input on: a command's result is the outputs of its
    # last tasks, which the command tests check.
    @as_task
    def PrintOneData(computation_result: int) -> {"computation_result": int}:
        logger.info(f"Result of the computation: {computation_result}")
        return computation_result


    @as_task
    def GenMoreData() -> {"some_data_array": list}:
        some_data_array = [42, 43, 44, 45]
        return {"some_data_array": some_data_array}


    @as_task
    def ComputeMore(some_data: int) -> {"computation_result": int}:
        return {"computation_result": _compute(some_data, context.args.multiplier)}


    @as_task
    def PrintMoreData(map_computation_result: list) -> {"map_computation_result": list}:
        logger.info(f"Result of the mapped computation: {map_computation_result}")
        return map_computation_result
    '''

COMMANDS_PART7 = '''\
    from outflow.core.commands import Command, RootCommand
    from outflow.core.logging import logger
    from outflow.library.workflows import MapWorkflow

    from .tasks import ComputeMore, ComputeOne, GenMoreData, GenOneData, PrintMoreData, PrintOneData


    @RootCommand.subcommand(invokable=True, db_untracked=True)
    class DataReduction(Command):
        """Say hello: checks that the plugin tuto.data_reduction is loaded."""

        def setup_tasks(self):
            logger.info("Hello from data_reduction")


    @RootCommand.subcommand()
    class ComputeOneData(Command):
        def add_arguments(self):
            self.add_argument("--multiplier", type=int, required=True)

        def setup_tasks(self):
            GenOneData() | ComputeOne() | PrintOneData()


    @MapWorkflow.as_workflow(cache=False)
    def compute_more():
        ComputeMore()


    @RootCommand.subcommand()
    class ComputeMoreData(Command):
        def add_arguments(self):
            self.add_argument("--multiplier", type=int, required=True)

        def setup_tasks(self):
            GenMoreData() | compute_more() | PrintMoreData()
    '''

TEST_1_GEN = '''\
    from outflow.core.test import TaskTestCase

    class TestDataReductionGenTasks(TaskTestCase):

        def test_gen_one(self):
            from tuto.data_reduction.tasks import GenOneData

            # --- initialize the task ---
            self.task = GenOneData()
            self.config = {}

            # --- run the task ---
            result = self.run_task()

            # --- make assertions ---
            # test the result
            assert isinstance(result, dict)
            assert 'some_data' in result
            assert result == {'some_data': 40}

        def test_gen_more(self):
            from tuto.data_reduction.tasks import GenMoreData

            self.task = GenMoreData()
            self.config = {}

            result = self.run_task()

            assert isinstance(result, dict)
            assert result == {'some_data_array': [40, 50, 60, 70]}
    '''

TEST_2_COMPUTE_ONE = '''\
    import pytest
    from unittest import mock
    from random import sample, randrange
    from argparse import Namespace

    from outflow.core.test import TaskTestCase
    from outflow.core.pipeline import context, config

    from tuto.data_reduction.tasks import ComputeOne
    from tuto.data_reduction.models.computation_result import ComputationResult

    class TestDataReductionComputeTasks(TaskTestCase):

        @pytest.fixture(autouse=True)
        def setup_context(self, with_pipeline_context_manager):
            context.force_dry_run = False
            context.db_untracked = False
            context._models = []
            config["databases"] = mock.MagicMock()

        @mock.patch('outflow.core.db.database.Databases.session', new_callable=mock.PropertyMock)
        def test_compute_one_already_in_db(self, mock_session):

            # --- define test data ---
            data = randrange(100)
            mult = randrange(10)
            db_result = ComputationResult(
                input_value = data,
                multiplier = mult,
                result = data * mult
            )

            # --- define mock session queries
            mock_session\\
                .return_value.query\\
                .return_value.filter_by\\
                .return_value.one.return_value = db_result

            # -- define args
            context.args = Namespace(multiplier = mult, dry_run = False, db_untracked = False)
            self.task = ComputeOne()

            # --- run the task ---
            result = self.run_task(some_data = data)

            # filtering "add" calls with a ComputationResult object as parameter
            call_add_computation_result = [
                call.args[0]
                for call in mock_session.return_value.add.call_args_list
                if isinstance(call.args[0], ComputationResult)]

            # --- make assertions ---
            assert isinstance(result, dict)
            assert 'computation_result' in result
            assert result == {'computation_result': data * mult}
            assert len(call_add_computation_result) == 0

        # @mock.patch('tuto.data_reduction.tasks.context')
        @mock.patch('outflow.core.db.database.Databases.session', new_callable=mock.PropertyMock)
        def test_compute_one_not_in_db(self, mock_session):

            # --- initialize the task ---
            from sqlalchemy.orm.exc import NoResultFound

            # --- define test data ---
            data = randrange(100)
            mult = randrange(10)
            db_result = ComputationResult(
                input_value = data,
                multiplier = mult,
                result = data * mult
            )

            # --- define mock session queries
            mock_session\\
                .return_value.query\\
                .return_value.filter_by\\
                .return_value.one.side_effect = NoResultFound

            # -- define args
            context.args = Namespace(multiplier = mult, dry_run = False, db_untracked = False)
            self.task = ComputeOne()

            # --- run the task ---
            result = self.run_task(some_data = data)

            # filtering "add" calls with a ComputationResult object as parameter
            call_add_computation_result = [
                call.args[0]
                for call in mock_session.return_value.add.call_args_list
                if isinstance(call.args[0], ComputationResult)]

            # --- make assertions ---
            assert isinstance(result, dict)
            assert 'computation_result' in result
            assert result == {'computation_result': data * mult}
            assert len(call_add_computation_result) == 1
    '''

# tutorial: its listing lacks the backslashes of "mock_session ... .side_effect = ..."
# and configures the "ray" backend ({"backend": "ray", "ray": {...}}): "parallel" here.
TEST_3_COMPUTE_MORE = '''\
    import pytest
    from random import sample, randrange
    from argparse import Namespace
    from unittest import mock

    from outflow.core.test import TaskTestCase
    from outflow.library.workflows import MapWorkflow

    from outflow.core.pipeline import context, config

    from tuto.data_reduction.models.computation_result import ComputationResult
    from tuto.data_reduction.tasks import ComputeMore

    class TestDataReductionComputeMoreTasks(TaskTestCase):

        @pytest.fixture(autouse=True)
        def setup_context(self, with_pipeline_context_manager):
            context.force_dry_run = False
            context.db_untracked = False
            context._models = []
            config["databases"] = mock.MagicMock()
            config["backend"] = "parallel"

        @mock.patch('outflow.core.db.database.Databases.session', new_callable=mock.PropertyMock)
        def test_compute_more(self, mock_session):
            """
            Testing when all data are already in database
            Request to DB returns a ComputationResult
            """

            # --- define test data ---
            nb_data = randrange(1, 5)
            data_array = sample(range(100), k=nb_data)
            mult = randrange(10)

            # --- define the data returned by the request to the DB ---
            db_result_list = [ComputationResult(
                input_value=data_array[i],
                multiplier=mult,
                result=data_array[i] * mult
            ) for i in range(nb_data)]

            # --- define mock session queries
            mock_session \\
                .return_value.query \\
                .return_value.filter_by \\
                .return_value.one.side_effect = db_result_list

            # -- define args
            context.args = Namespace(multiplier=mult, dry_run=False, db_untracked=False)

            # --- initialize the task ---
            mapped_computation = MapWorkflow(ComputeMore(), output_name="map_computation_result")
            self.task = mapped_computation

            # --- run the task ---
            result = self.run_task(some_data_array=data_array)

            # --- make assertions ---

            # filtering "add" calls with a ComputationResult object as parameter
            call_add_computation_result = [
                call.args[0]
                for call in mock_session.return_value.add.call_args_list
                if isinstance(call.args[0], ComputationResult)]

            # all results are already be in base, since we mock a result in base
            assert len(call_add_computation_result) == 0

            # check the type of result
            assert isinstance(result, dict)
            assert 'map_computation_result' in result

            # we should get as many results as input data
            assert len(result['map_computation_result']) == nb_data

            # verifying that every expected result is returned
            for i in range(nb_data):
                data = data_array[i]
                assert [{'computation_result': data * mult}] in result['map_computation_result']

        @mock.patch('outflow.core.db.database.Databases.session', new_callable=mock.PropertyMock)
        def test_compute_more_with_results_not_in_base(self, mock_session):
            """
            Testing when some data are not already in database
            Request to DB returns a ComputationResult or a NoResultFound exception
            """

            # --- define test data ---
            nb_data = randrange(2, 5)
            nb_data_not_in_db = randrange(1, nb_data)
            data_not_in_db = sample(range(nb_data), k=nb_data_not_in_db)
            data_array = sample(range(100), k=nb_data)
            mult = randrange(10)
            db_result_list = []

            # --- define the data returned by the request to the DB ---
            from sqlalchemy.orm.exc import NoResultFound
            for i in range(nb_data):
                if i in data_not_in_db:
                    db_result_list.append(NoResultFound)
                else:
                    db_result_list.append(ComputationResult(
                        input_value=data_array[i],
                        multiplier=mult,
                        result=data_array[i] * mult
                    ))

            # --- define mock session queries
            mock_session \\
                .return_value.query \\
                .return_value.filter_by \\
                .return_value.one.side_effect = db_result_list

            # -- define args
            context.force_dry_run = False
            context.db_untracked = False
            context._models = []
            config["databases"] = mock.MagicMock()
            config["backend"] = "parallel"
            context.args = Namespace(multiplier=mult, dry_run=False, db_untracked=False)

            # --- initialize the task ---
            mapped_computation = MapWorkflow(ComputeMore(), output_name="map_computation_result")
            self.task = mapped_computation

            # --- run the task ---
            result = self.run_task(some_data_array=data_array)

            # --- make assertions ---

            # filtering "add" calls with a ComputationResult object as parameter
            call_add_computation_result = [
                call.args[0]
                for call in mock_session.return_value.add.call_args_list
                if isinstance(call.args[0], ComputationResult)]

            # nb_data_not_in_db should be added since they were not found
            assert len(call_add_computation_result) == nb_data_not_in_db

            # check the type of result
            assert isinstance(result, dict)
            assert 'map_computation_result' in result

            # we should get as many results as input data
            assert len(result['map_computation_result']) == nb_data

            # verifying that every expected result is returned
            for i in range(nb_data):
                data = data_array[i]
                assert [{'computation_result': data * mult}] in result['map_computation_result']
    '''

# "Testing commands", its snippets put together (the tutorial shows no complete file).
TEST_4_COMMANDS = '''\
    import pytest
    from random import randrange

    from outflow.core.pipeline import config
    from outflow.core.test import CommandTestCase
    from outflow.core.test.test_cases import (PostgresCommandTestCase,
                                              postgresql_fixture)

    from tuto.data_reduction.models.computation_result import ComputationResult


    class TestDataReductionNoCmd(CommandTestCase):
        def test_data_reduction(self):

            # --- initialize the command ---
            from tuto.data_reduction.commands import DataReduction
            self.root_command_class = DataReduction
            arg_list = []

            # --- run the command ---
            return_code, result = self.run_command(arg_list)

            # --- make assertions ---
            assert return_code == 0
            assert result == [{"None": None}]


    class TestDataReductionCmd(PostgresCommandTestCase):

        PLUGINS = ['outflow.management', 'tuto.data_reduction']

        # Automatically run a db upgrade heads before each test
        @pytest.fixture(autouse=True)
        def setup_db_upgrade(self, with_pipeline_context_manager):
            # -- commands to be executed
            db_upgrade = ['management', 'db', 'upgrade', 'heads', '-ll', 'INFO']
            self.run_command(db_upgrade, force_dry_run = False)

        # --- test if the upgrade is ok
        def test_db_upgrade(self):
            with self.pipeline_db_session() as session:
                # The table computation_result has be to created
                try:
                    c = session.query(ComputationResult).count()
                    # and it should be empty
                    assert c == 0
                except Exception as e:
                    assert False, e

        def test_compute_one_data(self):
            multiplier = randrange(1, 10)
            command = [
                'compute_one_data',
                '--multiplier',
                f'{multiplier}',
                '-ll',
                'INFO',
            ]

            return_code, result = self.run_command(command, force_dry_run = False)

            assert return_code == 0
            assert result[0]['computation_result'] == 40 * multiplier

        def test_compute_more_data(self):
            multiplier = randrange(1, 10)
            command = [
                'compute_more_data',
                '--multiplier',
                f'{multiplier}',
                '-ll',
                'INFO',
            ]
            custom_config = {
                "backend": "parallel",
            }
            config.update(custom_config)

            return_code, result = self.run_command(command, force_dry_run = False)

            assert return_code == 0
            for i in range(40, 71, 10):
                res = [{'computation_result': i * multiplier}]
                assert res in result[0]['map_computation_result']
    '''


def pytest_summary(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def test_part7_testing(tutorial: Tutorial, request: pytest.FixtureRequest) -> None:
    tutorial.require("part 5")
    # "Tutorial code modifications": the tasks and commands renamed for the tests.
    tutorial.write("tasks.py", TASKS_PART7)
    tutorial.write("commands.py", COMMANDS_PART7)
    # tutorial: shows "--multiplier 3", whose results part 5 stored in this walk; with 2,
    # compute_more_data finds the result of compute_one_data only, as its output shows.
    done = tutorial.manage("compute_one_data", "--multiplier", "2")
    assert messages(done) == ["Result not found in database, computing result and inserting",
                              "Result of the computation: 84"], done.stderr
    done = tutorial.manage("compute_more_data", "--multiplier", "2")
    assert messages(done) == [
        "Result found in database",
        *["Result not found in database, computing result and inserting"] * 3,
        mapped([84, 86, 88, 90]),
    ], done.stderr

    # The template's example test tests GenData, renamed GenOneData by now.
    (tutorial.plugin / "tests" / "test_tasks.py").unlink()
    tutorial.write("tests/test_1_gen.py", TEST_1_GEN)
    test_1 = "plugins/data_reduction/tuto/data_reduction/tests/test_1_gen.py"
    # "Create a test to expose the bug"
    done = tutorial.run("-m", "pytest", "--tb=short", test_1)
    assert done.returncode == 1, done.stdout
    assert "assert {'some_data': 42} == {'some_data': 40}" in done.stdout
    assert pytest_summary(done).startswith("=") and "2 failed" in pytest_summary(done)
    # "Fixing the bug"
    tutorial.edit("tasks.py", "some_data = 42", "some_data = 40")
    tutorial.edit("tasks.py", "some_data_array = [42, 43, 44, 45]",
                  "some_data_array = [40, 50, 60, 70]")
    done = tutorial.run("-m", "pytest", "--tb=short", test_1)
    assert done.returncode == 0, done.stdout
    assert "2 passed" in pytest_summary(done)

    tutorial.write("tests/test_2_compute_one.py", TEST_2_COMPUTE_ONE)
    tutorial.write("tests/test_3_compute_more.py", TEST_3_COMPUTE_MORE)
    tutorial.write("tests/test_4_commands.py", TEST_4_COMMANDS)
    # test_4_commands.py needs PostgreSQL: the session's server (tests/conftest.py),
    # asked for only now so that everything above runs without it.
    server = request.getfixturevalue("outflow_postgres_server")
    postgres = server.url().set(drivername="postgresql").render_as_string(hide_password=False)
    done = tutorial.run("-m", "pytest", "plugins/data_reduction",
                        env={"OUTFLOW_TEST_POSTGRES": postgres}, timeout=300)
    summary = pytest_summary(done)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b10 passed\b", summary), done.stdout
    assert not re.search(r"failed|skipped|error", summary), done.stdout


# ---------------------------------------------------------- README Quickstart


def quickstart_blocks() -> list[tuple[str, str]]:
    """The fenced blocks of README.md's "Quickstart" section: (language, text)."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Quickstart\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```(\w*)\n(.*?)^```$", section, re.S | re.M)


def test_readme_quickstart(venv: Path, tmp_path: Path) -> None:
    """README.md's Quickstart, as written, in its own directory (the venv is its first lines)."""
    blocks = quickstart_blocks()
    shell = [text for language, text in blocks if language == "sh"]
    python = [text for language, text in blocks if language == "python"]
    (yaml,) = [text for language, text in blocks if language == "yaml"]
    (expected,) = [text for language, text in blocks if language == "text"]
    (settings,) = [text for text in python if text.startswith("PLUGINS = [")]
    (tasks,) = [text for text in python if "@as_task" in text]
    (commands,) = [text for text in python if "RootCommand" in text]
    assert len(shell) == 2, shell

    (tmp_path / ".tmp").mkdir()
    quickstart = Tutorial(venv, tmp_path)
    outputs = []
    typed = False
    for line in "\n".join(shell).splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line:
            continue
        if line == "cd tuto_pipeline":
            assert quickstart.pipeline.is_dir()
        elif line.startswith(("python -m outflow ", "python manage.py ")):
            if line.startswith("python manage.py compute_data") and not typed:
                quickstart.edit(quickstart.pipeline / "settings.py",
                                "PLUGINS = [\n    'outflow.management',\n]\n", settings)
                with (quickstart.pipeline / "config.yml").open("a") as config:
                    config.write(yaml)
                quickstart.write("tasks.py", tasks)
                quickstart.write("commands.py", commands)
                typed = True
            done = quickstart.run(*line.split()[1:])
            assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
            outputs.append(done)
        else:  # the venv and the temporary directory: done by the fixtures
            assert line.startswith(("python3 -m venv", "pip install", 'cd "$(mktemp -d)"')), line
    sequential, parallel = outputs[-2:]

    (expected_line,) = expected.splitlines()
    match = LOG_LINE.match(expected_line.replace("...", "2000-01-01 00:00:00,000", 1))
    assert match is not None, expected_line
    for done in (sequential, parallel):
        (last,) = [record for record in logs(done, match["logger"])
                   if record.message.startswith("Result of the mapped computation")]
        assert (last.file, last.level, last.message) == (
            match["file"], match["level"], match["message"])
        lines = [line for line in done.stderr.splitlines() if line.endswith(last.message)]
        assert lines[0].split(" - ")[2] == f"{match['file']}:{match['line']}"
    if len(os.sched_getaffinity(0)) >= 2:  # the items overlap
        assert transform_span(parallel) < 0.8 * transform_span(sequential), (
            sequential.stderr, parallel.stderr)

"""End-to-end: build every distribution as a wheel, install them in a clean venv, use ``outflow``.

This is what a user gets from ``pip install outflow outflow-hello``: no editable
installs, no source tree on the path. One virtual environment is made per module
(without pip: the test's own pip installs into it with ``pip --python``); each test
states which fixture plugins it needs with :meth:`Venv.ensure`, so the tests do not
depend on their order. Every ``outflow`` runs in an empty directory (no pipeline)
with its own ``XDG_CACHE_HOME``, so the entry-point cache of
``outflow.core.plugins.discovery`` is used, and must notice each install and
uninstall.

The third-party dependencies (pluggy, click, ruamel.yaml, beartype) come from the
package index configured for pip, through pip's own cache.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

KERNEL_VERSION = "1.0.0.dev0"

#: What ``pip install outflow`` brings.
BASE = ("outflow", "outflow-management", "outflow-sequential", "outflow-library",
        "outflow-multiprocessing")
#: The plugins that `pip install outflow` brings.
DEFAULTS = {"management", "sequential", "library", "multiprocessing"}
#: Plugins of the test fixtures, installed and removed by the tests.
OPTIONAL = ("outflow-hello", "outflow-broken", "outflow-nospec")

#: Environment variables that would change what the child ``outflow`` loads.
_SCRUBBED = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV",
             "PIPELINE_ROOT_DIRECTORY")


@dataclass
class Venv:
    """A clean virtual environment holding outflow built from wheels."""

    root: Path
    wheels: dict[str, Path]
    cache_home: Path
    workdir: Path
    installed: set[str] = field(default_factory=set)

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def outflow(self) -> Path:
        return self.root / "bin" / "outflow"

    def pip(self, *args: str) -> None:
        """Run the test's pip against this venv (``pip --python``); fail with its output."""
        command = [sys.executable, "-m", "pip", "--python", str(self.python),
                   "--disable-pip-version-check", *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"

    def ensure(self, *wanted: str) -> None:
        """Make exactly ``wanted`` (among :data:`OPTIONAL`) installed besides the base."""
        want = set(wanted)
        unknown = want - set(OPTIONAL)
        assert not unknown, f"not a fixture distribution: {unknown}"
        remove = sorted((self.installed & set(OPTIONAL)) - want)
        add = sorted(want - self.installed)
        if remove:
            self.pip("uninstall", "-y", "-q", *remove)
            self.installed -= set(remove)
        if add:
            self.pip("install", "-q", "--no-deps", *(str(self.wheels[name]) for name in add))
            self.installed |= set(add)

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of a child ``outflow``: no outflow switches unless given."""
        env = {key: value for key, value in os.environ.items()
               if key not in _SCRUBBED and not key.startswith("OUTFLOW_")}
        env["XDG_CACHE_HOME"] = str(self.cache_home)
        env["PATH"] = f"{self.root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env.update(extra or {})
        return env

    def run(self, *args: str, env: Mapping[str, str] | None = None,
            cwd: Path | None = None, module: bool = False) -> subprocess.CompletedProcess[str]:
        """Run ``outflow ARGS`` (or ``python -m outflow ARGS``) in an empty directory."""
        program = [str(self.python), "-m", "outflow"] if module else [str(self.outflow)]
        return subprocess.run([*program, *args], capture_output=True, text=True, timeout=60,
                              cwd=cwd or self.workdir, env=self.env(env))

    def plugins(self, *args: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
        """``outflow [ARGS] plugins list --json``, parsed; the command must exit 0."""
        done = self.run(*args, "plugins", "list", "--json", env=env)
        assert done.returncode == 0, done.stderr
        return {record["name"]: record for record in json.loads(done.stdout)["plugins"]}


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse) -> Iterator[Venv]:
    """A clean venv with the base distributions and outflow-hello, from their wheels."""
    assert set(OPTIONAL) <= set(wheelhouse.fixtures)
    base = tmp_path_factory.mktemp("wheels")
    wheels = wheelhouse.wheels
    root = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True,
                   timeout=120)
    workdir = base / "empty"
    workdir.mkdir()
    env = Venv(root, wheels, cache_home=base / "cache", workdir=workdir)
    # Dependencies (pluggy, click, ...) from the index; ours from the wheel files only.
    env.pip("install", "-q", "--find-links", str(wheelhouse.directory),
            *(str(wheels[name]) for name in (*BASE, "outflow-hello")))
    env.installed = {*BASE, "outflow-hello"}
    yield env


@pytest.fixture()
def pipeline_dir(tmp_path: Path) -> Path:
    """A minimal pipeline: ``settings.py`` and a plugin ``mypipe`` with two commands.

    ``noop`` sets up nothing; ``pair`` sets up two tasks, the second printing.
    """
    (tmp_path / "settings.py").write_text('PLUGINS = ["outflow.management", "mypipe"]\n')
    package = tmp_path / "mypipe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "commands.py").write_text(
        "from outflow.core.commands import Command, RootCommand\n"
        "from outflow.core.tasks import as_task\n\n\n"
        "@as_task\n"
        "def GenData():\n"
        "    return {'raw_data': 42}\n\n\n"
        "@as_task\n"
        "def PrintData(raw_data):\n"
        "    print(f'task ran with {raw_data}')\n\n\n"
        "@RootCommand.subcommand(db_untracked=True)\n"
        "class Noop(Command):\n"
        "    def setup_tasks(self):\n"
        "        pass\n\n\n"
        "@RootCommand.subcommand(db_untracked=True)\n"
        "class Pair(Command):\n"
        "    def setup_tasks(self):\n"
        "        GenData() | PrintData()\n"
    )
    return tmp_path


def _loaded(records: Mapping[str, Mapping[str, Any]]) -> set[str]:
    return {name for name, record in records.items()
            if record["kind"] == "entry-point" and record["status"] == "loaded"}


def _any_loaded(records: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Loaded plugins of any kind (entry point or pipeline), built-ins aside."""
    return {name for name, record in records.items()
            if record["kind"] != "builtin" and record["status"] == "loaded"}


def _lines_about(stderr: str, plugin: str) -> list[str]:
    return [line for line in stderr.splitlines() if f"plugin {plugin} " in line]


def _assert_unknown_command(done: subprocess.CompletedProcess[str], name: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert f"unknown command {name!r}" in done.stderr
    assert "did you mean" in done.stderr or "available:" in done.stderr


# ------------------------------------------------------------------- (a), (b)


def test_plugins_list_shows_exactly_the_installed_plugins(venv: Venv) -> None:
    venv.ensure("outflow-hello")
    done = venv.run("plugins", "list", "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    payload = json.loads(done.stdout)
    assert payload["outflow_version"] == KERNEL_VERSION
    records = {record["name"]: record for record in payload["plugins"]}
    assert set(records) == {*DEFAULTS, "hello"}
    expected = {
        "management": ("outflow-management", KERNEL_VERSION, "outflow.management.plugin",
                       {"commands": ["management"]}),
        "sequential": ("outflow-sequential", KERNEL_VERSION, "outflow.sequential.plugin",
                       {"backends": ["default"]}),
        "hello": ("outflow-hello", "0.1.0", "outflow_hello.plugin",
                  {"commands": ["hello"], "backends": ["echo"]}),
    }
    for name, (distribution, version, module, provides) in expected.items():
        record = records[name]
        assert record["status"] == "loaded", record
        assert record["error"] is None
        assert record["kind"] == "entry-point"
        assert (record["distribution"], record["version"], record["module"]) == (
            distribution, version, module)
        for kind, names in provides.items():  # the bundled plugins may provide more
            assert set(names) <= set(record["provides"].get(kind, [])), record
    assert records["hello"]["provides"] == {"commands": ["hello"], "backends": ["echo"]}
    assert records["hello"]["hooks"] == ["outflow_register_backends",
                                         "outflow_register_commands"]

    done = venv.run("plugins", "list", "--json", "--all")
    builtins = [r for r in json.loads(done.stdout)["plugins"] if r["kind"] == "builtin"]
    assert [(r["name"], r["provides"]) for r in builtins] == [
        ("outflow.core", {"commands": ["plugins"], "config_defaults": ["logging"]})]
    # The run above went through the entry-point cache of this venv.
    assert list((venv.cache_home / "outflow").glob("entry-points-*.marshal"))


def test_version_and_python_m_outflow(venv: Venv) -> None:
    done = venv.run("--version")
    assert (done.returncode, done.stdout.strip()) == (0, f"outflow {KERNEL_VERSION}")
    done = venv.run("--help", module=True)
    assert done.returncode == 0, done.stderr
    assert "Usage: python -m outflow" in done.stdout
    commands = done.stdout.split("Commands:", 1)[1]
    assert re.search(r"^\s+management\s", commands, re.M)
    assert re.search(r"^\s+plugins\s", commands, re.M)


# ------------------------------------------------------------------------ (c)


def test_third_party_plugin_adds_a_command(venv: Venv) -> None:
    venv.ensure("outflow-hello")
    done = venv.run("--help")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^\s+hello\s+Say hello\.", done.stdout, re.M)

    done = venv.run("hello", "--name", "Ada")
    assert done.returncode == 0, done.stderr
    assert "Hello, Ada!" in done.stdout.splitlines()

    done = venv.run("hello")
    assert done.returncode == 0, done.stderr
    assert "Hello, world!" in done.stdout.splitlines()


def test_third_party_backend_runs_a_command(venv: Venv) -> None:
    venv.ensure("outflow-hello")
    assert venv.plugins()["hello"]["provides"]["backends"] == ["echo"]
    # The plugin's own backend runs the plugin's own command.
    done = venv.run("hello", "--name", "Ada", "--backend", "echo")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["Hello, Ada!", "echo backend ran 0 blocks"]


def test_third_party_backend_counts_blocks_and_runs_none(venv: Venv, pipeline_dir: Path) -> None:
    venv.ensure("outflow-hello")
    done = venv.run("pair", cwd=pipeline_dir)
    assert done.returncode == 0, done.stderr
    assert "task ran with 42" in done.stdout.splitlines()
    done = venv.run("pair", "--backend", "echo", cwd=pipeline_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["echo backend ran 2 blocks"]


# ------------------------------------------------------------------- (d), (e)


@pytest.mark.parametrize(
    ("distribution", "name", "culprit"),
    [
        ("outflow-broken", "broken", "outflow_broken_missing_dependency"),
        ("outflow-nospec", "nospec", "outflow_not_a_hook"),
    ],
)
def test_a_failing_plugin_is_reported_and_skipped(
    venv: Venv, distribution: str, name: str, culprit: str
) -> None:
    venv.ensure("outflow-hello", distribution)

    done = venv.run("--help")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^\s+hello\s", done.stdout, re.M), "the other plugins still load"
    reported = _lines_about(done.stderr, name)
    assert len(reported) == 1, done.stderr
    assert f"{distribution} 0.1.0" in reported[0]
    assert culprit in reported[0]

    records = venv.plugins()
    assert set(records) == {*DEFAULTS, "hello", name}
    assert records[name]["status"] == "error"
    assert records[name]["version"] == "0.1.0"
    assert culprit in records[name]["error"]
    assert _loaded(records) == {*DEFAULTS, "hello"}

    done = venv.run("plugins", "list", env={"COLUMNS": "400"})  # one line per plugin
    assert done.returncode == 0, done.stderr
    assert re.search(rf"^{name}\s.*error: .*{culprit}", done.stdout, re.M), done.stdout

    done = venv.run("plugins", "list", "--check")
    assert done.returncode != 0

    done = venv.run("--help", env={"OUTFLOW_STRICT_PLUGINS": "1"})
    assert done.returncode != 0
    assert culprit in done.stderr
    assert f"plugin {name} " in done.stderr


# ------------------------------------------------------------------------ (f)


def test_p_no_name_blocks_a_plugin(venv: Venv) -> None:
    venv.ensure("outflow-hello")
    _assert_unknown_command(venv.run("-p", "no:hello", "hello"), "hello")
    _assert_unknown_command(venv.run("hello", "-p", "no:hello"), "hello")  # after the command
    done = venv.run("-p", "no:hello", "--help")
    assert done.returncode == 0 and not re.search(r"^\s+hello\s", done.stdout, re.M)
    records = venv.plugins("-p", "no:hello")
    assert records["hello"]["status"] == "blocked"
    assert records["hello"]["provides"] == {}
    assert _any_loaded(records) == DEFAULTS
    done = venv.run("-p", "no:hello", "plugins", "list", "--json", "--all")
    assert "echo" not in done.stdout


def test_a_blocked_plugin_is_not_loaded_again_as_a_pipeline_plugin(venv: Venv) -> None:
    """The default ``settings.PLUGINS`` names ``outflow.management``: blocked is blocked."""
    venv.ensure("outflow-hello")
    records = venv.plugins("-p", "no:management")
    assert records["management"]["status"] == "blocked"
    assert _any_loaded(records) == {*DEFAULTS - {"management"}, "hello"}, records
    done = venv.run("-p", "no:management", "--help")
    assert not re.search(r"^\s+management\s", done.stdout, re.M)


def test_allowlist(venv: Venv) -> None:
    venv.ensure("outflow-hello")
    allow = {"OUTFLOW_PLUGINS": "management,sequential"}
    _assert_unknown_command(venv.run("hello", env=allow), "hello")
    records = venv.plugins(env=allow)
    assert _loaded(records) == {"management", "sequential"}
    assert records["hello"]["status"] == "blocked"
    # distribution names work too
    assert _loaded(venv.plugins(env={"OUTFLOW_PLUGINS": "outflow-hello"})) == {"hello"}


def test_disable_autoload(venv: Venv) -> None:
    venv.ensure("outflow-hello")
    no_auto = {"OUTFLOW_DISABLE_PLUGIN_AUTOLOAD": "1"}
    records = venv.plugins(env=no_auto)
    assert _loaded(records) == set()
    assert {records[name]["status"] for name in (*DEFAULTS, "hello")} == {
        "blocked"}
    done = venv.run("--help", env=no_auto)
    assert done.returncode == 0
    assert not re.search(r"^\s+hello\s", done.stdout, re.M)
    # ... and -p NAME brings one back
    assert _loaded(venv.plugins("-p", "management", env=no_auto)) == {"management"}
    done = venv.run("-p", "management", "--help", env=no_auto)
    assert re.search(r"^\s+management\s", done.stdout, re.M)
    _assert_unknown_command(venv.run("-p", "management", "hello", env=no_auto), "hello")
    # Nothing else is loaded either, not even as a pipeline plugin (settings.PLUGINS).
    assert _any_loaded(venv.plugins(env=no_auto)) == set()


# ------------------------------------------------------------------------ (g)


def test_uninstalling_a_plugin_removes_what_it_provided(venv: Venv, pipeline_dir: Path) -> None:
    venv.ensure("outflow-hello")
    assert "hello" in venv.plugins()  # fills the entry-point cache with hello installed

    venv.ensure()  # pip uninstall -y outflow-hello
    _assert_unknown_command(venv.run("hello"), "hello")
    records = venv.plugins()
    assert set(records) == DEFAULTS
    provided = [name for record in records.values()
                for names in record["provides"].values() for name in names]
    assert "hello" not in provided and "echo" not in provided

    # A backend nobody provides, chosen from a pipeline's command: a usage error, and
    # no guessed `pip install` of a name nobody owns.
    done = venv.run("noop", "--backend", "lsf", cwd=pipeline_dir)
    assert done.returncode == 2, (done.stdout, done.stderr)
    message = done.stderr
    assert "unknown backend 'lsf'" in message
    assert "pip install" not in message
    installed = re.search(r"installed: (.*)$", message.strip())
    assert installed is not None, message
    assert "default" in installed.group(1).split(", ")
    assert "echo" not in installed.group(1)

    # The echo backend is gone with its distribution, and comes back with it.
    done = venv.run("noop", "--backend", "echo", cwd=pipeline_dir)
    assert done.returncode == 2
    assert "unknown backend 'echo'" in done.stderr
    venv.ensure("outflow-hello")
    assert venv.plugins()["hello"]["provides"]["backends"] == ["echo"]


def test_pip_install_outflow_slurm_is_all_the_slurm_backend_needs(
        venv: Venv, pipeline_dir: Path) -> None:
    done = venv.run("noop", "--backend", "slurm", cwd=pipeline_dir)
    assert done.returncode == 2
    assert ("backend 'slurm' is provided by outflow-slurm, which is not installed: "
            "pip install outflow-slurm") in done.stderr
    venv.pip("install", "-q", "--find-links", str(venv.wheels["outflow-slurm"].parent),
             str(venv.wheels["outflow-slurm"]))
    try:
        record = venv.plugins()["slurm"]
        assert (record["status"], record["distribution"], record["provides"]) == (
            "loaded", "outflow-slurm", {"backends": ["slurm"]})
        # A command without a map never reaches the cluster: it runs here.
        done = venv.run("noop", "--backend", "slurm", cwd=pipeline_dir)
        assert done.returncode == 0, done.stderr
    finally:
        venv.pip("uninstall", "-y", "-q", "outflow-slurm")


MAPPED_COMMAND = """

from outflow.library.workflows import MapWorkflow


@as_task
def Values() -> {"value_array": list}:
    return list(range(6))


@as_task
def Square(value: int) -> {"square": int}:
    import os
    return {"square": value * value, "pid": os.getpid()}["square"]


@as_task
def Show(squares: list):
    print("SQUARES", [outputs[0]["square"] for outputs in squares])


@RootCommand.subcommand(db_untracked=True)
class Mapped(Command):
    def setup_tasks(self):
        Values() | MapWorkflow(Square(), output_name="squares") | Show()
"""


def test_pip_install_outflow_mpi_and_mpich_is_all_the_mpi_backend_needs(
        venv: Venv, pipeline_dir: Path) -> None:
    """The MPI backend from its wheel, with mpi4py and the mpich wheel from the package
    index: ``mpiexec -n 3`` of that venv runs a map on the ranks."""
    with open(pipeline_dir / "mypipe" / "commands.py", "a") as commands:
        commands.write(MAPPED_COMMAND)
    venv.pip("install", "-q", "--find-links", str(venv.wheels["outflow-mpi"].parent),
             str(venv.wheels["outflow-mpi"]), "mpich")
    try:
        record = venv.plugins()["mpi"]
        assert (record["status"], record["distribution"], record["provides"]) == (
            "loaded", "outflow-mpi", {"backends": ["mpi"]})
        done = subprocess.run(
            ["timeout", "60", str(venv.root / "bin" / "mpiexec"), "-n", "3",
             str(venv.python), "-m", "outflow", "mapped", "--backend", "mpi"],
            capture_output=True, text=True, cwd=pipeline_dir, env=venv.env())
        assert done.returncode == 0, done.stderr
        assert done.stdout.count("SQUARES [0, 1, 4, 9, 16, 25]") == 1, done.stdout
    finally:
        venv.pip("uninstall", "-y", "-q", "outflow-mpi", "mpi4py", "mpich")


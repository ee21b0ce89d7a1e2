"""Shared fixtures: throwaway pipelines on disk, isolated from each other, wheels, PostgreSQL.

A pipeline made by :func:`make_pipeline` lives in ``tmp_path``; its modules, the
commands its plugins register on ``RootCommand`` and its ``sys.path`` entries are
removed after the test, so that tests can reuse plugin names.

:func:`wheelhouse` builds every distribution once per session as users' tools do
(``python -m build``: an sdist, then the wheel from that sdist), for the tests that
install them in a fresh virtual environment.

:func:`outflow_postgres_server` is a real PostgreSQL server for the session: started
here (``initdb`` + ``pg_ctl`` as the ``postgres`` user, in a temporary directory of the
system's made traversable for it, on a free port of 127.0.0.1, fsync off) unless
``OUTFLOW_TEST_POSTGRES`` names a running one, and stopped at the end.

:func:`slurm_conf` is a real Slurm cluster of one node (slurmctld, slurmd, munged) for
the session: started by ``scripts/services/slurm.sh start`` in a directory of the
system's temporary directory, on two free ports (so that it never meets a cluster
already running here), unless ``OUTFLOW_TEST_SLURM_CONF`` names the ``slurm.conf`` of
a running one, and stopped at the end.

Without PostgreSQL or Slurm installed, the tests that need them are skipped, except
under ``scripts/test.sh`` (and CI), which installs them: there a missing one fails.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from outflow.core.commands import RootCommand

REPO = Path(__file__).resolve().parents[1]
SLURM_SCRIPT = REPO / "scripts" / "services" / "slurm.sh"


@pytest.fixture(autouse=True)
def _isolate_pipelines(monkeypatch: pytest.MonkeyPatch,
                       tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    modules = set(sys.modules)
    path = list(sys.path)
    commands = dict(RootCommand.subcommands)
    registered = list(RootCommand.registered)
    monkeypatch.delenv("OUTFLOW_SETTINGS_MODULE", raising=False)
    monkeypatch.delenv("OUTFLOW_CONFIG_PATH", raising=False)
    monkeypatch.delenv("PIPELINE_ROOT_DIRECTORY", raising=False)
    yield
    temp_root = str(tmp_path_factory.getbasetemp())
    for name in set(sys.modules) - modules:
        # Only the pipelines' own modules: libraries imported meanwhile must stay
        # (a second copy of a library's classes breaks its isinstance checks).
        module_file = getattr(sys.modules[name], "__file__", None) or ""
        module_paths = list(getattr(sys.modules[name], "__path__", []) or [])
        if name == "settings" or any(
            str(path).startswith(temp_root) for path in [module_file, *module_paths]
        ):
            del sys.modules[name]
    sys.path[:] = path
    RootCommand.subcommands.clear()
    RootCommand.subcommands.update(commands)
    RootCommand.registered[:] = registered


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """For tests whose commands configure logging process-wide: put the root logger
    back afterwards."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


def write_files(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip())


@pytest.fixture
def write_tree() -> Callable[[Path, dict[str, str]], None]:
    """``write_tree(root, {"pkg/mod.py": source})``: write dedented files under root."""
    return write_files


@pytest.fixture
def make_pipeline(tmp_path: Path) -> Callable[..., Path]:
    """Write a pipeline: ``settings.py`` listing ``plugins`` plus extra files."""

    def make(plugins: list[str] | None = None, files: dict[str, str] | None = None,
             config: str | None = None) -> Path:
        root = tmp_path / "pipeline"
        root.mkdir(exist_ok=True)
        listed = ["outflow.management", *(plugins or [])]
        (root / "settings.py").write_text(f"PLUGINS = {listed!r}\n")
        if config is not None:
            (root / "config.yml").write_text(textwrap.dedent(config).lstrip())
        write_files(root, files or {})
        return root

    return make


SQUARES_COMMANDS = '''
from outflow.core.commands import Command, RootCommand
from outflow.core.logging import logger
from outflow.core.tasks import as_task
from outflow.library.workflows import MapWorkflow


@as_task
def Values() -> {"value_array": list}:
    logger.debug("values made")
    return list(range(COUNT))


@as_task
def Square(value: int) -> {"square": int}:
    logger.debug(f"squaring {value}")
    if value in FAIL_AT:
        raise ValueError(f"no square for {value}")
    return value * value


@RootCommand.subcommand()
class Squares(Command):
    def setup_tasks(self):
        Values() | MapWorkflow(Square(), name="squares_map", output_name="squares"OPTIONS)
'''


@pytest.fixture
def squares_pipeline(make_pipeline: Callable[..., Path]) -> Callable[..., Path]:
    """A pipeline recording its runs in SQLite, whose command ``squares`` maps ``Square``
    over ``range(count)``; the items in ``fail_at`` raise ``ValueError: no square for N``
    (at ``squaresdemo/commands.py:17``); ``map_options`` are more arguments of the
    MapWorkflow (``"keep_going=True"``)."""

    def make(fail_at: int | tuple[int, ...] = (), count: int = 5,
             map_options: str = "") -> Path:
        failing = {fail_at} if isinstance(fail_at, int) else set(fail_at)
        source = (SQUARES_COMMANDS.replace("COUNT", str(count))
                  .replace("FAIL_AT", repr(failing) if failing else "()")
                  .replace("OPTIONS", f", {map_options}" if map_options else ""))
        return make_pipeline(
            plugins=["squaresdemo"],
            files={"squaresdemo/__init__.py": "", "squaresdemo/commands.py": source},
            config="databases:\n  default:\n    dialect: sqlite\n")

    return make


@pytest.fixture
def in_a_terminal() -> Callable[..., str]:
    """``in_a_terminal(command, cwd)``: run ``command`` with a pseudo-terminal as its
    stdin, stdout and stderr (``TERM=xterm``, progress bars on); return all it wrote,
    as the terminal got it. The command must succeed."""
    return run_in_a_terminal


def run_in_a_terminal(command: list[str], cwd: Path, seconds: float = 120.0,
                      env: dict[str, str] | None = None) -> str:
    import pty

    main, secondary = pty.openpty()
    env = {**{key: value for key, value in os.environ.items() if key != "OUTFLOW_PROGRESS"},
           **(env or {}), "TERM": "xterm"}
    process = subprocess.Popen(command, cwd=cwd, stdin=secondary, stdout=secondary,
                               stderr=secondary, env=env, close_fds=True)
    os.close(secondary)
    output = b""
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            try:
                data = os.read(main, 65536)
            except OSError:  # the other end closed: the command is over
                break
            if not data:
                break
            output += data
        assert process.wait(timeout=max(1.0, deadline - time.monotonic())) == 0, output
    finally:
        if process.poll() is None:
            process.kill()
        os.close(main)
    return output.decode()


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run the ``outflow`` command line in-process from ``cwd``; return (code, out, err)."""
    from outflow.core.cli.main import run

    def invoke(argv: list[str], cwd: Path) -> tuple[int, str, str]:
        monkeypatch.chdir(cwd)
        code = run(argv)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def _distributions(parent: Path) -> dict[str, Path]:
    return {path.name: path for path in sorted(parent.glob("outflow-*"))
            if (path / "pyproject.toml").is_file()}


def normalise(name: str) -> str:
    """A distribution name as pip compares them (``outflow_hello`` == ``outflow-hello``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Wheelhouse:
    """Wheels and sdists of the repository's distributions and of the test fixture plugins."""

    #: the wheels (only wheels: a ``--find-links`` for them)
    directory: Path
    #: normalised distribution name -> wheel
    wheels: dict[str, Path]
    #: the kernel and every plugin under ``outflow-plugins/``
    distributions: tuple[str, ...]
    #: the plugin packages under ``tests/fixtures/``
    fixtures: tuple[str, ...]
    #: the sdists (only sdists), each wheel being built from its sdist
    sdist_directory: Path
    #: normalised distribution name -> sdist
    sdists: dict[str, Path]
    #: normalised distribution name -> its source directory in this checkout
    sources: dict[str, Path]


def build_distributions(sources: dict[str, Path], output: Path) -> None:
    """``python -m build`` each source directory into ``output/<name>/``, in parallel.

    Without build isolation (hatchling comes from the test's own environment, as
    ``scripts/setup-venv.sh`` installs it): no package index is needed, and the nine
    builds take seconds. By default ``build`` makes the sdist, unpacks it and builds
    the wheel from it, so a file missing from an sdist fails the wheel or the tests
    that use it. Fails with the output of every build that failed.
    """
    running = {}
    for name, source in sources.items():
        log = output / f"{name}.log"
        output.mkdir(parents=True, exist_ok=True)
        with log.open("w") as handle:
            running[name] = (subprocess.Popen(
                [sys.executable, "-m", "build", "--no-isolation", "--outdir",
                 str(output / name), str(source)],
                stdout=handle, stderr=subprocess.STDOUT, cwd=output), log)
    failed = []
    for name, (process, log) in running.items():
        try:
            code = process.wait(timeout=300)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        if code != 0:
            failed.append(f"python -m build {sources[name]} exited {code}:\n{log.read_text()}")
    assert not failed, "\n".join(failed)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Wheelhouse:
    """Build an sdist, then a wheel from it, of every distribution, once for all the tests
    that install them."""
    ours = {"outflow": REPO, **_distributions(REPO / "outflow-plugins")}
    fixtures = _distributions(REPO / "tests" / "fixtures")
    sources = {normalise(name): path for name, path in (*ours.items(), *fixtures.items())}
    base = tmp_path_factory.mktemp("wheelhouse")
    build_distributions(sources, base / "build")
    directory = base / "dist"
    sdist_directory = base / "sdist"
    directory.mkdir()
    sdist_directory.mkdir()
    wheels: dict[str, Path] = {}
    sdists: dict[str, Path] = {}
    for name in sources:
        built = base / "build" / name
        (wheel,) = built.glob("*.whl")
        (sdist,) = built.glob("*.tar.gz")
        assert normalise(wheel.name.split("-")[0]) == name, wheel.name
        assert normalise(sdist.name.rsplit("-", 1)[0]) == name, sdist.name
        wheels[name] = wheel.rename(directory / wheel.name)
        sdists[name] = sdist.rename(sdist_directory / sdist.name)
    return Wheelhouse(directory, wheels, tuple(ours), tuple(fixtures), sdist_directory,
                      sdists, sources)


@pytest.fixture(scope="session")
def services_required() -> bool:
    """Whether the services the tests run against (PostgreSQL, Slurm) must be there:
    under ``scripts/test.sh``, which installs them (``OUTFLOW_TEST_REQUIRE_SERVICES``),
    and under CI. Elsewhere their tests are skipped when they are missing."""
    return bool(os.environ.get("OUTFLOW_TEST_REQUIRE_SERVICES") or os.environ.get("CI"))


@pytest.fixture(scope="session")
def outflow_postgres_server(services_required: bool) -> Iterator[Any]:
    """A real PostgreSQL server for the whole session (see the module docstring).

    Overrides the test helpers' fixture of the same name, which skips when PostgreSQL
    is missing: here that is a failure under scripts/test.sh and CI. Their
    ``postgresql_fixture`` (a fresh database with admin and user roles, dropped
    afterwards) uses this server.
    """
    from outflow.core.test.postgres import (
        find_bin_dir,
        server_from_environment,
        start_throwaway_server,
    )

    server = server_from_environment()
    if server is not None:
        yield server
        return
    if find_bin_dir() is None:
        message = ("PostgreSQL is not installed: run scripts/services/postgres.sh install "
                   "or set OUTFLOW_TEST_POSTGRES")
        if services_required:  # scripts/test.sh installs it: its absence is a failure
            pytest.fail(message)
        pytest.skip(message)
    # In the system's temporary directory, not under pytest's base directory: any pytest
    # run by this user (a nested one, another session) resets /tmp/pytest-of-<user> to
    # 0700, and the server, running as another user, must traverse its directory.
    server = start_throwaway_server()
    try:
        yield server
    finally:
        server.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def slurm_conf(services_required: bool) -> Iterator[Path]:
    """The ``slurm.conf`` of a running cluster whose node is idle."""
    given = os.environ.get("OUTFLOW_TEST_SLURM_CONF")
    if given:
        yield Path(given)
        return
    if not all(shutil.which(name) for name in ("slurmctld", "slurmd", "munged", "sbatch")):
        message = "Slurm is not installed: run scripts/services/slurm.sh install"
        if services_required:
            pytest.fail(message)
        pytest.skip(message)
    if os.geteuid() != 0:
        message = ("the test cluster's daemons run as root: run the tests as root, or "
                   "name a running cluster's slurm.conf in OUTFLOW_TEST_SLURM_CONF")
        if services_required:
            pytest.fail(message)
        pytest.skip(message)
    directory = Path(tempfile.mkdtemp(prefix="outflow-slurm-"))
    ports = {"SLURMCTLD_PORT": str(_free_port()), "SLURMD_PORT": str(_free_port())}
    started = subprocess.run([str(SLURM_SCRIPT), "start", str(directory)],
                             capture_output=True, text=True, env={**os.environ, **ports},
                             timeout=120)
    try:
        assert started.returncode == 0, f"the Slurm cluster did not start:\n{started.stderr}"
        yield directory / "slurm.conf"
    finally:
        subprocess.run([str(SLURM_SCRIPT), "stop", str(directory)], capture_output=True,
                       timeout=120, check=False)


# The plugin packages of tests/fixtures carry their authors' own tests: those run in
# the virtual environments that install them (tests/integration), not here.
collect_ignore_glob = ["fixtures/*"]


@pytest.fixture(scope="session")
def mpiexec(services_required: bool) -> Path:
    """The ``mpiexec`` of the test environment (the ``mpich`` wheel's, next to this
    Python), with mpi4py importable: what the MPI backend's tests launch ranks with."""
    launcher = Path(sys.executable).parent / "mpiexec"
    try:
        import mpi4py  # noqa: F401 - only whether it is there
    except ImportError:
        launcher = Path("/nonexistent")
    if not launcher.exists():
        message = ("mpi4py or the mpich wheel is missing: scripts/setup-venv.sh installs "
                   "them (the test extra)")
        if services_required:
            pytest.fail(message)
        pytest.skip(message)
    return launcher


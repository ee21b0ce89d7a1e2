"""``management shell``: commands piped to the shell of a pipeline made by ``management create``.

Each test runs ``python manage.py management shell`` in a subprocess, as a user does,
with the commands on stdin and EOF at the end. The tests expect the standard
library's console: when IPython happens to be installed, ``--plain`` forces it (the
IPython path is the same command with another front end).
"""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

HAS_IPYTHON = importlib.util.find_spec("IPython") is not None
#: Options selecting the standard console: none needed without IPython.
CONSOLE = ["--plain"] if HAS_IPYTHON else []

TASKS = '''
from outflow.core.tasks import as_task


@as_task
def Hello(name: str) -> {"greeting": str}:
    print(f"task hello ran for {name}")
    return {"greeting": f"Hello, {name}!"}
'''


def _env(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("OUTFLOW_") and key not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["TMPDIR"] = str(tmp_path)
    return env


def _run(args: list[str], cwd: Path, tmp_path: Path, stdin: str = "",
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], input=stdin, capture_output=True, text=True,
                          cwd=cwd, env=_env(tmp_path), timeout=60)


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    """``management create pipeline shell_pipeline``, plus a plugin-less task module."""
    done = _run(["-m", "outflow", "management", "create", "pipeline", "shell_pipeline"],
                tmp_path, tmp_path)
    assert done.returncode == 0, done.stderr
    root = tmp_path / "shell_pipeline"
    package = root / "plugins" / "greetings" / "greetings"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "tasks.py").write_text(TASKS)
    return root


def shell(root: Path, tmp_path: Path, stdin: str, *options: str,
          ) -> subprocess.CompletedProcess[str]:
    return _run(["manage.py", "management", "shell", *options], root, tmp_path, stdin)


def test_shell_has_config_and_settings_in_scope(pipeline: Path, tmp_path: Path) -> None:
    done = shell(pipeline, tmp_path, "print(config.__file__); print(settings.PLUGINS)\n",
                 *CONSOLE)
    assert done.returncode == 0, done.stderr
    # Prompts and banner go to stderr (like `python -i`): stdout is what was printed.
    assert done.stdout.splitlines() == [str(pipeline / "config.yml"),
                                        "['outflow.management']"]
    banner = done.stderr
    assert "outflow shell" in banner
    for name in ("context", "session", "config", "settings"):
        assert name in banner
    assert ">>> " in done.stderr  # the standard console
    assert "Traceback" not in done.stderr


def test_plain_forces_the_standard_console(pipeline: Path, tmp_path: Path) -> None:
    done = shell(pipeline, tmp_path, "import sys; print(type(sys.ps1).__name__)\n"
                 "print(context.root_directory)\n", "--plain")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["str", str(pipeline)]
    assert "IPython" not in done.stderr


def test_session_uses_the_database_but_the_shell_is_not_a_tracked_run(
        pipeline: Path, tmp_path: Path) -> None:
    done = _run(["manage.py", "management", "db", "upgrade", "heads"], pipeline, tmp_path)
    assert done.returncode == 0, done.stderr
    commands = (
        "print(repr(session))\n"  # lazy: nothing opened yet
        "from sqlalchemy import text\n"
        "print(session.execute(text('select count(*) from run')).scalar())\n"
        "print(type(context.session).__name__)\n"
    )
    done = shell(pipeline, tmp_path, commands, *CONSOLE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "<session of the main database: opened on first use>", "0", "RoutingSession"]
    with sqlite3.connect(pipeline / "outflow.db") as connection:
        assert connection.execute("select count(*) from run").fetchone() == (0,)


def test_shell_starts_with_an_unusable_database(tmp_path: Path) -> None:
    """``session`` only fails when used, and inside the shell, which goes on.

    (Without a ``databases`` section outflow uses ``outflow.db`` in the pipeline, so
    "no database" is a configuration naming none that works.)
    """
    root = tmp_path / "bare"
    root.mkdir()
    (root / "settings.py").write_text("PLUGINS = ['outflow.management']\n")
    (root / "config.yml").write_text("databases:\n  default:\n    dialect: nosuchdb\n")
    commands = (
        "print(settings.PLUGINS)\n"
        "from sqlalchemy import text\n"
        "session.execute(text('select 1'))\n"
        "print('still in the shell')\n"
    )
    done = _run(["-m", "outflow", "management", "shell", *CONSOLE], root, tmp_path, commands)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["['outflow.management']", "still in the shell"]
    # The failed statement, reported by the console.
    assert "DatabaseConfigError: databases.default.dialect: unknown dialect 'nosuchdb'" in (
        done.stderr)
    assert sorted(path.name for path in root.iterdir()) == ["config.yml", "settings.py"]


def test_tasks_called_in_the_shell_run_once(pipeline: Path, tmp_path: Path) -> None:
    """A task made in the shell is standalone: not added to the shell command's workflow."""
    commands = (
        "from greetings.tasks import Hello\n"
        "print(Hello()(name='Ada'))\n"
    )
    done = shell(pipeline, tmp_path, commands, *CONSOLE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["task hello ran for Ada", "{'greeting': 'Hello, Ada!'}"]


def test_exit_leaves_the_shell(pipeline: Path, tmp_path: Path) -> None:
    done = shell(pipeline, tmp_path, "print('before')\nexit()\nprint('after')\n", *CONSOLE)
    assert (done.returncode, done.stdout.splitlines()) == (0, ["before"]), done.stderr
    done = shell(pipeline, tmp_path, "exit(3)\n", *CONSOLE)
    assert done.returncode == 3, done.stderr


def test_lazy_session_opens_nothing_until_used() -> None:
    from outflow.core.test.test_cases import make_test_context
    from outflow.management.shell import LazySession, shell_namespace

    pipeline_context = make_test_context({"databases": {"default": {"dialect": "sqlite",
                                                                    "path": ":memory:"}}})
    namespace = shell_namespace(pipeline_context)
    assert set(namespace) == {"context", "session", "config", "settings"}
    session = namespace["session"]
    assert isinstance(session, LazySession)
    assert repr(session) == "<session of the main database: opened on first use>"
    assert not hasattr(session, "_repr_html_")  # display probes open nothing
    assert not pipeline_context.databases_opened
    from sqlalchemy import text

    assert session.execute(text("select 7")).scalar() == 7
    assert pipeline_context.databases_opened
    pipeline_context.databases.dispose()

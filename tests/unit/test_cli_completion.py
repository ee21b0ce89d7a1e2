"""Shell completion, click's way: ``_OUTFLOW_COMPLETE=bash_source outflow`` prints the
script, and the script runs ``outflow`` with ``_OUTFLOW_COMPLETE=bash_complete`` and the
words typed in ``COMP_WORDS`` / ``COMP_CWORD``.

Most tests run ``outflow`` as the script does, in a subprocess; a few go through click's
``ShellComplete`` API in-process. Whatever happens, completing prints completions or
nothing: never a warning, an error or a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = '''
import sys

from outflow.core.commands import Command, RootCommand

print("printed by the plugin on import")
print("warned by the plugin on import", file=sys.stderr)


@RootCommand.subcommand(db_untracked=True)
class ComputeData(Command):
    """Compute some data."""

    def add_arguments(self):
        self.add_argument("--mode", choices=["fast", "slow"], default="fast")
        self.add_argument("--input_dir", default=".")

    def setup_tasks(self):
        pass


@RootCommand.subcommand(db_untracked=True)
class Compute(Command):
    def setup_tasks(self):
        pass
'''

OTHER = '''
from outflow.core.commands import Command, RootCommand


@RootCommand.subcommand(db_untracked=True)
class Compute(Command):
    def setup_tasks(self):
        pass
'''

#: The script's way to run ``outflow``, whatever the virtual environment's scripts.
OUTFLOW = [sys.executable, "-c", "from outflow.core.cli.main import main; main()"]


@pytest.fixture
def pipeline(make_pipeline) -> Path:
    return make_pipeline(
        plugins=["tuto.completing", "tuto.other"],
        files={
            "plugins/completing/tuto/completing/__init__.py": "",
            "plugins/completing/tuto/completing/commands.py": COMMANDS,
            "plugins/other/tuto/other/__init__.py": "",
            "plugins/other/tuto/other/commands.py": OTHER,
        },
        config="unknown_section: 1\n",  # a warning on every start
    )


def _environment(cwd: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("OUTFLOW_", "_OUTFLOW_", "COMP_"))
           and key not in ("PIPELINE_ROOT_DIRECTORY", "COLUMNS")}
    env["XDG_CACHE_HOME"] = str(cwd / ".cache")
    env.update(extra)
    return env


def run_completion(cwd: Path, line: str, shell: str = "bash",
                   command: list[str] | None = None,
                   variable: str = "_OUTFLOW_COMPLETE") -> subprocess.CompletedProcess[str]:
    """Complete the last word of ``line`` (``""`` after a final space) as ``shell`` asks."""
    words = line.split(" ")
    if shell == "fish":  # the line up to the cursor, and the word under it
        env = _environment(cwd, COMP_WORDS=line, COMP_CWORD=words[-1])
    else:
        env = _environment(cwd, COMP_WORDS=line, COMP_CWORD=str(len(words) - 1))
    env[variable] = f"{shell}_complete"
    return subprocess.run(command or OUTFLOW, capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=60)


def completed(cwd: Path, line: str) -> list[str]:
    """The values bash would offer for ``line``; asserts that nothing else was printed."""
    done = run_completion(cwd, line)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    kinds_values = [entry.split(",", 1) for entry in done.stdout.splitlines() if entry]
    assert all(kind in ("plain", "file", "dir") for kind, _ in kinds_values), done.stdout
    return [value for _, value in kinds_values]


# -- the scripts --------------------------------------------------------------------


@pytest.mark.parametrize(("shell", "expected"), [
    ("bash", "complete -o nosort -F _outflow_completion outflow"),
    ("zsh", "#compdef outflow"),
    ("fish", "complete --no-files --command outflow"),
])
def test_the_source_scripts_need_no_pipeline(tmp_path, shell, expected):
    (tmp_path / "settings.py").write_text("raise RuntimeError('a broken pipeline')\n")
    env = _environment(tmp_path, _OUTFLOW_COMPLETE=f"{shell}_source")
    done = subprocess.run(OUTFLOW, capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout
    assert "_OUTFLOW_COMPLETE" in done.stdout


def test_an_unknown_shell_completes_nothing(tmp_path):
    env = _environment(tmp_path, _OUTFLOW_COMPLETE="tcsh_source")
    done = subprocess.run(OUTFLOW, capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (1, "", "")


# -- commands and options -----------------------------------------------------------


def test_commands_of_the_root_and_of_groups(pipeline):
    assert completed(pipeline, "outflow ") == [
        "completing", "compute", "compute_data", "dashboard", "management", "other",
        "plugins"]
    assert completed(pipeline, "outflow comp") == ["completing", "compute", "compute_data"]
    assert completed(pipeline, "outflow management d") == ["db", "debug", "display_config"]
    assert completed(pipeline, "outflow management db make") == ["make_migrations"]
    assert completed(pipeline, "outflow other ") == ["compute"]


def test_a_dashed_beginning_completes_to_the_documented_name(pipeline):
    assert completed(pipeline, "outflow compute-d") == ["compute_data"]
    assert completed(pipeline, "outflow management list-") == ["list_runs"]


def test_options_of_the_command_and_the_global_ones_after_it(pipeline):
    offered = completed(pipeline, "outflow compute_data --")
    assert {"--mode", "--input_dir", "--help"} <= set(offered)
    assert {"--backend", "--log-level", "--dry-run", "--plan"} <= set(offered)
    assert "--version" not in offered
    assert completed(pipeline, "outflow --back") == ["--backend"]
    already = completed(pipeline, "outflow compute_data --backend default --b")
    assert "--backend" not in already


@pytest.mark.parametrize("line", ["outflow -b ", "outflow --backend ",
                                  "outflow compute_data -b ",
                                  "outflow management list_runs --limit 3 --backend "])
def test_backend_names_and_aliases(pipeline, line):
    assert completed(pipeline, line) == ["default", "mpi", "multiprocessing", "parallel",
                                         "sequential", "slurm"]


def test_backend_names_after_an_equal_sign(pipeline):
    assert completed(pipeline, "outflow compute_data --backend=par") == ["parallel"]
    # bash breaks words at "=": COMP_WORDS then has "--backend", "=" and the beginning
    assert completed(pipeline, "outflow compute_data --backend = par") == ["parallel"]


def test_values_of_other_options(pipeline):
    assert completed(pipeline, "outflow compute_data --mode ") == ["fast", "slow"]
    assert completed(pipeline, "outflow -ll W") == ["WARNING"]
    assert completed(pipeline, "outflow compute_data --plan=") == ["text", "dot", "mermaid"]
    assert completed(pipeline, "outflow management display_config --format j") == ["json"]


def test_zsh_and_fish_get_help_texts(pipeline):
    done = run_completion(pipeline, "outflow management list", shell="zsh")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[:3] == [
        "plain", "list_runs",
        "List the recorded runs: id, command, start, duration and state, newest first."]
    done = run_completion(pipeline, "outflow -b par", shell="fish")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        "plain,parallel\trun MapWorkflow items in a pool of processes on this machine"]


# -- never in the way ---------------------------------------------------------------


def test_a_pipeline_that_cannot_be_set_up_completes_nothing_silently(make_pipeline):
    root = make_pipeline(config="parameters:\n  compute: [1, 2\n")  # malformed YAML
    done = run_completion(root, "outflow ")
    assert (done.returncode, done.stdout, done.stderr) == (1, "", "")


def test_an_ambiguous_command_completes_nothing_silently(pipeline):
    assert completed(pipeline, "outflow compute --") == []


def test_an_unknown_command_completes_nothing_silently(pipeline):
    assert completed(pipeline, "outflow nothing_here ") == []


def test_manage_py_run_by_a_completion_script_completes(make_pipeline):
    """``./manage.py`` (prog name ``manage.py``, ``_MANAGE_PY_COMPLETE``) completes rather
    than running, and click's completion does not exit from inside the pipeline."""
    root = make_pipeline()
    (root / "manage.py").write_text(
        "import sys\nfrom outflow.core.pipeline import Pipeline\n"
        "if __name__ == '__main__':\n"
        "    with Pipeline(root_directory=Pipeline.get_parent_directory_posix_path(__file__))"
        " as pipeline:\n        code = pipeline.run()\n    print('exit', code)\n")
    done = run_completion(root, "manage.py management list-", variable="_MANAGE_PY_COMPLETE",
                          command=[sys.executable, "manage.py"])
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == ["plain,list_runs", "exit 0"]


# -- in-process, through click's ShellComplete API -----------------------------------


def test_completions_through_the_shell_complete_api(pipeline, monkeypatch, capsys):
    from outflow.core.cli.app import build_root, completion_class
    from outflow.core.pipeline.pipeline import Pipeline

    monkeypatch.chdir(pipeline)
    with Pipeline(argv=[]) as running:
        assert running.setup_error is None
        root = build_root(running.context)
        completion = completion_class("bash")(root, {}, "outflow", "_OUTFLOW_COMPLETE")

        def values(args: list[str], incomplete: str) -> list[str]:
            return [item.value for item in completion.get_completions(args, incomplete)]

        assert values(["compute_data", "-b"], "se") == ["sequential"]
        assert values(["-b", "parallel", "compute_data"], "--m") == ["--mode"]
        assert values(["management"], "cache") == ["cache"]
        assert values(["management", "cache"], "") == ["clear", "info"]
        assert values(["--settings"], "") == []
    capsys.readouterr()

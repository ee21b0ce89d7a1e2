"""The command line asked alone, spelled with dashes, and read by scripts.

- a group typed alone (``outflow``, ``python manage.py``, ``outflow management db``)
  prints its help on stdout and exits 0;
- ``list-runs`` is ``list_runs`` and ``--input-dir`` is ``--input_dir``, while help,
  errors and suggestions show the documented (underscore) spelling;
- what ``--json`` / ``--format json`` prints is JSON and nothing else;
- the listings fit ``COLUMNS``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = '''
from outflow.core.commands import Command, RootCommand
from outflow.core.pipeline import context


@RootCommand.subcommand(db_untracked=True)
class ComputeData(Command):
    """Compute some data."""

    def add_arguments(self):
        self.add_argument("--input_dir", default=".", help="where the inputs are")
        self.add_argument("--dry-mode", action="store_true", help="a dashed option")
        self.add_argument("--max_items", type=int, default=3)

    def setup_tasks(self):
        args = context.args
        print(f"input_dir={args.input_dir} dry_mode={args.dry_mode} max_items={args.max_items}")


@RootCommand.subcommand(invokable=False)
class DataStore(Command):
    """Store things."""


@DataStore.subcommand(db_untracked=True)
class PutItem(Command):
    def setup_tasks(self):
        print("put_item ran")
'''


@pytest.fixture
def pipeline(make_pipeline) -> Path:
    return make_pipeline(
        plugins=["tuto.dashes"],
        files={
            "plugins/dashes/tuto/dashes/__init__.py": "",
            "plugins/dashes/tuto/dashes/commands.py": COMMANDS,
        },
    )


# -- alone --------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [[], ["plugins"], ["management"], ["management", "db"],
                                  ["management", "cache"]], ids=lambda argv: " ".join(argv))
def test_a_group_alone_prints_its_help_on_stdout_and_exits_0(run_cli, tmp_path, argv):
    code, out, err = run_cli(argv, tmp_path)
    assert code == 0, err
    assert err == ""
    assert out.startswith(f"Usage: outflow {' '.join(argv)}".rstrip() + " [OPTIONS]")
    assert "Commands:" in out


def test_the_root_alone_lists_the_pipeline_commands(run_cli, pipeline):
    code, out, err = run_cli([], pipeline)
    assert (code, err) == (0, "")
    assert "compute_data" in out and "data_store" in out and "management" in out


def test_bare_manage_py_prints_its_help_and_exits_0(pipeline):
    (pipeline / "manage.py").write_text(
        "import sys\nfrom outflow.core.pipeline import Pipeline\n"
        "if __name__ == '__main__':\n"
        "    with Pipeline(root_directory=Pipeline.get_parent_directory_posix_path(__file__))"
        " as pipeline:\n        sys.exit(pipeline.run())\n")
    done = subprocess.run([sys.executable, "manage.py"], cwd=pipeline, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("Usage: manage.py [OPTIONS] COMMAND [ARGS]...")
    assert "compute_data" in done.stdout


def test_the_root_with_options_but_no_command_is_still_a_usage_error(run_cli, tmp_path):
    code, out, err = run_cli(["--strict"], tmp_path)
    assert code == 2 and out == ""
    assert err.startswith("outflow: error: Missing command")


# -- dashes -------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["compute_data", "--input_dir", "in", "--max_items", "5"],
    ["compute-data", "--input-dir", "in", "--max-items", "5"],
    ["compute-data", "--input-dir=in", "--max-items=5"],
    ["dashes", "compute-data", "--input-dir", "in", "--max_items", "5"],
], ids=lambda argv: " ".join(argv))
def test_dashed_and_underscored_spellings_run_the_same_command(run_cli, pipeline, argv):
    code, out, err = run_cli(argv, pipeline)
    assert code == 0, err
    assert out == "input_dir=in dry_mode=False max_items=5\n"


def test_a_dashed_declaration_keeps_its_own_spelling(run_cli, pipeline):
    assert run_cli(["compute_data", "--dry-mode"], pipeline)[1].split()[1] == "dry_mode=True"
    code, _, err = run_cli(["compute_data", "--dry_mode"], pipeline)
    assert code == 2 and "--dry_mode" in err


def test_nested_and_management_commands_take_dashes(run_cli, pipeline):
    assert run_cli(["data-store", "put-item"], pipeline)[1] == "put_item ran\n"
    code, out, err = run_cli(["management", "list-runs"], pipeline)
    assert code == 0, err
    assert out == "No run recorded.\n"
    code, out, err = run_cli(["management", "display-config", "--format", "json"], pipeline)
    assert code == 0, err
    json.loads(out)


def test_help_shows_the_documented_spelling(run_cli, pipeline):
    code, out, _ = run_cli(["compute-data", "--help"], pipeline)
    assert code == 0
    assert out.startswith("Usage: outflow compute_data [OPTIONS]")
    assert "--input_dir TEXT" in out and "--input-dir" not in out
    code, out, _ = run_cli(["management", "--help"], pipeline)
    assert "list_runs" in out and "list-runs" not in out


@pytest.mark.parametrize(("argv", "expected"), [
    (["compute-dat"], "unknown command 'compute-dat' for 'outflow'; did you mean "
                      "'compute_data'?"),
    (["management", "list-run"], "did you mean 'list_runs'?"),
    (["compute-data", "--input-dri", "x"], "No such option '--input-dri'. Did you mean "
                                           "'--input_dir'?"),
    (["compute-data", "--max-items", "many"], "'many' is not a valid integer"),
    (["compute-data", "--max-items"], "Option '--max_items' requires an argument"),
], ids=lambda value: " ".join(value) if isinstance(value, list) else "")
def test_errors_and_suggestions_with_dashes(run_cli, pipeline, argv, expected):
    code, out, err = run_cli(argv, pipeline)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("outflow: error:")
    assert expected in lines[0]


def test_global_options_keep_their_one_spelling(run_cli, pipeline):
    code, _, err = run_cli(["compute_data", "--dry_run"], pipeline)
    assert code == 2 and "No such option '--dry_run'" in err


def test_an_option_whose_dashed_spelling_is_a_global_option_is_refused(run_cli, make_pipeline):
    clash = ("from outflow.core.commands import Command, RootCommand\n"
             "@RootCommand.subcommand(db_untracked=True)\nclass Clash(Command):\n"
             "    def add_arguments(self):\n        self.add_argument('--dry_run')\n")
    root = make_pipeline(plugins=["clashdash"],
                         files={"clashdash/__init__.py": "", "clashdash/commands.py": clash})
    code, _, err = run_cli(["clash"], root)
    assert code == 1
    assert "command clash: option --dry_run is a global option of outflow" in err


# -- JSON ---------------------------------------------------------------------------


def test_display_config_json_is_json_only(run_cli, make_pipeline):
    root = make_pipeline(config="""
        parameters:
          compute:
            ratio: .nan
            ceiling: .inf
        """)
    code, out, err = run_cli(["management", "display_config", "--format", "json"], root)
    assert code == 0, err
    shown = json.loads(out)  # strict JSON: no comment line, no NaN
    assert shown["parameters"]["compute"] == {"ratio": ".nan", "ceiling": ".inf"}
    assert f"# configuration file: {root / 'config.yml'}" in err.splitlines()


def test_plugins_list_json_is_json_only(run_cli, tmp_path):
    code, out, _ = run_cli(["plugins", "list", "--json", "--all"], tmp_path)
    assert code == 0
    assert json.loads(out)["schema"] == 1


# -- widths -------------------------------------------------------------------------


@pytest.mark.parametrize("columns", [80, 100, 120])
def test_plugins_list_fits_the_columns(run_cli, tmp_path, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    code, out, _ = run_cli(["plugins", "list", "--all"], tmp_path)
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= columns
    names = [line.split()[0] for line in out.split("\n\n")[0].splitlines()[1:]
             if not line.startswith(" ")]
    assert {"outflow.core", "management", "multiprocessing", "sequential"} <= set(names)
    assert "loaded" in out  # states are never cut


def test_display_config_folds_its_yaml_to_the_columns(run_cli, make_pipeline, monkeypatch):
    from ruamel.yaml import YAML

    text = "a rather long sentence made of many short words " * 3
    root = make_pipeline(config=f"""
        parameters:
          compute:
            note: {text.strip()}
        """)
    monkeypatch.setenv("COLUMNS", "60")
    code, out, err = run_cli(["management", "display_config"], root)
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()[1:]) <= 60
    assert YAML(typ="safe").load(out)["parameters"]["compute"]["note"] == text.strip()

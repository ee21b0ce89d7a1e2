"""The command line: pipeline commands flat and grouped, options, errors, settings."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

COMMANDS = '''
from outflow.core.commands import Command, RootCommand
from outflow.core.logging import logger
from outflow.core.pipeline import context


@RootCommand.subcommand(db_untracked=True)
class DataReduction(Command):
    """Say hello."""

    def setup_tasks(self):
        logger.info("Hello from data_reduction")
        print("hello ran")


@RootCommand.subcommand(db_untracked=True)
class ComputeData(Command):
    """Compute some data."""

    def add_arguments(self):
        self.add_argument("--multiplier", type=int, default=2, help="factor")
        self.add_argument("--verbose", action="store_true")
        self.add_argument("--mode", choices=["fast", "slow"], default="fast")
        self.add_argument("--tag", action="append")
        self.add_argument("inputs", nargs="*")

    def setup_tasks(self):
        args = context.args
        print(f"multiplier={args.multiplier} verbose={args.verbose} mode={args.mode} "
              f"tag={list(args.tag)} inputs={list(args.inputs)} backend={args.backend} "
              f"dry_run={args.dry_run}")


@RootCommand.subcommand(invokable=False)
class Git(Command):
    """Version control."""


@Git.subcommand(name="clone", db_untracked=True)
class GitClone(Command):
    def add_arguments(self):
        self.add_argument("url")

    def setup_tasks(self):
        print(f"cloning {context.args.url}")


@RootCommand.subcommand(db_untracked=True)
class Compute(Command):
    def setup_tasks(self):
        print("compute of plugin one")
'''

OTHER = '''
from outflow.core.commands import Command, RootCommand


@RootCommand.subcommand(db_untracked=True)
class Compute(Command):
    def setup_tasks(self):
        print("compute of plugin two")
'''


@pytest.fixture
def pipeline(make_pipeline):
    return make_pipeline(
        plugins=["tuto.data_reduction", "tuto.other"],
        files={
            "plugins/data_reduction/tuto/data_reduction/__init__.py": "",
            "plugins/data_reduction/tuto/data_reduction/commands.py": COMMANDS,
            "plugins/other/tuto/other/__init__.py": "",
            "plugins/other/tuto/other/commands.py": OTHER,
        },
    )


def test_help_outside_a_pipeline_lists_plugin_commands(run_cli, tmp_path):
    code, out, _ = run_cli(["--help"], tmp_path)
    assert code == 0
    assert "management" in out and "plugins" in out


def test_pipeline_commands_are_flat_and_grouped(run_cli, pipeline):
    code, out, _ = run_cli(["--help"], pipeline)
    assert code == 0
    for name in ("compute_data", "data_reduction", "other", "git", "management"):
        assert name in out
    assert run_cli(["compute_data"], pipeline)[1].startswith("multiplier=2")
    assert run_cli(["data_reduction", "compute_data"], pipeline)[1].startswith("multiplier=2")


def test_plugin_group_alone_runs_the_command_of_the_same_name(run_cli, pipeline):
    code, out, err = run_cli(["data_reduction"], pipeline)
    assert code == 0, err
    assert "hello ran" in out
    assert "tuto.data_reduction.commands - commands.py:" in err
    assert "INFO - Hello from data_reduction" in err


def test_same_command_name_in_two_plugins(run_cli, pipeline):
    code, _, err = run_cli(["compute"], pipeline)
    assert code == 2
    assert "outflow data_reduction compute, outflow other compute" in err
    assert run_cli(["other", "compute"], pipeline)[1] == "compute of plugin two\n"
    assert run_cli(["data_reduction", "compute"], pipeline)[1] == "compute of plugin one\n"


def test_arguments_and_global_options_after_the_subcommand(run_cli, pipeline):
    code, out, err = run_cli(
        ["compute_data", "--multiplier", "3", "--verbose", "--mode", "slow", "--tag", "a",
         "--tag", "b", "x", "y", "--dry-run", "-b", "default"], pipeline)
    assert code == 0, err
    assert out.strip() == ("multiplier=3 verbose=True mode=slow tag=['a', 'b'] inputs=['x', 'y'] "
                           "backend=default dry_run=True")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["compute_dta"],
         "unknown command 'compute_dta' for 'outflow'; did you mean 'compute_data'?"),
        (["compute_data", "--multplier", "3"], "--multiplier"),
        (["compute_data", "--multiplier", "three"], "'three' is not a valid integer"),
        (["compute_data", "--mode", "medium"], "medium"),
        (["git", "clne"], "did you mean 'clone'?"),
        (["compute_data", "--backend"], "--backend requires a value"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(run_cli, pipeline, argv, expected):
    code, out, err = run_cli(argv, pipeline)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("outflow: error:")
    assert expected in lines[0]


def test_non_invokable_group_prints_its_help(run_cli, pipeline):
    code, out, _ = run_cli(["git"], pipeline)
    assert code == 0
    assert "Version control." in out and "clone" in out
    assert run_cli(["git", "clone", "repo.git"], pipeline)[1] == "cloning repo.git\n"


def test_unknown_backend_names_installed_ones_and_no_guessed_package(run_cli, pipeline):
    code, _, err = run_cli(["compute_data", "--backend", "paralell"], pipeline)
    assert code == 2
    assert ("unknown backend 'paralell' (did you mean 'parallel'?); installed: default,"
            in err)
    assert "sequential" in err
    assert "pip install" not in err


def test_backend_from_config_when_not_on_the_command_line(run_cli, make_pipeline):
    root = make_pipeline(
        plugins=["cfgplug"],
        files={"cfgplug/__init__.py": "", "cfgplug/commands.py": OTHER},
        config="backend: nowhere\n",
    )
    code, _, err = run_cli(["compute"], root)
    assert code == 2 and "unknown backend 'nowhere'" in err


def test_malformed_configuration_names_file_line_and_column(run_cli, make_pipeline):
    root = make_pipeline(config="parameters:\n  compute: [1, 2\n")
    code, _, err = run_cli(["--help"], root)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "config.yml:" in err and "Traceback" not in err


def test_traceback_only_at_debug_level(run_cli, make_pipeline):
    failing = ("from outflow.core.commands import Command, RootCommand\n"
               "@RootCommand.subcommand(db_untracked=True)\nclass Boom(Command):\n"
               "    def setup_tasks(self):\n        raise ValueError('bad value 42')\n")
    root = make_pipeline(plugins=["boomplug"],
                         files={"boomplug/__init__.py": "", "boomplug/commands.py": failing})
    code, _, err = run_cli(["boom"], root)
    assert code == 1 and "bad value 42" in err and "Traceback" not in err
    code, _, err = run_cli(["boom", "-ll", "DEBUG"], root)
    assert code == 1 and "Traceback" in err


def test_assigning_settings_at_run_time_fails_clearly(run_cli, make_pipeline):
    assigning = ("from outflow.core.commands import Command, RootCommand\n"
                 "from outflow.core.pipeline import settings\n"
                 "@RootCommand.subcommand(db_untracked=True)\nclass Assign(Command):\n"
                 "    def setup_tasks(self):\n        settings.PLUGINS = []\n")
    root = make_pipeline(plugins=["assignplug"],
                         files={"assignplug/__init__.py": "", "assignplug/commands.py": assigning})
    code, _, err = run_cli(["assign"], root)
    assert code == 1
    assert "settings are read-only at run time: set PLUGINS in settings instead" in err


def test_settings_module_option_and_environment(run_cli, make_pipeline, tmp_path, monkeypatch):
    root = make_pipeline()
    (root / "other_settings.py").write_text(
        "PLUGINS = ['outflow.management', 'envplug']\n")
    (root / "envplug").mkdir()
    (root / "envplug" / "__init__.py").write_text("")
    (root / "envplug" / "commands.py").write_text(OTHER)
    monkeypatch.setenv("PIPELINE_ROOT_DIRECTORY", str(root))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert run_cli(["--settings", "other_settings", "compute"], elsewhere)[1] == \
        "compute of plugin two\n"
    monkeypatch.setenv("OUTFLOW_SETTINGS_MODULE", "other_settings")
    assert run_cli(["compute"], elsewhere)[1] == "compute of plugin two\n"


def test_reserved_option_names_are_refused(run_cli, make_pipeline):
    clash = ("from outflow.core.commands import Command, RootCommand\n"
             "@RootCommand.subcommand(db_untracked=True)\nclass Clash(Command):\n"
             "    def add_arguments(self):\n        self.add_argument('--config')\n")
    root = make_pipeline(plugins=["clashplug"],
                         files={"clashplug/__init__.py": "", "clashplug/commands.py": clash})
    code, _, err = run_cli(["clash"], root)
    assert code == 1
    assert "command clash: option --config is a global option of outflow" in err


def test_manage_py_runs_the_same_root(pipeline):
    (pipeline / "manage.py").write_text(
        "import sys\nfrom outflow.core.pipeline import Pipeline\n"
        "if __name__ == '__main__':\n"
        "    with Pipeline(root_directory=Pipeline.get_parent_directory_posix_path(__file__))"
        " as pipeline:\n        sys.exit(pipeline.run())\n")
    done = subprocess.run([sys.executable, "manage.py", "other", "compute"], cwd=pipeline,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "compute of plugin two\n"


def test_python_dash_m_outflow(tmp_path):
    done = subprocess.run([sys.executable, "-m", "outflow", "--version"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.strip() == "outflow 1.0.0.dev0"


def test_display_config_shows_defaults_and_masks_secrets(run_cli, make_pipeline):
    root = make_pipeline(config="""
        databases:
          default:
            dialect: postgresql
            address: localhost:5432
            user: pipeuser:userpwd
            database: db
        secrets:
          token: s3cr3t-value
        logging:
          loggers:
            my_plugin: {level: DEBUG, handlers: [console]}
        """)
    code, out, err = run_cli(["management", "display_config", "--format", "json"], root)
    assert code == 0, err
    assert err.strip() == f"# configuration file: {root / 'config.yml'}"  # stdout: JSON only
    assert "userpwd" not in out and "s3cr3t-value" not in out
    assert "pipeuser:******" in out
    body = json.loads(out)
    assert body["logging"]["loggers"]["my_plugin"]["level"] == "DEBUG"
    assert body["logging"]["formatters"]["outflow"]["format"].startswith("%(asctime)s")


def test_error_lines_never_show_configured_secrets(run_cli, make_pipeline):
    leaking = ("from outflow.core.commands import Command, RootCommand\n"
               "from outflow.core.pipeline import config\n"
               "@RootCommand.subcommand(db_untracked=True)\nclass Leak(Command):\n"
               "    def setup_tasks(self):\n"
               "        raise RuntimeError('cannot log in with ' + config['secrets']['token'])\n")
    root = make_pipeline(plugins=["leakplug"],
                         files={"leakplug/__init__.py": "", "leakplug/commands.py": leaking},
                         config="secrets:\n  token: hunter2-secret\n")
    code, _, err = run_cli(["leak"], root)
    assert code == 1
    assert "hunter2-secret" not in err and "cannot log in with ******" in err


@pytest.mark.parametrize(("columns", "width"), [("60", 58), ("300", 98), ("20", 50), ("", 78),
                                                ("wide", 78)])
def test_help_width_follows_click_rule(monkeypatch: pytest.MonkeyPatch, columns: str,
                                       width: int) -> None:
    import io

    from outflow.core.cli.app import help_width

    monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.setattr(sys, "__stdout__", io.StringIO())  # not a terminal: 80 columns
    assert help_width() == width


def test_help_is_wrapped_to_columns(run_cli, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    code, out, _ = run_cli(["--help"], cwd=tmp_path)
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 58

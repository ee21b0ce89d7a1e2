"""``outflow management create pipeline|plugin``: layout, rendered names, refusals, packaging.

The commands run in-process (``run_cli``); the generated pipeline runs in a
subprocess (``python manage.py ...``), as a user runs it, through the real default
backend.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from packaging.requirements import Requirement

from outflow.core import __version__ as KERNEL_VERSION
from outflow.management.create.names import InvalidNameError, check_plugin_name
from outflow.management.create.rendering import (
    TemplateError,
    output_path,
    render_text,
    templates_root,
)
from outflow.management.create.requirements import VersionError, outflow_specifier

REPO = Path(__file__).resolve().parents[2]
MANAGEMENT = REPO / "outflow-plugins" / "outflow-management"
#: Where the templates live: package data of outflow-management.
TEMPLATES = MANAGEMENT / "outflow" / "management" / "templates"
HELLO_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - tuto\.data_reduction\.commands - "
    r"commands\.py:\d+ - INFO - Hello from data_reduction$",
    re.MULTILINE,
)

def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("OUTFLOW_SETTINGS_MODULE", "OUTFLOW_CONFIG_PATH", "PIPELINE_ROOT_DIRECTORY",
                 "PYTHONPATH"):
        env.pop(name, None)
    return env


def _manage(pipeline: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=pipeline, env=_env(),
                          capture_output=True, text=True, timeout=120)


def _requirement_lines(text: str) -> list[str]:
    """The requirements of a requirements file: no comments, no blank lines."""
    lines = (line.split(" #", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _files(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


@pytest.fixture
def tuto_pipeline(run_cli, tmp_path: Path) -> Path:
    """``create pipeline tuto_pipeline`` then ``create plugin tuto.data_reduction``, listed."""
    code, _, err = run_cli(["management", "create", "pipeline", "tuto_pipeline"], tmp_path)
    assert code == 0, err
    pipeline = tmp_path / "tuto_pipeline"
    code, _, err = run_cli(["management", "create", "plugin", "tuto.data_reduction",
                            "--plugin_dir", "plugins/data_reduction"], pipeline)
    assert code == 0, err
    settings = pipeline / "settings.py"
    text = settings.read_text()
    assert "    'outflow.management',\n" in text
    text = text.replace("    'outflow.management',\n",
                        "    'outflow.management',\n    'tuto.data_reduction',\n")
    settings.write_text(text)
    return pipeline


# -- create pipeline ---------------------------------------------------------------


def test_create_pipeline_writes_the_documented_files(run_cli, tmp_path: Path) -> None:
    code, out, err = run_cli(["management", "create", "pipeline", "tuto_pipeline"], tmp_path)
    assert code == 0, err
    pipeline = tmp_path / "tuto_pipeline"
    assert str(pipeline) in out
    assert _files(pipeline) == {"config.yml", "settings.py", "manage.py", "requirements.txt",
                                "plugins/.gitkeep", ".gitignore"}
    config = (pipeline / "config.yml").read_text()
    assert "databases:\n  default:\n    dialect: sqlite\n    path: outflow.db" in config
    for commented in ("# parameters:", "#   my_task:", "#     my_param1: param_value1",
                      "#     dialect: postgresql", "# secrets:", "# logging:", "#   loggers:",
                      "# backend: default"):
        assert commented in config
    settings = (pipeline / "settings.py").read_text()
    namespace: dict[str, object] = {}
    exec(compile(settings, "settings.py", "exec"), namespace)
    assert namespace["PLUGINS"] == ["outflow.management"]
    for name in ("TEMP_DIR", "MAIN_DATABASE", "BACKENDS", "ROOT_COMMAND_CLASS"):
        assert f"# {name} = " in settings
    manage = (pipeline / "manage.py").read_text()
    assert "Pipeline(root_directory=Pipeline.get_parent_directory_posix_path(__file__))" in manage
    assert os.access(pipeline / "manage.py", os.X_OK)
    requirements = (pipeline / "requirements.txt").read_text()
    specifier = outflow_specifier(KERNEL_VERSION)
    assert _requirement_lines(requirements) == [
        f"outflow{specifier}", f"outflow-management{specifier}", f"outflow-sequential{specifier}"]
    assert f"# outflow-multiprocessing{specifier}" in requirements  # how to add a plugin
    for line in _requirement_lines(requirements):
        # pip's rules: the pre-release lower bound admits our dev version, never 0.9
        requirement = Requirement(line)
        assert requirement.specifier.contains(KERNEL_VERSION), line
        assert not requirement.specifier.contains("0.9.2"), line
        assert not requirement.specifier.contains("2.0.0"), line

    done = _manage(pipeline, "--help")
    assert done.returncode == 0, done.stderr
    assert "management" in done.stdout


def test_create_pipeline_in_a_chosen_directory(run_cli, tmp_path: Path) -> None:
    code, _, err = run_cli(["management", "create", "pipeline", "tuto_pipeline",
                            "--pipeline_dir", "somewhere/else"], tmp_path)
    assert code == 0, err
    assert (tmp_path / "somewhere" / "else" / "manage.py").is_file()
    assert not (tmp_path / "tuto_pipeline").exists()


# -- create plugin -----------------------------------------------------------------


def test_create_plugin_layout_and_rendered_names(run_cli, tmp_path: Path) -> None:
    code, out, err = run_cli(["management", "create", "plugin", "tuto.data_reduction"], tmp_path)
    assert code == 0, err
    plugin = tmp_path / "data_reduction"  # the default location: ./NAME
    package = "tuto/data_reduction"
    assert _files(plugin) == {
        "pyproject.toml",
        f"{package}/__init__.py",
        f"{package}/commands.py",
        f"{package}/tasks.py",
        f"{package}/models/__init__.py",
        f"{package}/models/model.py",
        f"{package}/models/versions/default/.gitkeep",
        f"{package}/tests/test_tasks.py",
    }
    assert not (plugin / "tuto" / "__init__.py").exists()  # PEP 420 namespace
    assert not (plugin / package / "tests" / "__init__.py").exists()
    for path in plugin.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "{{" not in text and "__namespace__" not in str(path), path
            if path.suffix == ".py":
                ast.parse(text, str(path))

    project = tomllib.loads((plugin / "pyproject.toml").read_text())
    assert project["build-system"]["build-backend"] == "hatchling.build"
    assert project["project"]["name"] == "tuto-data-reduction"
    assert project["project"]["dependencies"] == ["outflow>=1.0.0.dev0,<2"]
    assert project["project"]["entry-points"]["outflow.plugins"] == {
        "data_reduction": "tuto.data_reduction"
    }
    assert project["tool"]["hatch"]["build"]["targets"]["wheel"]["only-include"] == [package]

    assert len((plugin / package / "__init__.py").read_text().splitlines()) < 10
    commands = (plugin / package / "commands.py").read_text()
    assert ("@RootCommand.subcommand(invokable=True, db_untracked=True)\n"
            "class DataReduction(Command):") in commands
    assert 'logger.info("Hello from data_reduction")' in commands
    assert "class ComputeData(Command):" in commands
    assert "GenData() | PrintData()" in commands
    tasks = (plugin / package / "tasks.py").read_text()
    assert "from outflow.core.tasks import as_task" in tasks
    assert "from outflow.core.logging import logger" in tasks
    assert 'def GenData() -> {"raw_data": int}:' in tasks
    assert "def PrintData(raw_data: int):" in tasks
    assert 'logger.info(f"Result of the computation: {raw_data}")' in tasks
    assert "# class GenData(Task):" in tasks and "#         self.add_output(" in tasks
    model = (plugin / package / "models" / "model.py").read_text()
    assert "# from outflow.core.db import Model" in model
    assert "# class MyTable(Model):" in model
    test = (plugin / package / "tests" / "test_tasks.py").read_text()
    assert "from outflow.core.test import TaskTestCase" in test
    assert "from tuto.data_reduction.tasks import GenData" in test
    assert 'assert result == {"raw_data": 42}' in test


def test_create_plugin_with_a_deeper_namespace(run_cli, tmp_path: Path) -> None:
    code, _, err = run_cli(["management", "create", "plugin", "lab.tools.reduction_2d",
                            "--plugin_dir", "plugins/reduction"], tmp_path)
    assert code == 0, err
    plugin = tmp_path / "plugins" / "reduction"
    assert (plugin / "lab/tools/reduction_2d/commands.py").is_file()
    assert not (plugin / "lab/__init__.py").exists()
    assert not (plugin / "lab/tools/__init__.py").exists()
    project = tomllib.loads((plugin / "pyproject.toml").read_text())
    assert project["project"]["name"] == "lab-tools-reduction-2d"
    commands = (plugin / "lab/tools/reduction_2d/commands.py").read_text()
    # Reduction2d would be called reduction2d: the command name is given explicitly.
    assert ('@RootCommand.subcommand(name="reduction_2d", invokable=True, db_untracked=True)\n'
            "class Reduction2d(Command):") in commands


def test_hello_command_of_the_generated_plugin(tuto_pipeline: Path) -> None:
    done = _manage(tuto_pipeline, "data_reduction")
    assert done.returncode == 0, done.stderr
    assert HELLO_LINE.search(done.stderr), done.stderr


def test_compute_data_of_the_generated_plugin(tuto_pipeline: Path) -> None:
    done = _manage(tuto_pipeline, "compute_data")
    assert done.returncode == 0, done.stderr
    assert re.search(r" - tuto\.data_reduction\.tasks - tasks\.py:\d+ - INFO - "
                     r"Result of the computation: 42$", done.stderr, re.MULTILINE), done.stderr


# -- refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("data_reduction", "use a dotted name with a namespace"),
        ("tuto.", "empty component"),
        (".data_reduction", "empty component"),
        ("tuto..data", "empty component"),
        ("tuto.data-reduction", "'data-reduction' is not a valid Python identifier"),
        ("tuto.2d", "'2d' is not a valid Python identifier"),
        ("tuto.class", "'class' is a Python keyword"),
        ("import.data", "'import' is a Python keyword"),
        ("tuto.réduction", "'réduction' is not ASCII"),
        ("json.data_reduction", "standard library"),
        ("tuto.compute_data", "clash"),
        ("tuto.management", "already exists"),
        ("tuto.command", "clash"),
        ("tuto.gen_data", "clash"),
        ("tuto.__", "gives no class name"),
    ],
)
def test_bad_plugin_names_are_refused(run_cli, tmp_path: Path, name: str, problem: str) -> None:
    code, out, err = run_cli(["management", "create", "plugin", name, "--plugin_dir", "p"],
                             tmp_path)
    assert code == 1
    assert err.startswith(f"outflow: error: invalid plugin name {name!r}: ")
    assert problem in err
    assert len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("a/b", "path separator"),
        ("a\\b", "path separator"),
        ("..", "special directory name"),
        (".", "special directory name"),
        ("", "empty"),
        (" pipe", "white space"),
        ("-pipe", "starts with '-'"),
        ("pi\tpe", "control character"),
    ],
)
def test_bad_pipeline_names_are_refused(run_cli, tmp_path: Path, name: str, problem: str) -> None:
    (tmp_path / "work").mkdir()
    code, _, err = run_cli(["management", "create", "pipeline", "--", name], tmp_path / "work")
    assert code == 1, err
    assert err.startswith(f"outflow: error: invalid pipeline name {name!r}: ")
    assert problem in err
    assert len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == [tmp_path / "work"]
    assert list((tmp_path / "work").iterdir()) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["pipeline", "tuto_pipeline"],
        ["plugin", "tuto.data_reduction", "--plugin_dir", "tuto_pipeline"],
    ],
)
def test_an_existing_directory_is_never_overwritten(run_cli, tmp_path: Path,
                                                    argv: list[str]) -> None:
    existing = tmp_path / "tuto_pipeline"
    existing.mkdir()
    (existing / "settings.py").write_text("# mine\n")
    code, _, err = run_cli(["management", "create", *argv], tmp_path)
    assert code == 1
    assert err == f"outflow: error: {existing} already exists: nothing was written\n"
    assert _files(existing) == {"settings.py"}
    assert (existing / "settings.py").read_text() == "# mine\n"


# -- rendering and packaging -------------------------------------------------------


def test_rendering_rules() -> None:
    variables = {"name": "data_reduction", "namespace": "a.b"}
    assert render_text('f"{x}" {{ name }} {{name}} $name', variables) == (
        'f"{x}" data_reduction data_reduction $name'
    )
    with pytest.raises(TemplateError, match="unknown template variable 'nme'"):
        render_text("{{ nme }}", variables, "commands.py.tmpl")
    assert str(output_path(Path("__namespace__/__name__/tasks.py.tmpl"), variables)) == (
        "a/b/data_reduction/tasks.py"
    )
    assert str(output_path(Path("plugins/.gitkeep"), variables)) == "plugins/.gitkeep"
    names = check_plugin_name("tuto.data_reduction")
    assert names.variables()["class_name"] == "DataReduction"
    assert names.variables()["hello_name_arg"] == ""
    with pytest.raises(InvalidNameError):
        check_plugin_name("tuto.data_reduction", frozenset({"data_reduction"}))


@pytest.mark.parametrize(
    ("version", "specifier"),
    [
        ("1.0.0.dev0", ">=1.0.0.dev0,<2"),
        ("1.4.2", ">=1.4.2,<2"),
        ("2.0.0rc1", ">=2.0.0rc1,<3"),
        ("1.0.0.dev0+g1234", ">=1.0.0.dev0,<2"),  # a local label is not allowed in >=
    ],
)
def test_outflow_specifier(version: str, specifier: str) -> None:
    assert outflow_specifier(version) == specifier
    # what pip makes of it: the version itself is accepted (pre-release or not)
    assert Requirement(f"outflow{specifier}").specifier.contains(version.split("+")[0])


def test_outflow_specifier_refuses_what_is_no_version() -> None:
    with pytest.raises(VersionError, match="not a PEP 440 version"):
        outflow_specifier("unknown")


def test_templates_are_found_in_the_checkout() -> None:
    """Editable install: the package's own directory; ``templates`` at the root links to it."""
    assert templates_root() == TEMPLATES
    link = REPO / "templates"
    assert link.is_symlink()
    assert not os.path.isabs(os.readlink(link)), "the link must survive moving the checkout"
    assert link.resolve() == TEMPLATES
    assert (link / "README.md").is_file() and (link / "pipeline" / "manage.py.tmpl").is_file()


@pytest.mark.parametrize("root", ["templates", "outflow-plugins/outflow-management/"
                                  "outflow/management/templates"])
def test_ruff_skips_the_templates(root: str) -> None:
    """The templates are no modules: ruff excludes them, at the root link and in the package."""
    template = f"{root}/pipeline/manage.py.tmpl"

    def show_files(*options: str) -> str:
        done = subprocess.run([sys.executable, "-m", "ruff", "check", "--show-files", *options,
                               template], capture_output=True, text=True, timeout=120, cwd=REPO)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "manage.py.tmpl" in show_files()  # named, ruff would check it...
    assert show_files("--force-exclude") == ""  # ...but the configuration excludes it


def _template_files() -> set[str]:
    return {path.relative_to(TEMPLATES).as_posix() for path in TEMPLATES.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts}


def test_sdist_and_wheel_ship_the_templates(wheelhouse, tmp_path: Path) -> None:
    """The sdist holds the templates (its wheel is built from it), and so does the wheel."""
    prefix = "outflow/management/templates/"
    with tarfile.open(wheelhouse.sdists["outflow-management"]) as archive:
        names = [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]
    assert {name.removeprefix(prefix) for name in names if name.startswith(prefix)} == (
        _template_files())
    with zipfile.ZipFile(wheelhouse.wheels["outflow-management"]) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "site")
    assert {name.removeprefix(prefix) for name in names if name.startswith(prefix)} == (
        _template_files())
    # Installed (here: extracted first on the path), the package finds its own copy.
    env = _env()
    env["PYTHONPATH"] = str(tmp_path / "site")
    found = subprocess.run(
        [sys.executable, "-c", "from outflow.management.create.rendering import templates_root;"
         " print(templates_root())"],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == str(tmp_path / "site" / "outflow/management/templates")

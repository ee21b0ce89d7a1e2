"""Checks of the configuration and the settings, through the command line.

Unknown sections, tasks and parameters are warnings naming the file, line and closest
match (errors with ``--strict`` or ``OUTFLOW_STRICT=1``, exit 2); a malformed
``parameters`` section, ``PLUGINS`` setting or pipeline plugin is an error (exit 2);
a parameter of the wrong type (``true`` for ``int``) stops the run before any task;
``sys.exit()`` in a task is that task's failure.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TASKS = '''
import sys

from outflow.core.commands import Command, RootCommand
from outflow.core.plugins import hookimpl
from outflow.core.tasks import as_task
from outflow.core.types import Parameter


@as_task
def Compute(multiplier: Parameter(int)) -> {"result": int}:
    print(f"computed {multiplier!r}")
    return multiplier * 2


@as_task
def Scale(factor: Parameter(float)) -> {"scaled": float}:
    print(f"scaled {factor!r}")
    return factor


@as_task
def Quit() -> {"result": int}:
    print("quitting")
    sys.exit(3)


@RootCommand.subcommand(db_untracked=True)
class ComputeData(Command):
    def setup_tasks(self):
        Compute()


@RootCommand.subcommand(db_untracked=True)
class ScaleData(Command):
    def setup_tasks(self):
        Scale()


@RootCommand.subcommand(db_untracked=True)
class Stop(Command):
    def setup_tasks(self):
        Quit()


@hookimpl
def outflow_run_finished(run, state, error):
    print(f"run finished: {state} {type(error).__name__ if error else None}")


@hookimpl
def outflow_config_defaults(register):
    register("checks_plugin_section", {"enabled": True})
'''


def make(make_pipeline, config: str | None = None, plugins: list[str] | None = None,
         files: dict[str, str] | None = None) -> Path:
    return make_pipeline(
        plugins=["checks"] if plugins is None else plugins,
        files={"checks/__init__.py": TASKS, **(files or {})},
        config=config,
    )


def one_error(err: str) -> str:
    """The single ``outflow: error:`` line of ``err`` (and no traceback)."""
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("outflow: error: ")]
    assert len(errors) == 1, err
    return errors[0]


def warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("outflow: warning: ")]


# ------------------------------------------------------------ top-level sections


def test_a_typoed_section_is_a_warning_with_file_line_and_closest_match(run_cli, make_pipeline):
    root = make(make_pipeline, "paramters:\n  compute:\n    multiplier: 2\n"
                               "parameters:\n  compute:\n    multiplier: 3\n")
    code, out, err = run_cli(["compute_data"], root)
    assert code == 0, err
    assert "computed 3" in out
    assert warnings(err) == [
        f"outflow: warning: {root / 'config.yml'}:1:1: unknown top-level section "
        "'paramters' (did you mean 'parameters'?)"
    ]


@pytest.mark.parametrize("how", ["option before", "option after", "environment"])
def test_strict_makes_an_unknown_section_an_error_with_exit_2(run_cli, make_pipeline,
                                                              monkeypatch, how):
    root = make(make_pipeline, "databses:\n  default: {dialect: sqlite}\n")
    argv = {"option before": ["--strict", "compute_data"],
            "option after": ["compute_data", "--strict"],
            "environment": ["compute_data"]}[how]
    if how == "environment":
        monkeypatch.setenv("OUTFLOW_STRICT", "1")
    code, out, err = run_cli(argv, root)
    assert code == 2
    assert one_error(err) == (
        f"outflow: error: {root / 'config.yml'}:1:1: unknown top-level section 'databses' "
        "(did you mean 'databases'?)"
    )
    assert "computed" not in out


def test_known_sections_are_not_reported(run_cli, make_pipeline):
    """The kernel's, a backend's, a plugin's (registered defaults) and the pipeline's own
    (CONFIG_SECTIONS) sections are all read by something."""
    root = make(make_pipeline, """
        parameters:
          compute:
            multiplier: 3
        databases:
          default: {dialect: sqlite}
        logging:
          loggers: {checks: {level: INFO}}
        backend: default
        workflow_cache_dir: cache
        secrets:
          token: value
        parallel:
          processes: 2
        checks_plugin_section:
          enabled: false
        my_own_section:
          answer: 42
        """)
    with (root / "settings.py").open("a") as settings_file:
        settings_file.write("CONFIG_SECTIONS = ['my_own_section']\n")
    code, out, err = run_cli(["--strict", "compute_data"], root)
    assert code == 0, err
    assert warnings(err) == []
    assert "computed 3" in out


def test_an_unknown_section_with_no_close_match_says_where_to_declare_it(run_cli, make_pipeline):
    root = make(make_pipeline, "parameters:\n  compute: {multiplier: 1}\nzzz_custom: 1\n")
    code, _, err = run_cli(["compute_data"], root)
    assert code == 0, err
    (warning,) = warnings(err)
    assert warning.endswith(":3:1: unknown top-level section 'zzz_custom' (a section the "
                            "pipeline reads itself belongs in CONFIG_SECTIONS of settings.py)")


def test_a_json_configuration_is_named_without_a_line(run_cli, make_pipeline):
    root = make(make_pipeline)
    (root / "config.json").write_text(json.dumps(
        {"parameters": {"compute": {"multiplier": 2}}, "backnd": "default"}))
    code, out, err = run_cli(["compute_data"], root)
    assert code == 0, err
    assert warnings(err) == [f"outflow: warning: {root / 'config.json'}: unknown top-level "
                             "section 'backnd' (did you mean 'backend'?)"]


def test_the_line_of_a_section_in_an_included_file(run_cli, make_pipeline):
    root = make(make_pipeline, "parameters: !include parameters.yml\n")
    (root / "parameters.yml").write_text("# the task parameters\ncompute:\n  multiplier: 2\n"
                                         "  multiplir: 3\n")
    code, _, err = run_cli(["compute_data"], root)
    assert code == 0, err
    assert warnings(err) == [
        f"outflow: warning: {root / 'parameters.yml'}:4:3: parameters.compute.multiplir: "
        "task compute has no parameter 'multiplir' (did you mean 'multiplier'?)"
    ]


# ------------------------------------------------------------- tasks, parameters


def test_unknown_task_and_parameter_names_are_warnings(run_cli, make_pipeline):
    root = make(make_pipeline, """
        parameters:
          compute:
            multiplier: 3
            multiplyer: 4
          comptue:
            multiplier: 5
        """)
    code, out, err = run_cli(["compute_data"], root)
    assert code == 0, err
    assert "computed 3" in out
    config = root / "config.yml"
    assert warnings(err) == [
        f"outflow: warning: {config}:4:5: parameters.compute.multiplyer: task compute has no "
        "parameter 'multiplyer' (did you mean 'multiplier'?)",
        f"outflow: warning: {config}:5:3: parameters.comptue: no task named 'comptue' "
        "(did you mean 'compute'?)",
    ]
    code, _, err = run_cli(["compute_data", "--strict"], root)
    assert code == 2
    assert one_error(err).endswith("parameters.compute.multiplyer: task compute has no "
                                   "parameter 'multiplyer' (did you mean 'multiplier'?)")
    assert "computed" not in out.replace("computed 3", "")


def test_the_tasks_of_other_commands_are_not_reported(run_cli, make_pipeline):
    """One file serves every command: ``scale`` belongs to scale_data, not compute_data."""
    root = make(make_pipeline, """
        parameters:
          compute:
            multiplier: 3
          scale:
            factor: 1.5
            no_such_parameter: 1
        """)
    code, out, err = run_cli(["--strict", "compute_data"], root)
    assert code == 0, err
    assert warnings(err) == [] and "computed 3" in out
    code, out, err = run_cli(["scale_data"], root)
    assert code == 0, err
    assert "scaled 1.5" in out
    (warning,) = warnings(err)
    assert warning.endswith("parameters.scale.no_such_parameter: task scale has no parameter "
                            "'no_such_parameter' (its parameters: factor)")


def test_a_typoed_parameter_comes_before_the_missing_parameter_error(run_cli, make_pipeline):
    root = make(make_pipeline, "parameters:\n  compute:\n    multiplir: 3\n")
    code, out, err = run_cli(["compute_data"], root)
    assert code == 1
    assert err.index("did you mean 'multiplier'?") < err.index("outflow: error:")
    assert "parameter 'multiplier' is missing" in one_error(err)
    assert "computed" not in out


# -------------------------------------------------------------- parameter types


def test_true_is_not_an_int_parameter(run_cli, make_pipeline):
    root = make(make_pipeline, "parameters:\n  compute:\n    multiplier: true\n")
    code, out, err = run_cli(["compute_data"], root)
    assert code == 1
    assert one_error(err) == (
        "outflow: error: task compute: parameter 'multiplier' must be int, got bool (True) "
        f"(parameters.compute.multiplier in {root / 'config.yml'}:3:5)"
    )
    assert "computed" not in out
    assert "run finished: failed TaskTypeError" in out


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.booleans(), st.text(max_size=5), st.lists(st.integers(), max_size=2),
                       st.none()))
def test_a_float_parameter_refuses_what_is_not_a_number(run_cli, make_pipeline, value):
    root = make(make_pipeline, "parameters:\n  scale:\n    factor: " + json.dumps(value) + "\n")
    code, out, err = run_cli(["scale_data"], root)
    assert code == 1
    line = one_error(err)
    assert "task scale: parameter 'factor' must be float, got " in line
    assert f"{type(value).__name__} (" in line
    assert "(parameters.scale.factor in " in line and "config.yml:3:5)" in line
    assert "scaled" not in out


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.integers(-10**6, 10**6), st.floats(-1e6, 1e6, allow_nan=False)))
def test_a_float_parameter_takes_ints_and_floats(run_cli, make_pipeline, value):
    root = make(make_pipeline, "parameters:\n  scale:\n    factor: " + json.dumps(value) + "\n")
    code, out, err = run_cli(["scale_data"], root)
    assert code == 0, err
    assert f"scaled {value!r}" in out


# ------------------------------------------------------------ malformed entries


@pytest.mark.parametrize(("config", "expected"), [
    ("parameters: [1, 2]\n",
     ":1:1: 'parameters' must be a mapping of task names to their parameters "
     "(parameters.<task>.<parameter>: value), got list ([1, 2])"),
    ("parameters:\n  compute: 3\n",
     ":2:3: 'parameters.compute' must be a mapping of parameter names to values "
     "(parameters.compute.<parameter>: value), got int (3)"),
    ("parameters:\n  compute: [multiplier, 3]\n",
     ":2:3: 'parameters.compute' must be a mapping of parameter names to values "
     "(parameters.compute.<parameter>: value), got list (['multiplier', 3])"),
])
def test_a_malformed_parameters_section_is_an_error_with_exit_2(run_cli, make_pipeline, config,
                                                                expected):
    root = make(make_pipeline, config)
    code, out, err = run_cli(["compute_data"], root)
    assert code == 2
    assert one_error(err) == f"outflow: error: {root / 'config.yml'}{expected}"
    assert "computed" not in out


def test_an_empty_task_entry_is_no_parameter(run_cli, make_pipeline):
    root = make(make_pipeline, "parameters:\n  compute:\n")
    code, _, err = run_cli(["compute_data"], root)
    assert code == 1
    assert "parameter 'multiplier' is missing" in one_error(err)


@pytest.mark.parametrize(("plugins", "expected"), [
    ("'rel.stress'", "PLUGINS must be a list of plugin module names, got str ('rel.stress') "
                     "(write PLUGINS = ['rel.stress'])"),
    ("['outflow.management', 3]", "PLUGINS[1] must be a non-empty string, got int (3)"),
    ("{'checks': True}", "PLUGINS must be a list of plugin module names, got dict"),
    ("['']", "PLUGINS[0] must be a non-empty string, got str ('')"),
])
def test_plugins_must_be_a_list_of_module_names(run_cli, make_pipeline, plugins, expected):
    root = make(make_pipeline)
    (root / "settings.py").write_text(f"PLUGINS = {plugins}\n")
    code, _, err = run_cli(["--help"], root)
    assert code == 2
    line = one_error(err)
    assert line.startswith(f"outflow: error: {root / 'settings.py'}: {expected}")
    assert "No module named 'r'" not in err


def test_config_sections_must_be_a_list_of_names(run_cli, make_pipeline):
    root = make(make_pipeline)
    with (root / "settings.py").open("a") as settings_file:
        settings_file.write("CONFIG_SECTIONS = 'mine'\n")
    code, _, err = run_cli(["compute_data"], root)
    assert code == 2
    assert one_error(err).startswith(
        f"outflow: error: {root / 'settings.py'}: CONFIG_SECTIONS must be a list of "
        "configuration section names, got str ('mine')")


def test_an_unimportable_pipeline_plugin_is_an_error(run_cli, make_pipeline):
    root = make(make_pipeline, plugins=["checks", "rel.stress"])
    code, out, err = run_cli(["compute_data"], root)
    assert code == 2
    assert one_error(err) == (
        f"outflow: error: {root / 'settings.py'}: PLUGINS: plugin 'rel.stress' cannot be "
        "imported: ModuleNotFoundError: No module named 'rel'"
    )
    assert warnings(err) == [] and "failed to load" not in err
    assert "computed" not in out


def test_a_pipeline_plugin_with_a_broken_commands_module_is_an_error(run_cli, make_pipeline):
    root = make(make_pipeline, plugins=["checks", "broken"],
                files={"broken/__init__.py": "", "broken/commands.py": "1 / 0\n"})
    code, _, err = run_cli(["compute_data"], root)
    assert code == 2
    assert one_error(err) == (
        f"outflow: error: {root / 'settings.py'}: PLUGINS: plugin 'broken' cannot import "
        "broken.commands: ZeroDivisionError: division by zero"
    )


def test_a_pipeline_plugin_implementing_an_unknown_hook_is_an_error(run_cli, make_pipeline):
    hooks = ("from outflow.core.plugins import hookimpl\n\n"
             "@hookimpl\ndef outflow_no_such_hook():\n    pass\n")
    root = make(make_pipeline, plugins=["checks", "hooky"], files={"hooky/__init__.py": hooks})
    code, _, err = run_cli(["compute_data"], root)
    assert code == 2
    assert one_error(err).endswith("PLUGINS: plugin 'hooky' cannot be registered: it "
                                   "implements hooks with no spec: outflow_no_such_hook")


# ------------------------------------------------------------------ sys.exit()


def test_sys_exit_in_a_task_is_that_tasks_failure(run_cli, make_pipeline):
    root = make(make_pipeline)
    code, out, err = run_cli(["stop"], root)
    assert code == 1
    assert one_error(err) == "outflow: error: task quit failed: SystemExit: 3"
    assert "quitting" in out
    assert "run finished: failed TaskError" in out

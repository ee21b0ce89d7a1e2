"""``--set KEY.PATH=VALUE`` and ``${env:NAME}`` in the configuration file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outflow.core.configuration.loader import ConfigFileError
from outflow.core.configuration.overrides import (
    apply_overrides,
    interpolate_environment,
    parse_override,
)
from outflow.core.configuration.secrets import MASK
from outflow.core.pipeline.config import ConfigurationError

pytestmark = pytest.mark.usefixtures("restore_logging")  # the commands configure logging

KEY = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)


# -- --set ------------------------------------------------------------------------------------
@given(keys=st.lists(KEY, min_size=1, max_size=4), value=st.integers())
def test_a_value_set_anywhere_is_read_back_and_nothing_else_changes(keys, value) -> None:
    original = {"parameters": {"compute": {"multiplier": 4}}, "backend": "default"}
    changed = apply_overrides(original, [f"{'.'.join(keys)}={value}"])
    node = changed
    for key in keys:
        node = node[key]
    assert node == value
    assert original == {"parameters": {"compute": {"multiplier": 4}}, "backend": "default"}


@pytest.mark.parametrize(("text", "value"), [
    ("a=5", 5), ("a=true", True), ("a=x", "x"), ("a=[1, 2]", [1, 2]), ("a=", ""),
    ("a=1.5", 1.5), ("a=null", None), ("a=b=c", "b=c"), ("a={k: 1}", {"k": 1}),
])
def test_values_are_read_as_yaml(text: str, value: object) -> None:
    assert parse_override(text) == (["a"], value)


@pytest.mark.parametrize(("override", "message"), [
    ("parameters.compute.multiplier", "--set parameters.compute.multiplier: expected "
                                      "KEY.PATH=VALUE"),
    ("parameters..x=1", "expected KEY.PATH=VALUE"),
    ("backend.name=x", "--set backend.name=x: backend is not a section (it is 'default')"),
    ("a=[1, 2", "--set a=[1, 2: the value is not valid YAML"),
])
def test_a_bad_override_is_one_line(override: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        apply_overrides({"backend": "default"}, [override])
    assert message in str(raised.value) and "\n" not in str(raised.value)


# -- ${env:NAME} ----------------------------------------------------------------------------
def test_environment_references_are_replaced(tmp_path: Path) -> None:
    values = {"db": {"user": "alice:${env:DB_PASSWORD}", "port": 5432},
              "paths": ["${env:HOME_DIR:-/data}/raw", "$${env:LITERAL}"]}
    assert interpolate_environment(values, tmp_path / "config.yml",
                                   {"DB_PASSWORD": "pw"}) == {
        "db": {"user": "alice:pw", "port": 5432},
        "paths": ["/data/raw", "${env:LITERAL}"]}


def test_an_unset_variable_names_the_file_line_and_key(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("databases:\n  default:\n    dialect: postgresql\n"
                      "    user: alice:${env:NO_SUCH_VARIABLE}\n")
    with pytest.raises(ConfigFileError) as raised:
        interpolate_environment({"databases": {"default": {
            "dialect": "postgresql", "user": "alice:${env:NO_SUCH_VARIABLE}"}}}, config, {})
    assert str(raised.value) == (
        f"{config}:4:5: databases.default.user: the environment variable NO_SUCH_VARIABLE "
        "is not set (write ${env:NO_SUCH_VARIABLE:-default} for a default)")


# -- through the command line -----------------------------------------------------------------
COMMANDS = '''
from outflow.core.commands import Command, RootCommand
from outflow.core.tasks import Parameter, as_task


@as_task
def Show(multiplier: Parameter(int)) -> {"shown": int}:
    print(f"MULTIPLIER {multiplier}")
    return multiplier


@RootCommand.subcommand(db_untracked=True)
class ShowIt(Command):
    def setup_tasks(self):
        Show()
'''


@pytest.fixture
def pipeline(make_pipeline: Callable[..., Path]) -> Path:
    return make_pipeline(
        plugins=["shows"],
        files={"plugins/shows/shows/__init__.py": "",
               "plugins/shows/shows/commands.py": COMMANDS},
        config="parameters:\n  show:\n    multiplier: 4\n"
               "vault:\n  api_token: ${env:OUTFLOW_TEST_TOKEN}\n  owner: ${env:USER_NAME:-me}\n",
    )


def test_set_on_the_command_line_wins_over_the_file(run_cli, pipeline: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTFLOW_TEST_TOKEN", "tok-from-env-77")
    code, out, err = run_cli(["show_it"], pipeline)
    assert code == 0, err
    assert "MULTIPLIER 4" in out
    code, out, err = run_cli(["show_it", "--set", "parameters.show.multiplier=5"], pipeline)
    assert code == 0, err
    assert "MULTIPLIER 5" in out


def test_display_config_shows_both_and_masks_the_secret(run_cli, pipeline: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTFLOW_TEST_TOKEN", "tok-from-env-77")
    code, out, err = run_cli(["management", "display_config", "--format", "json",
                              "--set", "vault.region=eu"], pipeline)
    assert code == 0, err
    assert "tok-from-env-77" not in out + err
    vault = json.loads(out)["vault"]
    assert vault == {"api_token": MASK, "owner": "me", "region": "eu"}


def test_an_unset_variable_stops_the_command_in_one_line(run_cli, pipeline: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OUTFLOW_TEST_TOKEN", raising=False)
    code, _out, err = run_cli(["show_it"], pipeline)
    assert code == 2
    assert err.strip() == (
        f"outflow: error: {pipeline / 'config.yml'}:5:3: vault.api_token: the environment "
        "variable OUTFLOW_TEST_TOKEN is not set (write ${env:OUTFLOW_TEST_TOKEN:-default} "
        "for a default)")

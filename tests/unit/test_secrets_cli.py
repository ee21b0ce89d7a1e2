"""Secrets on the command line: what a real ``outflow`` command prints to the terminal.

Each test runs a pipeline command in-process (``outflow.core.cli.main.run``, through the
``run_cli`` fixture) from a pipeline written by ``make_pipeline``, whose configuration
holds secrets under the key names users write. Nothing the command prints (log lines,
the one-line error, the ``--log-level DEBUG`` traceback) may show them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from outflow.core.configuration.secrets import MASK

# The commands configure logging process-wide.
pytestmark = pytest.mark.usefixtures("restore_logging")

API_TOKEN = "tok-9f8e7d6c"
DB_PASSWORD = "db-pw-4242"
CLIENT_SECRET = "client-s3cret"
URL_PASSWORD = "url-pw-1717"
RUNTIME_PASSWORD = "runtime-pw-55"  # in no configuration: only its place in a URL tells
SECRETS = (API_TOKEN, DB_PASSWORD, CLIENT_SECRET, URL_PASSWORD, RUNTIME_PASSWORD)

CONFIG = f"""
vault:
  api_token: {API_TOKEN}
  db_password: {DB_PASSWORD}
  oauth:
    client_secret: {CLIENT_SECRET}
  endpoint: "see https://robot:{URL_PASSWORD}@vault.example.org/v1"
"""

COMMANDS = '''
from outflow.core.commands import Command, RootCommand
from outflow.core.logging import logger
from outflow.core.tasks import as_task



@as_task
def Leak() -> {"done": bool}:
    from outflow.core.pipeline import config

    vault = config["vault"]
    logger.info(f"info: token {vault['api_token']} password {vault['db_password']}")
    logger.debug("debug: secret %s endpoint %s", vault["oauth"]["client_secret"],
                 vault["endpoint"])
    return {"done": True}


@as_task
def Fail() -> {"done": bool}:
    from outflow.core.pipeline import config

    vault = config["vault"]
    url = "postgresql://bob:RUNTIME@db.example.org/runs"
    try:
        raise KeyError(vault["db_password"])
    except KeyError as cause:
        raise ConnectionError(f"cannot reach {url} with token {vault['api_token']}") from cause


@RootCommand.subcommand(db_untracked=True)
class LeakCommand(Command):
    def setup_tasks(self):
        Leak()


@RootCommand.subcommand(db_untracked=True)
class FailCommand(Command):
    def setup_tasks(self):
        Fail()
'''.replace("RUNTIME", RUNTIME_PASSWORD)


@pytest.fixture
def pipeline(make_pipeline: Callable[..., Path]) -> Path:
    return make_pipeline(
        plugins=["secretive"],
        files={"plugins/secretive/secretive/__init__.py": "",
               "plugins/secretive/secretive/commands.py": COMMANDS},
        config=CONFIG,
    )


def _assert_no_secret(text: str) -> None:
    shown = [secret for secret in SECRETS if secret in text]
    assert not shown, f"{shown} printed in:\n{text}"


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_task_logging_secrets_prints_them_masked(run_cli, pipeline: Path, level: str) -> None:
    code, out, err = run_cli(["leak_command", "-ll", level], pipeline)
    assert code == 0, err
    _assert_no_secret(out + err)
    assert f"INFO - info: token {MASK} password {MASK}\n" in err
    debug_line = (f"DEBUG - debug: secret {MASK} endpoint "
                  f"see https://robot:{MASK}@vault.example.org/v1\n")
    assert (debug_line in err) == (level == "DEBUG")


def test_the_debug_traceback_of_a_failing_command_is_masked(run_cli, pipeline: Path) -> None:
    code, out, err = run_cli(["fail_command", "-ll", "DEBUG"], pipeline)
    assert code == 1
    _assert_no_secret(out + err)
    assert "Traceback (most recent call last):" in err
    assert f"KeyError: '{MASK}'" in err
    assert (f"ConnectionError: cannot reach postgresql://bob:{MASK}@db.example.org/runs "
            f"with token {MASK}") in err
    assert err.rstrip().splitlines()[-1].startswith("outflow: error: ")


def test_the_one_line_error_is_masked(run_cli, pipeline: Path) -> None:
    code, out, err = run_cli(["fail_command"], pipeline)
    assert code == 1
    _assert_no_secret(out + err)
    assert "Traceback" not in err
    # Warnings about the configuration may come first; the error is one line.
    [line] = [line for line in err.splitlines() if not line.startswith("outflow: warning:")]
    assert line.startswith("outflow: error: ") and f"with token {MASK}" in line

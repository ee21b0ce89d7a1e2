"""Secrets in what the management plugin shows and stores.

``management display_config`` prints the configuration, and every tracked run stores
its configuration, its command line and the exceptions of its failed blocks in the
run database, which colleagues read. A pipeline written by ``make_pipeline`` holds
secrets under the key names users write, at several depths and in URLs; each test
runs real commands in-process (``run_cli``) and looks for the secrets in the output or
in the database (SQLite, read with SQLAlchemy as ``tests/db`` does).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from outflow.core.configuration.secrets import MASK
from outflow.management.models import Configuration, Run, RuntimeException

# The commands configure logging process-wide.
pytestmark = pytest.mark.usefixtures("restore_logging")

API_TOKEN = "tok-9f8e7d6c"
ACCESS_TOKEN = "acc-1b2c3d"
DB_PASSWORD = "db-pw-4242"
CLIENT_SECRET = "client-s3cret"
PRIVATE_KEY = "pk-0a0b0c0d"
URL_PASSWORD = "url-pw-1717"
SECTION_SECRET = "section-s3cret"
CLI_TOKEN = "cli-tok-3131"  # given on the command line only
RUNTIME_PASSWORD = "runtime-pw-55"  # in no configuration: only its place in a URL tells
SECRETS = (API_TOKEN, ACCESS_TOKEN, DB_PASSWORD, CLIENT_SECRET, PRIVATE_KEY, URL_PASSWORD,
           SECTION_SECRET, CLI_TOKEN, RUNTIME_PASSWORD)

CONFIG = f"""
databases:
  default:
    dialect: sqlite
secrets:
  vault_unseal: {SECTION_SECRET}
vault:
  api_token: {API_TOKEN}
  nested:
    deeper:
      - access_token: {ACCESS_TOKEN}
        db_password: {DB_PASSWORD}
  oauth:
    client_secret: {CLIENT_SECRET}
  signing:
    privateKey: {PRIVATE_KEY}
  mirrors:
    - "https://robot:{URL_PASSWORD}@mirror.example.org/v1"
  keys: [visible-a, visible-b]
  author: visible-author
  empty_token: ""
  unset_password: null
"""

COMMANDS = '''
from outflow.core.commands import Command, RootCommand
from outflow.core.tasks import as_task


@as_task
def Fail() -> {"done": bool}:
    from outflow.core.pipeline import config

    vault = config["vault"]
    url = "postgresql://bob:RUNTIME@db.example.org/runs"
    try:
        raise KeyError(vault["nested"]["deeper"][0]["db_password"])
    except KeyError as cause:
        raise ConnectionError(f"cannot reach {url} with token {vault['api_token']} "
                              f"from {vault['mirrors'][0]}") from cause


@RootCommand.subcommand()
class FailCommand(Command):
    def add_arguments(self):
        self.add_argument("--api-token", default="")

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
    assert not shown, f"{shown} found in:\n{text}"


EXPECTED_VAULT: dict[str, Any] = {
    "api_token": MASK,
    "nested": {"deeper": [{"access_token": MASK, "db_password": MASK}]},
    "oauth": {"client_secret": MASK},  # the shape below a secret key stays
    "signing": {"privateKey": MASK},
    "mirrors": [f"https://robot:{MASK}@mirror.example.org/v1"],
    "keys": ["visible-a", "visible-b"],
    "author": "visible-author",
    "empty_token": "",
    "unset_password": None,
}


@pytest.mark.parametrize("output", ["yaml", "json"])
def test_display_config_masks_the_secrets(run_cli, pipeline: Path, output: str) -> None:
    code, out, err = run_cli(["management", "display_config", "--format", output], pipeline)
    assert code == 0, err
    _assert_no_secret(out + err)
    if output == "json":  # the path on stderr: stdout is JSON only
        header, body = err.strip().splitlines()[-1], out
    else:
        header, _, body = out.partition("\n")
    assert header == f"# configuration file: {pipeline / 'config.yml'}"
    shown = json.loads(body) if output == "json" else YAML(typ="safe").load(body)
    assert shown["vault"] == EXPECTED_VAULT
    assert shown["secrets"] == {"vault_unseal": MASK}
    assert shown["databases"] == {"default": {"dialect": "sqlite"}}


def test_the_run_database_stores_no_secret(run_cli, pipeline: Path) -> None:
    code, _, err = run_cli(["management", "db", "upgrade", "heads"], pipeline)
    assert code == 0, err
    code, out, err = run_cli(["fail_command", "--api-token", CLI_TOKEN, "-ll", "DEBUG"],
                             pipeline)
    assert code == 1
    _assert_no_secret(out + err)
    with Session(create_engine(f"sqlite:///{pipeline / 'outflow.db'}")) as session:
        run = session.scalars(select(Run)).one()
        assert run.state == "failed"
        assert run.argv == ["fail_command", "--api-token", MASK, "-ll", "DEBUG"]
        stored = session.scalars(select(Configuration)).one().config
        _assert_no_secret(json.dumps(stored))
        assert stored["vault"] == EXPECTED_VAULT
        assert stored["secrets"] == {"vault_unseal": MASK}
        rows = session.scalars(select(RuntimeException)).all()
        assert rows, "the failed task's exception was not recorded"
        for row in rows:
            _assert_no_secret(f"{row.type} {row.message} {row.traceback}")
        [task_row] = [row for row in rows if row.block is not None and row.block.name == "fail"]
        message = (f"cannot reach postgresql://bob:{MASK}@db.example.org/runs with token "
                   f"{MASK} from https://robot:{MASK}@mirror.example.org/v1")
        assert task_row.message.endswith(f"ConnectionError: {message}")
        assert f"KeyError: '{MASK}'" in task_row.traceback
        assert f"ConnectionError: {message}" in task_row.traceback

"""``--plan``: a command's validated graph, printed instead of run."""

# ruff: noqa: F821 - outflow's documented output annotations, `-> {"name": type}`,
# are dict literals whose string keys pyflakes mistakes for forward references.

from pathlib import Path

import pytest

COMMANDS = '''
from outflow.core.commands import Command, RootCommand
from outflow.core.pipeline import config
from outflow.core.tasks import as_task
from outflow.core.types import Parameter
from outflow.core.workflow import as_workflow
from outflow.library.workflows import MapWorkflow


@as_task
def GenData() -> {"raw_data_array": list}:
    with open(config["ran"], "a") as log:
        log.write("gen_data ran\\\\n")
    return [1, 2, 3]


@as_task
def Transform(raw_data: int) -> {"transformed": int}:
    return raw_data


@as_task
def Compute(transformed: int, multiplier: Parameter(int), token: Parameter(str)
            ) -> {"computed": int}:
    return transformed * multiplier


@as_task
def Seed(value: int = 7) -> {"seed": int}:
    return value


@as_task
def Grow(seed: int) -> {"grown": int}:
    return seed + 1


@MapWorkflow.as_workflow(cpus_per_task=2, partition="short")
def process():
    Transform() | Compute()


@as_workflow(cache=True)
def cached():
    Seed() | Grow()


@RootCommand.subcommand()
class PlanMe(Command):
    def setup_tasks(self):
        GenData() | process()
        cached()
'''

CONFIG = """\
ran: {ran}
parameters:
  compute:
    multiplier: 3
    token: s3cr3t-value
"""


@pytest.fixture
def planned(make_pipeline, tmp_path) -> Path:
    root = make_pipeline(plugins=["planplug"], files={
        "plugins/planplug/planplug/__init__.py": "",
        "plugins/planplug/planplug/commands.py": COMMANDS,
    }, config=CONFIG.format(ran=tmp_path / "ran.log"))
    settings = root / "settings.py"
    settings.write_text(settings.read_text() + "CONFIG_SECTIONS = ['ran']\n")
    return root


def test_the_plan_lists_blocks_edges_maps_parameters_and_cache(run_cli, planned, tmp_path):
    code, out, err = run_cli(["plan_me", "--plan"], planned)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "workflow plan_me: 7 blocks, 1 map (validated; nothing ran)"
    assert "  task gen_data" in lines
    process = next(line for line in lines if line.startswith("  map process"))
    assert "<- gen_data.raw_data_array" in process
    assert "items: raw_data_array -> raw_data" in process
    assert "cpus_per_task=2" in process and "partition='short'" in process
    compute = next(line for line in lines if "task compute" in line)
    assert compute.startswith("    task compute") and "<- transform.transformed" in compute
    assert "multiplier=3" in compute and "s3cr3t" not in out  # secrets masked
    assert any(line.startswith("  workflow cached") and "cache: miss" in line
               for line in lines)
    assert not (tmp_path / "ran.log").exists()  # nothing ran
    assert not (planned / "outflow.db").exists()  # and no run was recorded


def test_a_cached_workflow_with_constant_inputs_says_hit_once_computed(run_cli, planned):
    assert run_cli(["plan_me", "--db-untracked"], planned)[0] == 0
    code, out, _ = run_cli(["plan_me", "--plan"], planned)
    assert code == 0
    assert any("workflow cached" in line and "cache: hit" in line for line in out.splitlines())


@pytest.mark.parametrize("fmt", ["dot", "mermaid"])
def test_pictures(run_cli, planned, fmt):
    code, out, err = run_cli([f"--plan={fmt}", "plan_me"], planned)
    assert code == 0, err
    if fmt == "dot":
        assert out.startswith('digraph "plan_me" {') and out.rstrip().endswith("}")
        assert "subgraph cluster_" in out and 'label="map process"' in out
        assert '-> ' in out and '[label="raw_data_array"]' in out
    else:
        assert out.startswith("flowchart LR")
        assert 'subgraph n_1["map process"]' in out and "  end" in out
        assert "-->|raw_data_array|" in out


def test_a_graph_error_is_reported_as_a_run_would(run_cli, planned):
    config = planned / "config.yml"
    config.write_text(config.read_text().replace("    multiplier: 3\n", ""))
    code, _, err = run_cli(["plan_me", "--plan"], planned)
    assert code == 1
    assert "multiplier" in err and len(err.strip().splitlines()) == 1


def test_an_unknown_format_is_a_usage_error(run_cli, planned):
    code, _, err = run_cli(["plan_me", "--plan=svg"], planned)
    assert code == 2 and "--plan=svg: unknown format (choose text, dot, mermaid)" in err

"""Which role an MPI launcher gives a process, read from its environment alone."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outflow.mpi import launch

PAIRS = launch.LAUNCHER_VARIABLES


@given(pair=st.sampled_from(PAIRS), size=st.integers(2, 10_000), data=st.data())
def test_a_rank_of_several_is_read_from_any_launcher(pair, size, data) -> None:
    rank = data.draw(st.integers(0, size - 1))
    rank_name, size_name = pair
    assert launch.launched_rank({rank_name: str(rank), size_name: str(size)}) == (rank, size)


@pytest.mark.parametrize("environ", [
    {},
    {"PMI_RANK": "0", "PMI_SIZE": "1"},  # the only rank: nothing to share
    {"PMI_RANK": "0"},  # no size
    {"OMPI_COMM_WORLD_RANK": "x", "OMPI_COMM_WORLD_SIZE": "3"},
    {"SLURM_PROCID": "1", "SLURM_NTASKS": "4"},  # a Slurm task is not an MPI rank
])
def test_no_launcher_no_role(environ) -> None:
    assert launch.launched_rank(environ) is None


def test_rank_0_runs_the_command_line_the_others_serve(monkeypatch) -> None:
    monkeypatch.setenv("PMI_SIZE", "3")
    monkeypatch.setenv("PMI_RANK", "0")
    driver = launch.process_role()
    assert driver is not None and driver.needs_pipeline
    monkeypatch.setenv("PMI_RANK", "2")
    worker = launch.process_role()
    assert worker is not None and not worker.needs_pipeline
    assert worker.name == "MPI rank 2 of 3 (a worker)"


def test_loading_the_plugin_imports_nothing_of_mpi() -> None:
    """Every ``outflow`` start loads the plugin: mpi4py (a library load, MPI_Init)
    only where the backend is used."""
    code = ("import sys; from outflow.core.plugins.host import LoadOptions, PluginHost; "
            "host = PluginHost(LoadOptions()).load(); "
            "host.hook.outflow_process_role(argv=[]); "
            "print(sorted(name for name in sys.modules if name.startswith('mpi4py')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]"]

"""The kernel's backend contract, on the mpi backend: under mpiexec, and spawned."""

from __future__ import annotations

import sys
from pathlib import Path

from outflow.core.test.backend_contract import BackendContract

#: Every command of the suite runs under this launcher: rank 0 and two worker ranks.
MPIEXEC = (str(Path(sys.executable).parent / "mpiexec"), "-n", "3")


class TestMPIUnderMpiexec(BackendContract):
    backend = "mpi"
    launcher = MPIEXEC
    timeout = 90.0
    # MPICH's mpiexec forwards Ctrl-C to every rank itself; its proxy process, given
    # the terminal's SIGINT as well, kills the whole job at once, rank 0 included (a
    # launcher matter, documented in the plugin's README).
    ctrl_c_to_group = False


class TestMPISpawned(BackendContract):
    """Started without a launcher: the backend spawns two workers."""

    backend = "mpi"
    config = {"mpi": {"max_workers": 2}}
    timeout = 90.0
    # MPICH starts an mpiexec of its own for the spawned processes, in the driver's
    # process group: given the terminal's SIGINT, it kills them and the driver at once.
    ctrl_c_to_group = False

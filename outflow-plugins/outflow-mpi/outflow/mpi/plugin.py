"""Entry point of outflow-mpi: registers the backend and gives MPI ranks their role.

Importing this module imports nothing of MPI: every ``outflow`` start loads it, and
only a process started by an MPI launcher with several ranks pays for mpi4py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from outflow.core.plugins import hookimpl

if TYPE_CHECKING:
    from outflow.core.process_role import ProcessRole


@hookimpl
def outflow_register_backends(register: Callable[..., None]) -> None:
    register("mpi", "outflow.mpi.backend:MPIBackend",
             help="run MapWorkflow items on the ranks of an MPI job (mpiexec), or on "
                  "spawned MPI processes")


@hookimpl
def outflow_process_role(argv: list[str]) -> ProcessRole | None:
    del argv
    from outflow.mpi.launch import process_role

    return process_role()

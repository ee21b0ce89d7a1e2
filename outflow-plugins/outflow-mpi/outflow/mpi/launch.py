"""Was this process started by an MPI launcher, as which rank? From the environment.

Every rank of ``mpiexec -n 3 python manage.py ...`` starts the same program. Before
the pipeline is set up (the hook ``outflow_process_role``), each rank learns its place
from the variables its launcher sets, without importing mpi4py (which would cost
every ``outflow`` start a library load, and initialise MPI in processes that never use
it):

- rank 0 runs the command line (the driver), and releases the other ranks when it is
  over, whatever the command and its backend did;
- every other rank serves the driver's map items (:mod:`outflow.mpi.serve`) and never
  sets a pipeline up: it receives what it needs from the driver.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from outflow.core.process_role import ProcessRole

#: (rank variable, size variable) of the launchers we know: MPICH's and Intel MPI's
#: Hydra and Slurm's ``srun --mpi=pmi2`` (PMI), Open MPI's ``mpiexec``, and PMIx
#: launchers (``srun --mpi=pmix``, PRRTE).
LAUNCHER_VARIABLES = (
    ("PMI_RANK", "PMI_SIZE"),
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
    ("PMIX_RANK", "PMIX_SIZE"),
)


def launched_rank(environ: dict[str, str] | None = None) -> tuple[int, int] | None:
    """``(rank, size)`` of this process in a job of several MPI ranks; None when it was
    not started by an MPI launcher, or as the only rank."""
    env = os.environ if environ is None else environ
    for rank_name, size_name in LAUNCHER_VARIABLES:
        rank, size = env.get(rank_name), env.get(size_name)
        if rank is None or size is None:
            continue
        try:
            position, count = int(rank), int(size)
        except ValueError:
            continue
        return (position, count) if count > 1 else None
    return None


def process_role() -> ProcessRole | None:
    """The role of this process in an MPI job of several ranks (None otherwise)."""
    launched = launched_rank()
    if launched is None:
        return None
    from outflow.core.process_role import ProcessRole

    rank, size = launched
    if rank == 0:
        return ProcessRole(f"MPI rank 0 of {size} (the driver)", _drive)
    return ProcessRole(f"MPI rank {rank} of {size} (a worker)", _serve, needs_pipeline=False)


def _drive(run_command_line: Callable[[], int]) -> int:
    """Rank 0: the command line, then the other ranks released (they exit 0)."""
    status = 1
    try:
        status = run_command_line()
    finally:
        from outflow.mpi.ranks import release_world

        release_world(status)
    return status


def _serve(run_command_line: Callable[[], int]) -> int:
    """Any other rank: serve rank 0's map items until it releases this rank."""
    del run_command_line  # only rank 0 parses the command line
    from outflow.mpi.serve import serve_world

    return serve_world()


__all__ = ["LAUNCHER_VARIABLES", "launched_rank", "process_role"]

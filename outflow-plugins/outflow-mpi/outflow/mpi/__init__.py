"""outflow's MPI backend: map items served by the ranks of an MPI job.

``mpiexec -n 4 python manage.py compute_data --backend mpi``: rank 0 runs the command
(the driver), ranks 1 to 3 run its map items. Started without ``mpiexec``, the backend
spawns its workers (``MPI_Comm_spawn``) when the MPI library can. See
:mod:`outflow.mpi.backend`.
"""

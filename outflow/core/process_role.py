"""What a plugin makes of a process: a :class:`ProcessRole` (hook ``outflow_process_role``).

Most processes run the command line they were started with. Some are started with
that command line for another purpose: under ``mpiexec -n 3 python manage.py ...``
every rank starts as the same program, and only rank 0 should run the command; the
others serve its map items. A plugin says so before the pipeline is set up, by
returning a role from ``outflow_process_role``.
"""

from __future__ import annotations

from collections.abc import Callable


class ProcessRole:
    """``run(run_command_line) -> exit status``, called instead of the command line.

    ``needs_pipeline``: whether the process sets the pipeline up (settings,
    configuration, logging, the pipeline's plugins) before ``run``; a role that never
    calls ``run_command_line`` (an MPI rank serving items: it receives what it needs
    from the driver) sets it to False, so that it reads no file and repeats none of the
    driver's warnings. ``name`` says what the process is, for messages.
    """

    __slots__ = ("name", "needs_pipeline", "run")

    def __init__(self, name: str, run: Callable[[Callable[[], int]], int], *,
                 needs_pipeline: bool = True) -> None:
        self.name = name
        self.run = run
        self.needs_pipeline = needs_pipeline

    def __repr__(self) -> str:
        return f"<ProcessRole {self.name}>"


__all__ = ["ProcessRole"]

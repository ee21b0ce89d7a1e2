"""Entry point of outflow-multiprocessing: registers the backend lazily (no import)."""

from collections.abc import Callable

from outflow.core.plugins import hookimpl


@hookimpl
def outflow_register_backends(register: Callable[..., None]) -> None:
    register(
        "parallel",
        "outflow.multiprocessing.backend:ParallelBackend",
        aliases=("multiprocessing",),
        help="run MapWorkflow items in a pool of processes on this machine",
    )

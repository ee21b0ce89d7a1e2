"""Entry point of outflow-slurm: registers the backend lazily (no import)."""

from collections.abc import Callable

from outflow.core.plugins import hookimpl


@hookimpl
def outflow_register_backends(register: Callable[..., None]) -> None:
    register(
        "slurm",
        "outflow.slurm.backend:SlurmBackend",
        help="run MapWorkflow items as Slurm job arrays",
    )

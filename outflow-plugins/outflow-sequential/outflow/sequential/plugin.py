"""Entry point of outflow-sequential: registers the backend lazily (no engine import)."""

from outflow.core.plugins import hookimpl


@hookimpl
def outflow_register_backends(register):
    register(
        "default",
        "outflow.sequential.backend:SequentialBackend",
        aliases=("sequential",),
        help="run tasks one after the other in this process",
    )

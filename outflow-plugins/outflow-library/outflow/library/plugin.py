"""Entry point of outflow-library: registers its blocks lazily (nothing is imported).

``outflow plugins list`` shows them; ``context.host.resolve("blocks", name)``
resolves them by name. User code imports them from ``outflow.library.tasks``.
"""

from collections.abc import Callable

from outflow.core.plugins import hookimpl

_BLOCKS = (
    ("MapWorkflow", "outflow.library.map_workflow:MapWorkflow",
     "run a workflow once per item of a sequence, on the active backend"),
    ("SlurmMapWorkflow", "outflow.library.map_workflow:SlurmMapWorkflow",
     "a MapWorkflow taking sbatch directives (runs on every backend)"),
    ("IfThenElse", "outflow.library.branching:IfThenElse",
     "split a workflow into two branches chosen by a condition"),
    ("IfElse", "outflow.library.branching:IfElse", "alias of IfThenElse"),
    ("MergeTask", "outflow.library.branching:MergeTask",
     "merge branches: pass on the only non-Skipped values"),
    ("LoopWorkflow", "outflow.library.loops:LoopWorkflow",
     "repeat a workflow N times, or until exit_pipeline()"),
    ("IterativeWorkflow", "outflow.library.loops:IterativeWorkflow",
     "repeat a workflow, feeding its outputs back as inputs, until break_func"),
    ("InteractiveTask", "outflow.library.interactive:InteractiveTask",
     "open a Python shell on the values flowing between two tasks"),
    ("IPythonTask", "outflow.library.interactive:IPythonTask", "alias of InteractiveTask"),
)


@hookimpl
def outflow_register_blocks(register: Callable[..., None]) -> None:
    for name, target, summary in _BLOCKS:
        register(name, target, help=summary)

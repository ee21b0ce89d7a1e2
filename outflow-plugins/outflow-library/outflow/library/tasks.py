"""Every block of the standard library, importable as ``outflow.library.tasks``.

The user guide imports the same blocks from ``outflow.library.tasks`` and from
``outflow.library.workflows`` (once ``workflow``), so all of those name all of
them: which one a user picks does not matter.
"""

from outflow.core.types import Skipped
from outflow.library.branching import IfElse, IfThenElse, MergeTask
from outflow.library.interactive import InteractiveTask, IPythonTask
from outflow.library.loops import ExitPipeline, IterativeWorkflow, LoopWorkflow, exit_pipeline
from outflow.library.map_workflow import MapItemError, MapWorkflow, SlurmMapWorkflow

__all__ = [
    "ExitPipeline",
    "IPythonTask",
    "IfElse",
    "IfThenElse",
    "InteractiveTask",
    "IterativeWorkflow",
    "LoopWorkflow",
    "MapItemError",
    "MapWorkflow",
    "MergeTask",
    "Skipped",
    "SlurmMapWorkflow",
    "exit_pipeline",
]

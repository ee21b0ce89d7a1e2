"""Workflows: ``Workflow`` and ``as_workflow``.

``from outflow.core.workflow import Workflow, as_workflow``. Validation lives in
:mod:`~outflow.core.workflow.graph`, execution in :mod:`~outflow.core.workflow.engine`,
the on-disk cache in :mod:`~outflow.core.workflow.cache`.

``execute`` and ``Hooks`` run a plan, and the cache names below file results, for
plugins that run workflows their own way (the library's ``MapWorkflow``). The cache is
imported on first use: hashing and pickling are for workflows declared ``cache=True``.
"""

from outflow.core import lazy_exports
from outflow.core.workflow.engine import Hooks, execute
from outflow.core.workflow.plan import Plan, Step
from outflow.core.workflow.workflow import Workflow, WorkflowFactory, as_workflow

__all__ = [
    "CacheKeyError",
    "Hooks",
    "Plan",
    "Step",
    "Workflow",
    "WorkflowCache",
    "WorkflowFactory",
    "as_workflow",
    "cache_directory",
    "cache_key",
    "execute",
]

__getattr__ = lazy_exports(globals(), {
    "outflow.core.workflow.cache": ("CacheKeyError", "WorkflowCache", "cache_directory",
                                    "cache_key"),
})

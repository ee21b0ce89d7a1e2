"""Workflows: ``Workflow`` and ``as_workflow``.

``from outflow.core.workflow import Workflow, as_workflow``. Validation lives in
:mod:`~outflow.core.workflow.graph`, execution in :mod:`~outflow.core.workflow.engine`,
the on-disk cache in :mod:`~outflow.core.workflow.cache`.
"""

from outflow.core.workflow.plan import Plan, Step
from outflow.core.workflow.workflow import Workflow, WorkflowFactory, as_workflow

__all__ = ["Plan", "Step", "Workflow", "WorkflowFactory", "as_workflow"]

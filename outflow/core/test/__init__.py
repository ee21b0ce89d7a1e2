"""Test helpers for pipelines and plugins: ``TaskTestCase``, ``CommandTestCase``...

``from outflow.core.test import TaskTestCase`` is what the tutorial writes. The
classes live in :mod:`outflow.core.test.test_cases` and
:mod:`outflow.core.test.backend_contract`, imported on first access so that importing
this package costs nothing (and pytest is imported only by tests). The pytest plugin
:mod:`outflow.core.test.pytest_plugin` (registered with the ``pytest11`` entry point)
provides the fixtures ``with_pipeline_context_manager``, ``postgresql_fixture`` and
``outflow_postgres_server``.
"""

from outflow.core import lazy_exports

__all__ = [
    "BackendContract",
    "CommandTestCase",
    "PostgresCommandTestCase",
    "TaskTestCase",
    "make_test_context",
]

__getattr__ = lazy_exports(globals(), {
    "outflow.core.test.test_cases": ("CommandTestCase", "PostgresCommandTestCase",
                                     "TaskTestCase", "make_test_context"),
    "outflow.core.test.backend_contract": ("BackendContract",),
})

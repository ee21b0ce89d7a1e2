"""Test helpers for pipelines and plugins: ``TaskTestCase``, ``CommandTestCase``...

``from outflow.core.test import TaskTestCase`` is what the tutorial writes. The
classes live in :mod:`outflow.core.test.test_cases`, imported on first access so
that importing this package costs nothing (and pytest is imported only by tests).
The pytest plugin :mod:`outflow.core.test.pytest_plugin` (registered with the
``pytest11`` entry point) provides the fixtures ``with_pipeline_context_manager``,
``postgresql_fixture`` and ``outflow_postgres_server``.
"""

from typing import Any

__all__ = ["CommandTestCase", "PostgresCommandTestCase", "TaskTestCase"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from outflow.core.test import test_cases

        return getattr(test_cases, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

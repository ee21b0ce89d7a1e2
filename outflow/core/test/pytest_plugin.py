"""outflow's pytest plugin (entry point ``pytest11``): fixtures for pipeline tests.

Loaded by every pytest run once outflow-management is installed, so it only imports what the
fixtures need: no SQLAlchemy, no database, no pipeline until a fixture is used.
"""

import pytest

# The helpers' own asserts give pytest's detailed messages too.
pytest.register_assert_rewrite("outflow.core.test.test_cases")

from outflow.core.test.test_cases import (  # noqa: E402
    outflow_postgres_server,
    postgresql_fixture,
    with_pipeline_context_manager,
)

__all__ = ["outflow_postgres_server", "postgresql_fixture", "with_pipeline_context_manager"]

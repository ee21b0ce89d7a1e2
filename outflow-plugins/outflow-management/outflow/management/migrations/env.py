"""Alembic environment of outflow: everything is prepared by ``outflow.management.migrate``."""

from alembic import context

from outflow.management.migrate import run_environment

run_environment(context)

#!/usr/bin/env bash
# Set up .venv from this checkout and run the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh .venv
# The services the tests run against: installed here, started and stopped by the tests
# themselves (a throwaway PostgreSQL server, a one-node Slurm cluster, a headless browser).
scripts/services/postgres.sh install
scripts/services/slurm.sh install
scripts/services/browser.sh install  # Chromium for the dashboard's browser tests
# Installed above: a test that cannot start them fails instead of being skipped.
export OUTFLOW_TEST_REQUIRE_SERVICES=1
.venv/bin/ruff check .
.venv/bin/python -m pytest -q "$@"

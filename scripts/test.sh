#!/usr/bin/env bash
# Set up .venv from this checkout and run the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh .venv
scripts/services/postgres.sh install   # the database tests start their own throwaway server
.venv/bin/ruff check .
.venv/bin/python -m pytest -q "$@"

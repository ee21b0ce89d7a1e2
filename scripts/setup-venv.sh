#!/usr/bin/env bash
# Create .venv (if needed) and install the kernel and every plugin of this checkout into it,
# editable, with the test tools. Usage: scripts/setup-venv.sh [VENV_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
PYTHON=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
# Build tools first: the local distributions are then installed without build isolation.
"$VENV/bin/python" -m pip install -q "hatchling>=1.27" editables
packages=(-e ".[test]")
for plugin in outflow-plugins/*/; do
    packages+=(-e "$plugin")
done
"$VENV/bin/python" -m pip install -q --no-build-isolation "${packages[@]}"

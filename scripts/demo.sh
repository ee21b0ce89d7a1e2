#!/usr/bin/env bash
# The tutorial's part 1 and 2, end to end, in a temporary directory:
# create a pipeline, create the plugin tuto.data_reduction in it, list the plugin in
# settings.py, then run its hello command and its example workflow.
# Usage: scripts/demo.sh   (sets up .venv with scripts/setup-venv.sh first)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
scripts/setup-venv.sh .venv
PYTHON="$REPO/.venv/bin/python"
OUTFLOW="$REPO/.venv/bin/outflow"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

run() { echo "+ $*"; "$@"; }

run "$OUTFLOW" management create pipeline demo_pipeline
cd demo_pipeline
run "$OUTFLOW" management create plugin tuto.data_reduction --plugin_dir plugins/data_reduction
echo "+ add 'tuto.data_reduction' to PLUGINS in settings.py"
"$PYTHON" -c "import pathlib; p = pathlib.Path('settings.py'); p.write_text(p.read_text().replace(\"    'outflow.management',\n\", \"    'outflow.management',\n    'tuto.data_reduction',\n\", 1))"
grep -q "'tuto.data_reduction'" settings.py

run "$PYTHON" manage.py data_reduction
run "$PYTHON" manage.py compute_data
echo "demo: OK"

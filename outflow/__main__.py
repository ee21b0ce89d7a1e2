"""``python -m outflow``: the same command line as the ``outflow`` script."""

import sys

from outflow.core.cli.main import run

if __name__ == "__main__":
    sys.exit(run(prog_name="python -m outflow"))

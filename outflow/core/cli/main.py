"""Entry point of the ``outflow`` script and of ``python -m outflow``."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def run(argv: Sequence[str] | None = None, prog_name: str = "outflow") -> int:
    """Run the command line in the pipeline found from the working directory.

    Run by the shell's completion script (``_OUTFLOW_COMPLETE`` set), complete instead:
    see :func:`outflow.core.cli.app.complete_command_line`.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--version"]:  # answered before any plugin or pipeline is loaded
        from outflow.core import __version__

        print(f"outflow {__version__}")
        return 0
    from outflow.core.cli.app import complete_command_line, completion_instruction

    instruction = completion_instruction(prog_name)
    if instruction is not None:
        return complete_command_line(prog_name, instruction)
    from outflow.core.pipeline.pipeline import Pipeline

    with Pipeline(argv=argv, prog_name=prog_name) as pipeline:
        return pipeline.run()


def main() -> None:
    sys.exit(run())

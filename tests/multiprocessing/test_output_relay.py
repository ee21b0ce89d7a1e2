"""On a terminal, the parallel backend's workers write their log lines through the
driver, above the progress bar: no line of theirs lands in the middle of the bar.
Run in a real pseudo-terminal, as a person at a terminal would see it."""

import re
import sys

import pytest

COMMANDS = '''
import time

from outflow.core.commands import Command, RootCommand
from outflow.core.logging import logger
from outflow.core.tasks import as_task
from outflow.library.workflows import MapWorkflow


@as_task
def Values() -> {"value_array": list}:
    return list(range(16))


@as_task
def Slow(value: int) -> {"out": int}:
    time.sleep(0.1)
    logger.warning(f"worker says {value}")
    return value


@RootCommand.subcommand()
class Logs(Command):
    def setup_tasks(self):
        Values() | MapWorkflow(Slow(), name="slow_map")
'''

#: A drawing of the bar (``\\r`` text, erase to the end) or an erase alone.
BAR_OR_ERASE = re.compile(r"\r(?:workflow slow_map \[[^\r\n]*?)?\x1b\[K")


@pytest.mark.parametrize("backend", ["parallel", "default"])
def test_worker_log_lines_are_written_above_the_bar(make_pipeline, in_a_terminal,
                                                   backend) -> None:
    root = make_pipeline(plugins=["relaydemo"], files={"relaydemo/__init__.py": "",
                                                       "relaydemo/commands.py": COMMANDS})
    output = in_a_terminal([sys.executable, "-m", "outflow", "logs", "-b", backend,
                             "--db-untracked"], root)
    assert "workflow slow_map [########################] 16/16 items" in output
    # Each line starts on a cleared line (the bar erased) or after another line, whole.
    said = re.findall(r"(?:(?<=\r\x1b\[K)|(?<=\r\n)|^)(\d{4}-\d\d-\d\d [\d:,]+ - "
                      r"relaydemo.commands - commands.py:17 - WARNING - worker says \d+)\r\n",
                      output)
    assert len(said) == 16, repr(output)
    lines = BAR_OR_ERASE.sub("", output).split("\r\n")  # the bar's drawings left out
    assert lines[-2].startswith("run succeeded in ") and lines[-1] == ""

"""``MapWorkflow(timeout=...)``: the parallel backend stops an item that runs too long
(its worker process), names it as timed out, and a map that keeps going goes on."""

import time

import pytest

pytestmark = pytest.mark.usefixtures("restore_logging")  # the commands configure logging

COMMANDS = '''
import signal
import time

from outflow.core.commands import Command, RootCommand
from outflow.core.tasks import as_task
from outflow.library.workflows import MapWorkflow


@as_task
def Values() -> {"value_array": list}:
    return list(range(6))


@as_task
def Maybe(value: int) -> {"out": int}:
    if value == 4 and STUBBORN:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only SIGKILL stops it
    time.sleep(60 if value in (1, 4) else 0.05)
    return value


@RootCommand.subcommand()
class Hang(Command):
    def add_arguments(self):
        self.add_argument("--keep", action="store_true")

    def setup_tasks(self):
        from outflow.core.pipeline import context
        Values() | MapWorkflow(Maybe(), name="maybe", timeout=TIMEOUT,
                               keep_going=context.args.keep)
'''


def _pipeline(make_pipeline, timeout: float = 1, stubborn: bool = False):
    source = COMMANDS.replace("TIMEOUT", str(timeout)).replace("STUBBORN", str(stubborn))
    return make_pipeline(plugins=["hanging"], files={"hanging/__init__.py": "",
                                                     "hanging/commands.py": source})


def test_an_item_past_its_timeout_is_stopped_and_named(make_pipeline, run_cli) -> None:
    root = _pipeline(make_pipeline)
    began = time.monotonic()
    code, _out, err = run_cli(["hang", "-b", "parallel", "--db-untracked"], root)
    assert time.monotonic() - began < 30  # not the 60 s the item would take
    assert code == 1
    assert ("item 1 of workflow maybe failed: TimeoutError: it ran longer than its timeout "
            "of 1 s (worker process ") in err, err


@pytest.mark.parametrize("stubborn", [False, True])
def test_a_map_that_keeps_going_counts_timed_out_items_failed_and_goes_on(
        make_pipeline, run_cli, stubborn: bool) -> None:
    root = _pipeline(make_pipeline, stubborn=stubborn)
    began = time.monotonic()
    code, _out, err = run_cli(["hang", "--keep", "-b", "parallel", "--db-untracked"], root)
    assert time.monotonic() - began < 30
    assert code == 1
    assert "2 of 6 items of workflow maybe failed: item 1: TimeoutError: it ran longer than " \
           "its timeout of 1 s" in err, err
    assert "; item 4: TimeoutError: " in err and "(4 of 6 items finished" in err


def test_a_backend_that_cannot_stop_an_item_says_so(make_pipeline, run_cli) -> None:
    root = _pipeline(make_pipeline, timeout=0.001)
    source = (root / "hanging" / "commands.py")
    source.write_text(source.read_text().replace("60 if value in (1, 4) else ", ""))
    code, _out, err = run_cli(["hang", "--db-untracked"], root)
    assert code == 0, err
    assert ("workflow maybe: timeout=0.001s is not enforced by the default backend (it "
            "cannot stop an item alone)") in err


@pytest.mark.parametrize("timeout", [0, -1, "soon", True])
def test_a_bad_timeout_is_refused_naming_the_map(make_pipeline, run_cli, timeout) -> None:
    root = _pipeline(make_pipeline, timeout=repr(timeout))
    code, _out, err = run_cli(["hang", "--db-untracked"], root)
    assert code == 1
    assert "workflow maybe: timeout must be a positive number of seconds" in err, err

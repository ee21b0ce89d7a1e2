"""InteractiveTask with a scripted console, and the progress display of MapWorkflows."""

# ruff: noqa: F821 - outflow's documented output annotations, `-> {"name": type}`,
# are dict literals whose string keys pyflakes mistakes for forward references.

import io
import logging
import sys

import pytest

from outflow.core.backends import Backend
from outflow.core.tasks import as_task
from outflow.core.workflow import Workflow
from outflow.library import interactive, progress
from outflow.library.progress import MapProgress
from outflow.library.tasks import InteractiveTask, IPythonTask, MapWorkflow

SEEN: list[str] = []


@as_task
def TaskA() -> {"some_output": str}:
    value = "some_value"
    return {"some_output": value}


@as_task
def TaskB(some_output: str) -> {"seen": str}:
    SEEN.append(some_output)
    return some_output


@pytest.fixture
def console_input(monkeypatch):
    """Script the console: each line is typed, then EOF (Ctrl-D)."""

    def feed(*lines: str) -> io.StringIO:
        stdin = io.StringIO("".join(line + "\n" for line in lines))
        monkeypatch.setattr(sys, "stdin", stdin)
        return stdin

    return feed


@pytest.mark.parametrize("shell", ["console", "auto"])
def test_edits_to_kwargs_pass_on_to_the_next_task(pipeline, console_input, capsys,
                                                  monkeypatch, shell):
    if shell == "auto":  # without IPython, "auto" falls back on the standard console
        monkeypatch.setattr(interactive, "_ipython_available", lambda: False)
    SEEN.clear()
    console_input("print(sorted(kwargs))", 'kwargs["some_output"] = "some_other_value"')
    with Workflow(name="some_command") as top:
        a = TaskA()
        b = TaskB()
        intepreter = InteractiveTask(shell=shell)
        a | intepreter | b
    assert Backend(pipeline).run(top) == [{"seen": "some_other_value"}]
    assert SEEN == ["some_other_value"]
    captured = capsys.readouterr()
    assert "['some_output']" in captured.out
    assert "|> " in captured.out  # the prompt
    assert "You are inside an outflow interactive task" in captured.err
    assert "now exiting InteractiveConsole..." in captured.err


def test_rebinding_kwargs_and_pass_through_without_input(pipeline, console_input):
    console_input('kwargs = {"some_output": "replaced"}')
    assert InteractiveTask(shell="console")(some_output="x") == {"some_output": "replaced"}
    console_input()  # EOF at once: values pass unchanged
    assert IPythonTask(shell="console")(some_output="x") == {"some_output": "x"}


def test_ipython_is_used_when_installed(pipeline, monkeypatch):
    calls = []
    monkeypatch.setattr(interactive, "_ipython_available", lambda: True)
    monkeypatch.setattr(interactive, "_ipython_shell",
                        lambda namespace: calls.append(sorted(namespace)))
    assert InteractiveTask()(some_output="x") == {"some_output": "x"}
    assert calls == [["kwargs", "task"]]
    monkeypatch.setattr(interactive, "_ipython_available", lambda: False)
    with pytest.raises(RuntimeError, match="IPython is not installed"):
        InteractiveTask(shell="ipython")(some_output="x")
    with pytest.raises(ValueError, match="shell must be one of"):
        InteractiveTask(shell="bash")


# ------------------------------------------------------------------- progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal_environment(monkeypatch):
    """A terminal that takes bars, whatever the environment the tests run in."""
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("OUTFLOW_PROGRESS", raising=False)


def test_bar_is_redrawn_in_place_on_a_terminal(monkeypatch, terminal_environment):
    monkeypatch.setattr(progress, "REDRAW_INTERVAL", 0.0)
    stream = FakeTerminal()
    bar = MapProgress(4, "workflow process", stream=stream)
    bar.advance(1)
    bar.advance(1, failed=1)
    bar.advance(2)
    bar.close()
    text = stream.getvalue()
    lines = text.split("\r")[1:]
    assert len(lines) == 4 and text.endswith("\n") and text.count("\n") == 1
    assert "workflow process [######------------------] 1/4 items, 0 failed" in lines[0]
    assert "2/4 items, 1 failed" in lines[1] and "left" in lines[1]
    assert "[########################] 4/4 items, 1 failed" in lines[3]


@pytest.mark.parametrize(("variable", "value"), [("OUTFLOW_PROGRESS", "0"),
                                                 ("OUTFLOW_PROGRESS", "off"),
                                                 ("TERM", "dumb")])
def test_no_bar_when_the_environment_says_so(monkeypatch, terminal_environment, variable,
                                             value):
    monkeypatch.setenv(variable, value)
    bar = MapProgress(4, "workflow process", stream=FakeTerminal())
    assert not bar.tty
    bar.close()


def test_no_bar_with_no_progress(pipeline, terminal_environment, tmp_path):
    pipeline.no_progress = True
    assert not MapProgress(4, "workflow process", stream=FakeTerminal()).tty
    pipeline.no_progress = False
    assert MapProgress(4, "workflow process", stream=FakeTerminal()).tty
    from outflow.core.pipeline import Pipeline

    (tmp_path / "settings.py").write_text("PLUGINS = []\n")
    with Pipeline(root_directory=tmp_path, argv=["plugins", "list", "--no-progress"]) as made:
        assert made.context.no_progress is True


def test_only_the_outermost_map_draws(monkeypatch, terminal_environment, caplog):
    from outflow.core.backends import Item
    from outflow.core.backends.items import enter_item, leave_item

    monkeypatch.setattr(progress, "QUIET_BELOW", 0.0)
    outer = MapProgress(2, "workflow outer", stream=FakeTerminal())
    token = enter_item(Item({}, 0))  # what run_item does for the outer map's item
    try:
        inner = MapProgress(3, "workflow inner", stream=FakeTerminal())
    finally:
        leave_item(token)
    assert outer.tty and not outer.nested and not inner.tty and inner.nested
    with caplog.at_level(logging.DEBUG, logger="outflow.library.progress"):
        inner.advance(3)
        inner.close()
    assert caplog.records and {record.levelno for record in caplog.records} == {
        logging.DEBUG}


def test_log_lines_when_not_on_a_terminal(monkeypatch, caplog):
    monkeypatch.setattr(progress, "QUIET_BELOW", 0.0)
    bar = MapProgress(20, "workflow process", stream=io.StringIO())
    assert not bar.tty
    with caplog.at_level(logging.INFO, logger="outflow.library.progress"):
        for _ in range(20):
            bar.advance(1)
        bar.close()
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0].startswith("workflow process: 2/20 items, 0 failed")
    assert len(messages) == 10  # every tenth; the last one is the summary (said once)
    assert messages[-1].startswith("workflow process: 20/20 items")


def test_a_short_map_logs_nothing(caplog):
    bar = MapProgress(3, "workflow quick", stream=io.StringIO())
    with caplog.at_level(logging.INFO, logger="outflow.library.progress"):
        bar.advance(3)
        bar.close()
    assert caplog.records == []


def test_a_map_feeds_its_progress(pipeline, monkeypatch):
    seen = []

    class Recording(MapProgress):
        def close(self):
            seen.append((self.total, self.done, self.failed))
            super().close()

    monkeypatch.setattr(progress, "MapProgress", Recording)

    @as_task
    def Square(value: int) -> {"square": int}:
        return value * value

    @MapWorkflow.as_workflow(cache=True)
    def squares():
        Square()

    assert squares()(value_array=[1, 2, 3])["map_square"][2] == [{"square": 9}]
    assert squares()(value_array=[1, 2, 3, 4])["map_square"][3] == [{"square": 16}]
    assert seen == [(3, 3, 0), (4, 4, 0)]  # cached items count as done


def test_the_text_gives_the_rate_and_leaves_cached_items_out_of_it() -> None:
    bar = MapProgress(10, "workflow process", stream=io.StringIO())
    bar.skip(6)  # read from the cache at once
    bar.advance(2)
    text = bar.text(now=bar.start + 4.0)  # 2 items ran in 4 s
    assert text == ("8/10 items, 0 failed, 2.0 s/item, 00:04 elapsed, ~00:04 left")
    bar.advance(2)
    assert bar.text(now=bar.start + 0.02).startswith("10/10 items, 0 failed, 200 items/s, ")
    assert "left" not in bar.text(now=bar.start + 0.02)
    fresh = MapProgress(3, "workflow process", stream=io.StringIO())
    assert fresh.text(now=fresh.start + 1) == "0/3 items, 0 failed, 00:01 elapsed"

"""``as_task(retries=N, retry_delay=s)``: a task whose code raises runs again; each
attempt fires the block hooks; type errors are never retried."""

# ruff: noqa: F821 - outflow's documented output annotations, `-> {"name": type}`,
# are dict literals whose string keys pyflakes mistakes for forward references.

import logging

import pytest
from test_backend import Recorder

from outflow.core.pipeline.context import PipelineContext, activate
from outflow.core.plugins.host import LoadOptions, PluginHost
from outflow.core.runs import RunInfo
from outflow.core.tasks import TaskError, TaskTypeError, as_task
from outflow.core.workflow import Workflow
from outflow.sequential.backend import SequentialBackend

ATTEMPTS: list[int] = []


@pytest.fixture
def recorded():
    ATTEMPTS.clear()
    host = PluginHost(LoadOptions(autoload=False))
    recorder = Recorder()
    host.pm.register(recorder, name="recorder")
    with activate(PipelineContext(config={}, host=host)) as context:
        yield context, recorder


@as_task(retries=2, retry_delay=0.01)
def Flaky() -> {"value": int}:
    ATTEMPTS.append(1)
    if len(ATTEMPTS) < 3:
        raise ConnectionError(f"attempt {len(ATTEMPTS)} lost the server")
    return 42


@as_task(retries=1)
def Hopeless() -> {"value": int}:
    ATTEMPTS.append(1)
    raise ConnectionError("down")


@as_task(retries=3)
def Mistyped() -> {"value": int}:
    ATTEMPTS.append(1)
    return "not an int"


def _run(context, task_class):
    with Workflow(name="top") as top:
        task_class()
    return SequentialBackend(context).run(top, RunInfo(command="top"))


def test_a_task_that_fails_twice_then_succeeds(recorded, caplog) -> None:
    context, recorder = recorded
    with caplog.at_level(logging.WARNING, logger="outflow.core.workflow"):
        assert _run(context, Flaky) == [{"value": 42}]
    assert len(ATTEMPTS) == 3
    states = [event[0] for event in recorder.events if event[1] == "flaky"]
    assert states == ["started", "failed", "started", "failed", "started", "succeeded"]
    assert [record.getMessage() for record in caplog.records] == [
        "task flaky failed (attempt 1 of 3): ConnectionError: attempt 1 lost the server; "
        "trying again in 0.01 s",
        "task flaky failed (attempt 2 of 3): ConnectionError: attempt 2 lost the server; "
        "trying again in 0.01 s"]


def test_the_last_attempt_s_error_fails_the_task(recorded) -> None:
    context, _recorder = recorded
    with pytest.raises(TaskError, match="task hopeless failed: ConnectionError: down"):
        _run(context, Hopeless)
    assert len(ATTEMPTS) == 2


def test_a_type_error_is_never_retried(recorded) -> None:
    context, _recorder = recorded
    with pytest.raises(TaskTypeError):
        _run(context, Mistyped)
    assert len(ATTEMPTS) == 1


@pytest.mark.parametrize(("options", "message"), [
    ({"retries": -1}, "retries must be a positive integer or 0, got -1"),
    ({"retries": True}, "retries must be a positive integer or 0, got True"),
    ({"retries": 1, "retry_delay": -2}, "retry_delay must be a number of seconds >= 0"),
])
def test_bad_retry_options_are_refused(options, message) -> None:
    with pytest.raises(ValueError, match=message):
        as_task(**options)(lambda: None)

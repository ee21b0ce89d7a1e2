"""Tests of outflow.core.logging: the module logger and the configuration of logging."""

from __future__ import annotations

import importlib
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from outflow.core.configuration.secrets import (
    MASK,
    forget_registered_secrets,
    register_secrets,
)
from outflow.core.logging import (
    LOG_FORMAT,
    ModuleLogger,
    SecretFilter,
    configure_logging,
    default_logging_config,
    is_debug,
    logger,
)
from outflow.core.pipeline.context import PipelineContext, activate

TIMESTAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """Undo what a test's ``configure_logging`` did to the process-wide logging state.

    Handlers made by ``dictConfig`` carry a name (``console``, ``file``); pytest's own
    capture handlers do not, so removing the named ones leaves pytest's plumbing alone.
    """
    manager = logging.Logger.manager
    root = logging.getLogger()
    saved = {
        name: (item.level, item.propagate, item.disabled, list(item.handlers))
        for name, item in manager.loggerDict.items()
        if isinstance(item, logging.Logger)
    }
    saved_root = (root.level, list(root.handlers))
    yield
    loggers = [root] + [i for i in manager.loggerDict.values() if isinstance(i, logging.Logger)]
    for item in loggers:
        before = saved_root[1] if item is root else saved.get(item.name, (0, 0, 0, []))[3]
        for handler in list(item.handlers):
            if handler.get_name() is not None and handler not in before:
                item.removeHandler(handler)
                handler.close()
    root.setLevel(saved_root[0])
    for name, item in manager.loggerDict.items():
        if not isinstance(item, logging.Logger):
            continue
        level, propagate, disabled, _ = saved.get(name, (logging.NOTSET, True, False, []))
        item.setLevel(level)
        item.propagate = propagate
        item.disabled = disabled


def _write_caller_module(root: Path) -> None:
    package = root / "tuto" / "data_reduction"
    package.mkdir(parents=True)
    (root / "tuto" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "tasks.py").write_text(
        "from outflow.core.logging import logger\n"
        "\n"
        "\n"
        "def compute():\n"
        '    logger.info("Result of the computation: %d", 168)\n'
    )


@pytest.fixture
def tasks_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A module ``tuto.data_reduction.tasks`` that logs, as in the documentation."""
    _write_caller_module(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        yield importlib.import_module("tuto.data_reduction.tasks")
    finally:
        for name in ("tuto.data_reduction.tasks", "tuto.data_reduction", "tuto"):
            sys.modules.pop(name, None)


# ------------------------------------------------------------------- module logger


def test_record_carries_the_caller_module_and_position(
    tasks_module: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    tasks_module.compute()  # type: ignore[attr-defined]
    [record] = caplog.records
    assert record.name == "tuto.data_reduction.tasks"
    assert (record.filename, record.lineno, record.funcName) == ("tasks.py", 5, "compute")
    assert record.getMessage() == "Result of the computation: 168"
    line = logging.Formatter(LOG_FORMAT).format(record)
    assert re.fullmatch(
        rf"{TIMESTAMP} - tuto\.data_reduction\.tasks - tasks\.py:5 - INFO - "
        r"Result of the computation: 168",
        line,
    )


def test_every_level_points_at_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    first = sys._getframe().f_lineno + 1
    logger.debug("d")
    logger.info("i")
    logger.warning("w")
    logger.error("e")
    logger.critical("c")
    logger.log(logging.INFO, "l %s", "x")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("x")
    records = caplog.records
    assert [r.levelname for r in records] == [
        "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "INFO", "ERROR"
    ]  # fmt: skip
    assert {r.name for r in records} == {__name__}
    assert {r.filename for r in records} == {Path(__file__).name}
    assert [r.lineno for r in records] == [first + i for i in range(6)] + [first + 9]
    assert records[5].getMessage() == "l x"
    assert records[6].exc_info is not None and records[6].exc_info[0] is RuntimeError


def test_stacklevel_of_the_caller_is_honoured(caplog: pytest.LogCaptureFixture) -> None:
    def helper() -> None:
        logger.warning("from helper", stacklevel=2)

    caplog.set_level(logging.WARNING)
    line = sys._getframe().f_lineno + 1
    helper()
    assert caplog.records[0].lineno == line


def test_levels_are_per_module(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    logging.getLogger(__name__).setLevel(logging.ERROR)
    assert not logger.isEnabledFor(logging.WARNING)
    assert logger.isEnabledFor(logging.ERROR)
    logger.warning("hidden")
    logger.error("shown")
    assert [r.getMessage() for r in caplog.records] == ["shown"]


def test_logger_is_a_module_logger() -> None:
    assert isinstance(logger, ModuleLogger)
    assert not hasattr(logger, "__dict__")  # slots: nothing per instance to keep


# -------------------------------------------------------------------- configuration


def test_default_config_is_a_fresh_copy() -> None:
    config = default_logging_config()
    assert config["version"] == 1
    assert config["disable_existing_loggers"] is False
    assert config["formatters"]["outflow"]["format"] == LOG_FORMAT
    assert config["handlers"]["file"]["delay"] is True
    assert config["root"] == {"level": "INFO", "handlers": ["console"]}
    config["root"]["handlers"].append("file")
    assert default_logging_config()["root"]["handlers"] == ["console"]


def test_configure_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    configure_logging()
    root = logging.getLogger()
    assert root.level == logging.INFO
    assert not is_debug()
    [console] = root.handlers
    assert isinstance(console, logging.StreamHandler)
    assert console.formatter is not None and console.formatter._fmt == LOG_FORMAT
    line = sys._getframe().f_lineno + 1
    logger.info("hello %s", "world")
    logger.debug("not shown")
    err = capsys.readouterr().err
    assert re.fullmatch(
        rf"{TIMESTAMP} - {re.escape(__name__)} - test_logging\.py:{line} - INFO - hello world\n",
        err,
    )
    # The file handler is declared with delay=True: no file unless a logger uses it.
    assert not (tmp_path / "outflow.log").exists()


def test_section_is_merged_over_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging({"loggers": {"my_plugin": {"level": "DEBUG", "handlers": ["console"]}}})
    plugin = logging.getLogger("my_plugin")
    assert plugin.level == logging.DEBUG
    [handler] = plugin.handlers
    assert handler.get_name() == "console"
    assert handler.formatter is not None and handler.formatter._fmt == LOG_FORMAT
    root = logging.getLogger()
    assert root.level == logging.INFO
    assert [h.get_name() for h in root.handlers] == ["console"]
    plugin.propagate = False
    plugin.debug("plugin detail")
    assert " - my_plugin - test_logging.py:" in capsys.readouterr().err


def test_section_can_override_the_format_and_use_lowercase_levels() -> None:
    configure_logging(
        {"formatters": {"outflow": {"format": "%(message)s"}}, "root": {"level": "warning"}}
    )
    root = logging.getLogger()
    assert root.level == logging.WARNING
    assert root.handlers[0].formatter is not None
    assert root.handlers[0].formatter._fmt == "%(message)s"


@pytest.mark.parametrize("level", ["DEBUG", "debug", " Debug "])
def test_command_line_level_wins_everywhere(level: str) -> None:
    section = {"loggers": {"my_plugin": {"level": "WARNING"}, "other": {"level": "ERROR"}}}
    configure_logging(section, level=level)
    assert logging.getLogger().level == logging.DEBUG
    assert logging.getLogger("my_plugin").level == logging.DEBUG
    assert logging.getLogger("other").level == logging.DEBUG
    assert is_debug()
    assert section == {"loggers": {"my_plugin": {"level": "WARNING"}, "other": {"level": "ERROR"}}}


def test_command_line_level_without_section() -> None:
    configure_logging(level="error")
    assert logging.getLogger().level == logging.ERROR
    assert not is_debug()


def test_invalid_level_is_a_one_line_error() -> None:
    root_level = logging.getLogger().level
    with pytest.raises(ValueError) as info:
        configure_logging(level="LOUD")
    message = str(info.value)
    assert "\n" not in message
    assert "'LOUD'" in message
    for name in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        assert name in message
    assert logging.getLogger().level == root_level  # nothing was configured


def test_file_handler_writes_when_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    configure_logging(
        {"loggers": {"my_plugin": {"level": "INFO", "handlers": ["file"], "propagate": False}}}
    )
    assert not (tmp_path / "outflow.log").exists()
    logging.getLogger("my_plugin").info("written to the file")
    for handler in logging.getLogger("my_plugin").handlers:
        handler.flush()
    content = (tmp_path / "outflow.log").read_text()
    assert re.fullmatch(
        rf"{TIMESTAMP} - my_plugin - test_logging\.py:\d+ - INFO - written to the file\n",
        content,
    )


# ------------------------------------------------------------------ secrets


SECRET = "s3cr3t-T0ken"
SECRET_CONFIG = {"plugins": {"vault": {"api_token": SECRET}}}


@pytest.fixture
def secret_pipeline() -> Iterator[PipelineContext]:
    """An active pipeline whose configuration holds :data:`SECRET` under ``api_token``."""
    forget_registered_secrets()
    with activate(PipelineContext(config=SECRET_CONFIG)) as pipeline_context:
        yield pipeline_context
    forget_registered_secrets()


def _handler_filters(name: str) -> list[list[logging.Filter]]:
    return [handler.filters for handler in logging.getLogger(name).handlers]


def test_every_configured_handler_gets_the_secret_filter() -> None:
    class Mine(logging.Filter):
        pass

    configure_logging({
        "filters": {"mine": {"()": Mine}},
        "handlers": {"mine": {"class": "logging.StreamHandler", "filters": ["mine"]}},
        "loggers": {"my_plugin": {"handlers": ["mine", "file"], "propagate": False}},
    })
    [[console]] = _handler_filters("")
    assert isinstance(console, SecretFilter)
    mine, file = _handler_filters("my_plugin")
    assert [type(item) for item in mine] == [Mine, SecretFilter]
    assert [type(item) for item in file] == [SecretFilter]


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_secrets_logged_by_a_task_are_masked(
    secret_pipeline: PipelineContext, capsys: pytest.CaptureFixture[str], level: str
) -> None:
    configure_logging(level=level)
    token = secret_pipeline.config["plugins"]["vault"]["api_token"]
    logger.info(f"info token {token}")
    logger.debug("debug token %s", token)
    logger.warning("url %s", "postgresql://bob:runtime-pw@db/runs")
    err = capsys.readouterr().err
    assert SECRET not in err and "runtime-pw" not in err
    assert f"INFO - info token {MASK}\n" in err
    assert f"WARNING - url postgresql://bob:{MASK}@db/runs\n" in err
    assert (f"DEBUG - debug token {MASK}\n" in err) == (level == "DEBUG")


def test_a_traceback_logged_with_exception_is_masked(
    secret_pipeline: PipelineContext, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging()
    try:
        try:
            raise KeyError(f"cause {SECRET}")
        except KeyError as cause:
            raise ValueError(f"cannot connect with {SECRET}") from cause
    except ValueError:
        logger.exception("failed with %s", SECRET)
    err = capsys.readouterr().err
    assert SECRET not in err
    assert f"ERROR - failed with {MASK}\nTraceback (most recent call last):" in err
    assert f"KeyError: 'cause {MASK}'" in err
    assert f"ValueError: cannot connect with {MASK}" in err


def test_a_registered_secret_is_masked_outside_a_pipeline(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging()
    try:
        register_secrets("from-the-vault")
        logger.warning("got from-the-vault")
    finally:
        forget_registered_secrets()
    assert capsys.readouterr().err.endswith(f"WARNING - got {MASK}\n")


def _record(msg: object, *args: object, **attributes: Any) -> logging.LogRecord:
    record = logging.LogRecord("test", logging.INFO, __file__, 1, msg, args or None, None)
    record.__dict__.update(attributes)
    return record


def test_filter_masks_message_args_exception_and_stack(secret_pipeline: PipelineContext) -> None:
    record = _record("token %s", SECRET, stack_info=f"Stack: {SECRET}")
    try:
        raise RuntimeError(SECRET)
    except RuntimeError:
        record.exc_info = sys.exc_info()
    assert SecretFilter().filter(record) is True
    assert (record.msg, record.args) == (f"token {MASK}", ())
    assert record.exc_text is not None and record.exc_text.endswith(f"RuntimeError: {MASK}")
    assert record.stack_info == f"Stack: {MASK}"
    line = logging.Formatter(LOG_FORMAT).format(record)
    assert SECRET not in line and record.exc_text in line


def test_filter_drops_arguments_holding_a_secret_the_message_hides(
    secret_pipeline: PipelineContext,
) -> None:
    record = _record("prefix %.3s", SECRET)
    SecretFilter().filter(record)
    assert (record.msg, record.args) == (f"prefix {SECRET[:3]}", ())
    mapping = _record("%(shown)s", {"shown": "ok", "hidden": SECRET})
    SecretFilter().filter(mapping)
    assert (mapping.msg, mapping.args) == ("ok", ())


def test_filter_leaves_records_without_secrets_alone(secret_pipeline: PipelineContext) -> None:
    record = _record("%d tasks, %s", 3, "done")
    SecretFilter().filter(record)
    assert (record.msg, record.args, record.exc_text) == ("%d tasks, %s", (3, "done"), None)


def test_filter_masks_a_badly_formatted_record(secret_pipeline: PipelineContext) -> None:
    record = _record(f"{SECRET} %d %d", SECRET)
    SecretFilter().filter(record)
    assert (record.msg, record.args) == (f"{MASK} %d %d", (MASK,))


def test_filter_hides_a_record_it_cannot_mask(
    secret_pipeline: PipelineContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(config: object) -> object:
        raise RuntimeError("broken masker")

    monkeypatch.setattr("outflow.core.configuration.secrets.masker_for", broken)
    record = _record("token %s", SECRET, exc_info=(RuntimeError, RuntimeError(SECRET), None))
    assert SecretFilter().filter(record) is True
    assert SECRET not in record.getMessage()
    assert "masking its secrets failed: RuntimeError" in record.getMessage()
    assert (record.args, record.exc_info, record.exc_text) == ((), None, None)

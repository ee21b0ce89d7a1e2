"""Each recorded run's own log file: ``.outflow/logs/run-14.log`` in the pipeline.

Why: the console shows what the configured level lets through, once; a run that
failed last night is looked into the next morning. Every run the database records
(a run with a number, see :attr:`~outflow.core.runs.RunInfo.id`) writes its full log
to a file named after that number, at ``settings.RUN_LOG_LEVEL`` (DEBUG by default),
whatever the console shows. ``management debug`` and ``list_runs`` say where it is.

How:

- the driver opens the file once the run has its number (:func:`open_run_log`, called
  by the kernel after ``outflow_run_started``) and adds a handler for it to the root
  logger. To let DEBUG records reach the file without reaching the console, the
  root logger's level is lowered to the file's and every other handler gets the
  level the root logger had, for the run's duration (:meth:`RunLog.close` puts
  everything back);
- worker processes write to the same file: a forked worker inherits the handler; a
  worker started afresh (spawned, forkserver, an MPI rank, a Slurm job on a node
  sharing the pipeline's directory) opens it again from ``run.log_path``
  (:func:`join_run_log`). The file is opened for appending, so the lines of several
  processes do not overwrite each other; each line carries its process id;
- a file stops growing at ``settings.RUN_LOG_MAX_BYTES``, with a last line saying so
  (a loop logging at DEBUG must not fill the disk); when a run starts, only the
  newest ``settings.RUN_LOG_KEEP`` files are kept (0: no run log at all);
- the configuration's secrets are masked, as on every handler
  (:class:`~outflow.core.logging.SecretFilter`);
- a log file that cannot be written (a read-only directory, a full disk) is a
  warning, never the run's failure.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from outflow.core.logging import SecretFilter

#: The format of the run log's lines: the console's, with the process id (workers).
RUN_LOG_FORMAT = ("%(asctime)s - %(process)d - %(name)s - %(filename)s:%(lineno)d - "
                  "%(levelname)s - %(message)s")
_RUN_LOG_NAME = re.compile(r"^run-(\d+)\.log$")

log = logging.getLogger(__name__)


def run_log_directory(settings: Any) -> Path | None:
    """``<pipeline>/.outflow/logs`` (``settings.RUN_LOG_DIR`` when set); None outside a
    pipeline directory."""
    chosen = getattr(settings, "RUN_LOG_DIR", None)
    if chosen:
        return Path(chosen)
    root = getattr(settings, "ROOT_DIRECTORY", None)
    return Path(root) / ".outflow" / "logs" if root else None


def run_log_path(directory: Path, run_id: int) -> Path:
    """The log file of run ``run_id`` in ``directory``."""
    return directory / f"run-{run_id}.log"


class CappedFileHandler(logging.FileHandler):
    """A file handler that stops writing at ``max_bytes``, saying so on a last line.

    The size is the file's, read after each write (the position of a file opened
    for appending is its end), so the cap holds with several processes writing.
    """

    def __init__(self, path: Path, max_bytes: int) -> None:
        super().__init__(path, mode="a", encoding="utf-8", delay=False)
        self.max_bytes = max_bytes
        self.full = False

    def emit(self, record: logging.LogRecord) -> None:
        if self.full:
            return
        super().emit(record)
        try:
            size = self.stream.tell() if self.stream is not None else 0
        except (OSError, ValueError):
            return
        if self.max_bytes and size >= self.max_bytes:
            self.full = True
            try:
                self.stream.write(f"(log stopped at {size} bytes: settings.RUN_LOG_MAX_BYTES "
                                  f"is {self.max_bytes}; process {os.getpid()})\n")
                self.flush()
            except (OSError, ValueError):
                pass

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        """A write that fails (a full disk) stops this file, with one warning on stderr:
        the run goes on."""
        if self.full:
            return
        self.full = True
        import sys

        error = sys.exc_info()[1]
        sys.stderr.write(f"outflow: warning: the run log {self.baseFilename} stopped: "
                         f"{type(error).__name__}: {error}\n")


class RunLog:
    """The run's log file attached to this process's logging, until :meth:`close`."""

    def __init__(self, path: Path, level: int, max_bytes: int) -> None:
        self.path = path
        self.level = level
        self.handler = CappedFileHandler(path, max_bytes)
        self.handler.setLevel(level)
        self.handler.setFormatter(logging.Formatter(RUN_LOG_FORMAT))
        self.handler.addFilter(SecretFilter())
        self._saved: list[tuple[Any, int]] = []

    @classmethod
    def for_settings(cls, path: Path, settings: Any) -> RunLog:
        """The log file at ``path`` with the level and cap the pipeline's settings ask."""
        return cls(path, _level(settings), int(getattr(settings, "RUN_LOG_MAX_BYTES", 0) or 0))

    def attach(self) -> RunLog:
        """Route every record at :attr:`level` or above to the file; the other handlers
        keep showing what they showed."""
        root = logging.getLogger()
        before = root.getEffectiveLevel()
        if self.level < before:
            for handler in _all_handlers():
                if handler.level < before:
                    self._saved.append((handler, handler.level))
                    handler.setLevel(before)
            self._saved.append((root, root.level))
            root.setLevel(self.level)
        root.addHandler(self.handler)
        return self

    def write(self, level: int, text: str, exc_info: BaseException | None = None) -> None:
        """Write one line to the file only (the run's end, its error with traceback)."""
        record = logging.LogRecord("outflow.run", level, __file__, 0, text, (), None)
        if exc_info is not None:
            record.exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        self.handler.handle(record)  # its filters mask the secrets

    def close(self) -> None:
        """Detach the file and put the levels back."""
        logging.getLogger().removeHandler(self.handler)
        for target, level in reversed(self._saved):
            target.setLevel(level)
        self._saved.clear()
        self.handler.close()


def _all_handlers() -> list[logging.Handler]:
    """Every handler of the root logger and of the loggers made so far."""
    found: dict[int, logging.Handler] = {}
    loggers = [logging.getLogger(), *(value for value in logging.Logger.manager.loggerDict
                                      .values() if isinstance(value, logging.Logger))]
    for each in loggers:
        for handler in each.handlers:
            found.setdefault(id(handler), handler)
    return list(found.values())


def _level(settings: Any) -> int:
    name = str(getattr(settings, "RUN_LOG_LEVEL", "DEBUG") or "DEBUG").upper()
    level = logging.getLevelName(name)
    return level if isinstance(level, int) else logging.DEBUG


def open_run_log(pipeline_context: Any, run: Any) -> RunLog | None:
    """Open and attach the log file of ``run`` in the driver (None: the run has no
    number, run logs are off, or the file cannot be made: then a warning)."""
    settings = pipeline_context.settings
    keep = int(getattr(settings, "RUN_LOG_KEEP", 100) or 0)
    directory = run_log_directory(settings)
    if run.id is None or keep <= 0 or directory is None:
        return None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        prune(directory, keep - 1)  # room for this run's
        run_log = RunLog.for_settings(run_log_path(directory, run.id), settings)
    except OSError as error:
        log.warning("outflow: run %s keeps no log file: %s: %s", run.id,
                    type(error).__name__, error)
        return None
    run.log_path = str(run_log.path)
    return run_log.attach()


def join_run_log(pipeline_context: Any, run: Any) -> RunLog | None:
    """In a worker started afresh, write to the run's log file too (None: it has none
    or it cannot be opened here; the worker's logs then go only where its logging
    configuration sends them)."""
    path = getattr(run, "log_path", None)
    if not path:
        return None
    try:
        return RunLog.for_settings(Path(path), pipeline_context.settings).attach()
    except OSError:
        return None


def prune(directory: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest run logs (by run number) of ``directory``."""
    numbered = []
    for entry in os.scandir(directory):
        match = _RUN_LOG_NAME.match(entry.name)
        if match and entry.is_file(follow_symlinks=False):
            numbered.append((int(match.group(1)), entry.path))
    numbered.sort(reverse=True)
    for _number, path in numbered[max(keep, 0):]:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


__all__ = ["RUN_LOG_FORMAT", "CappedFileHandler", "RunLog", "join_run_log", "open_run_log",
           "prune", "run_log_directory", "run_log_path"]

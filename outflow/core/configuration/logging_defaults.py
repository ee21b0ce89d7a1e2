"""The default logging configuration, kept apart so that reading it imports nothing.

The kernel registers it as the configuration's ``logging`` default (see
``outflow.core.builtin_plugin``); a user's ``logging`` section is merged over it.
"""

from __future__ import annotations

from typing import Any

LOG_FORMAT = "%(asctime)s - %(name)s - %(filename)s:%(lineno)d - %(levelname)s - %(message)s"
"""The format of the ``outflow`` formatter, used by the default handlers."""

SECRET_FILTER = "outflow_secrets"
"""The name under which ``configure_logging`` declares the filter that masks secrets.

It is added to every handler, the user's included; a user's ``filters`` entry of this
name is replaced.
"""


def default_logging_config() -> dict[str, Any]:
    """Return (a fresh copy of) the default :func:`logging.config.dictConfig` mapping.

    ``console`` writes to stderr so that stdout stays free for command output (and
    above a map's progress bar, which it clears and draws again). ``file``
    is declared but used by no logger: a user routes a logger to it from the
    configuration file, and ``delay`` creates ``outflow.log`` only when a record is
    written to it. Existing loggers are not disabled: libraries imported before the
    configuration keep logging.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"outflow": {"format": LOG_FORMAT}},
        "handlers": {
            "console": {
                # a StreamHandler that writes above a progress bar (see status_line)
                "class": "outflow.core.logging.status_line.ConsoleHandler",
                "stream": "ext://sys.stderr",
                "formatter": "outflow",
            },
            "file": {
                "class": "logging.FileHandler",
                "filename": "outflow.log",
                "delay": True,
                "formatter": "outflow",
            },
        },
        "root": {"level": "INFO", "handlers": ["console"]},
    }

"""The kernel's default settings; a pipeline's ``settings.py`` overrides any of them.

Only UPPERCASE names are settings. Keep this module free of heavy imports: it is
read on every start-up.
"""

import os
from typing import Any

from outflow.core.pipeline.settings import Computed


def _temp_dir(settings: Any) -> Any:
    """``.outflow/tmp`` in the pipeline's directory; outside a pipeline, the user's own
    ``$XDG_CACHE_HOME/outflow/tmp`` (never the shared system temporary directory: see
    :mod:`outflow.core.private_directory`)."""
    from pathlib import Path

    root = settings.ROOT_DIRECTORY
    if root:
        return Path(root) / ".outflow" / "tmp"
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                                  ".cache")
    return Path(cache_home) / "outflow" / "tmp"


#: Directory of the pipeline; set from the location of ``settings.py`` / ``manage.py``.
ROOT_DIRECTORY = os.environ.get("PIPELINE_ROOT_DIRECTORY", None)

#: Pipeline plugins: module paths imported by outflow (their ``commands`` module too).
PLUGINS = ["outflow.management"]

#: Temporary files: MapWorkflow payloads, workflow caches. Must be shared between
#: nodes when running on a cluster: by default ``.outflow/tmp`` in the pipeline's
#: directory, which the pipeline template git-ignores. (Computed on first read.)
TEMP_DIR = Computed(_temp_dir)

#: Label of the database holding outflow's own tables and unbound models.
MAIN_DATABASE = "default"

#: Extra backends, ``{"name": "package.module:BackendClass"}``, beside those that
#: installed plugins register.
BACKENDS: dict[str, str] = {}

#: The root command class (or a ``"module:Class"`` path): override for special behaviour.
ROOT_COMMAND_CLASS = "outflow.core.commands:RootCommand"

#: Top-level sections of the configuration file that the pipeline's own code reads
#: (``config["my_section"]``). Sections nothing reads are reported as likely typos
#: (errors with ``--strict``); the kernel's sections, those plugins register defaults
#: for and those named after a backend are known without being listed here.
CONFIG_SECTIONS: list[str] = []

#: Each run recorded in the database writes its full log to ``run-<id>.log`` in
#: ``RUN_LOG_DIR`` (None: ``.outflow/logs`` in the pipeline's directory), at
#: ``RUN_LOG_LEVEL`` whatever the console shows, up to ``RUN_LOG_MAX_BYTES`` per run;
#: only the newest ``RUN_LOG_KEEP`` files are kept (0: no run log).
RUN_LOG_DIR: str | None = None
RUN_LOG_LEVEL = "DEBUG"
RUN_LOG_MAX_BYTES = 50 * 1024 * 1024
RUN_LOG_KEEP = 100

"""The kernel's default settings; a pipeline's ``settings.py`` overrides any of them.

Only UPPERCASE names are settings. Keep this module free of heavy imports: it is
read on every start-up.
"""

import os
from typing import Any

from outflow.core.pipeline.settings import Computed


def _temp_dir() -> Any:
    import tempfile
    from pathlib import Path

    return Path(tempfile.gettempdir()) / "outflow_tmp"


#: Directory of the pipeline; set from the location of ``settings.py`` / ``manage.py``.
ROOT_DIRECTORY = os.environ.get("PIPELINE_ROOT_DIRECTORY", None)

#: Pipeline plugins: module paths imported by outflow (their ``commands`` module too).
PLUGINS = ["outflow.management"]

#: Temporary files: MapWorkflow payloads, workflow caches. Must be shared between
#: nodes when running on a cluster.
#: (Computed on first read: importing tempfile costs start-up time.)
TEMP_DIR = Computed(_temp_dir)

#: Label of the database holding outflow's own tables and unbound models.
MAIN_DATABASE = "default"

#: Extra backends, ``{"name": "package.module:BackendClass"}``, beside those that
#: installed plugins register.
BACKENDS: dict[str, str] = {}

#: The root command class (or a ``"module:Class"`` path): override for special behaviour.
ROOT_COMMAND_CLASS = "outflow.core.commands:RootCommand"

"""outflow's own tables: configurations, runs, blocks, edges and runtime exceptions.

Importing this package declares every model on :class:`outflow.core.db.Model`, which
is what migrations (autogenerate) and run tracking need. It is imported only when a
database is used, never at start-up.
"""

from outflow.management.models.block import Block
from outflow.management.models.configuration import Configuration
from outflow.management.models.edge import Edge
from outflow.management.models.run import Run
from outflow.management.models.runtime_exception import RuntimeException

#: Block and run states (``interrupted``: runs stopped by Ctrl-C, SIGTERM or SIGHUP). A run
#: still ``running`` whose process is gone is shown ``crashed`` (see
#: :mod:`outflow.management.liveness`); that state is never stored.
STATES = ("pending", "running", "success", "failed", "skipped", "interrupted")

__all__ = ["STATES", "Block", "Configuration", "Edge", "Run", "RuntimeException"]

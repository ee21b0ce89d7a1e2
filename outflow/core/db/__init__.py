"""outflow's database layer: ``Model`` for plugin models, ``Databases`` for connections.

Importing this package imports SQLAlchemy, which is why nothing else in the kernel
imports it at start-up: the pipeline context reaches it on first use of
``context.databases`` / ``context.session``, and plugins import ``Model`` from their
``models`` modules, which outflow imports only when a database is used.
"""

from outflow.core.db.database import SQLITE_BEGIN_OPTION, DatabaseError, Databases
from outflow.core.db.model import Model, bind_key_of, module_of
from outflow.core.db.settings import DatabaseConfigError

__all__ = [
    "SQLITE_BEGIN_OPTION",
    "DatabaseConfigError",
    "DatabaseError",
    "Databases",
    "Model",
    "bind_key_of",
    "module_of",
]

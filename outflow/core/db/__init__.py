"""outflow's database layer: ``Model`` for plugin models, ``Databases`` for connections.

Importing this package imports SQLAlchemy, which is why nothing else in the kernel
imports it at start-up: the pipeline context reaches it on first use of
``context.databases`` / ``context.session``, and plugins import ``Model`` from their
``models`` modules, which outflow imports only when a database is used.
"""

from outflow.core.db.database import DatabaseError, Databases
from outflow.core.db.model import Model, bind_key_of

__all__ = ["DatabaseError", "Databases", "Model", "bind_key_of"]

"""``op.grant_permissions(table)``: give the pipeline's user role access to a new table.

Why: on PostgreSQL migrations run as the admin role (owner of the schema) while runs
connect as the user role, which may read and write rows but not change the layout
(it cannot drop a table by applying the wrong downgrade). Every table a migration
creates must therefore be granted to the user role; ``make_migrations`` writes the
call after each ``create_table``. On SQLite, and when one role serves both purposes,
the operation does nothing.
"""

from __future__ import annotations

import json
from typing import Any

from alembic.autogenerate import renderers
from alembic.autogenerate.rewriter import Rewriter
from alembic.operations import MigrateOperation, Operations, ops
from sqlalchemy import text

#: ``MigrationContext.opts`` key holding the user role to grant to.
USER_ROLE_OPTION = "outflow_user_role"

_SEQUENCES = text(
    "SELECT ns.nspname, seq.relname FROM pg_class seq "
    "JOIN pg_namespace ns ON ns.oid = seq.relnamespace "
    "JOIN pg_depend dep ON dep.objid = seq.oid AND dep.classid = 'pg_class'::regclass "
    "WHERE seq.relkind = 'S' AND dep.refobjid = to_regclass(:table)"
)


@Operations.register_operation("grant_permissions")
class GrantPermissionsOp(MigrateOperation):
    """GRANT SELECT, INSERT, UPDATE, DELETE on a table (and its sequences) to the user role."""

    def __init__(self, table_name: str, schema: str | None = None) -> None:
        self.table_name = table_name
        self.schema = schema

    @classmethod
    def grant_permissions(cls, operations: Operations, table_name: str,
                          schema: str | None = None) -> Any:
        """``op.grant_permissions("table")`` in a migration script."""
        return operations.invoke(cls(table_name, schema))

    def reverse(self) -> GrantPermissionsOp:
        return self  # dropping the table drops its grants: nothing to undo

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("grant_permissions", self.table_name)


@Operations.implementation_for(GrantPermissionsOp)
def grant_permissions(operations: Operations, operation: GrantPermissionsOp) -> None:
    context = operations.migration_context
    if context.dialect.name != "postgresql":
        return
    role = context.opts.get(USER_ROLE_OPTION)
    if not role:
        return
    quote = context.dialect.identifier_preparer.quote
    table = quote(operation.table_name)
    if operation.schema:
        table = f"{quote(operation.schema)}.{table}"
    grantee = quote(role)
    operations.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {table} TO {grantee}")
    connection = operations.get_bind()
    for schema, sequence in connection.execute(_SEQUENCES, {"table": table}).all():
        operations.execute(
            f"GRANT USAGE, SELECT ON SEQUENCE {quote(schema)}.{quote(sequence)} TO {grantee}"
        )


@renderers.dispatch_for(GrantPermissionsOp)
def render_grant_permissions(autogen_context: Any, operation: GrantPermissionsOp) -> str:
    if operation.schema:
        return (f"op.grant_permissions({json.dumps(operation.table_name)}, "
                f"schema={json.dumps(operation.schema)})")
    return f"op.grant_permissions({json.dumps(operation.table_name)})"


#: Autogenerate rewriter: every ``create_table`` is followed by ``grant_permissions``.
grant_after_create = Rewriter()


@grant_after_create.rewrites(ops.CreateTableOp)
def _grant_new_table(context: Any, revision: Any, operation: ops.CreateTableOp) -> list[Any]:
    return [operation, GrantPermissionsOp(operation.table_name, schema=operation.schema)]


__all__ = ["USER_ROLE_OPTION", "GrantPermissionsOp", "grant_after_create", "grant_permissions"]

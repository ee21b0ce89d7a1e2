"""initial: outflow's tables (configuration, run, block, edge, runtime_exception)

Revision ID: b4c61f1542fe
Revises:
Create Date: 2026-11-29 02:36:22

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b4c61f1542fe"
down_revision = None
branch_labels = ("outflow.management",)
depends_on = None


def upgrade():
    op.create_table(
        "configuration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash"),
    )
    op.grant_permissions("configuration")
    op.create_table(
        "run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("command", sa.String(length=255), nullable=False),
        sa.Column("argv", sa.JSON(), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("backend", sa.String(length=64), nullable=False),
        sa.Column("start_time", sa.DateTime(), nullable=False),
        sa.Column("end_time", sa.DateTime(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("configuration_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["configuration_id"], ["configuration.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    op.grant_permissions("run")
    op.create_table(
        "block",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("plugin", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("start_time", sa.DateTime(), nullable=True),
        sa.Column("end_time", sa.DateTime(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=True),
        sa.Column("input_targets", sa.JSON(), nullable=True),
        sa.Column("output_targets", sa.JSON(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("map_index", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["block.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.grant_permissions("block")
    op.create_index(op.f("ix_block_run_id"), "block", ["run_id"], unique=False)
    op.create_table(
        "edge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("upstream_id", sa.Integer(), nullable=False),
        sa.Column("downstream_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["downstream_id"], ["block.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"]),
        sa.ForeignKeyConstraint(["upstream_id"], ["block.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.grant_permissions("edge")
    op.create_index(op.f("ix_edge_run_id"), "edge", ["run_id"], unique=False)
    op.create_table(
        "runtime_exception",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("block_id", sa.Integer(), nullable=True),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("traceback", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["block_id"], ["block.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.grant_permissions("runtime_exception")
    op.create_index(op.f("ix_runtime_exception_block_id"), "runtime_exception", ["block_id"],
                    unique=False)
    op.create_index(op.f("ix_runtime_exception_run_id"), "runtime_exception", ["run_id"],
                    unique=False)


def downgrade():
    op.drop_index(op.f("ix_runtime_exception_run_id"), table_name="runtime_exception")
    op.drop_index(op.f("ix_runtime_exception_block_id"), table_name="runtime_exception")
    op.drop_table("runtime_exception")
    op.drop_index(op.f("ix_edge_run_id"), table_name="edge")
    op.drop_table("edge")
    op.drop_index(op.f("ix_block_run_id"), table_name="block")
    op.drop_table("block")
    op.drop_table("run")
    op.drop_table("configuration")

"""failed_inputs_and_cache_hits: block.input_values and run.cache_hits

A failed block's input values (masked, cut), and how many outputs a run read from the
workflow cache.

Revision ID: 8e3f6b2a91c4
Revises: 5d1e2a9c7f40
Create Date: 2026-12-02 22:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "8e3f6b2a91c4"
down_revision = "5d1e2a9c7f40"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("block") as batch:
        batch.add_column(sa.Column("input_values", sa.JSON(), nullable=True))
    with op.batch_alter_table("run") as batch:
        batch.add_column(sa.Column("cache_hits", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("run") as batch:
        batch.drop_column("cache_hits")
    with op.batch_alter_table("block") as batch:
        batch.drop_column("input_values")

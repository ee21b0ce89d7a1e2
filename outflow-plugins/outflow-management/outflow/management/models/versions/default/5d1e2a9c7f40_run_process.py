"""run_process: the driver's pid and process identity, to tell a crashed run

Revision ID: 5d1e2a9c7f40
Revises: b4c61f1542fe
Create Date: 2026-12-02 13:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5d1e2a9c7f40"
down_revision = "b4c61f1542fe"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("run") as batch:
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("process", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("run") as batch:
        batch.drop_column("process")
        batch.drop_column("pid")

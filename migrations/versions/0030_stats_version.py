"""the dashboards' version (issue 28): one row that every transaction changing a counted ticket, and every
rollup rebuild, moves at commit, so a map layer known to the process answers again (and a 304) without
counting the open tickets while it stays the same

Revision ID: 0030_stats_version
Revises: 0029_rollup_partitions
Create Date: 2026-12-07 05:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0030_stats_version"
down_revision = "0029_rollup_partitions"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "stats_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats_version")),
    )
    op.bulk_insert(table, [{"id": 1, "version": 0}])


def downgrade():
    op.drop_table("stats_version")

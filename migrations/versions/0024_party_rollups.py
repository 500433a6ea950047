"""the assessment's rollup: party_stats_daily, the needs and wishes raised per unit, Beijing day and kind, by
where they stand now (issue 21 section 5)

Revision ID: 0024_party_rollups
Revises: 0023_partitions
Create Date: 2026-12-06 15:10:00.000000

The table starts empty: run `flask --app wsgi party stats rebuild` once after upgrading a database that holds
needs (it recounts every row from party_needs); from then on every step of a need keeps it.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024_party_rollups"
down_revision = "0023_partitions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "party_stats_daily",
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("raised", sa.Integer(), nullable=False),
        sa.Column("withdrawn", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("met", sa.Integer(), nullable=False),
        sa.Column("met_on_time", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "day", "kind", name=op.f("pk_party_stats_daily")),
    )


def downgrade():
    op.drop_table("party_stats_daily")

"""the assessment's other rollup: party_stats_figures, projects by status, points distributed and ratings given
per unit, Beijing day and figure (issue 21 section 5); points entries indexed by organisation, time and member

Revision ID: 0025_party_rollups_more
Revises: 0024_party_rollups
Create Date: 2026-12-07 10:00:00.000000

The table starts empty: run `flask --app wsgi party stats rebuild` once after upgrading a database that holds
projects, ratings or points entries (it recounts both rollups); from then on every change keeps it.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025_party_rollups_more"
down_revision = "0024_party_rollups"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "party_stats_figures",
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "day", "name", name=op.f("pk_party_stats_figures")),
    )
    # The period's distinct members with entries (the one points figure not summed from days) from the index
    # alone; it leads with org_id, so the index on org_id alone goes.
    op.create_index(
        "ix_party_points_org_id_occurred_at", "party_points", ["org_id", "occurred_at", "member_id"], unique=False
    )
    op.drop_index(op.f("ix_party_points_org_id"), table_name="party_points")


def downgrade():
    op.create_index(op.f("ix_party_points_org_id"), "party_points", ["org_id"], unique=False)
    op.drop_index("ix_party_points_org_id_occurred_at", table_name="party_points")
    op.drop_table("party_stats_figures")

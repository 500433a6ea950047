"""the assessment's other rollup: party_stats_figures, projects by status, points distributed and ratings given
per unit, Beijing day and figure (issue 21 section 5)

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


def downgrade():
    op.drop_table("party_stats_figures")

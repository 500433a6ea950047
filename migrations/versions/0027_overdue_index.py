"""the overdue list's index: open tickets (their clock running) by deadline and id, partial (issue 28)

The whole territory's overdue list read every open ticket and sorted them (78 ms at 10,000,000 tickets); ordered
by this index it reads one page. On PostgreSQL at scale, build it without a write lock first by hand
(`CREATE INDEX CONCURRENTLY ix_tickets_running_due_at_id ON tickets (due_at, id) WHERE warn_at IS NOT NULL`);
this migration then finds it (IF NOT EXISTS).

Revision ID: 0027_overdue_index
Revises: 0026_party_org_points
Create Date: 2026-12-06 19:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0027_overdue_index"
down_revision = "0026_party_org_points"
branch_labels = None
depends_on = None

RUNNING = sa.text("warn_at IS NOT NULL")


def upgrade():
    op.create_index(
        "ix_tickets_running_due_at_id",
        "tickets",
        ["due_at", "id"],
        unique=False,
        postgresql_where=RUNNING,
        sqlite_where=RUNNING,
        if_not_exists=True,
    )


def downgrade():
    op.drop_index("ix_tickets_running_due_at_id", table_name="tickets")

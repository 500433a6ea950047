"""a city at scale (issue 28): the overdue list's index (open tickets, their clock running, by deadline and id,
partial), and the rollups without foreign keys

The whole territory's overdue list read every open ticket and sorted them (78 ms at 10,000,000 tickets); ordered
by the new index it reads one page. On PostgreSQL at scale, build it without a write lock first by hand
(`CREATE INDEX CONCURRENTLY ix_tickets_running_due_at_id ON tickets (due_at, id) WHERE warn_at IS NOT NULL`);
this migration then finds it (IF NOT EXISTS).

The rollup tables (stats_daily, stats_worker_daily, stats_monthly, stats_worker_monthly) lose their foreign keys
to grid_units and accounts: a month's rebuild at 10M writes 1.5 million rollup rows, and each row's check of its
unit (and account) was a fifth of the rebuild's time. The rollups are derived data, written only from existing
units and accounts; a unit they name cannot be deleted while a ticket names it. On SQLite the tables are copied
(batch mode), keeping WITHOUT ROWID where they had it.

Revision ID: 0027_city_scale
Revises: 0026_party_org_points
Create Date: 2026-12-06 19:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0027_city_scale"
down_revision = "0026_party_org_points"
branch_labels = None
depends_on = None

RUNNING = sa.text("warn_at IS NOT NULL")
# table, its foreign keys (column, referred table), WITHOUT ROWID on SQLite
ROLLUPS = (
    ("stats_daily", (("unit_id", "grid_units"),), False),
    ("stats_worker_daily", (("unit_id", "grid_units"), ("account_id", "accounts")), False),
    ("stats_monthly", (("unit_id", "grid_units"),), True),
    ("stats_worker_monthly", (("unit_id", "grid_units"), ("account_id", "accounts")), True),
)


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
    for table, keys, without_rowid in ROLLUPS:
        with op.batch_alter_table(table, table_kwargs=_kwargs(without_rowid)) as batch_op:
            for column, referred in keys:
                batch_op.drop_constraint(f"fk_{table}_{column}_{referred}", type_="foreignkey")


def downgrade():
    for table, keys, without_rowid in ROLLUPS:
        with op.batch_alter_table(table, table_kwargs=_kwargs(without_rowid)) as batch_op:
            for column, referred in keys:
                batch_op.create_foreign_key(f"fk_{table}_{column}_{referred}", referred, [column], ["id"])
    op.drop_index("ix_tickets_running_due_at_id", table_name="tickets")


def _kwargs(without_rowid):
    return {"sqlite_with_rowid": False} if without_rowid else {}

"""dashboards at scale: monthly rollups (cells received, workers), open-work index with both deadlines

Revision ID: 0009_stats_speed
Revises: 0008_stats_rollups
Create Date: 2026-11-23 16:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_stats_speed'
down_revision = '0008_stats_rollups'
branch_labels = None
depends_on = None

# stats_worker_monthly's counters, as dashboards.models.WORKER_COUNTERS was when this was written.
WORKER_COUNTERS = (
    'tickets', 'open', 'dispatched', 'accepted', 'accepted_on_time', 'accept_seconds', 'resolved',
    'resolved_on_time', 'resolve_seconds', 'closed', 'overdue', 'reopens', 'rated', 'rated_good',
)


def upgrade():
    op.create_table('stats_monthly',
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['grid_units.id'], name=op.f('fk_stats_monthly_unit_id_grid_units')),
    sa.PrimaryKeyConstraint('unit_id', 'month', name=op.f('pk_stats_monthly')),
    sqlite_with_rowid=False,  # SQLite: the rows live in the key's b-tree (one seek a cell, not two)
    )
    op.create_index('ix_stats_monthly_month_unit_id_received', 'stats_monthly', ['month', 'unit_id', 'received'],
                    unique=False)
    op.create_table('stats_worker_monthly',
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    *[sa.Column(name, sa.BigInteger() if name.endswith('_seconds') else sa.Integer(), nullable=False)
      for name in WORKER_COUNTERS],
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_stats_worker_monthly_account_id_accounts')),
    sa.ForeignKeyConstraint(['unit_id'], ['grid_units.id'], name=op.f('fk_stats_worker_monthly_unit_id_grid_units')),
    sa.PrimaryKeyConstraint('unit_id', 'month', 'account_id', name=op.f('pk_stats_worker_monthly')),
    sqlite_with_rowid=False,
    )
    # The "now" figures count open tickets by unit and both deadlines: from the index alone.
    op.drop_index('ix_tickets_status_grid_id_due_at', table_name='tickets')
    op.create_index('ix_tickets_status_grid_id_due_at_warn_at', 'tickets', ['status', 'grid_id', 'due_at', 'warn_at'],
                    unique=False)
    # Filled from the daily rollups, so an upgraded database needs no `stats rebuild`.
    if op.get_bind().dialect.name == 'postgresql':
        month = "CAST(date_trunc('month', day) AS DATE)"
    else:
        month = "strftime('%Y-%m-01', day)"
    op.execute(
        f"INSERT INTO stats_monthly (unit_id, month, received) SELECT unit_id, {month}, SUM(received) "
        f"FROM stats_daily GROUP BY unit_id, {month} HAVING SUM(received) <> 0"
    )
    counters = ", ".join(WORKER_COUNTERS)
    sums = ", ".join(f"SUM({name})" for name in WORKER_COUNTERS)
    op.execute(
        f"INSERT INTO stats_worker_monthly (unit_id, month, account_id, {counters}) "
        f"SELECT unit_id, {month}, account_id, {sums} FROM stats_worker_daily GROUP BY unit_id, {month}, account_id"
    )


def downgrade():
    op.drop_index('ix_tickets_status_grid_id_due_at_warn_at', table_name='tickets')
    op.create_index('ix_tickets_status_grid_id_due_at', 'tickets', ['status', 'grid_id', 'due_at'], unique=False)
    op.drop_table('stats_worker_monthly')
    op.drop_index('ix_stats_monthly_month_unit_id_received', table_name='stats_monthly')
    op.drop_table('stats_monthly')

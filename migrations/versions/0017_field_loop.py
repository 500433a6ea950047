"""the field loop: tickets handled on the spot (就地办结), tickets read by the units they were first received in,
and the rollups' 就地解决率 (`on_spot`) and `escalated_out`

Revision ID: 0017_field_loop
Revises: 0016_login_brakes
Create Date: 2026-12-06 11:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_field_loop'
down_revision = '0016_login_brakes'
branch_labels = None
depends_on = None

COUNTER_TABLES = {
    'stats_daily': ('on_spot', 'escalated_out'),
    'stats_worker_daily': ('on_spot',),
    'stats_worker_monthly': ('on_spot',),
}


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handled_on_spot', sa.Boolean(), server_default='0', nullable=False))
        # Followed tickets: a unit's people read the tickets first received in their subtree.
        batch_op.create_index(batch_op.f('ix_tickets_origin_grid_id'), ['origin_grid_id'], unique=False)
    for table, names in COUNTER_TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in names:
                # No ticket was handled on the spot before; `escalated_out` is filled in below.
                batch_op.add_column(sa.Column(name, sa.Integer(), server_default='0', nullable=False))
    _fill_escalated_out()


def _ids(path):
    return [int(part) for part in path.strip('/').split('/') if part]


def _fill_escalated_out():
    """Each escalated ticket's facts (what it added) give the units it was passed up out of: the rows it counts in
    from now on, so that its next change subtracts what was added."""
    connection = op.get_bind()
    facts = sa.table('stats_ticket_facts', sa.column('day', sa.Date), sa.column('category_code', sa.String),
                     sa.column('channel', sa.String), sa.column('origin_path', sa.String),
                     sa.column('owner_path', sa.String), sa.column('counters', sa.JSON))
    totals = {}
    for row in connection.execute(sa.select(facts)):
        if not (row.counters or {}).get('escalated'):
            continue
        owners = set(_ids(row.owner_path))
        for unit in _ids(row.origin_path):
            if unit not in owners:
                key = (unit, row.day, row.category_code, row.channel)
                totals[key] = totals.get(key, 0) + 1
    daily = sa.table('stats_daily', sa.column('unit_id', sa.BigInteger), sa.column('day', sa.Date),
                     sa.column('category_code', sa.String), sa.column('channel', sa.String),
                     sa.column('escalated_out', sa.Integer))
    update = (
        daily.update()
        .where(daily.c.unit_id == sa.bindparam('k_unit'), daily.c.day == sa.bindparam('k_day'),
               daily.c.category_code == sa.bindparam('k_category'), daily.c.channel == sa.bindparam('k_channel'))
        .values(escalated_out=sa.bindparam('v'))
    )
    params = [{'k_unit': unit, 'k_day': day, 'k_category': category, 'k_channel': channel, 'v': value}
              for (unit, day, category, channel), value in sorted(totals.items())]
    if params:
        connection.execute(update, params)


def downgrade():
    for table, names in COUNTER_TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in reversed(names):
                batch_op.drop_column(name)
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_origin_grid_id'))
        batch_op.drop_column('handled_on_spot')

"""workforce: worker profiles, positions, patrols, visits

Revision ID: 0003_workforce
Revises: 0002_grid_boundaries
Create Date: 2026-11-23 08:57:52.864522

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_workforce'
down_revision = '0002_grid_boundaries'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('worker_profiles',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('employment', sa.String(length=32), nullable=False),
    sa.Column('party_member', sa.Boolean(), nullable=False),
    sa.Column('on_duty', sa.Boolean(), nullable=False),
    sa.Column('last_lat', sa.Float(), nullable=True),
    sa.Column('last_lng', sa.Float(), nullable=True),
    sa.Column('last_accuracy', sa.Float(), nullable=True),
    sa.Column('last_recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_worker_profiles_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_worker_profiles')),
    sa.UniqueConstraint('account_id', name=op.f('uq_worker_profiles_account_id'))
    )
    with op.batch_alter_table('worker_profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_worker_profiles_on_duty'), ['on_duty'], unique=False)
        batch_op.create_index(batch_op.f('ix_worker_profiles_updated_at'), ['updated_at'], unique=False)

    op.create_table('patrols',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('worker_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('grid_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('open_worker_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('length_m', sa.Float(), nullable=True),
    sa.Column('duration_s', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grid_id'], ['grid_units.id'], name=op.f('fk_patrols_grid_id_grid_units')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker_profiles.id'], name=op.f('fk_patrols_worker_id_worker_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patrols')),
    sa.UniqueConstraint('open_worker_id', name=op.f('uq_patrols_open_worker_id'))
    )
    with op.batch_alter_table('patrols', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patrols_grid_id'), ['grid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_patrols_started_at'), ['started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_patrols_worker_id'), ['worker_id'], unique=False)

    op.create_table('patrol_visits',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('patrol_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('household', sa.String(length=128), nullable=True),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lng', sa.Float(), nullable=True),
    sa.Column('visited_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patrol_id'], ['patrols.id'], name=op.f('fk_patrol_visits_patrol_id_patrols'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patrol_visits'))
    )
    with op.batch_alter_table('patrol_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patrol_visits_patrol_id'), ['patrol_id'], unique=False)

    op.create_table('position_pings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('worker_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('patrol_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lng', sa.Float(), nullable=False),
    sa.Column('accuracy', sa.Float(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patrol_id'], ['patrols.id'], name=op.f('fk_position_pings_patrol_id_patrols'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['worker_id'], ['worker_profiles.id'], name=op.f('fk_position_pings_worker_id_worker_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_position_pings'))
    )
    with op.batch_alter_table('position_pings', schema=None) as batch_op:
        batch_op.create_index('ix_position_pings_patrol_id_recorded_at', ['patrol_id', 'recorded_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_position_pings_recorded_at'), ['recorded_at'], unique=False)
        batch_op.create_index('ix_position_pings_worker_id_recorded_at', ['worker_id', 'recorded_at'], unique=False)


def downgrade():
    with op.batch_alter_table('position_pings', schema=None) as batch_op:
        batch_op.drop_index('ix_position_pings_worker_id_recorded_at')
        batch_op.drop_index(batch_op.f('ix_position_pings_recorded_at'))
        batch_op.drop_index('ix_position_pings_patrol_id_recorded_at')

    op.drop_table('position_pings')
    with op.batch_alter_table('patrol_visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patrol_visits_patrol_id'))

    op.drop_table('patrol_visits')
    with op.batch_alter_table('patrols', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patrols_worker_id'))
        batch_op.drop_index(batch_op.f('ix_patrols_started_at'))
        batch_op.drop_index(batch_op.f('ix_patrols_grid_id'))

    op.drop_table('patrols')
    with op.batch_alter_table('worker_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_worker_profiles_updated_at'))
        batch_op.drop_index(batch_op.f('ix_worker_profiles_on_duty'))

    op.drop_table('worker_profiles')

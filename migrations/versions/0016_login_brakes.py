"""login brakes in the database: device tokens, and failure counts per address, unknown username and account

Revision ID: 0016_login_brakes
Revises: 0015_party_checkins
Create Date: 2026-12-06 10:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_login_brakes'
down_revision = '0015_party_checkins'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('device_tokens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('session_id', sa.String(length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=32), nullable=True),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('failed_logins_since', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_device_tokens_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['login_sessions.id'], name=op.f('fk_device_tokens_session_id_login_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_device_tokens_token_hash'))
    )
    with op.batch_alter_table('device_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_tokens_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_tokens_session_id'), ['session_id'], unique=False)

    op.create_table('failure_counts',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('kind', 'key', name=op.f('pk_failure_counts'))
    )
    with op.batch_alter_table('failure_counts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_failure_counts_window_started_at'), ['window_started_at'], unique=False)


def downgrade():
    with op.batch_alter_table('failure_counts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_failure_counts_window_started_at'))

    op.drop_table('failure_counts')
    with op.batch_alter_table('device_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_tokens_session_id'))
        batch_op.drop_index(batch_op.f('ix_device_tokens_account_id'))

    op.drop_table('device_tokens')

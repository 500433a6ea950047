"""open311: categories' extra questions and requests' answers; what Open311 clients filed and commented

Revision ID: 0013_open311
Revises: 0012_refresh_grace
Create Date: 2026-12-06 10:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_open311'
down_revision = '0012_refresh_grace'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attributes', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('resident_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attributes', sa.JSON(), nullable=False, server_default='{}'))

    op.create_table('open311_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('media_url', sa.String(length=2000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_open311_requests_integration_id_integrations')),
    sa.ForeignKeyConstraint(['request_id'], ['resident_requests.id'], name=op.f('fk_open311_requests_request_id_resident_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open311_requests')),
    sa.UniqueConstraint('integration_id', 'fingerprint', name=op.f('uq_open311_requests_integration_id'))
    )
    with op.batch_alter_table('open311_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open311_requests_request_id'), ['request_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_open311_requests_created_at'), ['created_at'], unique=False)

    op.create_table('open311_updates',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_open311_updates_integration_id_integrations')),
    sa.ForeignKeyConstraint(['request_id'], ['resident_requests.id'], name=op.f('fk_open311_updates_request_id_resident_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open311_updates')),
    sa.UniqueConstraint('integration_id', 'external_id', name=op.f('uq_open311_updates_integration_id'))
    )


def downgrade():
    op.drop_table('open311_updates')
    with op.batch_alter_table('open311_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open311_requests_created_at'))
        batch_op.drop_index(batch_op.f('ix_open311_requests_request_id'))
    op.drop_table('open311_requests')
    with op.batch_alter_table('resident_requests', schema=None) as batch_op:
        batch_op.drop_column('attributes')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_column('attributes')

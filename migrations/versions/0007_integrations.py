"""hooks in: integrations and their pushed requests, used signatures, SMS replies and delivery reports

Revision ID: 0007_integrations
Revises: 0006_webhooks
Create Date: 2026-11-23 14:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_integrations'
down_revision = '0006_webhooks'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hook_signatures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hook_signatures')),
    sa.UniqueConstraint('scope', 'signature', name=op.f('uq_hook_signatures_scope'))
    )
    with op.batch_alter_table('hook_signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hook_signatures_created_at'), ['created_at'], unique=False)

    op.create_table('integrations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('auth_method', sa.String(length=32), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=True),
    sa.Column('secret', sa.String(length=128), nullable=True),
    sa.Column('grid_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_integrations_account_id_accounts')),
    sa.ForeignKeyConstraint(['grid_id'], ['grid_units.id'], name=op.f('fk_integrations_grid_id_grid_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integrations')),
    sa.UniqueConstraint('key_id', name=op.f('uq_integrations_key_id'))
    )
    with op.batch_alter_table('integrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integrations_grid_id'), ['grid_id'], unique=False)

    op.create_table('integration_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_integration_requests_integration_id_integrations')),
    sa.ForeignKeyConstraint(['request_id'], ['resident_requests.id'], name=op.f('fk_integration_requests_request_id_resident_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_requests')),
    sa.UniqueConstraint('integration_id', 'external_id', name=op.f('uq_integration_requests_integration_id'))
    )
    with op.batch_alter_table('integration_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_requests_request_id'), ['request_id'], unique=False)

    op.create_table('sms_inbound',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('dedup_key', sa.String(length=128), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('answer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['answer_id'], ['notifications.id'], name=op.f('fk_sms_inbound_answer_id_notifications')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_sms_inbound_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_inbound')),
    sa.UniqueConstraint('provider', 'dedup_key', name=op.f('uq_sms_inbound_provider'))
    )
    with op.batch_alter_table('sms_inbound', schema=None) as batch_op:
        batch_op.create_index('ix_sms_inbound_status_id', ['status', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_inbound_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('sms_reports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('dedup_key', sa.String(length=128), nullable=False),
    sa.Column('provider_ref', sa.String(length=64), nullable=True),
    sa.Column('message_ref', sa.String(length=64), nullable=True),
    sa.Column('delivered', sa.Boolean(), nullable=True),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notification_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], name=op.f('fk_sms_reports_notification_id_notifications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_reports')),
    sa.UniqueConstraint('provider', 'dedup_key', name=op.f('uq_sms_reports_provider'))
    )
    with op.batch_alter_table('sms_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_reports_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_reports_notification_id'), ['notification_id'], unique=False)


def downgrade():
    with op.batch_alter_table('sms_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_reports_notification_id'))
        batch_op.drop_index(batch_op.f('ix_sms_reports_created_at'))

    op.drop_table('sms_reports')
    with op.batch_alter_table('sms_inbound', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_inbound_ticket_id'))
        batch_op.drop_index('ix_sms_inbound_status_id')

    op.drop_table('sms_inbound')
    with op.batch_alter_table('integration_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_requests_request_id'))

    op.drop_table('integration_requests')
    with op.batch_alter_table('integrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integrations_grid_id'))

    op.drop_table('integrations')
    with op.batch_alter_table('hook_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hook_signatures_created_at'))

    op.drop_table('hook_signatures')

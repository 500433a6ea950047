"""requests by text message wait in a triage queue; integrations map their own category codes; webhooks speak
the receiver's status names

A request without a ticket (`ticket_id` and possibly `category_code` empty) waits in its unit's triage queue.

Revision ID: 0019_sms_intake
Revises: 0018_point_rule_versions
Create Date: 2026-12-06 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_sms_intake'
down_revision = '0018_point_rule_versions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('resident_requests', schema=None) as batch_op:
        batch_op.alter_column('ticket_id', existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True)
        batch_op.alter_column('category_code', existing_type=sa.String(length=32), nullable=True)
    with op.batch_alter_table('sms_inbound', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_index(batch_op.f('ix_sms_inbound_request_id'), ['request_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_sms_inbound_request_id_resident_requests'), 'resident_requests', ['request_id'], ['id']
        )
    with op.batch_alter_table('integrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category_map', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('default_category_code', sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_integrations_default_category_code_categories'), 'categories', ['default_category_code'], ['code']
        )
    with op.batch_alter_table('integrations', schema=None) as batch_op:
        batch_op.alter_column('category_map', server_default=None)
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_names', sa.JSON(), nullable=False, server_default='{}'))
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.alter_column('status_names', server_default=None)


def downgrade():
    # Requests still in triage have no ticket to point at: they cannot survive the downgrade.
    op.execute(
        'DELETE FROM integration_requests WHERE request_id IN (SELECT id FROM resident_requests WHERE ticket_id IS NULL)'
    )
    with op.batch_alter_table('sms_inbound', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sms_inbound_request_id_resident_requests'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_sms_inbound_request_id'))
        batch_op.drop_column('request_id')
    op.execute('DELETE FROM resident_requests WHERE ticket_id IS NULL')
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.drop_column('status_names')
    with op.batch_alter_table('integrations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_integrations_default_category_code_categories'), type_='foreignkey')
        batch_op.drop_column('default_category_code')
        batch_op.drop_column('category_map')
    with op.batch_alter_table('resident_requests', schema=None) as batch_op:
        batch_op.alter_column('category_code', existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column('ticket_id', existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False)

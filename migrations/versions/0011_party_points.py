"""party layer, part 2: the points ledger (积分考核)

Rules are data (`party_point_rules`, the defaults seeded here); the ledger (`party_points`) is append-only, a
correction being a new entry pointing at the one it corrects; members dispute entries (`party_point_disputes`).

Revision ID: 0011_party_points
Revises: 0010_party
Create Date: 2026-12-06 09:20:00.000000

"""
from datetime import date, datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_party_points'
down_revision = '0010_party'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

# code, name, points, trigger (as party.points.service.DEFAULT_RULES)
DEFAULT_RULES = (
    ('ticket_on_time', '按时办结工单', 5, 'ticket.resolved_on_time'),
    ('ticket_rated_good', '群众评价满意', 3, 'ticket.rated_good'),
    ('ticket_reopened', '工单被重新打开', -5, 'ticket.reopened'),
    ('claim_resolved', '认领并办结工单', 5, 'claim.resolved'),
    ('manual', '人工加减分', 0, 'manual'),
)


def upgrade():
    rules = op.create_table('party_point_rules',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=32), nullable=False),
    sa.Column('monthly_cap', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_party_point_rules'))
    )
    op.create_index(op.f('ix_party_point_rules_trigger'), 'party_point_rules', ['trigger'], unique=False)
    op.create_table('party_points',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('member_id', BigId, nullable=False),
    sa.Column('org_id', BigId, nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('rule_code', sa.String(length=32), nullable=False),
    sa.Column('source_type', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.String(length=64), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', BigId, nullable=True),
    sa.Column('corrects_id', BigId, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corrects_id'], ['party_points.id'], name=op.f('fk_party_points_corrects_id_party_points')),
    sa.ForeignKeyConstraint(['created_by'], ['accounts.id'], name=op.f('fk_party_points_created_by_accounts')),
    sa.ForeignKeyConstraint(['member_id'], ['party_members.id'], name=op.f('fk_party_points_member_id_party_members')),
    sa.ForeignKeyConstraint(['org_id'], ['party_orgs.id'], name=op.f('fk_party_points_org_id_party_orgs')),
    sa.ForeignKeyConstraint(['rule_code'], ['party_point_rules.code'],
                            name=op.f('fk_party_points_rule_code_party_point_rules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_points'))
    )
    op.create_index(op.f('ix_party_points_corrects_id'), 'party_points', ['corrects_id'], unique=False)
    op.create_index('ix_party_points_member_id_occurred_at', 'party_points', ['member_id', 'occurred_at'],
                    unique=False)
    op.create_index(op.f('ix_party_points_occurred_at'), 'party_points', ['occurred_at'], unique=False)
    op.create_index(op.f('ix_party_points_org_id'), 'party_points', ['org_id'], unique=False)
    op.create_index('ix_party_points_source_type_source_id', 'party_points', ['source_type', 'source_id'],
                    unique=False)
    op.create_table('party_point_disputes',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('entry_id', BigId, nullable=False),
    sa.Column('member_id', BigId, nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.Column('correction_id', BigId, nullable=True),
    sa.Column('resolved_by', BigId, nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['correction_id'], ['party_points.id'],
                            name=op.f('fk_party_point_disputes_correction_id_party_points')),
    sa.ForeignKeyConstraint(['entry_id'], ['party_points.id'], name=op.f('fk_party_point_disputes_entry_id_party_points')),
    sa.ForeignKeyConstraint(['member_id'], ['party_members.id'],
                            name=op.f('fk_party_point_disputes_member_id_party_members')),
    sa.ForeignKeyConstraint(['resolved_by'], ['accounts.id'], name=op.f('fk_party_point_disputes_resolved_by_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_point_disputes'))
    )
    op.create_index(op.f('ix_party_point_disputes_entry_id'), 'party_point_disputes', ['entry_id'], unique=False)
    op.create_index(op.f('ix_party_point_disputes_member_id'), 'party_point_disputes', ['member_id'], unique=False)
    now = datetime.now(timezone.utc)
    op.bulk_insert(rules, [
        {'code': code, 'name': name, 'points': points, 'trigger': trigger, 'monthly_cap': None, 'active': True,
         'effective_from': date(2026, 1, 1), 'created_at': now, 'updated_at': now}
        for code, name, points, trigger in DEFAULT_RULES
    ])


def downgrade():
    op.drop_index(op.f('ix_party_point_disputes_member_id'), table_name='party_point_disputes')
    op.drop_index(op.f('ix_party_point_disputes_entry_id'), table_name='party_point_disputes')
    op.drop_table('party_point_disputes')
    op.drop_index('ix_party_points_source_type_source_id', table_name='party_points')
    op.drop_index(op.f('ix_party_points_org_id'), table_name='party_points')
    op.drop_index(op.f('ix_party_points_occurred_at'), table_name='party_points')
    op.drop_index('ix_party_points_member_id_occurred_at', table_name='party_points')
    op.drop_index(op.f('ix_party_points_corrects_id'), table_name='party_points')
    op.drop_table('party_points')
    op.drop_index(op.f('ix_party_point_rules_trigger'), table_name='party_point_rules')
    op.drop_table('party_point_rules')

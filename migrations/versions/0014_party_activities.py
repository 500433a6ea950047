"""party layer, part 3: organisation life on record (全程纪实)

Kinds of activity are data (`party_activity_kinds`: 三会一课, 主题党日, 志愿服务, each with the yearly minimum a
branch holds, seeded here); activities (`party_activities`) with their attendance (one mark per member: present,
or absent with a reason) and the record of every change (`party_activity_changes`). Photos held by a record of
a higher context (an activity) say so on the attachment (`holder_type`, `holder_id`), so the purge of unlinked
photos leaves them. The points ledger gains its `activity.attended` rule.

Revision ID: 0014_party_activities
Revises: 0013_open311
Create Date: 2026-12-06 10:40:00.000000

"""
from datetime import date, datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_party_activities'
down_revision = '0013_open311'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

# code, name, yearly minimum, position (as party.activities.service.DEFAULT_KINDS)
DEFAULT_KINDS = (
    ('branch_meeting', '支部党员大会', 4, 1),
    ('committee_meeting', '支委会', 12, 2),
    ('group_meeting', '党小组会', 12, 3),
    ('party_lecture', '党课', 4, 4),
    ('theme_day', '主题党日', 12, 5),
    ('service', '志愿服务', 0, 6),
)

# as party.points.service.DEFAULT_RULES
ATTENDED_RULE = {'code': 'activity_attended', 'name': '参加组织生活', 'points': 2, 'trigger': 'activity.attended',
                 'monthly_cap': 10, 'active': True, 'effective_from': date(2026, 1, 1)}


def upgrade():
    kinds = op.create_table('party_activity_kinds',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('yearly_minimum', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_party_activity_kinds'))
    )
    op.create_table('party_activities',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('org_id', BigId, nullable=False),
    sa.Column('kind_code', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('hours', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('place', sa.String(length=255), nullable=True),
    sa.Column('minutes', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('created_by', BigId, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['accounts.id'], name=op.f('fk_party_activities_created_by_accounts')),
    sa.ForeignKeyConstraint(['kind_code'], ['party_activity_kinds.code'],
                            name=op.f('fk_party_activities_kind_code_party_activity_kinds')),
    sa.ForeignKeyConstraint(['org_id'], ['party_orgs.id'], name=op.f('fk_party_activities_org_id_party_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_activities'))
    )
    op.create_index(op.f('ix_party_activities_held_at'), 'party_activities', ['held_at'], unique=False)
    op.create_index('ix_party_activities_org_id_held_at', 'party_activities', ['org_id', 'held_at'], unique=False)
    op.create_table('party_activity_attendance',
    sa.Column('activity_id', BigId, nullable=False),
    sa.Column('member_id', BigId, nullable=False),
    sa.Column('present', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['activity_id'], ['party_activities.id'],
                            name=op.f('fk_party_activity_attendance_activity_id_party_activities')),
    sa.ForeignKeyConstraint(['member_id'], ['party_members.id'],
                            name=op.f('fk_party_activity_attendance_member_id_party_members')),
    sa.PrimaryKeyConstraint('activity_id', 'member_id', name=op.f('pk_party_activity_attendance'))
    )
    op.create_index(op.f('ix_party_activity_attendance_member_id'), 'party_activity_attendance', ['member_id'],
                    unique=False)
    op.create_table('party_activity_changes',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('activity_id', BigId, nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('actor_id', BigId, nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['party_activities.id'],
                            name=op.f('fk_party_activity_changes_activity_id_party_activities')),
    sa.ForeignKeyConstraint(['actor_id'], ['accounts.id'], name=op.f('fk_party_activity_changes_actor_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_activity_changes'))
    )
    op.create_index(op.f('ix_party_activity_changes_activity_id'), 'party_activity_changes', ['activity_id'],
                    unique=False)
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holder_type', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('holder_id', BigId, nullable=True))
        batch_op.create_index('ix_attachments_holder_type_holder_id', ['holder_type', 'holder_id'], unique=False)
    op.bulk_insert(kinds, [
        {'code': code, 'name': name, 'yearly_minimum': minimum, 'position': position, 'active': True}
        for code, name, minimum, position in DEFAULT_KINDS
    ])
    now = datetime.now(timezone.utc)
    rules = sa.table('party_point_rules', *(sa.column(name) for name in (
        'code', 'name', 'points', 'trigger', 'monthly_cap', 'active', 'effective_from', 'created_at', 'updated_at')))
    op.bulk_insert(rules, [{**ATTENDED_RULE, 'created_at': now, 'updated_at': now}])


def downgrade():
    # Entries of the rule would keep it: the rule goes only when no entry uses it.
    op.execute("DELETE FROM party_point_rules WHERE code = 'activity_attended' AND NOT EXISTS "
               "(SELECT 1 FROM party_points WHERE party_points.rule_code = 'activity_attended')")
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_attachments_holder_type_holder_id')
        batch_op.drop_column('holder_id')
        batch_op.drop_column('holder_type')
    op.drop_index(op.f('ix_party_activity_changes_activity_id'), table_name='party_activity_changes')
    op.drop_table('party_activity_changes')
    op.drop_index(op.f('ix_party_activity_attendance_member_id'), table_name='party_activity_attendance')
    op.drop_table('party_activity_attendance')
    op.drop_index('ix_party_activities_org_id_held_at', table_name='party_activities')
    op.drop_index(op.f('ix_party_activities_held_at'), table_name='party_activities')
    op.drop_table('party_activities')
    op.drop_table('party_activity_kinds')

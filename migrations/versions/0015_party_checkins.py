"""party layer, part 3: 双报到 (check-ins with a community), service areas, service records; volunteer areas

Service areas are data (`party_service_areas`, the defaults seeded here). A check-in (`party_check_ins`) is a
serving member's, or a host organisation's, registration with a community: pending, confirmed or rejected, ended
on a day; `live_key` is unique while it is pending or confirmed (one live check-in per member, per organisation).
Confirmed members' services are `party_service_records` with hours. An account volunteers beyond its own scope in
the units of `account_volunteer_areas` (granted by a confirmed check-in). The `service_hours` point rule
(`service.hours`, points per hour, capped monthly) is seeded.

Revision ID: 0015_party_checkins
Revises: 0014_party_activities
Create Date: 2026-12-06 10:30:00.000000

"""
from datetime import date, datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_party_checkins'
down_revision = '0014_party_activities'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

# code, name, position (as party.checkins.service.DEFAULT_AREAS)
SERVICE_AREAS = (
    ('environment', '环境整治', 1),
    ('elderly', '助老', 2),
    ('mediation', '矛盾调解', 3),
    ('civility', '文明劝导', 4),
    ('patrol', '治安巡逻', 5),
    ('tutoring', '助学', 6),
)


def upgrade():
    op.create_table('account_volunteer_areas',
    sa.Column('account_id', BigId, nullable=False),
    sa.Column('grid_id', BigId, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_account_volunteer_areas_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['grid_id'], ['grid_units.id'], name=op.f('fk_account_volunteer_areas_grid_id_grid_units')),
    sa.PrimaryKeyConstraint('account_id', 'grid_id', name=op.f('pk_account_volunteer_areas'))
    )
    op.create_index(op.f('ix_account_volunteer_areas_grid_id'), 'account_volunteer_areas', ['grid_id'], unique=False)
    areas = op.create_table('party_service_areas',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_party_service_areas'))
    )
    op.create_table('party_check_ins',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('member_id', BigId, nullable=True),
    sa.Column('org_id', BigId, nullable=False),
    sa.Column('community_id', BigId, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('live_key', sa.String(length=48), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', BigId, nullable=True),
    sa.Column('decided_by', BigId, nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('ended_by', BigId, nullable=True),
    sa.Column('end_reason', sa.Text(), nullable=True),
    sa.Column('account_id', BigId, nullable=True),
    sa.Column('account_created', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_party_check_ins_account_id_accounts')),
    sa.ForeignKeyConstraint(['community_id'], ['grid_units.id'], name=op.f('fk_party_check_ins_community_id_grid_units')),
    sa.ForeignKeyConstraint(['created_by'], ['accounts.id'], name=op.f('fk_party_check_ins_created_by_accounts')),
    sa.ForeignKeyConstraint(['decided_by'], ['accounts.id'], name=op.f('fk_party_check_ins_decided_by_accounts')),
    sa.ForeignKeyConstraint(['ended_by'], ['accounts.id'], name=op.f('fk_party_check_ins_ended_by_accounts')),
    sa.ForeignKeyConstraint(['member_id'], ['party_members.id'], name=op.f('fk_party_check_ins_member_id_party_members')),
    sa.ForeignKeyConstraint(['org_id'], ['party_orgs.id'], name=op.f('fk_party_check_ins_org_id_party_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_check_ins')),
    sa.UniqueConstraint('live_key', name=op.f('uq_party_check_ins_live_key'))
    )
    op.create_index(op.f('ix_party_check_ins_community_id'), 'party_check_ins', ['community_id'], unique=False)
    op.create_index(op.f('ix_party_check_ins_kind'), 'party_check_ins', ['kind'], unique=False)
    op.create_index(op.f('ix_party_check_ins_member_id'), 'party_check_ins', ['member_id'], unique=False)
    op.create_index(op.f('ix_party_check_ins_org_id'), 'party_check_ins', ['org_id'], unique=False)
    op.create_index(op.f('ix_party_check_ins_status'), 'party_check_ins', ['status'], unique=False)
    op.create_table('party_check_in_areas',
    sa.Column('check_in_id', BigId, nullable=False),
    sa.Column('area_code', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['area_code'], ['party_service_areas.code'],
                            name=op.f('fk_party_check_in_areas_area_code_party_service_areas')),
    sa.ForeignKeyConstraint(['check_in_id'], ['party_check_ins.id'],
                            name=op.f('fk_party_check_in_areas_check_in_id_party_check_ins')),
    sa.PrimaryKeyConstraint('check_in_id', 'area_code', name=op.f('pk_party_check_in_areas'))
    )
    op.create_table('party_service_records',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('check_in_id', BigId, nullable=False),
    sa.Column('member_id', BigId, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('hours', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['check_in_id'], ['party_check_ins.id'],
                            name=op.f('fk_party_service_records_check_in_id_party_check_ins')),
    sa.ForeignKeyConstraint(['member_id'], ['party_members.id'],
                            name=op.f('fk_party_service_records_member_id_party_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_service_records'))
    )
    op.create_index(op.f('ix_party_service_records_check_in_id'), 'party_service_records', ['check_in_id'],
                    unique=False)
    op.create_index('ix_party_service_records_kind_source_id', 'party_service_records', ['kind', 'source_id'],
                    unique=False)
    op.create_index(op.f('ix_party_service_records_member_id'), 'party_service_records', ['member_id'], unique=False)
    op.create_index(op.f('ix_party_service_records_occurred_at'), 'party_service_records', ['occurred_at'],
                    unique=False)
    op.bulk_insert(areas, [{'code': c, 'name': n, 'position': p, 'active': True} for c, n, p in SERVICE_AREAS])
    # The service.hours rule (as party.points.service.DEFAULT_RULES): 1 point an hour, at most 20 a month.
    rules = sa.table('party_point_rules',
                     sa.column('code', sa.String), sa.column('name', sa.String), sa.column('points', sa.Integer),
                     sa.column('trigger', sa.String), sa.column('monthly_cap', sa.Integer),
                     sa.column('active', sa.Boolean), sa.column('effective_from', sa.Date),
                     sa.column('created_at', sa.DateTime(timezone=True)),
                     sa.column('updated_at', sa.DateTime(timezone=True)))
    now = datetime.now(timezone.utc)
    op.bulk_insert(rules, [{'code': 'service_hours', 'name': '双报到服务时长', 'points': 1, 'trigger': 'service.hours',
                            'monthly_cap': 20, 'active': True, 'effective_from': date(2026, 1, 1),
                            'created_at': now, 'updated_at': now}])


def downgrade():
    # Entries written under the rule stay (the ledger is append-only): the rule is deactivated, not deleted, when
    # any exist.
    op.execute("UPDATE party_point_rules SET active = false WHERE code = 'service_hours'")
    op.execute("DELETE FROM party_point_rules WHERE code = 'service_hours' AND NOT EXISTS "
               "(SELECT 1 FROM party_points WHERE party_points.rule_code = 'service_hours')")
    op.drop_index(op.f('ix_party_service_records_occurred_at'), table_name='party_service_records')
    op.drop_index(op.f('ix_party_service_records_member_id'), table_name='party_service_records')
    op.drop_index('ix_party_service_records_kind_source_id', table_name='party_service_records')
    op.drop_index(op.f('ix_party_service_records_check_in_id'), table_name='party_service_records')
    op.drop_table('party_service_records')
    op.drop_table('party_check_in_areas')
    op.drop_index(op.f('ix_party_check_ins_status'), table_name='party_check_ins')
    op.drop_index(op.f('ix_party_check_ins_org_id'), table_name='party_check_ins')
    op.drop_index(op.f('ix_party_check_ins_member_id'), table_name='party_check_ins')
    op.drop_index(op.f('ix_party_check_ins_kind'), table_name='party_check_ins')
    op.drop_index(op.f('ix_party_check_ins_community_id'), table_name='party_check_ins')
    op.drop_table('party_check_ins')
    op.drop_table('party_service_areas')
    op.drop_index(op.f('ix_account_volunteer_areas_grid_id'), table_name='account_volunteer_areas')
    op.drop_table('account_volunteer_areas')

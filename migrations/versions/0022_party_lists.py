"""party layer, part 5: the three lists (needs, resources, projects), the need's life, ratings, 微心愿

Need categories are data (`party_need_categories`, the defaults seeded here, each with the kinds of resource that
fit it). A need (`party_needs`, a wish when `kind` is `wish`) links the tickets promoted into it
(`party_need_tickets`) and keeps its record (`party_need_events`). Resources (`party_resources`) hold `reserved`
within `capacity` (a check constraint); projects (`party_projects`) reserve it (`party_project_resources`), with
milestones, workers and a timeline. Ratings (`party_need_ratings`) come from residents, visits and member
organisations. Two point rules are seeded: `project_rated_good` and `wish_fulfilled`.

Revision ID: 0022_party_lists
Revises: 0021_party_alliances
Create Date: 2026-12-06 13:31:09.765070

"""
from datetime import date, datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022_party_lists'
down_revision = '0021_party_alliances'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

# code, name, resource kinds, position (as party.lists.needs.DEFAULT_CATEGORIES)
CATEGORIES = (
    ('elderly', '助老服务', ['volunteers', 'service', 'expertise'], 1),
    ('environment', '环境整治', ['volunteers', 'funds', 'goods'], 2),
    ('facilities', '设施改造', ['funds', 'expertise', 'goods'], 3),
    ('education', '助学', ['volunteers', 'expertise', 'venue', 'goods'], 4),
    ('health', '健康服务', ['expertise', 'service', 'venue'], 5),
    ('culture', '文化活动', ['venue', 'volunteers'], 6),
    ('other', '其他', ['venue', 'funds', 'volunteers', 'expertise', 'goods', 'service'], 99),
)
# code, name, points, trigger, monthly cap (as party.lists.ratings.RULES)
RULES = (
    ('project_rated_good', '项目获群众好评', 5, 'project.rated_good', None),
    ('wish_fulfilled', '认领并实现微心愿', 3, 'wish.fulfilled', 15),
)


def upgrade():
    op.create_table('party_need_categories',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('resource_kinds', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_party_need_categories'))
    )
    op.create_table('party_needs',
    sa.Column('id', BigId, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category_code', sa.String(length=32), nullable=False),
    sa.Column('grid_id', BigId, nullable=False),
    sa.Column('grid_path', sa.String(length=255), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('beneficiaries', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('raised_by', BigId, nullable=True),
    sa.Column('raised_by_org_id', BigId, nullable=True),
    sa.Column('alliance_id', BigId, nullable=True),
    sa.Column('owner_org_id', BigId, nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('resident_name', sa.String(length=64), nullable=True),
    sa.Column('resident_phone', sa.String(length=20), nullable=True),
    sa.Column('claimed_by_member_id', BigId, nullable=True),
    sa.Column('met_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alliance_id'], ['party_alliances.id'], name=op.f('fk_party_needs_alliance_id_party_alliances')),
    sa.ForeignKeyConstraint(['category_code'], ['party_need_categories.code'], name=op.f('fk_party_needs_category_code_party_need_categories')),
    sa.ForeignKeyConstraint(['claimed_by_member_id'], ['party_members.id'], name=op.f('fk_party_needs_claimed_by_member_id_party_members')),
    sa.ForeignKeyConstraint(['grid_id'], ['grid_units.id'], name=op.f('fk_party_needs_grid_id_grid_units')),
    sa.ForeignKeyConstraint(['owner_org_id'], ['party_orgs.id'], name=op.f('fk_party_needs_owner_org_id_party_orgs')),
    sa.ForeignKeyConstraint(['raised_by'], ['accounts.id'], name=op.f('fk_party_needs_raised_by_accounts')),
    sa.ForeignKeyConstraint(['raised_by_org_id'], ['party_orgs.id'], name=op.f('fk_party_needs_raised_by_org_id_party_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_needs'))
    )
    with op.batch_alter_table('party_needs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_party_needs_alliance_id'), ['alliance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_needs_claimed_by_member_id'), ['claimed_by_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_needs_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_needs_grid_id'), ['grid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_needs_grid_path'), ['grid_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_needs_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_needs_owner_org_id'), ['owner_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_needs_status'), ['status'], unique=False)

    op.create_table('party_resources',
    sa.Column('id', BigId, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('reserved', sa.Integer(), nullable=False),
    sa.Column('available_from', sa.Date(), nullable=True),
    sa.Column('available_to', sa.Date(), nullable=True),
    sa.Column('grid_id', BigId, nullable=False),
    sa.Column('grid_path', sa.String(length=255), nullable=False),
    sa.Column('owner_org_id', BigId, nullable=False),
    sa.Column('owner_member_id', BigId, nullable=True),
    sa.Column('alliance_id', BigId, nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', BigId, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('reserved >= 0 AND reserved <= capacity', name=op.f('ck_party_resources_reserved_within_capacity')),
    sa.ForeignKeyConstraint(['alliance_id'], ['party_alliances.id'], name=op.f('fk_party_resources_alliance_id_party_alliances')),
    sa.ForeignKeyConstraint(['created_by'], ['accounts.id'], name=op.f('fk_party_resources_created_by_accounts')),
    sa.ForeignKeyConstraint(['grid_id'], ['grid_units.id'], name=op.f('fk_party_resources_grid_id_grid_units')),
    sa.ForeignKeyConstraint(['owner_member_id'], ['party_members.id'], name=op.f('fk_party_resources_owner_member_id_party_members')),
    sa.ForeignKeyConstraint(['owner_org_id'], ['party_orgs.id'], name=op.f('fk_party_resources_owner_org_id_party_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_resources'))
    )
    with op.batch_alter_table('party_resources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_party_resources_alliance_id'), ['alliance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_resources_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_resources_grid_id'), ['grid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_resources_grid_path'), ['grid_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_resources_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_resources_owner_org_id'), ['owner_org_id'], unique=False)

    op.create_table('party_need_events',
    sa.Column('id', BigId, nullable=False),
    sa.Column('need_id', BigId, nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('actor_id', BigId, nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['accounts.id'], name=op.f('fk_party_need_events_actor_id_accounts')),
    sa.ForeignKeyConstraint(['need_id'], ['party_needs.id'], name=op.f('fk_party_need_events_need_id_party_needs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_need_events'))
    )
    with op.batch_alter_table('party_need_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_party_need_events_need_id'), ['need_id'], unique=False)

    op.create_table('party_need_tickets',
    sa.Column('ticket_id', BigId, nullable=False),
    sa.Column('need_id', BigId, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['need_id'], ['party_needs.id'], name=op.f('fk_party_need_tickets_need_id_party_needs')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_party_need_tickets_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_party_need_tickets'))
    )
    with op.batch_alter_table('party_need_tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_party_need_tickets_need_id'), ['need_id'], unique=False)

    op.create_table('party_projects',
    sa.Column('id', BigId, nullable=False),
    sa.Column('need_id', BigId, nullable=False),
    sa.Column('owner_org_id', BigId, nullable=False),
    sa.Column('alliance_id', BigId, nullable=True),
    sa.Column('grid_path', sa.String(length=255), nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('goal', sa.Text(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', BigId, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['alliance_id'], ['party_alliances.id'], name=op.f('fk_party_projects_alliance_id_party_alliances')),
    sa.ForeignKeyConstraint(['created_by'], ['accounts.id'], name=op.f('fk_party_projects_created_by_accounts')),
    sa.ForeignKeyConstraint(['need_id'], ['party_needs.id'], name=op.f('fk_party_projects_need_id_party_needs')),
    sa.ForeignKeyConstraint(['owner_org_id'], ['party_orgs.id'], name=op.f('fk_party_projects_owner_org_id_party_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_projects'))
    )
    with op.batch_alter_table('party_projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_party_projects_alliance_id'), ['alliance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_projects_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_projects_grid_path'), ['grid_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_projects_need_id'), ['need_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_projects_owner_org_id'), ['owner_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_projects_status'), ['status'], unique=False)

    op.create_table('party_need_ratings',
    sa.Column('id', BigId, nullable=False),
    sa.Column('need_id', BigId, nullable=False),
    sa.Column('project_id', BigId, nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('rater_org_id', BigId, nullable=True),
    sa.Column('ticket_id', BigId, nullable=True),
    sa.Column('recorded_by', BigId, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('rating BETWEEN 1 AND 5', name=op.f('ck_party_need_ratings_rating_range')),
    sa.ForeignKeyConstraint(['need_id'], ['party_needs.id'], name=op.f('fk_party_need_ratings_need_id_party_needs')),
    sa.ForeignKeyConstraint(['project_id'], ['party_projects.id'], name=op.f('fk_party_need_ratings_project_id_party_projects')),
    sa.ForeignKeyConstraint(['rater_org_id'], ['party_orgs.id'], name=op.f('fk_party_need_ratings_rater_org_id_party_orgs')),
    sa.ForeignKeyConstraint(['recorded_by'], ['accounts.id'], name=op.f('fk_party_need_ratings_recorded_by_accounts')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_party_need_ratings_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_need_ratings')),
    sa.UniqueConstraint('project_id', 'rater_org_id', name='uq_party_need_ratings_project_org'),
    sa.UniqueConstraint('ticket_id', name='uq_party_need_ratings_ticket')
    )
    with op.batch_alter_table('party_need_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_party_need_ratings_need_id'), ['need_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_need_ratings_project_id'), ['project_id'], unique=False)

    op.create_table('party_project_events',
    sa.Column('id', BigId, nullable=False),
    sa.Column('project_id', BigId, nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('actor_id', BigId, nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['accounts.id'], name=op.f('fk_party_project_events_actor_id_accounts')),
    sa.ForeignKeyConstraint(['project_id'], ['party_projects.id'], name=op.f('fk_party_project_events_project_id_party_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_project_events'))
    )
    with op.batch_alter_table('party_project_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_party_project_events_project_id'), ['project_id'], unique=False)

    op.create_table('party_project_milestones',
    sa.Column('id', BigId, nullable=False),
    sa.Column('project_id', BigId, nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['party_projects.id'], name=op.f('fk_party_project_milestones_project_id_party_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_project_milestones'))
    )
    with op.batch_alter_table('party_project_milestones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_party_project_milestones_project_id'), ['project_id'], unique=False)

    op.create_table('party_project_resources',
    sa.Column('id', BigId, nullable=False),
    sa.Column('project_id', BigId, nullable=False),
    sa.Column('resource_id', BigId, nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('released', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['party_projects.id'], name=op.f('fk_party_project_resources_project_id_party_projects')),
    sa.ForeignKeyConstraint(['resource_id'], ['party_resources.id'], name=op.f('fk_party_project_resources_resource_id_party_resources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_project_resources'))
    )
    with op.batch_alter_table('party_project_resources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_party_project_resources_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_project_resources_resource_id'), ['resource_id'], unique=False)

    op.create_table('party_project_workers',
    sa.Column('project_id', BigId, nullable=False),
    sa.Column('member_id', BigId, nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['party_members.id'], name=op.f('fk_party_project_workers_member_id_party_members')),
    sa.ForeignKeyConstraint(['project_id'], ['party_projects.id'], name=op.f('fk_party_project_workers_project_id_party_projects')),
    sa.PrimaryKeyConstraint('project_id', 'member_id', name=op.f('pk_party_project_workers'))
    )
    with op.batch_alter_table('party_project_workers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_party_project_workers_member_id'), ['member_id'], unique=False)

    categories = sa.table('party_need_categories', sa.column('code'), sa.column('name'),
                          sa.column('resource_kinds', sa.JSON), sa.column('position'), sa.column('active'))
    op.bulk_insert(categories, [
        {'code': code, 'name': name, 'resource_kinds': kinds, 'position': position, 'active': True}
        for code, name, kinds, position in CATEGORIES
    ])
    now = datetime.now(timezone.utc)
    rules = sa.table('party_point_rules', sa.column('code'), sa.column('name'), sa.column('points'),
                     sa.column('trigger'), sa.column('monthly_cap'), sa.column('active'),
                     sa.column('effective_from'), sa.column('created_at'), sa.column('updated_at'))
    versions = sa.table('party_point_rule_versions', sa.column('code'), sa.column('effective_from'),
                        sa.column('points'), sa.column('monthly_cap'), sa.column('active'), sa.column('created_at'))
    op.bulk_insert(rules, [
        {'code': code, 'name': name, 'points': points, 'trigger': trigger, 'monthly_cap': cap, 'active': True,
         'effective_from': date(2026, 1, 1), 'created_at': now, 'updated_at': now}
        for code, name, points, trigger, cap in RULES
    ])
    op.bulk_insert(versions, [
        {'code': code, 'effective_from': date(2026, 1, 1), 'points': points, 'monthly_cap': cap, 'active': True,
         'created_at': now}
        for code, name, points, trigger, cap in RULES
    ])


def downgrade():
    codes = ', '.join(f"'{code}'" for code, *_ in RULES)
    op.execute(f"DELETE FROM party_point_rule_versions WHERE code IN ({codes})")
    op.execute(f"DELETE FROM party_points WHERE rule_code IN ({codes})")
    op.execute(f"DELETE FROM party_point_rules WHERE code IN ({codes})")
    with op.batch_alter_table('party_project_workers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_party_project_workers_member_id'))

    op.drop_table('party_project_workers')
    with op.batch_alter_table('party_project_resources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_party_project_resources_resource_id'))
        batch_op.drop_index(batch_op.f('ix_party_project_resources_project_id'))

    op.drop_table('party_project_resources')
    with op.batch_alter_table('party_project_milestones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_party_project_milestones_project_id'))

    op.drop_table('party_project_milestones')
    with op.batch_alter_table('party_project_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_party_project_events_project_id'))

    op.drop_table('party_project_events')
    with op.batch_alter_table('party_need_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_party_need_ratings_project_id'))
        batch_op.drop_index(batch_op.f('ix_party_need_ratings_need_id'))

    op.drop_table('party_need_ratings')
    with op.batch_alter_table('party_projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_party_projects_status'))
        batch_op.drop_index(batch_op.f('ix_party_projects_owner_org_id'))
        batch_op.drop_index(batch_op.f('ix_party_projects_grid_path'))
        batch_op.drop_index(batch_op.f('ix_party_projects_created_at'))
        batch_op.drop_index(batch_op.f('ix_party_projects_alliance_id'))

    op.drop_table('party_projects')
    with op.batch_alter_table('party_need_tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_party_need_tickets_need_id'))

    op.drop_table('party_need_tickets')
    with op.batch_alter_table('party_need_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_party_need_events_need_id'))

    op.drop_table('party_need_events')
    with op.batch_alter_table('party_resources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_party_resources_owner_org_id'))
        batch_op.drop_index(batch_op.f('ix_party_resources_kind'))
        batch_op.drop_index(batch_op.f('ix_party_resources_grid_path'))
        batch_op.drop_index(batch_op.f('ix_party_resources_grid_id'))
        batch_op.drop_index(batch_op.f('ix_party_resources_created_at'))
        batch_op.drop_index(batch_op.f('ix_party_resources_alliance_id'))

    op.drop_table('party_resources')
    with op.batch_alter_table('party_needs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_party_needs_status'))
        batch_op.drop_index(batch_op.f('ix_party_needs_owner_org_id'))
        batch_op.drop_index(batch_op.f('ix_party_needs_kind'))
        batch_op.drop_index(batch_op.f('ix_party_needs_grid_path'))
        batch_op.drop_index(batch_op.f('ix_party_needs_grid_id'))
        batch_op.drop_index(batch_op.f('ix_party_needs_created_at'))
        batch_op.drop_index(batch_op.f('ix_party_needs_claimed_by_member_id'))
        batch_op.drop_index(batch_op.f('ix_party_needs_alliance_id'))

    op.drop_table('party_needs')
    op.drop_table('party_need_categories')

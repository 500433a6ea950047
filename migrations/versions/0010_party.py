"""party layer, part 1: party organisations on the territory, members by class, party staff placements

The grid units' two strings (party_branch_name, party_branch_secretary) become organisations built on their
units (a branch each, its secretary a member); the strings stay as the units' read-only summary, kept by the
party layer.

A worker profile's stored `party_member` flag goes: whether an account belongs to a party member is now derived
from the register, and kept on the account (`accounts.party_member`, maintained by the party layer) so tickets and
worker profiles read it with the account. The old flags named no organisation, so no member record can be made
from them: they are dropped (the downgrade restores the column from the accounts' flags). The access log of
personal data (`personal_data_reads`) gains `subject_id`, the record read when it is not a ticket (a member).

Revision ID: 0010_party
Revises: 0009_stats_speed
Create Date: 2026-12-06 08:45:00.000000

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_party'
down_revision = '0009_stats_speed'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

MEMBER_CLASSES = (
    ('serving', '在职党员', 1),
    ('retired', '离退休党员', 2),
    ('mobile', '流动党员', 3),
    ('difficulty', '困难党员', 4),
)


def upgrade():
    classes = op.create_table('party_member_classes',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_party_member_classes'))
    )
    op.create_table('party_orgs',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('parent_id', BigId, nullable=True),
    sa.Column('path', sa.String(length=255), nullable=False),
    sa.Column('secretary_id', BigId, nullable=True),
    sa.Column('grid_id', BigId, nullable=True),
    sa.Column('host_kind', sa.String(length=32), nullable=True),
    sa.Column('host_name', sa.String(length=128), nullable=True),
    sa.Column('host_address', sa.String(length=255), nullable=True),
    sa.Column('host_lat', sa.Float(), nullable=True),
    sa.Column('host_lng', sa.Float(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grid_id'], ['grid_units.id'], name=op.f('fk_party_orgs_grid_id_grid_units')),
    sa.ForeignKeyConstraint(['parent_id'], ['party_orgs.id'], name=op.f('fk_party_orgs_parent_id_party_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_orgs')),
    sa.UniqueConstraint('path', name=op.f('uq_party_orgs_path'))
    )
    op.create_index(op.f('ix_party_orgs_grid_id'), 'party_orgs', ['grid_id'], unique=False)
    op.create_index(op.f('ix_party_orgs_kind'), 'party_orgs', ['kind'], unique=False)
    op.create_index(op.f('ix_party_orgs_parent_id'), 'party_orgs', ['parent_id'], unique=False)
    op.create_index(op.f('ix_party_orgs_updated_at'), 'party_orgs', ['updated_at'], unique=False)
    op.create_table('party_members',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('org_id', BigId, nullable=False),
    sa.Column('class_code', sa.String(length=32), nullable=False),
    sa.Column('joined_on', sa.Date(), nullable=True),
    sa.Column('left_on', sa.Date(), nullable=True),
    sa.Column('account_id', BigId, nullable=True),
    sa.Column('home_grid_id', BigId, nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_party_members_account_id_accounts')),
    sa.ForeignKeyConstraint(['class_code'], ['party_member_classes.code'],
                            name=op.f('fk_party_members_class_code_party_member_classes')),
    sa.ForeignKeyConstraint(['home_grid_id'], ['grid_units.id'], name=op.f('fk_party_members_home_grid_id_grid_units')),
    sa.ForeignKeyConstraint(['org_id'], ['party_orgs.id'], name=op.f('fk_party_members_org_id_party_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_members')),
    sa.UniqueConstraint('account_id', name=op.f('uq_party_members_account_id'))
    )
    op.create_index(op.f('ix_party_members_home_grid_id'), 'party_members', ['home_grid_id'], unique=False)
    op.create_index(op.f('ix_party_members_org_id'), 'party_members', ['org_id'], unique=False)
    op.create_index(op.f('ix_party_members_updated_at'), 'party_members', ['updated_at'], unique=False)
    with op.batch_alter_table('party_orgs', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_party_orgs_secretary_id_party_members', 'party_members', ['secretary_id'],
                                    ['id'])
    op.create_table('party_staff_placements',
    sa.Column('account_id', BigId, nullable=False),
    sa.Column('org_id', BigId, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_party_staff_placements_account_id_accounts')),
    sa.ForeignKeyConstraint(['org_id'], ['party_orgs.id'], name=op.f('fk_party_staff_placements_org_id_party_orgs')),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_party_staff_placements'))
    )
    op.create_index(op.f('ix_party_staff_placements_org_id'), 'party_staff_placements', ['org_id'], unique=False)
    op.bulk_insert(classes, [{'code': c, 'name': n, 'position': p, 'active': True} for c, n, p in MEMBER_CLASSES])
    _branches_from_unit_strings()
    # No member has an account yet: every account starts as "not a party member".
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('party_member', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.alter_column('party_member', server_default=None)
    with op.batch_alter_table('worker_profiles', schema=None) as batch_op:
        batch_op.drop_column('party_member')
    with op.batch_alter_table('personal_data_reads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_id', BigId, nullable=True))


def _branches_from_unit_strings():
    """Each unit's party_branch_name becomes a branch built on it; its secretary's name, a member and secretary."""
    connection = op.get_bind()
    now = datetime.now(timezone.utc)
    units = connection.execute(sa.text(
        'SELECT id, party_branch_name, party_branch_secretary FROM grid_units '
        'WHERE party_branch_name IS NOT NULL ORDER BY id'
    )).all()
    orgs, members = sa.table('party_orgs', *[sa.column(c) for c in (
        'id', 'kind', 'name', 'parent_id', 'path', 'secretary_id', 'grid_id', 'active', 'created_at', 'updated_at')]), \
        sa.table('party_members', *[sa.column(c) for c in (
            'id', 'name', 'org_id', 'class_code', 'active', 'created_at', 'updated_at')])
    for unit_id, name, secretary in units:
        org_id = connection.execute(orgs.insert().values(
            kind='branch', name=name, path=f'/unit-{unit_id}/', grid_id=unit_id, active=True,
            created_at=now, updated_at=now,
        ).returning(orgs.c.id)).scalar_one()
        values = {'path': f'/{org_id}/'}
        if secretary:
            values['secretary_id'] = connection.execute(members.insert().values(
                name=secretary, org_id=org_id, class_code='serving', active=True, created_at=now, updated_at=now,
            ).returning(members.c.id)).scalar_one()
        connection.execute(orgs.update().where(orgs.c.id == org_id).values(**values))


def downgrade():
    with op.batch_alter_table('personal_data_reads', schema=None) as batch_op:
        batch_op.drop_column('subject_id')
    with op.batch_alter_table('worker_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('party_member', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        'UPDATE worker_profiles SET party_member = '
        '(SELECT accounts.party_member FROM accounts WHERE accounts.id = worker_profiles.account_id)'
    )
    with op.batch_alter_table('worker_profiles', schema=None) as batch_op:
        batch_op.alter_column('party_member', server_default=None)
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('party_member')
    op.drop_index(op.f('ix_party_staff_placements_org_id'), table_name='party_staff_placements')
    op.drop_table('party_staff_placements')
    with op.batch_alter_table('party_orgs', schema=None) as batch_op:
        batch_op.drop_constraint('fk_party_orgs_secretary_id_party_members', type_='foreignkey')
    op.drop_index(op.f('ix_party_members_updated_at'), table_name='party_members')
    op.drop_index(op.f('ix_party_members_org_id'), table_name='party_members')
    op.drop_index(op.f('ix_party_members_home_grid_id'), table_name='party_members')
    op.drop_table('party_members')
    op.drop_index(op.f('ix_party_orgs_updated_at'), table_name='party_orgs')
    op.drop_index(op.f('ix_party_orgs_parent_id'), table_name='party_orgs')
    op.drop_index(op.f('ix_party_orgs_kind'), table_name='party_orgs')
    op.drop_index(op.f('ix_party_orgs_grid_id'), table_name='party_orgs')
    op.drop_table('party_orgs')
    op.drop_table('party_member_classes')

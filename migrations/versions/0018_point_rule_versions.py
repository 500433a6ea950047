"""point rules keep their versions: a change adds one from its day on, earlier days keep theirs

Each rule's current points, cap and state become its first version (from its `effective_from`).

Revision ID: 0018_point_rule_versions
Revises: 0017_field_loop
Create Date: 2026-12-06 11:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_point_rule_versions'
down_revision = '0017_field_loop'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'party_point_rule_versions',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('effective_from', sa.Date(), nullable=False),
        sa.Column('points', sa.Integer(), nullable=False),
        sa.Column('monthly_cap', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['code'], ['party_point_rules.code'], name=op.f('fk_party_point_rule_versions_code_party_point_rules')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_party_point_rule_versions')),
        sa.UniqueConstraint('code', 'effective_from', name='uq_party_point_rule_versions_code_day'),
    )
    op.execute(
        "INSERT INTO party_point_rule_versions (code, effective_from, points, monthly_cap, active, created_at) "
        "SELECT code, effective_from, points, monthly_cap, active, created_at FROM party_point_rules"
    )


def downgrade():
    op.drop_table('party_point_rule_versions')

"""refresh tokens remember their successor, so a retried refresh gets the same pair back (the grace window)

Revision ID: 0012_refresh_grace
Revises: 0011_party_points
Create Date: 2026-12-06 09:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_refresh_grace'
down_revision = '0011_party_points'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replaced_by', sa.String(length=36), nullable=True))


def downgrade():
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_column('replaced_by')

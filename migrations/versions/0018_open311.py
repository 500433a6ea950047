"""open311: categories' extra questions and requests' answers; what Open311 clients filed and commented

Revision ID: 0018_open311
Revises: 0012_refresh_grace
Create Date: 2026-12-06 10:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_open311'
down_revision = '0012_refresh_grace'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attributes', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('resident_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attributes', sa.JSON(), nullable=False, server_default='{}'))


def downgrade():
    with op.batch_alter_table('resident_requests', schema=None) as batch_op:
        batch_op.drop_column('attributes')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_column('attributes')

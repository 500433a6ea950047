"""grid boundaries, figures, party branch, index state

Revision ID: 0002_grid_boundaries
Revises: 0001_foundation
Create Date: 2026-11-23 08:34:54.156672

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_grid_boundaries'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('grid_index_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grid_index_state'))
    )
    with op.batch_alter_table('grid_units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('boundary', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('households', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('population', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('party_branch_name', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('party_branch_secretary', sa.String(length=64), nullable=True))



def downgrade():
    with op.batch_alter_table('grid_units', schema=None) as batch_op:
        batch_op.drop_column('party_branch_secretary')
        batch_op.drop_column('party_branch_name')
        batch_op.drop_column('population')
        batch_op.drop_column('households')
        batch_op.drop_column('boundary')

    op.drop_table('grid_index_state')

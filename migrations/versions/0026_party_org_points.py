"""organisation points: a points entry without a member is the organisation's own (issue 21 section 3, 评单), and
the `project_org_rated_good` rule it is written by

`party_points.member_id` becomes nullable (an organisation's own entry names only `org_id`); the rule
`project_org_rated_good` (trigger `project.org_rated_good`: 2 points per good rating of the organisation's project,
at most 20 a month per organisation) is seeded with its first version, as `party.lists.ratings.RULES` says.

On SQLite the column change rebuilds the table (batch mode), with foreign keys off while migrating (env.py).

Revision ID: 0026_party_org_points
Revises: 0025_party_rollups_more
Create Date: 2026-12-06 16:45:00.000000
"""

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0026_party_org_points"
down_revision = "0025_party_rollups_more"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
RULE = ("project_org_rated_good", "组织项目获好评", 2, "project.org_rated_good", 20)


def upgrade():
    _seed_rule()
    with op.batch_alter_table("party_points", schema=None) as batch_op:
        batch_op.alter_column("member_id", existing_type=BigId, nullable=True)


def _seed_rule():
    code, name, points, trigger, cap = RULE
    now = datetime.now(UTC)
    rules = sa.table(
        "party_point_rules",
        *(sa.column(c) for c in ("code", "name", "points", "trigger", "monthly_cap", "active")),
        sa.column("effective_from"),
        sa.column("created_at"),
        sa.column("updated_at"),
    )
    versions = sa.table(
        "party_point_rule_versions",
        *(sa.column(c) for c in ("code", "effective_from", "points", "monthly_cap", "active", "created_at")),
    )
    first_day = date(2026, 1, 1)
    op.bulk_insert(
        rules,
        [
            {
                "code": code,
                "name": name,
                "points": points,
                "trigger": trigger,
                "monthly_cap": cap,
                "active": True,
                "effective_from": first_day,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    op.bulk_insert(
        versions,
        [
            {
                "code": code,
                "effective_from": first_day,
                "points": points,
                "monthly_cap": cap,
                "active": True,
                "created_at": now,
            }
        ],
    )


def downgrade():
    code = RULE[0]
    op.execute(f"DELETE FROM party_point_rule_versions WHERE code = '{code}'")
    # An organisation's own entries cannot stay once every entry needs a member: what corrects them goes first.
    op.execute("DELETE FROM party_points WHERE corrects_id IN (SELECT id FROM party_points WHERE member_id IS NULL)")
    op.execute("DELETE FROM party_points WHERE member_id IS NULL")
    op.execute(f"DELETE FROM party_points WHERE rule_code = '{code}'")
    op.execute(f"DELETE FROM party_point_rules WHERE code = '{code}'")
    with op.batch_alter_table("party_points", schema=None) as batch_op:
        batch_op.alter_column("member_id", existing_type=BigId, nullable=False)

"""party building part 2: alliances (党建联合体)

Themes are data (`party_alliance_themes`, seeded here); alliances with their approval and status
(`party_alliances`), their members' commitments and dated membership (`party_alliance_members`, at most one live
membership per organisation and alliance) and the record of every change (`party_alliance_changes`). Joint
meetings are activities of the new kind `alliance_meeting` (seeded here) carrying `alliance_id`, with the member
organisations present (`party_alliance_meeting_orgs`) and the decisions taken (`party_alliance_meeting_decisions`,
each may open or review a project of the projects list).

Revision ID: 0021_party_alliances
Revises: 0020_working_days
Create Date: 2026-12-06 13:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021_party_alliances"
down_revision = "0020_working_days"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# code, name, position (as party.alliances.service.DEFAULT_THEMES)
DEFAULT_THEMES = (
    ("grassroots_governance", "基层治理", 1),
    ("red_property", "红色物业", 2),
    ("enterprise_support", "助企发展", 3),
    ("volunteer_service", "志愿服务", 4),
    ("caring_service", "暖心服务", 5),
)
MEETING_KIND = {"code": "alliance_meeting", "name": "联席会议", "yearly_minimum": 0, "position": 7, "active": True}


def upgrade():
    themes = op.create_table(
        "party_alliance_themes",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_party_alliance_themes")),
    )
    op.create_table(
        "party_alliances",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("theme_code", sa.String(length=32), nullable=False),
        sa.Column("lead_org_id", BigId, nullable=False),
        sa.Column("grid_id", BigId, nullable=False),
        sa.Column("charter", sa.Text(), nullable=True),
        sa.Column("formed_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("approved_by_id", BigId, nullable=True),
        sa.Column("approved_on", sa.Date(), nullable=True),
        sa.Column("dissolved_on", sa.Date(), nullable=True),
        sa.Column("dissolve_reason", sa.Text(), nullable=True),
        sa.Column("created_by", BigId, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["accounts.id"], name=op.f("fk_party_alliances_approved_by_id_accounts")
        ),
        sa.ForeignKeyConstraint(["created_by"], ["accounts.id"], name=op.f("fk_party_alliances_created_by_accounts")),
        sa.ForeignKeyConstraint(["grid_id"], ["grid_units.id"], name=op.f("fk_party_alliances_grid_id_grid_units")),
        sa.ForeignKeyConstraint(
            ["lead_org_id"], ["party_orgs.id"], name=op.f("fk_party_alliances_lead_org_id_party_orgs")
        ),
        sa.ForeignKeyConstraint(
            ["theme_code"],
            ["party_alliance_themes.code"],
            name=op.f("fk_party_alliances_theme_code_party_alliance_themes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_alliances")),
    )
    op.create_index(op.f("ix_party_alliances_grid_id"), "party_alliances", ["grid_id"], unique=False)
    op.create_index(op.f("ix_party_alliances_lead_org_id"), "party_alliances", ["lead_org_id"], unique=False)
    op.create_index(op.f("ix_party_alliances_status"), "party_alliances", ["status"], unique=False)
    op.create_table(
        "party_alliance_members",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("alliance_id", BigId, nullable=False),
        sa.Column("org_id", BigId, nullable=False),
        sa.Column("commitment", sa.Text(), nullable=True),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("left_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alliance_id"], ["party_alliances.id"], name=op.f("fk_party_alliance_members_alliance_id_party_alliances")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["party_orgs.id"], name=op.f("fk_party_alliance_members_org_id_party_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_alliance_members")),
    )
    op.create_index(
        op.f("ix_party_alliance_members_alliance_id"), "party_alliance_members", ["alliance_id"], unique=False
    )
    op.create_index(op.f("ix_party_alliance_members_org_id"), "party_alliance_members", ["org_id"], unique=False)
    op.create_index(
        "uq_party_alliance_members_live",
        "party_alliance_members",
        ["alliance_id", "org_id"],
        unique=True,
        sqlite_where=sa.text("left_on IS NULL"),
        postgresql_where=sa.text("left_on IS NULL"),
    )
    op.create_table(
        "party_alliance_changes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("alliance_id", BigId, nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("actor_id", BigId, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["accounts.id"], name=op.f("fk_party_alliance_changes_actor_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["alliance_id"], ["party_alliances.id"], name=op.f("fk_party_alliance_changes_alliance_id_party_alliances")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_alliance_changes")),
    )
    op.create_index(
        op.f("ix_party_alliance_changes_alliance_id"), "party_alliance_changes", ["alliance_id"], unique=False
    )
    with op.batch_alter_table("party_activities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alliance_id", BigId, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_party_activities_alliance_id_party_alliances"), "party_alliances", ["alliance_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_party_activities_alliance_id"), ["alliance_id"], unique=False)
    op.create_table(
        "party_alliance_meeting_orgs",
        sa.Column("activity_id", BigId, nullable=False),
        sa.Column("org_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["party_activities.id"],
            name=op.f("fk_party_alliance_meeting_orgs_activity_id_party_activities"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["party_orgs.id"], name=op.f("fk_party_alliance_meeting_orgs_org_id_party_orgs")
        ),
        sa.PrimaryKeyConstraint("activity_id", "org_id", name=op.f("pk_party_alliance_meeting_orgs")),
    )
    op.create_index(
        op.f("ix_party_alliance_meeting_orgs_org_id"), "party_alliance_meeting_orgs", ["org_id"], unique=False
    )
    op.create_table(
        "party_alliance_meeting_decisions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("activity_id", BigId, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("project_id", BigId, nullable=True),
        sa.Column("project_action", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["party_activities.id"],
            name=op.f("fk_party_alliance_meeting_decisions_activity_id_party_activities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_alliance_meeting_decisions")),
    )
    op.create_index(
        op.f("ix_party_alliance_meeting_decisions_activity_id"),
        "party_alliance_meeting_decisions",
        ["activity_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_party_alliance_meeting_decisions_project_id"),
        "party_alliance_meeting_decisions",
        ["project_id"],
        unique=False,
    )
    op.bulk_insert(themes, [{"code": c, "name": n, "position": p, "active": True} for c, n, p in DEFAULT_THEMES])
    kinds = sa.table("party_activity_kinds", *(sa.column(name) for name in MEETING_KIND))
    op.bulk_insert(kinds, [MEETING_KIND])


def downgrade():
    op.execute(
        "DELETE FROM party_activity_kinds WHERE code = 'alliance_meeting' AND NOT EXISTS "
        "(SELECT 1 FROM party_activities WHERE party_activities.kind_code = 'alliance_meeting')"
    )
    op.drop_index(op.f("ix_party_alliance_meeting_decisions_project_id"), table_name="party_alliance_meeting_decisions")
    op.drop_index(
        op.f("ix_party_alliance_meeting_decisions_activity_id"), table_name="party_alliance_meeting_decisions"
    )
    op.drop_table("party_alliance_meeting_decisions")
    op.drop_index(op.f("ix_party_alliance_meeting_orgs_org_id"), table_name="party_alliance_meeting_orgs")
    op.drop_table("party_alliance_meeting_orgs")
    with op.batch_alter_table("party_activities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_party_activities_alliance_id"))
        batch_op.drop_constraint(batch_op.f("fk_party_activities_alliance_id_party_alliances"), type_="foreignkey")
        batch_op.drop_column("alliance_id")
    op.drop_index(op.f("ix_party_alliance_changes_alliance_id"), table_name="party_alliance_changes")
    op.drop_table("party_alliance_changes")
    op.drop_index("uq_party_alliance_members_live", table_name="party_alliance_members")
    op.drop_index(op.f("ix_party_alliance_members_org_id"), table_name="party_alliance_members")
    op.drop_index(op.f("ix_party_alliance_members_alliance_id"), table_name="party_alliance_members")
    op.drop_table("party_alliance_members")
    op.drop_index(op.f("ix_party_alliances_status"), table_name="party_alliances")
    op.drop_index(op.f("ix_party_alliances_lead_org_id"), table_name="party_alliances")
    op.drop_index(op.f("ix_party_alliances_grid_id"), table_name="party_alliances")
    op.drop_table("party_alliances")
    op.drop_table("party_alliance_themes")

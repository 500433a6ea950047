"""Party alliances (党建联合体): organisations of different units joined for a purpose under a lead organisation,
approved for the territory they serve, with their members' commitments (共建协议) and their joint meetings
(联席会议), which are activities of kind `alliance_meeting` held by the lead organisation."""

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime, str_enum
from kernel.extensions import db
from party.orgs.models import PartyOrg


class AllianceTheme(db.Model):
    """基层治理, 红色物业, 助企发展, 志愿服务, …: data an admin can extend."""

    __tablename__ = "party_alliance_themes"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class AllianceStatus(enum.StrEnum):
    PROPOSED = "proposed"  # awaiting 审批备案 by a supervisor over its territory
    ACTIVE = "active"
    DISSOLVED = "dissolved"


class Alliance(db.Model):
    __tablename__ = "party_alliances"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    theme_code: Mapped[str] = mapped_column(String(32), ForeignKey("party_alliance_themes.code"))
    lead_org_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_orgs.id"), index=True)  # 牵头党组织
    grid_id: Mapped[int] = mapped_column(BigId, ForeignKey("grid_units.id"), index=True)  # the subtree it serves
    charter: Mapped[str | None] = mapped_column(Text)  # 章程
    formed_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[AllianceStatus] = mapped_column(str_enum(AllianceStatus, 16), index=True)
    approved_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    approved_on: Mapped[date | None] = mapped_column(Date)
    dissolved_on: Mapped[date | None] = mapped_column(Date)
    dissolve_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer)  # If-Match on PATCH; two changes at once: the second is 409

    __mapper_args__ = {"version_id_col": version}

    lead_org: Mapped[PartyOrg] = relationship()
    members: Mapped[list["AllianceMember"]] = relationship(
        order_by="AllianceMember.id", back_populates="alliance", viewonly=True
    )


class AllianceMember(db.Model):
    """An organisation's membership of an alliance: its commitment, from `joined_on` until `left_on` (kept on
    record when it leaves; it may join again later). Its own party relations are untouched."""

    __tablename__ = "party_alliance_members"
    __table_args__ = (
        # At most one live membership of an organisation in an alliance.
        Index(
            "uq_party_alliance_members_live",
            "alliance_id",
            "org_id",
            unique=True,
            sqlite_where=text("left_on IS NULL"),
            postgresql_where=text("left_on IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alliance_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_alliances.id"), index=True)
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_orgs.id"), index=True)
    commitment: Mapped[str | None] = mapped_column(Text)  # 共建协议
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    left_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    alliance: Mapped[Alliance] = relationship(back_populates="members")
    org: Mapped[PartyOrg] = relationship()


class AllianceChange(db.Model):
    """Who proposed, changed, approved or dissolved an alliance, or changed its members, when and what (append-only)."""

    __tablename__ = "party_alliance_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alliance_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_alliances.id"), index=True)
    action: Mapped[str] = mapped_column(String(24))  # create, update, approve, dissolve, member_add, member_remove
    actor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    note: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MeetingOrg(db.Model):
    """A member organisation present at an alliance meeting (an activity with `alliance_id`)."""

    __tablename__ = "party_alliance_meeting_orgs"

    activity_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_activities.id"), primary_key=True)
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_orgs.id"), primary_key=True, index=True)

    org: Mapped[PartyOrg] = relationship()


class DecisionAction(enum.StrEnum):
    OPEN = "open"  # the decision opens the project
    REVIEW = "review"  # the meeting reviewed the project's progress


class MeetingDecision(db.Model):
    """A decision an alliance meeting took, in order; it may open or review a project of the projects list."""

    __tablename__ = "party_alliance_meeting_decisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    activity_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_activities.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    # A project of the projects list (party_projects: a later part of the schema, so no foreign key here; the
    # service checks it exists and belongs to the alliance's territory).
    project_id: Mapped[int | None] = mapped_column(BigId, index=True)
    project_action: Mapped[DecisionAction | None] = mapped_column(str_enum(DecisionAction, 16))

"""Organisation life on record (全程纪实): the kinds of activity (data), activities, their attendance and the
record of every change made to them."""

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime, str_enum
from kernel.extensions import db
from party.members.models import PartyMember
from party.orgs.models import PartyOrg


class ActivityKind(db.Model):
    """三会一课, 主题党日, 志愿服务, …: data an admin can extend, each with the yearly minimum a branch holds."""

    __tablename__ = "party_activity_kinds"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    yearly_minimum: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ActivityStatus(enum.StrEnum):
    HELD = "held"
    CANCELLED = "cancelled"  # recorded in error or called off: kept on record, counts for nothing


class Activity(db.Model):
    """An activity an organisation held; never deleted: a cancelled one stays on record."""

    __tablename__ = "party_activities"
    __table_args__ = (Index("ix_party_activities_org_id_held_at", "org_id", "held_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_orgs.id"))
    kind_code: Mapped[str] = mapped_column(String(32), ForeignKey("party_activity_kinds.code"))
    # Set on an alliance's joint meeting (kind `alliance_meeting`, held by its lead organisation: party.alliances).
    alliance_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("party_alliances.id"), index=True)
    title: Mapped[str] = mapped_column(String(128))
    held_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    hours: Mapped[Decimal] = mapped_column(Numeric(5, 2, asdecimal=True))  # its length: what a present member served
    place: Mapped[str | None] = mapped_column(String(255))
    minutes: Mapped[str | None] = mapped_column(Text)  # 会议记录
    status: Mapped[ActivityStatus] = mapped_column(str_enum(ActivityStatus, 16), default=ActivityStatus.HELD)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Every correction is a compare-and-set: of two made at once, the second is 409 (its difference would be
    # computed from attendance that is no longer there).
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}

    org: Mapped[PartyOrg] = relationship()
    attendance: Mapped[list["Attendance"]] = relationship(
        order_by="Attendance.member_id", cascade="all, delete-orphan", back_populates="activity"
    )


class Attendance(db.Model):
    """A member's mark at an activity: present, or absent with a reason (one mark per member, so never both)."""

    __tablename__ = "party_activity_attendance"

    activity_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_activities.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_members.id"), primary_key=True, index=True)
    present: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(200))  # why absent (请假 …)

    activity: Mapped[Activity] = relationship(back_populates="attendance")
    member: Mapped[PartyMember] = relationship()


class ActivityChange(db.Model):
    """Who recorded, corrected or cancelled an activity, when, and what changed (append-only)."""

    __tablename__ = "party_activity_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    activity_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_activities.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # create, update, cancel
    actor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    note: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

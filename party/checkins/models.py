"""双报到: service areas (data), check-ins with a community, and the service records of confirmed members."""

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Column, Date, ForeignKey, Index, Integer, Numeric, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime, str_enum
from kernel.extensions import db


class ServiceArea(db.Model):
    """环境整治, 助老, 矛盾调解, 文明劝导, …: what a check-in offers to serve in; data an admin edits."""

    __tablename__ = "party_service_areas"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CheckInKind(enum.StrEnum):
    MEMBER = "member"  # 党员报到: a serving member with the community where they live
    UNIT = "unit"  # 单位报到: a host organisation with a community


class CheckInStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    ENDED = "ended"


LIVE_STATUSES = (CheckInStatus.PENDING, CheckInStatus.CONFIRMED)

check_in_areas = Table(
    "party_check_in_areas",
    db.metadata,
    Column("check_in_id", BigId, ForeignKey("party_check_ins.id"), primary_key=True),
    Column("area_code", String(32), ForeignKey("party_service_areas.code"), primary_key=True),
)


class CheckIn(db.Model):
    """One registration with a community: pending, then confirmed or rejected, and ended on a day (never deleted)."""

    __tablename__ = "party_check_ins"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[CheckInKind] = mapped_column(str_enum(CheckInKind, 16), index=True)
    member_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("party_members.id"), index=True)
    # The organisation reported for: the unit itself, or the member's organisation when they checked in.
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_orgs.id"), index=True)
    community_id: Mapped[int] = mapped_column(BigId, ForeignKey("grid_units.id"), index=True)
    status: Mapped[CheckInStatus] = mapped_column(str_enum(CheckInStatus, 16), index=True)
    # "member:<id>" or "unit:<org id>" while pending or confirmed, else null: unique, so one live check-in each.
    live_key: Mapped[str | None] = mapped_column(String(48), unique=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    decided_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    ended_on: Mapped[date | None] = mapped_column(Date)
    ended_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    end_reason: Mapped[str | None] = mapped_column(Text)
    # The account given volunteer scope on the community at confirmation, and whether it was made for it.
    account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    account_created: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    areas: Mapped[list[ServiceArea]] = relationship(secondary=check_in_areas, order_by=ServiceArea.position)

    @property
    def service_areas(self) -> list[str]:
        """The chosen areas' codes, in display order."""
        return [area.code for area in self.areas]


class RecordKind(enum.StrEnum):
    TICKET = "ticket"  # a ticket the member resolved in the community
    ACTIVITY = "activity"  # an activity the member attended


class ServiceRecord(db.Model):
    """One service of a confirmed member, with hours; withdrawn (never deleted) when its ticket is reopened or the
    attendance corrected."""

    __tablename__ = "party_service_records"
    __table_args__ = (Index("ix_party_service_records_kind_source_id", "kind", "source_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    check_in_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_check_ins.id"), index=True)
    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_members.id"), index=True)
    kind: Mapped[RecordKind] = mapped_column(str_enum(RecordKind, 16))
    source_id: Mapped[str] = mapped_column(String(64))  # the ticket's or the activity's id
    title: Mapped[str] = mapped_column(String(255))
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    rating: Mapped[int | None] = mapped_column(Integer)  # the resident's, when the ticket was closed with one
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

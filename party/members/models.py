"""Party members and their classes (党员分类管理)."""

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime
from kernel.extensions import db
from party.orgs.models import PartyOrg


class MemberClass(db.Model):
    """在职 serving, 离退休 retired, 流动 mobile, 困难 in difficulty, …: data an admin can extend."""

    __tablename__ = "party_member_classes"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PartyMember(db.Model):
    """A member of the organisation holding their membership; never deleted: leaving is a dated state."""

    __tablename__ = "party_members"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(20))  # personal data: masked on the way out, reads logged
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_orgs.id"), index=True)
    class_code: Mapped[str] = mapped_column(String(32), ForeignKey("party_member_classes.code"))
    joined_on: Mapped[date | None] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"), unique=True)
    home_grid_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("grid_units.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)

    org: Mapped[PartyOrg] = relationship(foreign_keys=[org_id])

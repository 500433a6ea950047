"""The points ledger (积分考核): rules as data, the append-only ledger, and members' disputes of entries."""

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime, str_enum
from kernel.extensions import db


class PointTrigger(enum.StrEnum):
    """What writes a rule's entries: a ticket event, service hours, an activity, or a person (`manual`)."""

    TICKET_RESOLVED_ON_TIME = "ticket.resolved_on_time"
    TICKET_RATED_GOOD = "ticket.rated_good"
    TICKET_REOPENED = "ticket.reopened"
    CLAIM_RESOLVED = "claim.resolved"
    SERVICE_HOURS = "service.hours"
    ACTIVITY_ATTENDED = "activity.attended"
    PROJECT_RATED_GOOD = "project.rated_good"  # the workers of a need's project the residents rated well
    PROJECT_ORG_RATED_GOOD = "project.org_rated_good"  # the owner organisation itself, for each good rating
    WISH_FULFILLED = "wish.fulfilled"  # the member who fulfilled a 微心愿, once the community confirms
    MANUAL = "manual"


class DisputeStatus(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"  # the entry stands
    CORRECTED = "corrected"  # a correction entry was written


class PointRule(db.Model):
    """How many points a trigger earns. Its points, cap and state are those of its latest version
    (`PointRuleVersion`), in force from `effective_from`; the earlier versions score what happened before."""

    __tablename__ = "party_point_rules"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    points: Mapped[int] = mapped_column(Integer)  # negative for a deduction
    trigger: Mapped[PointTrigger] = mapped_column(str_enum(PointTrigger), index=True)
    monthly_cap: Mapped[int | None] = mapped_column(Integer)  # per member and Beijing-time month
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    effective_from: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    versions: Mapped[list["PointRuleVersion"]] = relationship(
        order_by="PointRuleVersion.effective_from", lazy="selectin", viewonly=True
    )


class PointRuleVersion(db.Model):
    """What a rule earns from one day on: a rule's points, cap and state as they stand from `effective_from` until
    the next version's day. A change adds a version (today or later) and never rewrites an earlier one, so what
    happened before a change (an activity recorded late, say) is still scored by the version in force then."""

    __tablename__ = "party_point_rule_versions"
    __table_args__ = (UniqueConstraint("code", "effective_from", name="uq_party_point_rule_versions_code_day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), ForeignKey("party_point_rules.code"))
    effective_from: Mapped[date] = mapped_column(Date)
    points: Mapped[int] = mapped_column(Integer)
    monthly_cap: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PointEntry(db.Model):
    """One line of the ledger: never edited nor deleted; a correction is a new entry pointing at the one it
    corrects (`corrects_id`). A member's entry names the member and the organisation they were in; an
    organisation's own entry (a rule for organisations, `project.org_rated_good`) has no member."""

    __tablename__ = "party_points"
    __table_args__ = (
        Index("ix_party_points_member_id_occurred_at", "member_id", "occurred_at"),
        Index("ix_party_points_source_type_source_id", "source_type", "source_id"),
        # The assessment's distinct members of a period's entries, read from the index alone (member_id last).
        Index("ix_party_points_org_id_occurred_at", "org_id", "occurred_at", "member_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("party_members.id"))  # None: the org's own
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_orgs.id"))  # the member's, then
    points: Mapped[int] = mapped_column(Integer)
    rule_code: Mapped[str] = mapped_column(String(32), ForeignKey("party_point_rules.code"))
    source_type: Mapped[str] = mapped_column(String(16))  # ticket, service, manual, correction
    source_id: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    corrects_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("party_points.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PointDispute(db.Model):
    """A member's appeal of one of their entries, and how it was settled (both on record)."""

    __tablename__ = "party_point_disputes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_points.id"), index=True)
    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_members.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[DisputeStatus] = mapped_column(str_enum(DisputeStatus, 16), default=DisputeStatus.OPEN)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    correction_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("party_points.id"))
    resolved_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

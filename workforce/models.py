"""The people in the field: worker profiles, their positions, and their patrols (巡查)."""

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from auth.models import Account
from grid.models import GridUnit
from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime, str_enum
from kernel.extensions import db


class Employment(enum.StrEnum):
    FULL_TIME = "full_time"
    PART_TIME = "part_time"


@dataclass(frozen=True)
class Fix:
    """A WGS-84 position, with the GPS accuracy (metres) and the time the phone took it, when known."""

    lat: float
    lng: float
    accuracy: float | None = None
    recorded_at: datetime | None = None


class WorkerProfile(db.Model):
    """The field side of a worker account; the cells a worker covers stay in grid's CellAssignment."""

    __tablename__ = "worker_profiles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), unique=True)
    employment: Mapped[Employment] = mapped_column(str_enum(Employment))
    party_member: Mapped[bool] = mapped_column(Boolean, default=False)
    on_duty: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # The newest position by the phone's clock (WGS-84); older pings arriving late never move it back.
    last_lat: Mapped[float | None] = mapped_column(Float)
    last_lng: Mapped[float | None] = mapped_column(Float)
    last_accuracy: Mapped[float | None] = mapped_column(Float)
    last_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)

    account: Mapped[Account] = relationship(lazy="joined", innerjoin=True)

    @property
    def last_position(self) -> Fix | None:
        if self.last_lat is None or self.last_lng is None:
            return None
        return Fix(self.last_lat, self.last_lng, self.last_accuracy, self.last_recorded_at)


class PositionPing(db.Model):
    """One position a worker's phone reported, in WGS-84; personal data, purged after the retention period.

    Track points of a patrol are pings too (`patrol_id` set), so a worker's track has no gaps while patrolling.
    """

    __tablename__ = "position_pings"
    __table_args__ = (
        Index("ix_position_pings_worker_id_recorded_at", "worker_id", "recorded_at"),
        Index("ix_position_pings_patrol_id_recorded_at", "patrol_id", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    worker_id: Mapped[int] = mapped_column(BigId, ForeignKey("worker_profiles.id", ondelete="CASCADE"))
    patrol_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("patrols.id", ondelete="CASCADE"))
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    accuracy: Mapped[float | None] = mapped_column(Float)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PatrolVisit(db.Model):
    """A household or place visited on a patrol (入户走访), with what was found."""

    __tablename__ = "patrol_visits"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    patrol_id: Mapped[int] = mapped_column(BigId, ForeignKey("patrols.id", ondelete="CASCADE"), index=True)
    household: Mapped[str | None] = mapped_column(String(128))
    place: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    visited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def position(self) -> Fix | None:
        if self.lat is None or self.lng is None:
            return None
        return Fix(self.lat, self.lng)


class Patrol(db.Model):
    """A worker walking one of their cells, from start to end; length and duration are fixed at the end."""

    __tablename__ = "patrols"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    worker_id: Mapped[int] = mapped_column(BigId, ForeignKey("worker_profiles.id", ondelete="CASCADE"), index=True)
    grid_id: Mapped[int] = mapped_column(BigId, ForeignKey("grid_units.id"), index=True)
    # The worker's id while the patrol is open, NULL once it ended: a plain unique column makes "one open
    # patrol per worker" a constraint on both SQLite and PostgreSQL (NULLs never collide).
    open_worker_id: Mapped[int | None] = mapped_column(BigId, unique=True)
    note: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    length_m: Mapped[float | None] = mapped_column(Float)
    duration_s: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    worker: Mapped[WorkerProfile] = relationship(lazy="joined", innerjoin=True)
    grid: Mapped[GridUnit] = relationship(lazy="joined", innerjoin=True)
    visits: Mapped[list[PatrolVisit]] = relationship(lazy="select", order_by=[PatrolVisit.visited_at, PatrolVisit.id])

    # Counted with the row (one correlated subquery on an indexed column), so lists make no extra queries
    # and the counts stay true after old points are purged.
    points_count: Mapped[int] = column_property(
        select(func.count(PositionPing.id))
        .where(PositionPing.patrol_id == id)
        .correlate_except(PositionPing)
        .scalar_subquery()
    )
    visits_count: Mapped[int] = column_property(
        select(func.count(PatrolVisit.id))
        .where(PatrolVisit.patrol_id == id)
        .correlate_except(PatrolVisit)
        .scalar_subquery()
    )

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

"""Patrols (巡查): a worker walking one of their cells, and the households or places visited on the way."""

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from grid.models import GridUnit
from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime
from kernel.extensions import db
from workforce.models import Fix, PositionPing, WorkerProfile


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

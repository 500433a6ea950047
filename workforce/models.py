"""The people in the field: worker profiles and their positions (patrols: `workforce.patrols.models`)."""

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auth.models import Account
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

"""Grid units and the assignment of workers to cells."""

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime, str_enum
from kernel.extensions import db


class GridLevel(enum.StrEnum):
    CITY = "city"
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"


# Levels descend strictly: a unit's parent is exactly one level above it.
LEVEL_DEPTH: dict[GridLevel, int] = {level: depth for depth, level in enumerate(GridLevel)}


class GridUnit(db.Model):
    __tablename__ = "grid_units"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[GridLevel] = mapped_column(str_enum(GridLevel), index=True)
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("grid_units.id"), index=True)
    # "/1/5/9/": ancestors' ids then this unit's, with a trailing separator (see kernel.scope).
    path: Mapped[str] = mapped_column(String(255), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)

    parent: Mapped["GridUnit | None"] = relationship(remote_side=[id])

    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/")[:-1]]


class CellAssignment(db.Model):
    """A worker covers a cell; a worker's scope is the cells assigned to them."""

    __tablename__ = "cell_assignments"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    grid_id: Mapped[int] = mapped_column(BigId, ForeignKey("grid_units.id"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

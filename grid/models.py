"""Grid units and the assignment of workers to cells."""

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime, str_enum
from kernel.extensions import db
from kernel.scope import path_ids


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
    # GeoJSON Polygon or MultiPolygon in WGS-84, as the client sent it (see grid.geometry).
    boundary: Mapped[str | None] = mapped_column(Text)
    households: Mapped[int | None] = mapped_column(Integer)
    population: Mapped[int | None] = mapped_column(Integer)
    party_branch_name: Mapped[str | None] = mapped_column(String(128))
    party_branch_secretary: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)

    parent: Mapped["GridUnit | None"] = relationship(remote_side=[id])

    @property
    def depth(self) -> int:
        return self.path.count("/") - 1

    def ancestor_ids(self) -> list[int]:
        return path_ids(self.path)[:-1]


# A subtree's units by their path prefix (`path LIKE '/1/2/%'`, every scope and dashboard filter): on PostgreSQL
# the unique index on path serves no LIKE unless the database's collation is C, so the subtree of a district was a
# scan of every unit (issue 28). text_pattern_ops compares bytes, as a prefix does.
Index("ix_grid_units_path_prefix", GridUnit.path, postgresql_ops={"path": "text_pattern_ops"})


class GridIndexState(db.Model):
    """One row: bumped whenever a cell's boundary or activity changes, so every process rebuilds its index."""

    __tablename__ = "grid_index_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class GridOutline(db.Model):
    """A unit's outline: the union of the boundaries of the cells under it (GeoJSON, compact; null when none has
    one), kept by every change of the grid (grid.outlines), so a map draws a unit without a boundary of its own
    without merging its cells. `version` moves with every redraw (the map's caches key on it)."""

    __tablename__ = "grid_outlines"

    unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("grid_units.id", ondelete="CASCADE"), primary_key=True)
    geometry: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(BigInteger, default=1)


class CellAssignment(db.Model):
    """A worker covers a cell; a worker's scope is the cells assigned to them."""

    __tablename__ = "cell_assignments"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    grid_id: Mapped[int] = mapped_column(BigId, ForeignKey("grid_units.id"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

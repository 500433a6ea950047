"""Which cell holds a point: an in-process STRtree over the active cells' boundaries.

Each app keeps its own index in its caches (`kernel.caches`, "cell_locator") and compares its version with the
one in the database on every lookup (one primary-key read), so an import by another process or machine is seen
on the next request.

Tie-break: a point exactly on a shared edge or vertex touches several cells; it goes to the cell with
the lowest id (the one created first), so the answer never depends on index order.
"""

import threading
from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy import select, update

from grid.models import GridIndexState, GridLevel, GridUnit
from kernel.extensions import db
from kernel.token_reads import ReadWithTheToken

STATE_ROW = 1


@dataclass(frozen=True)
class CellIndex:
    version: int
    tree: shapely.STRtree | None
    cell_ids: np.ndarray
    # Each cell's path when the index was built. Moving a unit does not change the version (its boundary stays),
    # so a path here can be out of date: whoever uses one checks it against the row.
    paths: dict[int, str]

    def cells_at(self, lat: float, lng: float) -> list[int]:
        if self.tree is None:
            return []
        hits = self.tree.query(shapely.Point(lng, lat), predicate="intersects")
        return sorted(int(self.cell_ids[i]) for i in hits)


class CellLocator:
    """One per app; thread-safe; rebuilt lazily when the database says the cells changed."""

    def __init__(self) -> None:
        self._index: CellIndex | None = None
        self._lock = threading.Lock()

    def locate(self, lat: float, lng: float) -> int | None:
        """The id of the cell holding the WGS-84 point, or None."""
        cells = self.index().cells_at(lat, lng)
        return cells[0] if cells else None

    def locate_with_path(self, lat: float, lng: float) -> tuple[int, str] | None:
        """The cell holding the WGS-84 point and its path as indexed (possibly out of date: `CellIndex.paths`)."""
        index = self.index()
        cells = index.cells_at(lat, lng)
        return (cells[0], index.paths[cells[0]]) if cells else None

    def clear(self) -> None:
        """Forget the index (the next lookup rebuilds it)."""
        with self._lock:
            self._index = None

    def index(self) -> CellIndex:
        version = current_version()
        index = self._index
        if index is not None and index.version == version:
            return index
        with self._lock:
            if self._index is None or self._index.version != version:
                self._index = build_index(version)
            return self._index


def build_index(version: int) -> CellIndex:
    rows = db.session.execute(
        select(GridUnit.id, GridUnit.boundary, GridUnit.path).where(
            GridUnit.level == GridLevel.GRID, GridUnit.active.is_(True), GridUnit.boundary.is_not(None)
        )
    ).all()
    if not rows:
        return CellIndex(version, None, np.array([], dtype=np.int64), {})
    shapes = [shapely.from_geojson(boundary) for _, boundary, _ in rows]
    cell_ids = np.array([cell_id for cell_id, _, _ in rows], dtype=np.int64)
    return CellIndex(version, shapely.STRtree(shapes), cell_ids, {cell_id: path for cell_id, _, path in rows})


_state = GridIndexState.__table__
# Read on every lookup: built once, and run on the session's connection (a plain column; see docs/PERFORMANCE.md);
# `/grids/locate` reads it with the token check (`version_read_with_the_token` marks the view).
version_read_with_the_token = ReadWithTheToken(select(_state.c.version).where(_state.c.id == STATE_ROW), None)


def current_version() -> int:
    row = version_read_with_the_token.row()
    return (row[0] if row else None) or 0


def bump_version() -> None:
    """Call in the transaction that changes a cell's boundary, activity or existence."""
    bumped = db.session.execute(
        update(GridIndexState).where(GridIndexState.id == STATE_ROW).values(version=GridIndexState.version + 1)
    )
    if bumped.rowcount == 0:
        db.session.add(GridIndexState(id=STATE_ROW, version=1))
        db.session.flush()


def lock_boundaries() -> None:
    """Hold the index-state row until the transaction ends, so two changes of boundaries or places are checked one
    after the other, each seeing the other's committed rows (PostgreSQL, read committed; SQLite has one writer)."""
    held = db.session.scalar(select(GridIndexState.id).where(GridIndexState.id == STATE_ROW).with_for_update())
    if held is None:
        bump_version()

"""Outlines: every unit above the cells drawn as the union of its cells' boundaries, stored in `grid_outlines`.

Drawn when the grid changes, never when a map is read (issue 28: the first map of each process after a change merged
the city's 100,000 cells, seconds). Every change of a cell's boundary or place, and every move, redraws the units on
the paths it touched (before and after), deepest first, each from its children: a cell's boundary, a unit's
outline. So editing a cell merges its community's cells and a few outlines above it, not every cell of the city.
Core on the given connection, in the caller's transaction: a map read after the commit shows the change.
"""

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import shapely
from shapely.geometry import mapping
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from grid.models import GridLevel, GridOutline, GridUnit

_units = GridUnit.__table__
_outlines = GridOutline.__table__
CHUNK = 500  # ids per IN list (SQLite's bound-parameter limit)


def redraw_above(connection: Any, paths: Iterable[str]) -> None:
    """Redraw every unit above the cells on the given paths (each path's units, the last one included)."""
    _redraw(connection, {int(part) for path in paths for part in path.strip("/").split("/") if part})


def redraw_all(connection: Any) -> None:
    """Redraw every unit above the cells (a territory written around the services: the scale seed)."""
    _redraw(connection, set(connection.execute(select(_units.c.id).where(_units.c.level != GridLevel.GRID)).scalars()))


def _redraw(connection: Any, unit_ids: set[int]) -> None:
    by_depth: dict[int, list[int]] = defaultdict(list)
    for chunk in _chunks(sorted(unit_ids)):
        rows = connection.execute(select(_units.c.id, _units.c.path, _units.c.level).where(_units.c.id.in_(chunk)))
        for unit_id, path, level in rows:
            if level != GridLevel.GRID:
                by_depth[path.count("/")].append(unit_id)
    for depth in sorted(by_depth, reverse=True):  # children's outlines before their parents read them
        _store(connection, _drawn(connection, by_depth[depth]))


def _drawn(connection: Any, unit_ids: list[int]) -> dict[int, str | None]:
    """Each unit's outline from its children: the union of the cells' boundaries and the other units' outlines
    (compact GeoJSON; None when none of them has one)."""
    parents: list[int] = []
    texts: list[str] = []
    for chunk in _chunks(unit_ids):
        stmt = (
            select(_units.c.parent_id, _units.c.level, _units.c.boundary, _outlines.c.geometry)
            .outerjoin(_outlines, _outlines.c.unit_id == _units.c.id)
            .where(_units.c.parent_id.in_(chunk))
        )
        for parent_id, level, boundary, outline in connection.execute(stmt):
            shape = boundary if level == GridLevel.GRID else outline
            if shape is not None:
                parents.append(parent_id)
                texts.append(shape)
    shapes: dict[int, list[Any]] = defaultdict(list)
    for parent_id, parsed in zip(parents, shapely.from_geojson(texts), strict=True):
        shapes[parent_id].append(parsed)
    return {unit_id: _union(shapes.get(unit_id)) for unit_id in unit_ids}


def _union(shapes: list[Any] | None) -> str | None:
    if not shapes:
        return None
    union = shapely.union_all(shapes).simplify(0)
    return None if union.is_empty else json.dumps(mapping(union), separators=(",", ":"))


def _store(connection: Any, drawn: dict[int, str | None]) -> None:
    """Upsert the outlines, each redraw a new version."""
    if not drawn:
        return
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(_outlines)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_outlines.c.unit_id],
        set_={"geometry": stmt.excluded.geometry, "version": _outlines.c.version + 1},
    )
    connection.execute(stmt, [{"unit_id": unit_id, "geometry": text, "version": 1} for unit_id, text in drawn.items()])


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]

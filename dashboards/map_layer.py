"""The map layer: the subtree's cells with tickets received (range), open and overdue (now), as GeoJSON text."""

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select

from dashboards.rollups.models import StatsDaily, StatsMonthly
from dashboards.service import Target, month_split, now_columns, open_tickets, unindexed
from grid import geometry
from grid.models import GridIndexState, GridLevel, GridUnit
from kernel.caches import BoundedCache, app_cache
from kernel.clock import utcnow
from kernel.extensions import db
from tasks.tickets.models import Ticket


@dataclass(frozen=True)
class HeatLayer:
    """The map layer: each cell's id and Feature head (its fixed part as JSON text, '{"type":"Feature","id":...,
    "geometry":...,"properties":{"id":...,"code":...,"name":...,'), by id, and the counts by cell id (cells
    without tickets are absent). Kept as the cache's list and two dicts: 10,000 cells make no new objects."""

    cells: list[tuple[int, str]]
    received: dict[int, int]
    current: dict[int, tuple[int, int]]  # open, overdue


# Cells change rarely. Per app (kernel.caches): each cell's Feature head, parsed and written once and kept while
# the unit's updated_at (moved by every change of its boundary, code, name or place) stays the same; and per
# subtree the list of its cells' heads, kept while the subtree's cell count, latest updated_at and the grid index
# version (bumped by every boundary change) stay the same, so a request reads one row to know its cells are
# current. Bounded: a territory's cells beyond HEADS_KEPT are written again when their layer is (correct, slower).
HEADS_KEPT = 50_000  # cells
LAYERS_KEPT = 256  # subtrees
Layer = tuple[tuple[Any, ...], list[tuple[int, str]]]  # (version, cells by id with their Feature heads)


def _feature_heads() -> BoundedCache[int, tuple[datetime, str]]:
    return app_cache("dashboards.feature_heads", lambda: BoundedCache(HEADS_KEPT))


def _layers() -> BoundedCache[tuple[str, ...], Layer]:
    return app_cache("dashboards.layers", lambda: BoundedCache(LAYERS_KEPT))


def heatmap(target: Target) -> HeatLayer:
    """The cells in the subtree, by id, with received (range), open and overdue (now): a GeoJSON layer."""
    now = utcnow()
    in_subtree = GridUnit.level == GridLevel.GRID
    if not target.whole_territory:
        in_subtree = and_(in_subtree, GridUnit.path.startswith(target.units[0].path, autoescape=True))
    cells = _layer_cells(target, in_subtree)
    received = _received_by_cell(target, in_subtree)
    cell = unindexed(Ticket.grid_id)
    stmt = open_tickets(target).add_columns(cell, *now_columns(now)).group_by(cell)
    current = {row[0]: (int(row[1]), int(row[2])) for row in db.session.execute(stmt)}
    return HeatLayer(cells, received, current)


def _received_by_cell(target: Target, in_subtree: Any) -> dict[int, int]:
    """Tickets received per cell: whole months of the range from stats_monthly (one row per cell and month),
    the days before and after them (and any category filter) from stats_daily."""
    months, day_ranges = month_split(target.first, target.last)
    counts: dict[int, int] = defaultdict(int)
    if target.categories is not None:
        months, day_ranges = None, [(target.first, target.last)]
    if months is not None:
        stmt = (
            select(StatsMonthly.unit_id, func.sum(StatsMonthly.received))
            .join(GridUnit, GridUnit.id == StatsMonthly.unit_id)
            .where(in_subtree, StatsMonthly.month.between(*months))
            .group_by(StatsMonthly.unit_id)
        )
        for unit_id, received in db.session.execute(stmt):
            counts[unit_id] += int(received or 0)
    for first, last in day_ranges:
        stmt = (
            select(StatsDaily.unit_id, func.sum(StatsDaily.received))
            .join(GridUnit, GridUnit.id == StatsDaily.unit_id)
            .where(in_subtree, StatsDaily.day.between(first, last))
            .group_by(StatsDaily.unit_id)
        )
        if target.categories is not None:
            stmt = stmt.where(StatsDaily.category_code.in_(target.categories))
        for unit_id, received in db.session.execute(stmt):
            counts[unit_id] += int(received or 0)
    return counts


def _layer_cells(target: Target, in_subtree: Any) -> list[tuple[int, str]]:
    """The subtree's cells by id with their Feature heads, from the app's caches while they are current."""
    key = ("*",) if target.whole_territory else (target.units[0].path,)
    version = (
        *db.session.execute(select(func.count(), func.max(GridUnit.updated_at)).where(in_subtree)).one(),
        db.session.scalar(select(func.max(GridIndexState.version))),
    )
    layers, known = _layers(), _feature_heads()
    cached = layers.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    cells = db.session.execute(select(GridUnit.id, GridUnit.updated_at).where(in_subtree).order_by(GridUnit.id)).all()
    heads: dict[int, str] = {}
    stale = []
    for cell in cells:
        kept = known.get(cell.id)
        if kept is not None and kept[0] == cell.updated_at:
            heads[cell.id] = kept[1]
        else:
            stale.append(cell.id)
    for start in range(0, len(stale), 500):
        stmt = select(GridUnit.id, GridUnit.code, GridUnit.name, GridUnit.boundary, GridUnit.updated_at)
        for row in db.session.execute(stmt.where(GridUnit.id.in_(stale[start : start + 500]))):
            heads[row.id] = _feature_head(row)
            known.put(row.id, (row.updated_at, heads[row.id]))
    layer = [(cell.id, heads[cell.id]) for cell in cells]
    layers.put(key, (tuple(version), layer))
    return layer


def _feature_head(row: Any) -> str:
    geometry_json = "null" if row.boundary is None else json.dumps(geometry.load(row.boundary), separators=(",", ":"))
    key = json.dumps(str(row.id))
    return (
        f'{{"type":"Feature","id":{key},"geometry":{geometry_json},"properties":{{"id":{key},'
        f'"code":{json.dumps(row.code)},"name":{json.dumps(row.name)},'
    )

"""The map layer: the units of one level in the subtree (cells by default for a street or below) with tickets
received (range), open and overdue (now), as GeoJSON text, and a version of it that costs no Feature."""

import hashlib
import json
from array import array
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import chain
from typing import Any

import numpy as np
import numpy.ma  # np.unique imports it on first use: 46 ms of a process's first map, paid at start now
from sqlalchemy import BigInteger, String, and_, any_, bindparam, case, cast, func, literal, select, type_coerce
from sqlalchemy.dialects import postgresql

from dashboards.rollups.incremental import VERSION
from dashboards.rollups.models import StatsDaily, StatsMonthly
from dashboards.service import Target, month_split, now_columns, open_tickets, unindexed
from grid import geometry
from grid.models import LEVEL_DEPTH, GridIndexState, GridLevel, GridOutline, GridUnit
from kernel.caches import BoundedCache, app_cache
from kernel.clock import utcnow
from kernel.errors import ValidationError
from kernel.extensions import db
from kernel.i18n import _
from tasks.tickets.models import Ticket

# The level a map of a unit shows unless asked: a city's streets, a district's communities, cells below that.
DEFAULT_LEVEL: dict[GridLevel, GridLevel] = {
    GridLevel.CITY: GridLevel.STREET,
    GridLevel.DISTRICT: GridLevel.COMMUNITY,
    GridLevel.STREET: GridLevel.GRID,
    GridLevel.COMMUNITY: GridLevel.GRID,
    GridLevel.GRID: GridLevel.GRID,
}
TERRITORY_LEVEL = GridLevel.STREET  # an admin's whole territory, as a city's


@dataclass(frozen=True)
class HeatLayer:
    """The map layer: its level, each unit's id and Feature head ('{"type":"Feature","id":...,"geometry":...,
    "properties":{"id":...,"code":...,"name":...,'), by id, the counts by unit id (units without tickets are
    absent), and its ETag, computed from the units' versions and the counts without writing a Feature."""

    level: GridLevel
    units: list[tuple[int, str]]
    received: dict[int, int]
    current: dict[int, tuple[int, int]]  # open, overdue
    etag: str


# Units change rarely. Per app (kernel.caches): each unit's Feature head, written once and kept while the unit's
# updated_at (moved by every change of its boundary, code, name or place) and, above the cells, its outline's
# version (grid.outlines: redrawn by every change of a cell under it) stay the same.
HEADS_KEPT = 50_000  # units
Head = tuple[datetime, int | None, str]  # updated_at, the outline's version, the head
# Per app and marker: the units that owned open tickets with their ancestor at every level, so the open tickets
# grouped by owner are counted in the layer's units by one array lookup.
ANCESTRIES_KEPT = 3  # an array is 5 levels x 8 bytes a unit id up to the largest owner (a city's: 4 MB): at most
# 12 MB per worker (issue 27 keeps a worker under 150 MB); a grid change leaves the old marker's array to age out


LAYERS_KEPT = 256  # subtrees and levels
Layer = tuple[Any, list[tuple[int, str]]]  # the heads' version, the units with their heads


def _layers() -> BoundedCache[tuple[str, str], Layer]:
    return app_cache("dashboards.layers", lambda: BoundedCache(LAYERS_KEPT))


def _heads() -> BoundedCache[int, Head]:
    return app_cache("dashboards.feature_heads", lambda: BoundedCache(HEADS_KEPT))


def _trees() -> BoundedCache[tuple[Any, ...], Any]:
    return app_cache("dashboards.unit_ancestries", lambda: BoundedCache(ANCESTRIES_KEPT))


def level_of(target: Target, name: str | None) -> GridLevel:
    """The layer's level: the one asked (not above the subtree's unit: 422), or the default for the unit."""
    unit = target.unit
    if name is None:
        return TERRITORY_LEVEL if unit is None else DEFAULT_LEVEL[unit.level]
    asked = GridLevel(name)
    if unit is not None and LEVEL_DEPTH[asked] < LEVEL_DEPTH[unit.level]:
        raise ValidationError(
            _("The level is above the unit the map is of."),
            {"level": [_("at or below %(level)s", level=unit.level.value)]},
        )
    return asked


# Per app: the layers last counted, with what they were counted from, so an unchanged layer is answered again
# (200 or 304) without counting: the open tickets grouped by owner grow with the city (12,500 owners at 10M).
KEPT_LAYERS = 64  # subtrees, levels and ranges
# A larger layer (a district's or a city's cells) is counted each time: a kept layer's figures weigh about 0.2 kB
# a unit, so the cache stays under about 30 MB per worker (issue 27 keeps a worker under 150 MB). 2,000 units
# hold every default layer: a city's streets, a district's communities, a street's or a community's cells.
KEPT_UNITS = 2_000


@dataclass(frozen=True)
class _Kept:
    stamp: tuple[Any, ...]  # the heads' version, the dashboards' version (stats_version), the grid marker
    counted_at: datetime
    until: datetime | None  # the first deadline after counted_at of an open ticket counted: overdue moves then
    layer: HeatLayer


def _kept() -> BoundedCache[tuple[Any, ...], _Kept]:
    return app_cache("dashboards.kept_layers", lambda: BoundedCache(KEPT_LAYERS))


def heatmap(target: Target, level_name: str | None = None) -> HeatLayer:
    """The units of one level in the subtree, by id, with received (range), open and overdue (now).

    The layer counted last for the same subtree, level, range and categories is the answer while nothing it was
    counted from moved: the units' heads (their version), every counted ticket and the rollups (the dashboards'
    version, moved at the commit of every change of them: dashboards.rollups.incremental), the places of units
    (the grid marker), and the clock, which has not gone back nor reached an open ticket's deadline since."""
    level = level_of(target, level_name)
    in_layer = GridUnit.level == level
    if not target.whole_territory:
        in_layer = and_(in_layer, GridUnit.path.startswith(target.units[0].path, autoescape=True))
    now = utcnow()
    version = _heads_version(level, in_layer)
    counted_version, *marker = db.session.execute(select(VERSION.scalar_subquery(), *_marker_columns())).one()
    stamp = (version, counted_version, tuple(marker))
    bind = db.session.get_bind(clause=VERSION)  # the primary or the replica: each has its own versions
    key = (bind.url.render_as_string(), level.value, target.whole_territory,
           tuple(unit.path for unit in target.units), target.first, target.last, target.categories)  # fmt: skip
    kept = _kept().get(key)
    if kept is not None and kept.stamp == stamp and kept.counted_at <= now and (kept.until is None or now < kept.until):
        return kept.layer
    received = _received_by_unit(target, in_layer)
    current, until = _current_by_unit(target, level, now, tuple(marker))
    units = _layer_heads(target, level, in_layer, version)
    layer = HeatLayer(level, units, received, current, _etag(level, version, received, current))
    if len(units) <= KEPT_UNITS:
        _kept().put(key, _Kept(stamp, now, until, layer))
    return layer


def _heads_version(level: GridLevel, in_layer: Any) -> tuple[Any, ...]:
    """What the layer's Feature heads are written from. Cells: their count and latest updated_at (aggregates
    over the index, no row to Python) and the grid index version (a cell deleted or moved); the few units of a
    level above: each one's id, updated_at and outline version."""
    if level is GridLevel.GRID:
        index_version = select(func.max(GridIndexState.version)).scalar_subquery()
        return tuple(
            db.session.execute(select(func.count(), func.max(GridUnit.updated_at), index_version).where(in_layer)).one()
        )
    return tuple(tuple(row) for row in db.session.execute(_units_of(level, in_layer)))


def _units_of(level: GridLevel, in_layer: Any) -> Any:
    """The layer's units by id with what their heads are written from: updated_at, and above the cells the
    version of the outline they are drawn with when they have no boundary of their own (grid.outlines)."""
    if level is GridLevel.GRID:
        return select(GridUnit.id, GridUnit.updated_at, literal(None)).where(in_layer).order_by(GridUnit.id)
    return (
        select(GridUnit.id, GridUnit.updated_at, GridOutline.version)
        .outerjoin(GridOutline, GridOutline.unit_id == GridUnit.id)
        .where(in_layer)
        .order_by(GridUnit.id)
    )


def _layer_heads(target: Target, level: GridLevel, in_layer: Any, version: Any) -> list[tuple[int, str]]:
    """The layer's units by id with their Feature heads, kept whole per subtree and level while its version
    stays the same (a layer larger than the heads' cache is not written again)."""
    key = (level.value, "*" if target.whole_territory else target.units[0].path)
    layers = _layers()
    cached = layers.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    units = db.session.execute(_units_of(level, in_layer)).all()
    heads = _feature_heads(units)
    layer = [(unit[0], heads[unit[0]]) for unit in units]
    layers.put(key, (version, layer))
    return layer


def _marker_columns() -> list[Any]:
    """What changes when any unit's place or any cell's boundary does: the grid index version (bumped by every
    change of a cell's boundary, activity or parent), the latest updated_at (a move stamps every unit it moves)
    and the largest id (a new unit). Three index reads, however large the territory."""
    return [
        select(func.max(GridIndexState.version)).scalar_subquery(),
        select(func.max(GridUnit.updated_at)).scalar_subquery(),
        select(func.max(GridUnit.id)).scalar_subquery(),
    ]


def _received_by_unit(target: Target, in_layer: Any) -> dict[int, int]:
    """Tickets received per unit of the layer, from its own rollup rows (every unit has them): whole months of
    the range from stats_monthly (one row per unit and month), the days before and after them (and any
    category filter) from stats_daily."""
    months, day_ranges = month_split(target.first, target.last)
    counts: dict[int, int] = defaultdict(int)
    if target.categories is not None:
        months, day_ranges = None, [(target.first, target.last)]
    if months is not None:
        stmt = (
            select(StatsMonthly.unit_id, func.sum(StatsMonthly.received))
            .join(GridUnit, GridUnit.id == StatsMonthly.unit_id)
            .where(in_layer, StatsMonthly.month.between(*months))
            .group_by(StatsMonthly.unit_id)
        )
        for unit_id, received in db.session.execute(stmt):
            counts[unit_id] += int(received or 0)
    for first, last in day_ranges:
        stmt = (
            select(StatsDaily.unit_id, func.sum(StatsDaily.received))
            .join(GridUnit, GridUnit.id == StatsDaily.unit_id)
            .where(in_layer, StatsDaily.day.between(first, last))
            .group_by(StatsDaily.unit_id)
        )
        if target.categories is not None:
            stmt = stmt.where(StatsDaily.category_code.in_(target.categories))
        for unit_id, received in db.session.execute(stmt):
            counts[unit_id] += int(received or 0)
    return counts


def _current_by_unit(
    target: Target, level: GridLevel, now: datetime, marker: tuple[Any, ...]
) -> tuple[dict[int, tuple[int, int]], datetime | None]:
    """Open and overdue tickets now per unit of the layer: the open tickets grouped by the unit owning them (the
    index on status, grid_id, due_at serves it), each owner's counts added to its ancestor of the layer's level
    in arrays (owners above that level are in no unit of the layer); and the first deadline after `now` among
    them (or among more), when an overdue count next changes."""
    # A map of a root (a city): its subtree is (nearly) the whole territory, and the owners are kept by their
    # root's array rather than by joining them to the 100,000 units under it (13 against 55-110 ms, load 4).
    root = target.unit if target.unit is not None and target.unit.parent_id is None else None
    owner = unindexed(Ticket.grid_id)
    counted = replace(target, whole_territory=True) if root is not None else target
    upcoming = func.min(case((Ticket.due_at > now, Ticket.due_at)))
    stmt = open_tickets(counted).add_columns(owner, *now_columns(now)[:2], upcoming).group_by(owner)
    rows = db.session.execute(stmt).all()
    until = min((row[3] for row in rows if row[3] is not None), default=None)
    if level is GridLevel.GRID and root is None:
        return {row[0]: (int(row[1]), int(row[2])) for row in rows}, until
    if not rows:
        return {}, until
    owners, open_, overdue = (np.array(column, dtype=np.int64) for column in list(zip(*rows, strict=True))[:3])
    units = _ancestors(owners, marker, level)
    if root is not None:
        units = np.where(_ancestors(owners, marker, root.level) == root.id, units, -1)
    kept = units >= 0
    found, at = np.unique(units[kept], return_inverse=True)
    opened = np.bincount(at, weights=open_[kept], minlength=len(found))
    late = np.bincount(at, weights=overdue[kept], minlength=len(found))
    return {int(unit): (int(o), int(v)) for unit, o, v in zip(found, opened, late, strict=True)}, until


UNKNOWN = -2  # an owner whose ancestors this process has not read yet
LEVELS = tuple(GridLevel)  # the rows of a process's array of ancestors, by LEVEL_DEPTH


def _ancestors(owners: Any, marker: tuple[Any, ...], level: GridLevel) -> Any:
    """Each owner's ancestor at `level` (itself at it), -1 for a unit above the level or in a tree whose root lies
    below it. Kept per process and marker in an array of every level by unit id, filled as owners come: only the
    owners not seen before are read, once for all levels (a city's first map reads the 12,500 units that own open
    tickets, not all 100,000 units: the first map of a process cost a fifth of a second more than the next
    ones), and the array serves every subtree and level."""
    trees = _trees()
    up = trees.get(marker)
    largest = int(owners.max(initial=0))
    if up is None or largest >= up.shape[1]:
        grown = np.full((len(LEVELS), largest + 1), UNKNOWN, dtype=np.int64)
        if up is not None:
            grown[:, : up.shape[1]] = up
        up = grown
        trees.put(marker, up)
    unknown = np.unique(owners[up[0, owners] == UNKNOWN])
    if len(unknown):
        ids, ancestors = _ancestors_of(unknown)
        up[:, unknown] = -1  # a unit gone since its tickets were counted
        up[:, ids] = ancestors
    return up[LEVEL_DEPTH[level], owners]


def _ancestors_of(units: Any) -> tuple[Any, Any]:
    """The units (ids) found, and their ancestors at each level (a row a level, -1 where none), read from their
    paths ('/1/5/9/': the ancestor is as many ids from the end as levels lie between); PostgreSQL picks them in
    SQL and sends arrays."""
    wanted = [int(unit) for unit in units]
    if db.session.connection().dialect.name == "postgresql":
        columns = [func.array_agg(GridUnit.id)]
        for level in LEVELS:
            # Units above the level match no branch: NULL steps, no ancestor (-1).
            steps = case(*((GridUnit.level == below, LEVEL_DEPTH[below] - LEVEL_DEPTH[level]) for below in LEVELS
                           if LEVEL_DEPTH[below] >= LEVEL_DEPTH[level]))  # fmt: skip
            picked = func.nullif(func.split_part(GridUnit.path, "/", -2 - steps), "")
            columns.append(func.array_agg(func.coalesce(cast(picked, BigInteger), -1)))
        # One array, as its text: psycopg dumps a list of 12,500 ints element by element in Python (52 ms).
        ids_text = bindparam("ids", "{" + ",".join(map(str, wanted)) + "}", type_=String)
        in_ids = GridUnit.id == any_(cast(ids_text, postgresql.ARRAY(BigInteger)))
        ids, *ancestors = db.session.execute(select(*columns).where(in_ids)).one()
        return np.array(ids or [], dtype=np.int64), np.array([a or [] for a in ancestors], dtype=np.int64)
    rows = db.session.execute(
        select(GridUnit.id, GridUnit.path, type_coerce(GridUnit.level, String)).where(GridUnit.id.in_(wanted))
    ).all()
    ancestors = [
        [_nth_from_end(path, LEVEL_DEPTH[GridLevel(unit_level)] - LEVEL_DEPTH[level]) for _, path, unit_level in rows]
        for level in LEVELS
    ]
    return np.array([row[0] for row in rows], dtype=np.int64), np.array(ancestors, dtype=np.int64).reshape(
        len(LEVELS), len(rows)
    )


def _nth_from_end(path: str, count: int) -> int:
    ids = path.strip("/").split("/")
    return int(ids[-1 - count]) if 0 <= count < len(ids) else -1


def _feature_heads(units: list[Any]) -> dict[int, str]:
    """The units' Feature heads by id, from the app's cache while they are current."""
    known = _heads()
    heads: dict[int, str] = {}
    stale = []
    for unit_id, updated_at, outline_version in units:
        kept = known.get(unit_id)
        if kept is not None and kept[0] == updated_at and kept[1] == outline_version:
            heads[unit_id] = kept[2]
        else:
            stale.append(unit_id)
    for start in range(0, len(stale), 500):
        stmt = (
            select(GridUnit.id, GridUnit.code, GridUnit.name, GridUnit.boundary, GridUnit.updated_at,
                   GridOutline.geometry.label("outline"), GridOutline.version)
            .outerjoin(GridOutline, and_(GridOutline.unit_id == GridUnit.id, GridUnit.level != GridLevel.GRID))
            .where(GridUnit.id.in_(stale[start : start + 500]))
        )  # fmt: skip
        for row in db.session.execute(stmt):
            heads[row.id] = _feature_head(row, _geometry_json(row))
            known.put(row.id, (row.updated_at, row.version, heads[row.id]))
    return heads


def _geometry_json(row: Any) -> str:
    """A unit's own boundary, else its outline (the union of its cells', stored compact), else null."""
    if row.boundary is not None:
        return _compact(geometry.load(row.boundary))
    return row.outline or "null"


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _feature_head(row: Any, geometry_json: str) -> str:
    key = json.dumps(str(row.id))
    return (
        f'{{"type":"Feature","id":{key},"geometry":{geometry_json},"properties":{{"id":{key},'
        f'"code":{json.dumps(row.code)},"name":{json.dumps(row.name)},'
    )


def _etag(level: GridLevel, version: Any, received: dict[int, int], current: dict[int, tuple[int, int]]) -> str:
    """A digest of what the body is written from: the level, the heads' version and the counts. Equal digests,
    equal bodies; no Feature is written to know it."""
    digest = hashlib.sha256(f"{level.value}|{version!r}|".encode())
    digest.update(array("q", chain.from_iterable(sorted(received.items()))).tobytes())
    digest.update(
        array("q", chain.from_iterable((unit, *counts) for unit, counts in sorted(current.items()))).tobytes()
    )
    return digest.hexdigest()[:32]

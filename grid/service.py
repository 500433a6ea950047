"""Rules of the territory tree: units, their boundaries, moves, scope, and locating a point."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select, bindparam, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from grid import geometry, outlines, territory
from grid.coords import CoordSystem, to_wgs84
from grid.events import UnitRemoving
from grid.locator import CellLocator, bump_version
from grid.models import LEVEL_DEPTH, CellAssignment, GridLevel, GridUnit
from grid.scope import management_scope, scope_of
from kernel import entities, events, names
from kernel.caches import app_cache
from kernel.clock import utcnow
from kernel.compiled import CompiledSelect
from kernel.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from kernel.extensions import db
from kernel.i18n import N_, _
from kernel.pagination import Page, paginate
from kernel.principals import Caller, Role
from kernel.scope import Scope, path_ids

# --- creating units (also used by the demo seed and the importer) --------------------------------


def create_unit(*, code: str, name: str, level: GridLevel, parent: GridUnit | None, **details: Any) -> GridUnit:
    """Add a unit under `parent` (or as a root); its level must be exactly one below the parent's."""
    check_level_under(level, parent)
    if db.session.scalars(select(GridUnit.id).where(GridUnit.code == code)).first() is not None:
        raise ConflictError(_("A unit with that code exists."), {"code": [_("already used")]})
    unit = GridUnit(code=code, name=name, level=level, parent=parent, path="/pending/", **details)
    db.session.add(unit)
    db.session.flush()  # the path needs the id
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    db.session.flush()  # so the response shows what is stored (updated_at moves with the path)
    return unit


def check_level_under(level: GridLevel, parent: GridUnit | None) -> None:
    if parent is not None and LEVEL_DEPTH[level] != LEVEL_DEPTH[parent.level] + 1:
        raise ValidationError(
            _(
                "A %(level)s cannot sit under a %(parent)s.",
                level=names.grid_level(level),
                parent=names.grid_level(parent.level),
            ),
            {
                "parent_id": [
                    _(
                        "levels descend one at a time: under a %(level)s comes the next level",
                        level=names.grid_level(parent.level),
                    )
                ]
            },
        )


def get_unit(unit_id: int) -> GridUnit:
    unit = entities.get(GridUnit, unit_id)
    if unit is None:
        raise NotFoundError(_("No such grid unit."))
    return unit


def find_unit(unit_id: int) -> GridUnit | None:
    return entities.get(GridUnit, unit_id)


def assign_cells(account_id: int, cells: Sequence[GridUnit]) -> None:
    for cell in cells:
        if cell.level is not GridLevel.GRID:
            raise ValidationError(
                _("Workers are assigned to grid cells."), {"grid_ids": [_("%(code)s is not a cell", code=cell.code)]}
            )
        db.session.add(CellAssignment(account_id=account_id, grid_id=cell.id))


# --- reading within scope ------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitFilters:
    parent_id: int | None = None
    subtree: bool = False
    level: GridLevel | None = None
    q: str | None = None
    active: bool | None = None
    updated_since: datetime | None = None


def list_units(actor: Caller, filters: UnitFilters, *, limit: int, cursor: str | None) -> Page[GridUnit]:
    """Units in the actor's scope, filtered; `parent_id` with `subtree` gives every descendant."""
    stmt = _visible(actor)
    if filters.parent_id is not None:
        parent = get_visible_unit(actor, filters.parent_id, ancestors_allowed=True)
        if filters.subtree:
            stmt = stmt.where(GridUnit.path.startswith(parent.path, autoescape=True), GridUnit.id != parent.id)
        else:
            stmt = stmt.where(GridUnit.parent_id == parent.id)
    if filters.level is not None:
        stmt = stmt.where(GridUnit.level == filters.level)
    if filters.active is not None:
        stmt = stmt.where(GridUnit.active == filters.active)
    if filters.updated_since is not None:
        stmt = stmt.where(GridUnit.updated_at >= filters.updated_since)
    if filters.q:
        pattern = f"%{filters.q.lower()}%"
        stmt = stmt.where(or_(func.lower(GridUnit.code).like(pattern), func.lower(GridUnit.name).like(pattern)))
    fingerprint = {**filters.__dict__, "actor": actor.id}
    return paginate(stmt, order_by=[GridUnit.id], limit=limit, cursor=cursor, query_fingerprint=fingerprint)


def get_visible_unit(actor: Caller, unit_id: int, *, ancestors_allowed: bool = False) -> GridUnit:
    """A unit in the actor's scope (or, where names suffice, an ancestor of it); 404 otherwise."""
    unit = find_unit(unit_id)
    scope = scope_of(actor)
    if unit is None:
        raise NotFoundError(_("No such grid unit."))
    if scope.covers(unit.path) or (ancestors_allowed and _is_ancestor_of_scope(unit, scope)):
        return unit
    raise NotFoundError(_("No such grid unit."))


def ancestors_of(actor: Caller, unit_id: int) -> list[GridUnit]:
    """The chain from the root down to the unit's parent."""
    unit = get_visible_unit(actor, unit_id, ancestors_allowed=True)
    return _ancestors(unit)


def _ancestors(unit: GridUnit) -> list[GridUnit]:
    ids = unit.ancestor_ids()
    if not ids:
        return []
    by_id = {u.id: u for u in db.session.scalars(select(GridUnit).where(GridUnit.id.in_(ids)))}
    return [by_id[i] for i in ids]


def _visible(actor: Caller) -> Select[tuple[GridUnit]]:
    return select(GridUnit).where(scope_of(actor).clause(GridUnit.path))


def _is_ancestor_of_scope(unit: GridUnit, scope: Scope) -> bool:
    return any(root.startswith(unit.path) for root in scope.paths)


# --- changing units ------------------------------------------------------------------------------


def create_unit_for(actor: Caller, data: Mapping[str, Any]) -> GridUnit:
    """Create a unit; admins anywhere, supervisors below their own unit."""
    parent = _parent_for_write(actor, data.get("parent_id"))
    if parent is None and actor.role is not Role.ADMIN:
        raise ForbiddenError(_("Only admins create root units."), {"parent_id": [_("required for supervisors")]})
    boundary = _parsed_boundary(data.get("boundary"))
    unit = create_unit(
        code=data["code"],
        name=data["name"],
        level=data["level"],
        parent=parent,
        boundary=geometry.dump(data["boundary"]) if boundary is not None else None,
        households=data.get("households"),
        population=data.get("population"),
        active=data.get("active", True),
    )
    if boundary is not None:
        _check_territory(actor, unit, "boundary")
    if unit.level is GridLevel.GRID:
        bump_version()
        if boundary is not None:
            outlines.redraw_above(db.session.connection(), [unit.path])
    return unit


def update_unit_for(actor: Caller, unit_id: int, changes: Mapping[str, Any]) -> GridUnit:
    unit = _unit_for_write(actor, unit_id)
    old_path = unit.path
    if "boundary" in changes:
        _parsed_boundary(changes["boundary"])
    if "code" in changes and changes["code"] != unit.code:
        if db.session.scalars(select(GridUnit.id).where(GridUnit.code == changes["code"])).first() is not None:
            raise ConflictError(_("A unit with that code exists."), {"code": [_("already used")]})
        unit.code = changes["code"]
    moved = "parent_id" in changes and changes["parent_id"] != unit.parent_id
    if moved:
        _move(actor, unit, changes["parent_id"])
    if "boundary" in changes:
        unit.boundary = geometry.dump(changes["boundary"]) if changes["boundary"] is not None else None
    for name in ("name", "households", "population", "active"):
        if name in changes:
            setattr(unit, name, changes[name])
    if "boundary" in changes or moved:
        _check_territory(actor, unit, "boundary" if "boundary" in changes else "parent_id")
    if unit.level is GridLevel.GRID and {"boundary", "active", "parent_id"} & set(changes):
        bump_version()
    db.session.flush()
    if moved or (unit.level is GridLevel.GRID and "boundary" in changes):
        outlines.redraw_above(db.session.connection(), [old_path, unit.path])
    return unit


def delete_unit_for(actor: Caller, unit_id: int) -> None:
    """Delete a unit nothing hangs on; otherwise 409 (deactivate it instead). Other contexts name what of theirs
    hangs on it when they hear `UnitRemoving` (auth: the accounts placed there)."""
    unit = _unit_for_write(actor, unit_id)
    holders = {
        N_("children"): exists().where(GridUnit.parent_id == unit.id),
        N_("workers"): exists().where(CellAssignment.grid_id == unit.id),
    }
    removing = UnitRemoving(unit.id, [name for name, clause in holders.items() if db.session.scalar(select(clause))])
    events.publish(removing)
    if removing.holders:
        held_by = _(", ").join(_(holder) for holder in removing.holders)
        raise ConflictError(
            _("The unit still has %(holders)s; deactivate it instead.", holders=held_by), {"unit": removing.holders}
        )
    if unit.level is GridLevel.GRID:
        bump_version()
    path = unit.path
    db.session.delete(unit)
    try:
        db.session.flush()
    except IntegrityError:  # records of other contexts (tickets, patrols) still point at it
        db.session.rollback()
        raise ConflictError(
            _("The unit still has records (tickets, patrols) that point at it; deactivate it instead."),
            {"unit": ["records"]},
        ) from None
    outlines.redraw_above(db.session.connection(), [path])


def _unit_for_write(actor: Caller, unit_id: int) -> GridUnit:
    """A unit the actor may change: admins any; supervisors strictly below their own unit."""
    unit = get_visible_unit(actor, unit_id)
    if actor.role is Role.ADMIN:
        return unit
    home_path = actor.scope_path
    if actor.role is Role.SUPERVISOR and home_path is not None and unit.path != home_path:
        return unit
    raise ForbiddenError(_("You may not change this unit."), {"unit": [_("only units below your own")]})


def _parent_for_write(actor: Caller, parent_id: int | None) -> GridUnit | None:
    if parent_id is None:
        return None
    parent = find_unit(parent_id)
    if parent is None:
        raise ValidationError(_("No such parent unit."), {"parent_id": [_("no such grid unit")]})
    reach = management_scope(actor)
    if not reach.covers(parent.path) or actor.role not in {Role.ADMIN, Role.SUPERVISOR}:
        raise ForbiddenError(_("That parent is outside your scope."), {"parent_id": [_("outside your grid scope")]})
    return parent


def _move(actor: Caller, unit: GridUnit, parent_id: int | None) -> None:
    """Re-hang a unit and its whole subtree; cycles and level jumps are refused."""
    new_parent = _parent_for_write(actor, parent_id)
    if new_parent is None and actor.role is not Role.ADMIN:
        raise ForbiddenError(_("Only admins make root units."), {"parent_id": [_("required for supervisors")]})
    if new_parent is not None and new_parent.path.startswith(unit.path):
        raise ValidationError(_("A unit cannot move under itself."), {"parent_id": [_("would create a cycle")]})
    check_level_under(unit.level, new_parent)
    repath_subtree(unit.path, f"{new_parent.path if new_parent else '/'}{unit.id}/")
    unit.parent = new_parent
    db.session.flush()
    db.session.expire_all()


def repath_subtree(old_prefix: str, new_prefix: str) -> None:
    """Give a unit and every unit under it their paths under a new parent, in one statement, and stamp each
    as changed: their ancestry did (delta sync and cached ticket pages rely on it). Loaded units keep stale
    paths until expired."""
    db.session.execute(
        update(GridUnit)
        .where(GridUnit.path.startswith(old_prefix, autoescape=True))
        .values(path=new_prefix + func.substr(GridUnit.path, len(old_prefix) + 1), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _parsed_boundary(boundary: Any) -> BaseGeometry | None:
    """A boundary that can be stored (valid GeoJSON polygons), or 422 saying why; None stays None."""
    if boundary is None:
        return None
    try:
        return geometry.parse_boundary(boundary)
    except geometry.BoundaryError as error:
        raise ValidationError(_("The boundary %(error)s.", error=error), {"boundary": [str(error)]}) from None


def _check_territory(actor: Caller, unit: GridUnit, field: str) -> None:
    """After the unit's boundary or place changed (flushed, not committed): nothing it or the units under it now
    overlap or stick out of (`grid.territory`); otherwise 422, naming only the units the actor may see."""
    found = territory.problems([unit.id])
    if not found:
        return
    scope = scope_of(actor)
    reasons = territory.reasons(found, unit.id, lambda placed: scope.covers(placed.path))
    if field == "boundary":
        raise ValidationError(_("The boundary %(reason)s.", reason=reasons[0]), {field: reasons})
    raise ValidationError(_("Moved there, the unit %(reason)s.", reason=reasons[0]), {field: reasons})


# --- locating a point ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitBrief:
    """A unit as a lookup shows it (GridBriefSchema), and its path."""

    id: int
    code: str
    name: str
    level: GridLevel
    parent_id: int | None
    path: str

    ancestor_ids = GridUnit.ancestor_ids


@dataclass(frozen=True)
class Located:
    cell: UnitBrief
    ancestors: list[UnitBrief]
    point: dict[str, Any]


_units = GridUnit.__table__
_BRIEF_COLUMNS = (_units.c.id, _units.c.code, _units.c.name, _units.c.level, _units.c.parent_id, _units.c.path)
# Built once from the table, and read as plain rows on the session's connection: a lookup loaded the cell and
# its ancestors as entities before, boundaries and all (see docs/PERFORMANCE.md).
UNIT_BRIEF = CompiledSelect(select(*_BRIEF_COLUMNS).where(_units.c.id == bindparam("unit_id")))


@cache
def _briefs_by_ids(count: int) -> CompiledSelect:
    """The briefs of `count` units by id, compiled once per count (a path is a handful of levels deep): an
    expanding IN is rendered again on every execution, which cost a lookup more than its query."""
    ids = [bindparam(f"unit_id_{place}") for place in range(count)]
    return CompiledSelect(select(*_BRIEF_COLUMNS).where(_units.c.id.in_(ids)))


def locate(lat: float, lng: float, system: CoordSystem) -> Located:
    """The cell holding a point given in any of the supported coordinate systems; 404 when none does."""
    wgs_lat, wgs_lng = to_wgs84(lat, lng, system)
    found = locator().locate_with_path(wgs_lat, wgs_lng)
    if found is None:
        raise NotFoundError(
            _("No grid cell holds that point."),
            {
                "point": [
                    _(
                        "%(wgs_lat)s, %(wgs_lng)s (WGS-84)",
                        wgs_lat=format(wgs_lat, ".6f"),
                        wgs_lng=format(wgs_lng, ".6f"),
                    )
                ]
            },
        )
    cell_id, indexed_path = found
    # The cell and its ancestors in one query, from the path the index holds; again from the cell's own row when
    # a move has changed that path since the index was built.
    units = _unit_briefs(path_ids(indexed_path))
    cell = units.get(cell_id)
    if cell is None or cell.path != indexed_path:
        row = UNIT_BRIEF.first({"unit_id": cell_id})
        if row is None:
            raise NotFoundError(_("No such grid unit."))
        units = _unit_briefs(path_ids(UnitBrief(*row).path))
        cell = units[cell_id]
    point = {"lat": wgs_lat, "lng": wgs_lng, "coord_system": "wgs84"}
    return Located(cell, [units[unit_id] for unit_id in path_ids(cell.path)[:-1]], point)


def _unit_briefs(unit_ids: list[int]) -> dict[int, UnitBrief]:
    rows = _briefs_by_ids(len(unit_ids)).all({f"unit_id_{place}": unit_id for place, unit_id in enumerate(unit_ids)})
    return {row[0]: UnitBrief(*row) for row in rows}


def locator() -> CellLocator:
    """This app's cell index (one per process and app, in its caches)."""
    return app_cache("cell_locator", CellLocator)

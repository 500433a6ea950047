"""Rules of the territory tree (the kernel part: creating units, paths, assignments)."""

from collections.abc import Iterable, Sequence

from sqlalchemy import select

from grid.models import LEVEL_DEPTH, CellAssignment, GridLevel, GridUnit
from kernel.errors import NotFoundError, ValidationError
from kernel.extensions import db


def create_unit(*, code: str, name: str, level: GridLevel, parent: GridUnit | None) -> GridUnit:
    """Add a unit under `parent` (or as a root); its level must be exactly one below the parent's."""
    check_level_under(level, parent)
    if db.session.scalars(select(GridUnit.id).where(GridUnit.code == code)).first() is not None:
        raise ValidationError("A unit with that code exists.", {"code": ["already used"]})
    unit = GridUnit(code=code, name=name, level=level, parent=parent, path="/pending/")
    db.session.add(unit)
    db.session.flush()  # the path needs the id
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    return unit


def check_level_under(level: GridLevel, parent: GridUnit | None) -> None:
    if parent is not None and LEVEL_DEPTH[level] != LEVEL_DEPTH[parent.level] + 1:
        raise ValidationError(
            f"A {level.value} cannot sit under a {parent.level.value}.",
            {"level": [f"levels descend one at a time; under a {parent.level.value} comes the next level"]},
        )


def get_unit(unit_id: int) -> GridUnit:
    unit = db.session.get(GridUnit, unit_id)
    if unit is None:
        raise NotFoundError("No such grid unit.")
    return unit


def find_unit(unit_id: int) -> GridUnit | None:
    return db.session.get(GridUnit, unit_id)


def cell_paths_of(account_id: int) -> list[str]:
    """Paths of the cells assigned to a worker."""
    stmt = (
        select(GridUnit.path)
        .join(CellAssignment, CellAssignment.grid_id == GridUnit.id)
        .where(CellAssignment.account_id == account_id)
    )
    return list(db.session.scalars(stmt))


def assign_cells(account_id: int, cells: Iterable[GridUnit]) -> None:
    for cell in cells:
        if cell.level is not GridLevel.GRID:
            raise ValidationError("Workers are assigned to grid cells.", {"grid_ids": [f"{cell.code} is not a cell"]})
        db.session.add(CellAssignment(account_id=account_id, grid_id=cell.id))


def units_by_ids(unit_ids: Sequence[int]) -> dict[int, GridUnit]:
    if not unit_ids:
        return {}
    return {unit.id: unit for unit in db.session.scalars(select(GridUnit).where(GridUnit.id.in_(unit_ids)))}

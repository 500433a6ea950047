"""The drawn territory's invariant, checked on the stored units after a change and before its commit.

1. Two units of which neither holds the other (not ancestor and descendant) do not overlap: their boundaries share
   no more than `geometry.OVERLAP_TOLERANCE` of the smaller one (edges and slivers of hand-drawn neighbours pass).
2. A unit's boundary lies inside the boundary of its nearest ancestor that has one, give or take
   `geometry.EDGE_TOLERANCE_DEG`, whatever the units without a boundary in between.

So a supervisor draws only inside the area their own unit covers (its boundary, or the nearest one above it) and
never over another subtree, and `GET /grids/locate` has one cell for every point.

`problems(touched)` looks at what a change to the `touched` units can have broken: their own boundaries, and those
of every unit under them (a move changes their ancestors; a redrawn or removed boundary, the one they must lie in).
It reads every stored boundary once and finds the candidates of each pair through an STRtree of them (bounding
boxes first, as `grid.locator` does for points), then measures only those. `problems(None)` checks everything
(`flask grid check`). The caller raises, so the request's transaction rolls the change back.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select

from grid import geometry
from grid.locator import lock_boundaries
from grid.models import GridLevel, GridUnit
from kernel.extensions import db
from kernel.i18n import _
from kernel.names import grid_level
from kernel.scope import path_ids

_units = GridUnit.__table__.c
# Core, not the ORM: the check reads every stored boundary, and ORM rows cost several times as much.
BOUNDARIES = (
    select(_units.id, _units.path, _units.code, _units.name, _units.level, _units.boundary)
    .where(_units.boundary.is_not(None))
    .order_by(_units.id)
)
MAX_REASONS = 20


class Kind(StrEnum):
    OVERLAP = "overlap"
    OUTSIDE = "outside"


@dataclass(frozen=True)
class Placed:
    """A stored unit with a boundary, as the check sees it."""

    id: int
    path: str
    code: str
    name: str
    level: GridLevel

    def path_ids(self) -> list[int]:
        """Root first, this unit last."""
        return path_ids(self.path)

    def label(self) -> str:
        return _(
            "the %(level)s %(code)s (%(name)s, id %(id)s)",
            level=grid_level(self.level),
            code=self.code,
            name=self.name,
            id=self.id,
        )


@dataclass(frozen=True)
class Problem:
    """`unit` overlaps `other` (neither holds the other), or lies outside `other`, its nearest bounded ancestor."""

    kind: Kind
    unit: Placed
    other: Placed


def problems(touched: Iterable[int] | None) -> list[Problem]:
    """What breaks the invariant among the units whose boundary or place may have changed: `touched` and every unit
    under them (None: every unit). Pairs and ancestors untouched by the change are not looked at. A check of a
    change holds `lock_boundaries` to the commit, so a concurrent change waits and then sees this one."""
    db.session.flush()
    if touched is not None:
        lock_boundaries()
    rows = db.session.execute(BOUNDARIES).all()
    if not rows:
        return []
    units = [Placed(unit_id, path, code, name, level) for unit_id, path, code, name, level, _ in rows]
    shapes = shapely.from_geojson([row[-1] for row in rows])
    index_of = {unit.id: i for i, unit in enumerate(units)}
    touched_ids = None if touched is None else set(touched)
    # For each unit, the touched units on its path (itself and its ancestors): what moved or changed above it.
    reach = _touched_on_paths(units, touched_ids)
    affected = [i for i in range(len(units)) if touched_ids is None or reach[i]]
    if not affected:
        return []
    found = _outside(units, shapes, index_of, affected, touched_ids)
    found += _overlaps(units, shapes, affected, reach, touched_ids)
    return found


def _touched_on_paths(units: list[Placed], touched: set[int] | None) -> list[frozenset[int]]:
    if touched is None:
        return [frozenset()] * len(units)
    if len(touched) <= 8:  # a request's change: a substring test per unit is enough
        marks = [(unit_id, f"/{unit_id}/") for unit_id in touched]
        return [frozenset(unit_id for unit_id, mark in marks if mark in unit.path) for unit in units]
    return [frozenset(unit_id for unit_id in unit.path_ids() if unit_id in touched) for unit in units]


def _outside(
    units: list[Placed],
    shapes: np.ndarray,
    index_of: dict[int, int],
    affected: list[int],
    touched: set[int] | None,
) -> list[Problem]:
    found = []
    buffered: dict[int, BaseGeometry] = {}
    for i in affected:
        chain = units[i].path_ids()
        holder = next((index_of[a] for a in reversed(chain[:-1]) if a in index_of), None)
        if holder is None:
            continue
        # Only if something between the holder and the unit (both included) changed: the rest moved together.
        if touched is not None and not touched.intersection(chain[chain.index(units[holder].id) :]):
            continue
        if holder not in buffered:
            buffered[holder] = shapes[holder].buffer(geometry.EDGE_TOLERANCE_DEG)
        if not buffered[holder].covers(shapes[i]):
            found.append(Problem(Kind.OUTSIDE, units[i], units[holder]))
    return found


def _overlaps(
    units: list[Placed],
    shapes: np.ndarray,
    affected: list[int],
    reach: list[frozenset[int]],
    touched: set[int] | None,
) -> list[Problem]:
    """Pairs of an affected unit and any other whose boxes meet, kept when neither holds the other and the change
    can have brought them together, then measured. Vectorised: an import checks every pair of a district."""
    tree = shapely.STRtree(shapes)
    mine, theirs = tree.query(shapes[affected], predicate="intersects")
    first, second = np.asarray(affected, dtype=np.int64)[mine], theirs.astype(np.int64)
    lineage = _lineage(units)  # each unit's path ids, padded with -1
    ids = lineage[np.arange(len(units)), (lineage >= 0).sum(axis=1) - 1]
    related = (lineage[first] == ids[second][:, None]).any(axis=1) | (lineage[second] == ids[first][:, None]).any(
        axis=1
    )
    keep = ~related  # a unit holds itself too
    if touched is not None:
        # Both under the same touched units and neither touched itself: they moved together, nothing changed.
        codes: dict[frozenset[int], int] = {}
        reach_code = np.array([codes.setdefault(r, len(codes)) for r in reach], dtype=np.int64)
        is_touched = np.array([unit.id in touched for unit in units], dtype=bool)
        keep &= is_touched[first] | is_touched[second] | (reach_code[first] != reach_code[second])
    pairs = np.unique(np.stack([np.minimum(first, second), np.maximum(first, second)], axis=1)[keep], axis=0)
    if not len(pairs):
        return []
    first, second = pairs[:, 0], pairs[:, 1]
    # Neighbours that only touch (a shared edge) share no area: a predicate on prepared shapes is cheaper to tell.
    shapely.prepare(shapes)
    apart = ~shapely.touches(shapes[first], shapes[second])
    first, second = first[apart], second[apart]
    shared = shapely.area(shapely.intersection(shapes[first], shapes[second]))
    smaller = np.minimum(shapely.area(shapes[first]), shapely.area(shapes[second]))
    over = shared > geometry.OVERLAP_TOLERANCE * smaller
    hits = zip(first[over].tolist(), second[over].tolist(), strict=True)
    return [Problem(Kind.OVERLAP, units[i], units[j]) for i, j in hits]


def _lineage(units: list[Placed]) -> np.ndarray:
    chains = [unit.path_ids() for unit in units]
    table = np.full((len(chains), max(len(chain) for chain in chains)), -1, dtype=np.int64)
    for row, chain in enumerate(chains):
        table[row, : len(chain)] = chain
    return table


def describe(problem: Problem, subject_id: int, visible: Callable[[Placed], bool]) -> tuple[bool, str]:
    """Whether the problem is the subject's own boundary, and what it is, told from the subject's side (the unit
    the caller changed, or a unit under it). A unit the caller may not see is "another unit": no id, no name."""
    if problem.kind is Kind.OUTSIDE:
        unit, holder = problem.unit, problem.other
        if unit.id == subject_id:
            return True, _("is not inside the boundary of %(unit)s", unit=holder.label())
        if holder.id == subject_id:
            return False, _("would leave %(unit)s outside it", unit=unit.label())
        return False, _(
            "would leave %(unit)s outside the boundary of %(holder)s", unit=unit.label(), holder=holder.label()
        )
    mine, theirs = problem.unit, problem.other
    if subject_id not in mine.path_ids():
        mine, theirs = theirs, mine
    other = theirs.label() if visible(theirs) else _("another unit")
    if mine.id == subject_id:
        return True, _("overlaps %(other)s", other=other)
    return False, _("would put %(unit)s over %(other)s", unit=mine.label(), other=other)


def reasons(found: Iterable[Problem], subject_id: int, visible: Callable[[Placed], bool]) -> list[str]:
    """The problems as the 422's reasons, each said once, at most `MAX_REASONS`."""
    said: list[str] = []
    for problem in found:
        _, text = describe(problem, subject_id, visible)
        if text not in said:
            said.append(text)
    return said[:MAX_REASONS]

"""Importing a district's map: a GeoJSON FeatureCollection of units, all or nothing.

Each feature's properties are `code, name, level, parent_code` (optional `households, population`).
Parents may be earlier or later in the same file, or already stored. A code already stored is
updated (name, boundary, parent, figures) rather than refused, so a district can re-send its map.
Every problem is reported by feature index: the features and the tree before anything is written; where the
boundaries lie (`grid.territory`) on the written rows, before the commit, so a refused file leaves nothing.
"""

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from grid import geometry, outlines, territory
from grid.locator import bump_version
from grid.models import LEVEL_DEPTH, GridLevel, GridUnit
from grid.service import repath_subtree
from kernel.errors import ValidationError
from kernel.extensions import db
from kernel.i18n import _
from kernel.names import grid_level

Progress = Callable[[str, int], None]
CODE_PATTERN_MAX = 64


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class FeatureRow:
    index: int
    code: str
    name: str
    level: GridLevel
    parent_code: str | None
    households: int | None
    population: int | None
    boundary_text: str | None


class _Problems:
    def __init__(self) -> None:
        self.by_feature: dict[str, list[str]] = defaultdict(list)

    def add(self, index: int, reason: str) -> None:
        self.by_feature[f"features.{index}"].append(reason)

    def raise_if_any(self) -> None:
        if self.by_feature:
            raise ValidationError(
                _("%(count)s features are not valid; nothing was imported.", count=len(self.by_feature)),
                dict(self.by_feature),
            )


def import_collection(collection: Mapping[str, Any], progress: Progress | None = None) -> ImportSummary:
    """Check every feature, then create or update the units; the caller's transaction holds it all."""
    features = collection.get("features")
    if not isinstance(features, list) or not features:
        raise ValidationError(
            _("The FeatureCollection has no features."), {"features": [_("must be a non-empty list")]}
        )
    problems = _Problems()
    rows = [row for index, raw in enumerate(features) if (row := _parse(index, raw, problems)) is not None]
    _notify(progress, "parsed", len(features))
    stored = _stored_units({r.code for r in rows} | {r.parent_code for r in rows if r.parent_code})
    layers = _check_tree(rows, stored, problems, _codes_named(features))
    problems.raise_if_any()
    _notify(progress, "checked", len(rows))
    summary, written = _write(layers, stored, progress)
    _check_territory(written, problems)
    problems.raise_if_any()
    return summary


# --- parsing --------------------------------------------------------------------------------------


def _parse(index: int, raw: Any, problems: _Problems) -> FeatureRow | None:
    if not isinstance(raw, Mapping) or raw.get("type") != "Feature":
        problems.add(index, _("not a GeoJSON Feature"))
        return None
    properties = raw.get("properties")
    if not isinstance(properties, Mapping):
        problems.add(index, _("properties are missing"))
        return None
    before = len(problems.by_feature.get(f"features.{index}", []))
    code = _text(properties.get("code"), "code", index, problems, CODE_PATTERN_MAX)
    name = _text(properties.get("name"), "name", index, problems, 128)
    level = _level(properties.get("level"), index, problems)
    parent_code = properties.get("parent_code")
    if parent_code is not None:
        parent_code = _text(parent_code, "parent_code", index, problems, CODE_PATTERN_MAX)
    households = _count(properties.get("households"), "households", index, problems)
    population = _count(properties.get("population"), "population", index, problems)
    boundary_text = _boundary(raw.get("geometry"), index, problems)
    if len(problems.by_feature.get(f"features.{index}", [])) > before:
        return None
    assert code is not None and name is not None and level is not None
    return FeatureRow(index, code, name, level, parent_code, households, population, boundary_text)


def _text(value: Any, name: str, index: int, problems: _Problems, max_length: int) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value) > max_length or "\x00" in value:
        problems.add(index, _("%(name)s: a text of 1 to %(max)s characters is required", name=name, max=max_length))
        return None
    return value


def _level(value: Any, index: int, problems: _Problems) -> GridLevel | None:
    try:
        return GridLevel(value)
    except ValueError:
        problems.add(index, _("level: one of %(levels)s", levels=", ".join(level.value for level in GridLevel)))
        return None


def _count(value: Any, name: str, index: int, problems: _Problems) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000_000:
        problems.add(index, _("%(name)s: a whole number from 0", name=name))
        return None
    return value


def _boundary(raw: Any, index: int, problems: _Problems) -> str | None:
    """The stored form of a valid boundary (where it lies is checked once written, `_check_territory`)."""
    if raw is None:
        return None
    try:
        geometry.parse_boundary(raw)
    except geometry.BoundaryError as error:
        problems.add(index, _("boundary %(reason)s", reason=error))
        return None
    return geometry.dump(raw)


# --- the tree -------------------------------------------------------------------------------------


def _stored_units(codes: set[str]) -> dict[str, GridUnit]:
    found: dict[str, GridUnit] = {}
    code_list = sorted(codes)
    for start in range(0, len(code_list), 900):  # SQLite's bound-parameter limit
        chunk = code_list[start : start + 900]
        found.update({u.code: u for u in db.session.scalars(select(GridUnit).where(GridUnit.code.in_(chunk)))})
    return found


def _codes_named(features: Sequence[Any]) -> set[str]:
    """Codes the file names, valid features or not (a bad parent is reported once, at its own index)."""
    return {
        f["properties"].get("code")
        for f in features
        if isinstance(f, Mapping) and isinstance(f.get("properties"), Mapping)
    }


def _check_tree(
    rows: Sequence[FeatureRow], stored: Mapping[str, GridUnit], problems: _Problems, named: set[str]
) -> list[list[FeatureRow]]:
    """Parents exist and sit one level up; no duplicates, no cycles. Returns the rows in layers."""
    in_file: dict[str, FeatureRow] = {}
    for row in rows:
        if row.code in in_file:
            problems.add(
                row.index, _("code %(code)s also at feature %(index)s", code=row.code, index=in_file[row.code].index)
            )
        in_file[row.code] = row
    for row in rows:
        if row.parent_code is None:
            continue
        parent_level = (
            in_file[row.parent_code].level
            if row.parent_code in in_file
            else getattr(stored.get(row.parent_code), "level", None)
        )
        if parent_level is None and row.parent_code not in named:
            problems.add(row.index, _("parent_code %(code)s is neither in the file nor stored", code=row.parent_code))
        elif parent_level is None:
            continue  # the parent's own feature is bad and reported
        elif LEVEL_DEPTH[row.level] != LEVEL_DEPTH[parent_level] + 1:
            problems.add(
                row.index,
                _(
                    "a %(level)s cannot sit under a %(parent)s",
                    level=grid_level(row.level),
                    parent=grid_level(parent_level),
                ),
            )
    return _parents_first(rows, in_file, problems)


def _parents_first(
    rows: Sequence[FeatureRow], in_file: Mapping[str, FeatureRow], problems: _Problems
) -> list[FeatureRow]:
    depth: dict[str, int] = {}
    for row in rows:
        chain, code = [], row.code
        while code in in_file and code not in depth:
            if code in chain:
                problems.add(row.index, _("parent_code makes a cycle"))
                break
            chain.append(code)
            code = in_file[code].parent_code  # type: ignore[assignment]
        else:
            base = depth.get(code, -1) if code in in_file else -1
            for offset, member in enumerate(reversed(chain), start=1):
                depth[member] = base + offset
    layers: dict[int, list[FeatureRow]] = defaultdict(list)
    for row in rows:
        if row.code in depth:
            layers[depth[row.code]].append(row)
    return [layers[d] for d in sorted(layers)]


# --- boundaries -----------------------------------------------------------------------------------


def _check_territory(written: Mapping[int, int], problems: _Problems) -> None:
    """The territory's invariant (`grid.territory`) over the written units and those under them, checked on the
    flushed rows; each problem is reported at the feature of each unit it involves, or under which that unit lies."""
    if not written:
        return
    for problem in territory.problems(written):
        for subject in _reported_units(problem, written):
            own, text = territory.describe(problem, subject, lambda _unit: True)
            problems.add(written[subject], _("boundary %(reason)s", reason=text) if own else text)


def _reported_units(problem: territory.Problem, written: Mapping[int, int]) -> list[int]:
    """For each side of the problem, the written unit nearest above it (or itself), when there is one."""
    subjects = []
    sides = (problem.unit,) if problem.kind is territory.Kind.OUTSIDE else (problem.unit, problem.other)
    for side in sides:
        subject = next((unit_id for unit_id in reversed(side.path_ids()) if unit_id in written), None)
        if subject is not None and subject not in subjects:
            subjects.append(subject)
    return subjects


# --- writing --------------------------------------------------------------------------------------


def _write(
    layers: Sequence[Sequence[FeatureRow]], stored: dict[str, GridUnit], progress: Progress | None
) -> tuple[ImportSummary, dict[int, int]]:
    """Create and update the units, parents first; returns the summary and, by unit id, the index of the feature
    that created or changed each unit."""
    summary = ImportSummary()
    units = dict(stored)
    changed: list[tuple[GridUnit, int]] = []
    cells_changed = False
    old_paths: list[str] = []  # of the units changed in place: the outlines they left
    for depth_rows in layers:
        fresh = []
        for row in depth_rows:
            parent = units.get(row.parent_code) if row.parent_code else None
            unit = units.get(row.code)
            if unit is None:
                unit = GridUnit(code=row.code, path=f"/new/{row.code}/", parent_id=parent.id if parent else None)
                _apply(unit, row)
                fresh.append((unit, parent))
                units[row.code] = unit
                summary.created += 1
            elif _changed(unit, row, parent):
                old_paths.append(unit.path)
                _update(unit, row, parent)
                summary.updated += 1
            else:
                summary.unchanged += 1
                continue
            changed.append((unit, row.index))
            cells_changed = cells_changed or row.level is GridLevel.GRID
        db.session.add_all([unit for unit, _ in fresh])
        db.session.flush()  # ids for this layer (SQLite gets one INSERT per row; fast enough, see docs/PERFORMANCE.md)
        for unit, parent in fresh:
            unit.path = f"{parent.path if parent else '/'}{unit.id}/"
        db.session.flush()
        _notify(progress, "written", len(depth_rows))
    if cells_changed:
        bump_version()
    outlines.redraw_above(db.session.connection(), [*old_paths, *(unit.path for unit, _ in changed)])
    return summary, {unit.id: index for unit, index in changed}


def _apply(unit: GridUnit, row: FeatureRow) -> None:
    unit.name, unit.level, unit.boundary = row.name, row.level, row.boundary_text
    unit.households, unit.population = row.households, row.population


def _changed(unit: GridUnit, row: FeatureRow, parent: GridUnit | None) -> bool:
    return (
        unit.name != row.name
        or unit.level is not row.level
        or unit.boundary != row.boundary_text
        or unit.parent_id != (parent.id if parent else None)
        or unit.households != row.households
        or unit.population != row.population
    )


def _update(unit: GridUnit, row: FeatureRow, parent: GridUnit | None) -> None:
    if unit.level is not row.level:
        raise ValidationError(
            _("A unit's level cannot change."), {f"features.{row.index}": [_("level differs from stored")]}
        )
    new_parent_id = parent.id if parent else None
    if unit.parent_id != new_parent_id:
        _rehang(unit, parent)
    _apply(unit, row)


def _rehang(unit: GridUnit, parent: GridUnit | None) -> None:
    old_prefix, new_prefix = unit.path, f"{parent.path if parent else '/'}{unit.id}/"
    db.session.flush()
    repath_subtree(old_prefix, new_prefix)
    unit.parent_id = parent.id if parent else None
    db.session.flush()
    for loaded in list(db.session.identity_map.values()):
        if isinstance(loaded, GridUnit) and loaded.path.startswith(old_prefix):
            db.session.expire(loaded, ["path"])


def _notify(progress: Progress | None, phase: str, count: int) -> None:
    if progress is not None:
        progress(phase, count)


# --- export ---------------------------------------------------------------------------------------


def export_subtree(root: GridUnit) -> dict[str, Any]:
    """The unit and everything under it as a FeatureCollection that imports back unchanged."""
    units = db.session.scalars(
        select(GridUnit).where(GridUnit.path.startswith(root.path, autoescape=True)).order_by(GridUnit.path)
    ).all()
    codes = {u.id: u.code for u in units}
    if root.parent_id is not None:
        codes[root.parent_id] = db.session.get(GridUnit, root.parent_id).code  # type: ignore[union-attr]
    features = [
        {
            "type": "Feature",
            "geometry": geometry.load(unit.boundary),
            "properties": {
                "code": unit.code,
                "name": unit.name,
                "level": unit.level.value,
                "parent_code": codes.get(unit.parent_id) if unit.parent_id else None,
                "households": unit.households,
                "population": unit.population,
            },
        }
        for unit in units
    ]
    return {"type": "FeatureCollection", "features": features}

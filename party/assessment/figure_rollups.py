"""The assessment's other counters, kept in `party_stats_figures` (issue 21 section 5): one row per unit, Beijing
day and figure, in the change's transaction, summed per transaction and upserted at commit as the needs' rows
(`kernel.records.total`, `dashboards.rollups.incremental.upsert`).

Where and when each counts (the definitions of party.assessment.figures, which stay the reference):
- projects by status (`projects.<status>`): a cohort, as the needs: a project counts under the day it opened, in
  every unit on its need's path, by its status now; a status move (`ProjectChanged`) takes one from the old
  status and adds one to the new;
- ratings (`ratings.<source>.count|total|satisfied`): under the day given, in every unit on the need's path;
- points (`points.awarded`, `points.deducted`): under the day of the entry, in every unit on the path of each
  grid unit an organisation of the entry's organisation's chain (itself and its ancestors) is built on, once
  each: the units whose subtree `points_distributed` would find the entry in, a host organisation's through its
  parent chain. An organisation moved or built elsewhere (`OrgPlaceChanging`, then `OrgPlaceChanged`) takes its
  subtree's entries out of their units and counts them again where they now belong.

Distinct members with points entries cannot be summed over days: they stay a live query (figures.point_members).
A grid unit moved under another parent keeps its past rows where they were, as the needs' and the tickets'
rollups do, until `flask party stats rebuild` recounts them all (`rebuild`, one grouped pass per source).
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select

from dashboards.rollups.facts import beijing_day, path_ids
from dashboards.rollups.incremental import upsert
from grid.models import GridUnit
from kernel import records
from kernel.extensions import db
from party.assessment import figures
from party.assessment.models import PartyStatsFigure
from party.lists.events import ProjectChanged, ProjectRated
from party.lists.models import Need, Project, ProjectStatus, Rating, RatingSource
from party.orgs.events import OrgPlaceChanged, OrgPlaceChanging
from party.orgs.models import PartyOrg
from party.points.events import PointsEntered
from party.points.models import PointEntry

Key = tuple[int, date, str]  # unit, Beijing day, figure
KEYS = ("unit_id", "day", "name")
AWARDED, DEDUCTED = "points.awarded", "points.deducted"
RATING_MEASURES = ("count", "total", "satisfied")


def project_figure(status: str) -> str:
    return f"projects.{status}"


def rating_figure(source: str, measure: str) -> str:
    return f"ratings.{source}.{measure}"


def rating_counts(rating: int) -> dict[str, int]:
    """What one rating adds to its source's measures."""
    return {"count": 1, "total": rating, "satisfied": 1 if rating >= figures.SATISFIED else 0}


def points_counts(points: int) -> dict[str, int]:
    """What one entry adds: its points, awarded or deducted by their sign."""
    return {AWARDED: points} if points > 0 else {DEDUCTED: points} if points < 0 else {}


# --- kept by the changes ----------------------------------------------------------------------------------


def count_project_change(change: ProjectChanged) -> None:
    """Subscriber of `ProjectChanged`: the project's cohort row follows its status."""
    project = db.session.get(Project, change.project_id)
    if project is None or change.from_status == change.to_status:
        return
    moved = {project_figure(change.to_status): 1}
    if change.from_status is not None:
        moved[project_figure(change.from_status)] = -1
    _add(path_ids(project.grid_path), beijing_day(project.created_at), moved)


def count_rating(rated: ProjectRated) -> None:
    """Subscriber of `ProjectRated`: the rating counts in its need's units under the day it was given."""
    rating = db.session.get(Rating, rated.rating_id)
    need = db.session.get(Need, rating.need_id) if rating is not None else None
    if rating is None or need is None:
        return
    counts = rating_counts(rating.rating)
    source = rating.source.value
    _add(
        path_ids(need.grid_path), beijing_day(rating.created_at), {rating_figure(source, m): counts[m] for m in counts}
    )


def count_points(entered: PointsEntered) -> None:
    """Subscriber of `PointsEntered`: the entry counts where its organisation's chain is built."""
    counts = points_counts(entered.points)
    if counts:
        units = units_by_org(PartyOrg.id == entered.org_id).get(entered.org_id, set())
        _add(units, beijing_day(entered.occurred_at), counts)


def uncount_moving_orgs(changing: OrgPlaceChanging) -> None:
    """Subscriber of `OrgPlaceChanging`: the subtree's entries leave the units they count in now."""
    _recount_subtree(changing.org_id, -1)


def count_moved_orgs(changed: OrgPlaceChanged) -> None:
    """Subscriber of `OrgPlaceChanged`: the subtree's entries count again where the organisations now are."""
    _recount_subtree(changed.org_id, 1)


def _recount_subtree(org_id: int, sign: int) -> None:
    path = db.session.scalar(select(PartyOrg.path).where(PartyOrg.id == org_id))  # not a loaded row's stale path
    if path is None:
        return
    units = units_by_org(PartyOrg.path.startswith(path, autoescape=True))
    for org, day, awarded, deducted in db.session.execute(_points_by_org_and_day(PointEntry.org_id.in_(list(units)))):
        _add(units[org], _as_date(day), {AWARDED: sign * int(awarded), DEDUCTED: sign * int(deducted)})


def _add(units: Iterable[int], day: date, counts: Mapping[str, int]) -> None:
    summed = records.total(_write, _sums)
    for unit in units:
        for name, value in counts.items():
            summed[(unit, day, name)] += value


def _sums() -> dict[Key, int]:
    return defaultdict(int)


def _write(summed: Mapping[Key, int]) -> None:
    upsert(PartyStatsFigure, KEYS, ("value",), {key: {"value": value} for key, value in summed.items() if value})


# --- where an organisation's points count -----------------------------------------------------------------


def units_by_org(which: ColumnElement[bool] | None = None) -> dict[int, set[int]]:
    """The units each organisation (those `which` keeps; all without it) counts its points in: every unit on the
    path of a grid unit that it or one of its ancestors is built on. Two small queries, whatever the count."""
    orgs = db.session.execute(select(PartyOrg.id, PartyOrg.path).where(*([which] if which is not None else []))).all()
    built_on = select(PartyOrg.id, GridUnit.path).join(GridUnit, GridUnit.id == PartyOrg.grid_id)
    if which is not None:
        ancestors = {ancestor for _org, path in orgs for ancestor in path_ids(path)}
        built_on = built_on.where(PartyOrg.id.in_(ancestors))
    built = {org: path_ids(path) for org, path in db.session.execute(built_on)}
    return {org: {unit for ancestor in path_ids(path) for unit in built.get(ancestor, ())} for org, path in orgs}


def _points_by_org_and_day(which: ColumnElement[bool] | None = None) -> Any:
    day = figures.beijing_day(PointEntry.occurred_at)
    return (
        select(
            PointEntry.org_id,
            day,
            func.coalesce(func.sum(figures.positive(PointEntry.points)), 0),
            func.coalesce(func.sum(figures.negative(PointEntry.points)), 0),
        )
        .where(*([which] if which is not None else []))
        .group_by(PointEntry.org_id, day)
    )


def _as_date(day: Any) -> date:
    return day if isinstance(day, date) else date.fromisoformat(day)  # SQLite's date() is text


# --- recounted from scratch -------------------------------------------------------------------------------


def rebuild() -> dict[str, int]:
    """Recount every row from the projects, ratings and points entries (one grouped pass each in SQL, spread over
    the units in Python), in the caller's transaction. Returns how many of each were counted."""
    rows: dict[Key, int] = _sums()
    paths = dict(db.session.execute(select(GridUnit.id, GridUnit.path)).all())

    def add(units: Iterable[int], day: Any, counts: Mapping[str, int]) -> None:
        for unit in units:
            for name, value in counts.items():
                rows[(unit, _as_date(day), name)] += value

    counted = {"projects": 0, "ratings": 0, "points entries": 0}
    opened = figures.beijing_day(Project.created_at)
    for grid_id, day, status, n in db.session.execute(
        select(Need.grid_id, opened, Project.status, func.count(Project.id))
        .join(Need, Need.id == Project.need_id)
        .group_by(Need.grid_id, opened, Project.status)
    ):
        add(path_ids(paths.get(grid_id, f"/{grid_id}/")), day, {project_figure(ProjectStatus(status).value): int(n)})
        counted["projects"] += int(n)
    given = figures.beijing_day(Rating.created_at)
    for grid_id, day, source, n, total, satisfied in db.session.execute(
        select(Need.grid_id, given, Rating.source, *figures.rating_columns())
        .join(Project, Project.id == Rating.project_id)
        .join(Need, Need.id == Rating.need_id)
        .group_by(Need.grid_id, given, Rating.source)
    ):
        measures = dict(zip(RATING_MEASURES, (int(n), int(total), int(satisfied)), strict=True))
        source_name = RatingSource(source).value
        add(
            path_ids(paths.get(grid_id, f"/{grid_id}/")),
            day,
            {rating_figure(source_name, m): measures[m] for m in measures},
        )
        counted["ratings"] += int(n)
    units = units_by_org()
    for org, day, awarded, deducted, n in db.session.execute(
        _points_by_org_and_day().add_columns(func.count(PointEntry.id))
    ):
        add(units.get(org, ()), day, {AWARDED: int(awarded), DEDUCTED: int(deducted)})
        counted["points entries"] += int(n)
    db.session.execute(delete(PartyStatsFigure))
    kept = [dict(zip(KEYS, key, strict=True)) | {"value": value} for key, value in rows.items() if value]
    if kept:
        db.session.connection().execute(insert(PartyStatsFigure), kept)
    return counted


# --- read -------------------------------------------------------------------------------------------------


def sums(unit_ids: Iterable[int], first: date, last: date) -> dict[str, int]:
    """Every figure's sum over the units' rows from `first` to `last` (Beijing days); absent figures are 0."""
    stmt = (
        select(PartyStatsFigure.name, func.sum(PartyStatsFigure.value))
        .where(
            PartyStatsFigure.unit_id.in_(list(unit_ids)), PartyStatsFigure.day >= first, PartyStatsFigure.day <= last
        )
        .group_by(PartyStatsFigure.name)
    )
    return defaultdict(int, {name: int(value) for name, value in db.session.execute(stmt)})


def projects_by_status(found: Mapping[str, int]) -> dict[str, int]:
    return {status.value: found[project_figure(status.value)] for status in ProjectStatus}


def ratings_of(found: Mapping[str, int], sources: Iterable[RatingSource]) -> figures.RatingFigures:
    count, total, satisfied = (sum(found[rating_figure(s.value, m)] for s in sources) for m in RATING_MEASURES)
    return figures.RatingFigures(count, total, satisfied)


def points_of(found: Mapping[str, int], members: int) -> figures.PointFigures:
    return figures.PointFigures(found[AWARDED], found[DEDUCTED], members)

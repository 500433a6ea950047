"""The assessment's (考评) figures for a territory subtree (a grid path) and a period (UTC instants, `start`
inclusive, `end` exclusive), read by indexed queries over the rows' units (`grid_id`) and times.

Needs, wishes, projects and resources are cohorts, as the ticket dashboards count tickets by the day received:
those raised (opened, offered) in the period, counted by where they stand now. Meetings, ratings, service and
points are what happened in the period.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import ColumnElement, Date, Select, and_, case, cast, func, or_, select, true

from grid.models import GridUnit
from kernel.clock import BEIJING
from kernel.extensions import db
from party.activities.models import Activity, ActivityStatus
from party.activities.service import ALLIANCE_MEETING_KIND
from party.alliances.models import Alliance, AllianceStatus
from party.checkins.models import CheckIn, CheckInKind, CheckInStatus, ServiceRecord
from party.lists.models import Need, NeedStatus, Project, ProjectStatus, Rating, RatingSource, Resource
from party.orgs.models import PartyOrg
from party.points.models import PointEntry
from party.scope import outermost_paths

# Given to someone: an organisation (matched, in a project) or, for a wish, a member (claimed, fulfilled); or met.
MATCHED: Final = (NeedStatus.MATCHED, NeedStatus.IN_PROJECT, NeedStatus.CLAIMED, NeedStatus.FULFILLED, NeedStatus.MET)
SATISFIED: Final = 4  # a rating of 4 or 5, as the tickets' satisfaction rate
RESIDENTS: Final = (RatingSource.RESIDENT, RatingSource.VISIT)


@dataclass(frozen=True)
class Period:
    grid_path: str
    start: datetime
    end: datetime

    def units(self) -> Select[tuple[int]]:
        """The ids of the subtree's units: rows are found through their indexed `grid_id` (a prefix match on each
        row's `grid_path` made SQLite walk the period's rows one by one: docs/PERFORMANCE.md)."""
        return select(GridUnit.id).where(GridUnit.path.startswith(self.grid_path, autoescape=True))

    def holds(self, grid_id: Any) -> ColumnElement[bool]:
        """A WHERE clause keeping rows of the subtree's units; none for the whole territory (every row is in it,
        and naming every unit made the planner look each row up by its unit)."""
        return true() if self.grid_path == "/" else grid_id.in_(self.units())


@dataclass(frozen=True)
class NeedCohort:
    raised: int
    withdrawn: int
    matched: int  # given to an organisation or a member, or met, now
    met: int
    met_on_time: int  # met on or before the due day (a need without one is on time)


def cohort_columns() -> tuple[ColumnElement[int], ...]:
    """A cohort's counts over the needs' rows, in NeedCohort's order."""
    met = Need.status == NeedStatus.MET
    on_time = met & or_(Need.due_on.is_(None), beijing_day(Need.met_at) <= Need.due_on)
    return (
        func.count(Need.id),
        _count_where(Need.status == NeedStatus.WITHDRAWN),
        _count_where(Need.status.in_(MATCHED)),
        _count_where(met),
        _count_where(on_time),
    )


def _count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def beijing_day(moment: Any) -> ColumnElement[date]:
    """The Beijing calendar day of a stored UTC instant, in SQL (China keeps no daylight saving time)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("Asia/Shanghai", moment), Date)
    return func.date(moment, "+8 hours")  # SQLite stores UTC as 'YYYY-MM-DD HH:MM:SS.ffffff'


def projects_by_status(period: Period) -> dict[str, int]:
    """The projects opened in the period in the subtree, by status now (every status present)."""
    stmt = (
        select(Project.status, func.count(Project.id))
        .join(Need, Need.id == Project.need_id)
        .where(
            period.holds(Need.grid_id),
            Project.created_at >= period.start,
            Project.created_at < period.end,
        )
        .group_by(Project.status)
    )
    counts = {status.value: 0 for status in ProjectStatus}
    counts.update({status.value: int(n) for status, n in db.session.execute(stmt)})
    return counts


@dataclass(frozen=True)
class ResourceUnitFigures:
    unit: str
    offered: int
    capacity: int
    reserved: int


def resources_by_unit(period: Period) -> list[ResourceUnitFigures]:
    """The active resources offered in the period in the subtree, by unit of capacity (hours, seats, yuan…)."""
    stmt = (
        select(
            Resource.unit,
            func.count(Resource.id),
            func.coalesce(func.sum(Resource.capacity), 0),
            func.coalesce(func.sum(Resource.reserved), 0),
        )
        .where(
            period.holds(Resource.grid_id),
            Resource.active.is_(True),
            Resource.created_at >= period.start,
            Resource.created_at < period.end,
        )
        .group_by(Resource.unit)
        .order_by(Resource.unit)
    )
    return [ResourceUnitFigures(unit, int(n), int(cap), int(res)) for unit, n, cap, res in db.session.execute(stmt)]


def resources_used(period: Period) -> int:
    """Of the resources offered in the period, those with capacity reserved by a project now."""
    stmt = select(func.count(Resource.id)).where(
        period.holds(Resource.grid_id),
        Resource.active.is_(True),
        Resource.created_at >= period.start,
        Resource.created_at < period.end,
        Resource.reserved > 0,
    )
    return int(db.session.scalar(stmt) or 0)


def _alliances_serving(period: Period) -> ColumnElement[bool]:
    return period.holds(Alliance.grid_id)


def alliances_by_status(period: Period) -> dict[str, int]:
    """The alliances serving a unit of the subtree, proposed before the period's end, by status now."""
    stmt = (
        select(Alliance.status, func.count(Alliance.id))
        .where(_alliances_serving(period), Alliance.created_at < period.end)
        .group_by(Alliance.status)
    )
    counts = {status.value: 0 for status in AllianceStatus}
    counts.update({status.value: int(n) for status, n in db.session.execute(stmt)})
    return counts


def meetings_held(period: Period) -> int:
    """The joint meetings held in the period (not cancelled) by the alliances serving the subtree."""
    stmt = (
        select(func.count(Activity.id))
        .join(Alliance, Alliance.id == Activity.alliance_id)
        .where(
            _alliances_serving(period),
            Activity.kind_code == ALLIANCE_MEETING_KIND,
            Activity.status == ActivityStatus.HELD,
            Activity.held_at >= period.start,
            Activity.held_at < period.end,
        )
    )
    return int(db.session.scalar(stmt) or 0)


@dataclass(frozen=True)
class RatingFigures:
    count: int
    total: int
    satisfied: int  # 4 or 5

    @property
    def average(self) -> float | None:
        return round(self.total / self.count, 2) if self.count else None


def project_ratings(period: Period, sources: tuple[RatingSource, ...]) -> RatingFigures:
    """The ratings of these sources given in the period to projects of the subtree."""
    return _ratings(period.holds(Need.grid_id), period, sources)


def alliance_ratings(alliance_id: int, period: Period, sources: tuple[RatingSource, ...]) -> RatingFigures:
    """The ratings of these sources given in the period to the alliance's projects."""
    return _ratings(Project.alliance_id == alliance_id, period, sources)


def rating_columns() -> tuple[ColumnElement[int], ...]:
    """Ratings' count, total and satisfied (RatingFigures' order), over the ratings' rows."""
    return (
        func.count(Rating.id),
        func.coalesce(func.sum(Rating.rating), 0),
        func.coalesce(func.sum(case((Rating.rating >= SATISFIED, 1), else_=0)), 0),
    )


def _ratings(projects: ColumnElement[bool], period: Period, sources: tuple[RatingSource, ...]) -> RatingFigures:
    stmt = (
        select(*rating_columns())
        .join(Project, Project.id == Rating.project_id)
        .join(Need, Need.id == Rating.need_id)
        .where(projects, Rating.source.in_(sources), Rating.created_at >= period.start, Rating.created_at < period.end)
    )
    count, total, satisfied = db.session.execute(stmt).one()
    return RatingFigures(int(count), int(total), int(satisfied))


@dataclass(frozen=True)
class ServiceFigures:
    members: int  # members checked in (双报到) with a community of the subtree at some time in the period
    records: int  # their service records in the period, withdrawn ones left out
    hours: Decimal


def check_in_service(period: Period) -> ServiceFigures:
    start_day = period.start.astimezone(BEIJING).date()
    members = db.session.scalar(
        select(func.count(func.distinct(CheckIn.member_id))).where(
            CheckIn.kind == CheckInKind.MEMBER,
            period.holds(CheckIn.community_id),
            CheckIn.status.in_((CheckInStatus.CONFIRMED, CheckInStatus.ENDED)),
            CheckIn.decided_at < period.end,
            or_(CheckIn.ended_on.is_(None), CheckIn.ended_on >= start_day),
        )
    )
    records, hours = db.session.execute(
        select(func.count(ServiceRecord.id), func.coalesce(func.sum(ServiceRecord.hours), 0))
        .join(CheckIn, CheckIn.id == ServiceRecord.check_in_id)
        .where(
            period.holds(CheckIn.community_id),
            ServiceRecord.withdrawn_at.is_(None),
            ServiceRecord.occurred_at >= period.start,
            ServiceRecord.occurred_at < period.end,
        )
    ).one()
    return ServiceFigures(int(members or 0), int(records), Decimal(hours).quantize(Decimal("0.01")))


@dataclass(frozen=True)
class PointFigures:
    awarded: int
    deducted: int  # a negative number, or 0
    members: int

    @property
    def net(self) -> int:
        return self.awarded + self.deducted


def positive(points: Any) -> ColumnElement[int]:
    return case((points > 0, points), else_=0)


def negative(points: Any) -> ColumnElement[int]:
    return case((points < 0, points), else_=0)


def points_distributed(period: Period) -> PointFigures:
    """Points entries dated in the period for members of the organisations built on the subtree's units and those
    below them (a host organisation counts where its parent chain reaches such an organisation)."""
    orgs = _point_orgs(period)
    if orgs is None:
        return PointFigures(0, 0, 0)
    awarded, deducted, members = db.session.execute(
        select(
            func.coalesce(func.sum(positive(PointEntry.points)), 0),
            func.coalesce(func.sum(negative(PointEntry.points)), 0),
            func.count(func.distinct(PointEntry.member_id)),
        ).where(_entries_of(orgs, period))
    ).one()
    return PointFigures(int(awarded), int(deducted), int(members))


def point_members(period: Period) -> int:
    """The members with points entries in `points_distributed`'s count: distinct over the period, so not a sum of
    days' rows; the summary reads it here while the points themselves come from the rollup."""
    orgs = _point_orgs(period)
    if orgs is None:
        return 0
    stmt = select(func.count(func.distinct(PointEntry.member_id))).where(_entries_of(orgs, period))
    return int(db.session.scalar(stmt) or 0)


def _point_orgs(period: Period) -> Select[tuple[int]] | None:
    """The organisations built on the subtree's units and those below them (None: no such organisation)."""
    built_here = (
        select(PartyOrg.path)
        .join(GridUnit, GridUnit.id == PartyOrg.grid_id)
        .where(GridUnit.path.startswith(period.grid_path, autoescape=True))
    )
    roots = outermost_paths(list(db.session.scalars(built_here)))
    if not roots:
        return None
    return select(PartyOrg.id).where(or_(*(PartyOrg.path.startswith(root, autoescape=True) for root in roots)))


def _entries_of(orgs: Select[tuple[int]], period: Period) -> ColumnElement[bool]:
    return and_(
        PointEntry.org_id.in_(orgs), PointEntry.occurred_at >= period.start, PointEntry.occurred_at < period.end
    )

"""Figures of the lists for the assessment (考评, party.alliances' summary and report): counts by territory
subtree (a grid path) and period (UTC instants, `start` inclusive, `end` exclusive)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from kernel.clock import BEIJING
from kernel.extensions import db
from party.lists.models import Need, NeedEvent, NeedKind, Project, ProjectStatus, Rating, Resource
from party.lists.projects import ProjectView, loaded_projects, views_of
from party.lists.ratings import average_of


@dataclass(frozen=True)
class NeedCounts:
    raised: int  # needs and wishes raised in the period
    matched: int  # given an organisation or a member in the period (assign, take, claim)
    met: int  # met in the period
    met_on_time: int  # of those, met on or before their due day (a need without one is on time)


def need_counts(grid_path: str, start: datetime, end: datetime) -> NeedCounts:
    in_subtree = Need.grid_path.startswith(grid_path, autoescape=True)
    raised = db.session.scalar(
        select(func.count(Need.id)).where(in_subtree, Need.created_at >= start, Need.created_at < end)
    )
    matched = db.session.scalar(
        select(func.count(func.distinct(NeedEvent.need_id)))
        .join(Need, Need.id == NeedEvent.need_id)
        .where(in_subtree, NeedEvent.action.in_(("assign", "take", "claim")))
        .where(NeedEvent.created_at >= start, NeedEvent.created_at < end)
    )
    met_rows = db.session.execute(
        select(Need.met_at, Need.due_on).where(in_subtree, Need.met_at >= start, Need.met_at < end)
    ).all()
    on_time = sum(1 for met_at, due_on in met_rows if due_on is None or met_at.astimezone(BEIJING).date() <= due_on)
    return NeedCounts(int(raised or 0), int(matched or 0), len(met_rows), on_time)


def projects_by_status(grid_path: str, end: datetime) -> dict[str, int]:
    """Projects opened before `end`, by their status now (every status present, 0 when none)."""
    stmt = (
        select(Project.status, func.count(Project.id))
        .where(Project.grid_path.startswith(grid_path, autoescape=True), Project.created_at < end)
        .group_by(Project.status)
    )
    counts = {status.value: 0 for status in ProjectStatus}
    counts.update({status.value: int(count) for status, count in db.session.execute(stmt)})
    return counts


@dataclass(frozen=True)
class ResourceCounts:
    offered: int  # active resources offered before `end`
    capacity: int  # their capacity, in all (mixed units: a count of units offered)
    reserved: int  # what projects hold of it
    used: int  # resources with any capacity reserved


def resource_counts(grid_path: str, end: datetime) -> ResourceCounts:
    row = db.session.execute(
        select(
            func.count(Resource.id),
            func.coalesce(func.sum(Resource.capacity), 0),
            func.coalesce(func.sum(Resource.reserved), 0),
            func.count(Resource.id).filter(Resource.reserved > 0),
        ).where(
            Resource.grid_path.startswith(grid_path, autoescape=True),
            Resource.active.is_(True),
            Resource.created_at < end,
        )
    ).one()
    return ResourceCounts(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


@dataclass(frozen=True)
class RatingAverage:
    total: int
    count: int

    @property
    def average(self) -> float | None:
        return round(self.total / self.count, 2) if self.count else None


def project_rating(grid_path: str, start: datetime, end: datetime) -> RatingAverage:
    """The ratings (residents', visits', member organisations') given in the period to projects of the subtree."""
    total, count = db.session.execute(
        select(func.coalesce(func.sum(Rating.rating), 0), func.count(Rating.id))
        .join(Project, Project.id == Rating.project_id)
        .where(Project.grid_path.startswith(grid_path, autoescape=True))
        .where(Rating.created_at >= start, Rating.created_at < end)
    ).one()
    return RatingAverage(int(total), int(count))


def wishes_met(grid_path: str, start: datetime, end: datetime) -> int:
    stmt = select(func.count(Need.id)).where(
        Need.grid_path.startswith(grid_path, autoescape=True),
        Need.kind == NeedKind.WISH,
        Need.met_at >= start,
        Need.met_at < end,
    )
    return int(db.session.scalar(stmt) or 0)


@dataclass(frozen=True)
class AllianceProject:
    project: ProjectView
    rating: RatingAverage


def alliance_projects(alliance_id: int, start: datetime, end: datetime) -> list[AllianceProject]:
    """An alliance's projects opened in the period (a year, say), oldest first, with their ratings."""
    projects = db.session.scalars(
        loaded_projects()
        .where(Project.alliance_id == alliance_id, Project.created_at >= start, Project.created_at < end)
        .order_by(Project.id)
    ).all()
    sums = average_of([project.id for project in projects])
    return [AllianceProject(view, RatingAverage(*sums.get(view.id, (0, 0)))) for view in views_of(projects)]

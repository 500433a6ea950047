"""Rules of patrols: a worker starts one in their own cell, adds track points and visits, and ends it."""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, false, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from grid import service as grid_service
from grid.coords import to_wgs84
from grid.models import GridUnit
from grid.scope import scope_of
from kernel.clock import utcnow
from kernel.errors import ConflictError, ForbiddenError, NotFoundError
from kernel.extensions import db
from kernel.i18n import _
from kernel.pagination import Page, paginate
from kernel.principals import Caller, Role
from workforce import positions
from workforce.models import WorkerProfile
from workforce.patrols.models import Patrol, PatrolVisit
from workforce.service import own_profile

log = logging.getLogger("grid.workforce")


@dataclass(frozen=True)
class PatrolFilters:
    worker_id: int | None = None
    grid_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    open: bool | None = None


def list_patrols(actor: Caller, filters: PatrolFilters, *, limit: int, cursor: str | None) -> Page[Patrol]:
    """Patrols the actor may see, newest first: workers their own; supervisors those in cells of their scope."""
    stmt = _visible_patrols(actor)
    if filters.worker_id is not None:
        stmt = stmt.where(Patrol.worker_id == filters.worker_id)
    if filters.grid_id is not None:
        unit = grid_service.get_visible_unit(actor, filters.grid_id, ancestors_allowed=True)
        inside = select(GridUnit.id).where(GridUnit.path.startswith(unit.path, autoescape=True))
        stmt = stmt.where(Patrol.grid_id.in_(inside))
    if filters.start is not None:
        stmt = stmt.where(Patrol.started_at >= filters.start)
    if filters.end is not None:
        stmt = stmt.where(Patrol.started_at < filters.end)
    if filters.open is not None:
        stmt = stmt.where(Patrol.ended_at.is_(None) if filters.open else Patrol.ended_at.is_not(None))
    fingerprint = {**filters.__dict__, "actor": actor.id}
    return paginate(
        stmt,
        order_by=[Patrol.started_at, Patrol.id],
        limit=limit,
        cursor=cursor,
        query_fingerprint=fingerprint,
        descending=True,
    )


def get_patrol(actor: Caller, patrol_id: int) -> Patrol:
    """A patrol the actor may see, with its visits; 404 otherwise."""
    stmt = _visible_patrols(actor).where(Patrol.id == patrol_id).options(selectinload(Patrol.visits))
    patrol = db.session.scalars(stmt).unique().one_or_none()
    if patrol is None:
        raise NotFoundError(_("No such patrol."))
    return patrol


def patrol_track(actor: Caller, patrol_id: int) -> positions.Track:
    """The patrol's track points, oldest first."""
    patrol = get_patrol(actor, patrol_id)
    log.info("patrol track read", extra={"worker_id": patrol.worker_id, "patrol_id": patrol.id, "by": actor.id})
    return positions.Track(patrol.worker_id, patrol.id, positions.fixes_of_patrol(patrol.id))


def start_patrol(actor: Caller, data: Mapping[str, Any]) -> Patrol:
    """A worker starts patrolling one of their own cells; one open patrol at a time."""
    profile = own_profile(actor)
    if data["grid_id"] not in profile.account.grid_ids:
        raise ForbiddenError(_("You patrol only your own cells."), {"grid_id": [_("not one of your cells")]})
    current = db.session.scalars(select(Patrol.id).where(Patrol.open_worker_id == profile.id)).first()
    if current is not None:
        raise ConflictError(_("End your open patrol first."), {"patrol_id": [str(current)]})
    now = utcnow()
    started_at = data.get("started_at") or now
    positions.check_client_time(started_at, "started_at", now=now)
    patrol = Patrol(
        worker=profile, grid_id=data["grid_id"], open_worker_id=profile.id, note=data.get("note"), started_at=started_at
    )
    db.session.add(patrol)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent start won the unique open-patrol slot
        raise ConflictError(_("End your open patrol first."), {"patrol_id": [_("another patrol is open")]}) from None
    return _reloaded(patrol)


@dataclass(frozen=True)
class PointsBatch:
    accepted: int
    rejected: list[positions.Rejection]
    points_count: int


def add_patrol_points(actor: Caller, patrol_id: int, points: Sequence[Mapping[str, Any]]) -> PointsBatch:
    """Append a batch of track points to the actor's open patrol; implausible ones are refused one by one."""
    patrol = _open_own_patrol(actor, patrol_id)
    accepted, rejected = positions.screen(
        points, now=utcnow(), not_before=patrol.started_at, last=patrol.worker.last_position
    )
    positions.store(patrol.worker, accepted, patrol_id=patrol.id)
    return PointsBatch(len(accepted), rejected, _reloaded(patrol).points_count)


def add_visit(actor: Caller, patrol_id: int, data: Mapping[str, Any]) -> PatrolVisit:
    """Record a household or place visited on the actor's open patrol."""
    patrol = _open_own_patrol(actor, patrol_id)
    now = utcnow()
    visited_at = data.get("visited_at") or now
    positions.check_client_time(visited_at, "visited_at", now=now, not_before=patrol.started_at)
    lat, lng = data.get("lat"), data.get("lng")
    if lat is not None and lng is not None:
        lat, lng = to_wgs84(lat, lng, data["coord_system"])  # stored in WGS-84
    visit = PatrolVisit(
        patrol_id=patrol.id,
        household=data.get("household"),
        place=data.get("place"),
        note=data["note"],
        lat=lat,
        lng=lng,
        visited_at=visited_at,
    )
    db.session.add(visit)
    db.session.flush()
    return visit


def end_patrol(actor: Caller, patrol_id: int, data: Mapping[str, Any]) -> Patrol:
    """End the actor's open patrol: its length (through the points by time) and duration are fixed now."""
    patrol = _open_own_patrol(actor, patrol_id)
    now = utcnow()
    ended_at = data.get("ended_at") or now
    positions.check_client_time(ended_at, "ended_at", now=now, not_before=patrol.started_at, skew=timedelta(0))
    length = positions.path_length_m(positions.fixes_of_patrol(patrol.id))
    db.session.execute(
        update(Patrol)
        .where(Patrol.id == patrol.id)
        .values(
            ended_at=ended_at,
            open_worker_id=None,
            length_m=round(length, 1),
            duration_s=round((ended_at - patrol.started_at).total_seconds()),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return _reloaded(patrol)


def _visible_patrols(actor: Caller) -> Select[tuple[Patrol]]:
    stmt = select(Patrol)
    if actor.role is Role.ADMIN:
        return stmt
    if actor.role is Role.WORKER:
        return stmt.where(Patrol.worker_id.in_(select(WorkerProfile.id).where(WorkerProfile.account_id == actor.id)))
    if actor.role is Role.SUPERVISOR:
        cells = select(GridUnit.id).where(scope_of(actor).clause(GridUnit.path))
        return stmt.where(Patrol.grid_id.in_(cells))
    return stmt.where(false())


def _open_own_patrol(actor: Caller, patrol_id: int) -> Patrol:
    """The actor's patrol, locked against a concurrent end; 404 if not theirs, 409 once ended."""
    patrol = get_patrol(actor, patrol_id)
    if patrol.worker.account_id != actor.id:
        raise ForbiddenError(_("Only the patrolling worker adds to a patrol."), {"patrol": [_("not yours")]})
    # A conditional write takes the row lock (PostgreSQL) or the write lock (SQLite) before we add to it,
    # so an end committed meanwhile is seen here rather than points landing on an ended patrol.
    touched = db.session.execute(
        update(Patrol)
        .where(Patrol.id == patrol.id, Patrol.ended_at.is_(None))
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not touched.rowcount:
        raise ConflictError(_("The patrol has ended."), {"patrol": ["ended"]})
    return _reloaded(patrol)


def _reloaded(patrol: Patrol) -> Patrol:
    """The patrol as stored now (counts, times), after statements that bypassed the identity map."""
    db.session.flush()
    db.session.refresh(patrol)
    return patrol

"""Rules for the people in the field: profiles, cells, duty, positions and patrols. Plain functions."""

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from auth.models import Account
from grid import service as grid_service
from grid.coords import to_wgs84
from grid.models import CellAssignment, GridLevel, GridUnit
from grid.scope import management_scope, scope_of
from kernel.clock import utcnow
from kernel.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from kernel.extensions import db
from kernel.pagination import Page, paginate
from kernel.principals import Caller, Role
from workforce import positions
from workforce.models import Employment, Fix, Patrol, PatrolVisit, WorkerProfile

log = logging.getLogger("grid.workforce")
MANAGERS = frozenset({Role.ADMIN, Role.SUPERVISOR})


# --- what a caller sees of a worker ---------------------------------------------------------------


@dataclass(frozen=True)
class WorkerView:
    """A profile as one caller may see it: phone and position are personal."""

    id: int
    user_id: int
    username: str
    name: str
    phone: str | None
    employment: Employment
    party_member: bool
    grid_ids: list[int]
    on_duty: bool
    last_position: Fix | None
    created_at: datetime
    updated_at: datetime


def _view(actor: Caller, profile: WorkerProfile) -> WorkerView:
    account = profile.account
    # Volunteers see who works their area, never how to reach or find them; the worker sees everything.
    personal = actor.role in MANAGERS or actor.id == account.id
    return WorkerView(
        id=profile.id,
        user_id=account.id,
        username=account.username,
        name=account.display_name,
        phone=account.phone if personal else None,
        employment=profile.employment,
        party_member=profile.party_member,
        grid_ids=account.grid_ids,
        on_duty=profile.on_duty,
        last_position=profile.last_position if personal else None,
        created_at=profile.created_at,
        updated_at=profile.updated_at,
    )


# --- reading profiles -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerFilters:
    grid_id: int | None = None
    on_duty: bool | None = None
    employment: Employment | None = None
    party_member: bool | None = None
    q: str | None = None


def list_workers(actor: Caller, filters: WorkerFilters, *, limit: int, cursor: str | None) -> Page[WorkerView]:
    """Profiles the actor may see: admins all; supervisors and volunteers those of accounts in their subtree."""
    stmt = _visible_profiles(actor)
    if filters.grid_id is not None:
        unit = grid_service.get_visible_unit(actor, filters.grid_id, ancestors_allowed=True)
        assigned = (
            select(CellAssignment.account_id)
            .join(GridUnit, GridUnit.id == CellAssignment.grid_id)
            .where(GridUnit.path.startswith(unit.path, autoescape=True))
        )
        stmt = stmt.where(WorkerProfile.account_id.in_(assigned))
    for column, value in (
        (WorkerProfile.on_duty, filters.on_duty),
        (WorkerProfile.employment, filters.employment),
        (WorkerProfile.party_member, filters.party_member),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.q:
        pattern = f"%{filters.q.lower()}%"
        named = select(Account.id).where(
            or_(func.lower(Account.username).like(pattern), func.lower(Account.display_name).like(pattern))
        )
        stmt = stmt.where(WorkerProfile.account_id.in_(named))
    stmt = stmt.options(joinedload(WorkerProfile.account).selectinload(Account.cell_assignments))
    fingerprint = {**filters.__dict__, "actor": actor.id}
    page = paginate(stmt, order_by=[WorkerProfile.id], limit=limit, cursor=cursor, query_fingerprint=fingerprint)
    return Page([_view(actor, profile) for profile in page.items], page.next_cursor)


def get_worker(actor: Caller, worker_id: int) -> WorkerView:
    """A profile the actor may see; 404 otherwise (its existence is private)."""
    return _view(actor, _visible_profile(actor, worker_id))


def get_own_worker(actor: Caller) -> WorkerView:
    return _view(actor, _own_profile(actor))


def _visible_profiles(actor: Caller) -> Select[tuple[WorkerProfile]]:
    stmt = select(WorkerProfile)
    if actor.role is Role.ADMIN:
        return stmt
    if actor.role is Role.WORKER:
        return stmt.where(WorkerProfile.account_id == actor.id)
    # Supervisors and volunteers: workers who belong to a unit of their subtree.
    home = (
        select(Account.id)
        .join(GridUnit, GridUnit.id == Account.scope_grid_id)
        .where(scope_of(actor).clause(GridUnit.path))
    )
    return stmt.where(WorkerProfile.account_id.in_(home))


def _visible_profile(actor: Caller, worker_id: int) -> WorkerProfile:
    profile = db.session.scalars(_visible_profiles(actor).where(WorkerProfile.id == worker_id)).one_or_none()
    if profile is None:
        raise NotFoundError("No such worker.")
    return profile


def _own_profile(actor: Caller) -> WorkerProfile:
    profile = db.session.scalars(select(WorkerProfile).where(WorkerProfile.account_id == actor.id)).one_or_none()
    if profile is None:
        raise NotFoundError(
            "You have no worker profile; ask your supervisor to create one.", {"worker": ["no profile"]}
        )
    return profile


def _profile_with_positions(actor: Caller, worker_id: int) -> WorkerProfile:
    """A profile whose positions the actor may read: the worker, and admins or supervisors in scope."""
    if actor.role not in MANAGERS and actor.role is not Role.WORKER:
        raise ForbiddenError("Positions are for the worker and their supervisors.", {"role": ["not allowed"]})
    return _visible_profile(actor, worker_id)


# --- changing profiles ----------------------------------------------------------------------------


def create_worker(actor: Caller, data: Mapping[str, Any]) -> WorkerView:
    """Give an existing worker account its profile (and, if given, its cells)."""
    account = _worker_account(actor, data["user_id"])
    if db.session.scalars(select(WorkerProfile.id).where(WorkerProfile.account_id == account.id)).first() is not None:
        raise ConflictError("That account already has a worker profile.", {"user_id": ["profile exists"]})
    profile = WorkerProfile(
        account=account,
        employment=data["employment"],
        party_member=data.get("party_member", False),
        on_duty=data.get("on_duty", False),
    )
    db.session.add(profile)
    if "grid_ids" in data:
        _reassign_cells(actor, account, data["grid_ids"])
    try:
        db.session.flush()
    except IntegrityError:  # the same profile created by a concurrent request
        raise ConflictError("That account already has a worker profile.", {"user_id": ["profile exists"]}) from None
    return _view(actor, profile)


def update_worker(actor: Caller, worker_id: int, changes: Mapping[str, Any]) -> WorkerView:
    """Change employment, party membership, cells or duty of a profile in the actor's scope."""
    profile = _visible_profile(actor, worker_id)
    if "grid_ids" in changes and _reassign_cells(actor, profile.account, changes["grid_ids"]):
        profile.updated_at = utcnow()  # the cells live in grid's table; the profile still changed
    for name in ("employment", "party_member", "on_duty"):
        if name in changes:
            setattr(profile, name, changes[name])
    db.session.flush()
    return _view(actor, profile)


def create_initial_profile(account_id: int, *, employment: Employment, party_member: bool = False) -> WorkerProfile:
    """For the CLI and the demo seed: no acting account; the account keeps the cells it has."""
    account = db.session.get(Account, account_id)
    if account is None or account.role is not Role.WORKER:
        raise ValidationError("Profiles are for worker accounts.", {"user_id": ["not a worker account"]})
    profile = WorkerProfile(account=account, employment=employment, party_member=party_member, on_duty=False)
    db.session.add(profile)
    db.session.flush()
    return profile


def set_own_duty(actor: Caller, on_duty: bool) -> WorkerView:
    """A worker going on or off duty."""
    profile = _own_profile(actor)
    profile.on_duty = on_duty
    db.session.flush()
    return _view(actor, profile)


def _worker_account(actor: Caller, account_id: int) -> Account:
    account = db.session.get(Account, account_id)
    if account is None:
        raise ValidationError("No such account.", {"user_id": ["no such account"]})
    home = account.scope_grid.path if account.scope_grid is not None else None
    if actor.role is not Role.ADMIN and not management_scope(actor).covers(home):
        raise ForbiddenError("That account is outside your scope.", {"user_id": ["outside your grid scope"]})
    if account.role is not Role.WORKER:
        raise ValidationError("Profiles are for worker accounts.", {"user_id": [f"a {account.role.value} account"]})
    return account


def _reassign_cells(actor: Caller, account: Account, grid_ids: Iterable[int]) -> bool:
    """Make the account's cells exactly `grid_ids`; every cell added or removed must be in the actor's reach.

    Returns whether anything changed.
    """
    wanted = set(grid_ids)
    current = set(db.session.scalars(select(CellAssignment.grid_id).where(CellAssignment.account_id == account.id)))
    added, removed = wanted - current, current - wanted
    if not added and not removed:
        return False
    units = {unit.id: unit for unit in db.session.scalars(select(GridUnit).where(GridUnit.id.in_(added | removed)))}
    missing = sorted(str(unit_id) for unit_id in added if unit_id not in units)
    if missing:
        raise ValidationError("No such grid unit.", {"grid_ids": [f"no such grid unit: {', '.join(missing)}"]})
    reach = management_scope(actor)
    outside = sorted(unit.code for unit in units.values() if not reach.covers(unit.path))
    if outside:
        raise ForbiddenError(
            "Those cells are outside your scope.", {"grid_ids": [f"outside your scope: {', '.join(outside)}"]}
        )
    not_cells = sorted(units[i].code for i in added if units[i].level is not GridLevel.GRID or not units[i].active)
    if not_cells:
        raise ValidationError(
            "Workers are assigned to active grid cells.", {"grid_ids": [f"not an active cell: {', '.join(not_cells)}"]}
        )
    if removed:
        db.session.execute(
            delete(CellAssignment).where(CellAssignment.account_id == account.id, CellAssignment.grid_id.in_(removed))
        )
    grid_service.assign_cells(account.id, [units[i] for i in sorted(added)])
    db.session.flush()
    db.session.expire(account, ["cell_assignments"])
    return True


# --- positions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PositionBatch:
    accepted: int
    rejected: list[positions.Rejection]
    last_position: Fix | None


def record_positions(actor: Caller, pings: Sequence[Mapping[str, Any]]) -> PositionBatch:
    """Store a batch of a worker's fixes in WGS-84; implausible ones are refused one by one."""
    profile = _own_profile(actor)
    accepted, rejected = positions.screen(pings, now=utcnow())
    positions.store(profile, accepted, patrol_id=None)
    return PositionBatch(len(accepted), rejected, profile.last_position)


def track_of(actor: Caller, worker_id: int, *, start: datetime, end: datetime) -> positions.Track:
    """A worker's positions between two times, oldest first (patrol points included)."""
    profile = _profile_with_positions(actor, worker_id)
    # Position data is personal: who looked at whose movements stays on record.
    log.info("worker track read", extra={"worker_id": profile.id, "by": actor.id})
    return positions.Track(profile.id, None, positions.fixes_of_worker(profile.id, start=start, end=end))


# --- patrols --------------------------------------------------------------------------------------


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
        raise NotFoundError("No such patrol.")
    return patrol


def patrol_track(actor: Caller, patrol_id: int) -> positions.Track:
    """The patrol's track points, oldest first."""
    patrol = get_patrol(actor, patrol_id)
    log.info("patrol track read", extra={"worker_id": patrol.worker_id, "patrol_id": patrol.id, "by": actor.id})
    return positions.Track(patrol.worker_id, patrol.id, positions.fixes_of_patrol(patrol.id))


def start_patrol(actor: Caller, data: Mapping[str, Any]) -> Patrol:
    """A worker starts patrolling one of their own cells; one open patrol at a time."""
    profile = _own_profile(actor)
    if data["grid_id"] not in profile.account.grid_ids:
        raise ForbiddenError("You patrol only your own cells.", {"grid_id": ["not one of your cells"]})
    current = db.session.scalars(select(Patrol.id).where(Patrol.open_worker_id == profile.id)).first()
    if current is not None:
        raise ConflictError("End your open patrol first.", {"patrol_id": [str(current)]})
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
        raise ConflictError("End your open patrol first.", {"patrol_id": ["another patrol is open"]}) from None
    return _reloaded(patrol)


@dataclass(frozen=True)
class PointsBatch:
    accepted: int
    rejected: list[positions.Rejection]
    points_count: int


def add_patrol_points(actor: Caller, patrol_id: int, points: Sequence[Mapping[str, Any]]) -> PointsBatch:
    """Append a batch of track points to the actor's open patrol; implausible ones are refused one by one."""
    patrol = _open_own_patrol(actor, patrol_id)
    accepted, rejected = positions.screen(points, now=utcnow(), not_before=patrol.started_at)
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
        raise ForbiddenError("Only the patrolling worker adds to a patrol.", {"patrol": ["not yours"]})
    # A conditional write takes the row lock (PostgreSQL) or the write lock (SQLite) before we add to it,
    # so an end committed meanwhile is seen here rather than points landing on an ended patrol.
    touched = db.session.execute(
        update(Patrol)
        .where(Patrol.id == patrol.id, Patrol.ended_at.is_(None))
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not touched.rowcount:
        raise ConflictError("The patrol has ended.", {"patrol": ["ended"]})
    return _reloaded(patrol)


def _reloaded(patrol: Patrol) -> Patrol:
    """The patrol as stored now (counts, times), after statements that bypassed the identity map."""
    db.session.flush()
    db.session.refresh(patrol)
    return patrol

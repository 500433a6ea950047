"""Rules for the people in the field: profiles, cells, duty and positions (patrols: `workforce.patrols`)."""

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from auth.models import Account
from grid import service as grid_service
from grid.models import CellAssignment, GridLevel, GridUnit
from grid.scope import management_scope, scope_of
from kernel.clock import utcnow
from kernel.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from kernel.extensions import db
from kernel.i18n import _
from kernel.pagination import Page, paginate
from kernel.principals import Caller, Role
from workforce import positions
from workforce.models import Employment, Fix, WorkerProfile

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
    cells: list[GridUnit]
    on_duty: bool
    last_position: Fix | None
    created_at: datetime
    updated_at: datetime


def _view(actor: Caller, profile: WorkerProfile, units: Mapping[int, GridUnit] | None = None) -> WorkerView:
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
        party_member=account.party_member,
        grid_ids=account.grid_ids,
        cells=_cells_of(account, units),
        on_duty=profile.on_duty,
        last_position=profile.last_position if personal else None,
        created_at=profile.created_at,
        updated_at=profile.updated_at,
    )


def _cells_of(account: Account, units: Mapping[int, GridUnit] | None = None) -> list[GridUnit]:
    """The worker's cells, by code: where they take and handle tickets on the spot (小事不出网格)."""
    ids = account.grid_ids
    if not ids:
        return []
    units = units if units is not None else _units(ids)
    return sorted((units[i] for i in ids if i in units), key=lambda unit: (unit.code, unit.id))


def _units(ids: Iterable[int]) -> dict[int, GridUnit]:
    return {unit.id: unit for unit in db.session.scalars(select(GridUnit).where(GridUnit.id.in_(list(ids))))}


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
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.party_member is not None:
        members = select(Account.id).where(Account.party_member.is_(filters.party_member))
        stmt = stmt.where(WorkerProfile.account_id.in_(members))
    if filters.q:
        pattern = f"%{filters.q.lower()}%"
        named = select(Account.id).where(
            or_(func.lower(Account.username).like(pattern), func.lower(Account.display_name).like(pattern))
        )
        stmt = stmt.where(WorkerProfile.account_id.in_(named))
    stmt = stmt.options(joinedload(WorkerProfile.account).selectinload(Account.cell_assignments))
    fingerprint = {**filters.__dict__, "actor": actor.id}
    page = paginate(stmt, order_by=[WorkerProfile.id], limit=limit, cursor=cursor, query_fingerprint=fingerprint)
    units = _units({cell for profile in page.items for cell in profile.account.grid_ids})  # one query a page
    return Page([_view(actor, profile, units) for profile in page.items], page.next_cursor)


def get_worker(actor: Caller, worker_id: int) -> WorkerView:
    """A profile the actor may see; 404 otherwise (its existence is private)."""
    return _view(actor, _visible_profile(actor, worker_id))


def get_own_worker(actor: Caller) -> WorkerView:
    return _view(actor, own_profile(actor))


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
        raise NotFoundError(_("No such worker."))
    return profile


def own_profile(actor: Caller) -> WorkerProfile:
    profile = db.session.scalars(select(WorkerProfile).where(WorkerProfile.account_id == actor.id)).one_or_none()
    if profile is None:
        raise NotFoundError(
            _("You have no worker profile; ask your supervisor to create one."), {"worker": [_("no profile")]}
        )
    return profile


def _profile_with_positions(actor: Caller, worker_id: int) -> WorkerProfile:
    """A profile whose positions the actor may read: the worker, and admins or supervisors in scope."""
    if actor.role not in MANAGERS and actor.role is not Role.WORKER:
        raise ForbiddenError(_("Positions are for the worker and their supervisors."), {"role": [_("not allowed")]})
    return _visible_profile(actor, worker_id)


# --- changing profiles ----------------------------------------------------------------------------


def create_worker(actor: Caller, data: Mapping[str, Any]) -> WorkerView:
    """Give an existing worker account its profile (and, if given, its cells)."""
    account = _worker_account(actor, data["user_id"])
    if db.session.scalars(select(WorkerProfile.id).where(WorkerProfile.account_id == account.id)).first() is not None:
        raise ConflictError(_("That account already has a worker profile."), {"user_id": [_("profile exists")]})
    profile = WorkerProfile(account=account, employment=data["employment"], on_duty=data.get("on_duty", False))
    db.session.add(profile)
    if "grid_ids" in data:
        _reassign_cells(actor, account, data["grid_ids"])
    try:
        db.session.flush()
    except IntegrityError:  # the same profile created by a concurrent request
        raise ConflictError(
            _("That account already has a worker profile."), {"user_id": [_("profile exists")]}
        ) from None
    return _view(actor, profile)


def update_worker(actor: Caller, worker_id: int, changes: Mapping[str, Any]) -> WorkerView:
    """Change employment, cells or duty of a profile in the actor's scope."""
    profile = _visible_profile(actor, worker_id)
    if "grid_ids" in changes and _reassign_cells(actor, profile.account, changes["grid_ids"]):
        profile.updated_at = utcnow()  # the cells live in grid's table; the profile still changed
    for name in ("employment", "on_duty"):
        if name in changes:
            setattr(profile, name, changes[name])
    db.session.flush()
    return _view(actor, profile)


def create_initial_profile(account_id: int, *, employment: Employment) -> WorkerProfile:
    """For the CLI and the demo seed: no acting account; the account keeps the cells it has."""
    account = db.session.get(Account, account_id)
    if account is None or account.role is not Role.WORKER:
        raise ValidationError(_("Profiles are for worker accounts."), {"user_id": [_("not a worker account")]})
    profile = WorkerProfile(account=account, employment=employment, on_duty=False)
    db.session.add(profile)
    db.session.flush()
    return profile


def set_own_duty(actor: Caller, on_duty: bool) -> WorkerView:
    """A worker going on or off duty."""
    profile = own_profile(actor)
    profile.on_duty = on_duty
    db.session.flush()
    return _view(actor, profile)


def _worker_account(actor: Caller, account_id: int) -> Account:
    account = db.session.get(Account, account_id)
    if account is None:
        raise ValidationError(_("No such account."), {"user_id": [_("no such account")]})
    home = account.scope_grid.path if account.scope_grid is not None else None
    if actor.role is not Role.ADMIN and not management_scope(actor).covers(home):
        raise ForbiddenError(_("That account is outside your scope."), {"user_id": [_("outside your grid scope")]})
    if account.role is not Role.WORKER:
        raise ValidationError(
            _("Profiles are for worker accounts."), {"user_id": [_("a %(role)s account", role=account.role.value)]}
        )
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
        raise ValidationError(
            _("No such grid unit."), {"grid_ids": [_("no such grid unit: %(value)s", value=", ".join(missing))]}
        )
    reach = management_scope(actor)
    outside = sorted(unit.code for unit in units.values() if not reach.covers(unit.path))
    if outside:
        raise ForbiddenError(
            _("Those cells are outside your scope."),
            {"grid_ids": [_("outside your scope: %(value)s", value=", ".join(outside))]},
        )
    not_cells = sorted(units[i].code for i in added if units[i].level is not GridLevel.GRID or not units[i].active)
    if not_cells:
        raise ValidationError(
            _("Workers are assigned to active grid cells."),
            {"grid_ids": [_("not an active cell: %(value)s", value=", ".join(not_cells))]},
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
    profile = own_profile(actor)
    accepted, rejected = positions.screen(pings, now=utcnow(), last=profile.last_position)
    positions.store(profile, accepted, patrol_id=None)
    return PositionBatch(len(accepted), rejected, profile.last_position)


def track_of(actor: Caller, worker_id: int, *, start: datetime, end: datetime) -> positions.Track:
    """A worker's positions between two times, oldest first (patrol points included)."""
    profile = _profile_with_positions(actor, worker_id)
    # Position data is personal: who looked at whose movements stays on record.
    log.info("worker track read", extra={"worker_id": profile.id, "by": actor.id})
    return positions.Track(profile.id, None, positions.fixes_of_worker(profile.id, start=start, end=end))

"""Rules for requests and tickets: who sees what, intake, and the lifecycle actions. Plain functions."""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, bindparam, exists, func, or_, select, true, type_coerce, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.types import NullType

from auth.models import Account
from grid import service as grid_service
from grid.coords import CoordSystem, distance_m, to_wgs84
from grid.models import CellAssignment, GridLevel, GridUnit
from grid.scope import scope_of
from kernel import events, records
from kernel.clock import utcnow
from kernel.errors import ConflictError, ForbiddenError, InvalidTransitionError, NotFoundError, ValidationError
from kernel.extensions import db
from kernel.pagination import Page, PreparedKeyset, paginate
from kernel.principals import Caller, Role
from kernel.scope import Scope
from tasks import deadlines
from tasks.categories import active_category, codes_under
from tasks.events import TicketChanged, TicketsMerging
from tasks.lifecycle import TRANSITIONS, Action, Party, actions_from
from tasks.models import (
    OPEN_STATUSES,
    Category,
    Channel,
    Feedback,
    PersonalDataRead,
    Priority,
    ResidentRequest,
    Status,
    Ticket,
    TicketEvent,
)
from tasks.numbers import next_ticket_no

log = logging.getLogger("grid.tasks")
DUPLICATE_RADIUS_M = 200.0
DUPLICATE_WINDOW = timedelta(hours=72)
DUPLICATE_LIMIT = 5


# --- who sees a ticket ----------------------------------------------------------------------------


class Viewer:
    """The caller with their scope worked out once per request, and only if a rule needs it (a worker's
    cells cost a query, which a worker's own queue or one of their own tickets does not need); likewise
    their account entity, which only taking a ticket needs."""

    def __init__(self, caller: Caller) -> None:
        self.caller = caller

    @classmethod
    def of(cls, caller: Caller) -> "Viewer":
        return cls(caller)

    @cached_property
    def scope(self) -> Scope:
        return scope_of(self.caller)

    @cached_property
    def account(self) -> Account:
        return self.caller.entity()

    @property
    def id(self) -> int:
        return self.caller.id

    @property
    def role(self) -> Role:
        return self.caller.role


def visibility_clause(viewer: Viewer) -> Any:
    """Tickets the viewer may see: their scope's (volunteers: only those open to volunteers), and their own."""
    if viewer.role is Role.ADMIN or viewer.scope.unrestricted:
        return true()
    units_in_scope = select(GridUnit.id).where(viewer.scope.clause(GridUnit.path))  # once, not per ticket
    in_scope = Ticket.grid_id.in_(units_in_scope)
    if viewer.role is Role.VOLUNTEER:
        in_scope = and_(in_scope, Ticket.volunteer_claimable.is_(True))
    return or_(in_scope, Ticket.assignee_id == viewer.id)


def can_see(viewer: Viewer, ticket: Ticket) -> bool:
    if ticket.assignee_id == viewer.id or viewer.role is Role.ADMIN:
        return True
    if viewer.role is Role.VOLUNTEER and not ticket.volunteer_claimable:
        return False
    return viewer.scope.covers(ticket.grid.path)


# What a ticket's representation needs of its unit and assignee, and no more: a unit's boundary is a
# GeoJSON polygon that can run to kilobytes, and the assignee's own unit is not shown.
TICKET_LOAD = (
    joinedload(Ticket.grid).load_only(
        GridUnit.code, GridUnit.name, GridUnit.level, GridUnit.parent_id, GridUnit.path, GridUnit.active
    ),
    joinedload(Ticket.assignee)
    .load_only(Account.display_name, Account.role, Account.active, Account.scope_grid_id)
    .lazyload(Account.scope_grid),
)


# Every single-ticket read and action starts here: built once, as db.session.get() rebuilt the statement and
# its loader options on each call (a third of the lookup's time).
TICKET_BY_ID = select(Ticket).options(*TICKET_LOAD).where(Ticket.id == bindparam("ticket_id"))


def get_visible_ticket(actor: Caller, ticket_id: int, viewer: Viewer | None = None) -> Ticket:
    """A ticket the actor may see; 404 otherwise (its existence is private)."""
    viewer = viewer or Viewer.of(actor)
    ticket = db.session.execute(TICKET_BY_ID, {"ticket_id": ticket_id}).unique().scalar_one_or_none()
    if ticket is None or not can_see(viewer, ticket):
        raise NotFoundError("No such ticket.")
    return ticket


def is_supervising(actor: Caller, ticket: Ticket, viewer: Viewer | None = None) -> bool:
    """Admins, and supervisors whose scope covers the ticket's unit."""
    if actor.role is Role.ADMIN:
        return True
    if actor.role is not Role.SUPERVISOR:
        return False
    return (viewer or Viewer.of(actor)).scope.covers(ticket.grid.path)


def parties_of(viewer: Viewer, ticket: Ticket) -> set[Party]:
    """How the viewer stands to this ticket, for the lifecycle table."""
    parties: set[Party] = set()
    role = viewer.role
    if role is Role.ADMIN or (role is Role.SUPERVISOR and viewer.scope.covers(ticket.grid.path)):
        parties.add(Party.SUPERVISOR)
    if ticket.assignee_id is not None and ticket.assignee_id == viewer.id:
        parties.add(Party.ASSIGNEE)
    if role is Role.VOLUNTEER and ticket.volunteer_claimable and viewer.scope.covers(ticket.grid.path):
        parties.add(Party.VOLUNTEER)
    return parties


def scope_in_view(viewer: Viewer) -> Scope | None:
    """The scope that `parties_of` reads, so what a view depends on: supervisors' and volunteers'. None for
    admins (everything) and workers (only whether they are the assignee matters)."""
    return viewer.scope if viewer.role in (Role.SUPERVISOR, Role.VOLUNTEER) else None


def allowed_actions(viewer: Viewer, ticket: Ticket, now: datetime | None = None) -> list[Action]:
    """What this viewer may do to this ticket now: the table's rules, the parties and the guards."""
    now = now or utcnow()
    parties = parties_of(viewer, ticket)
    return [
        action
        for action in actions_from(ticket.status)
        if parties & TRANSITIONS[action].parties and _guard(action, ticket, now) is None
    ]


def _guard(action: Action, ticket: Ticket, now: datetime) -> str | None:
    """Why an action the table allows from this status is still not possible; None when it is."""
    if action is Action.ESCALATE and ticket.grid.parent_id is None:
        return "the ticket is already at the top of the territory"
    if action is Action.CLAIM and not ticket.volunteer_claimable:
        return "this ticket is not open to volunteers"
    if action is Action.REOPEN and ticket.status is Status.CLOSED:
        window = timedelta(days=current_app.config["TICKET_REOPEN_DAYS"])
        if ticket.closed_at is None or now - ticket.closed_at > window:
            return f"closed more than {window.days} days ago"
    return None


# --- what a caller sees of a ticket ----------------------------------------------------------------


def mask_phone(phone: str | None) -> str | None:
    """138****5678: enough to recognise, not enough to call."""
    if not phone:
        return phone
    digits = phone[-11:] if len(phone) >= 11 else phone
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 8 else "****"


def sees_phone(viewer: Viewer, ticket: Ticket) -> bool:
    """Only whoever handles the ticket reads the resident's number in full; supervisors ask (and are logged)."""
    return ticket.assignee_id is not None and ticket.assignee_id == viewer.id


@dataclass(frozen=True)
class TicketView:
    ticket: Ticket
    allowed_actions: list[Action]
    reporter_phone: str | None
    warned: bool
    overdue: bool
    removed: bool = False

    def __getattr__(self, name: str) -> Any:  # the ticket's own columns
        return getattr(self.ticket, name)


def view_of(viewer: Viewer, ticket: Ticket, now: datetime | None = None) -> TicketView:
    now = now or utcnow()
    phone = ticket.reporter_phone if sees_phone(viewer, ticket) else mask_phone(ticket.reporter_phone)
    return TicketView(
        ticket=ticket,
        allowed_actions=allowed_actions(viewer, ticket, now),
        reporter_phone=phone,
        warned=ticket.warned_at(now),
        overdue=ticket.overdue_at(now),
    )


def view_changes_at(ticket: Ticket, now: datetime) -> datetime | None:
    """When the clock alone next changes what `view_of` says of this ticket: it turns warned or overdue, or
    its window to reopen closes. Moments at `now` count, so a change on the dot is not missed; None: never."""
    moments = [ticket.warn_at, ticket.due_at] if ticket.is_open else []
    if ticket.status is Status.CLOSED and ticket.closed_at is not None:
        moments.append(ticket.closed_at + timedelta(days=current_app.config["TICKET_REOPEN_DAYS"]))
    return min((moment for moment in moments if moment is not None and moment >= now), default=None)


def get_ticket(actor: Caller, ticket_id: int) -> TicketView:
    viewer = Viewer.of(actor)
    return view_of(viewer, get_visible_ticket(actor, ticket_id, viewer))


# --- lists ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketFilters:
    status: Sequence[Status] = ()
    grid_id: int | None = None
    assignee: int | str | None = None  # an account id, or "me"
    category: str | None = None
    overdue: bool | None = None
    warned: bool | None = None
    q: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    updated_since: datetime | None = None


# What a ticket's document depends on besides the viewer and the clock: the ticket's version and when its
# unit, its category and its assignee last changed. A list reads these first, and tasks.pages renders the
# tickets only when they differ from the page it rendered before. The unit and the assignee are aliases, so
# that the filters' subqueries on grid_units keep their own FROM instead of correlating with this join.
# Their times are only compared, never shown, so they are read as the driver gives them (no conversion).
_PAGE_UNIT, _PAGE_ASSIGNEE = aliased(GridUnit), aliased(Account)
PAGE_KEY = (
    select(
        Ticket.id,
        Ticket.created_at,
        Ticket.version,
        type_coerce(_PAGE_UNIT.updated_at, NullType()).label("grid_updated_at"),
        type_coerce(Category.updated_at, NullType()).label("category_updated_at"),
        type_coerce(_PAGE_ASSIGNEE.updated_at, NullType()).label("assignee_updated_at"),
    )
    .join(_PAGE_UNIT, _PAGE_UNIT.id == Ticket.grid_id)
    .join(Category, Category.code == Ticket.category_code)
    .outerjoin(_PAGE_ASSIGNEE, _PAGE_ASSIGNEE.id == Ticket.assignee_id)
)


# A worker's queue (only `assignee=me`, any page) is the list asked for most: prepared once.
QUEUE_PAGE = PreparedKeyset(
    PAGE_KEY.where(Ticket.assignee_id == bindparam("assignee_id")),
    order_by=[Ticket.created_at, Ticket.id],
    descending=True,
)


def ticket_page(viewer: Viewer, filters: TicketFilters, *, limit: int, cursor: str | None) -> Page[Row[Any]]:
    """One page of the tickets in the viewer's view, newest first, as PAGE_KEY rows."""
    fingerprint = _fingerprint(viewer, filters)
    # One's own tickets are always visible: a worker's queue needs neither their cells nor the clause.
    own = filters.assignee == "me" or filters.assignee == viewer.id
    if own and filters == TicketFilters(assignee=filters.assignee):
        params = {"assignee_id": viewer.id}
        return QUEUE_PAGE.page(params, limit=limit, cursor=cursor, query_fingerprint=fingerprint)
    stmt = _filtered(PAGE_KEY, viewer, filters, utcnow())
    return paginate(
        stmt if own else stmt.where(visibility_clause(viewer)),
        order_by=[Ticket.created_at, Ticket.id],
        limit=limit,
        cursor=cursor,
        query_fingerprint=fingerprint,
        descending=True,
        whole_rows=True,
    )


def views_of(viewer: Viewer, ticket_ids: Sequence[int], now: datetime) -> list[TicketView]:
    """These tickets as the viewer sees them at `now`, in the order given (ids that no longer exist left out)."""
    loaded = db.session.scalars(select(Ticket).options(*TICKET_LOAD).where(Ticket.id.in_(ticket_ids))).unique()
    by_id = {ticket.id: ticket for ticket in loaded}
    return [view_of(viewer, by_id[ticket_id], now) for ticket_id in ticket_ids if ticket_id in by_id]


def ticket_changes(actor: Caller, filters: TicketFilters, *, limit: int, cursor: str | None) -> Page[TicketView]:
    """What changed since `filters.updated_since` (given), oldest change first, with tombstones for tickets
    that left the actor's view."""
    viewer = Viewer.of(actor)
    now = utcnow()
    stmt = _filtered(select(Ticket).options(*TICKET_LOAD), viewer, filters, now)
    changed = stmt.where(Ticket.updated_at >= filters.updated_since)
    changed = changed.where(or_(visibility_clause(viewer), _left_view_since(viewer, filters.updated_since)))
    page = paginate(
        changed,
        order_by=[Ticket.updated_at, Ticket.id],
        limit=limit,
        cursor=cursor,
        query_fingerprint=_fingerprint(viewer, filters),
    )
    items = [view_of(viewer, ticket, now) if can_see(viewer, ticket) else _tombstone(ticket) for ticket in page.items]
    return Page(items, page.next_cursor)


def _fingerprint(viewer: Viewer, filters: TicketFilters) -> dict[str, Any]:
    return {**filters.__dict__, "actor": viewer.id}


def _tombstone(ticket: Ticket) -> TicketView:
    """What a caller learns of a ticket that left their view: its id, status and time of change."""
    return TicketView(ticket=ticket, allowed_actions=[], reporter_phone=None, warned=False, overdue=False, removed=True)


def _left_view_since(viewer: Viewer, since: datetime) -> Any:
    """Tickets that were in the viewer's part of the territory, or theirs, before a change since `since`."""
    units_in_scope = select(GridUnit.id).where(viewer.scope.clause(GridUnit.path))
    was_here = select(TicketEvent.id).where(
        TicketEvent.ticket_id == Ticket.id,
        TicketEvent.created_at >= since,
        or_(TicketEvent.prior_grid_id.in_(units_in_scope), TicketEvent.prior_assignee_id == viewer.id),
    )
    return exists(was_here)


def _filtered(stmt: Select[Any], viewer: Viewer, filters: TicketFilters, now: datetime) -> Select[Any]:
    if filters.status:
        stmt = stmt.where(Ticket.status.in_(list(filters.status)))
    if filters.grid_id is not None:
        unit = grid_service.get_visible_unit(viewer.caller, filters.grid_id, ancestors_allowed=True)
        under = select(GridUnit.id).where(GridUnit.path.startswith(unit.path, autoescape=True))
        stmt = stmt.where(Ticket.grid_id.in_(under))
    if filters.assignee is not None:
        assignee_id = viewer.id if filters.assignee == "me" else filters.assignee
        stmt = stmt.where(Ticket.assignee_id == assignee_id)
    if filters.category:
        stmt = stmt.where(Ticket.category_code.in_(codes_under(filters.category)))
    open_now = Ticket.status.in_(list(OPEN_STATUSES))
    if filters.overdue is not None:
        overdue = and_(open_now, Ticket.due_at <= now)
        stmt = stmt.where(overdue if filters.overdue else ~overdue)
    if filters.warned is not None:
        warned = and_(open_now, Ticket.warn_at <= now, Ticket.due_at > now)
        stmt = stmt.where(warned if filters.warned else ~warned)
    if filters.q:
        pattern = f"%{filters.q.lower()}%"
        stmt = stmt.where(
            or_(
                Ticket.no.like(pattern),
                func.lower(Ticket.description).like(pattern),
                func.lower(Ticket.address).like(pattern),
            )
        )
    if filters.created_from is not None:
        stmt = stmt.where(Ticket.created_at >= filters.created_from)
    if filters.created_to is not None:
        stmt = stmt.where(Ticket.created_at < filters.created_to)
    return stmt


def events_of(actor: Caller, ticket_id: int) -> list[TicketEvent]:
    """The ticket's timeline, oldest first."""
    ticket = get_visible_ticket(actor, ticket_id)
    stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    return list(db.session.scalars(stmt))


# --- intake ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intake:
    request: ResidentRequest
    ticket: TicketView
    possible_duplicates: list[TicketView] = field(default_factory=list)


def intake(actor: Caller, data: Mapping[str, Any], *, source: Mapping[str, str] | None = None) -> Intake:
    """File a resident request: route it to a cell, open its ticket, and point out likely duplicates.

    `source` adds to the `create` event's details where the request came from (an integration says which).
    """
    viewer = Viewer.of(actor)
    category = active_category(data["category_code"])
    point = _wgs84_point(data.get("location"))
    unit = _route(viewer, data.get("grid_id"), point)
    now = utcnow()
    priority = data.get("priority") or category.default_priority
    reporter = data.get("reporter") or {}
    ticket = Ticket(
        no=next_ticket_no(now),
        status=Status.PENDING,
        priority=Priority(priority),
        category=category,
        category_code=category.code,
        grid=unit,
        grid_id=unit.id,
        origin_grid_id=unit.id,
        description=data["description"],
        address=data.get("address"),
        lat=point[0] if point else None,
        lng=point[1] if point else None,
        reporter_name=reporter.get("name"),
        reporter_phone=reporter.get("phone"),
        volunteer_claimable=category.volunteer_claimable,
        created_by_id=actor.id,
        created_at=now,
    )
    deadlines.start_resolution_clock(ticket, category, now)
    db.session.add(ticket)
    request = ResidentRequest(
        ticket=ticket,
        channel=Channel(data["channel"]),
        category_code=category.code,
        description=data["description"],
        address=data.get("address"),
        lat=ticket.lat,
        lng=ticket.lng,
        grid_id=unit.id,
        reporter_name=ticket.reporter_name,
        reporter_phone=ticket.reporter_phone,
        occurred_at=data.get("occurred_at"),
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(request)
    db.session.flush()
    photos = _link_photos(actor, data.get("photos") or [], ticket)
    details = {"channel": request.channel.value, **(source or {})}
    record_event(ticket, actor, "create", None, photo_ids=photos, details=details)
    _auto_dispatch(ticket, now)
    db.session.flush()
    duplicates = [view_of(viewer, other, now) for other in _possible_duplicates(viewer, ticket)]
    return Intake(request, view_of(viewer, ticket, now), duplicates)


def _wgs84_point(location: Mapping[str, Any] | None) -> tuple[float, float] | None:
    if not location:
        return None
    return to_wgs84(location["lat"], location["lng"], CoordSystem(location.get("coord_system", "wgs84")))


def _route(viewer: Viewer, grid_id: int | None, point: tuple[float, float] | None) -> GridUnit:
    """The unit that owns new work: the given unit, else the cell holding the place, else the worker's cell."""
    if grid_id is not None:
        unit = grid_service.find_unit(grid_id)
        if unit is None or not viewer.scope.covers(unit.path):
            raise ValidationError("That grid unit is not in your scope.", {"grid_id": ["no such unit in your scope"]})
        return unit
    if point is not None:
        cell_id = grid_service.locator().locate(*point)
        if cell_id is not None:
            return grid_service.get_unit(cell_id)
    if viewer.role is Role.WORKER:
        cells = select(CellAssignment.grid_id).where(CellAssignment.account_id == viewer.id)
        own = db.session.scalars(cells.order_by(CellAssignment.grid_id).limit(1)).first()
        if own is not None:
            return grid_service.get_unit(own)
    where = "location" if point is not None else "grid_id"
    raise ValidationError(
        "Cannot tell which grid cell this request belongs to: give a location inside a cell or a grid_id.",
        {where: ["no grid cell holds this place" if point is not None else "required without a location"]},
    )


def _auto_dispatch(ticket: Ticket, now: datetime) -> None:
    """When the deployment turns it on: a cell with exactly one worker on duty gets its new tickets at once."""
    if not current_app.config["TICKETS_AUTO_DISPATCH"] or ticket.grid.level is not GridLevel.GRID:
        return
    from workforce.models import WorkerProfile

    on_duty = (
        select(CellAssignment.account_id)
        .join(WorkerProfile, WorkerProfile.account_id == CellAssignment.account_id)
        .join(Account, Account.id == CellAssignment.account_id)
        .where(CellAssignment.grid_id == ticket.grid_id, WorkerProfile.on_duty.is_(True), Account.active.is_(True))
    )
    workers = db.session.scalars(on_duty.limit(2)).all()
    if len(workers) != 1:
        return
    assignee = db.session.get(Account, workers[0])
    _assign(ticket, assignee, now)
    record_event(ticket, None, Action.DISPATCH, Status.PENDING, details={"assignee_id": str(assignee.id), "auto": True})


def _possible_duplicates(viewer: Viewer, ticket: Ticket) -> list[Ticket]:
    """Open tickets of the same category near the same place lately (for a supervisor to merge)."""
    if ticket.lat is None or ticket.lng is None:
        return []
    degrees = DUPLICATE_RADIUS_M / 111_000  # a box first, the exact distance after
    stmt = (
        select(Ticket)
        .where(
            Ticket.id != ticket.id,
            Ticket.category_code == ticket.category_code,
            Ticket.status.in_(list(OPEN_STATUSES)),
            Ticket.created_at >= ticket.created_at - DUPLICATE_WINDOW,
            Ticket.lat.between(ticket.lat - degrees, ticket.lat + degrees),
            Ticket.lng.between(ticket.lng - degrees * 1.5, ticket.lng + degrees * 1.5),
            visibility_clause(viewer),
        )
        .order_by(Ticket.created_at.desc())
        .limit(50)
    )
    near = [
        other
        for other in db.session.scalars(stmt).unique()
        if distance_m(ticket.lat, ticket.lng, other.lat, other.lng) <= DUPLICATE_RADIUS_M  # type: ignore[arg-type]
    ]
    return near[:DUPLICATE_LIMIT]


# --- requests -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestFilters:
    ticket_id: int | None = None
    channel: Channel | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclass(frozen=True)
class RequestView:
    request: ResidentRequest
    reporter_phone: str | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.request, name)


def _request_view(viewer: Viewer, request: ResidentRequest) -> RequestView:
    phone = request.reporter_phone
    return RequestView(request, phone if sees_phone(viewer, request.ticket) else mask_phone(phone))


def list_requests(actor: Caller, filters: RequestFilters, *, limit: int, cursor: str | None) -> Page[RequestView]:
    """Requests whose ticket the actor may see, newest first."""
    viewer = Viewer.of(actor)
    stmt = select(ResidentRequest).join(Ticket, Ticket.id == ResidentRequest.ticket_id).where(visibility_clause(viewer))
    if filters.ticket_id is not None:
        stmt = stmt.where(ResidentRequest.ticket_id == filters.ticket_id)
    if filters.channel is not None:
        stmt = stmt.where(ResidentRequest.channel == filters.channel)
    if filters.created_from is not None:
        stmt = stmt.where(ResidentRequest.created_at >= filters.created_from)
    if filters.created_to is not None:
        stmt = stmt.where(ResidentRequest.created_at < filters.created_to)
    fingerprint = {**filters.__dict__, "actor": actor.id}
    page = paginate(
        stmt,
        order_by=[ResidentRequest.created_at, ResidentRequest.id],
        limit=limit,
        cursor=cursor,
        query_fingerprint=fingerprint,
        descending=True,
    )
    return Page([_request_view(viewer, request) for request in page.items], page.next_cursor)


def get_request(actor: Caller, request_id: int) -> RequestView:
    viewer = Viewer.of(actor)
    request = db.session.get(ResidentRequest, request_id)
    if request is None or not can_see(viewer, request.ticket):
        raise NotFoundError("No such request.")
    return _request_view(viewer, request)


# --- the lifecycle --------------------------------------------------------------------------------


def perform(actor: Caller, ticket_id: int, action: Action, data: Mapping[str, Any]) -> TicketView:
    """Apply one action of the lifecycle table to a ticket, record it, and return the ticket as the actor sees it.

    409 `invalid_transition` when the ticket's state does not allow it, 403 when the actor may not, and 409
    `conflict` when another change to the ticket committed first (the version check lost the race).
    """
    viewer = Viewer.of(actor)
    ticket = get_visible_ticket(actor, ticket_id, viewer)
    now = utcnow()
    check_transition(viewer, ticket, action, now)
    # Every write waits for the commit (see kernel.records): the queries below must not flush the ticket early.
    with db.session.no_autoflush:
        return _apply(viewer, ticket, action, data, now)


def _apply(viewer: Viewer, ticket: Ticket, action: Action, data: Mapping[str, Any], now: datetime) -> TicketView:
    actor = viewer.caller
    from_status = ticket.status
    prior = (ticket.grid_id, ticket.assignee_id)
    details = APPLY[action](viewer, ticket, data, now)
    rule = TRANSITIONS[action]
    if rule.target is not None:
        ticket.status = rule.target
    ticket.updated_at = now
    photos = _link_photos(actor, data.get("photos") or [], ticket)
    point = _wgs84_point(data.get("location"))
    record_event(
        ticket,
        actor,
        action,
        from_status,
        note=_note(data),
        photo_ids=photos,
        point=point,
        details=details,
        prior=prior,
    )
    # The commit writes the ticket, then the event and the messages; a lost version check there is the kernel's
    # 409 conflict, and nothing is written.
    records.update_at_commit(ticket)
    return view_of(viewer, ticket, now)


def check_transition(viewer: Viewer, ticket: Ticket, action: Action, now: datetime) -> None:
    rule = TRANSITIONS[action]
    if ticket.status not in rule.sources:
        raise InvalidTransitionError(
            f"A ticket that is {ticket.status} cannot be {action}ed.",
            {"status": ticket.status.value, "allowed_actions": allowed_actions(viewer, ticket, now)},
        )
    if not parties_of(viewer, ticket) & rule.parties:
        who = ", ".join(sorted(rule.parties))
        raise ForbiddenError(f"Only the ticket's {who} may {action} it.", {"action": [f"for the {who}"]})
    why_not = _guard(action, ticket, now)
    if why_not is not None:
        raise InvalidTransitionError(
            f"Cannot {action}: {why_not}.",
            {"reason": why_not, "allowed_actions": allowed_actions(viewer, ticket, now)},
        )


def _note(data: Mapping[str, Any]) -> str | None:
    return data.get("note") or data.get("reason") or data.get("comment")


def _dispatch(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    assignee = _assignable(viewer, ticket, data["assignee_id"])
    _assign(ticket, assignee, now)
    return {"assignee_id": str(assignee.id)}


def _assign(ticket: Ticket, assignee: Account, now: datetime) -> None:
    ticket.assignee = assignee
    ticket.assignee_id = assignee.id
    ticket.dispatched_at = now
    ticket.status = Status.ASSIGNED
    deadlines.start_acceptance_clock(ticket, ticket.category, now)


def _assignable(viewer: Viewer, ticket: Ticket, account_id: int) -> Account:
    """A worker with a cell under the ticket's unit, or a volunteer placed in or above it; active."""
    account = db.session.get(Account, account_id)
    invalid = ValidationError("Cannot assign this ticket to that account.", {"assignee_id": ["not assignable"]})
    if account is None or not account.active or account.role not in (Role.WORKER, Role.VOLUNTEER):
        raise invalid
    unit_path = ticket.grid.path
    if account.role is Role.WORKER:
        cells = (
            select(CellAssignment.grid_id)
            .join(GridUnit, GridUnit.id == CellAssignment.grid_id)
            .where(CellAssignment.account_id == account.id, GridUnit.path.startswith(unit_path, autoescape=True))
        )
        if db.session.scalars(cells.limit(1)).first() is None:
            raise ValidationError(
                "That worker has no cell in this ticket's area.", {"assignee_id": ["no cell in the ticket's area"]}
            )
        return account
    home = account.scope_grid.path if account.scope_grid else None
    if home is None or not (home.startswith(unit_path) or unit_path.startswith(home)):
        raise ValidationError(
            "That volunteer does not serve this ticket's area.", {"assignee_id": ["outside the volunteer's area"]}
        )
    return account


def _accept(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    ticket.accepted_at = now
    deadlines.run_resolution_clock(ticket)
    return {"accepted_on_time": ticket.accept_due_at is None or now <= ticket.accept_due_at}


def _unassign(ticket: Ticket) -> None:
    ticket.assignee = None
    ticket.assignee_id = None
    ticket.accept_due_at = None
    deadlines.run_resolution_clock(ticket)


def _return(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    _unassign(ticket)
    return {}


def _escalate(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    parent = grid_service.get_unit(ticket.grid.parent_id)  # type: ignore[arg-type]
    details = {"from_grid_id": str(ticket.grid_id), "to_grid_id": str(parent.id), "to_level": parent.level.value}
    ticket.grid = parent
    ticket.grid_id = parent.id
    _unassign(ticket)
    return details


def _claim(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    ticket.assignee = viewer.account
    ticket.assignee_id = viewer.id
    ticket.dispatched_at = ticket.accepted_at = now
    deadlines.run_resolution_clock(ticket)
    return {}


def _resolve(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    ticket.resolved_at = now
    ticket.handler_id = ticket.assignee_id
    ticket.resolution_round += 1
    deadlines.stop_clock(ticket)
    return {"on_time": now <= ticket.resolve_due_at, "resolution_round": ticket.resolution_round}


def _close(viewer: Viewer | None, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    ticket.closed_at = now
    return {}


def _reopen(viewer: Viewer | None, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Back to whoever resolved it, with a fresh resolution deadline; the reopen counts against them."""
    ticket.reopen_count += 1
    ticket.closed_at = None
    ticket.resolved_at = None
    if ticket.handler_id is not None:
        ticket.assignee = db.session.get(Account, ticket.handler_id)
        ticket.assignee_id = ticket.handler_id
    deadlines.start_resolution_clock(ticket, ticket.category, now)
    return {"against_id": str(ticket.handler_id) if ticket.handler_id else None}


def _cancel(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    ticket.cancelled_at = now
    deadlines.stop_clock(ticket)
    merged_into = data.get("merged_into")
    if merged_into is None:
        return {}
    survivor = _merge_target(viewer, ticket, merged_into)
    ticket.merged_into_id = survivor.id
    events.publish(TicketsMerging(ticket, survivor))  # before its requests move: their reporters are told
    moved = db.session.execute(
        update(ResidentRequest).where(ResidentRequest.ticket_id == ticket.id).values(ticket_id=survivor.id)
    )
    survivor.updated_at = now
    record_event(
        survivor,
        viewer.caller,
        "merge",
        survivor.status,
        details={"merged_ticket_id": str(ticket.id), "requests": moved.rowcount},
    )
    return {"merged_into": str(survivor.id)}


def _merge_target(viewer: Viewer, ticket: Ticket, target_id: int) -> Ticket:
    survivor = db.session.get(Ticket, target_id)
    if survivor is None or not can_see(viewer, survivor):
        raise ValidationError("No such ticket to merge into.", {"merged_into": ["no such ticket"]})
    if survivor.id == ticket.id:
        raise ValidationError("A ticket cannot be merged into itself.", {"merged_into": ["the same ticket"]})
    if survivor.status in (Status.CANCELLED,):
        raise ValidationError("Cannot merge into a cancelled ticket.", {"merged_into": ["cancelled"]})
    return survivor


def _urge(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    ticket.urge_count += 1
    ticket.last_urged_at = now
    return {"urge_count": ticket.urge_count, "assignee_id": str(ticket.assignee_id) if ticket.assignee_id else None}


APPLY = {
    Action.DISPATCH: _dispatch,
    Action.ACCEPT: _accept,
    Action.RETURN: _return,
    Action.ESCALATE: _escalate,
    Action.CLAIM: _claim,
    Action.RESOLVE: _resolve,
    Action.CLOSE: _close,
    Action.REOPEN: _reopen,
    Action.CANCEL: _cancel,
    Action.URGE: _urge,
}


def record_event(
    ticket: Ticket,
    actor: Caller | None,
    action: str,
    from_status: Status | None,
    *,
    note: str | None = None,
    photo_ids: Sequence[int] = (),
    point: tuple[float, float] | None = None,
    details: Mapping[str, Any] | None = None,
    prior: tuple[int | None, int | None] | None = None,
) -> None:
    """Append the event; `prior` is where the ticket was before (unit, assignee), for delta sync."""
    prior_grid_id, prior_assignee_id = prior or (ticket.grid_id, ticket.assignee_id)
    event = {
        "ticket_id": ticket.id,
        "actor_id": actor.id if actor else None,
        "action": str(action),
        "from_status": from_status,
        "to_status": ticket.status,
        "prior_grid_id": prior_grid_id,
        "prior_assignee_id": prior_assignee_id,
        "note": note,
        "photo_ids": [int(photo) for photo in photo_ids],
        "lat": point[0] if point else None,
        "lng": point[1] if point else None,
        "details": dict(details or {}),
        "created_at": utcnow(),
    }
    records.append(TicketEvent, event)
    events.publish(TicketChanged(ticket, event["action"], event["details"], note))


def ensure_takes_photos(ticket: Ticket) -> None:
    """Photos document open or resolved work; a closed or cancelled ticket's record is complete."""
    if ticket.status in (Status.CLOSED, Status.CANCELLED):
        raise ConflictError(f"A {ticket.status} ticket takes no more photos.", {"status": ticket.status.value})


def record_photo(actor: Caller, ticket: Ticket, attachment_id: int) -> None:
    """A photo added to a ticket is part of its record: an event, and a change for delta sync."""
    ticket.updated_at = utcnow()
    record_event(ticket, actor, "photo", ticket.status, photo_ids=[attachment_id])
    db.session.flush()  # a lost version check here is the kernel's 409 conflict


def _link_photos(actor: Caller, photo_ids: Sequence[int], ticket: Ticket) -> list[int]:
    if not photo_ids:
        return []
    from tasks.attachments import link_photos

    return [attachment.id for attachment in link_photos(actor, list(photo_ids), ticket)]


# --- feedback (评单) and the resident's contact ------------------------------------------------------


def record_feedback(actor: Caller, ticket_id: int, data: Mapping[str, Any]) -> TicketView:
    """The resident's rating of the latest resolution: 1–2 reopens the ticket, 3–5 closes it."""
    viewer = Viewer.of(actor)
    ticket = get_visible_ticket(actor, ticket_id, viewer)
    if not is_supervising(actor, ticket, viewer):
        raise ForbiddenError("Ratings are recorded by a supervisor of the ticket.", {"role": ["supervisor in scope"]})
    if ticket.status is not Status.RESOLVED:
        raise InvalidTransitionError(
            "Only a resolved ticket can be rated.",
            {"status": ticket.status.value, "allowed_actions": allowed_actions(viewer, ticket)},
        )
    already = select(Feedback.id).where(
        Feedback.ticket_id == ticket.id, Feedback.resolution_round == ticket.resolution_round
    )
    if db.session.scalars(already).first() is not None:
        raise ConflictError("This resolution has already been rated.", {"rating": ["already rated"]})
    now = utcnow()
    rating = data["rating"]
    db.session.add(
        Feedback(
            ticket_id=ticket.id,
            resolution_round=ticket.resolution_round,
            rating=rating,
            comment=data.get("comment"),
            channel=data["channel"],
            recorded_by_id=actor.id,
            created_at=now,
        )
    )
    try:
        db.session.flush()  # the unique (ticket, round) settles two ratings sent at once
    except IntegrityError:
        db.session.rollback()
        raise ConflictError("This resolution has already been rated.", {"rating": ["already rated"]}) from None
    action = Action.REOPEN if rating <= 2 else Action.CLOSE
    reason = data.get("comment") or f"评价{rating}分"
    details = APPLY[action](viewer, ticket, {"reason": reason}, now)
    ticket.status = TRANSITIONS[action].target  # type: ignore[assignment]
    ticket.updated_at = now
    details = {**details, "rating": rating, "feedback_channel": str(data["channel"])}
    record_event(ticket, actor, action, Status.RESOLVED, note=reason, details=details)
    db.session.flush()  # a lost version check here is the kernel's 409 conflict
    return view_of(viewer, ticket, now)


# --- ratings residents send themselves (SMS replies, hooks/sms.py) ----------------------------------------------


def rate_as_resident(
    ticket: Ticket, rating: int, *, channel: str, details: Mapping[str, Any] | None = None
) -> str | None:
    """The resident's own rating of the latest resolution, no account acting: `record_feedback`'s rules (1–2
    reopens, 3–5 closes, one rating per resolution). None once applied; otherwise why nothing changed."""
    if ticket.status is not Status.RESOLVED:
        return f"the ticket is {ticket.status.value}, not awaiting a rating"
    already = select(Feedback.id).where(
        Feedback.ticket_id == ticket.id, Feedback.resolution_round == ticket.resolution_round
    )
    if db.session.scalars(already).first() is not None:
        return "this resolution has already been rated"
    now = utcnow()
    db.session.add(
        Feedback(
            ticket_id=ticket.id,
            resolution_round=ticket.resolution_round,
            rating=rating,
            comment=None,
            channel=channel,
            recorded_by_id=None,
            created_at=now,
        )
    )
    action = Action.REOPEN if rating <= 2 else Action.CLOSE
    reason = f"评价{rating}分"
    applied = APPLY[action](None, ticket, {"reason": reason}, now)  # type: ignore[arg-type]
    ticket.status = TRANSITIONS[action].target  # type: ignore[assignment]
    ticket.updated_at = now
    details = {**applied, **(details or {}), "rating": rating, "feedback_channel": str(channel)}
    record_event(ticket, None, action, Status.RESOLVED, note=reason, details=details)
    # A concurrent rating loses here (unique (ticket, round) or the version check): 409, and the caller retries.
    db.session.flush()
    return None


@dataclass(frozen=True)
class Contact:
    name: str | None
    phone: str | None


def reveal_contact(actor: Caller, ticket_id: int, reason: str) -> Contact:
    """The reporter's full phone number for a supervisor in scope (or the handler); every read is logged."""
    viewer = Viewer.of(actor)
    ticket = get_visible_ticket(actor, ticket_id, viewer)
    if not (is_supervising(actor, ticket, viewer) or sees_phone(viewer, ticket)):
        raise ForbiddenError("Only a supervisor may read the resident's number.", {"role": ["supervisor in scope"]})
    db.session.add(PersonalDataRead(account_id=actor.id, ticket_id=ticket.id, subject="reporter_phone", reason=reason))
    log.info("personal data read", extra={"ticket_id": ticket.id, "reader_id": actor.id, "subject": "reporter_phone"})
    return Contact(ticket.reporter_name, ticket.reporter_phone)

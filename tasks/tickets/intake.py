"""Resident requests (诉求): intake routes a request to a cell and opens its ticket; requests are listed and read
as their ticket's viewers may see them.

**Triage.** A request that cannot be routed when it arrives (a resident's SMS, an integration's push with an address
only) waits without a ticket in the triage queue of a unit (`file_for_triage`): supervisors and admins covering
that unit list it (`triage=true`) and `route` it to a cell and a category, which opens its ticket exactly as an
intake does (deadlines from then on, the resident's "received" SMS with the number, auto-dispatch). The queue is a
property of the request (no ticket yet), not a ticket status.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from auth.models import Account
from grid import service as grid_service
from grid.coords import distance_m
from grid.models import CellAssignment, GridLevel, GridUnit
from kernel import privacy, records
from kernel.clock import utcnow
from kernel.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from kernel.extensions import db
from kernel.i18n import _
from kernel.pagination import Page, paginate
from kernel.principals import Caller, Role
from kernel.scope import path_ids
from tasks.categories.models import Priority
from tasks.categories.service import active_category, answers_for
from tasks.lifecycle import OPEN_STATUSES, Action, Status
from tasks.tickets import deadlines
from tasks.tickets.actions import assign, handle_on_the_spot, linked_photos, record_event, wgs84_point
from tasks.tickets.models import Channel, ResidentRequest, Ticket
from tasks.tickets.numbers import next_ticket_no
from tasks.tickets.views import TicketView, view_of
from tasks.tickets.visibility import Viewer, can_see, visibility_clause

DUPLICATE_RADIUS_M = 200.0
DUPLICATE_WINDOW = timedelta(hours=72)
DUPLICATE_LIMIT = 5


# --- intake ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intake:
    request: "RequestView"  # the reporter's number as the filer sees the ticket's (kernel.privacy)
    ticket: TicketView
    possible_duplicates: list[TicketView] = field(default_factory=list)


def intake(actor: Caller, data: Mapping[str, Any], *, source: Mapping[str, str] | None = None) -> Intake:
    """File a resident request: route it to a cell, open its ticket, and point out likely duplicates.

    `source` adds to the `create` event's details where the request came from (an integration says which).
    """
    viewer = Viewer.of(actor)
    on_the_spot = data.get("handle") == "self"
    if on_the_spot and viewer.role is not Role.WORKER:
        raise ForbiddenError(
            _("Only a grid worker handles a request on the spot."), {"handle": [_("for workers only")]}
        )
    category = active_category(data["category_code"])
    answers = answers_for(category, data.get("attributes"))
    point = wgs84_point(data.get("location"))
    unit = _route(viewer, data.get("grid_id"), point)
    if on_the_spot and not (unit.level is GridLevel.GRID and viewer.scope.covers(unit.path)):
        raise ValidationError(
            _("A request is handled on the spot only in one of your own cells."),
            {"handle": [_("the place is not in one of your cells")]},
        )
    now = utcnow()
    reporter = data.get("reporter") or {}
    request = ResidentRequest(
        channel=Channel(data["channel"]),
        description=data["description"],
        address=data.get("address"),
        reporter_name=reporter.get("name"),
        reporter_phone=reporter.get("phone"),
        occurred_at=data.get("occurred_at"),
        attributes=answers,
        created_by_id=actor.id,
        created_at=now,
    )
    ticket = _new_ticket(actor, request, category, unit, point, data.get("priority"), now)
    request.ticket, request.ticket_id = ticket, ticket.id
    _place(request, category, unit, point)
    records.insert_now(request)
    photos = linked_photos(actor, data.get("photos") or [], ticket)
    details = {"channel": request.channel.value, **(source or {}), **_on_the_spot_details(data)}
    record_event(ticket, actor, "create", None, photo_ids=photos, details=details)
    if on_the_spot:
        handle_on_the_spot(viewer, ticket, data.get("resolution"))
    else:
        _auto_dispatch(ticket, now)
    db.session.flush()
    duplicates = [view_of(viewer, other, now) for other in _possible_duplicates(viewer, ticket)]
    return Intake(_request_view(viewer, request), view_of(viewer, ticket, now), duplicates)


def _new_ticket(
    actor: Caller,
    request: ResidentRequest,
    category: Any,
    unit: GridUnit,
    point: tuple[float, float] | None,
    priority: str | None,
    now: datetime,
) -> Ticket:
    """The pending ticket a request opens in `unit`, its resolution clock started now (inserted)."""
    ticket = Ticket(
        status=Status.PENDING,
        priority=Priority(priority or category.default_priority),
        category=category,
        category_code=category.code,
        grid=unit,
        grid_id=unit.id,
        first_unit=unit,
        origin_grid_id=unit.id,
        description=request.description,
        address=request.address,
        lat=point[0] if point else None,
        lng=point[1] if point else None,
        reporter_name=request.reporter_name,
        reporter_phone=request.reporter_phone,
        volunteer_claimable=category.volunteer_claimable,
        created_by_id=actor.id,
        created_at=now,
    )
    deadlines.start_resolution_clock(ticket, category, now)
    # The number last, just before the ticket's row: on SQLite the number's upsert takes the write lock, which
    # every other writer then waits for until this intake commits.
    ticket.no = next_ticket_no(now)
    records.insert_now(ticket)
    return ticket


def _place(request: ResidentRequest, category: Any, unit: GridUnit, point: tuple[float, float] | None) -> None:
    request.category_code = category.code
    request.grid_id = unit.id
    request.lat, request.lng = (point[0], point[1]) if point else (None, None)


# --- triage ---------------------------------------------------------------------------------------

TRIAGE_ROLES = (Role.SUPERVISOR, Role.ADMIN)


def file_for_triage(
    actor_id: int | None, unit_id: int, data: Mapping[str, Any], *, category_code: str | None = None
) -> ResidentRequest:
    """Keep a request that cannot be routed yet in `unit_id`'s triage queue: no ticket, no location.

    `data` holds `channel`, `description` and optionally `address`, `reporter` {name, phone} and `occurred_at`;
    `category_code` (already checked by the caller) is what the supervisor is offered when routing."""
    reporter = data.get("reporter") or {}
    request = ResidentRequest(
        channel=Channel(data["channel"]),
        category_code=category_code,
        description=data["description"],
        address=data.get("address"),
        grid_id=unit_id,
        reporter_name=reporter.get("name"),
        reporter_phone=reporter.get("phone"),
        occurred_at=data.get("occurred_at"),
        attributes={},
        created_by_id=actor_id,
        created_at=utcnow(),
    )
    db.session.add(request)
    db.session.flush()
    return request


def route(actor: Caller, request_id: int, data: Mapping[str, Any]) -> Intake:
    """Route a request waiting in triage to a cell (`location` or `grid_id`) and a category (`category_code`, or
    the one it came with): its ticket opens as any intake's. ConflictError when it was routed meanwhile."""
    viewer = Viewer.of(actor)
    request = _triage_request(viewer, request_id)
    code = data.get("category_code") or request.category_code
    if code is None:
        raise ValidationError(
            _("Give the request a category."), {"category_code": [_("required: the request has none")]}
        )
    category = active_category(code)
    answers = answers_for(category, data.get("attributes"))
    point = wgs84_point(data.get("location"))
    if point is None and data.get("grid_id") is None:
        raise ValidationError(
            _("Route the request to a place: a location inside a cell or a grid_id."),
            {"grid_id": [_("required without a location")]},
        )
    unit = _route(viewer, data.get("grid_id"), point)
    now = utcnow()
    ticket = _new_ticket(actor, request, category, unit, point, data.get("priority"), now)
    claimed = db.session.execute(
        update(ResidentRequest)
        .where(ResidentRequest.id == request.id, ResidentRequest.ticket_id.is_(None))
        .values(
            ticket_id=ticket.id,
            category_code=category.code,
            grid_id=unit.id,
            lat=ticket.lat,
            lng=ticket.lng,
            attributes=answers,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(_("The request was already routed."), {"request_id": [_("already has a ticket")]})
    db.session.refresh(request)
    details = {"channel": request.channel.value, "triaged_request_id": str(request.id)}
    record_event(ticket, actor, "create", None, details=details)
    _auto_dispatch(ticket, now)
    db.session.flush()
    duplicates = [view_of(viewer, other, now) for other in _possible_duplicates(viewer, ticket)]
    return Intake(_request_view(viewer, request), view_of(viewer, ticket, now), duplicates)


def _triage_request(viewer: Viewer, request_id: int) -> ResidentRequest:
    request = db.session.get(ResidentRequest, request_id)
    if request is None or not _sees_triage(viewer, request):
        raise NotFoundError(_("No such request."))
    if request.ticket_id is not None:
        raise ConflictError(_("The request was already routed."), {"request_id": [_("already has a ticket")]})
    return request


def _sees_triage(viewer: Viewer, request: ResidentRequest) -> bool:
    """Supervisors and admins covering the unit whose queue holds it see a request waiting in triage."""
    if viewer.role not in TRIAGE_ROLES:
        return False
    unit = grid_service.find_unit(request.grid_id)
    return unit is not None and viewer.scope.covers(unit.path)


def _on_the_spot_details(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the `create` event says of a request handled on the spot: `resolved_on_intake` tells the outbox that
    the resident's one SMS is the "resolved" one (with the rating prompt), not three at once."""
    if data.get("handle") != "self":
        return {}
    return {"handle": "self", **({"resolved_on_intake": True} if data.get("resolution") is not None else {})}


def _route(viewer: Viewer, grid_id: int | None, point: tuple[float, float] | None) -> GridUnit:
    """The unit that owns new work: the given unit, else the cell holding the place, else the worker's cell."""
    if grid_id is not None:
        unit = grid_service.find_unit(grid_id)
        if unit is None or not viewer.scope.covers(unit.path):
            raise ValidationError(
                _("That grid unit is not in your scope."), {"grid_id": [_("no such unit in your scope")]}
            )
        return unit
    if point is not None:
        cell_id = grid_service.locator().locate(*point)
        if cell_id is not None:
            return grid_service.get_unit(cell_id)
    if viewer.role is Role.WORKER and viewer.scope.paths:
        # The worker's first cell (lowest id), from the cells their scope already holds: the ticket's view
        # reads that scope anyway, so no query of its own.
        return grid_service.get_unit(min(path_ids(path)[-1] for path in viewer.scope.paths))
    where = "location" if point is not None else "grid_id"
    raise ValidationError(
        _("Cannot tell which grid cell this request belongs to: give a location inside a cell or a grid_id."),
        {where: [_("no grid cell holds this place") if point is not None else _("required without a location")]},
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
    assign(ticket, assignee, now)
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
    triage: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclass(frozen=True)
class RequestView:
    request: ResidentRequest
    reporter_phone: str | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.request, name)


def _request_view(viewer: Viewer, request: ResidentRequest) -> RequestView:
    assignee_id = request.ticket.assignee_id if request.ticket is not None else None
    return RequestView(request, privacy.phone_as_seen(request.reporter_phone, viewer.id, assignee_id))


def list_requests(actor: Caller, filters: RequestFilters, *, limit: int, cursor: str | None) -> Page[RequestView]:
    """Requests whose ticket the actor may see, newest first; `triage=True`: those waiting in the triage queues
    the actor covers (supervisors and admins only), oldest first, the order they are worked through."""
    viewer = Viewer.of(actor)
    if filters.triage:
        return _list_triage(viewer, filters, limit=limit, cursor=cursor)
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


def _list_triage(viewer: Viewer, filters: RequestFilters, *, limit: int, cursor: str | None) -> Page[RequestView]:
    if viewer.role not in TRIAGE_ROLES:
        raise ForbiddenError(
            _("Only supervisors and admins work the triage queue."), {"triage": [_("not for your role")]}
        )
    stmt = (
        select(ResidentRequest)
        .join(GridUnit, GridUnit.id == ResidentRequest.grid_id)
        .where(ResidentRequest.ticket_id.is_(None), viewer.scope.clause(GridUnit.path))
    )
    if filters.channel is not None:
        stmt = stmt.where(ResidentRequest.channel == filters.channel)
    if filters.created_from is not None:
        stmt = stmt.where(ResidentRequest.created_at >= filters.created_from)
    if filters.created_to is not None:
        stmt = stmt.where(ResidentRequest.created_at < filters.created_to)
    fingerprint = {**filters.__dict__, "actor": viewer.id}
    page = paginate(
        stmt,
        order_by=[ResidentRequest.created_at, ResidentRequest.id],
        limit=limit,
        cursor=cursor,
        query_fingerprint=fingerprint,
    )
    return Page([_request_view(viewer, request) for request in page.items], page.next_cursor)


def get_request(actor: Caller, request_id: int) -> RequestView:
    viewer = Viewer.of(actor)
    request = db.session.get(ResidentRequest, request_id)
    if request is None:
        raise NotFoundError(_("No such request."))
    visible = can_see(viewer, request.ticket) if request.ticket is not None else _sees_triage(viewer, request)
    if not visible:
        raise NotFoundError(_("No such request."))
    return _request_view(viewer, request)

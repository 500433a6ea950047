"""Resident requests (诉求): intake routes a request to a cell and opens its ticket; requests are listed and read
as their ticket's viewers may see them."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from auth.models import Account
from grid import service as grid_service
from grid.coords import distance_m
from grid.models import CellAssignment, GridLevel, GridUnit
from kernel import privacy
from kernel.clock import utcnow
from kernel.errors import ForbiddenError, NotFoundError, ValidationError
from kernel.extensions import db
from kernel.pagination import Page, paginate
from kernel.principals import Caller, Role
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
        raise ForbiddenError("Only a grid worker handles a request on the spot.", {"handle": ["for workers only"]})
    category = active_category(data["category_code"])
    answers = answers_for(category, data.get("attributes"))
    point = wgs84_point(data.get("location"))
    unit = _route(viewer, data.get("grid_id"), point)
    if on_the_spot and not (unit.level is GridLevel.GRID and viewer.scope.covers(unit.path)):
        raise ValidationError(
            "A request is handled on the spot only in one of your own cells.",
            {"handle": ["the place is not in one of your cells"]},
        )
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
        first_unit=unit,
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
        attributes=answers,
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(request)
    db.session.flush()
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
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclass(frozen=True)
class RequestView:
    request: ResidentRequest
    reporter_phone: str | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.request, name)


def _request_view(viewer: Viewer, request: ResidentRequest) -> RequestView:
    return RequestView(request, privacy.phone_as_seen(request.reporter_phone, viewer.id, request.ticket.assignee_id))


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

"""What a caller sees of tickets: one ticket, pages of a list, what changed since (delta sync), the timeline,
and the reporter's contact for those who may read it."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, bindparam, exists, func, or_, select, type_coerce
from sqlalchemy.orm import aliased
from sqlalchemy.types import NullType

from auth.models import Account
from grid import service as grid_service
from grid.models import GridUnit
from kernel import privacy
from kernel.clock import utcnow
from kernel.errors import ForbiddenError
from kernel.extensions import db
from kernel.i18n import _
from kernel.pagination import Page, PreparedKeyset, paginate
from kernel.principals import Caller
from tasks.categories.models import Category
from tasks.categories.service import codes_under
from tasks.lifecycle import OPEN_STATUSES, Action, Status
from tasks.tickets.models import PersonalDataRead, Ticket, TicketEvent
from tasks.tickets.rows import ticket_rows
from tasks.tickets.visibility import (
    TICKET_LOAD,
    Viewer,
    allowed_actions,
    can_see,
    followed_clause,
    get_visible_ticket,
    get_visible_ticket_row,
    is_supervising,
    sees_phone,
    visibility_clause,
)

log = logging.getLogger("grid.tasks")


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
    phone = privacy.phone_as_seen(ticket.reporter_phone, viewer.id, ticket.assignee_id)
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
    return view_of(viewer, get_visible_ticket_row(actor, ticket_id, viewer))


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
    followed: bool | None = None


# What a ticket's document depends on besides the viewer and the clock: the ticket's version and when its
# unit, its first unit, its category and its assignee last changed. A list reads these first, and tasks.tickets.pages
# renders the tickets only when they differ from the page it rendered before. The units and the assignee are aliases, so
# that the filters' subqueries on grid_units keep their own FROM instead of correlating with this join.
# Their times are only compared, never shown, so they are read as the driver gives them (no conversion).
_PAGE_UNIT, _PAGE_FIRST_UNIT, _PAGE_ASSIGNEE = aliased(GridUnit), aliased(GridUnit), aliased(Account)
PAGE_KEY = (
    select(
        Ticket.id,
        Ticket.created_at,
        Ticket.version,
        type_coerce(_PAGE_UNIT.updated_at, NullType()).label("grid_updated_at"),
        type_coerce(_PAGE_FIRST_UNIT.updated_at, NullType()).label("first_unit_updated_at"),
        type_coerce(Category.updated_at, NullType()).label("category_updated_at"),
        type_coerce(_PAGE_ASSIGNEE.updated_at, NullType()).label("assignee_updated_at"),
    )
    .join(_PAGE_UNIT, _PAGE_UNIT.id == Ticket.grid_id)
    .join(_PAGE_FIRST_UNIT, _PAGE_FIRST_UNIT.id == Ticket.origin_grid_id)
    .join(Category, Category.code == Ticket.category_code)
    .outerjoin(_PAGE_ASSIGNEE, _PAGE_ASSIGNEE.id == Ticket.assignee_id)
)


# A worker's queue (only `assignee=me`, any page) is the list asked for most: prepared once.
QUEUE_PAGE = PreparedKeyset(
    PAGE_KEY.where(Ticket.assignee_id == bindparam("assignee_id")),
    order_by=[Ticket.created_at, Ticket.id],
    descending=True,
)


def ticket_page(viewer: Viewer, filters: TicketFilters, *, limit: int, cursor: str | None) -> Page[Sequence[Any]]:
    """One page of the tickets in the viewer's view, newest first, as PAGE_KEY rows (by position)."""
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
    by_id = {ticket.id: ticket for ticket in ticket_rows(ticket_ids)}
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
    if filters.followed is not None:
        followed = followed_clause(viewer)
        stmt = stmt.where(followed if filters.followed else ~followed)
    return stmt


def events_of(actor: Caller, ticket_id: int) -> list[TicketEvent]:
    """The ticket's timeline, oldest first."""
    ticket = get_visible_ticket(actor, ticket_id)
    stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    return list(db.session.scalars(stmt))


# --- the resident's contact ---------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    name: str | None
    phone: str | None


def reveal_contact(actor: Caller, ticket_id: int, reason: str) -> Contact:
    """The reporter's full phone number for a supervisor in scope (or the handler); every read is logged."""
    viewer = Viewer.of(actor)
    ticket = get_visible_ticket(actor, ticket_id, viewer)
    if not (is_supervising(actor, ticket, viewer) or sees_phone(viewer, ticket)):
        raise ForbiddenError(
            _("Only a supervisor may read the resident's number."), {"role": [_("supervisor in scope")]}
        )
    db.session.add(PersonalDataRead(account_id=actor.id, ticket_id=ticket.id, subject="reporter_phone", reason=reason))
    log.info("personal data read", extra={"ticket_id": ticket.id, "reader_id": actor.id, "subject": "reporter_phone"})
    return Contact(ticket.reporter_name, ticket.reporter_phone)

"""HTTP endpoints for resident requests and tickets; the action routes are generated from the lifecycle table."""

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from flask import Flask, Response

from grid.schemas import OutputQuerySchema, use_output_coord_system
from kernel.api import Blueprint, documents
from kernel.etag import checks_if_match
from kernel.extensions import api
from kernel.pagination import Page, filters_from
from kernel.principals import Role
from kernel.security import current_principal, requires_role
from kernel.transaction import read_in_transaction
from tasks.lifecycle import TRANSITIONS, Action, describe, roles_for
from tasks.tickets import actions, intake, pages, views
from tasks.tickets.models import TicketEvent
from tasks.tickets.rows import ticket_read_with_the_token, ticket_to_change_read_with_the_token
from tasks.tickets.schemas import (
    ACTION_BODIES,
    ContactQuerySchema,
    ContactSchema,
    FeedbackSchema,
    IntakeSchema,
    RequestCreateSchema,
    RequestPageSchema,
    RequestQuerySchema,
    RequestSchema,
    RouteSchema,
    TicketEventListSchema,
    TicketPageSchema,
    TicketQuerySchema,
    TicketRemovedSchema,
    TicketSchema,
)

requests_blp = Blueprint(
    "requests", __name__, url_prefix="/api/v1/requests", description="Resident requests (诉求): intake"
)
tickets_blp = Blueprint(
    "tickets",
    __name__,
    url_prefix="/api/v1/tickets",
    description="Tickets (工单) and their lifecycle:\n\n" + describe(),
)
INTAKE_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.WORKER)
EVERYONE = (Role.ADMIN, Role.SUPERVISOR, Role.WORKER, Role.VOLUNTEER)


def current_ticket(ticket_id: int) -> dict[str, Any]:
    """The ticket as a GET sends it to the caller, for If-Match."""
    return TicketSchema().dump(views.get_ticket(current_principal(), ticket_id))


def register(app: Flask) -> None:
    api.spec.components.schema("TicketRemoved", schema=TicketRemovedSchema)
    api.register_blueprint(requests_blp)
    api.register_blueprint(tickets_blp)


# --- requests -------------------------------------------------------------------------------------


@requests_blp.route("", methods=["POST"])
@requires_role(*INTAKE_ROLES)
@requests_blp.arguments(RequestCreateSchema)
@requests_blp.response(201, IntakeSchema)
@documents(403)
def create_request(data: dict[str, Any]) -> intake.Intake:
    """File a resident request: it is routed to the cell holding `location` (or to `grid_id`, or to your own
    cell) and opens a `pending` ticket with deadlines from its category; likely duplicates are listed."""
    return intake.intake(current_principal(), data)


@requests_blp.route("", methods=["GET"])
@requires_role(*EVERYONE)
@requests_blp.arguments(RequestQuerySchema, location="query")
@requests_blp.response(200, RequestPageSchema)
def list_requests(query: dict[str, Any]) -> Page[intake.RequestView]:
    """Requests whose ticket you may see, newest first; `triage=true` (supervisors and admins): the requests
    waiting in the triage queues you cover, oldest first (403 for other roles)."""
    use_output_coord_system(query["coord_system"])
    filters = filters_from(intake.RequestFilters, query)
    return intake.list_requests(current_principal(), filters, limit=query["limit"], cursor=query.get("cursor"))


@requests_blp.route("/<id:request_id>/route", methods=["POST"])
@requires_role(*intake.TRIAGE_ROLES)
@requests_blp.arguments(RouteSchema)
@requests_blp.response(200, IntakeSchema)
@documents(403, 404, 409)
def route_request(data: dict[str, Any], request_id: int) -> intake.Intake:
    """Route a request waiting in triage (an SMS, an integration's push with an address only) to a cell and a
    category: its `pending` ticket opens as any intake's, and the resident gets the ticket number by SMS. 409 when
    it was routed already; 404 outside the triage queues you cover."""
    return intake.route(current_principal(), request_id, data)


@requests_blp.route("/<id:request_id>", methods=["GET"])
@requires_role(*EVERYONE)
@requests_blp.arguments(OutputQuerySchema, location="query")
@requests_blp.response(200, RequestSchema)
@documents(304, 404)
def get_request(query: dict[str, Any], request_id: int) -> intake.RequestView:
    """One request, if you may see its ticket."""
    use_output_coord_system(query["coord_system"])
    return intake.get_request(current_principal(), request_id)


# --- tickets --------------------------------------------------------------------------------------


@tickets_blp.route("", methods=["GET"])
@requires_role(*EVERYONE)
@tickets_blp.arguments(TicketQuerySchema, location="query")
@tickets_blp.response(200, TicketPageSchema)
@documents(404)
def list_tickets(query: dict[str, Any]) -> Response | Page[views.TicketView]:
    """Tickets in your view, newest first; `assignee=me` is your queue. With `updated_since`: what changed
    since, oldest change first, including tombstones for tickets that left your view."""
    use_output_coord_system(query["coord_system"])
    filters = filters_from(views.TicketFilters, query)
    if filters.assignee not in (None, "me"):  # an account id, as a number
        filters = replace(filters, assignee=int(filters.assignee))
    limit, cursor = query["limit"], query.get("cursor")
    if filters.updated_since is not None:
        return views.ticket_changes(current_principal(), filters, limit=limit, cursor=cursor)
    # Written from rendered pages that are still current (see tasks.tickets.pages), in TicketPageSchema's shape.
    return pages.ticket_list(
        current_principal(), filters, limit=limit, cursor=cursor, coord_system=query["coord_system"]
    )


@tickets_blp.route("/<id:ticket_id>", methods=["GET"])
@ticket_read_with_the_token
@requires_role(*EVERYONE)
@tickets_blp.arguments(OutputQuerySchema, location="query")
@tickets_blp.response(200, TicketSchema)
@documents(304, 404)
def get_ticket(query: dict[str, Any], ticket_id: int) -> views.TicketView:
    """One ticket with its deadlines and what you may do to it now (`allowed_actions`)."""
    use_output_coord_system(query["coord_system"])
    return views.get_ticket(current_principal(), ticket_id)


@tickets_blp.route("/<id:ticket_id>/events", methods=["GET"])
@requires_role(*EVERYONE)
@tickets_blp.arguments(OutputQuerySchema, location="query")
@tickets_blp.response(200, TicketEventListSchema)
@documents(404)
def list_events(query: dict[str, Any], ticket_id: int) -> dict[str, list[TicketEvent]]:
    """The ticket's timeline (全程纪实), oldest first; events are never edited or deleted."""
    use_output_coord_system(query["coord_system"])
    return {"items": views.events_of(current_principal(), ticket_id)}


@tickets_blp.route("/<id:ticket_id>/feedback", methods=["POST"])
@requires_role(Role.ADMIN, Role.SUPERVISOR)
@tickets_blp.arguments(FeedbackSchema)
@checks_if_match(current_ticket)
@tickets_blp.response(200, TicketSchema)
@documents(404, 409, 412)
def record_feedback(data: dict[str, Any], ticket_id: int) -> views.TicketView:
    """The resident's rating of the latest resolution (回访): 1–2 reopens the ticket, 3–5 closes it."""
    return actions.record_feedback(current_principal(), ticket_id, data)


@tickets_blp.route("/<id:ticket_id>/contact", methods=["GET"])
@requires_role(Role.ADMIN, Role.SUPERVISOR, Role.WORKER, Role.VOLUNTEER)
@tickets_blp.arguments(ContactQuerySchema, location="query")
@tickets_blp.response(200, ContactSchema)
@documents(404)
@read_in_transaction
def get_contact(query: dict[str, Any], ticket_id: int) -> views.Contact:
    """The reporter's full phone number, for a supervisor in scope or the handler; every read is recorded
    with its reason in the access log."""
    return views.reveal_contact(current_principal(), ticket_id, query["reason"])


def _action_route(action: Action) -> Callable[..., views.TicketView]:
    rule = TRANSITIONS[action]

    def act(data: dict[str, Any], ticket_id: int) -> views.TicketView:
        return actions.perform(current_principal(), ticket_id, action, data)

    act.__name__ = f"{action}_ticket"
    target = rule.target or "unchanged"
    act.__doc__ = (
        f"{rule.summary}\n\nFrom {', '.join(sorted(rule.sources))} to {target}; for the "
        f"{' or '.join(sorted(rule.parties))}. 409 `invalid_transition` (with `allowed_actions`) when the "
        "ticket's state does not allow it; 409 `conflict` when someone else changed the ticket at the same moment."
    )
    view = documents(404, 409, 412)(act)
    view = tickets_blp.response(200, TicketSchema)(view)
    view = checks_if_match(current_ticket)(view)
    view = tickets_blp.arguments(ACTION_BODIES[action])(view)
    view = requires_role(*roles_for(action))(view)
    view = ticket_to_change_read_with_the_token(view)  # the ticket read by the token check's query (PostgreSQL)
    return tickets_blp.route(f"/<id:ticket_id>/{action}", methods=["POST"], endpoint=f"{action}_ticket")(view)


ACTION_VIEWS = {action: _action_route(action) for action in TRANSITIONS}

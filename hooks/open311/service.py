"""Open311 GeoReport v2 over the normal intake and record: services are categories, service requests are resident
requests (诉求), updates are the events of their ticket.

**Who may do what.** Reading (discovery, services, requests, updates) is public, as the spec has it; a record never
holds a resident's name, phone or email, and phone numbers typed into free text are masked. Filing a request or a
comment needs `api_key`: an API key of an integration (`hooks.integrations`); the integration's service account is
the actor, and its area (`grid_id`) is enforced as for its pushes. A request placed only by `address_string` goes
to the integration's area (its triage unit); `address_id` is the code of a grid unit.

**Retries.** A request is claimed by its fingerprint (integration, `device_id` and the whole form) before the
intake: the same form again within `OPEN311_RETRY_WINDOW_MINUTES` answers with the request filed first and files
nothing. A comment is filed once per (integration, its `update_id`).

**Errors** are the kernel's: NotFoundError (404), ForbiddenError (403), BadRequestError and ValidationError (both
answered 400, the spec's "anything else"), each naming the parameter at fault.
"""

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from flask import current_app
from marshmallow import ValidationError as MarshmallowValidationError
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from grid.models import GridUnit
from hooks.dedup import insert_once
from hooks.integrations import service as integrations
from hooks.integrations.models import Integration
from hooks.open311 import statuses
from hooks.open311.models import Open311Request, Open311Update
from kernel.clock import BEIJING, utcnow
from kernel.errors import BadRequestError, ForbiddenError, NotFoundError, UnauthorizedError, ValidationError
from kernel.extensions import db
from kernel.i18n import _
from kernel.privacy import mask_phone
from tasks.categories.models import Category
from tasks.lifecycle import Action, Status
from tasks.tickets import actions as ticket_actions
from tasks.tickets import intake as ticket_intake
from tasks.tickets.models import Channel, ResidentRequest, Ticket, TicketEvent
from tasks.tickets.schemas import ResidentPhone
from tasks.tickets.visibility import Viewer

SPECIFICATION: Final = "http://wiki.open311.org/GeoReport_v2"
WINDOW: Final = timedelta(days=90)  # the spec's default and largest date window
MAX_RECORDS: Final = 1000  # the spec's "first 1000 requests"
NAME_MAX_LENGTH: Final = 64
COMMENT_ACTION: Final = "open311_comment"
# Events a resident may follow: what changes the status, and comments posted through Open311. Staff notes
# (reasons to return, escalate, cancel or urge) are not shown: each status change gets its own words instead.
UPDATE_TEXT: Final[Mapping[str, str]] = {
    "create": "Request received.",
    Action.DISPATCH: "Dispatched to a handler.",
    Action.ACCEPT: "The handler has taken it on.",
    Action.CLAIM: "A volunteer has taken it on.",
    Action.TAKE: "A grid worker has taken it on the spot.",
    Action.RETURN: "The handler asked to pass it on.",
    Action.APPROVE_RETURN: "Returned for dispatch to another handler.",
    Action.SUSPEND: "The handler asked to put it on hold.",
    Action.APPROVE_SUSPEND: "On hold: waiting on something outside the handler's hands.",
    Action.RESUME: "Work on it has resumed.",
    Action.APPROVE_EXTENSION: "More time was granted to resolve it.",
    Action.ESCALATE: "Referred one level up.",
    Action.RESOLVE: "Resolved.",
    Action.CLOSE: "Closed.",
    Action.REOPEN: "Reopened: being worked on again.",
    Action.CANCEL: "Cancelled.",
}
SHOWN_NOTES: Final = frozenset({Action.RESOLVE, COMMENT_ACTION})  # notes written for the resident to read
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)")
_LANDLINE_IN_TEXT = re.compile(r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
_ID = re.compile(r"^[0-9]{1,18}$")


def _config(name: str) -> Any:
    return current_app.config[name]


# --- jurisdiction and keys ---------------------------------------------------------------------------------------


def check_jurisdiction(jurisdiction_id: str | None) -> None:
    """404 when this server is configured for one jurisdiction and the client names another."""
    expected = _config("OPEN311_JURISDICTION_ID")
    if jurisdiction_id and expected and jurisdiction_id != expected:
        raise NotFoundError(
            _("jurisdiction_id %(jurisdiction_id)s was not found.", jurisdiction_id=repr(jurisdiction_id)),
            {"jurisdiction_id": [_("not found")]},
        )


def integration_for(api_key: str | None) -> Integration:
    """The active API-key integration this `api_key` belongs to; 403 when it is missing or wrong."""
    if not api_key:
        raise ForbiddenError(_("api_key is missing."), {"api_key": ["missing"]})
    try:
        return integrations.authenticate({integrations.KEY_HEADER: api_key}, b"")
    except UnauthorizedError:
        raise ForbiddenError(_("api_key is not valid."), {"api_key": [_("not valid")]}) from None


# --- discovery and services --------------------------------------------------------------------------------------


def discovery(endpoint_url: str) -> dict[str, Any]:
    """The service discovery document: this server's one GeoReport v2 endpoint, in both formats."""
    changeset = _changeset()
    return {
        "changeset": changeset,
        "contact": _config("OPEN311_CONTACT"),
        "key_service": _config("OPEN311_KEY_SERVICE"),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": endpoint_url,
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def _changeset() -> str:
    """When the services last changed: clients refresh their cached service list and definitions after it."""
    latest = db.session.scalar(select(func.max(Category.updated_at)))
    return w3c(latest or datetime.fromtimestamp(0, tz=BEIJING))


@dataclass(frozen=True)
class Services:
    """The categories that take residents' requests: the active ones without active subcategories."""

    services: list[Category]
    names: dict[str, str]  # every category's name by code, for the groups

    @classmethod
    def load(cls) -> "Services":
        categories = db.session.scalars(select(Category).order_by(Category.code)).all()
        parents = {category.parent_code for category in categories if category.active}
        services = [category for category in categories if category.active and category.code not in parents]
        return cls(services, {category.code: category.name for category in categories})

    def find(self, code: str) -> Category | None:
        return next((category for category in self.services if category.code == code), None)

    def group(self, category: Category) -> str | None:
        return self.names.get(category.parent_code) if category.parent_code else None


def list_services() -> list[dict[str, Any]]:
    """Every service, in code order."""
    services = Services.load()
    return [_service(category, services.group(category)) for category in services.services]


def _service(category: Category, group: str | None) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": _notice(category),
        "metadata": bool(category.attributes),
        "type": "realtime",
        "keywords": ", ".join(word for word in (category.name, group) if word),
        "group": group,
    }


def _notice(category: Category) -> str:
    if category.resolve_working_days is not None:
        return f"{category.name}: we aim to resolve it within {category.resolve_working_days} working days."
    return f"{category.name}: we aim to resolve it within {category.resolve_hours} hours."


def service_definition(service_code: str) -> dict[str, Any]:
    """A service's extra questions; 404 for a code that names no service."""
    category = Services.load().find(service_code)
    if category is None:
        raise NotFoundError(
            _("service_code %(service_code)s was not found.", service_code=repr(service_code)),
            {"service_code": [_("not found")]},
        )
    return {"service_code": category.code, "attributes": [_attribute(item) for item in category.attributes or []]}


def _attribute(attribute: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "variable": attribute.get("variable", True),
        "code": attribute["code"],
        "datatype": attribute["datatype"],
        "required": attribute.get("required", False),
        "datatype_description": attribute.get("datatype_description"),
        "order": attribute.get("order"),
        "description": attribute.get("description"),
        "values": [{"key": value["key"], "name": value["name"]} for value in attribute.get("values") or []],
    }


# --- filing a request --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    """A POST's parameters, parsed (empty ones are absent)."""

    service_code: str | None
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    device_id: str | None = None
    media_url: str | None = None
    fingerprint_source: tuple[tuple[str, str], ...] = ()


def submit(integration: Integration, submission: Submission) -> dict[str, Any]:
    """File the request through the intake once per fingerprint within the retry window; its answer."""
    category = _service_to_file(submission.service_code)
    fingerprint = _fingerprint(integration, submission)
    earlier = _claimed(integration.id, fingerprint)
    if earlier is not None:
        return _filed(earlier.request_id)  # type: ignore[arg-type]
    claim_id = insert_once(
        Open311Request,
        {"integration_id": integration.id, "fingerprint": fingerprint, "created_at": utcnow()},
        unique=["integration_id", "fingerprint"],
    )
    if claim_id is None:  # a concurrent retry filed it while we waited
        winner = _claimed(integration.id, fingerprint)
        if winner is None or winner.request_id is None:
            raise RuntimeError("a claimed Open311 fingerprint without its request")
        return _filed(winner.request_id)
    filed = ticket_intake.intake(
        integration.account,
        _intake_data(integration, category, submission),
        source={"integration_id": str(integration.id), "integration": integration.name, "via": "open311"},
    )
    _check_area(integration, filed.ticket.ticket)
    claim = db.session.get(Open311Request, claim_id)
    claim.request_id = filed.request.id  # type: ignore[union-attr]
    claim.media_url = submission.media_url  # type: ignore[union-attr]
    db.session.flush()
    return _answer(filed.request.request)  # the request itself: no reporter leaves through Open311


def _service_to_file(service_code: str | None) -> Category:
    if not service_code:
        raise BadRequestError(_("service_code is required."), {"service_code": ["required"]})
    category = Services.load().find(service_code)
    if category is None:
        raise NotFoundError(
            _("service_code %(service_code)s was not found.", service_code=repr(service_code)),
            {"service_code": [_("not found")]},
        )
    return category


def _fingerprint(integration: Integration, submission: Submission) -> str:
    digest = hashlib.sha256(f"{integration.id}\n{submission.device_id or ''}".encode())
    for name, value in submission.fingerprint_source:
        digest.update(f"\n{len(name)}:{name}={len(value)}:{value}".encode())
    return digest.hexdigest()


def _claimed(integration_id: int, fingerprint: str) -> Open311Request | None:
    """The claim of this fingerprint if it is within the retry window; an older one is retired."""
    stmt = select(Open311Request).where(
        Open311Request.integration_id == integration_id, Open311Request.fingerprint == fingerprint
    )
    claim = db.session.scalars(stmt).one_or_none()
    if claim is None:
        return None
    window = timedelta(minutes=_config("OPEN311_RETRY_WINDOW_MINUTES"))
    if claim.created_at >= utcnow() - window:
        return claim
    claim.fingerprint = f"retired:{claim.id}"  # the same report again, later, is a new request
    db.session.flush()
    return None


def _intake_data(integration: Integration, category: Category, submission: Submission) -> dict[str, Any]:
    """The normal intake's body for this submission (a WGS-84 point, or a unit to route to)."""
    location = None
    if submission.lat is not None and submission.long is not None:
        location = {"lat": submission.lat, "lng": submission.long, "coord_system": "wgs84"}
    grid_id = None
    if submission.address_id is not None:
        grid_id = _unit_by_code(submission.address_id)
    elif location is None:
        if submission.address_string is None:
            raise BadRequestError(
                _("A location is required: lat and long, address_string or address_id."),
                {"lat": [_("required without address_string or address_id")]},
            )
        if integration.grid_id is None:
            raise BadRequestError(
                _(
                    "This key's integration covers the whole territory, so address_string alone cannot place the "
                    "request: send lat and long, or address_id."
                ),
                {"address_string": [_("cannot be placed alone")]},
            )
        grid_id = integration.grid_id  # the integration's own area takes what it cannot place (triage)
    name = _reporter_name(submission.first_name, submission.last_name)
    phone = _phone(submission.phone)
    return {
        "channel": Channel.WEB.value,
        "category_code": category.code,
        "description": submission.description or category.name,
        "location": location,
        "grid_id": grid_id,
        "address": submission.address_string,
        "reporter": {"name": name, "phone": phone} if name or phone else None,
        "attributes": submission.attributes,
    }


def _unit_by_code(code: str) -> int:
    unit_id = db.session.scalar(select(GridUnit.id).where(GridUnit.code == code, GridUnit.active.is_(True)))
    if unit_id is None:
        raise BadRequestError(
            _("address_id %(code)s is not a known address.", code=repr(code)), {"address_id": [_("not found")]}
        )
    return unit_id


def _reporter_name(first: str | None, last: str | None) -> str | None:
    """Chinese names run family name first and unspaced (张 + 三 = 张三); others "first last"."""
    if not first or not last:
        name = first or last
    elif any("\u4e00" <= char <= "\u9fff" for char in first + last):
        name = f"{last}{first}"
    else:
        name = f"{first} {last}"
    return name[:NAME_MAX_LENGTH] if name else None


def _phone(phone: str | None) -> str | None:
    """The number the intake may text the resident at; one it cannot use is dropped, not refused (clients abroad
    write numbers many ways, and the request matters more than the text message)."""
    if not phone:
        return None
    digits = re.sub(r"[\s()-]", "", phone).removeprefix("+86")
    try:
        return ResidentPhone().deserialize(digits)  # type: ignore[no-any-return]
    except MarshmallowValidationError:
        return None


def _check_area(integration: Integration, ticket: Ticket) -> None:
    if integration.grid_id is not None and not Viewer.of(integration.account).scope.covers(ticket.grid.path):
        raise ValidationError(
            _("The request belongs to a grid cell outside this key's area."), {"lat": [_("outside the key's area")]}
        )


def _filed(request_id: int) -> dict[str, Any]:
    request = db.session.get(ResidentRequest, request_id)
    return _answer(request)  # type: ignore[arg-type]


def _answer(request: ResidentRequest) -> dict[str, Any]:
    # No resident accounts here: account_id stays empty.
    return {
        "service_request_id": str(request.id),
        "service_notice": _notice(request.ticket.category),
        "account_id": None,
    }


# --- reading requests --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def window(start: datetime | None, end: datetime | None) -> Window:
    """The dates asked for, within the spec's 90 days; without them the last 90 days up to now."""
    if start is not None and end is not None:
        if end < start:
            raise BadRequestError(_("end_date is before start_date."), {"end_date": [_("before start_date")]})
        if end - start > WINDOW:
            raise BadRequestError(
                _("start_date and end_date may not span more than 90 days."), {"end_date": [_("more than 90 days")]}
            )
        return Window(start, end)
    if start is not None:
        return Window(start, start + WINDOW)
    if end is not None:
        return Window(end - WINDOW, end)
    now = utcnow()
    return Window(now - WINDOW, now)


@dataclass(frozen=True)
class RequestQuery:
    ids: list[int] | None = None  # overrides everything else
    service_codes: list[str] | None = None
    start: datetime | None = None
    end: datetime | None = None
    statuses: list[str] | None = None


def list_requests(query: RequestQuery) -> list[dict[str, Any]]:
    """Requests by `service_request_id`, or filed within the window (newest first, at most 1000)."""
    # Requests still waiting in triage have no ticket (no status, no service): not Open311 requests yet.
    stmt = select(ResidentRequest).options(selectinload(ResidentRequest.ticket))
    stmt = stmt.where(ResidentRequest.ticket_id.is_not(None))
    if query.ids is not None:
        stmt = stmt.where(ResidentRequest.id.in_(query.ids))
    else:
        dates = window(query.start, query.end)
        stmt = stmt.where(ResidentRequest.created_at.between(dates.start, dates.end))
        if query.service_codes:
            stmt = stmt.join(Ticket, Ticket.id == ResidentRequest.ticket_id).where(
                Ticket.category_code.in_(query.service_codes)
            )
        if query.statuses and set(query.statuses) != {statuses.OPEN, statuses.CLOSED}:
            wanted = [status for status in Status if statuses.georeport(status) in query.statuses]
            stmt = stmt.where(ResidentRequest.ticket.has(Ticket.status.in_(wanted)))
    stmt = stmt.order_by(ResidentRequest.created_at.desc(), ResidentRequest.id.desc()).limit(MAX_RECORDS)
    return _records(db.session.scalars(stmt).all())


def get_request(service_request_id: str) -> list[dict[str, Any]]:
    """One request, as a one-element list; 404 when there is none."""
    request = db.session.get(ResidentRequest, int(service_request_id)) if _ID.fullmatch(service_request_id) else None
    if request is None or request.ticket is None:
        raise NotFoundError(
            _("service_request_id %(service_request_id)s was not found.", service_request_id=repr(service_request_id)),
            {"service_request_id": [_("not found")]},
        )
    return _records([request])


def _records(requests: Sequence[ResidentRequest]) -> list[dict[str, Any]]:
    """The records, reading what they show in a few queries whatever their number."""
    if not requests:
        return []
    tickets = {request.ticket.id: request.ticket for request in requests}
    codes = dict(
        db.session.execute(
            select(GridUnit.id, GridUnit.code).where(GridUnit.id.in_({request.grid_id for request in requests}))
        ).all()
    )
    notes = _resolution_notes(tickets.values())
    media = dict(
        db.session.execute(
            select(Open311Request.request_id, Open311Request.media_url).where(
                Open311Request.request_id.in_([request.id for request in requests])
            )
        ).all()
    )
    return [
        _record(request, codes.get(request.grid_id), notes.get(request.ticket_id), media.get(request.id))
        for request in requests
    ]


def _resolution_notes(tickets: Iterable[Ticket]) -> dict[int, str]:
    """The latest resolution note (written for the resident) of each resolved or closed ticket."""
    ids = [ticket.id for ticket in tickets if ticket.status in (Status.RESOLVED, Status.CLOSED)]
    if not ids:
        return {}
    stmt = (
        select(TicketEvent.ticket_id, TicketEvent.note)
        .where(TicketEvent.ticket_id.in_(ids), TicketEvent.action == Action.RESOLVE.value)
        .order_by(TicketEvent.id)
    )
    return {ticket_id: note for ticket_id, note in db.session.execute(stmt).all() if note}


def _record(
    request: ResidentRequest, address_id: str | None, note: str | None, media_url: str | None
) -> dict[str, Any]:
    ticket = request.ticket
    return {
        "service_request_id": str(request.id),
        "status": statuses.georeport(ticket.status),
        "status_notes": redacted(_status_notes(ticket, note)),
        "service_name": ticket.category.name,
        "service_code": ticket.category_code,
        "description": redacted(request.description),
        "agency_responsible": ticket.grid.name,
        "service_notice": _notice(ticket.category),
        "requested_datetime": w3c(request.created_at),
        "updated_datetime": w3c(ticket.updated_at),
        "expected_datetime": w3c(ticket.resolve_due_at),
        "address": request.address,
        "address_id": address_id,
        "zipcode": None,
        "lat": _coordinate(request.lat),
        "long": _coordinate(request.lng),
        "media_url": media_url,
    }


def _status_notes(ticket: Ticket, resolution_note: str | None) -> str | None:
    if ticket.status is Status.CANCELLED:
        return "A duplicate: merged into another request." if ticket.merged_into_id else "Cancelled."
    return resolution_note


def _coordinate(value: float | None) -> float | None:
    return None if value is None else round(value, 7)  # about a centimetre


def redacted(text: str | None) -> str | None:
    """Free text with the phone numbers in it masked: a record never carries a resident's number."""
    if not text:
        return text
    text = _MOBILE_IN_TEXT.sub(lambda match: mask_phone(re.sub(r"[ -]", "", match.group())) or "", text)
    return _LANDLINE_IN_TEXT.sub(lambda match: mask_phone(match.group().replace("-", "")) or "", text)


def w3c(moment: datetime | None) -> str | None:
    """A time as the spec writes it: ISO 8601 with an offset (Beijing time, +08:00)."""
    return None if moment is None else moment.astimezone(BEIJING).isoformat(timespec="seconds")


# --- updates (FixMyStreet's servicerequestupdates) ----------------------------------------------------------------


def list_updates(start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
    """Status changes and comments of every request within the window, oldest first, at most 1000."""
    dates = window(start, end)
    followed = [str(action) for action in (*UPDATE_TEXT, COMMENT_ACTION)]  # plain text for any driver
    ticket = aliased(Ticket)
    # A merged duplicate's requests moved to the surviving ticket, but the cancel that merged it is still news to
    # them: they are the requests on the survivor filed with the duplicate (the intake gives both one time).
    merged_away = and_(
        TicketEvent.action == Action.CANCEL.value,
        ResidentRequest.ticket_id == ticket.merged_into_id,
        ResidentRequest.created_at == ticket.created_at,
    )
    stmt = (
        select(TicketEvent, ResidentRequest.id)
        .join(ticket, ticket.id == TicketEvent.ticket_id)
        .join(ResidentRequest, or_(ResidentRequest.ticket_id == TicketEvent.ticket_id, merged_away))
        .where(TicketEvent.created_at.between(dates.start, dates.end), TicketEvent.action.in_(followed))
        .order_by(TicketEvent.created_at, TicketEvent.id, ResidentRequest.id)
        .limit(MAX_RECORDS)
    )
    updates = []
    for event, request_id in db.session.execute(stmt).all():
        if event.action == COMMENT_ACTION and event.details.get("service_request_id") != str(request_id):
            continue  # a comment belongs to the request it was posted on
        updates.append(_update(event, request_id))
    return updates


def _update(event: TicketEvent, request_id: int) -> dict[str, Any]:
    if event.action == COMMENT_ACTION:  # as posted: its own id, the status the resident gave, the link
        update_id, status = event.details.get("update_id"), event.details["status"]
        media_url = event.details.get("media_url")
    else:
        update_id, status = f"e{event.id}", statuses.extended(event.action, event.to_status, event.details)
        media_url = None
    shown = event.note if event.action in SHOWN_NOTES and event.note else UPDATE_TEXT.get(event.action, "")
    return {
        "update_id": update_id,
        "service_request_id": str(request_id),
        "status": status,
        "updated_datetime": w3c(event.created_at),
        "description": redacted(shown),
        "media_url": media_url,
    }


@dataclass(frozen=True)
class Comment:
    service_request_id: str | None
    update_id: str | None
    status: str | None
    description: str | None
    media_url: str | None
    updated_datetime: datetime | None


def post_update(integration: Integration, comment: Comment) -> dict[str, Any]:
    """A resident's comment onto the ticket's record, once per the client's `update_id`; the update's id."""
    request = _request_in_area(integration, comment.service_request_id)
    if not comment.update_id:
        raise BadRequestError(_("update_id is required."), {"update_id": ["required"]})
    if comment.status is None or comment.status not in statuses.ALL_EXTENDED:
        raise BadRequestError(
            _("status must be one of %(value)s.", value=", ".join(statuses.ALL_EXTENDED)),
            {"status": [_("not a known status")]},
        )
    if not comment.description and not comment.media_url:
        raise BadRequestError(_("description is required."), {"description": ["required"]})
    row_id = insert_once(
        Open311Update,
        {
            "integration_id": integration.id,
            "external_id": comment.update_id,
            "request_id": request.id,
            "created_at": utcnow(),
        },
        unique=["integration_id", "external_id"],
    )
    if row_id is None:  # the client sent this update before: the same answer, nothing new
        earlier = db.session.scalars(
            select(Open311Update).where(
                Open311Update.integration_id == integration.id, Open311Update.external_id == comment.update_id
            )
        ).one()
        return {"update_id": f"c{earlier.id}"}
    ticket = request.ticket
    ticket.updated_at = utcnow()  # part of the record: delta sync shows the ticket changed
    details = {
        "via": "open311",
        "integration_id": str(integration.id),
        "service_request_id": str(request.id),
        "update_id": f"c{row_id}",
        "client_update_id": comment.update_id,
        # What the resident said the status is: kept with the comment, not applied (handlers act on tickets).
        "status": comment.status,
        "media_url": comment.media_url,
        "client_updated_datetime": w3c(comment.updated_datetime),
    }
    ticket_actions.record_event(
        ticket, integration.account, COMMENT_ACTION, ticket.status, note=comment.description or None, details=details
    )
    return {"update_id": f"c{row_id}"}


def _request_in_area(integration: Integration, service_request_id: str | None) -> ResidentRequest:
    if not service_request_id:
        raise BadRequestError(_("service_request_id is required."), {"service_request_id": ["required"]})
    request = db.session.get(ResidentRequest, int(service_request_id)) if _ID.fullmatch(service_request_id) else None
    area = Viewer.of(integration.account).scope
    if (
        request is None
        or request.ticket is None
        or (integration.grid_id is not None and not area.covers(request.ticket.grid.path))
    ):
        raise NotFoundError(
            _("service_request_id %(service_request_id)s was not found.", service_request_id=repr(service_request_id)),
            {"service_request_id": [_("not found")]},
        )
    return request

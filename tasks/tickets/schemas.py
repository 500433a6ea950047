"""The wire format of resident requests, tickets, their actions, events and feedback."""

from typing import Any

import phonenumbers
from marshmallow import Schema, ValidationError, fields, post_dump, validate, validates_schema

from auth.schemas import MainlandMobile
from grid.coords import CoordSystem, from_wgs84
from grid.schemas import GridBriefSchema, OutputQuerySchema, output_coord_system
from kernel.api import (
    BaseSchema,
    IdField,
    PageQuerySchema,
    StrictFloat,
    StrictId,
    Timestamp,
    format_timestamp,
    page_schema,
)
from kernel.i18n import _
from tasks.categories.models import Priority
from tasks.lifecycle import Action, Status, SuspendReason
from tasks.tickets.models import Channel, FeedbackChannel

TEXT = validate.Length(min=1, max=2000)
REASON = validate.Length(min=1, max=500)
MAX_PHOTOS = 9


class ResidentPhone(MainlandMobile):
    """A mainland China number, mobile or fixed line (hotline callers often give a landline); digits only."""

    default_error_messages = {"invalid_phone": "Not a valid mainland China phone number."}

    def accepts(self, number: phonenumbers.PhoneNumber) -> bool:
        return True


# --- input ----------------------------------------------------------------------------------------


class LocationInSchema(BaseSchema):
    lat = StrictFloat(required=True, allow_nan=False, validate=validate.Range(-90, 90), metadata={"example": 32.99})
    lng = StrictFloat(required=True, allow_nan=False, validate=validate.Range(-180, 180), metadata={"example": 112.53})
    coord_system = fields.Enum(CoordSystem, by_value=True, load_default=CoordSystem.WGS84)


class ReporterInSchema(BaseSchema):
    name = fields.String(validate=validate.Length(min=1, max=64), load_default=None, allow_none=True)
    phone = ResidentPhone(load_default=None, allow_none=True, metadata={"example": "13812345678"})


PHOTOS = fields.List(
    StrictId(),
    validate=validate.Length(max=MAX_PHOTOS),
    load_default=list,
    metadata={"description": "ids of photos uploaded with POST /api/v1/attachments"},
)


class ResolutionInSchema(BaseSchema):
    note = fields.String(required=True, validate=TEXT, metadata={"description": "shown to the resident"})
    photos = PHOTOS


class RequestCreateSchema(BaseSchema):
    channel = fields.Enum(Channel, by_value=True, required=True)
    category_code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    description = fields.String(required=True, validate=TEXT)
    location = fields.Nested(LocationInSchema, load_default=None, allow_none=True)
    grid_id = StrictId(load_default=None, allow_none=True, metadata={"description": "the unit that owns the work"})
    address = fields.String(validate=validate.Length(min=1, max=200), load_default=None, allow_none=True)
    reporter = fields.Nested(ReporterInSchema, load_default=None, allow_none=True)
    photos = PHOTOS
    occurred_at = Timestamp(load_default=None, allow_none=True)
    priority = fields.Enum(
        Priority,
        by_value=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "the category's default when absent"},
    )
    attributes = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=32)),
        values=fields.Raw(allow_none=True),
        load_default=None,
        allow_none=True,
        metadata={"description": "answers to the category's extra questions, by question code"},
    )
    handle = fields.String(
        validate=validate.OneOf(["self"]),
        load_default=None,
        allow_none=True,
        metadata={
            "description": "`self` (workers, in one of their own cells): 就地处置, the ticket opens `in_progress` "
            "with you as its assignee"
        },
    )
    resolution = fields.Nested(
        ResolutionInSchema,
        load_default=None,
        allow_none=True,
        metadata={"description": "with `handle: self`: 就地办结, the ticket is resolved in the same request"},
    )

    @validates_schema
    def _resolution_needs_handle(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("resolution") is not None and data.get("handle") != "self":
            raise ValidationError(_("only with `handle: self`"), "resolution")


class NoteSchema(BaseSchema):
    note = fields.String(validate=TEXT, load_default=None, allow_none=True)


class DispatchSchema(NoteSchema):
    assignee_id = StrictId(required=True)


class ReasonSchema(BaseSchema):
    reason = fields.String(required=True, validate=REASON)


class ResolveSchema(BaseSchema):
    note = fields.String(required=True, validate=TEXT, metadata={"description": "shown to the resident"})
    photos = PHOTOS
    location = fields.Nested(LocationInSchema, load_default=None, allow_none=True)


class CancelSchema(ReasonSchema):
    merged_into = StrictId(load_default=None, allow_none=True, metadata={"description": "the surviving ticket"})


class UrgeSchema(BaseSchema):
    note = fields.String(required=True, validate=REASON)


class ReviewNoteSchema(BaseSchema):
    note = fields.String(required=True, validate=REASON, metadata={"description": "the supervisor's decision"})


class SuspendSchema(BaseSchema):
    reason = fields.Enum(SuspendReason, by_value=True, required=True)
    until = Timestamp(load_default=None, allow_none=True, metadata={"description": "resume by itself then"})
    note = fields.String(validate=TEXT, load_default=None, allow_none=True)


class ExtensionRequestSchema(BaseSchema):
    new_deadline = Timestamp(required=True, metadata={"description": "the resolution deadline asked for"})
    reason = fields.String(required=True, validate=REASON)


# The body each action takes (the lifecycle table says who and from where).
ACTION_BODIES: dict[Action, type[BaseSchema]] = {
    Action.DISPATCH: DispatchSchema,
    Action.ACCEPT: NoteSchema,
    Action.RETURN: ReasonSchema,
    Action.APPROVE_RETURN: NoteSchema,
    Action.REFUSE_RETURN: ReviewNoteSchema,
    Action.REQUEST_EXTENSION: ExtensionRequestSchema,
    Action.APPROVE_EXTENSION: NoteSchema,
    Action.REFUSE_EXTENSION: ReviewNoteSchema,
    Action.SUSPEND: SuspendSchema,
    Action.APPROVE_SUSPEND: NoteSchema,
    Action.REFUSE_SUSPEND: ReviewNoteSchema,
    Action.RESUME: NoteSchema,
    Action.ESCALATE: ReasonSchema,
    Action.CLAIM: NoteSchema,
    Action.TAKE: NoteSchema,
    Action.RESOLVE: ResolveSchema,
    Action.CLOSE: NoteSchema,
    Action.REOPEN: ReasonSchema,
    Action.CANCEL: CancelSchema,
    Action.URGE: UrgeSchema,
}


class FeedbackSchema(BaseSchema):
    rating = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5))
    comment = fields.String(validate=REASON, load_default=None, allow_none=True)
    channel = fields.Enum(FeedbackChannel, by_value=True, required=True)


class ContactQuerySchema(BaseSchema):
    reason = fields.String(
        required=True,
        validate=validate.Length(min=2, max=200),
        metadata={"description": "why the full number is needed; kept in the access log"},
    )


def _status_list() -> fields.Field:
    return fields.List(fields.Enum(Status, by_value=True), metadata={"description": "repeat for several"})


class TicketQuerySchema(PageQuerySchema, OutputQuerySchema):
    status = _status_list()
    grid_id = IdField(metadata={"description": "the unit's whole subtree"})
    assignee = fields.String(validate=validate.Regexp(r"^(me|[0-9]{1,18})$"), metadata={"description": "`me` or an id"})
    category = fields.String(validate=validate.Length(min=1, max=32), metadata={"description": "with subcategories"})
    overdue = fields.Boolean()
    warned = fields.Boolean()
    q = fields.String(validate=validate.Length(min=1, max=100))
    created_from = Timestamp()
    created_to = Timestamp()
    updated_since = Timestamp(metadata={"description": "delta sync: changes since, tombstones included"})
    followed = fields.Boolean(
        metadata={
            "description": "true: tickets first received in your part of the territory and passed up out of it "
            "(首接负责制: read-only for you); false: the others"
        }
    )


class RequestQuerySchema(PageQuerySchema, OutputQuerySchema):
    ticket_id = IdField()
    channel = fields.Enum(Channel, by_value=True)
    triage = fields.Boolean(
        metadata={"description": "true: the requests waiting in the triage queues you cover (supervisors, admins)"}
    )
    created_from = Timestamp()
    created_to = Timestamp()


# --- output ---------------------------------------------------------------------------------------


# The OpenAPI declaration of `_location_out`'s value (a function field has no type of its own).
LOCATION_OUT = {
    "type": "object",
    "nullable": True,
    "properties": {
        "lat": {"type": "number", "example": 32.99},
        "lng": {"type": "number", "example": 112.53},
        "coord_system": {"type": "string", "enum": [system.value for system in CoordSystem]},
    },
    "required": ["lat", "lng", "coord_system"],
    "description": "null when none was given",
}
REPORTER_OUT = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "nullable": True},
        "phone": {"type": "string", "nullable": True, "description": "masked (138****5678) unless you handle it"},
    },
    "required": ["name", "phone"],
}


def _location_out(obj: Any) -> dict[str, Any] | None:
    """An object's stored WGS-84 point in the coordinate system the request asked for (`?coord_system=`):
    `{lat, lng, coord_system}`; None without one."""
    if obj.lat is None or obj.lng is None:
        return None
    system = output_coord_system()
    lat, lng = from_wgs84(obj.lat, obj.lng, system)
    return {"lat": lat, "lng": lng, "coord_system": system.value}


class PersonBriefSchema(Schema):
    id = IdField(required=True)
    display_name = fields.String(required=True)
    role = fields.String(required=True)


class AssigneeSchema(PersonBriefSchema):
    party_member = fields.Boolean(
        required=True, metadata={"description": "党员亮身份: the assignee is a registered party member"}
    )


class ReporterSchema(Schema):
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True, metadata={"description": "masked (138****5678) unless you handle it"})


class CategoryBriefSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class DeadlinesSchema(Schema):
    accept_due_at = Timestamp(allow_none=True, metadata={"description": "set at dispatch"})
    resolve_due_at = Timestamp(allow_none=True)
    warn_at = Timestamp(allow_none=True, metadata={"description": "80 % of the running clock"})
    due_at = Timestamp(allow_none=True, metadata={"description": "the running clock's deadline"})
    extension_requested_until = Timestamp(
        allow_none=True, metadata={"description": "延期: the resolution deadline asked for, awaiting a decision"}
    )
    suspend_reason = fields.String(allow_none=True, metadata={"description": "挂起: why the clock stopped"})
    suspended_until = Timestamp(allow_none=True, metadata={"description": "挂起: resumes by itself then"})
    suspended_seconds = fields.Integer(metadata={"description": "all the time spent suspended (挂起), finished spells"})
    extensions = fields.Integer(attribute="extension_count", metadata={"description": "extensions approved (延期)"})
    accept_in_working_time = fields.Boolean(metadata={"description": "the acceptance clock counts working hours"})
    resolve_in_working_time = fields.Boolean(metadata={"description": "the resolution clock counts working days"})


# What a tasks.tickets.views.TicketView adds to its ticket (the rest the schema reads from the ticket).
VIEW_FIELDS = frozenset({"ticket", "allowed_actions", "reporter_phone", "warned", "overdue", "removed"})


class TicketSchema(Schema):
    """A ticket as the caller sees it. In a delta sync a ticket that left your view comes as a tombstone:
    `{id, status, updated_at, removed: true}` and nothing else.

    The fields below are the contract: the OpenAPI document is generated from them, and `reference_dump`
    writes a ticket through them. `dump` writes the same document by hand (`ticket_document`), because a
    queue of twenty tickets spent more time in marshmallow's field machinery than in the database;
    tests/tasks/test_ticket_documents.py holds the two to the same output for tickets in every state.
    """

    id = IdField(required=True)
    no = fields.String(metadata={"example": "20261123-000017"})
    status = fields.Enum(Status, by_value=True, required=True)
    priority = fields.Enum(Priority, by_value=True)
    category = fields.Nested(CategoryBriefSchema)
    grid = fields.Nested(GridBriefSchema)
    origin_grid_id = IdField()
    first_unit = fields.Nested(
        GridBriefSchema, metadata={"description": "the first receiving unit (首接); its people keep reading the ticket"}
    )
    handled_on_spot = fields.Boolean(
        attribute="resolved_on_spot",
        metadata={
            "description": "就地办结: resolved by its cell's own worker, who took it there; never dispatched or "
            "escalated"
        },
    )
    description = fields.String()
    address = fields.String(allow_none=True)
    location = fields.Function(_location_out, allow_none=True, metadata=LOCATION_OUT)
    reporter = fields.Method("_reporter", metadata=REPORTER_OUT)
    assignee = fields.Nested(AssigneeSchema, allow_none=True)
    volunteer_claimable = fields.Boolean()
    deadlines = fields.Nested(DeadlinesSchema, attribute="ticket")
    calendar_missing = fields.Boolean(
        metadata={"description": "a deadline reaches a year the working-day calendar lacks: counted Monday–Friday"}
    )
    warned = fields.Boolean()
    overdue = fields.Boolean()
    urge_count = fields.Integer()
    last_urged_at = Timestamp(allow_none=True)
    reopen_count = fields.Integer()
    merged_into_id = IdField(allow_none=True)
    dispatched_at = Timestamp(allow_none=True)
    accepted_at = Timestamp(allow_none=True)
    resolved_at = Timestamp(allow_none=True)
    closed_at = Timestamp(allow_none=True)
    cancelled_at = Timestamp(allow_none=True)
    created_at = Timestamp()
    updated_at = Timestamp(required=True)
    allowed_actions = fields.List(fields.Enum(Action, by_value=True), metadata={"description": "for you, now"})
    removed = fields.Boolean(required=True, metadata={"description": "true: left your view (delta sync)"})

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        if self.only is not None or self.exclude:  # a trimmed schema: let marshmallow apply the trim
            return self.reference_dump(obj, many=many)
        if self.many if many is None else many:
            return [ticket_document(view) for view in obj]
        return ticket_document(obj)

    def reference_dump(self, obj: Any, *, many: bool | None = None) -> Any:
        """The document as marshmallow writes it from the declared fields."""
        return super().dump(obj, many=many)

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        # A TicketView's own fields, else straight from its ticket (not through TicketView.__getattr__).
        return getattr(obj if attr in VIEW_FIELDS else obj.ticket, attr, default)

    def _reporter(self, view: Any) -> dict[str, Any]:
        return {"name": view.ticket.reporter_name, "phone": view.reporter_phone}

    @post_dump(pass_original=True)
    def _tombstone(self, data: dict[str, Any], view: Any, **_kwargs: Any) -> dict[str, Any]:
        if view.removed:
            return {"id": data["id"], "status": data["status"], "updated_at": data["updated_at"], "removed": True}
        return data


def _id(value: int | None) -> str | None:
    return None if value is None else str(value)


def ticket_document(view: Any) -> dict[str, Any]:
    """A tasks.tickets.views.TicketView as TicketSchema declares it, written field by field."""
    ticket = view.ticket
    if view.removed:
        return {
            "id": str(ticket.id),
            "status": ticket.status.value,
            "updated_at": format_timestamp(ticket.updated_at),
            "removed": True,
        }
    grid, category, assignee, first = ticket.grid, ticket.category, ticket.assignee, ticket.first_unit
    return {
        "id": str(ticket.id),
        "no": ticket.no,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "category": {"code": category.code, "name": category.name},
        "grid": {
            "id": str(grid.id),
            "code": grid.code,
            "name": grid.name,
            "level": grid.level.value,
            "parent_id": _id(grid.parent_id),
        },
        "origin_grid_id": str(ticket.origin_grid_id),
        "first_unit": {
            "id": str(first.id),
            "code": first.code,
            "name": first.name,
            "level": first.level.value,
            "parent_id": _id(first.parent_id),
        },
        "handled_on_spot": ticket.resolved_on_spot,
        "description": ticket.description,
        "address": ticket.address,
        "location": _location_out(ticket),
        "reporter": {"name": ticket.reporter_name, "phone": view.reporter_phone},
        "assignee": None
        if assignee is None
        else {
            "id": str(assignee.id),
            "display_name": assignee.display_name,
            "role": str(assignee.role),
            "party_member": assignee.party_member,
        },
        "volunteer_claimable": ticket.volunteer_claimable,
        "deadlines": {
            "accept_due_at": format_timestamp(ticket.accept_due_at),
            "resolve_due_at": format_timestamp(ticket.resolve_due_at),
            "warn_at": format_timestamp(ticket.warn_at),
            "due_at": format_timestamp(ticket.due_at),
            "extension_requested_until": format_timestamp(ticket.extension_requested_until),
            "suspend_reason": ticket.suspend_reason,
            "suspended_until": format_timestamp(ticket.suspended_until),
            "suspended_seconds": ticket.suspended_seconds,
            "extensions": ticket.extension_count,
            "accept_in_working_time": ticket.accept_in_working_time,
            "resolve_in_working_time": ticket.resolve_in_working_time,
        },
        "calendar_missing": ticket.calendar_missing,
        "warned": view.warned,
        "overdue": view.overdue,
        "urge_count": ticket.urge_count,
        "last_urged_at": format_timestamp(ticket.last_urged_at),
        "reopen_count": ticket.reopen_count,
        "merged_into_id": _id(ticket.merged_into_id),
        "dispatched_at": format_timestamp(ticket.dispatched_at),
        "accepted_at": format_timestamp(ticket.accepted_at),
        "resolved_at": format_timestamp(ticket.resolved_at),
        "closed_at": format_timestamp(ticket.closed_at),
        "cancelled_at": format_timestamp(ticket.cancelled_at),
        "created_at": format_timestamp(ticket.created_at),
        "updated_at": format_timestamp(ticket.updated_at),
        "allowed_actions": [action.value for action in view.allowed_actions],
        "removed": False,
    }


class TicketRemovedSchema(Schema):
    """A tombstone in a delta sync (`updated_since`): the ticket left your view."""

    id = IdField(required=True)
    status = fields.Enum(Status, by_value=True, required=True)
    updated_at = Timestamp(required=True)
    removed = fields.Boolean(required=True, metadata={"description": "always true"})


class TicketPageSchema(Schema):
    items = fields.List(
        fields.Nested(TicketSchema, metadata={"x-any-of": [{"$ref": "#/components/schemas/TicketRemoved"}]}),
        required=True,
    )
    next_cursor = fields.String(required=True, allow_none=True)


class TicketEventSchema(Schema):
    id = IdField(required=True)
    ticket_id = IdField(required=True)
    action = fields.String(required=True, metadata={"description": "an action of the table, or create, merge"})
    from_status = fields.Enum(Status, by_value=True, allow_none=True, required=True)
    to_status = fields.Enum(Status, by_value=True, required=True)
    actor = fields.Nested(PersonBriefSchema, allow_none=True, required=True, metadata={"description": "null: system"})
    note = fields.String(allow_none=True, required=True)
    photo_ids = fields.List(IdField(), required=True)
    location = fields.Function(_location_out, allow_none=True, required=True, metadata=LOCATION_OUT)
    details = fields.Dict(required=True)
    created_at = Timestamp(required=True)


class TicketEventListSchema(Schema):
    items = fields.List(fields.Nested(TicketEventSchema), required=True)


class RequestSchema(Schema):
    id = IdField(required=True)
    ticket_id = IdField(allow_none=True, required=True, metadata={"description": "null while in triage"})
    ticket_no = fields.Function(
        lambda view: view.ticket.no if view.ticket is not None else None,
        allow_none=True,
        required=True,
        metadata={"type": "string", "description": "null while in triage"},
    )
    triage = fields.Boolean(
        required=True, metadata={"description": "waiting in the triage queue of `grid_id`'s unit, no ticket yet"}
    )
    channel = fields.Enum(Channel, by_value=True, required=True)
    category_code = fields.String(allow_none=True, required=True)
    description = fields.String(required=True)
    address = fields.String(allow_none=True, required=True)
    location = fields.Function(_location_out, allow_none=True, required=True, metadata=LOCATION_OUT)
    grid_id = IdField(required=True)
    reporter = fields.Method("_reporter", required=True, metadata=REPORTER_OUT)
    occurred_at = Timestamp(allow_none=True, required=True)
    attributes = fields.Dict(required=True, metadata={"description": "answers to the category's extra questions"})
    created_by_id = IdField(allow_none=True, required=True)
    created_at = Timestamp(required=True)

    def _reporter(self, view: Any) -> dict[str, Any]:
        return {"name": view.reporter_name, "phone": view.reporter_phone}


RequestPageSchema = page_schema(RequestSchema, "RequestPageSchema")


class RouteSchema(BaseSchema):
    """Where and what a request waiting in triage is: the cell (a location inside one, or a `grid_id`) and the
    category (the one it came with when absent)."""

    category_code = fields.String(validate=validate.Length(min=1, max=32), load_default=None, allow_none=True)
    location = fields.Nested(LocationInSchema, load_default=None, allow_none=True)
    grid_id = StrictId(load_default=None, allow_none=True, metadata={"description": "the unit that owns the work"})
    priority = fields.Enum(
        Priority,
        by_value=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "the category's default when absent"},
    )
    attributes = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=32)),
        values=fields.Raw(allow_none=True),
        load_default=None,
        allow_none=True,
        metadata={"description": "answers to the category's extra questions, by question code"},
    )


class IntakeSchema(Schema):
    request = fields.Nested(RequestSchema, required=True)
    ticket = fields.Nested(TicketSchema, required=True)
    possible_duplicates = fields.List(
        fields.Nested(TicketSchema),
        required=True,
        metadata={"description": "open tickets of the same category nearby lately; a supervisor may merge"},
    )


class ContactSchema(Schema):
    name = fields.String(allow_none=True, required=True)
    phone = fields.String(allow_none=True, required=True)

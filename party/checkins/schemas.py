"""The wire format of 双报到: service areas, check-ins, service records and a member's yearly service."""

from marshmallow import Schema, fields, validate

from auth.schemas import refuse_blank
from kernel.api import BaseSchema, FullMatch, IdField, PageQuerySchema, StrictBoolean, StrictId, Timestamp, page_schema
from kernel.codes import CODE_MAX_LENGTH, CODE_PATTERN, CODE_RULE
from party.checkins.models import CheckInKind, CheckInStatus, RecordKind

NAME = [validate.Length(min=1, max=64), refuse_blank]
AREA_CODE = [
    validate.Length(min=1, max=CODE_MAX_LENGTH),
    FullMatch(CODE_PATTERN, error=CODE_RULE),
]
POSITION = validate.Range(min=0, max=10_000)
NOTE = [validate.Length(min=2, max=500), refuse_blank]


# --- service areas ---------------------------------------------------------------------------------


class ServiceAreaSchema(Schema):
    code = fields.String(required=True, metadata={"example": "elderly"})
    name = fields.String(required=True, metadata={"example": "助老"})
    position = fields.Integer(required=True, metadata={"description": "display order, smallest first"})
    active = fields.Boolean(required=True, metadata={"description": "new check-ins may choose it"})


ServiceAreaPageSchema = page_schema(ServiceAreaSchema, "ServiceAreaPageSchema")


class ServiceAreaCreateSchema(BaseSchema):
    code = fields.String(required=True, validate=AREA_CODE, metadata={"description": "permanent: it cannot change"})
    name = fields.String(required=True, validate=NAME)
    position = fields.Integer(load_default=0, strict=True, validate=POSITION)
    active = StrictBoolean(load_default=True)


class ServiceAreaUpdateSchema(BaseSchema):
    """Every field but `code`, which is permanent (check-ins refer to it)."""

    name = fields.String(validate=NAME)
    position = fields.Integer(strict=True, validate=POSITION)
    active = StrictBoolean(metadata={"description": "false: check-ins keep it, new ones cannot choose it"})


class ServiceAreaQuerySchema(PageQuerySchema):
    active = fields.Boolean()


# --- check-ins -------------------------------------------------------------------------------------


class CheckInSchema(Schema):
    id = IdField(required=True)
    kind = fields.Enum(CheckInKind, by_value=True, required=True, metadata={"description": "member or unit (单位报到)"})
    member_id = IdField(required=True, allow_none=True, metadata={"description": "null for a unit"})
    org_id = IdField(
        required=True, metadata={"description": "the unit, or the member's organisation when they checked in"}
    )
    community_id = IdField(required=True, metadata={"description": "the community (a grid unit) checked in with"})
    status = fields.Enum(CheckInStatus, by_value=True, required=True)
    service_areas = fields.List(fields.String(), required=True, metadata={"description": "the areas' codes"})
    note = fields.String(required=True, allow_none=True)
    created_by = IdField(required=True, allow_none=True)
    decided_by = IdField(required=True, allow_none=True)
    decided_at = Timestamp(required=True, allow_none=True)
    decision_note = fields.String(required=True, allow_none=True)
    ended_on = fields.Date(required=True, allow_none=True)
    ended_by = IdField(required=True, allow_none=True)
    end_reason = fields.String(required=True, allow_none=True)
    account_id = IdField(
        required=True, allow_none=True, metadata={"description": "the account given volunteer scope on confirmation"}
    )
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


CheckInPageSchema = page_schema(CheckInSchema, "CheckInPageSchema")


class CheckInCreateSchema(BaseSchema):
    kind = fields.Enum(CheckInKind, by_value=True, load_default=CheckInKind.MEMBER)
    member_id = StrictId(metadata={"description": "a member check-in: the member (yourself, or one you manage)"})
    org_id = StrictId(metadata={"description": "a unit check-in: a host organisation you manage"})
    community_id = StrictId(
        metadata={"description": "a community-level unit; a member's defaults to the community of their home"}
    )
    service_areas = fields.List(
        fields.String(validate=AREA_CODE), required=True, validate=validate.Length(min=1, max=20)
    )
    note = fields.String(validate=validate.Length(max=500))


class CheckInQuerySchema(PageQuerySchema):
    community_id = IdField(metadata={"description": "check-ins with communities in this unit's subtree"})
    org_id = IdField(metadata={"description": "check-ins of this organisation's subtree"})
    status = fields.Enum(CheckInStatus, by_value=True)
    kind = fields.Enum(CheckInKind, by_value=True)
    member_id = IdField()


class ConfirmSchema(BaseSchema):
    note = fields.String(validate=NOTE)


class RejectSchema(BaseSchema):
    note = fields.String(required=True, validate=NOTE, metadata={"description": "why, for the member"})


class EndSchema(BaseSchema):
    reason = fields.String(required=True, validate=NOTE)
    ended_on = fields.Date(metadata={"description": "today (Beijing time) by default; not in the future"})


class CredentialsSchema(Schema):
    username = fields.String(required=True)
    password = fields.String(required=True, metadata={"description": "one-time: shown here only, never again"})


class DecisionSchema(Schema):
    check_in = fields.Nested(CheckInSchema, required=True)
    credentials = fields.Nested(
        CredentialsSchema,
        required=True,
        allow_none=True,
        metadata={"description": "the login of a volunteer account opened for the member (hand it over in person)"},
    )


# --- service records -------------------------------------------------------------------------------


class ServiceRecordSchema(Schema):
    id = IdField(required=True)
    check_in_id = IdField(required=True)
    member_id = IdField(required=True)
    kind = fields.Enum(RecordKind, by_value=True, required=True)
    source_id = fields.String(required=True, metadata={"description": "the ticket's or the activity's id"})
    title = fields.String(required=True)
    hours = fields.Decimal(required=True, as_string=True, metadata={"example": "1.00"})
    rating = fields.Integer(required=True, allow_none=True, metadata={"description": "the resident's, 1–5"})
    occurred_at = Timestamp(required=True)
    withdrawn_at = Timestamp(required=True, allow_none=True)
    withdrawn_reason = fields.String(required=True, allow_none=True)
    created_at = Timestamp(required=True)


ServiceRecordPageSchema = page_schema(ServiceRecordSchema, "ServiceRecordPageSchema")


class ServiceQuerySchema(BaseSchema):
    year = fields.Integer(
        strict=False, validate=validate.Range(min=2000, max=2100), metadata={"description": "this year by default"}
    )


class TallySchema(Schema):
    key = fields.String(required=True, metadata={"description": "the kind, or the community's id"})
    name = fields.String(required=True)
    hours = fields.Decimal(required=True, as_string=True)
    records = fields.Integer(required=True)


class ServiceSummarySchema(Schema):
    member_id = IdField(required=True)
    year = fields.Integer(required=True)
    hours = fields.Decimal(required=True, as_string=True)
    records = fields.Integer(required=True)
    rated = fields.Integer(required=True, metadata={"description": "records with a resident's rating"})
    average_rating = fields.Decimal(required=True, allow_none=True, as_string=True)
    by_kind = fields.List(fields.Nested(TallySchema), required=True)
    by_community = fields.List(fields.Nested(TallySchema), required=True)


class ServiceExportQuerySchema(BaseSchema):
    org_id = IdField(required=True, metadata={"description": "the organisation (e.g. a host unit's branch)"})
    year = fields.Integer(validate=validate.Range(min=2000, max=2100), metadata={"description": "this year by default"})

"""The wire format of the points ledger: rules, entries, the ledger, rankings and disputes."""

from marshmallow import Schema, fields, validate

from auth.schemas import refuse_blank
from kernel.api import (
    BaseSchema,
    Day,
    FullMatch,
    IdField,
    PageQuerySchema,
    StrictBoolean,
    StrictId,
    Timestamp,
    page_schema,
)
from kernel.codes import CODE_MAX_LENGTH, CODE_PATTERN, CODE_RULE
from party.points.models import DisputeStatus, PointTrigger
from party.points.service import PERIODS

NAME = [validate.Length(min=1, max=64), refuse_blank]
RULE_CODE = [
    validate.Length(min=1, max=CODE_MAX_LENGTH),
    FullMatch(CODE_PATTERN, error=CODE_RULE),
]
RULE_POINTS = validate.Range(min=-1000, max=1000)
ENTRY_POINTS = [validate.Range(min=-1000, max=1000), validate.NoneOf([0], error="0 changes nothing")]
CAP = validate.Range(min=1, max=100_000)
NOTE = [validate.Length(min=2, max=500), refuse_blank]


# --- rules -----------------------------------------------------------------------------------------


class PointRuleVersionSchema(Schema):
    effective_from = fields.Date(required=True)
    points = fields.Integer(required=True)
    monthly_cap = fields.Integer(required=True, allow_none=True)
    active = fields.Boolean(required=True)


class PointRuleSchema(Schema):
    code = fields.String(required=True, metadata={"example": "ticket_on_time"})
    name = fields.String(required=True, metadata={"example": "按时办结工单"})
    points = fields.Integer(required=True, metadata={"description": "negative for a deduction"})
    trigger = fields.Enum(PointTrigger, by_value=True, required=True)
    monthly_cap = fields.Integer(
        required=True, allow_none=True, metadata={"description": "most a member earns by it in a month"}
    )
    active = fields.Boolean(required=True)
    effective_from = fields.Date(
        required=True,
        metadata={"description": "the latest version's day: `points`, `monthly_cap`, `active` from then on"},
    )
    versions = fields.List(
        fields.Nested(PointRuleVersionSchema),
        required=True,
        metadata={"description": "oldest first: each scores what happens from its day until the next one's"},
    )
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


PointRulePageSchema = page_schema(PointRuleSchema, "PointRulePageSchema")


class PointRuleCreateSchema(BaseSchema):
    code = fields.String(required=True, validate=RULE_CODE, metadata={"description": "permanent"})
    name = fields.String(required=True, validate=NAME)
    points = fields.Integer(required=True, strict=True, validate=RULE_POINTS)
    trigger = fields.Enum(PointTrigger, by_value=True, required=True, metadata={"description": "permanent"})
    monthly_cap = fields.Integer(allow_none=True, load_default=None, strict=True, validate=CAP)
    active = StrictBoolean(load_default=True)
    effective_from = fields.Date(metadata={"description": "today (Beijing time) by default, never earlier"})


class PointRuleUpdateSchema(BaseSchema):
    """A change of points, cap or state applies from `effective_from` (today by default), never retroactively."""

    name = fields.String(validate=NAME)
    points = fields.Integer(strict=True, validate=RULE_POINTS)
    monthly_cap = fields.Integer(allow_none=True, strict=True, validate=CAP)
    active = StrictBoolean()
    effective_from = fields.Date(metadata={"description": "today or later"})


class PointRuleQuerySchema(PageQuerySchema):
    trigger = fields.Enum(PointTrigger, by_value=True)
    active = fields.Boolean()


# --- entries and the ledger --------------------------------------------------------------------------


class PointEntrySchema(Schema):
    id = IdField(required=True)
    member_id = IdField(required=True, allow_none=True, metadata={"description": "null: the organisation's own"})
    org_id = IdField(
        required=True, metadata={"description": "the member's organisation when it was written, or the organisation"}
    )
    points = fields.Integer(required=True)
    rule_code = fields.String(required=True)
    source_type = fields.String(
        required=True, metadata={"description": "ticket, service (a 双报到 service record), manual or correction"}
    )
    source_id = fields.String(required=True, allow_none=True, metadata={"description": "e.g. the ticket's id"})
    occurred_at = Timestamp(required=True)
    note = fields.String(required=True, allow_none=True)
    created_by = IdField(required=True, allow_none=True, metadata={"description": "null when a rule wrote it"})
    corrects_id = IdField(required=True, allow_none=True, metadata={"description": "the entry it corrects"})
    created_at = Timestamp(required=True)


class LedgerLineSchema(PointEntrySchema):
    running_total = fields.Integer(required=True, metadata={"description": "the balance after this entry"})


class LedgerSchema(Schema):
    member_id = IdField(required=True)
    date_from = fields.Date(required=True, allow_none=True, data_key="from")
    date_to = fields.Date(required=True, allow_none=True, data_key="to")
    brought_forward = fields.Integer(required=True, metadata={"description": "the balance before `from`"})
    total = fields.Integer(required=True, metadata={"description": "the balance after the last entry shown"})
    items = fields.List(fields.Nested(LedgerLineSchema), required=True)


class OrgLedgerSchema(Schema):
    org_id = IdField(required=True)
    date_from = fields.Date(required=True, allow_none=True, data_key="from")
    date_to = fields.Date(required=True, allow_none=True, data_key="to")
    brought_forward = fields.Integer(required=True, metadata={"description": "its own balance before `from`"})
    total = fields.Integer(required=True, metadata={"description": "its own balance after the last entry shown"})
    members_points = fields.Integer(
        required=True, metadata={"description": "what its members earned while in it, in the days shown"}
    )
    items = fields.List(
        fields.Nested(LedgerLineSchema), required=True, metadata={"description": "its own entries (no member)"}
    )


class LedgerQuerySchema(BaseSchema):
    date_from = Day(data_key="from", metadata={"description": "first day, Beijing time"})
    date_to = Day(data_key="to", metadata={"description": "last day, inclusive"})


class PointEntryCreateSchema(BaseSchema):
    member_id = StrictId(required=True)
    points = fields.Integer(required=True, strict=True, validate=ENTRY_POINTS)
    rule_code = fields.String(required=True, validate=RULE_CODE, metadata={"description": "a `manual` rule"})
    note = fields.String(required=True, validate=NOTE, metadata={"description": "why; for a correction, what"})
    corrects_id = StrictId(allow_none=True, load_default=None, metadata={"description": "the entry corrected"})


# --- rankings ----------------------------------------------------------------------------------------


class RankingsQuerySchema(BaseSchema):
    org_id = IdField(metadata={"description": "this organisation's subtree; the caller's scope by default"})
    period = fields.String(load_default="month", validate=validate.OneOf(PERIODS))
    at = Day(metadata={"description": "a day in the period (Beijing time); today by default"})


class RankedMemberSchema(Schema):
    rank = fields.Integer(required=True, metadata={"description": "ties share the better rank: 1, 1, 3"})
    member_id = IdField(required=True)
    name = fields.String(required=True)
    org_id = IdField(required=True)
    points = fields.Integer(required=True)


class RankedOrgSchema(Schema):
    rank = fields.Integer(required=True)
    org_id = IdField(required=True)
    name = fields.String(required=True)
    points = fields.Integer(
        required=True, metadata={"description": "its own entries and those written while members were in it"}
    )


class RankingsSchema(Schema):
    period = fields.String(required=True)
    start = Timestamp(required=True)
    end = Timestamp(required=True, metadata={"description": "exclusive"})
    org_id = IdField(required=True, allow_none=True)
    members = fields.List(fields.Nested(RankedMemberSchema), required=True)
    orgs = fields.List(fields.Nested(RankedOrgSchema), required=True)


# --- disputes --------------------------------------------------------------------------------------


class DisputeCreateSchema(BaseSchema):
    reason = fields.String(required=True, validate=NOTE)


class DisputeResolveSchema(BaseSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(["upheld", "corrected"]))
    note = fields.String(required=True, validate=NOTE)
    points = fields.Integer(
        strict=True, validate=ENTRY_POINTS, metadata={"description": "the correction's points (corrected only)"}
    )


class DisputeSchema(Schema):
    id = IdField(required=True)
    entry_id = IdField(required=True)
    member_id = IdField(required=True)
    reason = fields.String(required=True)
    status = fields.Enum(DisputeStatus, by_value=True, required=True)
    resolution_note = fields.String(required=True, allow_none=True)
    correction_id = IdField(required=True, allow_none=True, metadata={"description": "the correction entry"})
    resolved_by = IdField(required=True, allow_none=True)
    resolved_at = Timestamp(required=True, allow_none=True)
    created_at = Timestamp(required=True)

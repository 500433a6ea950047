"""The wire format of alliances: themes, alliances, their members, changes and meetings."""

from marshmallow import Schema, fields, validate

from auth.schemas import refuse_blank
from kernel.api import BaseSchema, IdField, PageQuerySchema, StrictBoolean, StrictId, Timestamp, page_schema
from party.activities.models import ActivityStatus
from party.activities.schemas import KIND_CODE, MINUTES, NAME, NOTE, PLACE, POSITION, TITLE, Hours
from party.alliances.models import AllianceStatus, DecisionAction

ALLIANCE_NAME = [validate.Length(min=1, max=128), refuse_blank]
CHARTER = validate.Length(max=20_000)
COMMITMENT = validate.Length(max=5_000)
REASON = [validate.Length(min=2, max=500), refuse_blank]
DECISION = [validate.Length(min=1, max=2_000), refuse_blank]
MAX_PRESENT = 500
MAX_DECISIONS = 100


# --- themes ------------------------------------------------------------------------------------------


class AllianceThemeSchema(Schema):
    code = fields.String(required=True, metadata={"example": "red_property"})
    name = fields.String(required=True, metadata={"example": "红色物业"})
    position = fields.Integer(required=True)
    active = fields.Boolean(required=True)


AllianceThemePageSchema = page_schema(AllianceThemeSchema, "AllianceThemePageSchema")


class AllianceThemeCreateSchema(BaseSchema):
    code = fields.String(required=True, validate=KIND_CODE, metadata={"description": "permanent"})
    name = fields.String(required=True, validate=NAME)
    position = fields.Integer(load_default=0, strict=True, validate=POSITION)
    active = StrictBoolean(load_default=True)


class AllianceThemeUpdateSchema(BaseSchema):
    name = fields.String(validate=NAME)
    position = fields.Integer(strict=True, validate=POSITION)
    active = StrictBoolean(metadata={"description": "false: no new alliance of the theme; those formed keep it"})


class AllianceThemeQuerySchema(PageQuerySchema):
    active = fields.Boolean()


# --- alliances ---------------------------------------------------------------------------------------


class AllianceSchema(Schema):
    id = IdField(required=True)
    name = fields.String(required=True, metadata={"example": "新华街道党建联合体"})
    theme = fields.String(required=True, metadata={"example": "grassroots_governance"})
    theme_name = fields.String(required=True, metadata={"example": "基层治理"})
    lead_org_id = IdField(required=True, metadata={"description": "牵头党组织"})
    lead_org_name = fields.String(required=True)
    grid_id = IdField(required=True, metadata={"description": "the territory it serves (a subtree)"})
    grid_name = fields.String(required=True)
    charter = fields.String(required=True, allow_none=True, metadata={"description": "章程"})
    formed_on = fields.Date(required=True, allow_none=True)
    status = fields.Enum(AllianceStatus, by_value=True, required=True)
    approved_by = IdField(required=True, allow_none=True, metadata={"description": "the approving account"})
    approved_on = fields.Date(required=True, allow_none=True)
    dissolved_on = fields.Date(required=True, allow_none=True)
    dissolve_reason = fields.String(required=True, allow_none=True)
    member_count = fields.Integer(required=True, metadata={"description": "live memberships today"})
    allowed_actions = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "of update, approve, dissolve, add_member, record_meeting: what you may do now"},
    )
    created_by = IdField(required=True, allow_none=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


AlliancePageSchema = page_schema(AllianceSchema, "AlliancePageSchema")


class AllianceCreateSchema(BaseSchema):
    name = fields.String(required=True, validate=ALLIANCE_NAME)
    theme = fields.String(required=True, validate=KIND_CODE, metadata={"description": "an active theme's code"})
    lead_org_id = StrictId(required=True, metadata={"description": "an active organisation; its first member"})
    grid_id = StrictId(required=True, metadata={"description": "the unit whose subtree it serves"})
    charter = fields.String(load_default=None, allow_none=True, validate=CHARTER)
    formed_on = fields.Date(load_default=None, allow_none=True)
    note = fields.String(load_default=None, allow_none=True, validate=NOTE)


class AllianceUpdateSchema(BaseSchema):
    name = fields.String(validate=ALLIANCE_NAME)
    theme = fields.String(validate=KIND_CODE)
    charter = fields.String(allow_none=True, validate=CHARTER)
    formed_on = fields.Date(allow_none=True)
    grid_id = StrictId(metadata={"description": "while proposed"})
    lead_org_id = StrictId(metadata={"description": "while proposed; it joins if not a member"})
    note = fields.String(allow_none=True, validate=NOTE, metadata={"description": "why, on record"})


class AllianceQuerySchema(PageQuerySchema):
    status = fields.Enum(AllianceStatus, by_value=True)
    theme = fields.String(validate=KIND_CODE)
    grid_id = IdField(metadata={"description": "alliances serving a unit of this subtree"})
    org_id = IdField(metadata={"description": "alliances this organisation leads or belongs to today"})
    q = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "in the name"})


class AllianceApproveSchema(BaseSchema):
    approved_on = fields.Date(load_default=None, allow_none=True, metadata={"description": "today by default"})
    note = fields.String(load_default=None, allow_none=True, validate=NOTE)


class AllianceDissolveSchema(BaseSchema):
    reason = fields.String(required=True, validate=REASON)
    dissolved_on = fields.Date(load_default=None, allow_none=True, metadata={"description": "today by default"})


class AllianceChangeSchema(Schema):
    id = IdField(required=True)
    alliance_id = IdField(required=True)
    action = fields.String(
        required=True, metadata={"description": "create, update, approve, dissolve, member_add or member_remove"}
    )
    actor_id = IdField(required=True, allow_none=True)
    note = fields.String(required=True, allow_none=True)
    changes = fields.Dict(required=True, metadata={"description": 'fields as {"from", "to"}, or what was added'})
    created_at = Timestamp(required=True)


class AllianceChangeListSchema(Schema):
    items = fields.List(fields.Nested(AllianceChangeSchema), required=True)


# --- members -----------------------------------------------------------------------------------------


class AllianceMembershipSchema(Schema):
    id = IdField(required=True)
    alliance_id = IdField(required=True)
    org_id = IdField(required=True)
    org_name = fields.String(required=True)
    org_kind = fields.String(required=True)
    host_kind = fields.String(required=True, allow_none=True, metadata={"description": "null: territorial"})
    is_lead = fields.Boolean(required=True)
    commitment = fields.String(required=True, allow_none=True, metadata={"description": "共建协议"})
    joined_on = fields.Date(required=True)
    left_on = fields.Date(required=True, allow_none=True)
    left_reason = fields.String(required=True, allow_none=True)
    live = fields.Boolean(required=True, metadata={"description": "a member today"})


class AllianceMembershipListSchema(Schema):
    items = fields.List(fields.Nested(AllianceMembershipSchema), required=True)


class AllianceMembershipQuerySchema(BaseSchema):
    include_left = fields.Boolean(load_default=False, metadata={"description": "also the memberships ended"})


class AllianceMembershipCreateSchema(BaseSchema):
    org_id = StrictId(required=True, metadata={"description": "any active organisation, territorial or host"})
    commitment = fields.String(load_default=None, allow_none=True, validate=COMMITMENT)
    joined_on = fields.Date(load_default=None, allow_none=True, metadata={"description": "today by default"})
    note = fields.String(load_default=None, allow_none=True, validate=NOTE)


class AllianceMembershipRemoveSchema(BaseSchema):
    reason = fields.String(required=True, validate=REASON)
    left_on = fields.Date(load_default=None, allow_none=True, metadata={"description": "today by default"})


# --- meetings ----------------------------------------------------------------------------------------


class MeetingDecisionInSchema(BaseSchema):
    text = fields.String(required=True, validate=DECISION)
    project_id = StrictId(load_default=None, allow_none=True, metadata={"description": "a project it opens or reviews"})
    project_action = fields.Enum(DecisionAction, by_value=True, load_default=None, allow_none=True)


class AllianceMeetingCreateSchema(BaseSchema):
    title = fields.String(required=True, validate=TITLE, metadata={"example": "第四季度联席会议"})
    held_at = Timestamp(required=True, metadata={"description": "with an offset; not in the future"})
    hours = Hours(required=True, metadata={"type": "number", "example": 2})
    place = fields.String(load_default=None, allow_none=True, validate=PLACE)
    minutes = fields.String(load_default=None, allow_none=True, validate=MINUTES)
    present_org_ids = fields.List(
        StrictId(),
        required=True,
        validate=validate.Length(min=1, max=MAX_PRESENT),
        metadata={"description": "member organisations present (members on the day)"},
    )
    decisions = fields.List(
        fields.Nested(MeetingDecisionInSchema), load_default=list, validate=validate.Length(max=MAX_DECISIONS)
    )
    note = fields.String(load_default=None, allow_none=True, validate=NOTE)


class MeetingPresentOrgSchema(Schema):
    org_id = IdField(required=True)
    name = fields.String(required=True)


class MeetingDecisionSchema(Schema):
    position = fields.Integer(required=True)
    text = fields.String(required=True)
    project_id = IdField(required=True, allow_none=True)
    project_action = fields.Enum(DecisionAction, by_value=True, required=True, allow_none=True)


class AllianceMeetingSchema(Schema):
    id = IdField(required=True, metadata={"description": "the activity's id (GET /api/v1/party/activities/{id})"})
    alliance_id = IdField(required=True)
    org_id = IdField(required=True, metadata={"description": "the lead organisation that held it"})
    title = fields.String(required=True)
    held_at = Timestamp(required=True)
    hours = Hours(required=True, metadata={"type": "number"})
    place = fields.String(required=True, allow_none=True)
    minutes = fields.String(required=True, allow_none=True)
    status = fields.Enum(ActivityStatus, by_value=True, required=True)
    present_orgs = fields.List(fields.Nested(MeetingPresentOrgSchema), required=True)
    decisions = fields.List(fields.Nested(MeetingDecisionSchema), required=True)
    created_by = IdField(required=True, allow_none=True)
    created_at = Timestamp(required=True)


AllianceMeetingPageSchema = page_schema(AllianceMeetingSchema, "AllianceMeetingPageSchema")


class AllianceMeetingQuerySchema(PageQuerySchema):
    date_from = fields.Date(data_key="from", metadata={"description": "held on or after this day (Beijing time)"})
    date_to = fields.Date(data_key="to", metadata={"description": "held on or before this day"})
    status = fields.Enum(ActivityStatus, by_value=True)

"""The wire format of the three lists, the need's life, ratings and wishes."""

from marshmallow import Schema, fields, validate

from auth.schemas import MainlandMobile, refuse_blank
from kernel.api import BaseSchema, FullMatch, IdField, PageQuerySchema, StrictBoolean, StrictId, Timestamp, page_schema
from kernel.codes import CODE_MAX_LENGTH, CODE_PATTERN, CODE_RULE
from party.lists.models import NeedKind, NeedStatus, Priority, ProjectStatus, RatingSource, ResourceKind

TITLE = [validate.Length(min=1, max=128), refuse_blank]
TEXT = [validate.Length(min=1, max=5000), refuse_blank]
NOTE = [validate.Length(min=2, max=1000), refuse_blank]
CODE = [validate.Length(min=1, max=CODE_MAX_LENGTH), FullMatch(CODE_PATTERN, error=CODE_RULE)]
MAX_TICKETS = 100
MAX_PHOTOS = 30
PHOTO_IDS = fields.List(
    StrictId(),
    validate=validate.Length(max=MAX_PHOTOS),
    metadata={"description": "your photos uploaded with POST /api/v1/attachments, not yet linked"},
)


# --- categories -------------------------------------------------------------------------------------------


class NeedCategorySchema(Schema):
    code = fields.String(required=True, metadata={"example": "elderly"})
    name = fields.String(required=True, metadata={"example": "助老服务"})
    resource_kinds = fields.List(
        fields.String(), required=True, metadata={"description": "the kinds of resource that fit, best first"}
    )
    position = fields.Integer(required=True)
    active = fields.Boolean(required=True)


NeedCategoryPageSchema = page_schema(NeedCategorySchema, "NeedCategoryPageSchema")
KINDS_LIST = fields.List(
    fields.Enum(ResourceKind, by_value=True), validate=validate.Length(min=1, max=len(ResourceKind))
)


class NeedCategoryCreateSchema(BaseSchema):
    code = fields.String(required=True, validate=CODE, metadata={"description": "permanent"})
    name = fields.String(required=True, validate=[validate.Length(min=1, max=64), refuse_blank])
    resource_kinds = fields.List(
        fields.String(validate=validate.OneOf([kind.value for kind in ResourceKind])),
        required=True,
        validate=validate.Length(min=1, max=len(ResourceKind)),
    )
    position = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=10_000))
    active = StrictBoolean(load_default=True)


class NeedCategoryUpdateSchema(BaseSchema):
    name = fields.String(validate=[validate.Length(min=1, max=64), refuse_blank])
    resource_kinds = fields.List(
        fields.String(validate=validate.OneOf([kind.value for kind in ResourceKind])),
        validate=validate.Length(min=1, max=len(ResourceKind)),
    )
    position = fields.Integer(strict=True, validate=validate.Range(min=0, max=10_000))
    active = StrictBoolean()


class NeedCategoryQuerySchema(PageQuerySchema):
    active = fields.Boolean()


# --- needs ------------------------------------------------------------------------------------------------


class ResidentInSchema(BaseSchema):
    name = fields.String(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=64), refuse_blank])
    phone = MainlandMobile(load_default=None, allow_none=True)


class NeedCreateSchema(BaseSchema):
    kind = fields.Enum(NeedKind, by_value=True, load_default=NeedKind.NEED)
    title = fields.String(required=True, validate=TITLE, metadata={"example": "老旧小区加装扶手"})
    description = fields.String(required=True, validate=TEXT)
    category = fields.String(required=True, validate=CODE, metadata={"description": "an active category's code"})
    grid_id = StrictId(required=True, metadata={"description": "the unit the need is for"})
    priority = fields.Enum(Priority, by_value=True, load_default=Priority.NORMAL)
    beneficiaries = fields.Integer(
        allow_none=True,
        strict=True,
        validate=validate.Range(min=0, max=10_000_000),
        metadata={"description": "households or people; tickets promoted: their count"},
    )
    due_on = fields.Date(load_default=None, allow_none=True, metadata={"description": "met on time: by this day"})
    alliance_id = StrictId(load_default=None, allow_none=True)
    raised_by_org_id = StrictId(load_default=None, allow_none=True, metadata={"description": "one you act for"})
    ticket_ids = fields.List(
        StrictId(),
        validate=validate.Length(max=MAX_TICKETS),
        metadata={"description": "tickets promoted into this need (supervisors)"},
    )
    resident = fields.Nested(ResidentInSchema, metadata={"description": "a wish's resident: never shown publicly"})


class ResidentSchema(Schema):
    name = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True, metadata={"description": "masked"})


class NeedSchema(Schema):
    id = IdField(required=True)
    kind = fields.Enum(NeedKind, by_value=True, required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    category = fields.String(required=True)
    grid_id = IdField(required=True)
    priority = fields.Enum(Priority, by_value=True, required=True)
    beneficiaries = fields.Integer(allow_none=True, required=True)
    status = fields.Enum(NeedStatus, by_value=True, required=True)
    raised_by = IdField(required=True, allow_none=True)
    raised_by_org_id = IdField(required=True, allow_none=True)
    alliance_id = IdField(required=True, allow_none=True)
    owner_org_id = IdField(required=True, allow_none=True)
    due_on = fields.Date(required=True, allow_none=True)
    ticket_ids = fields.List(IdField(), required=True)
    project_id = IdField(required=True, allow_none=True, metadata={"description": "its latest project"})
    claimed_by_member_id = IdField(required=True, allow_none=True)
    photo_ids = fields.List(IdField(), required=True, metadata={"description": "a wish's fulfilment photos"})
    resident = fields.Nested(
        ResidentSchema,
        required=True,
        allow_none=True,
        metadata={"description": "a wish's resident, for its dispatchers only"},
    )
    allowed_actions = fields.List(fields.String(), required=True)
    met_at = Timestamp(required=True, allow_none=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


NeedPageSchema = page_schema(NeedSchema, "NeedPageSchema")


class NeedQuerySchema(PageQuerySchema):
    kind = fields.Enum(NeedKind, by_value=True)
    status = fields.Enum(NeedStatus, by_value=True)
    category = fields.String(validate=CODE)
    grid_id = IdField(metadata={"description": "this unit's subtree"})
    alliance_id = IdField()
    owner_org_id = IdField()


class NeedEventSchema(Schema):
    id = IdField(required=True)
    need_id = IdField(required=True)
    action = fields.String(required=True)
    from_status = fields.String(required=True, allow_none=True)
    to_status = fields.String(required=True)
    actor_id = IdField(required=True, allow_none=True)
    note = fields.String(required=True, allow_none=True)
    details = fields.Dict(required=True)
    created_at = Timestamp(required=True)


class NeedEventListSchema(Schema):
    items = fields.List(fields.Nested(NeedEventSchema), required=True)


class AssignSchema(BaseSchema):
    org_id = StrictId(required=True, metadata={"description": "the organisation it is assigned to"})
    note = fields.String(load_default=None, allow_none=True, validate=NOTE)


class NeedNoteSchema(BaseSchema):
    note = fields.String(load_default=None, allow_none=True, validate=NOTE)


class ListsReasonSchema(BaseSchema):
    reason = fields.String(required=True, validate=NOTE)


class FulfilSchema(BaseSchema):
    note = fields.String(required=True, validate=NOTE)
    photo_ids = fields.List(
        StrictId(),
        required=True,
        validate=validate.Length(min=1, max=MAX_PHOTOS),
        metadata={"description": "at least one photo of the wish fulfilled"},
    )


class MilestoneInSchema(BaseSchema):
    title = fields.String(required=True, validate=TITLE)
    due_on = fields.Date(load_default=None, allow_none=True)


class ReservationInSchema(BaseSchema):
    resource_id = StrictId(required=True)
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1_000_000_000))


PROJECT_FIELDS = {
    "title": fields.String(validate=TITLE, metadata={"description": "the need's title by default"}),
    "goal": fields.String(validate=TEXT, metadata={"description": "the need's description by default"}),
    "deadline": fields.Date(allow_none=True, metadata={"description": "the need's due day by default"}),
    "milestones": fields.List(fields.Nested(MilestoneInSchema), validate=validate.Length(max=50)),
    "resources": fields.List(
        fields.Nested(ReservationInSchema),
        validate=validate.Length(max=50),
        metadata={"description": "capacity reserved of the resources list; 409 past it"},
    ),
    "worker_ids": fields.List(
        StrictId(), validate=validate.Length(max=200), metadata={"description": "members working on it"}
    ),
}


TakeSchema = BaseSchema.from_dict(
    {"org_id": StrictId(required=True, metadata={"description": "the organisation taking it"}), **PROJECT_FIELDS},
    name="TakeSchema",
)
ProjectCreateSchema = BaseSchema.from_dict(
    {"need_id": StrictId(required=True, metadata={"description": "a need assigned (matched)"}), **PROJECT_FIELDS},
    name="ProjectCreateSchema",
)


class RatingInSchema(BaseSchema):
    rating = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    org_id = StrictId(
        load_default=None,
        allow_none=True,
        metadata={"description": "a member organisation rating the owner; none: a supervisor's visit"},
    )


class RatingSchema(Schema):
    id = IdField(required=True)
    need_id = IdField(required=True)
    project_id = IdField(required=True)
    source = fields.Enum(RatingSource, by_value=True, required=True)
    rating = fields.Integer(required=True)
    comment = fields.String(required=True, allow_none=True)
    rater_org_id = IdField(required=True, allow_none=True)
    ticket_id = IdField(required=True, allow_none=True)
    recorded_by = IdField(required=True, allow_none=True)
    created_at = Timestamp(required=True)


class RatingListSchema(Schema):
    items = fields.List(fields.Nested(RatingSchema), required=True)


# --- resources --------------------------------------------------------------------------------------------


class ResourceCreateSchema(BaseSchema):
    kind = fields.Enum(ResourceKind, by_value=True, required=True)
    description = fields.String(required=True, validate=TEXT, metadata={"example": "党群服务中心会议室，每月 40 小时"})
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1_000_000_000))
    unit = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=16), refuse_blank],
        metadata={"example": "hours/month", "description": "what capacity counts"},
    )
    available_from = fields.Date(load_default=None, allow_none=True)
    available_to = fields.Date(load_default=None, allow_none=True)
    grid_id = StrictId(required=True, metadata={"description": "it serves this unit's subtree"})
    owner_org_id = StrictId(required=True, metadata={"description": "an organisation you act for"})
    owner_member_id = StrictId(load_default=None, allow_none=True, metadata={"description": "a member of it"})
    alliance_id = StrictId(load_default=None, allow_none=True, metadata={"description": "offered to this alliance"})


class ResourceSchema(Schema):
    id = IdField(required=True)
    kind = fields.Enum(ResourceKind, by_value=True, required=True)
    description = fields.String(required=True)
    capacity = fields.Integer(required=True)
    unit = fields.String(required=True)
    reserved = fields.Integer(required=True, metadata={"description": "held by projects"})
    remaining = fields.Function(
        lambda resource: resource.capacity - resource.reserved, required=True, metadata={"type": "integer"}
    )
    available_from = fields.Date(required=True, allow_none=True)
    available_to = fields.Date(required=True, allow_none=True)
    grid_id = IdField(required=True)
    owner_org_id = IdField(required=True)
    owner_member_id = IdField(required=True, allow_none=True)
    alliance_id = IdField(required=True, allow_none=True)
    active = fields.Boolean(required=True)
    created_at = Timestamp(required=True)


ResourcePageSchema = page_schema(ResourceSchema, "ResourcePageSchema")


class ResourceQuerySchema(PageQuerySchema):
    kind = fields.Enum(ResourceKind, by_value=True)
    owner_org_id = IdField()
    alliance_id = IdField()
    active = fields.Boolean()


class SuggestionSchema(Schema):
    rank = fields.Integer(required=True)
    resource = fields.Nested(ResourceSchema, required=True)
    remaining = fields.Integer(required=True)
    in_alliance = fields.Boolean(required=True)
    distance = fields.Integer(required=True, metadata={"description": "levels between its unit and the need's"})
    kind_rank = fields.Integer(required=True, metadata={"description": "the kind's place in the category, from 0"})
    reasons = fields.List(fields.String(), required=True)


class SuggestionListSchema(Schema):
    items = fields.List(fields.Nested(SuggestionSchema), required=True)


# --- projects ---------------------------------------------------------------------------------------------


class ReservationSchema(Schema):
    resource_id = IdField(required=True)
    amount = fields.Integer(required=True)
    released = fields.Boolean(required=True)


class MilestoneSchema(Schema):
    id = IdField(required=True)
    title = fields.String(required=True)
    due_on = fields.Date(required=True, allow_none=True)
    done_at = Timestamp(required=True, allow_none=True)


class ProjectSchema(Schema):
    id = IdField(required=True)
    need_id = IdField(required=True)
    owner_org_id = IdField(required=True)
    owner_org_name = fields.String(required=True)
    alliance_id = IdField(required=True, allow_none=True)
    title = fields.String(required=True)
    goal = fields.String(required=True)
    deadline = fields.Date(required=True, allow_none=True)
    status = fields.Enum(ProjectStatus, by_value=True, required=True)
    resources = fields.List(fields.Nested(ReservationSchema), required=True)
    milestones = fields.List(fields.Nested(MilestoneSchema), required=True)
    worker_ids = fields.List(IdField(), required=True)
    photo_ids = fields.List(IdField(), required=True)
    rating_count = fields.Integer(
        required=True, metadata={"description": "评单: ratings given (residents, visits, member organisations)"}
    )
    rating_average = fields.Float(required=True, allow_none=True, metadata={"description": "null: not rated"})
    created_at = Timestamp(required=True)
    done_at = Timestamp(required=True, allow_none=True)


ProjectPageSchema = page_schema(ProjectSchema, "ProjectPageSchema")


class ProjectQuerySchema(PageQuerySchema):
    status = fields.Enum(ProjectStatus, by_value=True)
    owner_org_id = IdField()
    alliance_id = IdField()


class ProgressSchema(BaseSchema):
    note = fields.String(required=True, validate=NOTE)
    photo_ids = PHOTO_IDS
    milestone_id = StrictId(load_default=None, allow_none=True, metadata={"description": "a milestone now done"})


class CompleteSchema(BaseSchema):
    note = fields.String(required=True, validate=NOTE)


class ProjectEventSchema(Schema):
    id = IdField(required=True)
    project_id = IdField(required=True)
    action = fields.String(
        required=True, metadata={"description": "open, progress, reserve, complete, rating_requested, abandon"}
    )
    actor_id = IdField(required=True, allow_none=True)
    note = fields.String(required=True, allow_none=True)
    details = fields.Dict(required=True)
    created_at = Timestamp(required=True)


class ProjectEventListSchema(Schema):
    items = fields.List(fields.Nested(ProjectEventSchema), required=True)

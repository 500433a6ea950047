"""The wire format of organisation life: kinds, activities with their attendance, their changes, yearly life."""

from decimal import Decimal, InvalidOperation
from typing import Any

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
from party.activities.models import ActivityStatus

NAME = [validate.Length(min=1, max=64), refuse_blank]
KIND_CODE = [
    validate.Length(min=1, max=CODE_MAX_LENGTH),
    FullMatch(CODE_PATTERN, error=CODE_RULE),
]
MINIMUM = validate.Range(min=0, max=366)
POSITION = validate.Range(min=0, max=10_000)
TITLE = [validate.Length(min=1, max=128), refuse_blank]
PLACE = [validate.Length(min=1, max=255), refuse_blank]
MINUTES = validate.Length(max=20_000)
REASON = [validate.Length(min=1, max=200), refuse_blank]
NOTE = [validate.Length(min=2, max=500), refuse_blank]
MAX_MARKS = 1000
MAX_PHOTOS = 30


class Hours(fields.Field):
    """A JSON number of hours, above 0 and at most 24, to the hundredth ("1.5" as a string is refused)."""

    default_error_messages = {
        "invalid": "Not a number of hours.",
        "range": "More than 0 and at most 24.",
        "places": "At most two decimals.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        try:
            hours = Decimal(str(value))
        except InvalidOperation:
            raise self.make_error("invalid") from None
        if not hours.is_finite():
            raise self.make_error("invalid")
        if not Decimal(0) < hours <= Decimal(24):
            raise self.make_error("range")
        if hours != hours.quantize(Decimal("0.01")):
            raise self.make_error("places")
        return hours

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> float | None:
        return None if value is None else float(value)


# --- kinds -----------------------------------------------------------------------------------------


class ActivityKindSchema(Schema):
    code = fields.String(required=True, metadata={"example": "theme_day"})
    name = fields.String(required=True, metadata={"example": "主题党日"})
    yearly_minimum = fields.Integer(required=True, metadata={"description": "what a branch holds at least a year"})
    position = fields.Integer(required=True)
    active = fields.Boolean(required=True)


ActivityKindPageSchema = page_schema(ActivityKindSchema, "ActivityKindPageSchema")


class ActivityKindCreateSchema(BaseSchema):
    code = fields.String(required=True, validate=KIND_CODE, metadata={"description": "permanent"})
    name = fields.String(required=True, validate=NAME)
    yearly_minimum = fields.Integer(load_default=0, strict=True, validate=MINIMUM)
    position = fields.Integer(load_default=0, strict=True, validate=POSITION)
    active = StrictBoolean(load_default=True)


class ActivityKindUpdateSchema(BaseSchema):
    name = fields.String(validate=NAME)
    yearly_minimum = fields.Integer(strict=True, validate=MINIMUM)
    position = fields.Integer(strict=True, validate=POSITION)
    active = StrictBoolean(metadata={"description": "false: no new activity of the kind; those held keep it"})


class ActivityKindQuerySchema(PageQuerySchema):
    active = fields.Boolean()


# --- activities ------------------------------------------------------------------------------------


class AbsentInSchema(BaseSchema):
    member_id = StrictId(required=True)
    reason = fields.String(required=True, validate=REASON, metadata={"example": "病假"})


PRESENT = fields.List(
    StrictId(), validate=validate.Length(max=MAX_MARKS), metadata={"description": "ids of the members present"}
)
ABSENT = fields.List(
    fields.Nested(AbsentInSchema),
    validate=validate.Length(max=MAX_MARKS),
    metadata={"description": "members absent, each with a reason"},
)
PHOTO_IDS = fields.List(
    StrictId(),
    validate=validate.Length(max=MAX_PHOTOS),
    metadata={"description": "your photos uploaded with POST /api/v1/attachments, not yet linked"},
)


class ActivityCreateSchema(BaseSchema):
    org_id = StrictId(required=True, metadata={"description": "the organisation that held it (one you manage)"})
    kind = fields.String(required=True, validate=KIND_CODE, metadata={"description": "an active kind's code"})
    title = fields.String(required=True, validate=TITLE, metadata={"example": "十二月主题党日：学习全会精神"})
    held_at = Timestamp(required=True, metadata={"description": "with an offset; not in the future"})
    hours = Hours(required=True, metadata={"type": "number", "example": 1.5, "description": "its length"})
    place = fields.String(load_default=None, allow_none=True, validate=PLACE)
    minutes = fields.String(load_default=None, allow_none=True, validate=MINUTES, metadata={"description": "记录"})
    present = PRESENT
    absent = ABSENT
    photo_ids = PHOTO_IDS
    note = fields.String(load_default=None, allow_none=True, validate=NOTE, metadata={"description": "on record"})


class ActivityUpdateSchema(BaseSchema):
    """Each attendance list given replaces that list; photos given are added (photos stay on record)."""

    kind = fields.String(validate=KIND_CODE)
    title = fields.String(validate=TITLE)
    held_at = Timestamp()
    hours = Hours(metadata={"type": "number"})
    place = fields.String(allow_none=True, validate=PLACE)
    minutes = fields.String(allow_none=True, validate=MINUTES)
    present = PRESENT
    absent = ABSENT
    photo_ids = PHOTO_IDS
    note = fields.String(allow_none=True, validate=NOTE, metadata={"description": "why it was corrected"})


class ActivityCancelSchema(BaseSchema):
    reason = fields.String(required=True, validate=NOTE)


class ActivityQuerySchema(PageQuerySchema):
    org_id = IdField(metadata={"description": "this organisation's subtree"})
    kind = fields.String(validate=KIND_CODE)
    status = fields.Enum(ActivityStatus, by_value=True)
    date_from = Day(data_key="from", metadata={"description": "held on or after this day (Beijing time)"})
    date_to = Day(data_key="to", metadata={"description": "held on or before this day"})


class MyActivityQuerySchema(PageQuerySchema):
    kind = fields.String(validate=KIND_CODE)
    status = fields.Enum(ActivityStatus, by_value=True)
    date_from = Day(data_key="from")
    date_to = Day(data_key="to")


class PresentSchema(Schema):
    member_id = IdField(required=True)
    name = fields.String(required=True)
    points = fields.Integer(required=True, metadata={"description": "what the activity earned them, net"})


class AbsentSchema(Schema):
    member_id = IdField(required=True)
    name = fields.String(required=True)
    reason = fields.String(required=True, allow_none=True)


class ActivitySchema(Schema):
    id = IdField(required=True)
    org_id = IdField(required=True)
    org_name = fields.String(required=True)
    kind = fields.String(required=True)
    kind_name = fields.String(required=True)
    title = fields.String(required=True)
    held_at = Timestamp(required=True)
    hours = Hours(required=True, metadata={"type": "number"})
    place = fields.String(required=True, allow_none=True)
    minutes = fields.String(required=True, allow_none=True)
    status = fields.Enum(ActivityStatus, by_value=True, required=True)
    cancel_reason = fields.String(required=True, allow_none=True)
    present = fields.List(fields.Nested(PresentSchema), required=True)
    absent = fields.List(fields.Nested(AbsentSchema), required=True)
    photo_ids = fields.List(IdField(), required=True, metadata={"description": "GET /api/v1/attachments/{id}"})
    points = fields.Integer(required=True, metadata={"description": "the points its attendance earned, in all"})
    created_by = IdField(required=True, allow_none=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


ActivityPageSchema = page_schema(ActivitySchema, "ActivityPageSchema")


class ActivityChangeSchema(Schema):
    id = IdField(required=True)
    activity_id = IdField(required=True)
    action = fields.String(required=True, metadata={"description": "create, update or cancel"})
    actor_id = IdField(required=True, allow_none=True)
    note = fields.String(required=True, allow_none=True)
    changes = fields.Dict(
        required=True,
        metadata={
            "description": 'fields as {"from", "to"}; present as {"added", "removed"} ids; absent as {"added", '
            '"removed"} marks with their reason; photo_ids as {"added"}'
        },
    )
    created_at = Timestamp(required=True)


class ActivityChangeListSchema(Schema):
    items = fields.List(fields.Nested(ActivityChangeSchema), required=True)


# --- yearly life -----------------------------------------------------------------------------------


class LifeQuerySchema(BaseSchema):
    year = fields.Integer(validate=validate.Range(min=2000, max=2100), metadata={"description": "this year by default"})


class KindCountSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    required = fields.Integer(required=True, metadata={"description": "the kind's yearly minimum"})
    held = fields.Integer(required=True)
    missing = fields.Integer(required=True, metadata={"description": "max(0, required - held)"})
    due_so_far = fields.Integer(
        required=True, allow_none=True, metadata={"description": "this year: required × months over / 12, floored"}
    )
    behind = fields.Integer(
        required=True, allow_none=True, metadata={"description": "this year: max(0, due_so_far - held)"}
    )


class LifeSchema(Schema):
    org_id = IdField(required=True)
    year = fields.Integer(required=True)
    org_ids = fields.List(
        IdField(),
        required=True,
        metadata={"description": "whose activities count: the organisation and, for a branch, its groups"},
    )
    as_of = fields.Date(required=True, allow_none=True, metadata={"description": "today, for the current year"})
    kinds = fields.List(fields.Nested(KindCountSchema), required=True)
    missing = fields.Integer(required=True, metadata={"description": "the kinds' missing, in all"})

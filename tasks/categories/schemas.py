"""The wire format of categories and their SLA."""

from marshmallow import Schema, fields, validate

from kernel.api import BaseSchema, FullMatch, PageQuerySchema, StrictBoolean, Timestamp, page_schema
from tasks.categories.models import Priority
from tasks.categories.service import CODE_MAX_LENGTH, CODE_MIN_LENGTH, CODE_PATTERN

# Lists rather than validate.And, so the OpenAPI document shows the length and the pattern.
CODE = [
    validate.Length(min=CODE_MIN_LENGTH, max=CODE_MAX_LENGTH),
    FullMatch(CODE_PATTERN, error="upper-case letters, digits or '_', in dot-separated parts (e.g. CITY.GARBAGE)"),
]
NAME = [validate.Length(min=1, max=64), validate.Regexp(r"^\s*\S", error="must not be blank")]
# An acceptance window of at most a week, a resolution window of at most a year.
ACCEPT_MINUTES = validate.Range(min=1, max=7 * 24 * 60)
RESOLVE_HOURS = validate.Range(min=1, max=365 * 24)


class CategorySchema(Schema):
    code = fields.String(required=True, metadata={"example": "CITY.GARBAGE"})
    name = fields.String(required=True, metadata={"example": "垃圾清运"})
    parent_code = fields.String(required=True, allow_none=True, metadata={"example": "CITY"})
    accept_minutes = fields.Integer(required=True, metadata={"description": "time to accept a dispatched ticket"})
    resolve_hours = fields.Integer(required=True, metadata={"description": "time to resolve, from intake"})
    default_priority = fields.Enum(Priority, by_value=True, required=True)
    volunteer_claimable = fields.Boolean(required=True, metadata={"description": "volunteers may claim its tickets"})
    active = fields.Boolean(required=True, metadata={"description": "new work may be filed under it"})
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


CategoryPageSchema = page_schema(CategorySchema, "CategoryPageSchema")


class CategoryCreateSchema(BaseSchema):
    code = fields.String(required=True, validate=CODE, metadata={"description": "permanent: it cannot change"})
    name = fields.String(required=True, validate=NAME)
    parent_code = fields.String(load_default=None, allow_none=True, validate=CODE)
    accept_minutes = fields.Integer(required=True, strict=True, validate=ACCEPT_MINUTES)
    resolve_hours = fields.Integer(required=True, strict=True, validate=RESOLVE_HOURS)
    default_priority = fields.Enum(Priority, by_value=True, load_default=Priority.NORMAL)
    volunteer_claimable = StrictBoolean(load_default=False)
    active = StrictBoolean(load_default=True)


class CategoryUpdateSchema(BaseSchema):
    """Every field but `code`, which is permanent (tickets and history refer to it)."""

    name = fields.String(validate=NAME)
    parent_code = fields.String(
        allow_none=True, validate=CODE, metadata={"description": "moves it (and its subtree); null makes it a root"}
    )
    accept_minutes = fields.Integer(strict=True, validate=ACCEPT_MINUTES)
    resolve_hours = fields.Integer(strict=True, validate=RESOLVE_HOURS)
    default_priority = fields.Enum(Priority, by_value=True)
    volunteer_claimable = StrictBoolean()
    active = StrictBoolean(metadata={"description": "false is refused (409) while it has active subcategories"})


class CategoryQuerySchema(PageQuerySchema):
    parent_code = fields.String(validate=CODE, metadata={"description": "direct subcategories of this one"})
    active = fields.Boolean()
    q = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "code or name contains"})
    updated_since = Timestamp(metadata={"description": "changed at or after this time (delta sync)"})

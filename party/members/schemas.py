"""The wire format of party members and their classes."""

from marshmallow import Schema, fields, validate

from auth.schemas import MainlandMobile, refuse_blank
from kernel.api import BaseSchema, FullMatch, IdField, PageQuerySchema, StrictBoolean, StrictId, Timestamp, page_schema
from kernel.codes import CODE_MAX_LENGTH, CODE_PATTERN, CODE_RULE

NAME = [validate.Length(min=1, max=64), refuse_blank]
CLASS_CODE = [
    validate.Length(min=1, max=CODE_MAX_LENGTH),
    FullMatch(CODE_PATTERN, error=CODE_RULE),
]
POSITION = validate.Range(min=0, max=10_000)
REASON = validate.Length(min=2, max=200)


# --- member classes ------------------------------------------------------------------------------


class MemberClassSchema(Schema):
    code = fields.String(required=True, metadata={"example": "retired"})
    name = fields.String(required=True, metadata={"example": "离退休党员"})
    position = fields.Integer(required=True, metadata={"description": "display order, smallest first"})
    active = fields.Boolean(required=True, metadata={"description": "new members may be given it"})


MemberClassPageSchema = page_schema(MemberClassSchema, "MemberClassPageSchema")


class MemberClassCreateSchema(BaseSchema):
    code = fields.String(required=True, validate=CLASS_CODE, metadata={"description": "permanent: it cannot change"})
    name = fields.String(required=True, validate=NAME)
    position = fields.Integer(load_default=0, strict=True, validate=POSITION)
    active = StrictBoolean(load_default=True)


class MemberClassUpdateSchema(BaseSchema):
    """Every field but `code`, which is permanent (members refer to it)."""

    name = fields.String(validate=NAME)
    position = fields.Integer(strict=True, validate=POSITION)
    active = StrictBoolean(metadata={"description": "false: members keep it, new ones cannot be given it"})


class MemberClassQuerySchema(PageQuerySchema):
    active = fields.Boolean()


# --- members -------------------------------------------------------------------------------------


class MemberSchema(Schema):
    id = IdField(required=True)
    name = fields.String(required=True, metadata={"example": "张明"})
    phone = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "masked (138****5678) but for the member themself; in full: `/contact`"},
    )
    org_id = IdField(required=True, metadata={"description": "the organisation holding the membership"})
    class_code = fields.String(required=True, data_key="class", metadata={"example": "serving"})
    joined_on = fields.Date(required=True, allow_none=True)
    left_on = fields.Date(required=True, allow_none=True, metadata={"description": "set when the member left"})
    account_id = IdField(required=True, allow_none=True, metadata={"description": "the member's account, if any"})
    home_grid_id = IdField(required=True, allow_none=True, metadata={"description": "the unit where they live"})
    active = fields.Boolean(required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


MemberPageSchema = page_schema(MemberSchema, "MemberPageSchema")


class MemberCreateSchema(BaseSchema):
    name = fields.String(required=True, validate=NAME)
    phone = MainlandMobile(allow_none=True, load_default=None)
    org_id = StrictId(required=True, metadata={"description": "an organisation you manage"})
    class_code = fields.String(required=True, data_key="class", validate=CLASS_CODE, metadata={"example": "serving"})
    joined_on = fields.Date(allow_none=True, load_default=None)
    left_on = fields.Date(allow_none=True, load_default=None, metadata={"description": "with `active: false`"})
    account_id = StrictId(allow_none=True, load_default=None, metadata={"description": "one member per account"})
    home_grid_id = StrictId(allow_none=True, load_default=None)
    active = StrictBoolean(load_default=True)


class MemberUpdateSchema(BaseSchema):
    """Leaving is `{"left_on": "…", "active": false}`: members are never deleted."""

    name = fields.String(validate=NAME)
    phone = MainlandMobile(allow_none=True)
    org_id = StrictId(metadata={"description": "moves the membership to another organisation you manage"})
    class_code = fields.String(data_key="class", validate=CLASS_CODE)
    joined_on = fields.Date(allow_none=True)
    left_on = fields.Date(allow_none=True)
    account_id = StrictId(allow_none=True, metadata={"description": "null unlinks the account"})
    home_grid_id = StrictId(allow_none=True)
    active = StrictBoolean()


class MemberQuerySchema(PageQuerySchema):
    org_id = IdField(metadata={"description": "members of this organisation's subtree"})
    class_code = fields.String(data_key="class", validate=CLASS_CODE)
    active = fields.Boolean()
    q = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "name contains"})
    home_grid_id = IdField(metadata={"description": "members living in this unit's subtree"})
    has_account = fields.Boolean()


class MemberContactQuerySchema(BaseSchema):
    reason = fields.String(
        required=True,
        validate=REASON,
        metadata={"description": "why the full number is needed; kept in the access log"},
    )


class MemberContactSchema(Schema):
    name = fields.String(required=True)
    phone = fields.String(required=True, allow_none=True)

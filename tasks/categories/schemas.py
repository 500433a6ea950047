"""The wire format of categories and their SLA."""

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from kernel.api import BaseSchema, FullMatch, PageQuerySchema, StrictBoolean, Timestamp, page_schema
from kernel.i18n import _, _l
from tasks.categories import attributes
from tasks.categories.attributes import Datatype
from tasks.categories.models import Priority
from tasks.categories.service import CODE_MAX_LENGTH, CODE_MIN_LENGTH, CODE_PATTERN

# Lists rather than validate.And, so the OpenAPI document shows the length and the pattern.
CODE = [
    validate.Length(min=CODE_MIN_LENGTH, max=CODE_MAX_LENGTH),
    FullMatch(CODE_PATTERN, error=_l("upper-case letters, digits or '_', in dot-separated parts (e.g. CITY.GARBAGE)")),
]
NAME = [validate.Length(min=1, max=64), validate.Regexp(r"^\s*\S", error=_l("must not be blank"))]
# An acceptance window of at most a week, a resolution window of at most a year.
ACCEPT_MINUTES = validate.Range(min=1, max=7 * 24 * 60)
RESOLVE_HOURS = validate.Range(min=1, max=365 * 24)
ACCEPT_WORKING_HOURS = validate.Range(min=1, max=5 * 24)
RESOLVE_WORKING_DAYS = validate.Range(min=1, max=250)
WORKING_TIME_NOTE = "in working time (tasks' working-day calendar and WORKING_HOURS); null: the calendar time field"


# --- extra questions (attributes) -------------------------------------------------------------------------------

ATTRIBUTE_CODE = [
    validate.Length(min=1, max=32),
    FullMatch(attributes.CODE_PATTERN, error=_l("letters, digits or '_', at most 32")),
]


class AttributeValueSchema(BaseSchema):
    key = fields.String(required=True, validate=ATTRIBUTE_CODE, metadata={"example": "bag"})
    name = fields.String(required=True, validate=NAME, metadata={"example": "袋装垃圾"})


class AttributeSchema(BaseSchema):
    """One extra question; Open311's service definition shows it as it is."""

    code = fields.String(required=True, validate=ATTRIBUTE_CODE, metadata={"example": "KIND"})
    # A string with a choice, not an Enum field: stored as JSON, the definitions come back as plain strings.
    datatype = fields.String(required=True, validate=validate.OneOf([datatype.value for datatype in Datatype]))
    description = fields.String(
        required=True, validate=validate.Length(min=1, max=200), metadata={"description": "the question asked"}
    )
    required = StrictBoolean(load_default=False)
    variable = StrictBoolean(
        load_default=True, metadata={"description": "false: information shown to the resident, never answered"}
    )
    datatype_description = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=200), metadata={"description": "input hint"}
    )
    order = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(min=1, max=1000),
        metadata={"description": "1 is asked first; its position in the list when absent"},
    )
    values = fields.List(
        fields.Nested(AttributeValueSchema),
        load_default=list,
        validate=validate.Length(max=attributes.MAX_VALUES),
        metadata={"description": "the choices of a singlevaluelist or multivaluelist (and only of those)"},
    )

    @validates_schema
    def _values_fit_the_datatype(self, data: dict[str, Any], **_kwargs: Any) -> None:
        is_list = data.get("datatype") in attributes.LISTS
        if is_list and not data.get("values"):
            raise ValidationError(_("a list question needs its values"), "values")
        if not is_list and data.get("values"):
            raise ValidationError(_("only list questions have values"), "values")
        keys = [value["key"] for value in data.get("values") or []]
        if len(set(keys)) != len(keys):
            raise ValidationError(_("keys must be unique"), "values")


def _definitions_fit_together(value: list[dict[str, Any]]) -> None:
    problems = attributes.definition_problems(value)
    if problems:
        raise ValidationError(problems)


def _attributes(**kwargs: Any) -> fields.List:
    return fields.List(
        fields.Nested(AttributeSchema),
        validate=[validate.Length(max=attributes.MAX_ATTRIBUTES), _definitions_fit_together],
        metadata={"description": "extra questions residents answer when filing (`attributes` of a request)"},
        **kwargs,
    )


class CategorySchema(Schema):
    code = fields.String(required=True, metadata={"example": "CITY.GARBAGE"})
    name = fields.String(required=True, metadata={"example": "垃圾清运"})
    parent_code = fields.String(required=True, allow_none=True, metadata={"example": "CITY"})
    accept_minutes = fields.Integer(required=True, metadata={"description": "time to accept a dispatched ticket"})
    resolve_hours = fields.Integer(required=True, metadata={"description": "time to resolve, from intake"})
    accept_working_hours = fields.Integer(
        required=True, allow_none=True, metadata={"description": f"working hours to accept, {WORKING_TIME_NOTE}"}
    )
    resolve_working_days = fields.Integer(
        required=True, allow_none=True, metadata={"description": f"working days to resolve, {WORKING_TIME_NOTE}"}
    )
    suspend_needs_approval = fields.Boolean(
        required=True, metadata={"description": "挂起 of its tickets waits for a supervisor's approval"}
    )
    default_priority = fields.Enum(Priority, by_value=True, required=True)
    volunteer_claimable = fields.Boolean(required=True, metadata={"description": "volunteers may claim its tickets"})
    active = fields.Boolean(required=True, metadata={"description": "new work may be filed under it"})
    attributes = fields.List(fields.Nested(AttributeSchema), required=True, metadata={"description": "extra questions"})
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


CategoryPageSchema = page_schema(CategorySchema, "CategoryPageSchema")


class CategoryCreateSchema(BaseSchema):
    code = fields.String(required=True, validate=CODE, metadata={"description": "permanent: it cannot change"})
    name = fields.String(required=True, validate=NAME)
    parent_code = fields.String(load_default=None, allow_none=True, validate=CODE)
    accept_minutes = fields.Integer(required=True, strict=True, validate=ACCEPT_MINUTES)
    resolve_hours = fields.Integer(required=True, strict=True, validate=RESOLVE_HOURS)
    accept_working_hours = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=ACCEPT_WORKING_HOURS,
        metadata={"description": "used instead of accept_minutes when set"},
    )
    resolve_working_days = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=RESOLVE_WORKING_DAYS,
        metadata={"description": "used instead of resolve_hours when set"},
    )
    suspend_needs_approval = StrictBoolean(load_default=False)
    default_priority = fields.Enum(Priority, by_value=True, load_default=Priority.NORMAL)
    volunteer_claimable = StrictBoolean(load_default=False)
    active = StrictBoolean(load_default=True)
    attributes = _attributes(load_default=list)


class CategoryUpdateSchema(BaseSchema):
    """Every field but `code`, which is permanent (tickets and history refer to it)."""

    name = fields.String(validate=NAME)
    parent_code = fields.String(
        allow_none=True, validate=CODE, metadata={"description": "moves it (and its subtree); null makes it a root"}
    )
    accept_minutes = fields.Integer(strict=True, validate=ACCEPT_MINUTES)
    resolve_hours = fields.Integer(strict=True, validate=RESOLVE_HOURS)
    accept_working_hours = fields.Integer(allow_none=True, strict=True, validate=ACCEPT_WORKING_HOURS)
    resolve_working_days = fields.Integer(allow_none=True, strict=True, validate=RESOLVE_WORKING_DAYS)
    suspend_needs_approval = StrictBoolean()
    default_priority = fields.Enum(Priority, by_value=True)
    volunteer_claimable = StrictBoolean()
    active = StrictBoolean(metadata={"description": "false is refused (409) while it has active subcategories"})
    attributes = _attributes()


class CategoryQuerySchema(PageQuerySchema):
    parent_code = fields.String(validate=CODE, metadata={"description": "direct subcategories of this one"})
    active = fields.Boolean()
    q = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "code or name contains"})
    updated_since = Timestamp(metadata={"description": "changed at or after this time (delta sync)"})

from marshmallow import Schema, fields, validate

from kernel.api import BaseSchema, Timestamp
from tasks.calendar.models import CalendarSource, DayKind


class CalendarDaySchema(BaseSchema):
    date = fields.Date(required=True, attribute="day", data_key="date", metadata={"example": "2026-10-01"})
    kind = fields.Enum(
        DayKind, by_value=True, required=True, metadata={"description": "rest: 休 on a weekday; work: 班 on a weekend"}
    )
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))


class CalendarDayInSchema(BaseSchema):
    date = fields.Date(required=True, metadata={"example": "2026-10-01"})
    kind = fields.Enum(DayKind, by_value=True, required=True)
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=32))


class CalendarYearSchema(Schema):
    year = fields.Integer(required=True, metadata={"example": 2026})
    source = fields.Enum(CalendarSource, by_value=True, required=True, metadata={"description": "who set it last"})
    updated_at = Timestamp(required=True)
    days = fields.List(fields.Nested(CalendarDaySchema), required=True, metadata={"description": "by date"})


class CalendarYearInSchema(BaseSchema):
    days = fields.List(
        fields.Nested(CalendarDayInSchema),
        required=True,
        validate=validate.Length(max=366),
        metadata={"description": "the whole year's exceptions to Monday–Friday; replaces what is there"},
    )

"""The dashboards' wire format: query parameters and the figures, with their definitions in the descriptions."""

from marshmallow import fields, validate

from kernel.api import BaseSchema, IdField, PageQuerySchema, Timestamp

RATE_DOC = "numerator / denominator, rounded to 4 places; null when the denominator is 0"


class StatsQuerySchema(BaseSchema):
    grid_id = IdField(metadata={"description": "the unit whose whole subtree is counted; default: your scope"})
    from_ = fields.Date(
        data_key="from", metadata={"description": "first Beijing calendar day (inclusive); default: this month's"}
    )
    to = fields.Date(metadata={"description": "last Beijing calendar day (inclusive); default: this month's"})
    category = fields.String(
        validate=validate.Length(min=1, max=32), metadata={"description": "a category code; covers its subtree"}
    )


class BreakdownQuerySchema(StatsQuerySchema):
    by = fields.String(required=True, validate=validate.OneOf(["child", "category", "worker", "channel"]))


class TimeseriesQuerySchema(StatsQuerySchema):
    interval = fields.String(load_default="day", validate=validate.OneOf(["day", "week", "month"]))


class LeaderboardQuerySchema(StatsQuerySchema):
    of = fields.String(
        load_default="worker",
        validate=validate.OneOf(["worker", "unit"]),
        metadata={"description": "rank workers, or the child units"},
    )
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class OverdueQuerySchema(PageQuerySchema):
    grid_id = IdField(metadata={"description": "the unit whose whole subtree is listed; default: your scope"})
    category = fields.String(validate=validate.Length(min=1, max=32))


class RateSchema(BaseSchema):
    numerator = fields.Integer(required=True)
    denominator = fields.Integer(required=True)
    rate = fields.Float(required=True, allow_none=True, metadata={"description": RATE_DOC})


class DurationSchema(BaseSchema):
    count = fields.Integer(required=True)
    average_seconds = fields.Integer(required=True, allow_none=True)
    p90_seconds = fields.Integer(
        required=True,
        allow_none=True,
        metadata={
            "description": "the upper bound of the histogram bucket holding the 90th percentile (buckets: 5, 15, 30 "
            "min, 1, 2, 4, 8 h, 1, 2, 3, 7, 14, 30 days; longer reports 30 days)"
        },
    )


class NowSchema(BaseSchema):
    open = fields.Integer(required=True, metadata={"description": "open tickets owned in the subtree now"})
    overdue = fields.Integer(required=True, metadata={"description": "of them, past their running deadline"})
    warned = fields.Integer(required=True, metadata={"description": "of them, past 80 % but not yet the deadline"})
    as_of = Timestamp(required=True)


class FiguresSchema(BaseSchema):
    received = fields.Integer(
        allow_none=True,
        metadata={"description": "tickets received in the range whose origin unit is in the subtree (units only)"},
    )
    tickets = fields.Integer(
        allow_none=True, metadata={"description": "tickets received in the range that the worker holds or resolved"}
    )
    open = fields.Integer(metadata={"description": "of them, still pending, assigned or in progress"})
    resolved = fields.Integer(metadata={"description": "of them, resolved or closed (办结)"})
    closed = fields.Integer()
    cancelled = fields.Integer(allow_none=True, metadata={"description": "withdrawn or merged into another ticket"})
    escalated = fields.Integer(allow_none=True, metadata={"description": "owned above their origin unit now"})
    overdue = fields.Integer(
        metadata={"description": "found overdue by the sweep at any time, or resolved after the resolution deadline"}
    )
    reopens = fields.Integer(metadata={"description": "reopens of these tickets (counted against the handler)"})
    response_rate = fields.Nested(
        RateSchema, metadata={"description": "accepted within the acceptance deadline / dispatched (响应率)"}
    )
    resolution_rate = fields.Nested(
        RateSchema, metadata={"description": "resolved / (received - cancelled) (办结率); workers: resolved / tickets"}
    )
    on_time_resolution_rate = fields.Nested(
        RateSchema, metadata={"description": "resolved by the resolution deadline / resolved (按期办结率)"}
    )
    satisfaction_rate = fields.Nested(
        RateSchema, metadata={"description": "ratings of 4 or 5 / ratings (满意率), every rated resolution counts"}
    )
    time_to_accept = fields.Nested(DurationSchema, metadata={"description": "dispatch to acceptance"})
    time_to_resolve = fields.Nested(DurationSchema, metadata={"description": "receipt to resolution"})


class UnitRefSchema(BaseSchema):
    id = IdField()
    name = fields.String()
    level = fields.String()


class RangeSchema(BaseSchema):
    grid = fields.Nested(UnitRefSchema, allow_none=True, metadata={"description": "null: the whole territory"})
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    category = fields.String(allow_none=True)


class SummarySchema(RangeSchema, FiguresSchema):
    now = fields.Nested(NowSchema)


class BreakdownItemSchema(FiguresSchema):
    key = fields.String(metadata={"description": "unit id, category code, account id or channel"})
    name = fields.String()
    level = fields.String(metadata={"description": "child units only"})
    direct = fields.Boolean(
        metadata={"description": "child units only: true for the unit's own tickets (held by it, not by a child)"}
    )
    now = fields.Nested(NowSchema, allow_none=True, metadata={"description": "null by channel"})


class BreakdownSchema(RangeSchema):
    by = fields.String()
    items = fields.List(fields.Nested(BreakdownItemSchema))


class PeriodSchema(BaseSchema):
    start = fields.Date(metadata={"description": "the period's first day (weeks start on Monday)"})
    received = fields.Integer()
    resolved = fields.Integer()
    overdue = fields.Integer()
    resolution_rate = fields.Nested(RateSchema)
    satisfaction_rate = fields.Nested(RateSchema)


class TimeseriesSchema(RangeSchema):
    interval = fields.String()
    items = fields.List(fields.Nested(PeriodSchema))


class RefSchema(BaseSchema):
    id = IdField()
    name = fields.String()


class AccountRefSchema(BaseSchema):
    id = IdField()
    display_name = fields.String()


class CategoryRefSchema(BaseSchema):
    code = fields.String()
    name = fields.String()


class OverdueItemSchema(BaseSchema):
    id = IdField()
    no = fields.String()
    status = fields.String()
    category = fields.Nested(CategoryRefSchema)
    grid = fields.Nested(RefSchema)
    assignee = fields.Nested(AccountRefSchema, allow_none=True)
    warn_at = Timestamp(allow_none=True)
    due_at = Timestamp(allow_none=True)
    created_at = Timestamp()
    overdue = fields.Boolean(metadata={"description": "past the deadline (otherwise past its 80 % mark)"})


class OverduePageSchema(BaseSchema):
    items = fields.List(fields.Nested(OverdueItemSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class HeatmapSchema(BaseSchema):
    type = fields.String(metadata={"example": "FeatureCollection"})
    features = fields.Raw(  # already plain JSON: 10,000 cells need no field-by-field serialization
        metadata={
            "type": "array",
            "items": {"type": "object"},
            "description": "a Feature per cell: geometry (the boundary, or null), properties {id, code, name, "
            "received (range), open, overdue (now)}",
        },
    )


class LeaderboardItemSchema(BaseSchema):
    rank = fields.Integer()
    key = fields.String()
    name = fields.String()
    score = fields.Integer(metadata={"description": "10 × resolved on time + 5 × ratings of 4–5 − 10 × reopens"})
    resolved_on_time = fields.Integer()
    rated_good = fields.Integer()
    reopens = fields.Integer()
    satisfaction_rate = fields.Nested(RateSchema)


class LeaderboardSchema(RangeSchema):
    of = fields.String()
    items = fields.List(fields.Nested(LeaderboardItemSchema))


class TicketExportQuerySchema(StatsQuerySchema):
    reveal_phones = fields.Boolean(
        load_default=False,
        metadata={"description": "full reporter phones (admins and supervisors; needs `reason`; logged)"},
    )
    reason = fields.String(validate=validate.Length(min=2, max=200))

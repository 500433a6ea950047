"""The dashboards' wire format: query parameters and the figures, with their definitions in the descriptions."""

from datetime import date, datetime
from typing import Any

from marshmallow import Schema, fields, validate

from grid.models import GridLevel
from kernel.api import BaseSchema, Day, IdField, PageQuerySchema, Timestamp, format_timestamp

RATE_DOC = "numerator / denominator, rounded to 4 places; null when the denominator is 0"


class StatsQuerySchema(BaseSchema):
    grid_id = IdField(metadata={"description": "the unit whose whole subtree is counted; default: your scope"})
    from_ = Day(
        data_key="from", metadata={"description": "first Beijing calendar day (inclusive); default: this month's"}
    )
    to = Day(metadata={"description": "last Beijing calendar day (inclusive); default: this month's"})
    category = fields.String(
        validate=validate.Length(min=1, max=32), metadata={"description": "a category code; covers its subtree"}
    )


CURSOR_DOC = "opaque, from the previous page's next_cursor"


class BreakdownQuerySchema(StatsQuerySchema):
    by = fields.String(required=True, validate=validate.OneOf(["child", "category", "worker", "channel"]))
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=500),
        metadata={"description": "by=worker: rows per page (1 to 500, default 50); the other lists come whole"},
    )
    cursor = fields.String(validate=validate.Length(max=512), metadata={"description": "by=worker only: " + CURSOR_DOC})


class TimeseriesQuerySchema(StatsQuerySchema):
    interval = fields.String(load_default="day", validate=validate.OneOf(["day", "week", "month"]))


class LeaderboardQuerySchema(StatsQuerySchema):
    of = fields.String(
        load_default="worker",
        validate=validate.OneOf(["worker", "unit"]),
        metadata={"description": "rank workers, or the child units"},
    )
    limit = fields.Integer(
        load_default=20, validate=validate.Range(min=1, max=100), metadata={"description": "rows per page, 1 to 100"}
    )
    cursor = fields.String(validate=validate.Length(max=512), metadata={"description": CURSOR_DOC})


class OverdueQuerySchema(PageQuerySchema):
    grid_id = IdField(metadata={"description": "the unit whose whole subtree is listed; default: your scope"})
    category = fields.String(validate=validate.Length(min=1, max=32))


class PlainList(fields.List):
    """A list of rows the service built as plain dicts, documented by the item schema but dumped without
    per-field marshmallow dispatch (costly for a page of thousands, see docs/PERFORMANCE.md): keeps the keys the item
    schema declares, writes datetimes as API timestamps and dates as ISO dates. tests/dashboards/test_stats_paging.py
    checks the output equals the item schema's own dump."""

    def __init__(self, item_schema: type[Schema], **kwargs: Any) -> None:
        super().__init__(fields.Nested(item_schema), **kwargs)
        self._keys: frozenset[str] | None = None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> list[Any] | None:
        if value is None:
            return None
        if self._keys is None:
            schema = self.inner.schema  # type: ignore[attr-defined]
            self._keys = frozenset(f.data_key or name for name, f in schema.fields.items() if not f.load_only)
        keys = self._keys
        return [{key: _plain(item[key]) for key in item.keys() & keys} for item in value]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


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
    open = fields.Integer(metadata={"description": "of them, still pending, assigned, in progress or return_requested"})
    resolved = fields.Integer(metadata={"description": "of them, resolved or closed (办结)"})
    closed = fields.Integer()
    cancelled = fields.Integer(allow_none=True, metadata={"description": "withdrawn or merged into another ticket"})
    escalated = fields.Integer(allow_none=True, metadata={"description": "owned above their origin unit now"})
    escalated_out = fields.Integer(
        allow_none=True,
        metadata={"description": "passed up out of the subtree: owned by a unit above it now (units only)"},
    )
    on_spot = fields.Integer(
        metadata={
            "description": "handled on the spot (就地办结): resolved by their cell's own worker, who took them there, "
            "never dispatched or escalated"
        }
    )
    overdue = fields.Integer(
        metadata={"description": "found overdue by the sweep at any time, or resolved after the resolution deadline"}
    )
    reopens = fields.Integer(metadata={"description": "reopens of these tickets (counted against the handler)"})
    returns = fields.Integer(
        metadata={"description": "退单 of these tickets that took effect (approved, or direct without review)"}
    )
    returns_refused = fields.Integer(metadata={"description": "退单 requests a supervisor refused"})
    return_review = fields.Integer(metadata={"description": "of them, a return awaiting a supervisor's review now"})
    suspended = fields.Integer(metadata={"description": "of them, 挂起 now (their clock stopped)"})
    suspended_seconds = fields.Integer(metadata={"description": "the time they spent suspended (finished spells)"})
    extended = fields.Integer(
        metadata={"description": "延期: resolution deadline extended at least once (on time by the extended one)"}
    )
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
    on_spot_rate = fields.Nested(
        RateSchema, metadata={"description": "on_spot / received (就地解决率); workers: on_spot / tickets"}
    )
    extension_rate = fields.Nested(
        RateSchema, metadata={"description": "extended / (received - cancelled) (延期率); workers: extended / tickets"}
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
    level = fields.String(metadata={"description": "child units only", "x-optional": True})
    direct = fields.Boolean(
        metadata={
            "description": "child units only: true for the unit's own tickets (held by it, not by a child)",
            "x-optional": True,
        }
    )
    now = fields.Nested(NowSchema, allow_none=True, metadata={"description": "null by channel"})


class BreakdownSchema(RangeSchema):
    by = fields.String()
    items = PlainList(BreakdownItemSchema, metadata={"description": "by=worker: ordered by account id"})
    next_cursor = fields.String(
        allow_none=True, metadata={"description": "by=worker: the next page's cursor; null on the last page"}
    )


class PeriodSchema(BaseSchema):
    start = fields.Date(metadata={"description": "the period's first day (weeks start on Monday)"})
    received = fields.Integer()
    resolved = fields.Integer()
    overdue = fields.Integer()
    resolution_rate = fields.Nested(RateSchema)
    satisfaction_rate = fields.Nested(RateSchema)
    on_spot = fields.Integer(metadata={"description": "handled on the spot (就地办结)"})
    on_spot_rate = fields.Nested(RateSchema, metadata={"description": "on_spot / received (就地解决率)"})


class TimeseriesSchema(RangeSchema):
    interval = fields.String()
    items = PlainList(PeriodSchema)


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


LEVELS = [level.value for level in GridLevel]


class HeatmapQuerySchema(StatsQuerySchema):
    level = fields.String(
        validate=validate.OneOf(LEVELS),
        metadata={
            "description": "the units drawn: `grid` (cells), `community`, `street`, `district` or `city`, at or "
            "below the subtree's unit; default: streets for a city or the whole territory, communities for a "
            "district, cells for a street or below"
        },
    )


class HeatmapSchema(BaseSchema):
    type = fields.String(metadata={"example": "FeatureCollection"})
    level = fields.String(metadata={"description": "the level of the units drawn", "enum": LEVELS})
    features = fields.Raw(  # documents the body; the route writes it from cached Feature text (heatmap_json)
        metadata={
            "type": "array",
            "items": {"type": "object"},
            "description": "a Feature per unit of the level in the subtree, by id: geometry (the unit's boundary; "
            "without one, the union of its cells' boundaries; null when there is none), properties {id, code, "
            "name, received (range, origin in the unit's subtree), open, overdue (now, owned in it)}",
        },
    )


def heatmap_json(layer: Any) -> str:
    """The FeatureCollection as JSON text, joined from the units' cached Feature heads (see HeatmapSchema)."""
    received, current, nothing = layer.received, layer.current, (0, 0)
    features = ",".join(
        f'{head}"received":{received.get(unit_id, 0):d},"open":{current.get(unit_id, nothing)[0]:d},'
        f'"overdue":{current.get(unit_id, nothing)[1]:d}}}}}'
        for unit_id, head in layer.units
    )
    return f'{{"type":"FeatureCollection","level":"{layer.level.value}","features":[{features}]}}'


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
    items = PlainList(LeaderboardItemSchema, metadata={"description": "by rank"})
    next_cursor = fields.String(allow_none=True, metadata={"description": "the next ranks' cursor; null at the end"})


class TicketExportQuerySchema(StatsQuerySchema):
    reveal_phones = fields.Boolean(
        load_default=False,
        metadata={"description": "full reporter phones (admins and supervisors; needs `reason`; logged)"},
    )
    reason = fields.String(validate=validate.Length(min=2, max=200))

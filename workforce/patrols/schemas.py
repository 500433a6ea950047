"""The wire format of patrols and their visits."""

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from grid.coords import CoordSystem
from grid.schemas import GridBriefSchema
from kernel.api import BaseSchema, IdField, PageQuerySchema, StrictFloat, StrictId, Timestamp, page_schema
from kernel.i18n import _
from workforce.schemas import MAX_BATCH, NOTE, PingSchema, PositionSchema, RejectionSchema


class PatrolCreateSchema(BaseSchema):
    grid_id = StrictId(required=True, metadata={"description": "one of the worker's own cells"})
    note = fields.String(load_default=None, allow_none=True, validate=NOTE)
    started_at = Timestamp(metadata={"description": "when the patrol began (offline apps); default now"})


class PatrolPointsSchema(BaseSchema):
    points = fields.List(fields.Nested(PingSchema), required=True, validate=validate.Length(min=1, max=MAX_BATCH))


class PatrolPointsResultSchema(Schema):
    accepted = fields.Integer(required=True)
    rejected = fields.List(fields.Nested(RejectionSchema), required=True)
    points_count = fields.Integer(required=True, metadata={"description": "the patrol's points now stored"})


class VisitCreateSchema(BaseSchema):
    household = fields.String(validate=validate.Length(min=1, max=128), metadata={"example": "3栋2单元501"})
    place = fields.String(validate=validate.Length(min=1, max=200), metadata={"example": "东门菜市场"})
    note = fields.String(required=True, validate=NOTE)
    lat = StrictFloat(allow_nan=False, validate=validate.Range(min=-90, max=90))
    lng = StrictFloat(allow_nan=False, validate=validate.Range(min=-180, max=180))
    coord_system = fields.Enum(CoordSystem, by_value=True, load_default=CoordSystem.WGS84)
    visited_at = Timestamp(metadata={"description": "default now"})

    @validates_schema
    def check_where(self, data: Mapping[str, Any], **_kwargs: Any) -> None:
        if "household" not in data and "place" not in data:
            raise ValidationError(_("Name the household or the place visited."), "place")
        if ("lat" in data) != ("lng" in data):
            raise ValidationError(_("Give both lat and lng, or neither."), "lat" if "lat" not in data else "lng")


class PatrolEndSchema(BaseSchema):
    ended_at = Timestamp(metadata={"description": "when the patrol ended (offline apps); default now"})


class VisitSchema(Schema):
    id = IdField(required=True)
    patrol_id = IdField(required=True)
    household = fields.String(required=True, allow_none=True)
    place = fields.String(required=True, allow_none=True)
    note = fields.String(required=True)
    position = fields.Nested(PositionSchema, required=True, allow_none=True)
    visited_at = Timestamp(required=True)
    created_at = Timestamp(required=True)


class PatrolSchema(Schema):
    id = IdField(required=True)
    worker_id = IdField(required=True)
    worker_name = fields.String(required=True, attribute="worker.account.display_name")
    grid_id = IdField(required=True)
    grid = fields.Nested(GridBriefSchema, required=True)
    note = fields.String(required=True, allow_none=True)
    open = fields.Boolean(required=True, attribute="is_open")
    started_at = Timestamp(required=True)
    ended_at = Timestamp(required=True, allow_none=True)
    length_m = fields.Float(required=True, allow_none=True, metadata={"description": "set when ended"})
    duration_s = fields.Integer(required=True, allow_none=True, metadata={"description": "set when ended"})
    points_count = fields.Integer(required=True)
    visits_count = fields.Integer(required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


class PatrolDetailSchema(PatrolSchema):
    visits = fields.List(fields.Nested(VisitSchema), required=True, metadata={"description": "oldest first"})


PatrolPageSchema = page_schema(PatrolSchema, "PatrolPageSchema")


class PatrolQuerySchema(PageQuerySchema):
    worker_id = IdField()
    grid_id = IdField(metadata={"description": "patrols in cells of this unit's subtree"})
    start = Timestamp(data_key="from", metadata={"description": "started at or after"})
    end = Timestamp(data_key="to", metadata={"description": "started before"})
    open = fields.Boolean()

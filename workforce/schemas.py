"""The wire format of worker profiles, position pings and tracks (patrols: `workforce.patrols.schemas`)."""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_dump, pre_load, validate, validates_schema

from grid.coords import CoordSystem, from_wgs84
from grid.schemas import GridBriefSchema, OutputQuerySchema, output_coord_system
from kernel.api import (
    BaseSchema,
    IdField,
    PageQuerySchema,
    StrictBoolean,
    StrictFloat,
    StrictId,
    Timestamp,
    page_schema,
)
from kernel.i18n import _
from workforce.models import Employment, Fix

MAX_BATCH = 500
MAX_TRACK_WINDOW = timedelta(days=7)
NOTE = validate.Length(min=1, max=2000)


# --- positions ------------------------------------------------------------------------------------


class PositionSchema(Schema):
    """A point in the coordinate system the request asked for (`?coord_system=`, WGS-84 by default)."""

    lat = fields.Float(required=True)
    lng = fields.Float(required=True)
    coord_system = fields.Enum(CoordSystem, by_value=True, required=True)

    @pre_dump
    def in_output_system(self, fix: Fix, **_kwargs: Any) -> dict[str, Any]:
        system = output_coord_system()
        lat, lng = from_wgs84(fix.lat, fix.lng, system)  # stored in WGS-84
        return {
            "lat": lat,
            "lng": lng,
            "coord_system": system,
            "accuracy": fix.accuracy,
            "recorded_at": fix.recorded_at,
        }


class LastPositionSchema(PositionSchema):
    accuracy = fields.Float(required=True, allow_none=True, metadata={"description": "metres"})
    recorded_at = Timestamp(required=True, metadata={"description": "by the phone's clock"})


class PingSchema(BaseSchema):
    # No ranges here on purpose: an implausible ping is refused alone (see the batch's `rejected`), so one
    # bad fix cannot block the offline queue that carries a few hundred good ones.
    lat = StrictFloat(required=True, allow_nan=False, metadata={"example": 32.99})
    lng = StrictFloat(required=True, allow_nan=False, metadata={"example": 112.53})
    coord_system = fields.Enum(CoordSystem, by_value=True, load_default=CoordSystem.WGS84)
    accuracy = StrictFloat(load_default=None, allow_none=True, allow_nan=False, metadata={"description": "metres"})
    recorded_at = Timestamp(required=True, metadata={"description": "when the phone took the fix"})


class LocationBatchSchema(BaseSchema):
    pings = fields.List(
        fields.Nested(PingSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_BATCH),
        metadata={"description": f"1 to {MAX_BATCH} fixes; a single ping is a list of one"},
    )


class RejectionSchema(Schema):
    index = fields.Integer(required=True, metadata={"description": "position in the list sent"})
    reason = fields.String(
        required=True,
        metadata={
            "enum": ["out_of_range", "negative_accuracy", "in_future", "too_old", "before_start", "implausible_jump"]
        },
    )
    message = fields.String(required=True)


class LocationResultSchema(Schema):
    accepted = fields.Integer(required=True)
    rejected = fields.List(fields.Nested(RejectionSchema), required=True)
    last_position = fields.Nested(LastPositionSchema, required=True, allow_none=True)


class WindowSchema(BaseSchema):
    """`?from=&to=`, at most seven days apart."""

    start = Timestamp(required=True, data_key="from")
    end = Timestamp(required=True, data_key="to")

    @validates_schema
    def check_window(self, data: Mapping[str, Any], **_kwargs: Any) -> None:
        if "start" not in data or "end" not in data:
            return
        if data["end"] < data["start"]:
            raise ValidationError(_("Must not be before `from`."), "to")
        if data["end"] - data["start"] > MAX_TRACK_WINDOW:
            raise ValidationError(_("At most %(days)s days after `from`.", days=MAX_TRACK_WINDOW.days), "to")


class TrackQuerySchema(WindowSchema, OutputQuerySchema):
    pass


class TrackGeometrySchema(Schema):
    type = fields.String(required=True, metadata={"enum": ["LineString", "Point"]})
    coordinates = fields.Raw(
        required=True,
        metadata={
            "description": "[lng, lat] positions (GeoJSON order): one for a Point, a list of them for a LineString",
            "type": "array",
            "items": {"oneOf": [{"type": "number"}, {"type": "array", "items": {"type": "number"}}]},
        },
    )


class TrackPropertiesSchema(Schema):
    times = fields.List(Timestamp(), required=True, metadata={"description": "of each position, in order"})
    accuracies = fields.List(fields.Float(allow_none=True), required=True, metadata={"description": "metres"})


class TrackFeatureSchema(Schema):
    type = fields.String(required=True, metadata={"example": "Feature"})
    geometry = fields.Nested(TrackGeometrySchema, required=True)
    properties = fields.Nested(TrackPropertiesSchema, required=True)


class TrackSchema(Schema):
    """A GeoJSON FeatureCollection: one LineString through the positions by time (a Point for one, none for none)."""

    type = fields.String(required=True, metadata={"example": "FeatureCollection"})
    features = fields.List(fields.Nested(TrackFeatureSchema), required=True)
    worker_id = IdField(required=True)
    patrol_id = IdField(required=True, allow_none=True)
    coord_system = fields.Enum(CoordSystem, by_value=True, required=True)
    count = fields.Integer(required=True)

    @pre_dump
    def as_geojson(self, track: Any, **_kwargs: Any) -> dict[str, Any]:
        system = output_coord_system()
        positions = []
        for fix in track.points:
            lat, lng = from_wgs84(fix.lat, fix.lng, system)
            positions.append([lng, lat])
        features = []
        if positions:
            geometry = (
                {"type": "LineString", "coordinates": positions}
                if len(positions) > 1
                else {"type": "Point", "coordinates": positions[0]}
            )
            properties = {
                "times": [fix.recorded_at for fix in track.points],
                "accuracies": [fix.accuracy for fix in track.points],
            }
            features.append({"type": "Feature", "geometry": geometry, "properties": properties})
        return {
            "type": "FeatureCollection",
            "features": features,
            "worker_id": track.worker_id,
            "patrol_id": track.patrol_id,
            "coord_system": system,
            "count": len(positions),
        }


# --- workers --------------------------------------------------------------------------------------


class WorkerSchema(Schema):
    id = IdField(required=True)
    user_id = IdField(required=True, metadata={"description": "the worker's account"})
    username = fields.String(required=True)
    name = fields.String(required=True, metadata={"description": "the account's display name"})
    phone = fields.String(
        required=True, allow_none=True, metadata={"description": "null for volunteers (except their own)"}
    )
    employment = fields.Enum(Employment, by_value=True, required=True)
    party_member = fields.Boolean(
        required=True,
        metadata={"description": "an active party member record links this account (read-only: /api/v1/party/members)"},
    )
    grid_ids = fields.List(IdField(), required=True, metadata={"description": "cells assigned"})
    cells = fields.List(
        fields.Nested(GridBriefSchema),
        required=True,
        metadata={"description": "the cells assigned, by code: where the worker may `take` pending tickets"},
    )
    on_duty = fields.Boolean(required=True)
    last_position = fields.Nested(
        LastPositionSchema,
        required=True,
        allow_none=True,
        metadata={"description": "null when unknown or not for the caller's eyes (volunteers)"},
    )
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


WorkerPageSchema = page_schema(WorkerSchema, "WorkerPageSchema")

GRID_IDS = validate.Length(max=100)


class _ProfileWriteSchema(BaseSchema):
    @pre_load
    def refuse_party_member(self, data: Any, **_kwargs: Any) -> Any:
        # Derived from the party member register since it exists; a 422 that says where it is kept now, rather
        # than the bare "unknown field" a client that used to send it would not understand.
        if isinstance(data, Mapping) and "party_member" in data:
            raise ValidationError(
                ["read-only: derived from the party member register (/api/v1/party/members)"], "party_member"
            )
        return data


class WorkerCreateSchema(_ProfileWriteSchema):
    user_id = StrictId(required=True, metadata={"description": "an existing worker account"})
    employment = fields.Enum(Employment, by_value=True, required=True)
    grid_ids = fields.List(
        StrictId(),
        validate=GRID_IDS,
        metadata={"description": "cells (level grid, active); omitted: keep the account's"},
    )
    on_duty = StrictBoolean(load_default=False)


class WorkerUpdateSchema(_ProfileWriteSchema):
    employment = fields.Enum(Employment, by_value=True)
    grid_ids = fields.List(StrictId(), validate=GRID_IDS, metadata={"description": "the whole new set of cells"})
    on_duty = StrictBoolean()


class WorkerQuerySchema(PageQuerySchema, OutputQuerySchema):
    grid_id = IdField(metadata={"description": "workers assigned to cells in this unit's subtree"})
    on_duty = fields.Boolean()
    employment = fields.Enum(Employment, by_value=True)
    party_member = fields.Boolean(metadata={"description": "linked to an active party member record, or not"})
    q = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "name or username contains"})


class DutySchema(BaseSchema):
    on_duty = StrictBoolean(required=True)

"""The wire format of grid units, imports and point lookups."""

from typing import Any

from flask import g
from marshmallow import Schema, fields, validate

from grid import geometry
from grid.coords import CoordSystem, from_wgs84
from grid.models import GridLevel, GridUnit
from kernel.api import BaseSchema, IdField, PageQuerySchema, StrictBoolean, Timestamp, page_schema
from kernel.i18n import _l

CODE = validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$", error=_l("1 to 64 letters, digits, '_', '.' or '-'"))
NAME = validate.Length(min=1, max=128)
COUNT = validate.Range(min=0, max=100_000_000)


class GeoJSONGeometry(fields.Dict):
    """A GeoJSON Polygon or MultiPolygon (WGS-84); checked in depth by the service."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = kwargs.setdefault("metadata", {})
        metadata.setdefault("description", "GeoJSON Polygon or MultiPolygon, WGS-84 [lng, lat]")
        metadata.setdefault(
            "example",
            {"type": "Polygon", "coordinates": [[[112.5, 33.0], [112.51, 33.0], [112.51, 33.01], [112.5, 33.0]]]},
        )
        super().__init__(**kwargs)


def output_coord_system() -> CoordSystem:
    """The coordinate system this request asked its responses in (`?coord_system=`); WGS-84 by default."""
    return g.get("output_coord_system", CoordSystem.WGS84)


def use_output_coord_system(system: CoordSystem) -> None:
    g.output_coord_system = system


class OutputQuerySchema(BaseSchema):
    coord_system = fields.Enum(
        CoordSystem,
        by_value=True,
        load_default=CoordSystem.WGS84,
        metadata={"description": "of coordinates in the response"},
    )


class GridSchema(Schema):
    id = IdField(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.Enum(GridLevel, by_value=True, required=True)
    parent_id = IdField(required=True, allow_none=True)
    boundary = fields.Method("_boundary", required=True, allow_none=True, metadata={"type": "object"})
    households = fields.Integer(required=True, allow_none=True)
    population = fields.Integer(required=True, allow_none=True)
    party_branch = fields.Method(
        "_party_branch",
        required=True,
        allow_none=True,
        metadata={
            "type": "object",
            "description": "read-only summary {name, secretary} of the active party organisation built on the unit; "
            "managed through /api/v1/party/orgs",
        },
    )
    active = fields.Boolean(required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)

    def _boundary(self, unit: GridUnit) -> dict[str, Any] | None:
        boundary = geometry.load(unit.boundary)
        system = output_coord_system()
        if system is CoordSystem.WGS84:
            return boundary
        return geometry.convert(boundary, lambda lat, lng: from_wgs84(lat, lng, system))

    def _party_branch(self, unit: GridUnit) -> dict[str, Any] | None:
        if unit.party_branch_name is None:
            return None
        return {"name": unit.party_branch_name, "secretary": unit.party_branch_secretary}


class GridBriefSchema(Schema):
    id = IdField(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.Enum(GridLevel, by_value=True, required=True)
    parent_id = IdField(required=True, allow_none=True)


GridPageSchema = page_schema(GridSchema, "GridPageSchema")


class GridListSchema(Schema):
    items = fields.List(fields.Nested(GridBriefSchema), required=True)


class GridCreateSchema(BaseSchema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=NAME)
    level = fields.Enum(GridLevel, by_value=True, required=True)
    parent_id = IdField(load_default=None, allow_none=True)
    boundary = GeoJSONGeometry(load_default=None, allow_none=True)
    households = fields.Integer(load_default=None, allow_none=True, validate=COUNT, strict=True)
    population = fields.Integer(load_default=None, allow_none=True, validate=COUNT, strict=True)
    active = StrictBoolean(load_default=True)


class GridUpdateSchema(BaseSchema):
    code = fields.String(validate=CODE)
    name = fields.String(validate=NAME)
    parent_id = IdField(allow_none=True, metadata={"description": "moves the unit and its whole subtree"})
    boundary = GeoJSONGeometry(allow_none=True)
    households = fields.Integer(allow_none=True, validate=COUNT, strict=True)
    population = fields.Integer(allow_none=True, validate=COUNT, strict=True)
    active = StrictBoolean()


class GridQuerySchema(PageQuerySchema, OutputQuerySchema):
    parent_id = IdField()
    subtree = fields.Boolean(load_default=False, metadata={"description": "with parent_id: the whole subtree"})
    level = fields.Enum(GridLevel, by_value=True)
    q = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "code or name contains"})
    active = fields.Boolean()
    updated_since = Timestamp()


class LocateQuerySchema(BaseSchema):
    lat = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=-180, max=180))
    coord_system = fields.Enum(CoordSystem, by_value=True, load_default=CoordSystem.WGS84)


class PointSchema(Schema):
    lat = fields.Float(required=True)
    lng = fields.Float(required=True)
    coord_system = fields.String(required=True, metadata={"example": "wgs84"})


class LocatedSchema(Schema):
    cell = fields.Nested(GridBriefSchema, required=True)
    ancestors = fields.List(fields.Nested(GridBriefSchema), required=True, metadata={"description": "root first"})
    point = fields.Nested(PointSchema, required=True, metadata={"description": "the point in WGS-84"})

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        """The declared document written by hand (`located_document`): a lookup is one of the hot reads, and a
        fixed shape needs none of marshmallow's field machinery (docs/PERFORMANCE.md, "Third pass: the reads").
        The fields above stay the contract; tests/grid/test_located_documents.py holds both writers equal."""
        if self.many if many is None else many:
            return [located_document(located) for located in obj]
        return located_document(obj)

    def reference_dump(self, obj: Any, *, many: bool | None = None) -> Any:
        """The document as marshmallow writes it from the declared fields."""
        return super().dump(obj, many=many)


def unit_brief_document(unit: Any) -> dict[str, Any]:
    """A unit as GridBriefSchema declares it, written field by field."""
    parent_id = unit.parent_id
    return {
        "id": str(unit.id),
        "code": unit.code,
        "name": unit.name,
        "level": unit.level.value,
        "parent_id": None if parent_id is None else str(parent_id),
    }


def located_document(located: Any) -> dict[str, Any]:
    """A grid.service.Located as LocatedSchema declares it, written field by field."""
    point = located.point
    return {
        "cell": unit_brief_document(located.cell),
        "ancestors": [unit_brief_document(unit) for unit in located.ancestors],
        "point": {"lat": float(point["lat"]), "lng": float(point["lng"]), "coord_system": str(point["coord_system"])},
    }


class ImportSummarySchema(Schema):
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)


class FeatureCollectionSchema(BaseSchema):
    type = fields.String(required=True, validate=validate.Equal("FeatureCollection"))
    features = fields.List(fields.Dict(), required=True, validate=validate.Length(max=200_000))
    name = fields.String()
    crs = fields.Dict()
    bbox = fields.List(fields.Float())
